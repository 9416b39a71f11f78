"""HTTP face of patrol coverage and the inspectors' schedule: parse, check scope, call, render.

The rules live in coverage.py (measuring) and coverage_rows.py (what a question answers: zero
rows, own grids, who sent nothing); this module only turns query strings into arguments (every
bad value a 400 naming its field), decides whose tracks the caller may see, and renders JSON or
CSV, times in the county's zone (gisgrid.county_time).
"""

from __future__ import annotations

import csv
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
from gisgrid.boundaries.models import Person
from gisgrid.county_time import iso, minutes, stamp, this_week

from . import coverage as cov
from .coverage_rows import CoverageReport, ScheduleReport, patrol_coverage, patrol_schedule
from .params import parse_bool, parse_choice, parse_people, parse_period, scoped_people
from .schema import CoverageAnswer, ScheduleAnswer

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
        report = patrol_coverage(start, end, edition_id=resolve_edition(request).pk, level=level, urban_only=urban,
                                 role=role, people=people, radius_m=radius, max_fixes=MAX_FIXES)
        if self.wants_csv(request):
            return coverage_csv(report)
        return Response(coverage_json(report))


def coverage_json(report: CoverageReport) -> dict:
    """schema.CoverageAnswer."""
    result, grids = report.result, report.grids
    n_grids, n_unvisited = len(result.grids), len(result.unvisited)
    return {
        "period": {"start": iso(report.start), "end": iso(report.end)},
        "level": report.level, "urban_only": report.urban_only, "radius_m": report.radius_m, "role": report.role,
        "edition": {"id": grids.edition_id, "name": grids.edition_name},
        "summary": {"grids": n_grids, "visited": n_grids - n_unvisited, "unvisited": n_unvisited,
                    "people": len(result.people)},
        "grids": [cov.grid_dict(r) for r in result.grids],
        "unvisited": result.unvisited,
        "people": [cov.person_dict(p) for p in result.people],
        "no_fixes": [{"person_id": p.person_id, "name": p.name, "role": p.role} for p in report.no_fixes],
    }


def coverage_csv(report: CoverageReport) -> HttpResponse:
    rows = [cov.grid_dict(r) for r in report.result.grids]
    return csv_response(
        ["code", "name", "visited", "visitors", "time_s", "distance_m", "share", "first_seen", "last_seen"],
        [[r["code"], _cell(r["name"]), int(r["visited"]), _cell("; ".join(v["name"] for v in r["visitors"])),
          r["time_s"], r["distance_m"], r["share"], r["first_seen"] or "", r["last_seen"] or ""]
         for r in rows],
        f"coverage_L{report.level}_{stamp(report.start)}_{stamp(report.end)}.csv")


class ScheduleView(_PatrolView):
    """The inspectors' duty (巡查频次): was every urban level-3 grid visited often enough in each window?"""

    @extend_schema(parameters=PERIOD_PARAMS, operation_id="patrols_schedule",
                   responses={(200, "application/json"): ScheduleAnswer, (200, "text/csv"): OpenApiTypes.STR})
    def get(self, request):
        q = request.query_params
        start, end = parse_period(q, default=this_week())
        people = scoped_people(request, [])
        report = patrol_schedule(start, end, edition_id=resolve_edition(request).pk, people=people,
                                 max_fixes=MAX_FIXES)
        if self.wants_csv(request):
            return schedule_csv(report)
        return Response(schedule_json(report))


def schedule_json(report: ScheduleReport) -> dict:
    """schema.ScheduleAnswer."""
    cfg, rows = report.rule, report.rows
    met = sum(r.met for r in rows)
    return {
        "period": {"start": iso(report.start), "end": iso(report.end)},
        "rule": {"role": cfg.get("role"), "level": cfg.get("level"), "urban_only": bool(cfg.get("urban_only")),
                 "every_days": cfg["every_days"], "min_visits": cfg["min_visits"]},
        "edition": {"id": report.grids.edition_id, "name": report.grids.edition_name},
        "windows": [{"start": iso(a), "end": iso(b)} for a, b in report.windows],
        "summary": {"grids": len(rows), "met": met, "unmet": len(rows) - met},
        "grids": [cov.schedule_dict(r) for r in rows],
    }


def schedule_csv(report: ScheduleReport) -> HttpResponse:
    labels = [f"{minutes(a)}~{minutes(b)}" for a, b in report.windows]
    return csv_response(
        ["code", "name", "met", *labels],
        [[r.code, _cell(r.name), int(r.met), *(w.visits for w in r.windows)] for r in report.rows],
        f"schedule_{stamp(report.start)}_{stamp(report.end)}.csv")


urlpatterns = [
    path("patrols/coverage", CoverageView.as_view(), name="patrol-coverage"),
    path("patrols/schedule", ScheduleView.as_view(), name="patrol-schedule"),
]
