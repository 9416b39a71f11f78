from __future__ import annotations

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
    phone = serializers.CharField(required=False)

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

    def get_parent_code(self, g: Grid):
        return g.parent.code if g.parent_id else None

    def get_unit(self, g: Grid):
        unit = g.unit
        if unit is None:
            return None
        data = {"code": unit.code, "name": unit.name, "kind": unit.kind}
        if can_see_personal_data(self.context["request"].user):
            data["phone"] = unit.phone
        return data

    def get_children(self, g: Grid):
        return [{"code": c.code, "name": c.name, "level": c.level} for c in g.children.order_by("code")]

    def get_chain(self, g: Grid):
        chain, node = [], g
        while node is not None:
            chain.append({"level": node.level, "code": node.code, "name": node.name})
            node = node.parent
        return list(reversed(chain))

    def get_staff(self, g: Grid):
        qs = GridAssignment.objects.filter(grid_code=g.code, person__active=True).select_related("person__unit")
        return StaffSerializer(qs, many=True, context=self.context).data

    def get_edition(self, g: Grid):
        return {"id": g.edition_id, "name": g.edition.name, "status": g.edition.status}
