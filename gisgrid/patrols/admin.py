from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gisgrid.audit import log

from .ingest import auth
from .ingest.times import readable, unreadable_text
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
    list_display = ["identifier", "person", "datum", "speed_unit", "tz", "active", "last_fix", "accepted_count"]
    list_filter = ["active", "datum", "speed_unit"]
    search_fields = ["identifier", "person__name"]
    raw_id_fields = ["person", "user"]
    exclude = ["token_hash", "dirty_start", "dirty_end", "last_fix_time"]
    readonly_fields = ["last_fix", "last_received_at", "last_point", "last_speed_mps", "last_battery",
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

    def get_queryset(self, request):
        # The dirty span is never shown; the last fix time is read through readable() (see last_fix).
        return (super().get_queryset(request).defer("dirty_start", "dirty_end", "last_fix_time")
                .annotate(last_fix_readable=readable("last_fix_time"),
                          last_fix_text=unreadable_text("last_fix_time")))

    @admin.display(description=_("最后定位时间"), ordering="last_fix_time")
    def last_fix(self, obj):
        return shown_time(getattr(obj, "last_fix_readable", None), getattr(obj, "last_fix_text", None))

    def save_model(self, request, obj, form, change):
        if change:
            # Only what the form changed: the last position and the counters on the row move with
            # every fix ingest stores, and the values this form loaded are already stale.
            obj.save(update_fields=form.changed_data)
        else:
            super().save_model(request, obj, form, change)
        log.record(request.user, "device.changed" if change else "device.created", obj,
                   **({"changed": form.changed_data} if change else {}))


def shown_time(value, text: str | None) -> str:
    """A stored time for display: local time, or PostgreSQL's text of a time Python cannot hold
    (written before ingest bounded fix times), so one such row never breaks a page."""
    if value is not None:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S%z")
    return f"{text} (无法读取 unreadable)" if text else "-"


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
    list_display = ["device", "received_at", "fix", "reasons", "detail"]
    search_fields = ["device__identifier"]
    fields = ["device", "received_at", "source", "fix", "raw_lon", "raw_lat", "accuracy_m", "reasons", "detail",
              "payload"]
    readonly_fields = fields

    def get_queryset(self, request):
        # Only the device's identifier is shown: its other columns are not loaded either.
        return (super().get_queryset(request).select_related("device")
                .only(*[f.name for f in RejectedPosition._meta.concrete_fields if f.name != "fix_time"],
                      "device__identifier")
                .annotate(fix_readable=readable("fix_time"), fix_text=unreadable_text("fix_time")))

    @admin.display(description=_("定位时间"), ordering="fix_time")
    def fix(self, obj):
        return shown_time(getattr(obj, "fix_readable", None), getattr(obj, "fix_text", None))


@admin.register(PatrolSession)
class PatrolSessionAdmin(ReadOnly):
    list_display = ["device", "person", "start", "end", "point_count", "distance_m"]
    search_fields = ["device__identifier", "person__name"]
