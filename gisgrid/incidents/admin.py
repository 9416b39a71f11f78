from django.contrib import admin

from gisgrid.boundaries.admin import AuditedAdmin, AuditedGeoAdmin

from .models import Category, Report


@admin.register(Category)
class CategoryAdmin(AuditedAdmin):
    list_display = ["code", "name", "standard_class", "severity", "rule", "lead_unit", "active"]
    list_filter = ["severity", "rule", "standard_class", "active"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["lead_unit", "assisting_units"]


# The report's point in django-leaflet's widget (Leaflet from our own static files): Django's
# default geometry widget loads OpenLayers from a CDN, which a closed county network cannot reach.
@admin.register(Report)
class ReportAdmin(AuditedGeoAdmin):
    list_display = ["id", "created_at", "category", "status", "level1_code", "level2_code", "level3_code", "lead_unit"]
    list_filter = ["status", "location_status"]
    search_fields = ["description", "address", "level3_code", "level2_code"]
    raw_id_fields = ["category", "edition", "lead_unit"]
