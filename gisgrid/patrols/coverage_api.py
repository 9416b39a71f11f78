"""HTTP face of patrol coverage and the inspectors' schedule: parse, check scope, call, render.

The rules live in coverage.py; this module only turns query strings into arguments (every bad
value a 400 naming its field), decides whose tracks the caller may see, and renders JSON or CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.conf import settings
from django.http import Http404, HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts.policy import FromMatrix
from gisgrid.api_errors import BadParameter
from gisgrid.boundaries.api import resolve_edition
from gisgrid.boundaries.models import GridAssignment, Person

from . import coverage as cov
from .params import parse_bool, parse_choice, parse_people, parse_period, scoped_people
from .schema import CoverageAnswer, ScheduleAnswer
from .tracks import TooManyFixes, load_tracks

TZ = cov.TZ
# About 35 days of ten inspectors at one fix per 5 s; coverage of that takes ~20 s. Beyond it a
# request would hold a worker for minutes: the caller is asked to narrow the period or people.
MAX_FIXES = int(settings.GISGRID_PATROL_COVERAGE_MAX_FIXES)
PERSON_ROLES = [c for c, _ in Person.Role.choices]


class CSVRenderer(BaseRenderer):
    """Lets `?format=csv` and `Accept: text/csv` through content negotiation; the views build
    the CSV themselves (HttpResponse), errors are switched back to JSON (finalize_response)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes | str) else b""


# --- parameters ------------------------------------------------------------------------------


def parse_radius(params) -> float:
    raw = params.get("radius")
    if raw is None or raw == "":
        return float(settings.GISGRID_PATROL_RADIUS_M)
    try:
        value = float(raw)
    except ValueError:
        raise BadParameter("radius", "必须是数字 (must be a number of metres)") from None
    if not 1 <= value <= 500:  # NaN fails this too
        raise BadParameter("radius", "取值 1-500 米 (between 1 and 500 metres)")
    return value


def read_tracks(start: dt.datetime, end: dt.datetime, people: list[Person] | None, role: str | None) -> list:
    try:
        return load_tracks(start, end, person_ids=None if people is None else [p.pk for p in people], role=role,
                           max_fixes=MAX_FIXES)
    except TooManyFixes as exc:
        raise BadParameter("end", f"时段内定位点超过 {exc.limit} 个, 请缩短时段或指定人员 "
                                  f"(more than {exc.limit} fixes: shorten the period or name people)") from None


def served_grids(person_ids: list[int]) -> dict[int, list[str]]:
    """The grid codes each person serves (GridAssignment), for those who serve any."""
    out: dict[int, list[str]] = {}
    for pid, code in (GridAssignment.objects.filter(person_id__in=person_ids)
                      .order_by("grid_code").values_list("person_id", "grid_code")):
        out.setdefault(pid, []).append(code)
    return out


def grids_for(request, level: int | None, urban_only: bool) -> cov.GridSet:
    edition = resolve_edition(request)
    try:
        return cov.grid_set(edition.pk, level=level, urban_only=urban_only)
    except LookupError as exc:
        raise BadParameter("edition", str(exc)) from None


# --- rendering -------------------------------------------------------------------------------


def _cell(value) -> str:
    # A name starting with = + - @ would be run as a formula by Excel (CSV injection).
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_response(header: list[str], rows: list[list], filename: str) -> HttpResponse:
    buf = io.StringIO()
    buf.write("\ufeff")  # BOM: Excel opens UTF-8 Chinese correctly only with it
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    response = HttpResponse(buf.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _stamp(t: dt.datetime) -> str:
    return t.astimezone(TZ).strftime("%Y%m%d-%H%M")


class _PatrolView(APIView):
    permission_classes = [FromMatrix]
    renderer_classes = [JSONRenderer, CSVRenderer]

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except (NotFound, Http404):  # DRF answers an unknown ?format= with 404; a bad parameter
            raise BadParameter("format", "取值 json 或 csv (json or csv)") from None

    def finalize_response(self, request, response, *args, **kwargs):
        # Errors stay JSON even when CSV was asked for.
        if isinstance(response, Response) and isinstance(getattr(request, "accepted_renderer", None), CSVRenderer):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    @staticmethod
    def wants_csv(request) -> bool:
        return isinstance(getattr(request, "accepted_renderer", None), CSVRenderer)


PERIOD_PARAMS = [
    OpenApiParameter("start", str, description="开始时间 ISO-8601 (无时区 = 北京时间)"),
    OpenApiParameter("end", str, description="结束时间 ISO-8601, 不含; 最长 92 天"),
    OpenApiParameter("edition", int, description="版本编号, 默认现行"),
    OpenApiParameter("format", str, enum=["json", "csv"], description="csv: Excel 表格 (UTF-8 BOM)"),
]


class CoverageView(_PatrolView):
    """Patrol coverage (巡查覆盖): per grid visits, time, distance and area share; blind spots; per person."""

    @extend_schema(
        parameters=[
            *PERIOD_PARAMS,
            OpenApiParameter("level", int, enum=[1, 2, 3], description="网格层级, 默认 3"),
            OpenApiParameter("person", str, many=True, description="人员编号或用户名, 可重复"),
            OpenApiParameter("role", str, enum=PERSON_ROLES, description="只看某类人员"),
            OpenApiParameter("urban", int, enum=[0, 1], description="1: 只看城区网格"),
            OpenApiParameter("radius", float, description="覆盖半径(米) 1-500, 默认 30"),
        ],
        operation_id="patrols_coverage",
        responses={(200, "application/json"): CoverageAnswer, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request):
        q = request.query_params
        start, end = parse_period(q)
        level = parse_choice(q, "level", [1, 2, 3], default=3, cast=int)
        role = parse_choice(q, "role", PERSON_ROLES)
        urban = parse_bool(q, "urban")
        radius = parse_radius(q)
        people = scoped_people(request, parse_people(q))
        grids = grids_for(request, level, urban)
        tracks = read_tracks(start, end, people, role)
        result = cov.coverage(tracks, grids, radius_m=radius)
        if people is not None:  # a person asked about who did not patrol still gets a (zero) row
            seen = {p.person_id for p in result.people}
            result.people += [cov.PersonCoverage(p.pk, p.name, p.role, [], 0.0, 0.0, 0, 0, [])
                              for p in people if p.pk not in seen and (role is None or p.role == role)]
        serves = served_grids([p.person_id for p in result.people])
        if serves:
            own = cov.own_grids(tracks, grids_for(request, None, False), serves, radius_m=radius)
            for p in result.people:
                p.own_grids = own.get(p.person_id, [])
        rows = [cov.grid_dict(r) for r in result.grids]
        if self.wants_csv(request):
            return csv_response(
                ["code", "name", "visited", "visitors", "time_s", "distance_m", "share", "first_seen", "last_seen"],
                [[r["code"], _cell(r["name"]), int(r["visited"]), _cell("; ".join(v["name"] for v in r["visitors"])),
                  r["time_s"], r["distance_m"], r["share"], r["first_seen"] or "", r["last_seen"] or ""]
                 for r in rows],
                f"coverage_L{level}_{_stamp(start)}_{_stamp(end)}.csv")
        return Response({
            "period": {"start": cov.iso(start), "end": cov.iso(end)},
            "level": level, "urban_only": urban, "radius_m": radius, "role": role,
            "edition": {"id": grids.edition_id, "name": grids.edition_name},
            "summary": {"grids": len(rows), "visited": len(rows) - len(result.unvisited),
                        "unvisited": len(result.unvisited), "people": len(result.people)},
            "grids": rows,
            "unvisited": result.unvisited,
            "people": [cov.person_dict(p) for p in result.people],
            # A team asked for by role: who of it sent no fix at all in the period.
            "no_fixes": [] if role is None or people is not None else [
                {"person_id": p.pk, "name": p.name, "role": p.role}
                for p in Person.objects.filter(role=role, active=True)
                .exclude(pk__in=[x.person_id for x in result.people]).order_by("name")],
        })


def this_week(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """Monday 00:00 (Asia/Shanghai) of the current week, and now."""
    now = (now or dt.datetime.now(TZ)).astimezone(TZ)
    monday = (now - dt.timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday, now


class ScheduleView(_PatrolView):
    """The inspectors' duty (巡查频次): was every urban level-3 grid visited often enough in each window?"""

    @extend_schema(parameters=PERIOD_PARAMS, operation_id="patrols_schedule",
                   responses={(200, "application/json"): ScheduleAnswer, (200, "text/csv"): OpenApiTypes.STR})
    def get(self, request):
        q = request.query_params
        start, end = parse_period(q, default=this_week())
        cfg = dict(settings.GISGRID_PATROL_SCHEDULE)
        people = scoped_people(request, [])
        grids = grids_for(request, cfg.get("level"), bool(cfg.get("urban_only")))
        tracks = read_tracks(start, end, people, cfg.get("role"))
        rows = cov.schedule(tracks, grids, start, end, cfg)
        windows = cov.windows(start, end, int(cfg["every_days"]))
        if self.wants_csv(request):
            labels = [f"{a.astimezone(TZ):%Y-%m-%d %H:%M}~{b.astimezone(TZ):%Y-%m-%d %H:%M}" for a, b in windows]
            return csv_response(
                ["code", "name", "met", *labels],
                [[r.code, _cell(r.name), int(r.met), *(w.visits for w in r.windows)] for r in rows],
                f"schedule_{_stamp(start)}_{_stamp(end)}.csv")
        met = sum(r.met for r in rows)
        return Response({
            "period": {"start": cov.iso(start), "end": cov.iso(end)},
            "rule": {"role": cfg.get("role"), "level": cfg.get("level"), "urban_only": bool(cfg.get("urban_only")),
                     "every_days": cfg["every_days"], "min_visits": cfg["min_visits"]},
            "edition": {"id": grids.edition_id, "name": grids.edition_name},
            "windows": [{"start": cov.iso(a), "end": cov.iso(b)} for a, b in windows],
            "summary": {"grids": len(rows), "met": met, "unmet": len(rows) - met},
            "grids": [cov.schedule_dict(r) for r in rows],
        })


urlpatterns = [
    path("patrols/coverage", CoverageView.as_view(), name="patrol-coverage"),
    path("patrols/schedule", ScheduleView.as_view(), name="patrol-schedule"),
]
