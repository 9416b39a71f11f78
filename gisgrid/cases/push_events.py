"""The case loop's push events (docs/push.md): `case` for every change, `notice` for the inbox.

The payload is what a map and a queue need to draw and sort a case; never the reporter's name
or phone (a page that needs them fetches the case, with the API's checks). The audience follows
gisgrid/cases/visibility.py: the roles that see every case, the units with a work order on it,
the grid members of its grids (any level) and the account that reported it.
Called inside the transaction of the change, so a rolled-back change publishes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from gisgrid.push.audience import RESET, Audience
from gisgrid.push.publish import publish_many
from gisgrid.push.store import RETENTION

from .models import Case, Notice, WorkOrder
from .visibility import ALL_CASES_ROLES

# More case changes than this in one clock pass go out as one `reset`.
BULK = 500
_CASE_FIELDS = ("id", "number", "state", "clock", "paused", "supervised", "category__code", "category__name",
                "severity", "report__point", "report__level1_code", "report__level2_code", "report__level3_code",
                "report__address", "lead_unit_id", "stage", "stage_due", "complete_due", "reported_at", "updated_at",
                "version", "reporter_user_id")


# The workflow's action names as the contract spells them (docs/push.md); others go as they are.
ACTIONS = {"open": "report", "arrive": "on_site", "send_back": "rework", "extension_requested": "extend",
           "extension_approved": "extend", "extension_rejected": "extend", "unsupervise": "supervise"}


def _time(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value is not None else None


def _event(row: dict, units: list[int], action: str) -> tuple[str, dict, Audience]:
    point = row["report__point"]
    codes = [row["report__level1_code"] or None, row["report__level2_code"] or None,
             row["report__level3_code"] or None]
    data = {
        "number": row["number"], "action": action, "state": row["state"], "clock": row["clock"],
        "paused": row["paused"], "supervised": row["supervised"], "category": row["category__code"],
        "category_name": row["category__name"], "severity": row["severity"],
        "lon": round(point.x, 7) if point is not None else None, "lat": round(point.y, 7) if point is not None else None,
        "grid_codes": codes, "lead_unit": row["lead_unit_id"], "units": units, "stage": row["stage"],
        "stage_due": _time(row["stage_due"]), "complete_due": _time(row["complete_due"]),
        "reported_at": _time(row["reported_at"]), "updated_at": _time(row["updated_at"]),
        "version": row["version"], "address": row["report__address"],
    }
    audience = Audience.of(roles=ALL_CASES_ROLES, unit_ids=units, grid_codes=codes,
                           user_ids=[row["reporter_user_id"]])
    return "case", data, audience


def case_events(case_ids: Iterable[int], action: str) -> list[tuple[str, dict, Audience]]:
    """The `case` events of these cases as they stand now (two queries for any number)."""
    ids = list(case_ids)
    if not ids:
        return []
    units: dict[int, set[int]] = defaultdict(set)
    for case_id, unit_id in WorkOrder.objects.filter(case_id__in=ids).values_list("case_id", "unit_id"):
        units[case_id].add(unit_id)
    rows = Case.objects.filter(pk__in=ids).order_by("pk").values(*_CASE_FIELDS)
    return [_event(r, sorted(units[r["id"]]), action) for r in rows]


def is_live(at: datetime | None) -> bool:
    """Whether a change at `at` is news: history replayed by imports and demo data (older than
    the events are kept) is pushed to nobody; no client could resume to it anyway."""
    return at is None or abs((timezone.now() - at).total_seconds()) < RETENTION.total_seconds()


def publish_case(case: Case | int, action: str, at: datetime | None = None) -> None:
    """A `case` event for one change of `case` (after it was saved)."""
    if not is_live(at):
        return
    publish_many(case_events([case.pk if isinstance(case, Case) else case], ACTIONS.get(action, action)))


def publish_cases(case_ids: Iterable[int], action: str) -> None:
    """One INSERT for many cases (the clock pass's colour changes)."""
    publish_many(case_events(case_ids, action))


def notice_event(notice: Notice, case_number: str | None = None) -> tuple[str, dict, Audience]:
    data = {"id": notice.pk, "kind": notice.kind, "subject": notice.subject,
            "case": case_number if case_number is not None else (notice.case.number if notice.case_id else None),
            "created_at": _time(notice.created_at)}
    return "notice", data, Audience.of(user_ids=[notice.recipient_user_id], unit_ids=[notice.recipient_unit_id],
                                       roles=[notice.recipient_role])


def publish_notices(notices: Iterable[Notice]) -> None:
    """A `notice` event per inbox notice (webhook copies are the same notice, sent elsewhere)."""
    publish_many([notice_event(n) for n in notices if n.channel == Notice.Channel.INBOX and is_live(n.created_at)])


def publish_notices_where(**filters) -> None:
    """The inbox notices matching `filters` (notices written in SQL by the clock pass)."""
    rows = Notice.objects.filter(channel=Notice.Channel.INBOX, **filters).select_related("case")
    publish_many([notice_event(n, n.case.number if n.case_id else None) for n in rows])


def publish_clock_pass(changed_ids: Iterable[int], alerted_ids: Iterable[int], now: datetime) -> None:
    """The clock pass: a `case` event ("clock") per case whose clock row changed, in one INSERT,
    and a `notice` event per warning or escalation it wrote (in SQL) at `now`. A pass that
    changes more than BULK cases (the first pass after a calendar edit or a long stop) sends one
    `reset` instead: pages reload their snapshot rather than take thousands of events."""
    if not is_live(now):
        return
    changed = [int(i) for i in changed_ids]
    if len(changed) > BULK:
        publish_many([(RESET, {}, Audience.of(everyone_signed_in=True))])
        return
    publish_cases(changed, "clock")
    alerted = [int(i) for i in alerted_ids]
    if alerted:
        publish_notices_where(case_id__in=alerted, created_at=now, kind__startswith="clock_")
