"""What GET /api/v1/geocode answers, for the OpenAPI schema only (geocode_api renders it)."""

from __future__ import annotations

from rest_framework import serializers

from gisgrid.api_schema import LOCATE_STATUS, GridRef

from .datums import CRS_CHOICES
from .schema import UnitRef
from .serializers import StaffSerializer as Staff


class AdminPart(serializers.Serializer):
    level = serializers.ChoiceField(["province", "city", "county", "town", "village"])
    name = serializers.CharField()


class ParsedParts(serializers.Serializer):
    admin = AdminPart(many=True, help_text="the administrative chain the caller named, in order")
    core = serializers.CharField(allow_blank=True, help_text="what was matched against the place names")
    number = serializers.DictField(child=serializers.JSONField(),
                                   help_text="building, unit, floor, room, house, group: as numbers where they are")
    gate = serializers.CharField(allow_blank=True, help_text="东门, 北门口 ...")
    relative = serializers.ListField(child=serializers.CharField(), help_text="附近, 对面, 往东200米 ...")
    intersection = serializers.ListField(child=serializers.CharField(), allow_null=True,
                                         help_text="the two streets of 'A与B交叉口'")


class Outside(serializers.Serializer):
    name = serializers.CharField()
    city = serializers.CharField(allow_blank=True)
    province = serializers.CharField()


class GeocodePlace(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField(help_text="compound, street, village, community, town, landmark, intersection")
    kind_label = serializers.CharField(help_text="for a landmark, its category's label (医院, 学校 ...)")
    category = serializers.CharField(allow_blank=True, help_text="landmark category: school, hospital, ...")
    aliases = serializers.ListField(child=serializers.CharField())
    point = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2, help_text="WGS-84")
    point_crs = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2,
                                      help_text="the point in the asked datum (crs)")
    score = serializers.FloatField(help_text="0-1, how sure: 1 is the exact name")
    parsed = ParsedParts(allow_null=True)
    streets = serializers.ListField(child=serializers.CharField(), required=False, help_text="intersection: its streets")
    status = serializers.ChoiceField(LOCATE_STATUS, required=False)
    grids = GridRef(many=True, required=False)
    unit = UnitRef(allow_null=True, required=False)
    staff = Staff(many=True, required=False)


class GeocodeResponse(serializers.Serializer):
    query = serializers.CharField()
    crs = serializers.ChoiceField(CRS_CHOICES)
    count = serializers.IntegerField()
    results = GeocodePlace(many=True)
    parsed = ParsedParts(allow_null=True)
    did_you_mean = serializers.ListField(child=serializers.CharField(), help_text="other places nearly as likely")
    outside = Outside(allow_null=True, help_text="the query names a place outside the county")
    note = serializers.CharField(allow_blank=True, help_text="why there is no (sure) answer, in both languages")
