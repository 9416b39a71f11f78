"""The assessment API under /api/v1/assessment/: scores, entries with evidence, quotas, rules,
recompute, bulletins (list, issue, detail, download) and reports (list, make, detail, download).

Thin views: parameters are parsed here (a 400 naming the field), the rules are in computing,
scores, bulletins and reports. Who may call what is the permission matrix (FromMatrix); a grid
member or inspector ("own") gets their own rows only. No answer carries a phone number.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts import roles
from gisgrid.accounts.policy import FromMatrix
from gisgrid.audit.log import record
from gisgrid.errors import BadRequest, NotFound, Text
from gisgrid.parsers import JSONParser

from . import bulletins, computing, periods, quota, reports, rules, scores
from .models import Bulletin, QuotaWeek, ReportFile, Rule

LEADERS = frozenset({roles.ADMIN, roles.DISPATCHER, roles.GRID_CHIEF})


def sees_all(user) -> bool:
    return roles.has_any_role(user, LEADERS)


def own_person(user):
    return getattr(user, "person", None) if getattr(user, "is_authenticated", False) else None


def period_from(request, *, default_kind: str = "month", allow_running: bool = True) -> periods.Period:
    q = request.query_params if request.method == "GET" else request.data
    if not hasattr(q, "get"):  # a JSON body that is not an object (null, a list, a number)
        raise BadRequest(Text("请求体应为对象", "the body must be an object"), field="kind")
    kind = q.get("kind") or default_kind
    start = q.get("start")
    if not start:
        if kind == "special":
            raise BadRequest(Text("必填", "required"), field="start")
        if kind not in periods.KINDS:
            raise BadRequest(Text("周期类型无效", "unknown period kind"), field="kind")
        return periods.previous(str(kind))
    return periods.parse(str(kind), start, q.get("end"), allow_running=allow_running)


def int_param(q, name: str) -> int | None:
    raw = q.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(str(raw))
    except ValueError:
        raise BadRequest(Text("须为整数", "must be an integer"), field=name) from None
    if not 0 < value < 2**31:
        raise BadRequest(Text("超出范围", "out of range"), field=name)
    return value


PERIOD_PARAMS = [
    OpenApiParameter("kind", str, enum=list(periods.KINDS), description="周期类型 (default month)"),
    OpenApiParameter("start", str, description="起始日期 YYYY-MM-DD（默认上一整期）"),
    OpenApiParameter("end", str, description="截止日期（special 必填）"),
]


# -- answers (the schema's) --------------------------------------------------------------------------

class AssessPeriodOut(serializers.Serializer):
    kind = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    label = serializers.CharField()


class AssessPersonScoreOut(serializers.Serializer):
    rank = serializers.IntegerField()
    person_id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()
    role_label = serializers.CharField()
    unit = serializers.CharField(allow_blank=True)
    score = serializers.FloatField()
    points = serializers.FloatField()
    plus = serializers.FloatField()
    minus = serializers.FloatField()
    entries = serializers.IntegerField()
    by_grid = serializers.DictField(child=serializers.FloatField())
    no_excellent = serializers.BooleanField(help_text="建议替换，当年不能评优")


class AssessRateOut(serializers.Serializer):
    rule = serializers.CharField()
    name = serializers.CharField()
    rate = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField()
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    points = serializers.FloatField()


class AssessUnitScoreOut(serializers.Serializer):
    rank = serializers.IntegerField()
    unit_id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    score = serializers.FloatField()
    points = serializers.FloatField()
    entry_points = serializers.FloatField()
    entries = serializers.IntegerField()
    indicator_points = serializers.FloatField()
    counts = serializers.DictField(child=serializers.IntegerField())
    rates = serializers.DictField(child=AssessRateOut())


class AssessScoresOut(serializers.Serializer):
    period = AssessPeriodOut()
    people = AssessPersonScoreOut(many=True)
    units = AssessUnitScoreOut(many=True)


class AssessEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    at = serializers.DateTimeField()
    from_state = serializers.CharField(allow_blank=True)
    to_state = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    actor = serializers.CharField(allow_blank=True)


class AssessWorkOrderOut(serializers.Serializer):
    id = serializers.IntegerField()
    unit = serializers.CharField()
    role = serializers.CharField()
    round = serializers.IntegerField()
    state = serializers.CharField()
    dispatched_at = serializers.DateTimeField()
    due = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)


class AssessEntryOut(serializers.Serializer):
    id = serializers.IntegerField()
    rule = serializers.CharField()
    rule_name = serializers.CharField()
    points = serializers.FloatField()
    day = serializers.DateField()
    booked = serializers.DateField()
    grid_code = serializers.CharField(allow_blank=True)
    correction = serializers.BooleanField()
    frozen = serializers.BooleanField()
    person_id = serializers.IntegerField(allow_null=True)
    person = serializers.CharField(allow_blank=True)
    unit_id = serializers.IntegerField(allow_null=True)
    unit = serializers.CharField(allow_blank=True)
    case = serializers.CharField(allow_null=True, help_text="案件编号（证据）")
    case_category = serializers.CharField(allow_blank=True)
    event = AssessEventOut(allow_null=True, help_text="办理记录（证据）")
    work_order = AssessWorkOrderOut(allow_null=True, help_text="工单（证据）")
    figure = serializers.DictField(help_text="数据依据（巡查、定额、比率）")


class AssessEntriesOut(serializers.Serializer):
    period = AssessPeriodOut()
    entries = AssessEntryOut(many=True)


class AssessQuotaOut(serializers.Serializer):
    person_id = serializers.IntegerField()
    name = serializers.CharField()
    week_start = serializers.DateField()
    found = serializers.IntegerField()
    required = serializers.IntegerField()
    working_days = serializers.IntegerField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    grid_codes = serializers.ListField(child=serializers.CharField())


class AssessQuotaListOut(serializers.Serializer):
    week_start = serializers.DateField()
    weeks = AssessQuotaOut(many=True)


class AssessRuleOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    subject = serializers.CharField()
    kind = serializers.CharField()
    points = serializers.FloatField()
    threshold = serializers.FloatField(allow_null=True)
    params = serializers.DictField()
    active = serializers.BooleanField()
    description = serializers.CharField(allow_blank=True)


class AssessRuleIn(serializers.Serializer):
    points = serializers.CharField(required=False, help_text="分值（数字）")
    threshold = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="阈值（数字）")
    active = serializers.BooleanField(required=False)


class AssessRecomputeIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(periods.KINDS), required=False)
    start = serializers.CharField(required=False)
    end = serializers.CharField(required=False)


class AssessRecomputeOut(serializers.Serializer):
    kind = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    facts = serializers.IntegerField()
    entries = serializers.IntegerField()
    quota = serializers.DictField(child=serializers.IntegerField())
    patrol = serializers.IntegerField()


class AssessBulletinOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    title = serializers.CharField()
    issued_at = serializers.DateTimeField()
    issued_by = serializers.CharField(allow_blank=True)


class AssessBulletinDetailOut(AssessBulletinOut):
    snapshot = serializers.DictField(help_text="发布时的排名、记分、更正与替换名单（冻结，不再改变）")


class AssessBulletinIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["xun", "week", "month", "year"])
    start = serializers.CharField(help_text="期间内任一日期 YYYY-MM-DD")


class AssessReportOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    title = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    filters = serializers.DictField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    downloads = serializers.DictField(child=serializers.CharField())


class AssessReportDetailOut(AssessReportOut):
    data = serializers.DictField()


class AssessReportIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["day", "week", "month", "special"], required=False)
    start = serializers.CharField()
    end = serializers.CharField(required=False)
    unit = serializers.CharField(required=False, help_text="单位编码")
    grid = serializers.CharField(required=False, help_text="网格编码前缀")
    role = serializers.CharField(required=False, help_text="grid_member、inspector 或 grid_chief")


def period_dict(p: periods.Period) -> dict:
    return {"kind": p.kind, "start": p.start.isoformat(), "end": p.end.isoformat(), "label": p.label}


# -- views -------------------------------------------------------------------------------------------

class ScoresView(APIView):
    """Rankings of people and units for a period; a grid member or inspector: their own row."""

    permission_classes = [FromMatrix]

    @extend_schema(operation_id="assessment_scores", parameters=[
        *PERIOD_PARAMS, OpenApiParameter("role", str, enum=["grid_member", "inspector", "grid_chief"]),
        OpenApiParameter("grid", str, description="网格编码前缀")], responses=AssessScoresOut)
    def get(self, request):
        p = period_from(request)
        f = reports.parse_filters({k: request.query_params.get(k, "") for k in ("role", "grid")})
        if sees_all(request.user):
            people = scores.person_scores(p, role=f.get("role"), grid_prefix=f.get("grid", ""))
            units = scores.unit_scores(p)
        else:
            me = own_person(request.user)
            people = scores.person_scores(p, person_ids=[me.pk]) if me else []
            units = []
        return Response({"period": period_dict(p), "people": people, "units": units})


class EntriesView(APIView):
    """Score entries of a period with their evidence; a grid member or inspector: their own."""

    permission_classes = [FromMatrix]

    @extend_schema(operation_id="assessment_entries", parameters=[
        *PERIOD_PARAMS, OpenApiParameter("person", int), OpenApiParameter("unit", int),
        OpenApiParameter("rule", str)], responses=AssessEntriesOut)
    def get(self, request):
        q = request.query_params
        p = period_from(request)
        person, unit = int_param(q, "person"), int_param(q, "unit")
        rule = (q.get("rule") or "").strip()
        if rule and not Rule.objects.filter(code=rule).exists():
            raise BadRequest(Text(f"没有规则 {rule[:40]}", f"no rule {rule[:40]}"), field="rule")
        if not sees_all(request.user):
            me = own_person(request.user)
            if me is None or (person is not None and person != me.pk) or unit is not None:
                return Response({"period": period_dict(p), "entries": []})
            person = me.pk
        elif person is None and unit is None:
            raise BadRequest(Text("请指定人员或单位", "name a person or a unit"), field="person")
        return Response({"period": period_dict(p), "entries": scores.entries(p, person_id=person, unit_id=unit,
                                                                            rule=rule or None)})


def quota_dict(q: QuotaWeek) -> dict:
    return {"person_id": q.person_id, "name": q.person.name, "week_start": q.week_start.isoformat(),
            "found": q.found, "required": q.required, "working_days": q.working_days, "status": q.status,
            "status_label": str(q.get_status_display()), "grid_codes": q.grid_codes}


class QuotaView(APIView):
    """The weekly quota: this week's count so far (own) or a week's rows (the centre)."""

    permission_classes = [FromMatrix]

    @extend_schema(operation_id="assessment_quota", parameters=[
        OpenApiParameter("week", str, description="该周任一日期（默认上周；本周为截至目前的实时数）"),
        OpenApiParameter("status", str, enum=[s for s, _ in QuotaWeek.Status.choices])], responses=AssessQuotaListOut)
    def get(self, request):
        q = request.query_params
        if q.get("week"):
            day = periods.parse("day", q.get("week")).start
            monday = day - timedelta(days=day.weekday())
        else:
            monday = periods.previous("week").start
        status = (q.get("status") or "").strip()
        if status and status not in QuotaWeek.Status.values:
            raise BadRequest(Text("状态无效", "unknown status"), field="status")
        this_week = periods.period_of("week", periods.today()).start
        if monday == this_week and not sees_all(request.user):
            me = own_person(request.user)
            rows = [quota.live_week(me, monday)] if me else []
            return Response({"week_start": monday.isoformat(),
                             "weeks": [quota_dict(x) for x in rows if not status or x.status == status]})
        qs = QuotaWeek.objects.filter(week_start=monday).select_related("person").order_by("person__name")
        if status:
            qs = qs.filter(status=status)
        if not sees_all(request.user):
            me = own_person(request.user)
            qs = qs.filter(person=me) if me else qs.none()
        return Response({"week_start": monday.isoformat(), "weeks": [quota_dict(x) for x in qs[:2000]]})


def rule_dict(r: Rule) -> dict:
    return {"code": r.code, "name": r.name, "subject": r.subject, "kind": r.kind, "points": float(r.points),
            "threshold": None if r.threshold is None else float(r.threshold), "params": r.params,
            "active": r.active, "description": r.description}


class RulesView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(operation_id="assessment_rules", responses=AssessRuleOut(many=True))
    def get(self, request):
        return Response([rule_dict(r) for r in Rule.objects.all()])


class RuleView(APIView):
    """Change a rule's weight, threshold or switch (the admin); applies at the next recompute."""

    permission_classes = [FromMatrix]
    parser_classes = [JSONParser]

    @extend_schema(operation_id="assessment_rule_update", request=AssessRuleIn, responses=AssessRuleOut)
    def post(self, request, code: str):
        with transaction.atomic():
            r = Rule.objects.select_for_update().filter(code=code).first()
            if r is None:
                raise NotFound(Text("没有该规则", "no such rule"), field="code")
            data = request.data if isinstance(request.data, dict) else {}
            before = rule_dict(r)
            if "points" in data:
                r.points = rules.number(data["points"], "points")
            if "threshold" in data:
                t = data["threshold"]
                r.threshold = None if t in (None, "") else rules.number(t, "threshold")
            if "active" in data:
                if not isinstance(data["active"], bool):
                    raise BadRequest(Text("须为 true 或 false", "true or false"), field="active")
                r.active = data["active"]
            errors = rules.check_rule(r.code, r.kind, r.points, r.threshold, r.params)
            if errors:
                raise BadRequest(Text("规则数值有误", "invalid rule values"), fields=errors)
            r.points = Decimal(r.points)
            r.save()
            record(request.user, "assessment.rule_update", r, before=before, after=rule_dict(r))
        return Response(rule_dict(r))


class RecomputeView(APIView):
    permission_classes = [FromMatrix]
    parser_classes = [JSONParser]

    @extend_schema(operation_id="assessment_recompute", request=AssessRecomputeIn, responses=AssessRecomputeOut)
    def post(self, request):
        p = period_from(request)
        result = computing.recompute(p, actor=request.user)
        return Response(result.as_dict())


def of_kind(request, qs: QuerySet, kinds) -> QuerySet:
    """The list narrowed by `?kind=` (bulletins and reports), a 400 naming it when unknown."""
    kind = request.query_params.get("kind")
    if not kind:
        return qs
    if kind not in kinds:
        raise BadRequest(Text("类型无效", "unknown kind"), field="kind")
    return qs.filter(kind=kind)


class BulletinsView(APIView):
    permission_classes = [FromMatrix]
    parser_classes = [JSONParser]

    @extend_schema(operation_id="assessment_bulletins", parameters=[
        OpenApiParameter("kind", str, enum=["xun", "week", "month", "year"])], responses=AssessBulletinOut(many=True))
    def get(self, request):
        qs = of_kind(request, Bulletin.objects.all(), Bulletin.Kind.values)
        return Response([bulletins.bulletin_dict(b) for b in qs.select_related("issued_by")[:200]])

    @extend_schema(operation_id="assessment_bulletin_issue", request=AssessBulletinIn, responses={201: AssessBulletinOut})
    def post(self, request):
        kind = request.data.get("kind") if isinstance(request.data, dict) else None
        if kind not in bulletins.KIND_LABELS:
            raise BadRequest(Text("类型应为 xun、week、month 或 year", "kind: xun, week, month or year"), field="kind")
        p = periods.parse(kind, request.data.get("start"), allow_running=False)
        b = bulletins.issue(p, request.user)
        return Response(bulletins.bulletin_dict(b), status=201)


class BulletinView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(operation_id="assessment_bulletin", responses=AssessBulletinDetailOut)
    def get(self, request, pk: int):
        b = Bulletin.objects.filter(pk=pk).first()
        if b is None:
            raise NotFound(Text("没有该通报", "no such bulletin"))
        return Response(bulletins.bulletin_dict(b, full=True))


CONTENT_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


def _format(request) -> str:
    # `type`, not `format`: DRF reads ?format= as the choice of its own renderers.
    fmt = request.query_params.get("type") or "pdf"
    if fmt not in CONTENT_TYPES:
        raise BadRequest(Text("文件类型应为 xlsx、pdf 或 csv", "type: xlsx, pdf or csv"), field="type")
    return fmt


def _download(content: bytes, fmt: str, stem: str) -> HttpResponse:
    r = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    r["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return r


class BulletinDownloadView(APIView):
    """The frozen bulletin as XLSX, PDF or CSV (rendered from its snapshot, so always the same)."""

    permission_classes = [FromMatrix]

    @extend_schema(exclude=True)
    def get(self, request, pk: int):
        fmt = _format(request)
        b = Bulletin.objects.filter(pk=pk).first()
        if b is None:
            raise NotFound(Text("没有该通报", "no such bulletin"))
        from . import exports

        make = {"xlsx": exports.xlsx_bytes, "csv": exports.csv_bytes,
                "pdf": lambda t, d: exports.pdf_bytes(t, d, charts=exports.charts_of(d))}[fmt]
        return _download(make(b.title, b.snapshot), fmt, f"bulletin-{b.kind}-{b.start:%Y%m%d}")


class ReportsView(APIView):
    permission_classes = [FromMatrix]
    parser_classes = [JSONParser]

    @extend_schema(operation_id="assessment_reports", parameters=[
        OpenApiParameter("kind", str, enum=["day", "week", "month", "special"])], responses=AssessReportOut(many=True))
    def get(self, request):
        qs = of_kind(request, ReportFile.objects.all(), ReportFile.Kind.values)
        return Response([reports.report_dict(r) for r in qs[:200]])

    @extend_schema(operation_id="assessment_report_create", request=AssessReportIn, responses={201: AssessReportOut})
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        kind = data.get("kind") or "special"
        if kind not in ReportFile.Kind.values:
            raise BadRequest(Text("类型应为 day、week、month 或 special", "kind: day, week, month or special"),
                             field="kind")
        p = periods.parse(kind, data.get("start"), data.get("end"))
        f = reports.parse_filters({k: str(data.get(k) or "") for k in ("unit", "grid", "role")})
        rf = reports.generate(p, filters=f, actor=request.user, announce=False)
        return Response(reports.report_dict(rf), status=201)


class ReportView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(operation_id="assessment_report", responses=AssessReportDetailOut)
    def get(self, request, pk: int):
        rf = ReportFile.objects.filter(pk=pk).first()
        if rf is None:
            raise NotFound(Text("没有该报表", "no such report"))
        return Response(reports.report_dict(rf, full=True))


class ReportDownloadView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(exclude=True)
    def get(self, request, pk: int):
        fmt = _format(request)
        rf = ReportFile.objects.filter(pk=pk).first()
        if rf is None or not getattr(rf, fmt):
            raise NotFound(Text("没有该报表", "no such report"))
        f = getattr(rf, fmt)
        try:
            content = f.read() if f.closed is False else f.open("rb").read()
        except FileNotFoundError:
            raise NotFound(Text("报表文件已丢失", "the report's file is missing")) from None
        finally:
            f.close()
        return _download(content, fmt, f"report-{rf.kind}-{rf.start:%Y%m%d}-{rf.end:%Y%m%d}")


__all__ = ["ScoresView", "EntriesView", "QuotaView", "RulesView", "RuleView", "RecomputeView", "BulletinsView",
           "BulletinView", "BulletinDownloadView", "ReportsView", "ReportView", "ReportDownloadView"]
