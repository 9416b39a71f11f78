"""Case figures for the leaders' dashboard and the dispatcher's map: counts, on-time rate, overdue.

Plain functions over a queryset of cases the caller may already read (`visible_cases` narrowed
by the list's own filters, gisgrid/cases/filters.py), so every figure follows the case API's
visibility rules without restating them. Each figure is one set-based SQL statement (GROUP BY in
PostgreSQL), never a loop over cases in Python.

Definitions (docs/dispatch.md):
- counts by state, category, town (level-1 grid) and grid (any level): the cases of the queryset;
- on-time rate: among the cases of the queryset completed (completed_at set) with a completion
  deadline, the share completed by it, bucketed by the county-time day or week (Monday) of
  completion;
- overdue: the open cases whose clock is red now, the longest overdue first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, F, FloatField, Func, Q, QuerySet
from django.db.models.functions import TruncDay, TruncWeek

from gisgrid import county_time
from gisgrid.boundaries.models import Grid

from .models import Case

LEVEL_FIELDS = {1: "report__level1_code", 2: "report__level2_code", 3: "report__level3_code"}
BUCKETS = ("day", "week")
OVERDUE_LIMIT = 100
# The compact rows of `points`, in this order (the map reads them by position: 5,000 rows of
# objects would repeat every key 5,000 times).
POINT_FIELDS = ("number", "lon", "lat", "clock", "state", "category", "severity", "paused", "supervised",
                "level1", "level2", "level3", "lead_unit", "stage_due", "reported_at", "version")
MAX_POINTS = 50_000


def _grid_names(level: int | None = None) -> dict[str, str]:
    """Names of the active edition's grids by code (all levels, or one)."""
    qs = Grid.objects.filter(edition__status="active")
    if level is not None:
        qs = qs.filter(level=level)
    return dict(qs.values_list("code", "name"))


def by_state(qs: QuerySet) -> list[dict]:
    labels = dict(Case.State.choices)
    rows = dict(qs.order_by().values_list("state").annotate(n=Count("id")))
    # Every state in the loop's order, zeros included: a chart's axis must not jump.
    return [{"state": s, "name": str(labels[s]), "count": rows.get(s, 0)} for s in Case.State.values]


def by_category(qs: QuerySet) -> list[dict]:
    rows = (qs.order_by().values("category__code", "category__name").annotate(n=Count("id"))
            .order_by("-n", "category__code"))
    return [{"code": r["category__code"], "name": r["category__name"], "count": r["n"]} for r in rows]


def by_grid(qs: QuerySet, level: int) -> list[dict]:
    """Cases per grid of `level` (1 = town); cases outside any grid of that level under code ""."""
    field = LEVEL_FIELDS[level]
    names = _grid_names(level)
    rows = qs.order_by().values_list(field).annotate(n=Count("id")).order_by("-n", field)
    return [{"code": code, "name": names.get(code, ""), "count": n} for code, n in rows]


def on_time(qs: QuerySet, bucket: str = "day") -> list[dict]:
    """Per county-time day or week of completion: completed, on time, rate (None when none)."""
    trunc = TruncDay if bucket == "day" else TruncWeek
    rows = (qs.filter(completed_at__isnull=False, complete_due__isnull=False).order_by()
            .annotate(b=trunc("completed_at", tzinfo=county_time.zone())).values("b")
            .annotate(done=Count("id"), kept=Count("id", filter=Q(completed_at__lte=F("complete_due"))))
            .order_by("b"))
    return [{"period": county_time.local(r["b"]).date().isoformat(), "completed": r["done"], "on_time": r["kept"],
             "rate": round(r["kept"] / r["done"], 4) if r["done"] else None} for r in rows]


def overdue(qs: QuerySet, now: dt.datetime, limit: int = OVERDUE_LIMIT) -> tuple[int, list[dict]]:
    """(how many, the first `limit`): open cases with a red clock, the longest overdue first."""
    red = qs.filter(clock=Case.Clock.RED).exclude(state__in=Case.CLOSED_STATES)
    total = red.count()
    rows = (red.select_related("category", "report", "lead_unit")
            .order_by(F("stage_due").asc(nulls_last=True), "reported_at", "id")[:limit])
    return total, [{
        "number": c.number, "state": c.state, "stage": c.stage, "category": c.category.code,
        "category_name": c.category.name, "address": c.report.address, "grid": c.report.grid_code,
        "lead_unit": c.lead_unit.name if c.lead_unit_id else None, "supervised": c.supervised,
        "stage_due": county_time.iso(c.stage_due),
        "overdue_s": round((now - c.stage_due).total_seconds()) if c.stage_due else None,
    } for c in rows]


def summary(qs: QuerySet) -> dict:
    """Totals in one statement: all, open, closed, red, yellow, paused, supervised."""
    closed = Q(state__in=Case.CLOSED_STATES)
    return qs.order_by().aggregate(
        total=Count("id"), open=Count("id", filter=~closed), closed=Count("id", filter=closed),
        red=Count("id", filter=Q(clock=Case.Clock.RED) & ~closed),
        yellow=Count("id", filter=Q(clock=Case.Clock.YELLOW) & ~closed),
        paused=Count("id", filter=Q(paused=True) & ~closed),
        supervised=Count("id", filter=Q(supervised=True) & ~closed))


def case_stats(qs: QuerySet, *, level: int = 1, bucket: str = "day", now: dt.datetime | None = None,
               overdue_limit: int = OVERDUE_LIMIT) -> dict[str, Any]:
    """Every figure of the dashboard over `qs` (already visible and filtered)."""
    now = now or county_time.now()
    n_overdue, overdue_rows = overdue(qs, now, overdue_limit)
    return {
        "summary": summary(qs),
        "by_state": by_state(qs),
        "by_category": by_category(qs),
        "by_town": by_grid(qs, 1),
        "by_grid": by_grid(qs, level),
        "level": level,
        "bucket": bucket,
        "on_time": on_time(qs, bucket),
        "overdue_count": n_overdue,
        "overdue": overdue_rows,
    }


class _X(Func):
    function, output_field = "ST_X", FloatField()


class _Y(Func):
    function, output_field = "ST_Y", FloatField()


class _Epoch(Func):
    """Seconds since 1970 of a timestamptz. Not Django's Extract("epoch"): that one converts to
    the county's zone first (AT TIME ZONE) and so is 8 hours off for an instant."""

    template, output_field = "EXTRACT(EPOCH FROM %(expressions)s)", FloatField()


def points(qs: QuerySet, limit: int = MAX_POINTS) -> tuple[int, list[list]]:
    """(how many, rows of POINT_FIELDS) for the map: one flat list per case, the first `limit`.

    Times are epoch seconds (the map compares and formats them; no ISO parsing of 5,000 strings)."""
    rows = (qs.order_by("id")
            .annotate(lon=_X("report__point"), lat=_Y("report__point"), due=_Epoch("stage_due"), at=_Epoch("reported_at"))
            .values_list("number", "lon", "lat", "clock", "state", "category__code", "severity", "paused",
                         "supervised", "report__level1_code", "report__level2_code", "report__level3_code",
                         "lead_unit_id", "due", "at", "version"))
    total = qs.count()
    out = []
    for r in rows[:limit]:
        r = list(r)
        r[1], r[2] = round(r[1], 6), round(r[2], 6)
        r[13] = int(r[13]) if r[13] is not None else None
        r[14] = int(r[14])
        out.append(r)
    return total, out
