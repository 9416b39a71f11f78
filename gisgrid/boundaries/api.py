"""Read API over grids and editions. Thin: parse, call a service, render."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts.policy import FromMatrix
from gisgrid.api_errors import BadParameter

from . import display, editions, exporting
from .models import Edition, Grid
from .schema import CountyFeatureCollection, GridFeatureCollection
from .serializers import GridDetailSerializer


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    parts = text.split(",")
    if len(parts) != 4:
        raise BadParameter("bbox", "需要4个数: minlon,minlat,maxlon,maxlat (expected 4 numbers)")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise BadParameter("bbox", "必须是数字 (must be numbers)") from None
    if any(v != v for v in (minx, miny, maxx, maxy)):
        raise BadParameter("bbox", "不能为 NaN (NaN not allowed)")
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise BadParameter("bbox", "经纬度超出范围 (out of range)")
    if minx > maxx or miny > maxy:
        raise BadParameter("bbox", "最小值大于最大值 (min greater than max)")
    return minx, miny, maxx, maxy


def refuse_nul(field: str, value: str) -> str:
    """PostgreSQL text cannot hold NUL: such a value is refused before it reaches a query."""
    if "\x00" in value:
        raise BadParameter(field, "不能含 NUL 字符 (must not contain NUL characters)")
    return value


def visible_editions(user):
    """Drafts are planning work in progress: only signed-in users see them; the public sees
    the active edition and the retired ones (history)."""
    qs = Edition.objects.all()
    return qs if getattr(user, "is_authenticated", False) else qs.exclude(status=Edition.Status.DRAFT)


def edition_for(request, pk: int) -> Edition:
    return get_object_or_404(visible_editions(request.user), pk=pk)


def resolve_edition(request) -> Edition:
    """The edition a request reads: `?edition=ID`, else the active one."""
    raw = request.query_params.get("edition")
    if raw:
        try:
            pk = int(raw)
        except ValueError:
            raise BadParameter("edition", "必须是版本编号 (must be an edition id)") from None
        return edition_for(request, pk)
    edition = editions.active_edition()
    if edition is None:
        raise BadParameter("edition", "尚无现行版本，请先导入网格 (no active edition; load a dataset first)")
    return edition


class GridListQuery(serializers.Serializer):
    level = serializers.ChoiceField(choices=[1, 2, 3], required=False,
                                    error_messages={"invalid_choice": "层级只能是 1、2、3 (level must be 1, 2 or 3)"})
    bbox = serializers.CharField(required=False)
    simplify = serializers.FloatField(required=False, min_value=0, max_value=1000, default=0)
    edition = serializers.IntegerField(required=False, min_value=1)


class GridListView(APIView):
    """All grids of a level as a GeoJSON FeatureCollection."""

    permission_classes = [FromMatrix]

    @extend_schema(
        parameters=[
            OpenApiParameter("level", int, enum=[1, 2, 3], description="网格层级 grid level"),
            OpenApiParameter("bbox", str, description="minlon,minlat,maxlon,maxlat (WGS-84)"),
            OpenApiParameter("simplify", float, description="显示用简化容差(米) display simplification, metres"),
            OpenApiParameter("edition", int, description="版本编号, 默认现行 edition id (default: active)"),
        ],
        operation_id="grids_list",
        responses=GridFeatureCollection,
    )
    def get(self, request):
        query = GridListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        bbox = parse_bbox(query.validated_data.get("bbox"))
        edition = resolve_edition(request)
        level = query.validated_data.get("level")
        fc = display.grids_feature_collection(edition, int(level) if level else None, bbox,
                                              query.validated_data["simplify"])
        return Response(fc)


class GridDetailView(APIView):
    """One grid with its chain, children, unit and staff (phones only for roles that need them)."""

    permission_classes = [FromMatrix]

    @extend_schema(
        parameters=[OpenApiParameter("edition", int, description="版本编号, 默认现行")],
        operation_id="grids_retrieve",
        responses=GridDetailSerializer,
    )
    def get(self, request, code: str):
        refuse_nul("code", code)
        edition = resolve_edition(request)
        grid = get_object_or_404(Grid.objects.select_related("parent", "unit", "edition"), edition=edition, code=code)
        return Response(GridDetailSerializer(grid, context={"request": request}).data)


class CountyView(APIView):
    """The county outline of an edition as a one-feature FeatureCollection."""

    permission_classes = [FromMatrix]

    @extend_schema(parameters=[OpenApiParameter("edition", int, description="版本编号, 默认现行")],
                   operation_id="county_retrieve", responses=CountyFeatureCollection)
    def get(self, request):
        edition = resolve_edition(request)
        return Response({"type": "FeatureCollection", "features": [exporting.county_feature(edition)]})
