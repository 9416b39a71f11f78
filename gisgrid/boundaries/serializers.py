from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField

from gisgrid.accounts.roles import can_see_personal_data

from .models import Edition, Grid, GridAssignment, Unit


class UnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["code", "name", "kind", "phone"]


class StaffSerializer(serializers.Serializer):
    """A grid's staff; the phone is personal data and only shown to roles that need it."""

    role = serializers.CharField()
    role_label = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField(allow_null=True)
    phone = serializers.CharField(required=False, allow_blank=True, help_text="only for roles that need it")

    def to_representation(self, a: GridAssignment):
        data = {
            "role": a.role,
            "role_label": a.get_role_display(),
            "name": a.person.name,
            "unit": a.person.unit.name if a.person.unit_id else None,
        }
        if can_see_personal_data(self.context["request"].user):
            data["phone"] = a.person.phone
        return data


class EditionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Edition
        fields = ["id", "name", "status", "based_on", "valid_from", "valid_to", "version", "note",
                  "created_at", "published_at", "county_code", "county_name"]
        read_only_fields = ["status", "valid_from", "valid_to", "version", "created_at", "published_at",
                            "county_code", "county_name"]


class GridUnit(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    phone = serializers.CharField(required=False, allow_blank=True, help_text="only for roles that need it")


class GridChild(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField()


class ChainLink(GridChild):
    """level 1 down to the grid itself"""


class GridEdition(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.ChoiceField(Edition.Status.choices)


class GridDetailSerializer(serializers.ModelSerializer):
    parent_code = serializers.SerializerMethodField()
    unit = serializers.SerializerMethodField()
    children = serializers.SerializerMethodField()
    chain = serializers.SerializerMethodField()
    staff = serializers.SerializerMethodField()
    edition = serializers.SerializerMethodField()
    # GeoJSON straight from the model's column by DRF-GIS, typed in the schema as its MultiPolygon.
    geometry = GeometryField(source="geom", read_only=True)

    class Meta:
        model = Grid
        fields = ["code", "name", "level", "kind", "urban", "parent_code", "area_m2", "unit", "chain",
                  "children", "staff", "edition", "geometry"]

    def get_parent_code(self, g: Grid) -> str | None:
        return g.parent.code if g.parent_id else None

    @extend_schema_field(GridUnit(allow_null=True))
    def get_unit(self, g: Grid):
        unit = g.unit
        if unit is None:
            return None
        data = {"code": unit.code, "name": unit.name, "kind": unit.kind}
        if can_see_personal_data(self.context["request"].user):
            data["phone"] = unit.phone
        return data

    @extend_schema_field(GridChild(many=True))
    def get_children(self, g: Grid):
        return [{"code": c.code, "name": c.name, "level": c.level} for c in g.children.order_by("code")]

    @extend_schema_field(ChainLink(many=True))
    def get_chain(self, g: Grid):
        chain, node = [], g
        while node is not None:
            chain.append({"level": node.level, "code": node.code, "name": node.name})
            node = node.parent
        return list(reversed(chain))

    @extend_schema_field(StaffSerializer(many=True))
    def get_staff(self, g: Grid):
        qs = GridAssignment.objects.filter(grid_code=g.code, person__active=True).select_related("person__unit")
        return StaffSerializer(qs, many=True, context=self.context).data

    @extend_schema_field(GridEdition())
    def get_edition(self, g: Grid):
        return {"id": g.edition_id, "name": g.edition.name, "status": g.edition.status}
