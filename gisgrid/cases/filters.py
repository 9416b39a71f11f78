"""Query filters of the case and work-order lists (django-filter), shared by the API and the pages.

The multiple-choice filters run without DISTINCT: they match columns of the case or of its case
(a forward join, one row each), and DISTINCT made PostgreSQL sort a unit's whole set before the
first page.

Every filter narrows a queryset the caller may already read (`visible_cases`, a unit's work
orders): filters never widen what a role sees. Bad values are a 400 naming the parameter, never
an empty page that looks like "nothing there" (an unknown category or a grid code of the wrong
length is a mistake worth telling).
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.db.models import Case as SqlCase
from django.db.models import IntegerField, Q, QuerySet, Value, When
from django_filters import rest_framework as df
from django_filters.fields import IsoDateTimeField
from rest_framework.exceptions import ValidationError

from gisgrid.boundaries.models import Unit
from gisgrid.incidents.models import Category

from .models import Case, WorkOrder
from .visibility import grid_codes

GRID_LEVEL_BY_LENGTH = {9: 1, 12: 2, 15: 3}
TEXT_MAX = 100
# Queue order "by clock": overdue first, then warned, then running; paused and clockless last.
CLOCK_RANK = {"red": 0, "yellow": 1, "green": 2, "paused": 3, "none": 4}
ORDERINGS = {
    "clock": "最紧急在前：超时、预警、正常，各按时限先后 (most urgent first: red, yellow, green; by due time)",
    "due": "环节时限先后 (by the running stage's deadline)",
    "-reported_at": "最新上报在前 (newest first; the default)",
    "reported_at": "最早上报在前 (oldest first)",
}


def _grid_q(prefix: str, value: str) -> Q:
    if not value.isdigit() or len(value) not in GRID_LEVEL_BY_LENGTH:
        raise forms.ValidationError("网格编码应为 9、12 或 15 位数字 (a grid code of 9, 12 or 15 digits)")
    return Q(**{f"{prefix}level{GRID_LEVEL_BY_LENGTH[len(value)]}_code": value})


def _category_q(field: str, value: str) -> Q:
    # A code or a code prefix: "E05" takes every matter under E05 (the list is a tree of codes).
    # Resolved to ids here (the list is small): a LIKE on the joined category table made
    # PostgreSQL start from the category's cases (thousands) instead of the caller's orders.
    ids = list(Category.objects.filter(code__startswith=value).values_list("id", flat=True))
    if not ids:
        raise forms.ValidationError(f"未知事项编码 (unknown category {value!r})")
    return Q(**{f"{field}_id__in": ids})


def _unit(value: str) -> Unit:
    unit = Unit.objects.filter(code=value).first()
    if unit is None:
        raise forms.ValidationError(f"未知单位编码 (unknown unit {value!r})")
    return unit


def _text_q(value: str, *fields: str) -> Q:
    q = Q()
    for f in fields:
        q |= Q(**{f"{f}__icontains": value})
    return q


def _by_method(fn):
    """Wrap a filter method so a ValidationError it raises names its own parameter."""
    def run(self, queryset, name, value):
        if value in (None, ""):
            return queryset
        try:
            return fn(self, queryset, name, value)
        except forms.ValidationError as exc:
            raise ValidationError({name: exc.messages}) from None
    return run


class _BoundedTimeField(IsoDateTimeField):
    """An ISO time as the other period parameters take it (patrols.params): years 2000–2100,
    compared in UTC. PostgreSQL refuses offsets beyond ±15:59 that Python accepts (the fuzzer's
    `1001-01-16T12:19:50+17:41` was a 500); a year outside the range is a mistake worth a 400."""

    def clean(self, value):
        value = super().clean(value)
        if value is None:
            return None
        if not 2000 <= value.year <= 2100:
            raise forms.ValidationError("年份应在 2000-2100 之间 (year must be within 2000-2100)")
        return value.astimezone(dt.UTC)


class PeriodFilter(df.IsoDateTimeFilter):
    field_class = _BoundedTimeField


class CaseFilter(df.FilterSet):
    state = df.MultipleChoiceFilter(distinct=False, choices=Case.State.choices, help_text="状态，可重复 (state; repeatable)")
    status = df.ChoiceFilter(choices=[("open", "open"), ("closed", "closed")], method="filter_status",
                             help_text="open = 未归档未作废, closed = 已归档或已作废")
    clock = df.MultipleChoiceFilter(distinct=False, choices=Case.Clock.choices, help_text="时限颜色，可重复 (clock colour; repeatable)")
    channel = df.MultipleChoiceFilter(distinct=False, choices=Case.Channel.choices, help_text="来源 (channel; repeatable)")
    severity = df.ChoiceFilter(choices=Category.Severity.choices)
    category = df.CharFilter(method="filter_category", max_length=20, help_text="事项编码或前缀 (category code or prefix)")
    grid = df.CharFilter(method="filter_grid", max_length=15,
                         help_text="任一级网格编码，9/12/15 位 (grid code at any level)")
    unit = df.CharFilter(method="filter_unit", max_length=30,
                         help_text="单位编码：主办、协办或有工单 (unit code: lead, assisting or with a work order)")
    supervised = df.BooleanFilter()
    start = PeriodFilter(field_name="reported_at", lookup_expr="gte", help_text="上报时间起 (reported at or after)")
    end = PeriodFilter(field_name="reported_at", lookup_expr="lt", help_text="上报时间止 (reported before)")
    q = df.CharFilter(method="filter_text", max_length=TEXT_MAX,
                      help_text="编号、描述或地址中的文字 (text in number, description or address)")
    mine = df.BooleanFilter(method="filter_mine", help_text="true: 本人上报的 (the caller's own reports)")
    my_grids = df.BooleanFilter(method="filter_my_grids",
                                help_text="true: 本人所在网格内的 (in the caller's own grids, any level)")
    order = df.ChoiceFilter(choices=list(ORDERINGS.items()), method="filter_order", help_text="排序 (order)")

    class Meta:
        model = Case
        fields: list[str] = []

    @_by_method
    def filter_status(self, qs, name, value):
        return qs.filter(state__in=Case.CLOSED_STATES) if value == "closed" else qs.exclude(state__in=Case.CLOSED_STATES)

    @_by_method
    def filter_category(self, qs, name, value):
        return qs.filter(_category_q("category", value))

    @_by_method
    def filter_grid(self, qs, name, value):
        return qs.filter(_grid_q("report__", value))

    @_by_method
    def filter_unit(self, qs, name, value):
        unit = _unit(value)
        assisted = Case.assisting_units.through.objects.filter(unit_id=unit.pk).values("case_id")
        ordered = WorkOrder.objects.filter(unit_id=unit.pk).values("case_id")
        return qs.filter(Q(lead_unit_id=unit.pk) | Q(pk__in=assisted) | Q(pk__in=ordered))

    @_by_method
    def filter_text(self, qs, name, value):
        value = value.strip()
        return qs.filter(_text_q(value, "number", "report__description", "report__address")) if value else qs

    @_by_method
    def filter_mine(self, qs, name, value):
        user = getattr(self.request, "user", None)
        if not getattr(user, "is_authenticated", False):
            return qs.none() if value else qs
        return qs.filter(reporter_user=user) if value else qs.exclude(reporter_user=user)

    @_by_method
    def filter_my_grids(self, qs, name, value):
        codes = grid_codes(getattr(self.request, "user", None))
        inside = Q(report__level1_code__in=codes) | Q(report__level2_code__in=codes) | Q(report__level3_code__in=codes)
        return qs.filter(inside) if value else qs.exclude(inside)

    @_by_method
    def filter_order(self, qs, name, value):
        return order_cases(qs, value)


def order_cases(qs: QuerySet, order: str) -> QuerySet:
    if order == "clock":
        rank = SqlCase(*(When(clock=k, then=Value(v)) for k, v in CLOCK_RANK.items()), default=Value(9),
                     output_field=IntegerField())
        return qs.annotate(clock_rank=rank).order_by("clock_rank", "stage_due", "reported_at", "id")
    if order == "due":
        return qs.order_by("stage_due", "reported_at", "id")
    if order == "reported_at":
        return qs.order_by("reported_at", "id")
    return qs.order_by("-reported_at", "-id")


class WorkOrderFilter(df.FilterSet):
    state = df.MultipleChoiceFilter(distinct=False, choices=WorkOrder.State.choices, help_text="工单状态，可重复 (repeatable)")
    open = df.BooleanFilter(method="filter_open", help_text="true = 待签收、已签收或已到场 (still to do)")
    role = df.ChoiceFilter(choices=WorkOrder.Role.choices)
    clock = df.MultipleChoiceFilter(distinct=False, field_name="case__clock", choices=Case.Clock.choices,
                                    help_text="案件时限颜色 (the case's clock colour; repeatable)")
    category = df.CharFilter(method="filter_category", max_length=20, help_text="事项编码或前缀")
    grid = df.CharFilter(method="filter_grid", max_length=15, help_text="任一级网格编码 (grid code at any level)")
    unit = df.CharFilter(method="filter_unit", max_length=30, help_text="单位编码 (unit code)")
    start = PeriodFilter(field_name="dispatched_at", lookup_expr="gte", help_text="派遣时间起")
    end = PeriodFilter(field_name="dispatched_at", lookup_expr="lt", help_text="派遣时间止")
    q = df.CharFilter(method="filter_text", max_length=TEXT_MAX, help_text="编号、描述或地址中的文字")

    class Meta:
        model = WorkOrder
        fields: list[str] = []

    @_by_method
    def filter_open(self, qs, name, value):
        return qs.filter(state__in=WorkOrder.OPEN_STATES) if value else qs.exclude(state__in=WorkOrder.OPEN_STATES)

    @_by_method
    def filter_category(self, qs, name, value):
        return qs.filter(_category_q("case__category", value))

    @_by_method
    def filter_grid(self, qs, name, value):
        return qs.filter(_grid_q("case__report__", value))

    @_by_method
    def filter_unit(self, qs, name, value):
        return qs.filter(unit_id=_unit(value).pk)

    @_by_method
    def filter_text(self, qs, name, value):
        value = value.strip()
        return qs.filter(_text_q(value, "case__number", "case__report__description", "case__report__address")) \
            if value else qs
