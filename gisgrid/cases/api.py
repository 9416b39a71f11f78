"""The case API under /api/v1/: lists and queues, one case, one POST per transition, photos,
work orders, the inbox, duplicates, and the hotline desk's intake.

Views are thin: they parse the request with the serializers of gisgrid/cases/schema.py, call the
workflow functions (gisgrid/cases/workflow.py) that check role, unit, version and state, and
answer the case as the caller may see it. Who may call which endpoint is the permission matrix
(gisgrid/accounts/policy.py, `FromMatrix`); which cases a caller reads is `visible_cases`.

A transition is looked up among all cases, not only the visible ones: a unit's staff acting on
another unit's case get the workflow's 403 ("not dispatched to your unit"), as the matrix says,
while reading such a case is a 404 (its existence is not theirs to learn).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Count, Prefetch, Q, QuerySet, Window
from django.http import FileResponse, Http404
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts import roles
from gisgrid.accounts.policy import FromMatrix
from gisgrid.api_errors import BadParameter
from gisgrid.boundaries import locate
from gisgrid.boundaries.gazetteer import search_places
from gisgrid.boundaries.models import Unit
from gisgrid.errors import NotFound, Text
from gisgrid.incidents.reports import create_report
from gisgrid.parsers import JSONParser

from . import notices, photos, schema, workflow
from .duplicates import suggest_for
from .filters import CaseFilter, WorkOrderFilter, order_cases
from .models import Case, CaseEvent, Extension, Photo, WorkOrder
from .visibility import visible_cases

PAGE_SIZE = 20
MAX_PAGE_SIZE = 200
PARSERS = [JSONParser, MultiPartParser, FormParser]


# -- who sees what on a case ---------------------------------------------------------------------

def is_staff(user) -> bool:
    """Signed in with a role: sees staff names, photo originals and EXIF positions."""
    return bool(roles.user_roles(user) & set(roles.ALL_ROLES))


def sees_reporter(user, case: Case) -> bool:
    """The reporter's name and phone (docs/permissions.md, personal data): the centre and the
    chiefs on every case, a unit's staff on the cases their unit works on."""
    if roles.has_any_role(user, roles.REPORTER_ROLES):
        return True
    units = roles.report_units(user)
    if not units:
        return False
    if case.lead_unit_id in units or case.report.lead_unit_id in units:
        return True
    return any(u.pk in units for u in case.assisting_units.all()) or \
        any(o.unit_id in units for o in case.work_orders.all())


def _code_name(unit: Unit | None) -> dict | None:
    return {"code": unit.code, "name": unit.name} if unit is not None else None


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def case_row(case: Case) -> dict:
    r = case.report
    return {
        "number": case.number,
        "state": case.state,
        "version": case.version,
        "channel": case.channel,
        "category": {"code": case.category.code, "name": case.category.name, "severity": case.category.severity},
        "severity": case.severity,
        "round": case.round,
        "address": r.address,
        "description": r.description[:200],
        "wgs84": [r.point.x, r.point.y],
        "grid": r.grid_code,
        "lead_unit": _code_name(case.lead_unit),
        "clock": case.clock,
        "stage": case.stage,
        "stage_due": _iso(case.stage_due),
        "supervised": case.supervised,
        "paused": case.paused,
        "outside": case.outside,
        "duplicate_of": case.duplicate_of.number if case.duplicate_of_id else None,
        "reported_at": case.reported_at.isoformat(),
    }


def row_queryset(qs: QuerySet) -> QuerySet:
    return qs.select_related("category", "report", "lead_unit", "duplicate_of")


def photo_url(photo: Photo, variant: str, *, token: str | None = None) -> str:
    if token is not None:
        return reverse("case-public-photo", args=[token, photo.pk, variant])
    return reverse("case-photo", args=[photo.case.number, photo.pk, variant])


def photo_dict(photo: Photo, *, staff: bool, token: str | None = None) -> dict:
    out = {"id": photo.pk, "stage": photo.stage, "content_type": photo.content_type, "width": photo.width,
           "height": photo.height, "at": photo.at.isoformat(),
           "thumbnail": photo_url(photo, "thumbnail", token=token), "public": photo_url(photo, "public", token=token)}
    if staff:
        out["original"] = photo_url(photo, "original")
        out["exif"] = ({"lon": photo.exif_lon, "lat": photo.exif_lat, "distance_m": photo.exif_distance_m,
                        "flagged": photos.flagged(photo)} if photo.exif_lon is not None else None)
    return out


def _work_order(o: WorkOrder, *, staff: bool) -> dict:
    out = {"id": o.pk, "unit": _code_name(o.unit), "role": o.role, "round": o.round, "work_state": o.state,
           "dispatched_at": o.dispatched_at.isoformat(), "ack_due": _iso(o.ack_due),
           "acknowledged_at": _iso(o.acknowledged_at), "on_site_due": _iso(o.on_site_due),
           "on_site_at": _iso(o.on_site_at), "due": _iso(o.due), "completed_at": _iso(o.completed_at),
           "result_text": o.result_text, "return_reason": o.return_reason if staff else ""}
    if staff:
        out["document"] = ({"url": reverse("workorder-document", args=[o.pk]),
                            "name": o.signed_document.name.rsplit("/", 1)[-1]} if o.signed_document else None)
    return out


def _event(e: CaseEvent, *, staff: bool) -> dict:
    out = {"at": e.at.isoformat(), "action": e.action, "from_state": e.from_state, "to_state": e.to_state,
           "reason": e.reason if staff or e.action in PUBLIC_REASONS else "", "version": e.version}
    if staff:
        out["actor"] = e.actor_name or None
    return out


# Reasons the public reads on their own case: why it was voided or merged (staff decisions
# about the report itself); a unit's return or a pause reason is internal.
PUBLIC_REASONS = frozenset({"void", "merge"})


def detail_queryset() -> QuerySet:
    return (Case.objects.select_related("category", "report", "report__lead_unit", "report__edition", "lead_unit",
                                        "duplicate_of")
            .prefetch_related("assisting_units", "report__assisting_units",
                              Prefetch("work_orders", queryset=WorkOrder.objects.select_related("unit")
                                       .order_by("round", "role", "id")),
                              Prefetch("extensions", queryset=Extension.objects.select_related("work_order__unit")),
                              Prefetch("events", queryset=CaseEvent.objects.order_by("at", "id")),
                              Prefetch("photos", queryset=Photo.objects.order_by("at", "id"))))


def case_dict(case: Case, user, *, public_token: str | None = None) -> dict:
    """The case as `user` may see it; with `public_token`, as the public sees their own case."""
    staff = public_token is None and is_staff(user)
    r = case.report
    data = case_row(case)
    data.update({
        "input": {"lon": r.raw_lon, "lat": r.raw_lat, "crs": r.raw_crs},
        "description": r.description,
        "routing": {
            "edition": r.edition_id, "location_status": r.location_status,
            "grids": {"level1": r.level1_code, "level2": r.level2_code, "level3": r.level3_code},
            "rule": r.routing_rule if staff else "",
            "lead_unit": _code_name(r.lead_unit), "assisting_units": [_code_name(u) for u in r.assisting_units.all()],
        },
        "units": {"lead": _code_name(case.lead_unit), "assisting": [_code_name(u) for u in case.assisting_units.all()]},
        "clock_detail": {
            "stage": case.stage, "clock": case.clock, "stage_started": _iso(case.stage_started),
            "stage_due": _iso(case.stage_due), "dispatch_due": _iso(case.dispatch_due),
            "complete_due": _iso(case.complete_due),
            "limit_working_days": workflow.clocks.working_days_for(case.severity),
            "extended_days": case.extended_days, "paused": case.paused, "paused_since": _iso(case.paused_since),
            "paused_seconds": case.paused_seconds, "calendar_fallback": case.calendar_fallback,
        },
        "supervised_reason": case.supervised_reason if staff else "",
        "pause_reason": case.pause_reason if staff else "",
        "void_reason": case.void_reason,
        "result_text": case.result_text,
        "satisfied": case.satisfied,
        "times": {k: _iso(getattr(case, k)) for k in ("accepted_at", "dispatched_at", "acknowledged_at", "on_site_at",
                                                       "completed_at", "verified_at", "archived_at", "voided_at")},
        "work_orders": [_work_order(o, staff=staff) for o in case.work_orders.all()],
        "extensions": [{"id": x.pk, "days": x.days, "reason": x.reason if staff else "", "decision": x.state,
                        "requested_at": x.requested_at.isoformat(), "decided_at": _iso(x.decided_at),
                        "decision_reason": x.decision_reason if staff else "",
                        "unit": _code_name(x.work_order.unit) if x.work_order_id else None}
                       for x in case.extensions.all()],
        "timeline": [_event(e, staff=staff) for e in case.events.all()],
        "photos": [photo_dict(p, staff=staff, token=public_token) for p in case.photos.all()],
        "allowed_actions": workflow.allowed_actions(case, user) if staff else [],
    })
    if staff and sees_reporter(user, case):
        data["reporter"] = {"name": r.reporter_name, "phone": r.reporter_phone}
    return data


# -- paging --------------------------------------------------------------------------------------

def _int_param(request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(name, "须为整数 (an integer)") from None
    if not lo <= value <= hi:
        raise BadParameter(name, f"须在 {lo} 到 {hi} 之间 (between {lo} and {hi})")
    return value


def paginate(request, qs: QuerySet) -> tuple[dict, list]:
    page = _int_param(request, "page", 1, 1, 100_000)
    size = _int_param(request, "page_size", PAGE_SIZE, 1, MAX_PAGE_SIZE)
    count = qs.count()
    items = list(qs[(page - 1) * size:page * size])
    return {"count": count, "page": page, "page_size": size}, items


WORK_ORDER_RELATED = ("unit", "case", "case__category", "case__report", "case__lead_unit", "case__duplicate_of")


def paginate_open_first(request, qs: QuerySet) -> tuple[dict, list]:
    """A work-order page: the open orders first, then the finished ones, each by deadline.

    Two queries rather than one ORDER BY on "is it open": sorting on an expression made
    PostgreSQL read and sort every order of the unit (a year: tens of thousands) for each page,
    while the open part alone walks the partial index `workorder_unit_open` in page order.
    When `open=` has already chosen one part (the queues ask for open orders), the page's ids
    and the count come from ONE query (a window count): a filter on the case (clock, category,
    grid, text) joins every matching order to its case and report, and doing that twice, once to
    count and once to page, was most of the page's time."""
    page = _int_param(request, "page", 1, 1, 100_000)
    size = _int_param(request, "page_size", PAGE_SIZE, 1, MAX_PAGE_SIZE)
    order = ("due", "dispatched_at", "id")
    start = (page - 1) * size
    only = request.query_params.get("open", "").lower()
    if only in ("true", "1", "false", "0"):
        found = list(qs.order_by(*order).annotate(total=Window(Count("id"))).values_list("id", "total")
                     [start:start + size])
        ids = [i for i, _ in found]
        # A page past the end has no row to carry the count.
        count = found[0][1] if found else (qs.order_by().count() if start else 0)
        return {"count": count, "page": page, "page_size": size}, _work_order_rows(qs, ids)
    is_open = Q(state__in=WorkOrder.OPEN_STATES)
    open_qs, done_qs = qs.filter(is_open).order_by(*order), qs.exclude(is_open).order_by(*order)
    counts = qs.order_by().aggregate(all=Count("id"), open=Count("id", filter=is_open))
    open_count, done_count = counts["open"], counts["all"] - counts["open"]
    # The page's ids first, from the orders (and only the joins the filters need), then its
    # rows with everything shown: joining the case, report, category and units before the
    # LIMIT made PostgreSQL join every open order of the unit and plan an eight-table join.
    ids = list(open_qs.values_list("id", flat=True)[start:start + size]) if start < open_count else []
    if len(ids) < size and done_count:
        skip = max(0, start - open_count)
        ids += list(done_qs.values_list("id", flat=True)[skip:skip + size - len(ids)])
    return {"count": open_count + done_count, "page": page, "page_size": size}, _work_order_rows(qs, ids)


def _work_order_rows(qs: QuerySet, ids: list[int]) -> list:
    if not ids:
        return []
    rows = qs.model.objects.filter(id__in=ids).select_related(*WORK_ORDER_RELATED).order_by().in_bulk()
    return [rows[i] for i in ids]


PAGE_PARAMS = [OpenApiParameter("page", int, description="页码，从 1 起 (page, from 1)"),
               OpenApiParameter("page_size", int, description=f"每页条数，最多 {MAX_PAGE_SIZE} (default {PAGE_SIZE})")]


# -- filing: grid members, inspectors, the hotline desk ---------------------------------------------

def reporter_of(user) -> tuple[str, str]:
    """The real name (and phone) of a signed-in reporter, from their account or linked person."""
    person = getattr(user, "person", None)
    name = (getattr(person, "name", "") or user.get_full_name() or user.get_username())[:50]
    return name, (getattr(person, "phone", "") or "")[:20]


def file_case(*, user, category, lon: float, lat: float, crs: str, reporter_name: str, reporter_phone: str,
              description: str = "", address: str = "", channel: str | None = None, uploads=()) -> Case:
    """Report -> routed -> case -> photos, all or nothing (photos are checked before anything is
    stored; files of a failed transaction are deleted)."""
    prepared = photos.read_uploads(list(uploads))
    try:
        locate.check_coordinates(np.array([lon]), np.array([lat]), crs, "lonlat", locate.snapshot())
    except locate.LocateInputError as exc:
        raise BadParameter(exc.field, exc.reason) from None
    with photos.cleanup_on_failure() as written, transaction.atomic():
        report = create_report(user=user, category=category, lon=lon, lat=lat, crs=crs, reporter_name=reporter_name,
                               reporter_phone=reporter_phone, description=description, address=address,
                               channel=channel)
        case = Case.objects.filter(report=report).select_related("report").first()
        if case is None:  # no receiver connected to report_created (e.g. a test without the app's ready())
            case = workflow.open_case(report, channel, user)
        if prepared:
            photos.store(case, prepared, stage=Photo.Stage.REPORT, user=user, written=written)
    return case


class CasesView(GenericAPIView):
    """案件列表 (filters, pages) and filing a report from the field (multipart with photos)."""

    permission_classes = [FromMatrix]
    parser_classes = PARSERS
    filter_backends = [DjangoFilterBackend]
    filterset_class = CaseFilter
    queryset = Case.objects.none()  # the schema's; each request reads visible_cases(user)
    pagination_class = None

    @extend_schema(operation_id="cases_list", parameters=PAGE_PARAMS, filters=True, responses=schema.CasePage)
    def get(self, request):
        qs = self.filter_queryset(row_queryset(visible_cases(request.user)))
        if not request.query_params.get("order"):
            qs = order_cases(qs, "-reported_at")
        meta, items = paginate(request, qs)
        return Response({**meta, "results": [case_row(c) for c in items]})

    @extend_schema(operation_id="cases_create", request={"multipart/form-data": schema.CaseCreateIn,
                                                         "application/json": schema.CaseCreateIn},
                   responses={201: schema.CaseDetail})
    def post(self, request):
        s = schema.CaseCreateIn(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        name, phone = reporter_of(request.user)
        case = file_case(user=request.user, category=d["category"], lon=d["lon"], lat=d["lat"], crs=d["crs"],
                         reporter_name=name, reporter_phone=phone, description=d.get("description", ""),
                         address=d.get("address", ""), uploads=d.get("photos") or [])
        return Response(case_dict(detail_queryset().get(pk=case.pk), request.user), status=201)


class HotlineView(APIView):
    """热线受理: the desk types the caller, the matter and a spoken address (or a point)."""

    permission_classes = [FromMatrix]
    parser_classes = PARSERS

    @extend_schema(operation_id="cases_hotline", request={"application/json": schema.HotlineIn,
                                                          "multipart/form-data": schema.HotlineIn},
                   responses={201: schema.CaseDetail})
    def post(self, request):
        s = schema.HotlineIn(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        address = (d.get("address") or "").strip()
        if d.get("lon") is not None:
            lon, lat, crs = d["lon"], d["lat"], d["crs"]
        else:
            try:
                places = search_places(address, 1)
            except ValueError:
                places = []
            if not places:
                raise BadParameter("address", f"地名库中找不到该地址 (no place matches {address!r})")
            (lon, lat), crs = places[0]["point"], "wgs84"
        case = file_case(user=request.user, category=d["category"], lon=lon, lat=lat, crs=crs,
                         reporter_name=d["caller_name"], reporter_phone=d["caller_phone"],
                         description=d.get("description", ""), address=address, channel=Case.Channel.HOTLINE,
                         uploads=d.get("photos") or [])
        return Response(case_dict(detail_queryset().get(pk=case.pk), request.user), status=201)


# -- one case --------------------------------------------------------------------------------------

def visible_case(user, number: str) -> Case:
    case = detail_queryset().filter(pk__in=visible_cases(user).filter(number=number).values("pk")).first()
    if case is None:
        raise NotFound(Text("案件不存在或不可见", "no such case, or not yours to see"))
    return case


def any_case(number: str) -> Case:
    if not isinstance(number, str) or len(number) > 20 or "\x00" in number:
        raise NotFound(Text("案件不存在", "no such case"))
    case = Case.objects.filter(number=number).only("pk").first()
    if case is None:
        raise NotFound(Text("案件不存在", "no such case"))
    return case


class CaseDetailView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(operation_id="cases_retrieve", responses=schema.CaseDetail)
    def get(self, request, number: str):
        return Response(case_dict(visible_case(request.user, number), request.user))


class PublicCaseView(APIView):
    """The public's own case, by the token they got when filing (Open311 `token`)."""

    permission_classes = [FromMatrix]

    @extend_schema(operation_id="cases_public_retrieve", responses=schema.CaseDetail)
    def get(self, request, token: str):
        case = detail_queryset().filter(public_token=token).first() if len(token) <= 40 and "\x00" not in token \
            else None
        if case is None:
            raise NotFound(Text("案件不存在", "no such case"))
        return Response(case_dict(case, request.user, public_token=token))


# -- transitions -----------------------------------------------------------------------------------

def _unit_by_code(code: str | None, field: str = "unit") -> Unit | None:
    if not code:
        return None
    unit = Unit.objects.filter(code=code).first()
    if unit is None:
        raise BadParameter(field, f"未知单位编码 (unknown unit {code!r})")
    return unit


def _accept(case, user, d, request):
    assisting = d.get("assisting_units")
    return workflow.accept(case, user, version=d["version"], severity=d.get("severity"),
                           lead_unit=_unit_by_code(d.get("lead_unit"), "lead_unit"),
                           assisting_units=None if assisting is None else
                           [_unit_by_code(c, "assisting_units") for c in assisting])


def _complete(case, user, d, request):
    prepared = photos.read_uploads(d.get("photos") or [], already=_photo_count(case, Photo.Stage.COMPLETION))
    with photos.cleanup_on_failure() as written, transaction.atomic():
        case = workflow.complete(case, user, version=d["version"], result_text=d["result_text"],
                                 unit=_unit_by_code(d.get("unit")), document=d.get("document"))
        if d.get("document") is not None:  # written by complete(); deleted too if the photos fail
            order = (case.work_orders.filter(round=case.round, state=WorkOrder.State.COMPLETED)
                     .exclude(signed_document="").order_by("-completed_at", "-id").first())
            if order is not None:
                written.append(order.signed_document.name)
        photos.store(case, prepared, stage=Photo.Stage.COMPLETION, user=user, written=written)
    return case


def _verify(case, user, d, request):
    prepared = photos.read_uploads(d.get("photos") or [], already=_photo_count(case, Photo.Stage.VERIFICATION))
    with photos.cleanup_on_failure() as written, transaction.atomic():
        case = workflow.verify(case, user, version=d["version"], satisfied=d["satisfied"], reason=d.get("reason", ""))
        photos.store(case, prepared, stage=Photo.Stage.VERIFICATION, user=user, written=written)
    return case


def _photo_count(case: Case, stage: str) -> int:
    return Photo.objects.filter(case_id=case.pk, stage=stage).count()


def _extension(case, user, d, request):
    workflow.request_extension(case, user, version=d["version"], days=d["days"], reason=d["reason"],
                               unit=_unit_by_code(d.get("unit")))
    return case


def _merge(case, user, d, request):
    into = Case.objects.filter(number=d["into"]).first()
    if into is None:
        raise BadParameter("into", f"案件不存在 (no case {d['into']!r})")
    return workflow.merge(case, into, user, version=d["version"])


# action (URL segment) -> (URL name, request serializer, call, summary)
TRANSITIONS: dict[str, tuple[str, type[serializers.Serializer], Callable[..., Any], str]] = {
    "accept": ("case-accept", schema.AcceptIn, _accept, "立案 accept (severity, units)"),
    "dispatch": ("case-dispatch", schema.VersionIn,
                 lambda c, u, d, r: workflow.dispatch(c, u, version=d["version"]), "派遣 dispatch"),
    "acknowledge": ("case-acknowledge", schema.UnitIn,
                    lambda c, u, d, r: workflow.acknowledge(c, u, version=d["version"],
                                                            unit=_unit_by_code(d.get("unit"))), "签收 acknowledge"),
    "arrive": ("case-arrive", schema.UnitIn,
               lambda c, u, d, r: workflow.arrive(c, u, version=d["version"], unit=_unit_by_code(d.get("unit"))),
               "到场 on site"),
    "complete": ("case-complete", schema.CompleteIn, _complete, "处置完毕 complete (result, document, photos)"),
    "verify": ("case-verify", schema.VerifyIn, _verify, "核查 verify (satisfied or not; photos)"),
    "archive": ("case-archive", schema.VersionIn,
                lambda c, u, d, r: workflow.archive(c, u, version=d["version"]), "归档 archive"),
    "send-back": ("case-send-back", schema.ReasonIn,
                  lambda c, u, d, r: workflow.send_back(c, u, version=d["version"], reason=d["reason"]),
                  "返工 send back for rework"),
    "return": ("case-return", schema.ReturnIn,
               lambda c, u, d, r: workflow.return_to_centre(c, u, version=d["version"], reason=d["reason"],
                                                            unit=_unit_by_code(d.get("unit"))),
               "退回指挥中心 return to the centre"),
    "extension": ("case-extension", schema.ExtensionIn, _extension, "申请延期 request an extension"),
    "supervise": ("case-supervise", schema.SuperviseIn,
                  lambda c, u, d, r: workflow.supervise(c, u, version=d["version"], reason=d.get("reason", ""),
                                                        active=d["active"]), "督办 supervise"),
    "void": ("case-void", schema.ReasonIn,
             lambda c, u, d, r: workflow.void(c, u, version=d["version"], reason=d["reason"]), "作废 void"),
    "pause": ("case-pause", schema.ReasonIn,
              lambda c, u, d, r: workflow.pause(c, u, version=d["version"], reason=d["reason"]), "挂账 pause"),
    "resume": ("case-resume", schema.VersionIn,
               lambda c, u, d, r: workflow.resume(c, u, version=d["version"]), "恢复 resume"),
    "merge": ("case-merge", schema.MergeIn, _merge, "合并重复案件 merge into another case"),
}
MULTIPART_ACTIONS = frozenset({"complete", "verify"})


class TransitionView(APIView):
    """POST cases/{number}/{action} with {"version": n, ...}: one transition of the loop."""

    permission_classes = [FromMatrix]
    parser_classes = PARSERS
    action = ""

    def post(self, request, number: str):
        _, serializer_class, call, _ = TRANSITIONS[self.action]
        s = serializer_class(data=request.data)
        case = any_case(number)  # 404 before 400: a body is judged against an existing case
        s.is_valid(raise_exception=True)
        call(case, request.user, s.validated_data, request)
        return Response(case_dict(detail_queryset().get(pk=case.pk), request.user))


def transition_view(action: str):
    name, serializer_class, _, summary = TRANSITIONS[action]
    request_body = ({"multipart/form-data": serializer_class, "application/json": serializer_class}
                    if action in MULTIPART_ACTIONS else {"application/json": serializer_class,
                                                         "multipart/form-data": serializer_class})
    def post(self, request, number: str):  # a function of its own: extend_schema annotates it
        return TransitionView.post(self, request, number)

    op = "cases_" + action.replace("-", "_")
    cls = type(f"Case{action.title().replace('-', '')}View", (TransitionView,), {
        "action": action,
        "__doc__": f"POST cases/{{number}}/{action}: {summary}.",
        "post": extend_schema(operation_id=op, summary=summary, request=request_body,
                              responses=schema.CaseDetail)(post),
    })
    return cls.as_view()


class ExtensionDecideView(APIView):
    permission_classes = [FromMatrix]
    parser_classes = PARSERS

    @extend_schema(operation_id="cases_extension_decide", summary="审批延期 decide an extension request",
                   request=schema.DecideIn, responses=schema.CaseDetail)
    def post(self, request, number: str, pk: int):
        case = any_case(number)
        ext = Extension.objects.filter(pk=pk, case_id=case.pk).first()
        if ext is None:
            raise NotFound(Text("延期申请不存在", "no such extension request"))
        s = schema.DecideIn(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        workflow.decide_extension(ext, request.user, version=d["version"], approve=d["approve"],
                                  reason=d.get("reason", ""))
        return Response(case_dict(detail_queryset().get(pk=case.pk), request.user))


# -- duplicates --------------------------------------------------------------------------------------

class DuplicatesView(APIView):
    """Likely duplicates of a case: same matter, within 100 m, open or closed in the last 7 days."""

    permission_classes = [FromMatrix]

    @extend_schema(operation_id="cases_duplicates", responses=schema.DuplicatesOut)
    def get(self, request, number: str):
        case = visible_case(request.user, number)
        out = []
        for other in suggest_for(case).select_related("category", "report")[:20]:
            d = getattr(other, "distance_m", None)
            if d is None:
                d = photos.distance_m(case.report.point.x, case.report.point.y, other.report.point.x,
                                      other.report.point.y)
            out.append({"number": other.number, "state": other.state,
                        "category": {"code": other.category.code, "name": other.category.name,
                                     "severity": other.category.severity},
                        "distance_m": round(float(d), 1), "reported_at": other.reported_at.isoformat(),
                        "address": other.report.address, "description": other.report.description[:200]})
        return Response({"number": case.number, "suggestions": out})


# -- photos and documents (binary; described in docs/cases-api.md, not in the OpenAPI schema) -----

def _file_response(f, content_type: str, *, filename: str | None = None):
    try:
        handle = f.open("rb")
    except (FileNotFoundError, OSError, ValueError):
        raise Http404 from None
    response = FileResponse(handle, content_type=content_type, as_attachment=filename is not None,
                            filename=filename or "")
    # Photos of a case are personal data: never in a shared cache.
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _photo(case: Case, pk: int, variant: str, *, staff: bool):
    if variant not in photos.VARIANTS or (variant == "original" and not staff):
        raise NotFound(Text("没有这种照片版本", "no such photo variant"))
    photo = Photo.objects.filter(pk=pk, case_id=case.pk).first()
    if photo is None:
        raise NotFound(Text("照片不存在", "no such photo"))
    f, content_type = photos.variant_file(photo, variant)
    return _file_response(f, content_type)


class PhotoView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(exclude=True)
    def get(self, request, number: str, pk: int, variant: str):
        case = visible_case(request.user, number)
        return _photo(case, pk, variant, staff=is_staff(request.user))


class PublicPhotoView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(exclude=True)
    def get(self, request, token: str, pk: int, variant: str):
        case = Case.objects.filter(public_token=token).first() if len(token) <= 40 and "\x00" not in token else None
        if case is None:
            raise NotFound(Text("案件不存在", "no such case"))
        return _photo(case, pk, variant, staff=False)


class WorkOrderDocumentView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(exclude=True)
    def get(self, request, pk: int):
        order = WorkOrder.objects.filter(pk=pk, case__in=visible_cases(request.user)).first()
        if order is None or not order.signed_document:
            raise NotFound(Text("没有签章回复", "no signed document"))
        return _file_response(order.signed_document, "application/octet-stream",
                              filename=order.signed_document.name.rsplit("/", 1)[-1])


# -- work orders ---------------------------------------------------------------------------------------

def visible_work_orders(user) -> QuerySet:
    """The centre: every work order; a unit's staff: their unit's; nobody else any."""
    qs = WorkOrder.objects.all()
    if workflow.is_centre(user) or roles.has_any_role(user, {roles.GRID_CHIEF}):
        return qs
    units = roles.report_units(user)
    return qs.filter(unit_id__in=units) if units else qs.none()


class WorkOrdersView(GenericAPIView):
    """A unit's work orders (its own; the centre sees all and filters by unit): the open ones
    first, by their completion deadline."""

    permission_classes = [FromMatrix]
    filter_backends = [DjangoFilterBackend]
    filterset_class = WorkOrderFilter
    queryset = WorkOrder.objects.none()
    pagination_class = None

    @extend_schema(operation_id="workorders_list", parameters=PAGE_PARAMS, filters=True,
                   responses=schema.WorkOrderPage)
    def get(self, request):
        meta, items = paginate_open_first(request, self.filter_queryset(visible_work_orders(request.user)))
        return Response({**meta, "results": [{**_work_order(o, staff=True), "case": case_row(o.case)}
                                             for o in items]})


# -- the inbox -------------------------------------------------------------------------------------------

class InboxView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(operation_id="inbox_list", parameters=[*PAGE_PARAMS, OpenApiParameter(
        "unread", bool, description="true: 只看未读 (unread only)")], responses=schema.NoticePage)
    def get(self, request):
        unread_only = request.query_params.get("unread", "").lower()
        if unread_only not in ("", "true", "false", "1", "0"):
            raise BadParameter("unread", "须为 true 或 false (true or false)")
        qs = notices.unread(request.user) if unread_only in ("true", "1") else notices.inbox(request.user)
        meta, items = paginate(request, qs.order_by("-created_at", "-id"))
        return Response({**meta, "unread": notices.unread_count(request.user), "results": [
            {"id": n.pk, "kind": n.kind, "subject": n.subject, "body": n.body,
             "case": n.case.number if n.case_id else None, "created_at": n.created_at.isoformat(),
             "read": notices.is_read(n, request.user)} for n in items]})


class InboxReadView(APIView):
    permission_classes = [FromMatrix]

    @extend_schema(operation_id="inbox_read", request=schema.InboxReadIn, responses=schema.InboxReadOut)
    def post(self, request):
        s = schema.InboxReadIn(data=request.data)
        s.is_valid(raise_exception=True)
        ids = s.validated_data.get("ids")
        marked = notices.mark_read(request.user, ids)
        return Response({"marked": marked, "unread": notices.unread_count(request.user)})


