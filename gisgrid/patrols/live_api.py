"""Where everyone is now, and where someone went: last positions, tracks for replay, sessions.

Read-only views over what ingest stored. Who may see whom is decided by roles.patrol_scope:
supervisors see the team, a grid member only themself.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.conf import settings
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts.policy import FromMatrix
from gisgrid.api_errors import BadParameter
from gisgrid.boundaries import locate
from gisgrid.boundaries.models import Person

from . import live, sessions
from .models import Device, PatrolSession
from .params import parse_people, parse_period, parse_time, scoped_people
from .schema import LiveAnswer, SessionsAnswer, TrackAnswer
from .tracks import load_tracks, split_at_gaps

MAX_TRACK_DAYS = 7
# Longer than any real patrol session (they end at a 10-minute pause).
MAX_SESSION_SPAN = dt.timedelta(days=92)
MAX_TRACK_FIXES = 200_000


def _grid_names() -> dict[str, str]:
    try:
        return {r.code: r.name for r in locate.snapshot().index.records}
    except LookupError:
        return {}


class LiveView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(
        summary="每人最后位置 last known position per person",
        parameters=[OpenApiParameter("role", str, enum=list(Person.Role.values)),
                    OpenApiParameter("since", str, description="ISO-8601; default 24 h ago"),
                    OpenApiParameter("person", str, description="人员 id 或用户名 person id or username")],
        operation_id="patrols_live", responses=LiveAnswer)
    def get(self, request):
        people = scoped_people(request, parse_people(request.query_params))
        since = parse_time("since", request.query_params.get("since"), required=False)
        since = since or timezone.now() - dt.timedelta(hours=24)
        role = request.query_params.get("role")
        if role and role not in Person.Role.values:
            raise BadParameter("role", f"未知角色 unknown role; one of {', '.join(Person.Role.values)}")
        # Bounded above too: a last fix time written before ingest bounded fix times (year 10000)
        # cannot be loaded, and it is nobody's position now anyway.
        people = live.last_positions(since, timezone.now(), people=people, role=role, grid_names=_grid_names())
        return Response({"since": timezone.localtime(since).isoformat(), "count": len(people), "people": people})


class TrackView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(
        summary="一人一段时间的轨迹（回放） a person's track for replay",
        parameters=[OpenApiParameter("person", str, required=True),
                    OpenApiParameter("start", str, required=True), OpenApiParameter("end", str, required=True)],
        operation_id="patrols_track", responses=TrackAnswer)
    def get(self, request):
        asked = parse_people(request.query_params)
        if len(asked) != 1:
            raise BadParameter("person", "必填一人：人员 id 或用户名 (required: one person id or username)")
        person = scoped_people(request, asked)[0]
        start, end = parse_period(request.query_params, max_period=dt.timedelta(days=MAX_TRACK_DAYS))
        tracks = load_tracks(start, end, person_ids=[person.pk])
        features = []
        if tracks:
            tr = tracks[0]
            if len(tr) > MAX_TRACK_FIXES:
                raise BadParameter("end", f"超过 {MAX_TRACK_FIXES} 个定位点，请缩短时段 (too many fixes; shorten the period)")
            for i, j in split_at_gaps(tr.t, settings.GISGRID_PATROL_SESSION_GAP_S):
                features.append(_run_feature(tr.t[i:j], tr.lon[i:j], tr.lat[i:j]))
        return Response({
            "type": "FeatureCollection",
            "person": {"id": person.pk, "name": person.name, "role": person.role},
            "period": {"start": timezone.localtime(start).isoformat(), "end": timezone.localtime(end).isoformat()},
            "features": features,
        })


def _run_feature(t: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> dict:
    """One stretch without a pause as a GeoJSON feature; `times` (epoch ms) run with the
    coordinates so a client can replay it."""
    coords = np.round(np.column_stack([lon, lat]), 7).tolist()
    start, end, n, distance, _line = sessions.summarise(t, lon, lat)
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords} if n > 1 else
                    {"type": "Point", "coordinates": coords[0]},
        "properties": {
            "start": _iso(start), "end": _iso(end), "fixes": n, "distance_m": round(distance, 1),
            "duration_s": round(end - start), "times": np.round(t * 1000).astype(np.int64).tolist(),
        },
    }


def _iso(epoch: float) -> str:
    return timezone.localtime(dt.datetime.fromtimestamp(epoch, dt.UTC)).isoformat()


class SessionsView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(
        summary="巡查段 patrol sessions (split at pauses > 10 min)",
        parameters=[OpenApiParameter("person", str), OpenApiParameter("start", str, required=True),
                    OpenApiParameter("end", str, required=True)],
        operation_id="patrols_sessions", responses=SessionsAnswer)
    def get(self, request):
        people = scoped_people(request, parse_people(request.query_params))
        start, end = parse_period(request.query_params, max_period=dt.timedelta(days=31))
        # Rebuild only what this answer shows (everyone's when the whole team is asked).
        sessions.refresh(None if people is None else
                         Device.objects.filter(person__in=people).values_list("pk", flat=True))
        # Bounded on both sides as well: only a session from before fix times were bounded can
        # reach that far, and its times may be unloadable (year 1 BC, year 10000).
        qs = (PatrolSession.objects.filter(end__gte=start, start__lt=end, start__gte=start - MAX_SESSION_SPAN,
                                           end__lt=end + MAX_SESSION_SPAN)
              .select_related("person", "device").defer("device__dirty_start", "device__dirty_end",
                                                        "device__last_fix_time"))
        if people is not None:
            qs = qs.filter(person__in=people)
        items = [{
            "id": s.pk, "device": s.device.identifier,
            "person": {"id": s.person.pk, "name": s.person.name, "role": s.person.role} if s.person_id else None,
            "start": timezone.localtime(s.start).isoformat(), "end": timezone.localtime(s.end).isoformat(),
            "duration_s": round((s.end - s.start).total_seconds()), "fixes": s.point_count,
            "distance_m": round(s.distance_m, 1), "line": {"type": s.line.geom_type,
                                                            "coordinates": s.line.coords},
        } for s in qs.order_by("start")[:5000]]
        return Response({"count": len(items), "sessions": items})


urlpatterns = [
    path("patrols/live", LiveView.as_view(), name="patrols-live"),
    path("patrols/track", TrackView.as_view(), name="patrols-track"),
    path("patrols/sessions", SessionsView.as_view(), name="patrols-sessions"),
]
