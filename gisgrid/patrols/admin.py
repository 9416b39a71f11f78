from django.contrib import admin

from .models import Device, Position


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["identifier", "person", "user"]
    search_fields = ["identifier"]


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    list_display = ["device", "fix_time", "raw_crs", "level1_code", "level2_code", "level3_code"]
    raw_id_fields = ["device", "edition"]
