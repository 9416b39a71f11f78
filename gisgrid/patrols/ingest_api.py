"""HTTP face of GPS ingestion: devices post fixes, people upload GPX, supervisors look on.

Device endpoints (`track/osmand`, `track/positions`) take no session or CSRF: a phone is not a
user. It proves itself with its identifier and token (ingest/auth.py); every device of a
request must check out before anything is stored. Then the request is decoded by its
protocol module and handed whole to the pipeline, which answers per item.
"""

from __future__ import annotations

import datetime as dt
import json

from django.conf import settings
from django.http import QueryDict
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts import roles
from gisgrid.accounts.policy import FromMatrix
from gisgrid.api_errors import BadParameter
from gisgrid.api_schema import ApiError
from gisgrid.boundaries.api import refuse_nul
from gisgrid.boundaries.datums import CRS_CHOICES
from gisgrid.boundaries.models import Person
from gisgrid.errors import Forbidden, Text, TooLarge
from gisgrid.renderers import OrjsonRenderer
from gisgrid.schema_auth import DeviceTokenAuthentication

from .ingest import filters, gpx, group_commit, osmand, times, traccar_json
from .ingest.auth import DeviceAuthError, authenticate, credentials, devices_cache
from .ingest.osmand import Decoded
from .ingest.pipeline import IngestResult, Submission, ingest
from .ingest.records import BadFix, DecodeError
from .models import Device, DeviceCounter, RejectedPosition
from .params import parse_person
from .schema import DeviceList, GpxAnswer, GpxUpload, IngestAnswer, OsmAndForm, PositionsRequest, RejectedList

RESULT_EXAMPLE = {"accepted": 1, "duplicates": 0, "rejected": 1, "items": [
    {"index": 0, "status": "accepted"},
    {"index": 1, "status": "rejected", "reasons": ["invalid"], "detail": "positions[1].lat: not a number: 'abc'"}]}
ERROR_RESPONSES = {
    400: OpenApiResponse(ApiError, description="字段有误 {error, detail, fields}"),
    401: OpenApiResponse(ApiError, description="缺少设备号或令牌 (missing id or token)"),
    403: OpenApiResponse(ApiError, description="未登记设备、令牌错误或已停用"),
    413: OpenApiResponse(ApiError, description="请求体或定位点过多 (too large)"),
}


class JsonOnly(BaseContentNegotiation):
    """Phones take JSON whatever they send in Accept; choosing among renderers was measurable
    work on every single-fix request (docs/ingest.md, "Speed")."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class DeviceJson:
    """Device endpoints answer JSON only, written as ingest_fast's door writes it (both use the
    API's renderer), and read their bodies themselves (request.body, so the 8 MB
    DATA_UPLOAD_MAX_MEMORY_SIZE applies), never through DRF's parsers. Their errors (DeviceAuthError,
    DecodeError, CommitterUnavailable: the error family) are answered by gisgrid/api_errors.py
    like every other view's, so an error looks the same whichever door a request came in by."""

    renderer_classes = [OrjsonRenderer]
    content_negotiation_class = JsonOnly


def device_token(request) -> str | None:
    """The token from `Authorization: Bearer ...` or `X-Device-Token` (clients that can't put
    it in the URL, and proxies that log URLs)."""
    return header_token(request.META)


def header_token(meta) -> str | None:
    """device_token() from a WSGI environ / request.META."""
    auth = meta.get("HTTP_AUTHORIZATION", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return meta.get("HTTP_X_DEVICE_TOKEN", "").strip() or None


def ingest_decoded(request, decoded: Decoded, now: dt.datetime) -> IngestResult:
    """Authenticate every device named in the request, then run the pipeline: small requests
    (single fixes) through this process's group committer, which answers once their fixes are
    committed together with those of concurrent requests (ingest/group_commit.py)."""
    fallback = (request.query_params.get("token") or "").strip() or device_token(request)
    return ingest_request(decoded, fallback, now)


def ingest_request(decoded: Decoded, fallback_token: str | None, now: dt.datetime) -> IngestResult:
    """ingest_decoded() without a DRF request: `fallback_token` is the token the request gave
    outside its decoded items (the `token` query parameter, else a header)."""
    # An item nobody claims cannot even be quarantined: it is a missing credential. (When no
    # item names a device, authenticate() says so itself.)
    unclaimed = [i for i, it in enumerate(decoded.items) if not it.device]
    if unclaimed and len(unclaimed) < len(decoded.items):
        i = unclaimed[0]
        raise DeviceAuthError(401, "missing_device", Text(f"第 {i} 项缺少设备号", f"item {i} has no device id"),
                              "device_id")
    token = decoded.token or fallback_token
    idents = [it.device for it in decoded.items]
    grouped = group_commit.accepts(decoded.items)
    devices = authenticate(idents, token, decoded.tokens, cache=devices_cache if grouped else None)
    times.localise(decoded.items, devices)  # offset-less times are on the device's clock
    if grouped:
        return group_commit.submit(Submission(decoded.items, devices, decoded.source, now,
                                              credentials=credentials(idents, token, decoded.tokens)))
    return ingest(decoded.items, devices, source=decoded.source, now=now)


def ingest_response(decoded: Decoded, result: IngestResult) -> Response:
    """200 with one outcome per item, whatever the outcomes: every item of a request that got
    this far was kept (stored, found stored, or quarantined). The OsmAnd app and Traccar Client
    resend a refused point for ever and send nothing newer meanwhile, so a 4xx for a point the
    server kept would block the phone for good. A malformed item is `rejected` with reason
    `invalid`, its `detail`, and the `field` that was wrong."""
    return Response(outcomes_body(result, decoded.items))


def outcomes_body(result: IngestResult, items) -> dict:
    """The result's counts and items, each malformed item naming its `field`."""
    body = result.as_dict()
    bad = {i: it.field for i, it in enumerate(items) if isinstance(it, BadFix)}
    for item in body["items"]:
        if item["index"] in bad:
            item["field"] = bad[item["index"]]
    return body


def read_json(request) -> object:
    try:
        return json.loads(request.body)
    except ValueError as exc:  # UnicodeDecodeError included
        raise DecodeError("body", Text(f"不是有效的 JSON：{exc}", f"not valid JSON: {exc}")) from None
    except RecursionError:
        raise DecodeError("body", Text("JSON 嵌套过深", "JSON nested too deeply")) from None


OSMAND_PARAMETERS = [
    OpenApiParameter("id", str, description="设备号 (or `deviceid`)"),
    OpenApiParameter("token", str, description="设备令牌 (or header `Authorization: Bearer` / `X-Device-Token`)"),
    OpenApiParameter("lat", float), OpenApiParameter("lon", float),
    OpenApiParameter("location", str, description="lat,lon (instead of lat and lon)"),
    OpenApiParameter("timestamp", str, description="epoch s (< 2147483647) or ms, ISO-8601, or yyyy-MM-dd HH:mm:ss; "
                                                   "no offset = the device's time zone (county's by default); "
                                                   "years 2000-2100; absent = time received"),
    OpenApiParameter("speed", float, description="设备登记的速度单位 (the device's unit: mps, kn or kmh)"),
    OpenApiParameter("bearing", float, description="or `heading`; degrees, negative = unknown"),
    OpenApiParameter("altitude", float), OpenApiParameter("accuracy", float, description="metres"),
    OpenApiParameter("hdop", float, description="taken as accuracy (metres) when `accuracy` is absent (OsmAnd app)"),
    OpenApiParameter("batt", float, description="battery percent"),
    OpenApiParameter("valid", bool, description="false: the device doubts the fix (quarantined as invalid)"),
]


class OsmAndView(DeviceJson, APIView):
    """One fix by the OsmAnd protocol (OsmAnd app, Traccar Client), in the query or a form body."""

    # The device token is checked per item by the ingest layer; the class only declares it.
    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [AllowAny]

    @extend_schema(operation_id="track_osmand_get", parameters=OSMAND_PARAMETERS,
                   responses={200: IngestAnswer, **ERROR_RESPONSES},
                   examples=[OpenApiExample("结果", value=RESULT_EXAMPLE, response_only=True)])
    def get(self, request):
        return self.receive(request)

    @extend_schema(operation_id="track_osmand_post", parameters=OSMAND_PARAMETERS,
                   request={"application/x-www-form-urlencoded": OsmAndForm, "application/json": PositionsRequest},
                   description="Fields in the query, or in an urlencoded body when the query has no position "
                               "(Traccar Client posts with the query and an empty body). A JSON body is read as "
                               "Traccar Client JSON (see track/positions).",
                   responses={200: IngestAnswer, **ERROR_RESPONSES})
    def post(self, request):
        return self.receive(request)

    def receive(self, request) -> Response:
        now = timezone.now()
        if request.method == "POST" and request.content_type.startswith("application/json"):
            # The current Traccar Client posts its JSON to the same URL Traccar's OsmAnd port takes.
            decoded = traccar_json.decode(read_json(request), received_at=now)
        else:
            decoded = osmand.decode(self.fields(request), received_at=now)
        return ingest_response(decoded, ingest_decoded(request, decoded, now))

    @staticmethod
    def fields(request) -> dict[str, str]:
        query = request.query_params
        params = {k: query.get(k, "") for k in query}
        if request.method == "POST" and not osmand.has_position(params):
            # Like Traccar: the body is read as a query string whatever its declared type.
            # request.body (not DRF's parsers) so the 8 MB DATA_UPLOAD_MAX_MEMORY_SIZE applies.
            body = QueryDict(request.body, encoding=request.encoding or "utf-8")
            params = {**{k: body.get(k, "") for k in body}, **params}
        return params


class PositionsView(DeviceJson, APIView):
    """Traccar Client JSON (one location or a list), or the plain batch with per-item results."""

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="track_positions",
        parameters=[OpenApiParameter("token", str, description="设备令牌, if not in the body or a header")],
        request=PositionsRequest,
        responses={200: IngestAnswer, **ERROR_RESPONSES},
        examples=[
            OpenApiExample("Traccar Client", request_only=True, value={
                "device_id": "860000000000001",
                "location": {"timestamp": "2026-05-01T08:00:00.000Z", "is_moving": True, "odometer": 120,
                             "coords": {"latitude": 35.2377, "longitude": 110.1496, "accuracy": 8,
                                        "speed": 1.2, "heading": 90, "altitude": 400},
                             "battery": {"level": 0.77, "is_charging": False}}}),
            OpenApiExample("批量 plain batch", request_only=True, value={
                "device_id": "860000000000001", "token": "…",
                "positions": [{"time": "2026-05-01T08:00:00+08:00", "lat": 35.2377, "lon": 110.1496,
                               "accuracy": 8, "speed": 1.2, "bearing": 90, "altitude": 400, "battery": 77},
                              {"device_id": "860000000000002", "token": "…", "time": 1777593600,
                               "lat": 35.24, "lon": 110.15}]}),
            OpenApiExample("结果", value=RESULT_EXAMPLE, response_only=True),
        ],
    )
    def post(self, request):
        now = timezone.now()
        decoded = traccar_json.decode(read_json(request), received_at=now)
        return ingest_response(decoded, ingest_decoded(request, decoded, now))


# -- GPX upload ---------------------------------------------------------------------------------

class GpxView(APIView):
    """A GPX file recorded offline, stored as one person's (or one device's) fixes."""

    permission_classes = [FromMatrix]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="track_gpx",
        description=f"GPX at most {settings.GISGRID_GPX_MAX_BYTES // 2**20} MB",
        request={"multipart/form-data": GpxUpload},
        responses={200: GpxAnswer, 400: ERROR_RESPONSES[400], 403: ERROR_RESPONSES[403],
                   413: ERROR_RESPONSES[413]},
    )
    def post(self, request):
        limit = settings.GISGRID_GPX_MAX_BYTES
        # Refuse a plainly oversized upload before its body is read at all.
        if _content_length(request) > limit + 64 * 1024:
            raise _too_large(limit)
        data = request.data
        target = self.target(request, data)
        upload = data.get("file")
        if not upload or isinstance(upload, str):
            raise BadParameter("file", Text("需要上传 GPX 文件", "a GPX file is required"))
        if upload.size > limit:
            raise _too_large(limit)
        datum = data.get("datum") or "wgs84"
        if datum not in CRS_CHOICES:
            raise BadParameter("datum", Text(f"坐标系只能是 {'、'.join(CRS_CHOICES)}", f"one of {', '.join(CRS_CHOICES)}"))
        ident = target.identifier if isinstance(target, Device) else upload_identifier(target)
        points = gpx.decode(upload.read(), ident)
        # Only a request that got this far may make the person's upload device: a refused one
        # writes nothing.
        device = target if isinstance(target, Device) else upload_device(target)
        times.localise(points.items, {device.identifier: device})
        result = ingest(points.items, {device.identifier: device}, source="gpx", datum=datum)
        return Response({"device": device.identifier, "datum": datum, "points_read": points.points_read,
                         "ignored": points.ignored, **outcomes_body(result, points.items)})

    def target(self, request, data) -> Device | Person:
        """The registered device named, or the person whose upload device takes the file."""
        ident, who = (data.get("device") or "").strip(), (data.get("person") or "").strip()
        refuse_nul("device", ident)
        if ident and who:
            raise BadParameter("device", Text("device 与 person 只能给一个", "give device or person, not both"))
        scope = roles.patrol_scope(request.user)
        if ident:
            device = Device.objects.select_related("person").filter(identifier=ident).first()
            # Out of scope first: someone who may upload only their own tracks learns nothing
            # about which other device ids exist.
            _check_scope(scope, device.person_id if device else None, "device")
            if device is None:
                raise BadParameter("device", Text(f"未登记的设备 {ident}", f"unknown device {ident}"))
            if not device.active:
                raise Forbidden(Text(f"设备 {ident} 已停用", f"device {ident} is disabled"), field="device",
                                code="device_disabled")
            return device
        person = parse_person(who) if who else (scope if isinstance(scope, Person) else None)
        if person is None:
            raise BadParameter("person", Text("需要 device 或 person", "give a device identifier or a person"))
        _check_scope(scope, person.pk, "person")
        return person


def upload_identifier(person: Person) -> str:
    return f"gpx-{person.pk}"


def upload_device(person: Person) -> Device:
    """The person's GPX upload device, made on first use. It has no token, so no live protocol
    can ever post to it (authenticate refuses an empty token hash)."""
    device, _ = Device.objects.get_or_create(
        identifier=upload_identifier(person),
        defaults={"person": person, "user": person.user, "datum": "wgs84", "speed_unit": Device.SpeedUnit.MPS},
    )
    return device


def _check_scope(scope, person_id: int | None, field: str) -> None:
    if scope == "all":
        return
    if isinstance(scope, Person) and person_id is not None and scope.pk == person_id:
        return
    raise Forbidden(Text("只能上传本人的轨迹", "you may upload only your own tracks, unless you supervise patrols"),
                    field=field)


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _too_large(limit: int) -> TooLarge:
    mb = limit // 2**20
    return TooLarge(Text(f"GPX 文件超过 {mb} MB", f"GPX file larger than {mb} MB"), field="file")


# -- supervision --------------------------------------------------------------------------------

class CanSupervisePatrols(BasePermission):
    message = Text("需要巡查督导角色", "patrol supervisor role required")

    def has_permission(self, request, view) -> bool:
        return roles.can_supervise_patrols(request.user)


def _local(t: dt.datetime | None) -> str | None:
    return timezone.localtime(t).isoformat() if t else None


def device_dict(d: Device, counters: dict[str, int]) -> dict:
    """One device; `d` comes from readable_devices() (its fix time read defensively)."""
    last = None
    if d.last_point is not None:
        last = {"lon": d.last_point.x, "lat": d.last_point.y, "speed_mps": d.last_speed_mps,
                "battery": d.last_battery, "grids": list(d.last_codes)}
    return {
        "identifier": d.identifier,
        "person": {"id": d.person.pk, "name": d.person.name, "role": d.person.role} if d.person else None,
        "datum": d.datum, "speed_unit": d.speed_unit, "active": d.active,
        # The zone its times without an offset are read in, and whether it is the county's default.
        "tz": times.device_zone(d).key, "tz_default": not d.tz,
        "live": bool(d.token_hash),  # False: GPX upload only
        "created_at": _local(d.created_at), "last_fix_time": _local(d.last_fix_readable),
        **({"last_fix_time_unreadable": d.last_fix_text} if d.last_fix_text else {}),
        "last_received_at": _local(d.last_received_at), "last_position": last,
        # Accepted fixes are counted on the device row (one HOT update per batch), the rest
        # per reason in DeviceCounter.
        "counters": {"accepted": d.accepted_count, **counters},
    }


class DevicesView(APIView):
    """Every device, its last position and how many of its fixes were accepted or rejected why."""

    permission_classes = [CanSupervisePatrols]

    @extend_schema(operation_id="track_devices", responses=DeviceList)
    def get(self, request):
        devices = list(readable_devices().select_related("person"))
        counters: dict[int, dict[str, int]] = {}
        for device_id, name, count in DeviceCounter.objects.values_list("device_id", "name", "count"):
            counters.setdefault(device_id, {})[name] = count
        return Response({"count": len(devices),
                         "results": [device_dict(d, counters.get(d.pk, {})) for d in devices]})


def readable_devices():
    """Devices without the columns a list never shows, their last fix time read defensively: a
    time written before ingest bounded fix times (say year 1 BC) is NULL plus its text, since
    psycopg cannot load it and one such row would take the whole list down."""
    return (Device.objects.defer("dirty_start", "dirty_end", "last_fix_time")
            .annotate(last_fix_readable=times.readable("last_fix_time"),
                      last_fix_text=times.unreadable_text("last_fix_time")))


def rejected_dict(r: RejectedPosition) -> dict:
    """One quarantined fix; `r` comes with `fix_readable`/`fix_text` (see RejectedView)."""
    d = {
        "id": r.pk, "device": r.device.identifier, "received_at": _local(r.received_at), "source": r.source,
        "fix_time": _local(r.fix_readable), "raw": {"lon": r.raw_lon, "lat": r.raw_lat},
        "accuracy_m": r.accuracy_m, "reasons": r.reasons, "detail": r.detail, "payload": r.payload,
    }
    if r.fix_text:
        d["fix_time_unreadable"] = r.fix_text  # PostgreSQL's text of a time Python cannot hold
    return d


class RejectedView(APIView):
    """The quarantine, newest first: what the filters held back and why."""

    permission_classes = [CanSupervisePatrols]
    MAX_LIMIT = 1000

    @extend_schema(
        operation_id="track_rejected",
        parameters=[OpenApiParameter("device", str, description="设备号"),
                    OpenApiParameter("reason", str, enum=list(filters.REASONS)),
                    OpenApiParameter("limit", int, description=f"默认 100, 最多 {MAX_LIMIT}")],
        responses=RejectedList,
    )
    def get(self, request):
        q = request.query_params
        # The fix time through SQL guards: rows from before fix times were bounded may hold
        # times psycopg cannot load (1 BC, year 10000), and one must not break the list.
        qs = (RejectedPosition.objects.select_related("device")
              .only(*[f.name for f in RejectedPosition._meta.concrete_fields if f.name != "fix_time"],
                    "device__identifier")
              .annotate(fix_readable=times.readable("fix_time"), fix_text=times.unreadable_text("fix_time"))
              .order_by("-received_at", "-id"))
        if q.get("device"):
            qs = qs.filter(device__identifier=refuse_nul("device", q["device"]))
        reason = q.get("reason")
        if reason:
            if reason not in filters.REASONS:
                raise BadParameter("reason", Text(f"只能是 {'、'.join(filters.REASONS)}",
                                                  f"one of {', '.join(filters.REASONS)}"))
            qs = qs.filter(reasons__contains=[reason])
        rows = list(qs[:_limit(q.get("limit"), self.MAX_LIMIT)])
        return Response({"count": len(rows), "results": [rejected_dict(r) for r in rows]})


def _limit(value: str | None, most: int) -> int:
    if not value:
        return 100
    if not value.isdigit() or not 1 <= int(value) <= most:
        raise BadParameter("limit", Text(f"取值 1-{most}", f"an integer between 1 and {most}"))
    return int(value)


urlpatterns = [
    path("track/osmand", OsmAndView.as_view(), name="track-osmand"),
    path("track/positions", PositionsView.as_view(), name="track-positions"),
    path("track/gpx", GpxView.as_view(), name="track-gpx"),
    path("track/devices", DevicesView.as_view(), name="track-devices"),
    path("track/rejected", RejectedView.as_view(), name="track-rejected"),
]
