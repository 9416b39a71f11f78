"""Likely duplicates of a case: same matter, within 100 m, open or closed in the last 7 days.

Distances on the geography type (metres on the spheroid), so no projection is chosen by hand;
the category and the time window narrow the rows before any distance is computed.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db.models import F, FloatField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from .models import Case

RADIUS_M = 100.0
WINDOW = timedelta(days=7)


def suggest(category_id: int, lon: float, lat: float, *, now: datetime | None = None, exclude_id: int | None = None,
            radius_m: float = RADIUS_M) -> QuerySet:
    """Cases of `category_id` within `radius_m` of (lon, lat) (WGS-84) that are open, or were
    archived in the last 7 days; nearest first, each annotated `distance_m`. Voided cases and
    cases already merged into another are left out (the one they point at is what counts)."""
    now = now or timezone.now()
    since = now - WINDOW
    point = "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography"
    # A box in degrees a little larger than the circle lets the spatial index on the reports'
    # points pick the candidates; the geography test then measures them in metres.
    margin = 1.2 * radius_m / (111_320 * max(math.cos(math.radians(lat)), 0.01))
    near = RawSQL(
        "SELECT r.id FROM incidents_report r WHERE r.point && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
        f" AND ST_DWithin(r.point::geography, {point}, %s)",
        (lon - margin, lat - margin, lon + margin, lat + margin, lon, lat, radius_m))
    distance = RawSQL(
        f"SELECT ST_Distance(r.point::geography, {point}) FROM incidents_report r"
        " WHERE r.id = cases_case.report_id", (lon, lat), output_field=FloatField())
    qs = (Case.objects.filter(category_id=category_id, report_id__in=near, duplicate_of__isnull=True)
          .filter(Q(state__in=[s for s in Case.OPEN_STATES]) | Q(state=Case.State.ARCHIVED, archived_at__gte=since))
          .annotate(distance_m=distance)
          .order_by("distance_m", F("reported_at").desc()))
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return qs


def suggest_for(case: Case, *, now: datetime | None = None) -> QuerySet:
    """Likely duplicates of `case` (other cases only)."""
    point = case.report.point
    return suggest(case.category_id, point.x, point.y, now=now, exclude_id=case.pk)
