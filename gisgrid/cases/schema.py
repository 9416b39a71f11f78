"""Request and answer shapes of the case API (gisgrid/cases/api.py), typed for the OpenAPI schema.

Request serializers here also validate: the views read `validated_data` from them. Answer
serializers describe the dicts `api.case_dict` and friends build; fields some callers never
get (the reporter, EXIF positions, originals, staff names) are `required=False`.
"""

from __future__ import annotations

from rest_framework import serializers

from gisgrid.boundaries.datums import CRS_CHOICES
from gisgrid.boundaries.schema import CodeName
from gisgrid.incidents.fields import category_field
from gisgrid.incidents.models import Category
from gisgrid.incidents.schema import Reporter, ReportGrids, ReportInput

from .models import Case, Photo, WorkOrder

PHONE_RE = r"^[0-9+\-() ]{5,20}$"
# Plain strings in the schema where another component already uses the field name for other
# choices (an incidents `severity`, validation findings' `severity`): enum names must not clash.
SEVERITIES = tuple(Category.Severity.values)
SEVERITY_HELP = "事项等级 (severity): " + ", ".join(SEVERITIES)
REASON_MAX = 500


# -- requests ------------------------------------------------------------------------------------

class VersionIn(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, help_text="读到的案件版本 (the case version you read)")


class ReasonIn(VersionIn):
    reason = serializers.CharField(max_length=REASON_MAX, help_text="原因，必填 (reason, required)")


class PhotosField(serializers.ListField):
    """Uploaded photos (multipart, repeat the field); checked by content in gisgrid/cases/photos.py."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", serializers.FileField(allow_empty_file=True, use_url=False))
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "照片，每环节最多 9 张，JPEG/PNG/WebP (photos, up to 9 per stage; multipart, repeat the field)")
        super().__init__(**kwargs)


class CaseCreateIn(serializers.Serializer):
    """A grid member's or inspector's report (multipart when photos come with it)."""

    category = category_field()
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default="wgs84")
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    photos = PhotosField()


class HotlineIn(serializers.Serializer):
    """A call to the hotline desk: the caller, and a spoken address or a point in any datum."""

    category = category_field()
    caller_name = serializers.CharField(max_length=50)
    caller_phone = serializers.RegexField(PHONE_RE, help_text="来电号码 (the caller's phone)")
    address = serializers.CharField(max_length=60, required=False, allow_blank=True,
                                    help_text="口述地址，由地名库定位 (spoken address; the gazetteer places it)")
    lon = serializers.FloatField(required=False)
    lat = serializers.FloatField(required=False)
    crs = serializers.ChoiceField(choices=CRS_CHOICES, default="wgs84")
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    photos = PhotosField()

    def validate(self, data):
        has_lon, has_lat = data.get("lon") is not None, data.get("lat") is not None
        if has_lon != has_lat:
            raise serializers.ValidationError({"lat" if has_lon else "lon": ["lon 和 lat 需同时给出 (give both lon and lat)"]})
        if not has_lon and not (data.get("address") or "").strip():
            raise serializers.ValidationError({"address": ["需要口述地址或 lon+lat (give an address or lon and lat)"]})
        return data


class AcceptIn(VersionIn):
    severity = serializers.CharField(required=False, max_length=20,
                                     help_text=f"事项等级 {'/'.join(SEVERITIES)}；默认按事项清单 (default: the matter list's)")

    def validate_severity(self, value: str) -> str:
        if value not in SEVERITIES:
            raise serializers.ValidationError(f"未知事项等级 (unknown severity; one of {', '.join(SEVERITIES)})")
        return value
    lead_unit = serializers.CharField(max_length=30, required=False, help_text="主办单位编码；默认按路由")
    assisting_units = serializers.ListField(child=serializers.CharField(max_length=30), required=False,
                                            max_length=20, help_text="协办单位编码")


class UnitIn(VersionIn):
    unit = serializers.CharField(max_length=30, required=False,
                                 help_text="单位编码；本人只属一个单位时可省略 (unit code; optional with one unit)")


class CompleteIn(UnitIn):
    result_text = serializers.CharField(max_length=4000, help_text="处置结果 (what was done)")
    document = serializers.FileField(required=False, allow_empty_file=False, use_url=False,
                                     help_text="签章回复 (the signed reply as a file, PDF or image)")
    photos = PhotosField()


class VerifyIn(VersionIn):
    satisfied = serializers.BooleanField(help_text="核查结果：满意/不满意 (revisit: satisfied or not)")
    reason = serializers.CharField(max_length=REASON_MAX, required=False, allow_blank=True)
    photos = PhotosField()


class ReturnIn(UnitIn):
    reason = serializers.CharField(max_length=REASON_MAX)


class ExtensionIn(UnitIn):
    days = serializers.IntegerField(min_value=1, max_value=30, help_text="延期工作日 (working days)")
    reason = serializers.CharField(max_length=REASON_MAX)


class DecideIn(VersionIn):
    approve = serializers.BooleanField()
    reason = serializers.CharField(max_length=REASON_MAX, required=False, allow_blank=True)


class SuperviseIn(VersionIn):
    reason = serializers.CharField(max_length=REASON_MAX, required=False, allow_blank=True,
                                   help_text="督办原因，督办时必填 (required to flag)")
    active = serializers.BooleanField(default=True, help_text="false 取消督办 (false lifts the flag)")


class MergeIn(VersionIn):
    into = serializers.CharField(max_length=20, help_text="合并到的案件编号 (the case this one duplicates)")


class EmptyIn(serializers.Serializer):
    """No body."""


# -- answers -------------------------------------------------------------------------------------

class CategoryOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    severity = serializers.CharField(help_text=SEVERITY_HELP)


class RoutingOut(serializers.Serializer):
    edition = serializers.IntegerField(allow_null=True)
    location_status = serializers.CharField(allow_blank=True)
    grids = ReportGrids()
    rule = serializers.CharField(allow_blank=True)
    lead_unit = CodeName(allow_null=True)
    assisting_units = CodeName(many=True)


class UnitsOut(serializers.Serializer):
    lead = CodeName(allow_null=True)
    assisting = CodeName(many=True)


class ClockOut(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Case.Stage.choices)
    clock = serializers.ChoiceField(choices=Case.Clock.choices)
    stage_started = serializers.DateTimeField(allow_null=True)
    stage_due = serializers.DateTimeField(allow_null=True)
    dispatch_due = serializers.DateTimeField(allow_null=True)
    complete_due = serializers.DateTimeField(allow_null=True)
    limit_working_days = serializers.IntegerField()
    extended_days = serializers.IntegerField()
    paused = serializers.BooleanField()
    paused_since = serializers.DateTimeField(allow_null=True)
    paused_seconds = serializers.FloatField()
    calendar_fallback = serializers.BooleanField(help_text="时限用了周一至周五推算（缺官方日历） (Mon–Fri fallback used)")


class DocumentOut(serializers.Serializer):
    url = serializers.CharField()
    name = serializers.CharField()


class WorkOrderOut(serializers.Serializer):
    id = serializers.IntegerField()
    unit = CodeName()
    role = serializers.ChoiceField(choices=WorkOrder.Role.choices)
    round = serializers.IntegerField()
    work_state = serializers.ChoiceField(choices=WorkOrder.State.choices)
    dispatched_at = serializers.DateTimeField()
    ack_due = serializers.DateTimeField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    on_site_due = serializers.DateTimeField(allow_null=True)
    on_site_at = serializers.DateTimeField(allow_null=True)
    due = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    result_text = serializers.CharField(allow_blank=True)
    return_reason = serializers.CharField(allow_blank=True)
    document = DocumentOut(allow_null=True, required=False, help_text="signed reply; not for the public")


class ExtensionOut(serializers.Serializer):
    id = serializers.IntegerField()
    days = serializers.IntegerField()
    reason = serializers.CharField()
    decision = serializers.ChoiceField(choices=[("requested", "requested"), ("approved", "approved"),
                                                ("rejected", "rejected")])
    requested_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField(allow_blank=True)
    unit = CodeName(allow_null=True)


class EventOut(serializers.Serializer):
    at = serializers.DateTimeField()
    action = serializers.CharField()
    from_state = serializers.CharField(allow_blank=True)
    to_state = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    version = serializers.IntegerField()
    actor = serializers.CharField(allow_null=True, required=False,
                                  help_text="操作人；公众看不到工作人员姓名 (never shown to the public)")


class ExifOut(serializers.Serializer):
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    distance_m = serializers.FloatField(allow_null=True)
    flagged = serializers.BooleanField(help_text="照片位置与上报位置相距超过 200 米 (more than 200 m apart)")


class PhotoOut(serializers.Serializer):
    id = serializers.IntegerField()
    stage = serializers.CharField(help_text="上报/处置/核查 (" + ", ".join(Photo.Stage.values) + ")")
    content_type = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    at = serializers.DateTimeField()
    thumbnail = serializers.CharField(help_text="URL, JPEG, no metadata")
    public = serializers.CharField(help_text="URL, EXIF removed")
    original = serializers.CharField(required=False, help_text="URL, as uploaded; staff only")
    exif = ExifOut(required=False, allow_null=True, help_text="EXIF GPS position; staff only")


class CaseRow(serializers.Serializer):
    """One case in a list or queue."""

    number = serializers.CharField()
    state = serializers.ChoiceField(choices=Case.State.choices)
    version = serializers.IntegerField()
    channel = serializers.ChoiceField(choices=Case.Channel.choices)
    category = CategoryOut()
    severity = serializers.CharField(help_text=SEVERITY_HELP)
    round = serializers.IntegerField()
    address = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    wgs84 = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)
    grid = serializers.CharField(allow_blank=True)
    lead_unit = CodeName(allow_null=True)
    clock = serializers.ChoiceField(choices=Case.Clock.choices)
    stage = serializers.ChoiceField(choices=Case.Stage.choices)
    stage_due = serializers.DateTimeField(allow_null=True)
    supervised = serializers.BooleanField()
    paused = serializers.BooleanField()
    outside = serializers.BooleanField()
    duplicate_of = serializers.CharField(allow_null=True)
    reported_at = serializers.DateTimeField()


class CasePage(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    results = CaseRow(many=True)


class CaseDetail(CaseRow):
    """One case with its timeline, photos, clocks, work orders and what the caller may do."""

    input = ReportInput()
    routing = RoutingOut()
    units = UnitsOut()
    clock_detail = ClockOut()
    supervised_reason = serializers.CharField(allow_blank=True)
    pause_reason = serializers.CharField(allow_blank=True)
    void_reason = serializers.CharField(allow_blank=True)
    result_text = serializers.CharField(allow_blank=True)
    satisfied = serializers.BooleanField(allow_null=True)
    times = serializers.DictField(child=serializers.DateTimeField(allow_null=True),
                                  help_text="accepted_at, dispatched_at, … archived_at, voided_at")
    work_orders = WorkOrderOut(many=True)
    extensions = ExtensionOut(many=True)
    timeline = EventOut(many=True)
    photos = PhotoOut(many=True)
    allowed_actions = serializers.ListField(child=serializers.CharField(),
                                            help_text="what the caller may do now (POST cases/{number}/{action})")
    reporter = Reporter(required=False, help_text="only for roles that may read it")


class WorkOrderRow(WorkOrderOut):
    case = CaseRow()


class WorkOrderPage(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    results = WorkOrderRow(many=True)


class NoticeOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    subject = serializers.CharField()
    body = serializers.CharField(allow_blank=True)
    case = serializers.CharField(allow_null=True, help_text="案件编号 (case number)")
    created_at = serializers.DateTimeField()
    read = serializers.BooleanField()


class InboxReadIn(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, max_length=1000,
                                help_text="要标记已读的通知；省略则全部 (omit: all unread)")


class InboxReadOut(serializers.Serializer):
    marked = serializers.IntegerField()
    unread = serializers.IntegerField()


class NoticePage(serializers.Serializer):
    count = serializers.IntegerField()
    unread = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    results = NoticeOut(many=True)


class DuplicateOut(serializers.Serializer):
    number = serializers.CharField()
    state = serializers.ChoiceField(choices=Case.State.choices)
    category = CategoryOut()
    distance_m = serializers.FloatField()
    reported_at = serializers.DateTimeField()
    address = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)


class DuplicatesOut(serializers.Serializer):
    number = serializers.CharField()
    suggestions = DuplicateOut(many=True)
