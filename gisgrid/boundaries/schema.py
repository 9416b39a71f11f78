"""What the grid, locate and editions endpoints answer, for the OpenAPI schema only.

The views render these answers (locate's from its typed `PointAnswer`, in locate_api); the
serializers here describe them so a generated client gets typed fields. Fields that some answers leave out are `required=False`,
fields that can be null are `allow_null`.
"""

from __future__ import annotations

from rest_framework import serializers

from gisgrid.api_schema import (
    EDITION_STATUS,
    FEATURE,
    FEATURE_COLLECTION,
    LOCATE_STATUS,
    AutoSchema,
    EditionRef,
    EditionState,
    Finding,
    GridRef,
    geojson_geometry,
)

from .datums import CRS_CHOICES
from .serializers import EditionSerializer
from .serializers import StaffSerializer as Staff


class GridProperties(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField()
    kind = serializers.CharField()
    parent_code = serializers.CharField(allow_null=True)
    unit = serializers.CharField(allow_null=True, help_text="负责单位名称 responsible unit's name")
    area_m2 = serializers.FloatField()
    urban = serializers.BooleanField()


class GridFeature(serializers.Serializer):
    type = serializers.ChoiceField(FEATURE)
    id = serializers.CharField()
    properties = GridProperties()
    geometry = geojson_geometry(allow_null=True)


class GridFeatureCollection(serializers.Serializer):
    type = serializers.ChoiceField(FEATURE_COLLECTION)
    edition = EditionState()
    features = GridFeature(many=True)


class CountyProperties(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField()
    kind = serializers.ChoiceField(["county"])


class CountyFeature(serializers.Serializer):
    type = serializers.ChoiceField(FEATURE)
    properties = CountyProperties()
    geometry = geojson_geometry(allow_null=True)


class CountyFeatureCollection(serializers.Serializer):
    type = serializers.ChoiceField(FEATURE_COLLECTION)
    features = CountyFeature(many=True)


class UnitRef(serializers.Serializer):  # a unit as locate gives it
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    phone = serializers.CharField(required=False, allow_blank=True, help_text="only for roles that need it")


class Candidate(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField()
    distance_m = serializers.FloatField()


class Nearest(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    distance_m = serializers.FloatField(help_text="metres to the grid's boundary, always finite: in the metric CRS "
                                                  "near the county, geodesic (WGS-84) beyond 100 km of it")


class CodeName(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class LocateInput(serializers.Serializer):
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    crs = serializers.ChoiceField(CRS_CHOICES)


class LocateAnswer(serializers.Serializer):
    """One located point (locate.PointAnswer rendered by locate_api.answer_json). Without details
    (batch `details: false`) only status, input, wgs84, edition and grids are given."""

    status = serializers.ChoiceField(LOCATE_STATUS)
    input = LocateInput()
    wgs84 = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)
    edition = EditionRef()
    grids = GridRef(many=True)
    unit = UnitRef(allow_null=True, required=False)
    staff = Staff(many=True, required=False)
    near_boundary = serializers.BooleanField(required=False)
    candidates = Candidate(many=True, required=False)
    blind_spot_of = CodeName(required=False, help_text="blind_spot: the community")
    nearest = Nearest(required=False, help_text="outside: the nearest level-1 grid")
    swapped_inside = serializers.BooleanField(required=False, help_text="outside: would lat/lon swapped land inside")


class LocateBatchRequest(serializers.Serializer):
    crs = serializers.ChoiceField(CRS_CHOICES, default="wgs84")
    points = serializers.ListField(child=serializers.ListField(child=serializers.FloatField(), min_length=2,
                                                               max_length=2), min_length=1)
    tolerance_m = serializers.FloatField(min_value=0, max_value=500, default=20.0)
    details = serializers.BooleanField(default=True)
    edition = serializers.IntegerField(min_value=1, required=False)


class LocateBatchAnswer(serializers.Serializer):
    edition = EditionRef()
    count = serializers.IntegerField()
    results = LocateAnswer(many=True)


class Place(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    aliases = serializers.ListField(child=serializers.CharField())
    point = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)
    score = serializers.FloatField()
    status = serializers.ChoiceField(LOCATE_STATUS, required=False)
    grids = GridRef(many=True, required=False)


class EditionDetail(EditionSerializer):
    grids = serializers.DictField(child=serializers.IntegerField(), help_text='grids per level, {"1": 14, …}')

    class Meta(EditionSerializer.Meta):
        fields = [*EditionSerializer.Meta.fields, "grids"]


class EditionVersion(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    status = serializers.ChoiceField(EDITION_STATUS)


class ValidationAnswer(serializers.Serializer):
    edition = EditionVersion()
    errors = serializers.IntegerField()
    warnings = serializers.IntegerField()
    findings = Finding(many=True)


class EditRequest(serializers.Serializer):
    """The body of an edit; which keys it needs depends on the operation (docs/api.md)."""

    version = serializers.IntegerField(help_text="the draft version you read")
    code = serializers.CharField(required=False, help_text="assign, reshape, split")
    geometry = geojson_geometry(required=False, help_text="assign, reshape: GeoJSON (Polygon or Feature)")
    line = geojson_geometry(required=False, help_text="split: a GeoJSON LineString")
    name = serializers.CharField(required=False, help_text="split: the new grid's name")
    keep = serializers.CharField(required=False, help_text="merge")
    other = serializers.CharField(required=False, help_text="merge")


class EditAnswer(serializers.Serializer):
    """Each edit's own result keys (changed codes, clipped_m2, …) plus the draft's validation."""

    changed = serializers.ListField(child=serializers.CharField(), required=False)
    version = serializers.IntegerField()
    errors = serializers.IntegerField()
    findings = Finding(many=True)


class ImportRequest(serializers.Serializer):
    file = serializers.FileField(help_text=".geojson, .json, .gpkg or .zip (Shapefile), at most 50 MB")
    version = serializers.IntegerField()
    level = serializers.ChoiceField(["1", "2", "3"], required=False)
    map = serializers.CharField(required=False, help_text="field map, e.g. code=CODE,name=NAME")
    gcj02 = serializers.BooleanField(required=False)
    repair = serializers.BooleanField(required=False)


class Repair(serializers.Serializer):
    code = serializers.CharField()
    feature = serializers.CharField()
    reason = serializers.CharField()
    location = serializers.ListField(child=serializers.FloatField(), allow_null=True)
    parts_before = serializers.IntegerField()
    parts_after = serializers.IntegerField()
    holes_before = serializers.IntegerField()
    holes_after = serializers.IntegerField()
    area_before_m2 = serializers.FloatField()
    area_after_m2 = serializers.FloatField()
    lost_m2 = serializers.FloatField()
    gained_m2 = serializers.FloatField()


class ImportAnswer(EditAnswer):
    warnings = serializers.ListField(child=serializers.CharField())
    repairs = Repair(many=True)


class PublishRequest(serializers.Serializer):
    version = serializers.IntegerField(required=False)
    reroute = serializers.BooleanField(required=False, help_text="re-route open reports to the new grids")


class Change(serializers.Serializer):
    seq = serializers.IntegerField()
    op = serializers.CharField()
    params = serializers.DictField()
    undone = serializers.BooleanField()
    at = serializers.DateTimeField()
    by = serializers.CharField(allow_null=True)
    codes = serializers.ListField(child=serializers.CharField())


class AreaFrom(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    area_m2 = serializers.FloatField()


class DiffProperties(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField()
    diff = serializers.ChoiceField(["gained", "lost"])
    area_m2 = serializers.FloatField()


class DiffFeature(serializers.Serializer):
    type = serializers.ChoiceField(FEATURE)
    geometry = geojson_geometry()
    properties = DiffProperties()


class DiffFeatureCollection(serializers.Serializer):
    type = serializers.ChoiceField(FEATURE_COLLECTION)
    features = DiffFeature(many=True)


class RoutedItem(serializers.Serializer):
    """A routed item (today a report) a redraw or blind spot touches; only those the caller may
    read are listed (docs/permissions.md)."""

    type = serializers.ChoiceField(["report"])
    id = serializers.IntegerField()
    category = serializers.CharField()
    status = serializers.CharField()
    grid_code = serializers.CharField(allow_null=True, allow_blank=True)
    edition = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    point = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)


class GridChange(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField()
    change = serializers.ChoiceField(["added", "retired", "changed"])
    area_gained_m2 = serializers.FloatField()
    area_lost_m2 = serializers.FloatField()
    gained_from = AreaFrom(many=True)
    old_area_m2 = serializers.FloatField()
    new_area_m2 = serializers.FloatField()


class StaffAffected(serializers.Serializer):
    grid_code = serializers.CharField()
    role = serializers.CharField()
    name = serializers.CharField()


class DiffAnswer(serializers.Serializer):
    old = EditionState()
    new = EditionState()
    added = serializers.ListField(child=serializers.CharField(), help_text="grid codes")
    retired = serializers.ListField(child=serializers.CharField(), help_text="grid codes")
    changes = GridChange(many=True)
    staff_affected = StaffAffected(many=True)
    items_affected = RoutedItem(many=True)
    geojson = DiffFeatureCollection()


class DiffSchema(AutoSchema):
    """DiffView serves two URLs (`diff` and `diff.geojson`, told apart by `geojson_only`)."""

    def get_response_serializers(self):
        return DiffFeatureCollection if getattr(self.view, "geojson_only", False) else DiffAnswer

    def get_operation_id(self) -> str:
        return "editions_diff_geojson" if getattr(self.view, "geojson_only", False) else "editions_diff"


class BlindSpotProperties(serializers.Serializer):
    area_m2 = serializers.FloatField()
    community_code = serializers.CharField()
    community_name = serializers.CharField()
    items = RoutedItem(many=True)


class BlindSpotFeature(serializers.Serializer):
    type = serializers.ChoiceField(FEATURE)
    geometry = geojson_geometry()
    properties = BlindSpotProperties()


class BlindSpotCollection(serializers.Serializer):
    type = serializers.ChoiceField(FEATURE_COLLECTION)
    edition = EditionRef()
    features = BlindSpotFeature(many=True)
