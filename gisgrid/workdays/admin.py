"""The calendar in the admin: days and years editable, a year's notice typed in one box.

Anything saved here becomes the admin's (source "admin"), so `seed_workdays` never overwrites
it; every change lands in the audit trail.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models.functions import ExtractYear
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from gisgrid.audit.log import record

from .models import CalendarDay, CalendarYear, Source
from .notice import NoticeError, parse_notice

WEEKDAYS = "一二三四五六日"


class YearFilter(admin.SimpleListFilter):
    title = _("年份")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = (
            CalendarDay.objects.annotate(y=ExtractYear("date")).values_list("y", flat=True).distinct().order_by("-y")
        )
        return [(str(y), str(y)) for y in years]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(date__year=int(self.value()))
        return queryset


class AdminOwned(admin.ModelAdmin):
    def save_model(self, request, obj, form, change):
        obj.source = Source.ADMIN
        super().save_model(request, obj, form, change)
        record(request.user, "admin.change" if change else "admin.add", obj, fields=list(form.changed_data))

    def delete_model(self, request, obj):
        record(request.user, "admin.delete", obj, repr=str(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            record(request.user, "admin.delete", obj, repr=str(obj))
        super().delete_queryset(request, queryset)


@admin.register(CalendarDay)
class CalendarDayAdmin(AdminOwned):
    list_display = ["date", "weekday", "working", "name", "source", "updated_at"]
    list_filter = [YearFilter, "working", "source"]
    list_editable = ["working", "name"]
    search_fields = ["name"]
    date_hierarchy = "date"
    readonly_fields = ["source", "updated_at"]
    fields = ["date", "working", "name", "source", "updated_at"]

    @admin.display(description=_("星期"))
    def weekday(self, obj: CalendarDay) -> str:
        return "周" + WEEKDAYS[obj.date.weekday()]


class CalendarYearForm(forms.ModelForm):
    notice = forms.CharField(
        label=_("放假安排（逐行录入）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 70, "style": "font-family: monospace"}),
        help_text=_(
            "每行一天或一个日期范围：“2027-02-06 至 2027-02-12 休 春节”、“2027-02-20 班 春节调休上班”。"
            "已有的同日记录会被改写为管理员录入；未列出的日期按周一至周五。"
        ),
    )

    class Meta:
        model = CalendarYear
        fields = ["year", "complete", "note"]

    def clean(self):
        cleaned = super().clean()
        year, text = cleaned.get("year"), cleaned.get("notice") or ""
        if year and text.strip():
            try:
                cleaned["notice_days"] = parse_notice(text, year)
            except NoticeError as exc:
                raise forms.ValidationError({"notice": exc.problems}) from None
        return cleaned


@admin.register(CalendarYear)
class CalendarYearAdmin(AdminOwned):
    form = CalendarYearForm
    list_display = ["year", "complete", "source", "days_off", "makeup_days", "note", "updated_at"]
    list_filter = ["complete", "source"]
    readonly_fields = ["source", "updated_at", "days_listed"]
    fieldsets = [
        (None, {"fields": ["year", "complete", "note", "source", "updated_at"]}),
        (_("放假安排"), {"fields": ["notice", "days_listed"]}),
    ]

    @admin.display(description=_("放假天数"))
    def days_off(self, obj: CalendarYear) -> int:
        return obj.days().filter(working=False).count()

    @admin.display(description=_("调休上班天数"))
    def makeup_days(self, obj: CalendarYear) -> int:
        return obj.days().filter(working=True).count()

    @admin.display(description=_("已录入的日期"))
    def days_listed(self, obj: CalendarYear):
        if not obj.pk:
            return "—"
        rows = obj.days()
        return format_html_join(
            "",
            "<div>{} 周{} {} {} <small>({})</small></div>",
            (
                (d.date.isoformat(), WEEKDAYS[d.date.weekday()], "班" if d.working else "休", d.name, d.source)
                for d in rows
            ),
        )

    def save_model(self, request, obj, form, change):
        # The admin view wraps this in one transaction: the year and its days land together.
        super().save_model(request, obj, form, change)
        days = form.cleaned_data.get("notice_days") or []
        for day in days:
            CalendarDay.objects.update_or_create(
                date=day.date, defaults={"working": day.working, "name": day.name, "source": Source.ADMIN}
            )
        if days:
            record(
                request.user,
                "workdays.notice",
                obj,
                days=[[d.date.isoformat(), d.working, d.name] for d in days],
            )
