"""Likely duplicates of a case: same matter, within 100 m, open or closed in the last 7 days.

Distances on the geography type (metres on the spheroid), so no projection is chosen by hand.
The reports near the point are found first, through the spatial index on their points (a box a
little larger than the circle, then the exact test in metres), and only those few are joined to
their cases: a county's year holds thousands of cases of one matter, a circle of 100 m a handful.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Case as SqlCase
from django.db.models import F, FloatField, QuerySet, Value, When
from django.utils import timezone

from .models import Case

RADIUS_M = 100.0
WINDOW = timedelta(days=7)
LIMIT = 50


def nearby(category_id: int, lon: float, lat: float, *, now: datetime | None = None, exclude_id: int | None = None,
           radius_m: float = RADIUS_M) -> list[tuple[int, float]]:
    """(case id, distance in metres) of the likely duplicates, nearest first."""
    now = now or timezone.now()
    margin = 1.2 * radius_m / (111_320 * max(math.cos(math.radians(lat)), 0.01))
    with connection.cursor() as cur:
        cur.execute(
            """
            WITH here AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g),
            near AS MATERIALIZED (
                SELECT r.id, ST_Distance(r.point::geography, here.g::geography) AS d
                  FROM incidents_report r, here
                 WHERE r.point && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
                   AND ST_DWithin(r.point::geography, here.g::geography, %(radius)s)
            )
            SELECT c.id, near.d FROM near JOIN cases_case c ON c.report_id = near.id
             WHERE c.category_id = %(category)s AND c.duplicate_of_id IS NULL AND c.id <> %(exclude)s
               AND (c.state = ANY(%(open)s) OR (c.state = 'archived' AND c.archived_at >= %(since)s))
             ORDER BY near.d, c.reported_at DESC, c.id
             LIMIT %(limit)s
            """,
            {"lon": lon, "lat": lat, "x0": lon - margin, "y0": lat - margin, "x1": lon + margin, "y1": lat + margin,
             "radius": radius_m, "category": category_id, "exclude": exclude_id or 0,
             "open": [s for s in Case.OPEN_STATES], "since": now - WINDOW, "limit": LIMIT})
        return [(pk, float(d)) for pk, d in cur.fetchall()]


def suggest(category_id: int, lon: float, lat: float, *, now: datetime | None = None, exclude_id: int | None = None,
            radius_m: float = RADIUS_M) -> QuerySet:
    """Cases of `category_id` within `radius_m` of (lon, lat) (WGS-84) that are open, or were
    archived in the last 7 days; nearest first, each annotated `distance_m`. Voided cases and
    cases already merged into another are left out (the one they point at is what counts)."""
    found = nearby(category_id, lon, lat, now=now, exclude_id=exclude_id, radius_m=radius_m)
    if not found:
        return Case.objects.none()
    distance = SqlCase(*[When(pk=pk, then=Value(d)) for pk, d in found], output_field=FloatField())
    return (Case.objects.filter(pk__in=[pk for pk, _ in found]).annotate(distance_m=distance)
            .order_by("distance_m", F("reported_at").desc(), "id"))


def suggest_for(case: Case, *, now: datetime | None = None) -> QuerySet:
    """Likely duplicates of `case` (other cases only)."""
    point = case.report.point
    return suggest(case.category_id, point.x, point.y, now=now, exclude_id=case.pk)
