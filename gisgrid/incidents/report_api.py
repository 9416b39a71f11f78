"""Reports: file one (routed at once by location and matter list), list and read them.

The case workflow (dispatch, clocks, revisit, archive) builds on these rows later; what is here
is the part that depends on the grids: where a report lies and who answers for it.
"""

from __future__ import annotations

import numpy as np
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts.policy import FromMatrix
from gisgrid.api_errors import BadParameter
from gisgrid.boundaries import locate
from gisgrid.boundaries.datums import CRS_CHOICES

from .fields import category_field
from .models import Report
from .reports import can_see_reporter, create_report, readable_reports
from .schema import ReportAnswer


class ReportCreate(serializers.Serializer):
    category = category_field()
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default="wgs84")
    reporter_name = serializers.CharField(max_length=50)
    reporter_phone = serializers.RegexField(r"^[0-9+\-() ]{5,20}$", required=False, allow_blank=True)
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)


def report_dict(r: Report, request) -> dict:
    data = {
        "id": r.pk,
        "created_at": r.created_at.isoformat(),
        "status": r.status,
        "category": {"code": r.category.code, "name": r.category.name},
        "description": r.description,
        "address": r.address,
        "input": {"lon": r.raw_lon, "lat": r.raw_lat, "crs": r.raw_crs},
        "wgs84": [r.point.x, r.point.y],
        "routing": {
            "edition": r.edition_id, "location_status": r.location_status,
            "grids": {"level1": r.level1_code, "level2": r.level2_code, "level3": r.level3_code},
            "lead_unit": {"code": r.lead_unit.code, "name": r.lead_unit.name} if r.lead_unit_id else None,
            "assisting_units": [{"code": u.code, "name": u.name} for u in r.assisting_units.all()],
            "rule": r.routing_rule, "limit_working_days": r.limit_working_days,
        },
    }
    # The reporter's real name is recorded for scoring; name and phone are personal data.
    if can_see_reporter(request.user, r):
        data["reporter"] = {"name": r.reporter_name, "phone": r.reporter_phone}
    return data


class ReportsView(APIView):
    """Reports the caller may read (docs/permissions.md: unit staff their unit's), newest first."""

    permission_classes = [FromMatrix]

    @extend_schema(parameters=[OpenApiParameter("grid", str, description="网格编码前缀 grid code prefix"),
                               OpenApiParameter("status", str, enum=["open", "closed"])],
                   operation_id="reports_list", responses=ReportAnswer(many=True))
    def get(self, request):
        qs = readable_reports(request.user, Report.objects.select_related("category", "lead_unit")
                              .prefetch_related("assisting_units"))
        grid = request.query_params.get("grid")
        if grid:
            if not grid.isdigit() or len(grid) > 15:
                raise BadParameter("grid", "网格编码必须是数字 (a numeric grid code)")
            field = {9: "level1_code", 12: "level2_code", 15: "level3_code"}.get(len(grid))
            if field is None:
                raise BadParameter("grid", "编码长度应为 9、12 或 15 位 (9, 12 or 15 digits)")
            qs = qs.filter(**{field: grid})
        status = request.query_params.get("status")
        if status:
            if status not in Report.Status.values:
                raise BadParameter("status", "只能是 open 或 closed (open or closed)")
            qs = qs.filter(status=status)
        return Response([report_dict(r, request) for r in qs[:500]])

    @extend_schema(operation_id="reports_create", request=ReportCreate, responses={201: ReportAnswer})
    def post(self, request):
        s = ReportCreate(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        category = d["category"]
        try:
            # Bad coordinates are the reporter's mistake (400), checked before anything is stored.
            locate.check_coordinates(np.array([d["lon"]]), np.array([d["lat"]]), d["crs"], "lonlat",
                                     locate.snapshot())
            report = create_report(user=request.user, category=category, lon=d["lon"], lat=d["lat"], crs=d["crs"],
                                   reporter_name=d["reporter_name"], reporter_phone=d.get("reporter_phone", ""),
                                   description=d.get("description", ""), address=d.get("address", ""))
        except locate.LocateInputError as exc:
            raise BadParameter(exc.field, exc.reason) from None
        return Response(report_dict(report, request), status=201)


class ReportDetailView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(operation_id="reports_retrieve", responses=ReportAnswer)
    def get(self, request, pk: int):
        # A report the caller may not read is 404, as if absent: its existence is not theirs either.
        r = get_object_or_404(readable_reports(request.user, Report.objects.select_related("category", "lead_unit")),
                              pk=pk)
        return Response(report_dict(r, request))
