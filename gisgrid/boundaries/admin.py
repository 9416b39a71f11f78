from django import forms
from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from gisgrid.audit.log import record

from .models import Edition, Grid, GridAssignment, Person, Place, Unit


class AuditedAdmin(admin.ModelAdmin):
    """Every change made in the admin lands in the audit trail too."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record(request.user, "admin.change" if change else "admin.add", obj, fields=list(form.changed_data))

    def delete_model(self, request, obj):
        record(request.user, "admin.delete", obj, repr=str(obj))
        super().delete_model(request, obj)


class AuditedGeoAdmin(LeafletGeoAdmin, AuditedAdmin):
    pass


@admin.register(Unit)
class UnitAdmin(AuditedAdmin):
    list_display = ["code", "name", "kind", "phone"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]


@admin.register(Person)
class PersonAdmin(AuditedAdmin):
    list_display = ["name", "role", "unit", "phone", "active"]
    list_filter = ["role", "active"]
    search_fields = ["name", "phone"]
    autocomplete_fields = ["unit"]


class GridAssignmentInline(admin.TabularInline):
    model = GridAssignment
    extra = 0
    autocomplete_fields = ["person"]


@admin.register(GridAssignment)
class GridAssignmentAdmin(AuditedAdmin):
    list_display = ["grid_code", "role", "person"]
    list_filter = ["role"]
    search_fields = ["grid_code", "person__name"]
    autocomplete_fields = ["person"]


@admin.register(Edition)
class EditionAdmin(AuditedAdmin):
    list_display = ["id", "name", "status", "valid_from", "valid_to", "version"]
    list_filter = ["status"]
    readonly_fields = ["status", "valid_from", "valid_to", "published_at", "published_by", "version"]
    exclude = ["county_geom"]


class GridForm(forms.ModelForm):
    """Refuses an invalid drawing, naming GEOS's reason and where: a validator reports, and the
    admin must not store what every edit on the draft would then refuse."""

    class Meta:
        model = Grid
        fields = "__all__"  # noqa: DJ007 (the admin's fieldsets decide what is shown)

    def clean_geom(self):
        from . import geometry
        from .validation import invalid_reason, where_text

        geom = self.cleaned_data.get("geom")
        if geom is not None:
            shape = geometry.from_geos(geom)
            if not shape.is_valid:
                reason, location = invalid_reason(shape)
                raise forms.ValidationError(f"无效图形 (invalid geometry): {reason}{where_text(location)}")
        return geom


@admin.register(Grid)
class GridAdmin(AuditedGeoAdmin):
    form = GridForm
    list_display = ["code", "name", "level", "kind", "unit", "edition", "area_m2"]
    list_filter = ["level", "kind", "edition"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["unit"]
    raw_id_fields = ["parent"]
    readonly_fields = ["area_m2"]

    def has_change_permission(self, request, obj=None):
        # Active and retired editions are history: only drafts may change, through the planner.
        if obj is not None and obj.edition.status != Edition.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        from . import geometry

        obj.area_m2 = geometry.area_m2(geometry.from_geos(obj.geom))
        super().save_model(request, obj, form, change)


@admin.register(Place)
class PlaceAdmin(AuditedGeoAdmin):
    list_display = ["name", "kind", "category", "aliases", "source"]
    list_filter = ["kind", "category", "source"]
    search_fields = ["name", "aliases"]
