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
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gisgrid.accounts import roles
from gisgrid.api_errors import BadParameter
from gisgrid.boundaries.datums import CRS_CHOICES
from gisgrid.boundaries.models import Person

from .ingest import filters, gpx, osmand, traccar_json
from .ingest.auth import DeviceAuthError, authenticate
from .ingest.osmand import Decoded
from .ingest.pipeline import IngestResult, ingest
from .ingest.records import BadFix, DecodeError
from .models import Device, DeviceCounter, RejectedPosition
from .params import parse_person

RESULT_EXAMPLE = {"accepted": 1, "duplicates": 0, "rejected": 1, "items": [
    {"index": 0, "status": "accepted"},
    {"index": 1, "status": "rejected", "reasons": ["invalid"], "detail": "positions[1].lat: not a number: 'abc'"}]}
ERROR_RESPONSES = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="字段有误 {error, detail, fields}"),
    401: OpenApiResponse(OpenApiTypes.OBJECT, description="缺少设备号或令牌 (missing id or token)"),
    403: OpenApiResponse(OpenApiTypes.OBJECT, description="未登记设备、令牌错误或已停用"),
    413: OpenApiResponse(OpenApiTypes.OBJECT, description="请求体或定位点过多 (too large)"),
}


def error_body(code: str, detail: str, field: str, reason: str | None = None) -> dict:
    return {"error": code, "detail": detail, "fields": {field: [reason or detail]}}


class ProtocolErrors:
    """Turns the ingest layer's own errors into the API's JSON error shape."""

    def handle_exception(self, exc):
        if isinstance(exc, DeviceAuthError):
            headers = {"WWW-Authenticate": 'Bearer realm="gisgrid devices"'} if exc.status == 401 else None
            return Response(error_body(exc.code, exc.detail, exc.field), status=exc.status, headers=headers)
        if isinstance(exc, DecodeError):
            code = "too_large" if exc.status == 413 else "invalid"
            return Response(error_body(code, f"{exc.field}: {exc.reason}", exc.field, exc.reason), status=exc.status)
        return super().handle_exception(exc)


def device_token(request) -> str | None:
    """The token from `Authorization: Bearer ...` or `X-Device-Token` (clients that can't put
    it in the URL, and proxies that log URLs)."""
    auth = request.META.get("HTTP_AUTHORIZATION", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return request.META.get("HTTP_X_DEVICE_TOKEN", "").strip() or None


def ingest_decoded(request, decoded: Decoded, now: dt.datetime) -> IngestResult:
    """Authenticate every device named in the request, then run the pipeline."""
    # An item nobody claims cannot even be quarantined: it is a missing credential. (When no
    # item names a device, authenticate() says so itself.)
    unclaimed = [i for i, it in enumerate(decoded.items) if not it.device]
    if unclaimed and len(unclaimed) < len(decoded.items):
        i = unclaimed[0]
        raise DeviceAuthError(401, "missing_device", f"第 {i} 项缺少设备号 (item {i} has no device id)", "device_id")
    token = decoded.token or (request.query_params.get("token") or "").strip() or device_token(request)
    devices = authenticate([it.device for it in decoded.items], token, decoded.tokens)
    return ingest(decoded.items, devices, source=decoded.source, now=now)


def ingest_response(decoded: Decoded, result: IngestResult) -> Response:
    """200 with per-item outcomes; a request of one malformed point is a 400 naming its field
    (the point is quarantined all the same)."""
    body = result.as_dict()
    only = decoded.items[0] if len(decoded.items) == 1 else None
    if isinstance(only, BadFix):
        return Response({**error_body("invalid", f"{only.field}: {only.reason}", only.field, only.reason), **body},
                        status=400)
    return Response(body)


def read_json(request) -> object:
    try:
        return json.loads(request.body)
    except ValueError as exc:  # UnicodeDecodeError included
        raise DecodeError("body", f"不是有效的 JSON (not valid JSON: {exc})") from None


OSMAND_PARAMETERS = [
    OpenApiParameter("id", str, description="设备号 (or `deviceid`)"),
    OpenApiParameter("token", str, description="设备令牌 (or header `Authorization: Bearer` / `X-Device-Token`)"),
    OpenApiParameter("lat", float), OpenApiParameter("lon", float),
    OpenApiParameter("location", str, description="lat,lon (instead of lat and lon)"),
    OpenApiParameter("timestamp", str, description="epoch s (< 2147483647) or ms, ISO-8601, or yyyy-MM-dd HH:mm:ss; "
                                                   "no offset = UTC; absent = time received"),
    OpenApiParameter("speed", float, description="设备登记的速度单位 (the device's unit: mps, kn or kmh)"),
    OpenApiParameter("bearing", float, description="or `heading`; degrees, negative = unknown"),
    OpenApiParameter("altitude", float), OpenApiParameter("accuracy", float, description="metres"),
    OpenApiParameter("hdop", float, description="taken as accuracy (metres) when `accuracy` is absent (OsmAnd app)"),
    OpenApiParameter("batt", float, description="battery percent"),
    OpenApiParameter("valid", bool, description="false: the device doubts the fix (quarantined as invalid)"),
]


class OsmAndView(ProtocolErrors, APIView):
    """One fix by the OsmAnd protocol (OsmAnd app, Traccar Client), in the query or a form body."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(operation_id="track_osmand_get", parameters=OSMAND_PARAMETERS,
                   responses={200: OpenApiTypes.OBJECT, **ERROR_RESPONSES},
                   examples=[OpenApiExample("结果", value=RESULT_EXAMPLE, response_only=True)])
    def get(self, request):
        return self.receive(request)

    @extend_schema(operation_id="track_osmand_post", parameters=OSMAND_PARAMETERS, request=None,
                   description="Fields in the query, or in an urlencoded body when the query has no position "
                               "(Traccar Client posts with the query and an empty body). A JSON body is read as "
                               "Traccar Client JSON (see track/positions).",
                   responses={200: OpenApiTypes.OBJECT, **ERROR_RESPONSES})
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


class PositionsView(ProtocolErrors, APIView):
    """Traccar Client JSON (one location or a list), or the plain batch with per-item results."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="track_positions",
        parameters=[OpenApiParameter("token", str, description="设备令牌, if not in the body or a header")],
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, **ERROR_RESPONSES},
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

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="track_gpx",
        request={"multipart/form-data": inline_serializer("GpxUpload", {
            "file": serializers.FileField(help_text=f"GPX, at most {settings.GISGRID_GPX_MAX_BYTES // 2**20} MB"),
            "device": serializers.CharField(required=False, help_text="设备号 of a registered device"),
            "person": serializers.CharField(required=False, help_text="人员 id or username; default: yourself"),
            "datum": serializers.ChoiceField(CRS_CHOICES, required=False, help_text="default wgs84"),
        })},
        responses={200: OpenApiTypes.OBJECT, 400: ERROR_RESPONSES[400], 403: ERROR_RESPONSES[403],
                   413: ERROR_RESPONSES[413]},
    )
    def post(self, request):
        limit = settings.GISGRID_GPX_MAX_BYTES
        # Refuse a plainly oversized upload before its body is read at all.
        if _content_length(request) > limit + 64 * 1024:
            return _too_large(limit)
        data = request.data
        device = self.target_device(request, data)
        upload = data.get("file")
        if not upload or isinstance(upload, str):
            raise BadParameter("file", "需要上传 GPX 文件 (a GPX file is required)")
        if upload.size > limit:
            return _too_large(limit)
        datum = data.get("datum") or "wgs84"
        if datum not in CRS_CHOICES:
            raise BadParameter("datum", f"坐标系只能是 {', '.join(CRS_CHOICES)} (one of {', '.join(CRS_CHOICES)})")
        try:
            points = gpx.decode(upload.read(), device.identifier)
        except DecodeError as exc:
            raise BadParameter(exc.field, exc.reason) from None
        result = ingest(points.items, {device.identifier: device}, source="gpx", datum=datum)
        return Response({"device": device.identifier, "datum": datum, "points_read": points.points_read,
                         "ignored": points.ignored, **result.as_dict()})

    def target_device(self, request, data) -> Device:
        ident, who = (data.get("device") or "").strip(), (data.get("person") or "").strip()
        if ident and who:
            raise BadParameter("device", "device 与 person 只能给一个 (give device or person, not both)")
        scope = roles.patrol_scope(request.user)
        if ident:
            device = Device.objects.select_related("person").filter(identifier=ident).first()
            if device is None:
                raise BadParameter("device", f"未登记的设备 {ident} (unknown device)")
            _check_scope(scope, device.person_id, "device")
            if not device.active:
                raise DeviceAuthError(403, "device_disabled", f"设备 {ident} 已停用 (device disabled)", "device")
            return device
        person = parse_person(who) if who else (scope if isinstance(scope, Person) else None)
        if person is None:
            raise BadParameter("person", "需要 device 或 person (give a device identifier or a person)")
        _check_scope(scope, person.pk, "person")
        return upload_device(person)

    def handle_exception(self, exc):
        if isinstance(exc, DeviceAuthError):
            return Response(error_body(exc.code, exc.detail, exc.field), status=exc.status)
        return super().handle_exception(exc)


def upload_device(person: Person) -> Device:
    """The person's GPX upload device, made on first use. It has no token, so no live protocol
    can ever post to it (authenticate refuses an empty token hash)."""
    device, _ = Device.objects.get_or_create(
        identifier=f"gpx-{person.pk}",
        defaults={"person": person, "user": person.user, "datum": "wgs84", "speed_unit": Device.SpeedUnit.MPS},
    )
    return device


def _check_scope(scope, person_id: int | None, field: str) -> None:
    if scope == "all":
        return
    if isinstance(scope, Person) and person_id is not None and scope.pk == person_id:
        return
    raise DeviceAuthError(403, "permission_denied",
                          "只能上传本人的轨迹 (you may upload only your own tracks, unless you supervise patrols)",
                          field)


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _too_large(limit: int) -> Response:
    mb = limit // 2**20
    return Response(error_body("too_large", f"GPX 文件超过 {mb} MB (file larger than {mb} MB)", "file"), status=413)


# -- supervision --------------------------------------------------------------------------------

class CanSupervisePatrols(BasePermission):
    message = "需要巡查督导角色 (patrol supervisor role required)"

    def has_permission(self, request, view) -> bool:
        return roles.can_supervise_patrols(request.user)


def _local(t: dt.datetime | None) -> str | None:
    return timezone.localtime(t).isoformat() if t else None


def device_dict(d: Device, counters: dict[str, int]) -> dict:
    last = None
    if d.last_point is not None:
        last = {"lon": d.last_point.x, "lat": d.last_point.y, "speed_mps": d.last_speed_mps,
                "battery": d.last_battery, "grids": list(d.last_codes)}
    return {
        "identifier": d.identifier,
        "person": {"id": d.person.pk, "name": d.person.name, "role": d.person.role} if d.person else None,
        "datum": d.datum, "speed_unit": d.speed_unit, "active": d.active,
        "live": bool(d.token_hash),  # False: GPX upload only
        "created_at": _local(d.created_at), "last_fix_time": _local(d.last_fix_time),
        "last_received_at": _local(d.last_received_at), "last_position": last,
        # Accepted fixes are counted on the device row (one HOT update per batch), the rest
        # per reason in DeviceCounter.
        "counters": {"accepted": d.accepted_count, **counters},
    }


class DevicesView(APIView):
    """Every device, its last position and how many of its fixes were accepted or rejected why."""

    permission_classes = [CanSupervisePatrols]

    @extend_schema(operation_id="track_devices", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        devices = list(Device.objects.select_related("person"))
        counters: dict[int, dict[str, int]] = {}
        for device_id, name, count in DeviceCounter.objects.values_list("device_id", "name", "count"):
            counters.setdefault(device_id, {})[name] = count
        return Response({"count": len(devices),
                         "results": [device_dict(d, counters.get(d.pk, {})) for d in devices]})


def rejected_dict(r: RejectedPosition) -> dict:
    return {
        "id": r.pk, "device": r.device.identifier, "received_at": _local(r.received_at), "source": r.source,
        "fix_time": _local(r.fix_time), "raw": {"lon": r.raw_lon, "lat": r.raw_lat},
        "accuracy_m": r.accuracy_m, "reasons": r.reasons, "detail": r.detail, "payload": r.payload,
    }


class RejectedView(APIView):
    """The quarantine, newest first: what the filters held back and why."""

    permission_classes = [CanSupervisePatrols]
    MAX_LIMIT = 1000

    @extend_schema(
        operation_id="track_rejected",
        parameters=[OpenApiParameter("device", str, description="设备号"),
                    OpenApiParameter("reason", str, enum=list(filters.REASONS)),
                    OpenApiParameter("limit", int, description=f"默认 100, 最多 {MAX_LIMIT}")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        q = request.query_params
        qs = RejectedPosition.objects.select_related("device").order_by("-received_at", "-id")
        if q.get("device"):
            qs = qs.filter(device__identifier=q["device"])
        reason = q.get("reason")
        if reason:
            if reason not in filters.REASONS:
                raise BadParameter("reason", f"只能是 {', '.join(filters.REASONS)} (one of {', '.join(filters.REASONS)})")
            qs = qs.filter(reasons__contains=[reason])
        rows = list(qs[:_limit(q.get("limit"), self.MAX_LIMIT)])
        return Response({"count": len(rows), "results": [rejected_dict(r) for r in rows]})


def _limit(value: str | None, most: int) -> int:
    if not value:
        return 100
    if not value.isdigit() or not 1 <= int(value) <= most:
        raise BadParameter("limit", f"取值 1-{most} (an integer between 1 and {most})")
    return int(value)


urlpatterns = [
    path("track/osmand", OsmAndView.as_view(), name="track-osmand"),
    path("track/positions", PositionsView.as_view(), name="track-positions"),
    path("track/gpx", GpxView.as_view(), name="track-gpx"),
    path("track/devices", DevicesView.as_view(), name="track-devices"),
    path("track/rejected", RejectedView.as_view(), name="track-rejected"),
]
