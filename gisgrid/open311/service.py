"""Open311 GeoReport v2 on the case loop: services are the matter list, a request is a case.

Decisions (docs/open311.md):
- services = the active matters that are not groups (E0101 …), `group` = their group's name;
  none has attributes (`metadata` false), all are `realtime` (the case number comes back at once);
- a POST opens a case of the public channel, routed like every report (outside the county it
  is accepted, flagged and routed to the centre); it needs an api_key (`open311_key NAME`);
- reads show only the requests that came in through Open311, never the cases of grid members,
  inspectors or hotline callers, and never a name, phone or e-mail address of anyone;
- status follows the loop: `open` until archived or voided, then `closed`; `status_notes`
  says where the case is (and why it was voided, or the unit's result when archived).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gisgrid.boundaries.gazetteer import MAX_QUERY_LENGTH, search_places
from gisgrid.cases import api as case_api
from gisgrid.cases import photos as photos_module
from gisgrid.cases.models import Case, Photo
from gisgrid.errors import BadRequest, Forbidden, NotFound, Text
from gisgrid.incidents.models import Category

from .models import Open311Key, Open311Request

MAX_RANGE = dt.timedelta(days=90)  # the spec's default window and longest span
MAX_RESULTS = 1000
PHONE_CHARS = set("0123456789+-() ")


def jurisdiction() -> str:
    return str(getattr(settings, "GISGRID_COUNTY_CODE", ""))


def check_jurisdiction(value: str | None) -> None:
    if value and value != jurisdiction():
        raise NotFound(Text(f"未知 jurisdiction_id：{value}（本系统为 {jurisdiction()}）",
                            f"unknown jurisdiction_id {value!r}; this endpoint serves {jurisdiction()!r}"),
                       field="jurisdiction_id")


def w3c(value: dt.datetime | None) -> str | None:
    """A W3C datetime in county time with its offset, e.g. 2026-10-01T09:30:00+08:00."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value is not None else None


# -- services ------------------------------------------------------------------------------------

def service_categories() -> QuerySet:
    groups = Category.objects.filter(parent=OuterRef("pk"), active=True)
    return (Category.objects.filter(active=True).annotate(is_group=Exists(groups)).filter(is_group=False)
            .select_related("parent").order_by("code"))


def service_dict(c: Category) -> dict:
    return {"service_code": c.code, "service_name": c.name, "description": c.description or c.name,
            "metadata": False, "type": "realtime", "keywords": c.standard_class,
            "group": c.parent.name if c.parent_id else c.name}


def services() -> list[dict]:
    return [service_dict(c) for c in service_categories()]


def service(code: str) -> Category:
    c = service_categories().filter(code=code).first() if len(code) <= 20 and "\x00" not in code else None
    if c is None:
        raise NotFound(Text(f"未知 service_code：{code}", f"service_code {code!r} not found"), field="service_code")
    return c


def service_definition(code: str) -> dict:
    c = service(code)
    return {"service_code": c.code, "attributes": []}


# -- requests out ---------------------------------------------------------------------------------

def public_cases() -> QuerySet:
    return (Case.objects.filter(channel=Case.Channel.PUBLIC)
            .select_related("category", "report", "lead_unit", "duplicate_of")
            .prefetch_related("photos"))


def status_notes(case: Case) -> str:
    label = Case.State(case.state).label
    if case.state == Case.State.VOIDED:
        if case.duplicate_of_id:
            return str(Text(f"重复问题，已并入 {case.duplicate_of.number}", f"duplicate of {case.duplicate_of.number}"))
        return f"{label}：{case.void_reason}" if case.void_reason else str(label)
    if case.state == Case.State.ARCHIVED and case.result_text:
        return f"{label}：{case.result_text[:500]}"
    if case.paused:
        return str(Text("挂账（长期事项，时限暂停）", "paused (a long-term matter; its clock is stopped)"))
    return str(label)


NO_PHOTO = Text("照片不存在", "no such photo")


def media_url(case: Case, absolute) -> str | None:
    """The first report photo's EXIF-free copy (by its own URL: the case's public token, which
    opens the reporter's own view, is never published), else the media_url the client sent."""
    photos = [p for p in case.photos.all() if p.stage == Photo.Stage.REPORT]
    if photos:
        return absolute(reverse("open311-media", args=[photos[0].pk]))
    extra = getattr(case, "open311", None)
    return extra.media_url or None if extra is not None else None


def media_file(pk: int):
    """The public copy of a report photo of an Open311 request (nothing of other channels)."""
    photo = Photo.objects.filter(pk=pk, stage=Photo.Stage.REPORT, case__channel=Case.Channel.PUBLIC).first()
    if photo is None:
        raise NotFound(NO_PHOTO)
    return photos_module.variant_file(photo, "public")


def request_dict(case: Case, absolute) -> dict:
    r = case.report
    return {
        "service_request_id": case.number,
        "status": "closed" if case.state in Case.CLOSED_STATES else "open",
        "status_notes": status_notes(case),
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": r.description,
        "agency_responsible": case.lead_unit.name if case.lead_unit_id else "",
        "service_notice": "",
        "requested_datetime": w3c(case.reported_at),
        "updated_datetime": w3c(case.updated_at),
        "expected_datetime": w3c(case.complete_due),
        "address": r.address,
        "address_id": "",
        "zipcode": "",
        "lat": r.point.y,
        "long": r.point.x,
        "media_url": media_url(case, absolute),
    }


def _csv(value: str | None, field: str, limit: int = 100) -> list[str]:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    if len(items) > limit or any(len(v) > 40 or "\x00" in v for v in items):
        raise BadRequest(Text(f"{field} 取值过多或过长", f"{field}: too many or too long values"), field=field)
    return items


def _when(value: str | None, field: str) -> dt.datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value.strip()) if "\x00" not in value else None
    if parsed is None:
        raise BadRequest(Text(f"{field} 须为 W3C 时间，如 2026-10-01T00:00:00+08:00",
                              f"{field} must be a W3C datetime, e.g. 2026-10-01T00:00:00Z"), field=field)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def find_requests(params: Mapping[str, str], now: dt.datetime | None = None) -> list[Case]:
    """GET requests: by ids (which override every other filter), or by service, status and the
    requested_datetime window (the last 90 days by default, at most 90 days)."""
    ids = _csv(params.get("service_request_id"), "service_request_id")
    qs = public_cases()
    if ids:
        found = {c.number: c for c in qs.filter(number__in=ids)}
        return [found[i] for i in ids if i in found]
    codes = _csv(params.get("service_code"), "service_code")
    if codes:
        qs = qs.filter(category__code__in=codes)
    statuses = _csv(params.get("status"), "status", limit=2)
    if any(s not in ("open", "closed") for s in statuses):
        raise BadRequest(Text("status 只能是 open 或 closed", "status must be open or closed"), field="status")
    if statuses and set(statuses) != {"open", "closed"}:
        qs = qs.filter(state__in=Case.CLOSED_STATES) if statuses == ["closed"] else \
            qs.exclude(state__in=Case.CLOSED_STATES)
    now = now or timezone.now()
    start, end = _when(params.get("start_date"), "start_date"), _when(params.get("end_date"), "end_date")
    if start is None and end is None:
        start, end = now - MAX_RANGE, None
    elif start is None:
        start = end - MAX_RANGE
    elif end is None:
        end = start + MAX_RANGE
    if end is not None:
        if end < start:
            raise BadRequest(Text("end_date 早于 start_date", "end_date is before start_date"), field="end_date")
        if end - start > MAX_RANGE:
            raise BadRequest(Text("时间范围不能超过 90 天", "the range may not span more than 90 days"), field="end_date")
        qs = qs.filter(reported_at__lte=end)
    return list(qs.filter(reported_at__gte=start).order_by("-reported_at", "-id")[:MAX_RESULTS])


def find_request(number: str) -> Case:
    case = public_cases().filter(number=number).first() if len(number) <= 20 and "\x00" not in number else None
    if case is None:
        raise NotFound(Text(f"请求不存在：{number}", f"service_request_id {number!r} not found"),
                       field="service_request_id")
    return case


def find_token(token: str) -> Case:
    case = public_cases().filter(public_token=token).first() if len(token) <= 40 and "\x00" not in token else None
    if case is None:
        raise NotFound(Text("token 不存在", f"token {token!r} not found"), field="token")
    return case


# -- requests in ----------------------------------------------------------------------------------

def authenticate(api_key: str | None) -> Open311Key:
    if not api_key:
        raise BadRequest(Text("缺少 api_key（用 `./run manage open311_key NAME` 申请）",
                              "api_key is required (issued by `./run manage open311_key NAME`)"), field="api_key")
    key = Open311Key.find(api_key)
    if key is None:
        raise Forbidden(Text("api_key 无效", "invalid api_key"), field="api_key")
    return key


def _float(params: Mapping[str, str], field: str) -> float | None:
    raw = (params.get(field) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(Text(f"{field} 须为数值", f"{field} must be a number"), field=field) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise BadRequest(Text(f"{field} 须为有限数值", f"{field} must be finite"), field=field)
    return value


def _short(params: Mapping[str, str], field: str, limit: int) -> str:
    value = (params.get(field) or "").strip()
    if len(value) > limit or "\x00" in value:
        raise BadRequest(Text(f"{field} 过长（最多 {limit} 字）", f"{field}: at most {limit} characters"), field=field)
    return value


def submit(params: Mapping[str, str], uploads=(), *, key: Open311Key) -> Case:
    """POST requests: a new case of the public channel (all or nothing)."""
    check_jurisdiction(params.get("jurisdiction_id"))
    code = _short(params, "service_code", 20)
    if not code:
        raise BadRequest(Text("缺少 service_code", "service_code is required"), field="service_code")
    try:
        category = service(code)
    except NotFound as exc:  # in a POST an unknown service is bad input, not a missing resource
        raise BadRequest(exc.reason, field="service_code") from None
    lat, lon = _float(params, "lat"), _float(params, "long")
    address = _short(params, "address_string", 200)
    if (lat is None) != (lon is None):
        raise BadRequest(Text("lat 和 long 需同时给出", "give both lat and long"), field="long" if lon is None else "lat")
    if lat is None:
        if not address:
            raise BadRequest(Text("需要 lat/long 或 address_string", "lat/long or address_string is required"),
                             field="lat" if not params.get("address_id") else "address_id")
        places = search_places(address[:MAX_QUERY_LENGTH], 1) if address.strip() else []
        if not places:
            raise BadRequest(Text(f"找不到地址：{address}", f"no place matches address_string {address!r}"),
                             field="address_string")
        lon, lat = places[0]["point"]
    description = _short(params, "description", 4000)
    first, last = _short(params, "first_name", 50), _short(params, "last_name", 50)
    phone = _short(params, "phone", 20)
    if phone and not set(phone) <= PHONE_CHARS:
        raise BadRequest(Text("电话号码格式不对", "phone: digits, +, -, (, ) and spaces only"), field="phone")
    email = _short(params, "email", 200)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise BadRequest(Text("email 格式不对", "email is not an e-mail address"), field="email") from None
    media = _short(params, "media_url", 500)
    if media:
        try:
            URLValidator(schemes=["http", "https"])(media)
        except ValidationError:
            raise BadRequest(Text("media_url 须为 http(s) 网址", "media_url must be an http(s) URL"),
                             field="media_url") from None
    attributes = {k[len("attribute["):-1]: str(v)[:500] for k, v in params.items()
                  if k.startswith("attribute[") and k.endswith("]")}
    # Chinese order: family name first. Without a name the report is the public's.
    name = (last + first).strip() or str(Text("群众", "member of the public"))
    with transaction.atomic():
        case = case_api.file_case(user=f"open311:{key.name}", category=category, lon=lon, lat=lat, crs="wgs84",
                                  reporter_name=name[:50], reporter_phone=phone, description=description,
                                  address=address, channel=Case.Channel.PUBLIC, uploads=uploads)
        Open311Request.objects.create(
            case=case, key=key, jurisdiction_id=_short(params, "jurisdiction_id", 100), email=email,
            device_id=_short(params, "device_id", 200), account_id=_short(params, "account_id", 200),
            first_name=first, last_name=last, address_string=address,
            address_id=_short(params, "address_id", 100), media_url=media, attributes=attributes)
        Open311Key.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return case


def submitted(case: Case) -> dict:
    """The POST answer for one request: its id at once (realtime services) and the token with
    which the reporter follows it (tokens/{token}, /api/v1/cases/public/{token})."""
    return {"service_request_id": case.number, "token": case.public_token, "service_notice": service_notice(case),
            "account_id": None}


def service_notice(case: Case) -> str:
    days = case_api.workflow.clocks.working_days_for(case.severity)
    if case.outside:
        return str(Text("位置不在本县范围内，已转指挥中心研判", "the location is outside the county; the command "
                                                               "centre will decide who handles it"))
    return str(Text(f"已受理，一般 {days} 个工作日内办结" if days else "已受理，当日办结",
                    f"received; usually resolved within {days} working days" if days
                    else "received; resolved the same working day"))
