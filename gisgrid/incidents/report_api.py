"""Reports: file one (routed at once by location and matter list), list and read them.

The case workflow (dispatch, clocks, revisit, archive) builds on these rows later; what is here
is the part that depends on the grids: where a report lies and who answers for it.

The list is filtered by django-filter (`ReportFilter`) over the reports the caller may read
(reports.readable_reports): a filter narrows that set, never widens it, and every bad filter
value is a 400 naming its parameter.
"""

from __future__ import annotations

import datetime as dt

import django_filters
import numpy as np
from django import forms
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts import roles
from gisgrid.accounts.policy import FromMatrix
from gisgrid.api_errors import BadParameter
from gisgrid.boundaries import locate
from gisgrid.boundaries.datums import CRS_CHOICES
from gisgrid.boundaries.models import Unit
from gisgrid.renderers import OrjsonRenderer

from .fields import category_field
from .models import Category, Report
from .reports import can_see_reporter, create_report, readable_reports
from .schema import ReportAnswer

MAX_LIST = 500
GRID_LEVEL_FIELDS = {9: "level1_code", 12: "level2_code", 15: "level3_code"}
# Report times are bounded like the patrol API's query times: a year outside overflows when moved
# between zones, and no report was filed before the system existed.
YEARS = (2000, 2100)


class Coordinate(serializers.FloatField):
    """A number or numeric text; JSON true/false are a client's bug, not 1 and 0 (a report at
    lon 1.0 would be filed, routed outside the county, and stored)."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class ReportCreate(serializers.Serializer):
    category = category_field()
    lon = Coordinate()
    lat = Coordinate()
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


# -- the list's filters -------------------------------------------------------------------------

def searches_reporters(user) -> bool:
    """Whether `text` also matches the reporter's name and phone for `user`: only for those who
    see the reporter of every report they read (the centre, the chiefs, a unit's staff on their
    unit's reports). Anyone else could otherwise find out who reported what by searching."""
    return roles.has_any_role(user, roles.REPORTER_ROLES) or bool(roles.report_units(user))


def in_category(qs: QuerySet, category: Category) -> QuerySet:
    """Reports of `category`, or of any of its sub-categories when it is a class (E05 → E0501…)."""
    return qs.filter(Q(category=category) | Q(category__parent=category))


def routed_to(qs: QuerySet, unit: Unit) -> QuerySet:
    """Reports `unit` leads or assists with; a subquery, so a report is listed once."""
    assisted = Report.assisting_units.through.objects.filter(unit_id=unit.pk).values("report_id")
    return qs.filter(Q(lead_unit=unit) | Q(pk__in=assisted))


def in_grid(qs: QuerySet, code: str) -> QuerySet:
    """Reports routed into grid `code` at its level (9 digits a town, 12 a community, 15 a grid)."""
    return qs.filter(**{GRID_LEVEL_FIELDS[len(code)]: code})


def matching_text(qs: QuerySet, text: str, user) -> QuerySet:
    """Reports whose description, address or category name holds `text` (reporters: see
    searches_reporters)."""
    q = Q(description__icontains=text) | Q(address__icontains=text) | Q(category__name__icontains=text)
    if searches_reporters(user):
        q |= Q(reporter_name__icontains=text) | Q(reporter_phone__icontains=text)
    return qs.filter(q)


class ReportFilterForm(forms.Form):
    """Each bad value an error on its own parameter (rendered as a 400 naming it)."""

    def clean_grid(self) -> str:
        code = self.cleaned_data.get("grid") or ""
        if code and not (code.isascii() and code.isdigit()):
            raise forms.ValidationError("网格编码必须是数字 (a numeric grid code)")
        if code and len(code) not in GRID_LEVEL_FIELDS:
            raise forms.ValidationError("编码长度应为 9、12 或 15 位 (9, 12 or 15 digits)")
        return code

    def clean_category(self) -> Category | None:
        code = self.cleaned_data.get("category")
        if not code:
            return None
        # Inactive categories too: old reports keep the category they were filed under.
        category = Category.objects.filter(code=code).first()
        if category is None:
            raise forms.ValidationError(f"未知事项编码 (unknown category {code!r})")
        return category

    def clean_unit(self) -> Unit | None:
        code = self.cleaned_data.get("unit")
        if not code:
            return None
        unit = Unit.objects.filter(code=code).first()
        if unit is None:
            raise forms.ValidationError(f"未知单位编码 (unknown unit {code!r})")
        return unit

    def _bounded(self, name: str) -> dt.datetime | None:
        value = self.cleaned_data.get(name)
        if value is not None and not YEARS[0] <= value.year <= YEARS[1]:
            raise forms.ValidationError(f"年份应在 {YEARS[0]}-{YEARS[1]} 之间 "
                                        f"(the year must be between {YEARS[0]} and {YEARS[1]})")
        return value

    def clean_created_after(self) -> dt.datetime | None:
        return self._bounded("created_after")

    def clean_created_before(self) -> dt.datetime | None:
        return self._bounded("created_before")

    def clean(self) -> dict:
        data = super().clean()
        after, before = data.get("created_after"), data.get("created_before")
        if after is not None and before is not None and before <= after:
            self.add_error("created_before", "必须晚于 created_after (must be later than created_after)")
        return data


class ReportFilter(django_filters.FilterSet):
    """GET /reports filters; all optional, combined with AND."""

    status = django_filters.ChoiceFilter(choices=Report.Status.choices, help_text="办理状态 open | closed")
    category = django_filters.CharFilter(method="_category", max_length=20,
                                         help_text="事项编码; 大类含其小类 (a class such as E05 includes E0501…)")
    grid = django_filters.CharFilter(method="_grid", max_length=15,
                                     help_text="网格编码, 任一层级 (9, 12 or 15 digits: town, community, grid)")
    unit = django_filters.CharFilter(method="_unit", max_length=40,
                                     help_text="单位编码: 主办或协办 (a unit code, leading or assisting, e.g. D-CGJ)")
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte",
        help_text="上报时间不早于 (ISO-8601, inclusive; no offset = Asia/Shanghai)")
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt",
        help_text="上报时间早于 (ISO-8601, exclusive; later than created_after)")
    text = django_filters.CharFilter(method="_text", max_length=100,
                                     help_text="详情、地址或事项名称含此文字 (text in description, address, category "
                                               "name; reporter name and phone for roles that see reporters)")

    class Meta:
        model = Report
        fields: list[str] = []
        form = ReportFilterForm

    def _category(self, qs: QuerySet, name: str, value: Category) -> QuerySet:
        return in_category(qs, value)

    def _grid(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return in_grid(qs, value)

    def _unit(self, qs: QuerySet, name: str, value: Unit) -> QuerySet:
        return routed_to(qs, value)

    def _text(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return matching_text(qs, value, self.request.user)


# -- views --------------------------------------------------------------------------------------

class ReportViewMixin:
    """JSON whatever the caller accepts, and 405 for a method the view has not: before the
    permission check, so nobody is told to sign in for a method that never exists."""

    permission_classes = [FromMatrix]
    renderer_classes = [OrjsonRenderer]

    def initial(self, request, *args, **kwargs):
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    def perform_content_negotiation(self, request, force=False):
        # The API answers JSON only; an Accept naming anything else gets JSON all the same
        # rather than a 406 that would hide the real answer.
        renderer = self.get_renderers()[0]
        return renderer, renderer.media_type


def _reports() -> QuerySet:
    return Report.objects.select_related("category", "lead_unit").prefetch_related("assisting_units")


class ReportsView(ReportViewMixin, GenericAPIView):
    """Reports the caller may read (docs/permissions.md: unit staff their unit's), newest first."""

    queryset = Report.objects.all()
    serializer_class = ReportAnswer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ReportFilter
    pagination_class = None

    def get_queryset(self) -> QuerySet:
        return readable_reports(self.request.user, _reports())

    @extend_schema(operation_id="reports_list", responses=ReportAnswer(many=True),
                   description=f"Newest first, at most {MAX_LIST}.")
    def get(self, request):
        qs = self.filter_queryset(self.get_queryset())
        return Response([report_dict(r, request) for r in qs[:MAX_LIST]])

    @extend_schema(operation_id="reports_create", request=ReportCreate, responses={201: ReportAnswer})
    def post(self, request):
        if not isinstance(request.data, dict):
            raise BadParameter("body", "需要 JSON 对象 (a JSON object is expected)")
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


class ReportDetailView(ReportViewMixin, APIView):
    @extend_schema(operation_id="reports_retrieve", responses=ReportAnswer)
    def get(self, request, pk: int):
        # A report the caller may not read is 404, as if absent: its existence is not theirs either.
        r = get_object_or_404(readable_reports(request.user, _reports()), pk=pk)
        return Response(report_dict(r, request))
