from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.boundaries.locate_api import LocateQuery, run_locate

from .models import Category
from .routing import route, routing_dict


class CategorySerializer(serializers.ModelSerializer):
    parent_code = serializers.CharField(source="parent.code", default=None)
    lead_unit = serializers.CharField(source="lead_unit.name", default=None)
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

    @extend_schema(responses=CategorySerializer(many=True))
    def get(self, request):
        qs = Category.objects.filter(active=True).select_related("parent", "lead_unit").prefetch_related("assisting_units")
        return Response(CategorySerializer(qs, many=True).data)


class RouteQuery(LocateQuery):
    category = serializers.CharField(max_length=20)


class RouteView(APIView):
    """route(point, category): lead unit, assisting units, staff to notify, time limit, and why."""

    @extend_schema(
        parameters=[OpenApiParameter("lon", float, required=True), OpenApiParameter("lat", float, required=True),
                    OpenApiParameter("crs", str), OpenApiParameter("category", str, required=True,
                                                                    description="事项编码, e.g. E0501")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        q = RouteQuery(data=request.query_params)
        q.is_valid(raise_exception=True)
        d = q.validated_data
        category = Category.objects.filter(code=d["category"], active=True).first()
        if category is None:
            from gisgrid.api_errors import BadParameter

            raise BadParameter("category", f"未知事项编码 unknown category {d['category']!r}")
        _, answers = run_locate(request, [d["lon"]], [d["lat"]], d["crs"], d["tolerance_m"], d.get("edition"), field="lonlat")
        return Response(routing_dict(route(answers[0], category), answers[0]))

