from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts.policy import FromMatrix
from gisgrid.api_errors import BadParameter
from gisgrid.boundaries.datums import CRS_CHOICES
from gisgrid.boundaries.gazetteer import MAX_QUERY_LENGTH, search_places
from gisgrid.boundaries.locate_api import run_locate

from .fields import category_field
from .models import Category
from .routing import route, routing_dict
from .schema import RouteAnswer


class CategorySerializer(serializers.ModelSerializer):
    parent_code = serializers.CharField(source="parent.code", default=None, allow_null=True)
    lead_unit = serializers.CharField(source="lead_unit.name", default=None, allow_null=True)
    assisting_units = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    limit_working_days = serializers.IntegerField()
    severity_label = serializers.CharField(source="get_severity_display")
    rule_label = serializers.CharField(source="get_rule_display")

    class Meta:
        model = Category
        fields = ["code", "name", "parent_code", "standard_class", "severity", "severity_label",
                  "limit_working_days", "rule", "rule_label", "lead_unit", "assisting_units", "description"]


class CategoryListView(APIView):
    """The matter list (事项清单)."""

    permission_classes = [FromMatrix]

    @extend_schema(operation_id="categories_list", responses=CategorySerializer(many=True))
    def get(self, request):
        qs = Category.objects.filter(active=True).select_related("parent", "lead_unit").prefetch_related("assisting_units")
        return Response(CategorySerializer(qs, many=True).data)


class RouteQuery(serializers.Serializer):
    # Either a point or a typed/spoken address (a hotline call often has only the latter).
    lon = serializers.FloatField(required=False)
    lat = serializers.FloatField(required=False)
    address = serializers.CharField(required=False, max_length=MAX_QUERY_LENGTH)
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default="wgs84")
    tolerance_m = serializers.FloatField(min_value=0, max_value=500, default=20.0)
    edition = serializers.IntegerField(min_value=1, required=False)
    category = category_field()

    def validate(self, data):
        has_point = "lon" in data and "lat" in data
        if not has_point and not data.get("address"):
            raise serializers.ValidationError({"lon": ["需要 lon+lat 或 address (give lon and lat, or address)"]})
        return data


class RouteView(APIView):
    """route(point or address, category): lead unit, assisting units, staff to notify, time limit, and why."""

    permission_classes = [FromMatrix]

    @extend_schema(
        parameters=[OpenApiParameter("lon", float), OpenApiParameter("lat", float),
                    OpenApiParameter("address", str, description="地址/地名, 代替坐标 (instead of lon/lat)"),
                    OpenApiParameter("crs", str, enum=list(CRS_CHOICES)),
                    OpenApiParameter("category", str, required=True, description="事项编码, e.g. E0501"),
                    OpenApiParameter("tolerance_m", float, description="临界距离(米) 0-500, 默认 20"),
                    OpenApiParameter("edition", int, description="版本编号, 默认现行")],
        operation_id="route",
        responses=RouteAnswer,
    )
    def get(self, request):
        q = RouteQuery(data=request.query_params)
        q.is_valid(raise_exception=True)
        d = q.validated_data
        category = d["category"]
        geocoded = None
        if "lon" in d and "lat" in d:
            lon, lat, crs = d["lon"], d["lat"], d["crs"]
        else:
            places = search_places(d["address"], 1)
            if not places:
                raise BadParameter("address", f"找不到地址 (no place matches {d['address']!r})")
            geocoded = places[0]
            (lon, lat), crs = geocoded["point"], "wgs84"
        _, answers = run_locate(request, [lon], [lat], crs, d["tolerance_m"], d.get("edition"), field="lonlat")
        body = routing_dict(route(answers[0], category), answers[0])
        if geocoded is not None:
            body["geocoded"] = geocoded
        return Response(body)
