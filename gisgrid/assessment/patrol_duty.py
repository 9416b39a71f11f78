"""The inspectors' weekly patrol duty, from the patrols app's own functions.

Per whole week (Monday–Sunday) ending in the period: the duty (patrols.coverage_rows.
patrol_schedule: every urban level-3 grid visited at least once a week) and each inspector's
coverage that week (patrol_coverage). When the team left grids unvisited, every active inspector
who visited fewer grids than their share (duty grids ÷ inspectors, rounded up) gets the rule's
points, with the week's figures as evidence. Tracks are never read here directly. A week's
findings are kept (PatrolDutyWeek) with a digest of what they came from, and computed again
only when that changed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, time, timedelta

from django.db import connection
from django.utils import timezone

from gisgrid.boundaries.models import Person
from gisgrid.errors import BadRequest
from gisgrid.patrols.coverage_rows import patrol_coverage, patrol_schedule

from .computing import ceil_div, week_starts
from .models import PatrolDutyWeek, Rule
from .periods import Period


def facts(period: Period, p: dict, rule: Rule | None) -> list[tuple]:
    """Rows for assess_facts: (rule_id, key, person_id, day, points, figure json)."""
    if rule is None:
        return []
    inspectors = list(Person.objects.filter(role=Person.Role.INSPECTOR, active=True).order_by("pk"))
    if not inspectors:
        return []
    tz = timezone.get_default_timezone()
    common = _common_basis(rule, inspectors)
    out = []
    for monday in week_starts(period, p["today"]):
        start = datetime.combine(monday, time.min, tz)
        end = start + timedelta(days=7)
        basis = _basis(start, end, common)
        kept = PatrolDutyWeek.objects.filter(week_start=monday, basis=basis).first()
        if kept is not None:
            rows = kept.rows
        else:
            try:
                rows = _week(start, end, inspectors)
            except BadRequest:  # no active edition: nothing to measure against
                return []
            PatrolDutyWeek.objects.update_or_create(week_start=monday, defaults={"basis": basis, "rows": rows})
        sunday = monday + timedelta(days=6)
        for person_id, figure in rows:
            out.append((rule.pk, f"patrol_duty:{person_id}:{monday}", person_id, sunday, rule.points,
                        json.dumps(figure, ensure_ascii=False)))
    return out


def _week(start: datetime, end: datetime, inspectors: list[Person]) -> list[list]:
    """[[person_id, figure], ...]: the inspectors who fell short of their share that week."""
    sched = patrol_schedule(start, end, rule={"every_days": 7})
    duty = [r.code for r in sched.rows]
    unmet = [r.code for r in sched.rows if not r.met]
    if not unmet:
        return []
    cfg = sched.rule
    cov = patrol_coverage(start, end, level=cfg.get("level"), urban_only=bool(cfg.get("urban_only")),
                          role=cfg.get("role"), people=inspectors)
    visited = {pc.person_id: (len(set(pc.grids) & set(duty)), pc.sessions, round(pc.distance_m))
               for pc in cov.result.people}
    share = ceil_div(len(duty), len(inspectors))
    rows = []
    for person in inspectors:
        n, sessions, distance = visited.get(person.pk, (0, 0, 0))
        if n >= share:
            continue
        rows.append([person.pk, {"week_start": start.date().isoformat(), "duty_grids": len(duty),
                                 "unmet_grids": len(unmet), "unmet_sample": unmet[:10], "share": share,
                                 "visited": n, "sessions": sessions, "distance_m": distance}])
    return rows


def _common_basis(rule: Rule, inspectors: list[Person]) -> str:
    """What every week's findings depend on alike: the active edition, who is an inspector,
    whose devices, the rule's weight and parameters."""
    with connection.cursor() as cur:
        cur.execute("SELECT id, version FROM boundaries_edition WHERE status = 'active' ORDER BY id")
        editions = cur.fetchall()
        cur.execute("SELECT coalesce(string_agg(id || ':' || coalesce(person_id, 0), ',' ORDER BY id), '')"
                    " FROM patrols_device")
        devices = cur.fetchone()[0]
        cur.execute("SELECT coalesce(string_agg(id || ':' || role || ':' || active, ',' ORDER BY id), '')"
                    " FROM boundaries_person")
        people = cur.fetchone()[0]
    return "|".join([repr(editions), devices, people, repr([p.pk for p in inspectors]), str(rule.points),
                     repr(rule.threshold), json.dumps(rule.params, sort_keys=True, default=str)])


def _basis(start: datetime, end: datetime, common: str) -> str:
    """A digest of what a week's findings depend on: `common`, and the week's fixes, counted
    (and their largest id taken) by the time index: milliseconds, where the coverage itself is
    about a second a week on a county's data."""
    with connection.cursor() as cur:
        cur.execute("SELECT count(*), coalesce(max(id), 0) FROM patrols_position WHERE fix_time >= %s AND fix_time < %s",
                    [start, end])
        fixes = cur.fetchone()
    return hashlib.sha256("|".join([start.isoformat(), end.isoformat(), repr(fixes), common]).encode()).hexdigest()
