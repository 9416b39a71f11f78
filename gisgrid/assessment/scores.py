"""Reading scores: rankings of people and units for a period, and entries down to their evidence.

A score is 100 plus the points of the entries booked in the period (plus, for units, the rate
indicators' points); bonuses may take it above 100, it never goes below 0. Phone numbers are
never part of these answers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum

from gisgrid.boundaries.models import Person, Unit

from . import computing, quota
from .models import ScoreEntry
from .periods import Period

BASE = Decimal("100")
SCORED_ROLES = (Person.Role.GRID_MEMBER, Person.Role.INSPECTOR, Person.Role.GRID_CHIEF)


def _score(points: Decimal) -> float:
    return float(max(BASE + points, Decimal("0")))


def person_scores(period: Period, *, person_ids: list[int] | None = None, role: str | None = None,
                  grid_prefix: str = "") -> list[dict]:
    """Every active grid person (or those asked for), ranked: score, points up and down, counts."""
    people = Person.objects.filter(active=True, role__in=SCORED_ROLES).select_related("unit")
    if person_ids is not None:
        people = Person.objects.filter(pk__in=person_ids).select_related("unit")
    if role:
        people = people.filter(role=role)
    entries = ScoreEntry.objects.filter(booked__gte=period.start, booked__lte=period.end, person__isnull=False)
    if grid_prefix:
        entries = entries.filter(grid_code__startswith=grid_prefix)
        people = people.filter(Q(assignment_periods__grid_code__startswith=grid_prefix)
                               | Q(pk__in=entries.values("person_id"))).distinct()
    sums = {r["person_id"]: r for r in entries.values("person_id").annotate(
        total=Sum("points"), plus=Sum("points", filter=Q(points__gt=0)), minus=Sum("points", filter=Q(points__lt=0)),
        n=Count("id"))}
    by_grid: dict[int, dict[str, float]] = defaultdict(dict)
    for r in entries.values("person_id", "grid_code").annotate(total=Sum("points")):
        by_grid[r["person_id"]][r["grid_code"] or "-"] = float(r["total"])
    people = list(people)
    barred = quota.barred_from_excellent([p.pk for p in people], period.end.year)
    rows = []
    for p in people:
        s = sums.get(p.pk, {})
        total = s.get("total") or Decimal("0")
        rows.append({"person_id": p.pk, "name": p.name, "role": p.role, "role_label": str(p.get_role_display()),
                     "unit": p.unit.name if p.unit else "", "score": _score(total), "points": float(total),
                     "plus": float(s.get("plus") or 0), "minus": float(s.get("minus") or 0),
                     "entries": s.get("n", 0), "by_grid": by_grid.get(p.pk, {}), "no_excellent": p.pk in barred})
    return rank(rows)


def unit_scores(period: Period, *, now: datetime | None = None, unit_ids: list[int] | None = None) -> list[dict]:
    """Units with work in the period (or with entries), ranked; each with its indicators."""
    entries = ScoreEntry.objects.filter(booked__gte=period.start, booked__lte=period.end, unit__isnull=False)
    sums = {r["unit_id"]: r for r in entries.values("unit_id").annotate(total=Sum("points"), n=Count("id"))}
    ind = computing.indicators(period, now)
    ids = set(sums) | set(ind)
    if unit_ids is not None:
        ids &= set(unit_ids)
    units = {u.pk: u for u in Unit.objects.filter(pk__in=ids)}
    rows = []
    for uid in ids:
        u = units.get(uid)
        if u is None:
            continue
        s = sums.get(uid, {})
        points = (s.get("total") or Decimal("0")) + Decimal(str(ind.get(uid, {}).get("points", 0)))
        i = ind.get(uid, {"counts": {}, "rates": {}, "points": 0.0})
        rows.append({"unit_id": uid, "code": u.code, "name": u.name, "kind": u.kind, "score": _score(points),
                     "points": float(points), "entry_points": float(s.get("total") or 0), "entries": s.get("n", 0),
                     "indicator_points": i["points"], "counts": i["counts"], "rates": i["rates"]})
    return rank(rows)


def rank(rows: list[dict]) -> list[dict]:
    """Highest score first (ties by name); equal scores share a rank."""
    rows.sort(key=lambda r: (-r["score"], r["name"]))
    last, place = None, 0
    for i, r in enumerate(rows, 1):
        if r["score"] != last:
            place, last = i, r["score"]
        r["rank"] = place
    return rows


def entry_dict(e: ScoreEntry) -> dict:
    """One entry with its evidence: the case (number), the event, the work order, the figure."""
    wo = e.work_order
    ev = e.event
    return {
        "id": e.pk, "rule": e.rule.code, "rule_name": e.rule.name, "points": float(e.points),
        "day": e.day.isoformat(), "booked": e.booked.isoformat(), "grid_code": e.grid_code,
        "correction": e.correction, "frozen": e.frozen,
        "person_id": e.person_id, "person": e.person.name if e.person_id else "",
        "unit_id": e.unit_id, "unit": e.unit.name if e.unit_id else "",
        "case": e.case.number if e.case_id and e.case else None,
        "case_category": e.case.category.name if e.case_id and e.case else "",
        "event": {"id": ev.pk, "action": ev.action, "at": ev.at.isoformat(), "from_state": ev.from_state,
                  "to_state": ev.to_state, "reason": ev.reason[:200], "actor": ev.actor_name} if ev else None,
        "work_order": {"id": wo.pk, "unit": wo.unit.name, "role": wo.role, "round": wo.round, "state": wo.state,
                       "dispatched_at": wo.dispatched_at.isoformat(),
                       "due": wo.due.isoformat() if wo.due else None,
                       "completed_at": wo.completed_at.isoformat() if wo.completed_at else None} if wo else None,
        "figure": e.figure,
    }


def entries(period: Period, *, person_id: int | None = None, unit_id: int | None = None,
            rule: str | None = None, limit: int = 500) -> list[dict]:
    qs = (ScoreEntry.objects.filter(booked__gte=period.start, booked__lte=period.end)
          .select_related("rule", "person", "unit", "case__category", "event", "work_order__unit")
          .order_by("booked", "id"))
    if person_id is not None:
        qs = qs.filter(person_id=person_id)
    if unit_id is not None:
        qs = qs.filter(unit_id=unit_id)
    if rule:
        qs = qs.filter(rule__code=rule)
    return [entry_dict(e) for e in qs[:limit]]
