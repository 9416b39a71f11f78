"""Bulletins: 旬 warnings, weekly and monthly bulletins, the annual total, each a frozen snapshot.

Issuing takes the assessment lock (the one recompute takes), so the snapshot is of one moment:
a recompute running at the same time waits, or is waited for, never half-seen. The snapshot
(rankings of people and units, their entries with evidence, the unit indicators, the
replacement recommendations) is stored as JSON and the entries it holds are marked frozen:
later recomputes leave them alone and book any difference as a correction on the day it is
made, which the next bulletin carries. An issued bulletin is never changed.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from gisgrid.audit.log import record
from gisgrid.errors import Conflict, Text

from . import computing, quota, scores
from .models import Bulletin, ScoreEntry
from .periods import Period

KIND_LABELS = {"xun": "旬预警", "week": "周通报", "month": "月通报", "year": "年度总评"}
TOP = 2000  # entries kept per bulletin (the rest stay in the table, frozen)


def title(period: Period) -> str:
    return f"网格化管理考核{KIND_LABELS[period.kind]}（{period.label}）"


def snapshot(period: Period, now: datetime | None = None) -> dict:
    """Everything a bulletin shows, as plain data."""
    people = scores.person_scores(period)
    units = scores.unit_scores(period, now=now)
    qs = (ScoreEntry.objects.filter(booked__gte=period.start, booked__lte=period.end)
          .select_related("rule", "person", "unit", "case__category", "event", "work_order__unit")
          .order_by("booked", "id"))
    entries = [scores.entry_dict(e) for e in qs[:TOP]]
    corrections = [e for e in entries if e["correction"]]
    names = [] if period.kind not in ("week", "month") else [
        {"person_id": q.person_id, "name": q.person.name, "unit": q.person.unit.name if q.person.unit else "",
         "week_start": q.week_start.isoformat(), "grids": q.grid_codes} for q in quota.replacements(period)]
    # Only people with points (or named) are listed in full; the rest are at 100.
    listed = [p for p in people if p["entries"] or p["no_excellent"]]
    by_rule: dict[str, float] = {}
    for e in entries:
        by_rule[e["rule_name"]] = by_rule.get(e["rule_name"], 0) + e["points"]
    return {
        "kind": period.kind, "start": period.start.isoformat(), "end": period.end.isoformat(),
        "label": period.label, "people": listed, "people_total": len(people),
        "people_at_full": len(people) - len(listed), "units": units, "entries": entries,
        "entries_total": qs.count(), "corrections": corrections, "replacements": names,
        "by_rule": {k: round(v, 2) for k, v in sorted(by_rule.items(), key=lambda kv: kv[1])},
    }


def issue(period: Period, actor, *, now: datetime | None = None, recompute: bool = True) -> Bulletin:
    """Issue the bulletin of `period` (refused with 409 `already_issued` if one exists): an
    optional recompute first, then the snapshot, all under the lock in one transaction."""
    now = now or timezone.now()
    if period.kind not in KIND_LABELS:
        raise Conflict(Text("该周期类型不发布通报", "no bulletin for this kind of period"), code="wrong_state",
                       state=period.kind)
    if Bulletin.objects.filter(kind=period.kind, start=period.start).exists():
        raise Conflict(Text("该期通报已发布，不能更改", "this bulletin is already issued"), code="already_issued")
    if recompute:
        computing.recompute(period, now=now, actor=actor)
    with transaction.atomic():
        with connection.cursor() as cur:
            computing.lock(cur)
        data = snapshot(period, now)
        try:
            with transaction.atomic():
                b = Bulletin.objects.create(kind=period.kind, start=period.start, end=period.end, title=title(period),
                                            issued_at=now, issued_by=actor if getattr(actor, "pk", None) else None,
                                            snapshot=data)
        except IntegrityError:
            raise Conflict(Text("该期通报已发布，不能更改", "this bulletin is already issued"),
                           code="already_issued") from None
        ScoreEntry.objects.filter(booked__gte=period.start, booked__lte=period.end, frozen=False).update(frozen=True)
        record(actor, "assessment.bulletin_issue", b, kind=period.kind, start=period.start.isoformat(),
               end=period.end.isoformat(), entries=data["entries_total"])
    return b


def bulletin_dict(b: Bulletin, *, full: bool = False) -> dict:
    out = {"id": b.pk, "kind": b.kind, "kind_label": KIND_LABELS.get(b.kind, b.kind), "start": b.start.isoformat(),
           "end": b.end.isoformat(), "title": b.title, "issued_at": b.issued_at.isoformat(),
           "issued_by": b.issued_by.get_username() if b.issued_by_id else ""}
    if full:
        out["snapshot"] = b.snapshot
    return out
