"""Assessment as data: the rules and their weights, each score entry with its evidence, dated
grid assignments, weekly quotas, issued bulletins and generated reports.

A `ScoreEntry` is one point (or indicator deduction) for one person or unit, caused by one piece
of evidence: a case, a case event (transition), a work order, an audit entry or a figure (the
patrol duty's, a unit's rate). Entries are recomputed per period (computing.recompute); those an
issued bulletin holds are `frozen` and never change: a later correction is a new entry booked on
the day it is made, so it goes into the next bulletin.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gisgrid.boundaries.models import Person, Unit
from gisgrid.cases.models import Case, CaseEvent, WorkOrder


class Rule(models.Model):
    """One rule of the county's scale; the admin edits weights and thresholds."""

    class Subject(models.TextChoices):
        PERSON = "person", _("人员")
        UNIT = "unit", _("单位")

    class Kind(models.TextChoices):
        PER_ITEM = "per_item", _("按件计分")
        RATE = "rate", _("比率指标")

    code = models.CharField(_("编码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    subject = models.CharField(_("考核对象"), max_length=10, choices=Subject.choices)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default=Kind.PER_ITEM)
    # Per item: the points each item adds (negative: a deduction). Rate: the points per
    # percentage point the rate falls short of the threshold (or exceeds it for "at most" rates).
    points = models.DecimalField(_("分值"), max_digits=6, decimal_places=2)
    threshold = models.DecimalField(_("阈值"), max_digits=6, decimal_places=2, null=True, blank=True,
                                    help_text=_("比率指标：达标线（百分比）；投诉规则：投诉次数"))
    params = models.JSONField(_("参数"), default=dict, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    description = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("考核规则")
        verbose_name_plural = _("考核规则")

    def __str__(self) -> str:
        return f"{self.name}（{self.points}）"

    def clean(self) -> None:
        from .rules import check_rule

        errors = check_rule(self.code, self.kind, self.points, self.threshold, self.params)
        if errors:
            raise ValidationError(errors)


class AssignmentPeriod(models.Model):
    """Who served which grid from when to when (boundaries.GridAssignment keeps no dates).

    Fed by the GridAssignment admin (signals in assignments.py) and editable here: a person
    who changed grid mid-period is scored in each grid for their days there."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="assignment_periods",
                               verbose_name=_("人员"))
    grid_code = models.CharField(_("网格编码"), max_length=15)
    role = models.CharField(_("职责"), max_length=20, choices=[("grid_chief", _("网格长")),
                                                            ("grid_member", _("网格员"))])
    start = models.DateField(_("起始日期"))
    end = models.DateField(_("截止日期"), null=True, blank=True, help_text=_("空：至今"))

    class Meta:
        ordering = ["person", "start", "id"]
        verbose_name = _("网格任职记录")
        verbose_name_plural = _("网格任职记录")
        indexes = [models.Index(fields=["grid_code", "role", "start"], name="assess_assign_grid")]
        constraints = [models.CheckConstraint(condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                                              name="assess_assign_dates")]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.grid_code} {self.start}–{self.end or ''}"


class ScoreEntry(models.Model):
    # A month of a county is some 50,000 entries written at once: indexes only where reads need
    # them (the composite ones below), and no database-level foreign keys to check per row
    # (cases and events are append-only history; entries outlive nothing they cite). Rule,
    # person and unit are kept by Django's own on_delete (PROTECT, CASCADE), which every delete
    # goes through; the deferred checks of the database's keys, two per entry at commit, were a
    # quarter of a month's recompute (0.29 of 1.17 s, tests/bench/bench_assessment.py).
    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="entries", verbose_name=_("规则"),
                             db_index=False, db_constraint=False)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("人员"), db_index=False, db_constraint=False)
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("单位"), db_index=False, db_constraint=False)
    grid_code = models.CharField(_("网格编码"), max_length=15, blank=True)
    day = models.DateField(_("发生日期"))
    # The day the entry counts on: its own day, or the day a correction was made when the
    # period of its day is already in an issued bulletin.
    booked = models.DateField(_("计入日期"))
    points = models.DecimalField(_("分值"), max_digits=8, decimal_places=2)
    # The same fact always gets the same key (rule, subject, evidence): recomputing matches it.
    key = models.CharField(max_length=120)
    correction = models.BooleanField(_("更正"), default=False)
    frozen = models.BooleanField(_("已通报"), default=False)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             db_constraint=False, db_index=False)
    event = models.ForeignKey(CaseEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              db_constraint=False, db_index=False)
    work_order = models.ForeignKey(WorkOrder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   db_constraint=False, db_index=False)
    audit_id = models.BigIntegerField(null=True, blank=True)
    figure = models.JSONField(_("依据"), default=dict, blank=True)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        ordering = ["booked", "id"]
        verbose_name = _("考核记分")
        verbose_name_plural = _("考核记分")
        indexes = [models.Index(fields=["booked"], name="assess_entry_booked"),
                   models.Index(fields=["day"], name="assess_entry_day"),
                   models.Index(fields=["person", "booked"], name="assess_entry_person"),
                   models.Index(fields=["unit", "booked"], name="assess_entry_unit")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.points} {self.day}"


class QuotaWeek(models.Model):
    """A grid member's week against the quota of matters found on their own."""

    class Status(models.TextChoices):
        MET = "met", _("达标")
        SHORT = "short", _("未达标")
        NONE = "none", _("未主动发现（预警）")
        REPLACE = "replace", _("连续两周未发现（建议替换）")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+", verbose_name=_("人员"))
    week_start = models.DateField(_("周起始"))
    found = models.PositiveIntegerField(_("主动发现"), default=0)
    required = models.PositiveIntegerField(_("应发现"), default=0)
    working_days = models.PositiveSmallIntegerField(_("工作日数"), default=5)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices)
    grid_codes = models.JSONField(default=list, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-week_start", "person"]
        verbose_name = _("周发现定额")
        verbose_name_plural = _("周发现定额")
        constraints = [models.UniqueConstraint(fields=["person", "week_start"], name="assess_quota_once")]


class Bulletin(models.Model):
    class Kind(models.TextChoices):
        XUN = "xun", _("旬预警")
        WEEK = "week", _("周通报")
        MONTH = "month", _("月通报")
        YEAR = "year", _("年度总评")

    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    start = models.DateField(_("起始日期"))
    end = models.DateField(_("截止日期"))
    title = models.CharField(_("标题"), max_length=200)
    issued_at = models.DateTimeField(_("发布时间"))
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    # Rankings, entries, corrections and quota names at the moment of issue; never changed.
    snapshot = models.JSONField(default=dict)

    class Meta:
        ordering = ["-end", "-id"]
        verbose_name = _("考核通报")
        verbose_name_plural = _("考核通报")
        constraints = [models.UniqueConstraint(fields=["kind", "start"], name="assess_bulletin_once")]

    def __str__(self) -> str:
        return self.title


class ReportFile(models.Model):
    """A generated report (daily summary, weekly, monthly, special) with its files."""

    class Kind(models.TextChoices):
        DAY = "day", _("日汇总")
        WEEK = "week", _("周报")
        MONTH = "month", _("月报")
        SPECIAL = "special", _("专报")

    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    start = models.DateField(_("起始日期"))
    end = models.DateField(_("截止日期"))
    filters = models.JSONField(default=dict, blank=True)
    title = models.CharField(_("标题"), max_length=200)
    created_at = models.DateTimeField(_("生成时间"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    data = models.JSONField(default=dict)
    xlsx = models.FileField(upload_to="assessment/reports/%Y/%m/", blank=True)
    pdf = models.FileField(upload_to="assessment/reports/%Y/%m/", blank=True)
    csv = models.FileField(upload_to="assessment/reports/%Y/%m/", blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("报表")
        verbose_name_plural = _("报表")

    def __str__(self) -> str:
        return self.title


ZERO = Decimal("0")


class PatrolDutyWeek(models.Model):
    """The patrol duty's findings for one whole past week, with a digest of everything they were
    computed from (the active edition, the rule, who is an inspector, whose devices, the week's
    fixes). The hourly recompute reads a week again only when that digest changed: a month's
    patrol duty is seconds of coverage work (docs/assessment.md, "Speed"), and past weeks rarely
    change (a late batch of fixes does change the digest)."""

    week_start = models.DateField(_("周一"), unique=True)
    basis = models.CharField(max_length=64)
    rows = models.JSONField(default=list)  # [[person_id, figure], ...]: the week's deductions
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("巡查任务周结果")
        verbose_name_plural = _("巡查任务周结果")

    def __str__(self) -> str:
        return f"{self.week_start}"
