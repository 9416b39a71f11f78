"""Admin: cases are read-mostly (the workflow changes them, with its checks and audit trail);
clock limits are edited here; the outbox can be inspected and failed notices retried."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import notices
from .models import Case, CaseEvent, ClockAlert, ClockLimit, Extension, Notice, Photo, WorkOrder


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EventInline(ReadOnlyInline):
    model = CaseEvent
    fields = ("at", "actor_name", "action", "from_state", "to_state", "reason", "version")
    readonly_fields = fields
    ordering = ("at", "id")
    verbose_name_plural = _("办理记录（时间线）")


class WorkOrderInline(ReadOnlyInline):
    model = WorkOrder
    fields = ("round", "unit", "role", "state", "dispatched_at", "ack_due", "acknowledged_at", "on_site_due",
              "on_site_at", "due", "completed_at", "return_reason", "signed_document")
    readonly_fields = fields


class ExtensionInline(ReadOnlyInline):
    model = Extension
    fields = ("requested_at", "days", "reason", "state", "decided_at", "decision_reason")
    readonly_fields = fields


class PhotoInline(ReadOnlyInline):
    model = Photo
    fields = ("stage", "thumbnail", "content_type", "size", "width", "height", "exif_distance_m", "at")
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = ("number", "category", "state", "clock", "channel", "severity", "lead_unit", "round",
                    "supervised", "paused", "outside", "calendar_fallback", "reported_at", "complete_due")
    list_filter = ("state", "clock", "channel", "severity", "supervised", "paused", "outside", "calendar_fallback")
    search_fields = ("number", "report__description", "report__address", "category__name")
    date_hierarchy = "reported_at"
    list_select_related = ("category", "lead_unit")
    inlines = [WorkOrderInline, ExtensionInline, PhotoInline, EventInline]
    # Every change goes through the workflow (checks, version, timeline, audit): view only here.
    readonly_fields = [f.name for f in Case._meta.fields] + ["assisting_units"]

    def has_add_permission(self, request):
        # Cases come from reports (the API, the hotline desk, Open311, import_cases), never by hand.
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ClockLimit)
class ClockLimitAdmin(admin.ModelAdmin):
    list_display = ("key", "minutes")
    list_editable = ("minutes",)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.action(description=_("重新发送所选失败通知"))
def retry(modeladmin, request, queryset):
    n = notices.retry_failed(list(queryset.values_list("pk", flat=True)))
    modeladmin.message_user(request, _("已重新排队 %(n)d 条通知") % {"n": n}, messages.SUCCESS)


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "subject", "recipient_user", "recipient_unit", "recipient_role", "channel",
                    "state", "attempts", "next_attempt_at", "sent_at")
    list_filter = ("state", "channel", "kind")
    search_fields = ("subject", "body", "case__number")
    readonly_fields = [f.name for f in Notice._meta.fields]
    actions = [retry]

    def has_add_permission(self, request):
        return False


@admin.register(ClockAlert)
class ClockAlertAdmin(admin.ModelAdmin):
    list_display = ("at", "case", "stage", "level", "round")
    list_filter = ("level", "stage")
    search_fields = ("case__number",)
    readonly_fields = ("at", "case", "stage", "level", "round")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
