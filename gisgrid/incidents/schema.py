"""What the routing and report endpoints answer, for the OpenAPI schema only."""

from __future__ import annotations

from rest_framework import serializers

from gisgrid.boundaries.datums import CRS_CHOICES
from gisgrid.boundaries.schema import CodeName, LocateAnswer, Place, Staff

REPORT_STATUS = ["open", "closed"]


class CategoryRef(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    severity = serializers.CharField()


class RouteAnswer(serializers.Serializer):
    """route(point, category) and the location it was decided on (gisgrid/incidents/routing.py)."""

    category = CategoryRef()
    limit_working_days = serializers.IntegerField(allow_null=True)
    rule = serializers.ChoiceField(["territorial", "department", "lead", "outside"])
    reason = serializers.CharField()
    lead_unit = CodeName(allow_null=True)
    assisting_units = CodeName(many=True)
    notify = Staff(many=True, help_text="the grid staff to notify")
    location = LocateAnswer()
    geocoded = Place(required=False, help_text="the gazetteer match, when an address was given")


class ReportInput(serializers.Serializer):
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    crs = serializers.ChoiceField(CRS_CHOICES)


class ReportGrids(serializers.Serializer):
    level1 = serializers.CharField(allow_null=True, allow_blank=True)
    level2 = serializers.CharField(allow_null=True, allow_blank=True)
    level3 = serializers.CharField(allow_null=True, allow_blank=True)


class ReportRouting(serializers.Serializer):
    edition = serializers.IntegerField(allow_null=True)
    location_status = serializers.CharField(allow_blank=True)
    grids = ReportGrids()
    lead_unit = CodeName(allow_null=True)
    assisting_units = CodeName(many=True)
    rule = serializers.CharField(allow_blank=True)
    limit_working_days = serializers.IntegerField(allow_null=True)


class Reporter(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField(allow_blank=True)


class CategoryName(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ReportAnswer(serializers.Serializer):
    """One report (report_api.report_dict); `reporter` only for roles that may read it."""

    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    status = serializers.ChoiceField(REPORT_STATUS)
    category = CategoryName()
    description = serializers.CharField(allow_blank=True)
    address = serializers.CharField(allow_blank=True)
    input = ReportInput()
    wgs84 = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)
    routing = ReportRouting()
    reporter = Reporter(required=False)
