"""The working-day calendar: the State Council's holidays and make-up working days (调休), per day.

Only exceptions are stored: a `CalendarDay` row says whether that date is worked, and any date
without a row follows the weekday rule (Monday–Friday worked). A `CalendarYear` row with
`complete` set says the year's official notice is in the table; a year without one falls back
to Monday–Friday and every clock touching it says so.

`CalendarVersion` is a single row that a PostgreSQL trigger (migration 0001) bumps on every
statement touching the two tables — admin saves, seeding, raw SQL alike — so each process can
tell with one cheap query whether its cached calendar is stale (see `calendar.current`).
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# The span the working-time arithmetic covers (calendar.FIRST_DAY .. calendar.LAST_DAY).
FIRST_YEAR = 1970
LAST_YEAR = 2100


class Source(models.TextChoices):
    PACKAGE = "package", _("软件包")
    ADMIN = "admin", _("管理员录入")


class CalendarDay(models.Model):
    date = models.DateField(_("日期"), unique=True)
    working = models.BooleanField(_("上班"), help_text=_("勾选：这一天上班（含周末调休上班）；不勾选：放假休息。"))
    name = models.CharField(_("名称"), max_length=100, blank=True)
    # Rows typed or edited in the admin are the admin's: seeding never overwrites them.
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices, default=Source.ADMIN)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("日历日")
        verbose_name_plural = _("日历日")

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.name}".strip()

    @property
    def year(self) -> int:
        return self.date.year

    def clean(self) -> None:
        if self.date and not (FIRST_YEAR <= self.date.year <= LAST_YEAR):
            raise ValidationError({"date": _("日期须在 1970 至 2100 年之间。")})


class CalendarYear(models.Model):
    year = models.PositiveSmallIntegerField(
        _("年份"), unique=True, validators=[MinValueValidator(FIRST_YEAR), MaxValueValidator(LAST_YEAR)]
    )
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices, default=Source.ADMIN)
    complete = models.BooleanField(
        _("已完整录入"),
        default=False,
        help_text=_("勾选后该年按已录入的放假安排计算；未勾选的年份按周一至周五计算，并在时限上标注。"),
    )
    note = models.TextField(_("说明"), blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("日历年度")
        verbose_name_plural = _("日历年度")

    def __str__(self) -> str:
        return str(self.year)

    def days(self) -> models.QuerySet[CalendarDay]:
        return CalendarDay.objects.filter(date__gte=date(self.year, 1, 1), date__lte=date(self.year, 12, 31))


class CalendarVersion(models.Model):
    """One row (id 1). Written only by the trigger; read by `calendar.current`."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("日历版本")
        verbose_name_plural = _("日历版本")

    def __str__(self) -> str:
        return str(self.value)
