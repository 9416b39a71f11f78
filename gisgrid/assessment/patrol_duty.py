"""The inspectors' weekly patrol duty, from the patrols app's own functions.

Per whole week (Monday–Sunday) ending in the period: the duty (patrols.coverage_rows.
patrol_schedule: every urban level-3 grid visited at least once a week) and each inspector's
coverage that week (patrol_coverage). When the team left grids unvisited, every active inspector
who visited fewer grids than their share (duty grids ÷ inspectors, rounded up) gets the rule's
points, with the week's figures as evidence. Tracks are never read here directly.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from django.utils import timezone

from gisgrid.boundaries.models import Person
from gisgrid.errors import BadRequest
from gisgrid.patrols.coverage_rows import patrol_coverage, patrol_schedule

from .computing import ceil_div, week_starts
from .models import Rule
from .periods import Period


def facts(period: Period, p: dict, rule: Rule | None) -> list[tuple]:
    """Rows for assess_facts: (rule_id, key, person_id, day, points, figure json)."""
    if rule is None:
        return []
    inspectors = list(Person.objects.filter(role=Person.Role.INSPECTOR, active=True).order_by("pk"))
    if not inspectors:
        return []
    tz = timezone.get_default_timezone()
    out = []
    for monday in week_starts(period, p["today"]):
        start = datetime.combine(monday, time.min, tz)
        end = start + timedelta(days=7)
        try:
            sched = patrol_schedule(start, end, rule={"every_days": 7})
        except BadRequest:  # no active edition: nothing to measure against
            return []
        duty = [r.code for r in sched.rows]
        unmet = [r.code for r in sched.rows if not r.met]
        if not unmet:
            continue
        cfg = sched.rule
        cov = patrol_coverage(start, end, level=cfg.get("level"), urban_only=bool(cfg.get("urban_only")),
                              role=cfg.get("role"), people=inspectors)
        visited = {pc.person_id: (len(set(pc.grids) & set(duty)), pc.sessions, round(pc.distance_m))
                   for pc in cov.result.people}
        share = ceil_div(len(duty), len(inspectors))
        sunday = monday + timedelta(days=6)
        for person in inspectors:
            n, sessions, distance = visited.get(person.pk, (0, 0, 0))
            if n >= share:
                continue
            figure = {"week_start": monday.isoformat(), "duty_grids": len(duty), "unmet_grids": len(unmet),
                      "unmet_sample": unmet[:10], "share": share, "visited": n, "sessions": sessions,
                      "distance_m": distance}
            out.append((rule.pk, f"patrol_duty:{person.pk}:{monday}", person.pk, sunday, rule.points,
                        json.dumps(figure, ensure_ascii=False)))
    return out
