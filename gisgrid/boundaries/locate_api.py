"""HTTP face of locate and the gazetteer: parse, call the service, render."""

from __future__ import annotations

import numpy as np
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts.roles import can_see_personal_data
from gisgrid.api_errors import BadParameter

from . import gazetteer, locate
from .api import edition_for, refuse_nul
from .datums import CRS_CHOICES
from .schema import GeocodeAnswer, LocateAnswer, LocateBatchAnswer, LocateBatchRequest


class LocateQuery(serializers.Serializer):
    # Range checks happen in locate.check_coordinates, which can tell a swapped lon/lat.
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default="wgs84")
    tolerance_m = serializers.FloatField(min_value=0, max_value=500, default=20.0)
    edition = serializers.IntegerField(min_value=1, required=False)


class LocateBatch(serializers.Serializer):
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default="wgs84")
    points = serializers.ListField(allow_empty=False)
    tolerance_m = serializers.FloatField(min_value=0, max_value=500, default=20.0)
    details = serializers.BooleanField(default=True)
    edition = serializers.IntegerField(min_value=1, required=False)


def parse_points(raw: list, limit: int) -> np.ndarray:
    if len(raw) > limit:
        raise BadParameter("points", f"最多 {limit} 个点 (at most {limit} points, got {len(raw)})")
    # numpy would read true/false as 1/0 and "110.1" as a number: accept real numbers only.
    for i, p in enumerate(raw):
        if not isinstance(p, list | tuple) or any(isinstance(v, bool) or not isinstance(v, int | float) for v in p):
            raise BadParameter("points", f"每个点必须是 [lon, lat] 数值对 (point at index {i} must be [lon, lat] numbers)")
    try:
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond any float
        raise BadParameter("points", "每个点必须是 [lon, lat] 数值对 (each point must be [lon, lat] numbers)") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise BadParameter("points", "每个点必须是 [lon, lat] (each point must be a pair [lon, lat])")
    return arr


def run_locate(request, lons, lats, crs: str, tolerance: float, edition: int | None, details: bool = True,
               field: str = "points"):
    """locate() for an HTTP request: phones by role, input errors as 400 naming the field."""
    if edition is not None:
        edition_for(request, edition)  # a draft is not for anonymous eyes (404 as if absent)
    try:
        return locate.locate(lons, lats, crs, tolerance_m=tolerance, show_phones=can_see_personal_data(request.user),
                             edition_id=edition, details=details, field=field)
    except locate.LocateInputError as exc:
        raise BadParameter(exc.field, exc.reason) from None
    except LookupError as exc:
        raise BadParameter("edition", str(exc)) from None


class LocateView(APIView):
    """Which grids own a point: grid chain, responsible unit, staff, near-boundary candidates."""

    @extend_schema(
        parameters=[
            OpenApiParameter("lon", float, required=True, description="经度 longitude"),
            OpenApiParameter("lat", float, required=True, description="纬度 latitude"),
            OpenApiParameter("crs", str, enum=list(CRS_CHOICES), description="坐标系, 默认 wgs84"),
            OpenApiParameter("tolerance_m", float, description="临界距离(米), 默认 20"),
            OpenApiParameter("edition", int, description="版本编号, 默认现行"),
        ],
        operation_id="locate_point",
        responses=LocateAnswer,
    )
    def get(self, request):
        q = LocateQuery(data=request.query_params)
        q.is_valid(raise_exception=True)
        d = q.validated_data
        _, answers = run_locate(request, [d["lon"]], [d["lat"]], d["crs"], d["tolerance_m"], d.get("edition"), field="lonlat")
        return Response(answers[0])

    @extend_schema(
        operation_id="locate_batch",
        request=LocateBatchRequest,
        responses=LocateBatchAnswer,
        examples=[OpenApiExample("GCJ-02", value={"crs": "gcj02", "points": [[110.1504, 35.2381]]})],
    )
    def post(self, request):
        if not isinstance(request.data, dict):
            raise BadParameter("body", "需要 JSON 对象 (a JSON object is expected)")
        q = LocateBatch(data=request.data)
        q.is_valid(raise_exception=True)
        d = q.validated_data
        from django.conf import settings

        pts = parse_points(d["points"], settings.GISGRID_LOCATE_MAX_POINTS)
        snap, answers = run_locate(request, pts[:, 0], pts[:, 1], d["crs"], d["tolerance_m"], d.get("edition"), d["details"])
        return Response({"edition": {"id": snap.edition_id, "name": snap.edition_name}, "count": len(answers),
                         "results": answers})


class GeocodeView(APIView):
    """Find compounds, streets, villages and communities by name, alias or fragment."""

    @extend_schema(
        parameters=[OpenApiParameter("q", str, required=True, description="地名或片段, e.g. 泰山社区"),
                    OpenApiParameter("limit", int, description="最多返回条数 1-50, 默认 10")],
        operation_id="geocode",
        responses=GeocodeAnswer,
    )
    def get(self, request):
        q = refuse_nul("q", (request.query_params.get("q") or "").strip())
        if not q:
            raise BadParameter("q", "查询词不能为空 (the query must not be empty)")
        if len(q) > gazetteer.MAX_QUERY_LENGTH:
            raise BadParameter("q", f"查询词过长 (at most {gazetteer.MAX_QUERY_LENGTH} characters)")
        try:
            limit = int(request.query_params.get("limit", 10))
        except ValueError:
            raise BadParameter("limit", "必须是整数 (must be an integer)") from None
        if not 1 <= limit <= 50:
            raise BadParameter("limit", "取值 1-50 (between 1 and 50)")
        places = gazetteer.search_places(q, limit)
        if places:
            pts = np.array([p["point"] for p in places])
            _, answers = run_locate(request, pts[:, 0], pts[:, 1], "wgs84", 20.0, None, details=False)
            for p, a in zip(places, answers, strict=True):
                p["status"] = a["status"]
                p["grids"] = a["grids"]
        return Response({"query": q, "count": len(places), "results": places})
