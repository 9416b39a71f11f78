"""GET /api/v1/cases/stats (the dashboard's figures) and GET /api/v1/cases/points (the map's cases).

Thin views: the list's own filters (gisgrid/cases/filters.py `CaseFilter`: period, state, clock,
category, grid, unit, ...) narrow `visible_cases(user)`, then gisgrid/cases/stats.py computes.
A unit's staff and grid members get figures over the cases they may read, nothing more.
"""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from gisgrid.accounts.policy import FromMatrix
from gisgrid.api_errors import BadParameter
from gisgrid.county_time import iso, now

from . import stats
from .filters import CaseFilter
from .models import Case
from .visibility import visible_cases


def _choice(request, name: str, options: dict, default):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    if raw not in options:
        raise BadParameter(name, f"须为 {'、'.join(options)} 之一 (one of {', '.join(options)})")
    return options[raw]


# -- answers (the schema's) ------------------------------------------------------------------------

class CountOut(serializers.Serializer):
    code = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True)
    count = serializers.IntegerField()


class StateCountOut(serializers.Serializer):
    state = serializers.ChoiceField(choices=Case.State.choices)
    name = serializers.CharField()
    count = serializers.IntegerField()


class OnTimeOut(serializers.Serializer):
    period = serializers.DateField(help_text="县时区的日或周一 (county-time day, or the Monday of the week)")
    completed = serializers.IntegerField()
    on_time = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class OverdueOut(serializers.Serializer):
    number = serializers.CharField()
    state = serializers.ChoiceField(choices=Case.State.choices)
    stage = serializers.ChoiceField(choices=Case.Stage.choices)
    category = serializers.CharField()
    category_name = serializers.CharField()
    address = serializers.CharField(allow_blank=True)
    grid = serializers.CharField(allow_blank=True)
    lead_unit = serializers.CharField(allow_null=True)
    supervised = serializers.BooleanField()
    stage_due = serializers.DateTimeField(allow_null=True)
    overdue_s = serializers.IntegerField(allow_null=True, help_text="超时秒数 (seconds past the deadline)")


class SummaryOut(serializers.Serializer):
    total = serializers.IntegerField()
    open = serializers.IntegerField()
    closed = serializers.IntegerField()
    red = serializers.IntegerField()
    yellow = serializers.IntegerField()
    paused = serializers.IntegerField()
    supervised = serializers.IntegerField()


class StatsAnswer(serializers.Serializer):
    at = serializers.DateTimeField()
    summary = SummaryOut()
    by_state = StateCountOut(many=True)
    by_category = CountOut(many=True)
    by_town = CountOut(many=True, help_text="一级网格（镇街） level-1 grids (towns)")
    by_grid = CountOut(many=True, help_text="`level` 级网格 grids of the asked level, for the choropleth")
    level = serializers.IntegerField()
    bucket = serializers.ChoiceField(choices=[(b, b) for b in stats.BUCKETS])
    on_time = OnTimeOut(many=True)
    overdue_count = serializers.IntegerField()
    overdue = OverdueOut(many=True)


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}], "nullable": True})
class PointValue(serializers.Field):
    pass


class PointsAnswer(serializers.Serializer):
    count = serializers.IntegerField(help_text="符合条件的案件数 (matching cases)")
    truncated = serializers.BooleanField(help_text=f"多于 {stats.MAX_POINTS} 件时只给前面的")
    fields = serializers.ListField(child=serializers.CharField(), help_text="每行各列的名称 (the columns of a row)")
    rows = serializers.ListField(child=serializers.ListField(child=PointValue()),
                                 help_text="每件一行，按 fields 的顺序；时间为 epoch 秒 (times in epoch seconds)")


STATS_PARAMS = [
    OpenApiParameter("level", OpenApiTypes.INT, enum=[1, 2, 3], description="by_grid 的网格层级，默认 1"),
    OpenApiParameter("bucket", OpenApiTypes.STR, enum=list(stats.BUCKETS),
                     description="按时率的统计粒度：day 或 week（默认 day）"),
]


class _Filtered(GenericAPIView):
    permission_classes = [FromMatrix]
    filter_backends = [DjangoFilterBackend]
    filterset_class = CaseFilter
    queryset = Case.objects.none()  # the schema's; each request reads visible_cases(user)
    pagination_class = None

    def cases(self, request):
        return self.filter_queryset(visible_cases(request.user))


class CaseStatsView(_Filtered):
    """案件统计: counts by state, category, town and grid; on-time rate; the overdue list."""

    @extend_schema(operation_id="cases_stats", parameters=STATS_PARAMS, filters=True, responses=StatsAnswer)
    def get(self, request):
        level = _choice(request, "level", {"1": 1, "2": 2, "3": 3}, 1)
        bucket = _choice(request, "bucket", {b: b for b in stats.BUCKETS}, "day")
        at = now()
        data = stats.case_stats(self.cases(request), level=level, bucket=bucket, now=at)
        return Response({"at": iso(at), **data})


class CasePointsView(_Filtered):
    """案件点位: every matching case as one compact row (number, position, clock, state, ...)."""

    @extend_schema(operation_id="cases_points", filters=True, responses=PointsAnswer)
    def get(self, request):
        count, rows = stats.points(self.cases(request))
        return Response({"count": count, "truncated": count > len(rows), "fields": list(stats.POINT_FIELDS),
                         "rows": rows})
