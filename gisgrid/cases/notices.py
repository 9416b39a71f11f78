"""Notices through one outbox.

Every notice is first a `Notice` row written in the same transaction as the change it reports,
so none is lost when a sender or the process fails. Senders then deliver it:

- inbox (always): the recipient reads it in the app; delivering is marking it sent, done right
  after the commit and again by `deliver_pending` for any the process did not get to;
- webhook (when GISGRID_NOTICE_WEBHOOK_URL is set, e.g. an SMS gateway): a JSON POST per
  notice; a failure (network, non-2xx answer) is retried with exponential backoff, and after
  MAX_ATTEMPTS the row is kept as `failed` for the admin to retry, never dropped.

A notice goes to a user, to a unit (every staff account of it reads it) or to a role (every
account with it reads it).
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from gisgrid.accounts import roles

from . import push_events
from .models import Notice, NoticeRead

log = logging.getLogger(__name__)

WEBHOOK_ENV = "GISGRID_NOTICE_WEBHOOK_URL"
WEBHOOK_TIMEOUT = 5.0
MAX_ATTEMPTS = 8
BACKOFF_BASE = 30  # seconds: 30 s, 1 min, 2 min, ... capped
BACKOFF_CAP = 3600
# A webhook notice being sent is leased for this long; a sender that dies frees it by expiry.
LEASE = timedelta(minutes=2)


def webhook_url() -> str:
    return os.environ.get(WEBHOOK_ENV, "").strip()


def webhook_configured() -> bool:
    return bool(webhook_url())


def queue(kind: str, *, subject: str, body: str = "", case=None, user=None, unit=None, role: str = "",
          at: datetime | None = None) -> list[Notice]:
    """Write a notice to the outbox (an inbox row, plus a webhook row when one is configured).
    Call inside the transaction of the change; inbox rows are marked sent after the commit."""
    if user is None and unit is None and not role:
        raise ValueError("a notice needs a recipient")
    now = at or timezone.now()
    channels = [Notice.Channel.INBOX] + ([Notice.Channel.WEBHOOK] if webhook_configured() else [])
    rows = [Notice(kind=kind, case=case, recipient_user=user, recipient_unit=unit, recipient_role=role,
                   subject=subject[:200], body=body, created_at=now, next_attempt_at=now, channel=ch)
            for ch in channels]
    created = Notice.objects.bulk_create(rows)
    push_events.publish_notices(created)
    inbox_ids = [n.pk for n in created if n.channel == Notice.Channel.INBOX]
    transaction.on_commit(lambda: _deliver_inbox(inbox_ids))
    return created


def _deliver_inbox(ids: list[int] | None = None, now: datetime | None = None) -> int:
    now = now or timezone.now()
    qs = Notice.objects.filter(channel=Notice.Channel.INBOX, state=Notice.State.PENDING)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(state=Notice.State.SENT, sent_at=now, attempts=1)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP))


def payload(notice: Notice) -> dict[str, Any]:
    """The webhook's JSON body (documented in docs/cases.md)."""
    user = notice.recipient_user
    unit = notice.recipient_unit
    phones = []
    if user is not None:
        person = getattr(user, "person", None)
        if person is not None and person.phone:
            phones.append(person.phone)
    if unit is not None and unit.phone:
        phones.append(unit.phone)
    return {
        "id": notice.pk,
        "kind": notice.kind,
        "case": notice.case.number if notice.case_id else None,
        "subject": notice.subject,
        "body": notice.body,
        "created_at": notice.created_at.isoformat(),
        "recipient": {"user": user.get_username() if user else None, "unit": unit.code if unit else None,
                      "role": notice.recipient_role or None, "phones": phones},
    }


def _send_webhook(client: httpx.Client, url: str, notice: Notice) -> None:
    body = json.dumps(payload(notice), ensure_ascii=False).encode()
    answer = client.post(url, content=body, headers={"Content-Type": "application/json; charset=utf-8",
                                                     "Idempotency-Key": f"gisgrid-notice-{notice.pk}"})
    if not 200 <= answer.status_code < 300:
        raise RuntimeError(f"HTTP {answer.status_code}: {answer.text[:200]}")


def deliver_pending(now: datetime | None = None, *, limit: int = 200, client: httpx.Client | None = None) -> dict:
    """Deliver what is due in the outbox. Inbox rows: marked sent. Webhook rows: claimed with a
    lease (SKIP LOCKED, so several senders share the work), POSTed outside any transaction,
    then marked sent or rescheduled."""
    now = now or timezone.now()
    sent_inbox = _deliver_inbox(now=now)
    url = webhook_url()
    result = {"inbox": sent_inbox, "webhook_sent": 0, "webhook_retry": 0, "webhook_failed": 0}
    with transaction.atomic():
        claimed = list(Notice.objects.select_for_update(skip_locked=True)
                       .filter(channel=Notice.Channel.WEBHOOK, state=Notice.State.PENDING)
                       .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                       .order_by("next_attempt_at", "id")[:limit])
        if not claimed:
            return result
        Notice.objects.filter(pk__in=[n.pk for n in claimed]).update(next_attempt_at=now + LEASE)
    own_client = client is None
    client = client or httpx.Client(timeout=WEBHOOK_TIMEOUT)
    try:
        for n in Notice.objects.filter(pk__in=[c.pk for c in claimed]).select_related(
                "case", "recipient_user__person", "recipient_unit"):
            attempts = n.attempts + 1
            try:
                if not url:
                    raise RuntimeError(f"{WEBHOOK_ENV} is not set")
                _send_webhook(client, url, n)
            except Exception as exc:  # every failure is retried; the row keeps why
                state = Notice.State.FAILED if attempts >= MAX_ATTEMPTS else Notice.State.PENDING
                Notice.objects.filter(pk=n.pk).update(attempts=attempts, last_error=str(exc)[:1000], state=state,
                                                      next_attempt_at=now + backoff(attempts))
                result["webhook_failed" if state == Notice.State.FAILED else "webhook_retry"] += 1
                log.warning("notice %s webhook failed (attempt %s): %s", n.pk, attempts, exc)
            else:
                Notice.objects.filter(pk=n.pk).update(attempts=attempts, state=Notice.State.SENT, sent_at=now,
                                                      last_error="")
                result["webhook_sent"] += 1
    finally:
        if own_client:
            client.close()
    return result


def retry_failed(ids: list[int] | None = None) -> int:
    """Put failed notices back in the queue (the admin's action)."""
    qs = Notice.objects.filter(state=Notice.State.FAILED)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(state=Notice.State.PENDING, attempts=0, next_attempt_at=timezone.now())


# -- the inbox ---------------------------------------------------------------------------------------

def inbox(user) -> QuerySet:
    """The inbox notices addressed to `user`: to them, to a unit they work for, or to one of
    their roles; newest first, each annotated `is_read`."""
    if not getattr(user, "is_authenticated", False):
        return Notice.objects.none()
    units = set(roles.report_units(user) or ())
    mine = Q(recipient_user=user) | Q(recipient_role__in=sorted(roles.user_roles(user)))
    if units:
        mine |= Q(recipient_unit_id__in=units)
    read_mark = NoticeRead.objects.filter(notice=OuterRef("pk"), user=user)
    return (Notice.objects.filter(mine, channel=Notice.Channel.INBOX, state=Notice.State.SENT)
            .annotate(shared_read=Exists(read_mark))
            .select_related("case"))


def unread(user) -> QuerySet:
    return inbox(user).filter(Q(recipient_user=user, read_at__isnull=True)
                              | Q(recipient_user__isnull=True, shared_read=False))


def unread_count(user) -> int:
    return unread(user).count()


def is_read(notice: Notice, user) -> bool:
    if notice.recipient_user_id == getattr(user, "pk", None):
        return notice.read_at is not None
    shared = getattr(notice, "shared_read", None)
    return bool(shared) if shared is not None else NoticeRead.objects.filter(notice=notice, user=user).exists()


def mark_read(user, ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Mark `ids` (default: all unread) of `user`'s inbox read; returns how many were unread."""
    now = now or timezone.now()
    qs = unread(user)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    rows = list(qs.values_list("pk", "recipient_user_id"))
    direct = [pk for pk, uid in rows if uid == user.pk]
    shared = [pk for pk, uid in rows if uid != user.pk]
    with transaction.atomic():
        if direct:
            Notice.objects.filter(pk__in=direct, read_at__isnull=True).update(read_at=now)
        NoticeRead.objects.bulk_create([NoticeRead(notice_id=pk, user=user, at=now) for pk in shared],
                                       ignore_conflicts=True)
    return len(rows)
