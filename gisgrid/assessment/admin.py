"""The admin edits rules (weights, thresholds: checked by Rule.clean) and the dated grid
assignments; entries, quota weeks, bulletins and reports are read-only records."""

from django.contrib import admin

from .models import AssignmentPeriod, Bulletin, QuotaWeek, ReportFile, Rule, ScoreEntry


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "subject", "kind", "points", "threshold", "active", "order")
    list_editable = ("points", "threshold", "active")
    readonly_fields = ("code", "subject", "kind")


@admin.register(AssignmentPeriod)
class AssignmentPeriodAdmin(admin.ModelAdmin):
    list_display = ("person", "grid_code", "role", "start", "end")
    list_filter = ("role",)
    search_fields = ("person__name", "grid_code")
    raw_id_fields = ("person",)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ScoreEntry)
class ScoreEntryAdmin(ReadOnly):
    list_display = ("booked", "day", "rule", "points", "person", "unit", "grid_code", "correction", "frozen")
    list_filter = ("rule", "frozen", "correction")
    search_fields = ("person__name", "unit__name", "grid_code", "key")
    raw_id_fields = ("person", "unit", "case", "event", "work_order")


@admin.register(QuotaWeek)
class QuotaWeekAdmin(ReadOnly):
    list_display = ("week_start", "person", "found", "required", "status", "notified_at")
    list_filter = ("status",)
    search_fields = ("person__name",)


@admin.register(Bulletin)
class BulletinAdmin(ReadOnly):
    list_display = ("title", "kind", "start", "end", "issued_at")
    exclude = ("snapshot",)


@admin.register(ReportFile)
class ReportFileAdmin(ReadOnly):
    list_display = ("title", "kind", "start", "end", "created_at")
    exclude = ("data",)
