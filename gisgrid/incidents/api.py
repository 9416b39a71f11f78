from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts.policy import FromMatrix
from gisgrid.accounts.roles import can_see_personal_data
from gisgrid.boundaries.api import edition_for
from gisgrid.boundaries.datums import CRS_CHOICES
from gisgrid.boundaries.gazetteer import MAX_QUERY_LENGTH
from gisgrid.boundaries.locate_api import answer_json

from .fields import category_field
from .models import Category
from .routing import RoutedPlace, route_place
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
    # Either a point or a typed/spoken address: routing.route_place decides which (and refuses neither).
    lon = serializers.FloatField(required=False)
    lat = serializers.FloatField(required=False)
    address = serializers.CharField(required=False, max_length=MAX_QUERY_LENGTH)
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default="wgs84")
    tolerance_m = serializers.FloatField(min_value=0, max_value=500, default=20.0)
    edition = serializers.IntegerField(min_value=1, required=False)
    category = category_field()


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
        if d.get("edition") is not None:
            edition_for(request, d["edition"])  # a draft is not for anonymous eyes (404 as if absent)
        point = (d["lon"], d["lat"]) if "lon" in d and "lat" in d else None
        routed = route_place(d["category"], point=point, crs=d["crs"], address=d.get("address"),
                             tolerance_m=d["tolerance_m"], edition_id=d.get("edition"))
        return Response(route_json(routed, show_phones=can_see_personal_data(request.user)))


def route_json(routed: RoutedPlace, *, show_phones: bool) -> dict:
    """schema.RouteAnswer: the decision, the staff to notify and the location it was decided on."""
    r = routed.routing
    location = answer_json(routed.location, show_phones=show_phones)

    def unit(u):
        return {"code": u.code, "name": u.name} if u else None

    body = {
        "category": {"code": r.category.code, "name": r.category.name, "severity": r.category.severity},
        "limit_working_days": r.limit_working_days,
        "rule": r.rule,
        "reason": r.reason,
        "lead_unit": unit(r.lead_unit),
        "assisting_units": [unit(u) for u in r.assisting_units],
        "notify": location.get("staff", []),
        "location": location,
    }
    if routed.geocoded is not None:
        body["geocoded"] = routed.geocoded
    return body
