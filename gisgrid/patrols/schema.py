"""What the track and patrol endpoints answer, for the OpenAPI schema only.

Times are ISO-8601 in Asia/Shanghai (+08:00); distances metres; `null` where nothing is known
(a device that never sent a fix, a grid nobody visited).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gisgrid.api_schema import FEATURE, FEATURE_COLLECTION, EditionRef, Period, PersonRef, geojson_geometry
from gisgrid.boundaries.datums import CRS_CHOICES

from .ingest import filters

ITEM_STATUS = ["accepted", "duplicate", "rejected"]


class ItemOutcome(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(ITEM_STATUS)
    reasons = serializers.ListField(child=serializers.ChoiceField(filters.REASONS), required=False)
    detail = serializers.CharField(required=False)
    field = serializers.CharField(required=False, help_text="a malformed item: the field that was wrong")


class IngestAnswer(serializers.Serializer):
    """Per-item outcomes: every item of a request that got this far was kept (stored, found
    stored, or quarantined), so the answer is 200 whatever the outcomes (docs/ingest.md)."""

    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()
    items = ItemOutcome(many=True)


class GpxAnswer(IngestAnswer):
    device = serializers.CharField()
    datum = serializers.ChoiceField(CRS_CHOICES)
    points_read = serializers.IntegerField()
    ignored = serializers.IntegerField()


class GpxUpload(serializers.Serializer):
    file = serializers.FileField(help_text="GPX")
    device = serializers.CharField(required=False, help_text="设备号 of a registered device")
    person = serializers.CharField(required=False, help_text="人员 id or username; default: yourself")
    datum = serializers.ChoiceField(CRS_CHOICES, required=False, help_text="default wgs84")


class OsmAndForm(serializers.Serializer):
    """The OsmAnd fields in an urlencoded body (read when the query holds no position)."""

    id = serializers.CharField(required=False, help_text="设备号 (or `deviceid`)")
    token = serializers.CharField(required=False)
    lat = serializers.CharField(required=False)
    lon = serializers.CharField(required=False)
    location = serializers.CharField(required=False, help_text="lat,lon")
    timestamp = serializers.CharField(required=False)
    speed = serializers.CharField(required=False)
    bearing = serializers.CharField(required=False)
    altitude = serializers.CharField(required=False)
    accuracy = serializers.CharField(required=False)
    hdop = serializers.CharField(required=False)
    batt = serializers.CharField(required=False)
    valid = serializers.CharField(required=False)


class PlainPosition(serializers.Serializer):
    device_id = serializers.CharField(required=False, help_text="default: the batch's")
    token = serializers.CharField(required=False)
    time = serializers.JSONField(help_text="ISO-8601, or epoch s / ms")
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    accuracy = serializers.FloatField(required=False)
    speed = serializers.FloatField(required=False)
    bearing = serializers.FloatField(required=False)
    altitude = serializers.FloatField(required=False)
    battery = serializers.FloatField(required=False)


@extend_schema_field({"oneOf": [{"type": "object", "additionalProperties": {}},
                                {"type": "array", "items": {"type": "object", "additionalProperties": {}}}]})
class TraccarLocations(serializers.JSONField):
    pass


class PositionsRequest(serializers.Serializer):
    """Either Traccar Client's JSON (`device_id` and `location`, or a list of such objects) or
    the plain batch (`device_id`, `token`, `positions`). Each item is checked and answered on
    its own (a malformed one is `rejected` as `invalid`), so the fields are not enforced here."""

    device_id = serializers.CharField(required=False)
    token = serializers.CharField(required=False)
    location = TraccarLocations(required=False, help_text="Traccar Client: one location (timestamp, coords, "
                                                          "battery, …) or a list of them")
    positions = PlainPosition(many=True, required=False)


class LastPosition(serializers.Serializer):
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    speed_mps = serializers.FloatField(allow_null=True)
    battery = serializers.FloatField(allow_null=True)
    grids = serializers.ListField(child=serializers.CharField())


class DeviceInfo(serializers.Serializer):
    identifier = serializers.CharField()
    person = PersonRef(allow_null=True)
    datum = serializers.ChoiceField(CRS_CHOICES)
    speed_unit = serializers.CharField()
    active = serializers.BooleanField()
    tz = serializers.CharField()
    tz_default = serializers.BooleanField()
    live = serializers.BooleanField(help_text="false: GPX upload only")
    created_at = serializers.DateTimeField(allow_null=True)
    last_fix_time = serializers.DateTimeField(allow_null=True)
    last_fix_time_unreadable = serializers.CharField(required=False)
    last_received_at = serializers.DateTimeField(allow_null=True)
    last_position = LastPosition(allow_null=True)
    counters = serializers.DictField(child=serializers.IntegerField(), help_text="accepted, and per reason")


class DeviceList(serializers.Serializer):
    count = serializers.IntegerField()
    results = DeviceInfo(many=True)


class RawPoint(serializers.Serializer):
    lon = serializers.FloatField(allow_null=True)
    lat = serializers.FloatField(allow_null=True)


class Rejected(serializers.Serializer):
    id = serializers.IntegerField()
    device = serializers.CharField()
    received_at = serializers.DateTimeField()
    source = serializers.CharField()
    fix_time = serializers.DateTimeField(allow_null=True)
    fix_time_unreadable = serializers.CharField(required=False)
    raw = RawPoint()
    accuracy_m = serializers.FloatField(allow_null=True)
    reasons = serializers.ListField(child=serializers.ChoiceField(filters.REASONS))
    detail = serializers.CharField(allow_blank=True)
    payload = serializers.JSONField(allow_null=True)


class RejectedList(serializers.Serializer):
    count = serializers.IntegerField()
    results = Rejected(many=True)


class NoFixes(serializers.Serializer):
    """A person as coverage names them; the people who sent no fix are just that."""

    person_id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.CharField()


class Visitor(NoFixes):
    time_s = serializers.FloatField()
    distance_m = serializers.FloatField()
    first_seen = serializers.DateTimeField(allow_null=True)
    last_seen = serializers.DateTimeField(allow_null=True)




class Idle(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    duration_s = serializers.FloatField()
    lon = serializers.FloatField()
    lat = serializers.FloatField()


class OwnGrid(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField()
    visited = serializers.BooleanField()
    time_s = serializers.FloatField()
    distance_m = serializers.FloatField()
    first_seen = serializers.DateTimeField(allow_null=True)
    last_seen = serializers.DateTimeField(allow_null=True)


class GridCoverage(OwnGrid):
    """A grid's coverage: what a person's own grid shows, plus who walked it and how much of it."""

    visitors = Visitor(many=True)
    share = serializers.FloatField(help_text="share of the grid's area within `radius` m of a track, 0-1")


class PersonCoverage(NoFixes):
    grids_visited = serializers.IntegerField()
    grids = serializers.ListField(child=serializers.CharField())
    distance_m = serializers.FloatField()
    patrol_s = serializers.FloatField()
    sessions = serializers.IntegerField()
    fixes = serializers.IntegerField()
    idle = Idle(many=True)
    own_grids = OwnGrid(many=True)


class CoverageSummary(serializers.Serializer):
    grids = serializers.IntegerField()
    visited = serializers.IntegerField()
    unvisited = serializers.IntegerField()
    people = serializers.IntegerField()


class CoverageAnswer(serializers.Serializer):
    period = Period()
    level = serializers.IntegerField()
    urban_only = serializers.BooleanField()
    radius_m = serializers.FloatField()
    role = serializers.CharField(allow_null=True)
    edition = EditionRef()
    summary = CoverageSummary()
    grids = GridCoverage(many=True)
    unvisited = serializers.ListField(child=serializers.CharField(), help_text="grid codes")
    people = PersonCoverage(many=True)
    no_fixes = NoFixes(many=True, help_text="asked by role: who of it sent no fix in the period")


class ScheduleRule(serializers.Serializer):
    role = serializers.CharField(allow_null=True)
    level = serializers.IntegerField(allow_null=True)
    urban_only = serializers.BooleanField()
    every_days = serializers.IntegerField()
    min_visits = serializers.IntegerField()


class WindowVisits(Period):
    visits = serializers.IntegerField()
    met = serializers.BooleanField()


class GridSchedule(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    met = serializers.BooleanField()
    windows = WindowVisits(many=True)


class ScheduleSummary(serializers.Serializer):
    grids = serializers.IntegerField()
    met = serializers.IntegerField()
    unmet = serializers.IntegerField()


class ScheduleAnswer(serializers.Serializer):
    period = Period()
    rule = ScheduleRule()
    edition = EditionRef()
    windows = Period(many=True)
    summary = ScheduleSummary()
    grids = GridSchedule(many=True)


class GridName(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class LivePerson(serializers.Serializer):
    person = PersonRef()
    device = serializers.CharField()
    time = serializers.DateTimeField()
    age_s = serializers.IntegerField()
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    grids = GridName(many=True)
    speed_mps = serializers.FloatField(allow_null=True)
    battery = serializers.FloatField(allow_null=True)


class LiveAnswer(serializers.Serializer):
    since = serializers.DateTimeField()
    count = serializers.IntegerField()
    people = LivePerson(many=True)


class RunProperties(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    fixes = serializers.IntegerField()
    distance_m = serializers.FloatField()
    duration_s = serializers.IntegerField()
    times = serializers.ListField(child=serializers.IntegerField(), help_text="epoch ms, one per coordinate")


class RunFeature(serializers.Serializer):
    type = serializers.ChoiceField(FEATURE)
    geometry = geojson_geometry(help_text="LineString, or a Point for a single fix")
    properties = RunProperties()


class TrackAnswer(serializers.Serializer):
    type = serializers.ChoiceField(FEATURE_COLLECTION)
    person = PersonRef()
    period = Period()
    features = RunFeature(many=True)


class Session(serializers.Serializer):
    id = serializers.IntegerField()
    device = serializers.CharField()
    person = PersonRef(allow_null=True)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    duration_s = serializers.IntegerField()
    fixes = serializers.IntegerField()
    distance_m = serializers.FloatField()
    line = geojson_geometry()


class SessionsAnswer(serializers.Serializer):
    count = serializers.IntegerField()
    sessions = Session(many=True)
