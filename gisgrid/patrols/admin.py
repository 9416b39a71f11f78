from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from gisgrid.audit import log

from .ingest import auth
from .models import Device, DeviceCounter, PatrolSession, Position, RejectedPosition


class CounterInline(admin.TabularInline):
    model = DeviceCounter
    extra = 0
    can_delete = False
    readonly_fields = ["name", "count"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["identifier", "person", "datum", "speed_unit", "active", "last_fix_time", "accepted_count"]
    list_filter = ["active", "datum", "speed_unit"]
    search_fields = ["identifier", "person__name"]
    raw_id_fields = ["person", "user"]
    exclude = ["token_hash", "dirty_start", "dirty_end"]
    readonly_fields = ["last_fix_time", "last_received_at", "last_point", "last_speed_mps", "last_battery",
                       "last_codes", "accepted_count", "created_at"]
    inlines = [CounterInline]
    actions = ["issue_token"]

    @admin.action(description=_("生成新令牌（旧令牌作废）"))
    def issue_token(self, request, queryset):
        # The token is shown once, here; only its hash is stored.
        for device in queryset:
            token = auth.set_token(device)
            device.save(update_fields=["token_hash"])
            log.record(request.user, "device.token_rotated", device)
            self.message_user(request, f"{device.identifier}: {token}", messages.WARNING)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        log.record(request.user, "device.changed" if change else "device.created", obj)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Position)
class PositionAdmin(ReadOnly):
    list_display = ["device", "fix_time", "source", "raw_crs", "location_status", "level3_code"]
    list_filter = ["source", "location_status"]
    search_fields = ["device__identifier", "level3_code"]
    show_full_result_count = False  # counting a partitioned table of millions is not free


@admin.register(RejectedPosition)
class RejectedPositionAdmin(ReadOnly):
    list_display = ["device", "received_at", "fix_time", "reasons", "detail"]
    search_fields = ["device__identifier"]


@admin.register(PatrolSession)
class PatrolSessionAdmin(ReadOnly):
    list_display = ["device", "person", "start", "end", "point_count", "distance_m"]
    search_fields = ["device__identifier", "person__name"]
