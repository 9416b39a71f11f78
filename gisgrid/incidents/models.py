"""The matter list (事项清单) and reports with the routing decided for them.

Like FixMyStreet, a report stores the boundary edition, the grid chain and the units its
location was routed to, so statistics and responsibility survive later redraws. The full
case workflow (dispatch, clocks, revisit, archive) builds on `Report` in a later module.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from gisgrid.boundaries.models import Edition, Unit


class Category(models.Model):
    class Severity(models.TextChoices):
        ON_THE_SPOT = "on_the_spot", _("现场办理")
        GENERAL = "general", _("一般事项(3个工作日)")
        MAJOR = "major", _("重大事项(5个工作日)")
        COMPLEX = "complex", _("跨部门/疑难复杂(10个工作日)")

    class Rule(models.TextChoices):
        TERRITORIAL = "territorial", _("属地管理(镇街负责)")
        DEPARTMENT = "department", _("县直部门负责")
        LEAD = "lead", _("主办+协办")

    code = models.CharField(_("编码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    standard_class = models.CharField(_("标准大类"), max_length=50, blank=True)
    severity = models.CharField(_("事项等级"), max_length=20, choices=Severity.choices, default=Severity.GENERAL)
    rule = models.CharField(_("处置规则"), max_length=20, choices=Rule.choices, default=Rule.TERRITORIAL)
    lead_unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="lead_categories",
        verbose_name=_("主办单位"),
    )
    assisting_units = models.ManyToManyField(
        Unit, blank=True, related_name="assisting_categories", verbose_name=_("协办单位")
    )
    description = models.TextField(_("说明"), blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("事项")
        verbose_name_plural = _("事项清单")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def limit_working_days(self) -> int:
        return SEVERITY_WORKING_DAYS[self.severity]


SEVERITY_WORKING_DAYS = {"on_the_spot": 0, "general": 3, "major": 5, "complex": 10}


class Report(models.Model):
    """A reported problem and where its location routed it."""

    class Status(models.TextChoices):
        OPEN = "open", _("办理中")
        CLOSED = "closed", _("已办结")

    created_at = models.DateTimeField(_("上报时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Personal data: serialised only for roles that need it (see gisgrid.accounts.roles).
    reporter_name = models.CharField(_("上报人"), max_length=50)
    reporter_phone = models.CharField(_("上报人电话"), max_length=20, blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="reports")
    description = models.TextField(_("详情"), max_length=4000, blank=True)
    address = models.CharField(_("详细位置"), max_length=200, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    # The raw coordinate exactly as sent, with its datum; `point` is the WGS-84 conversion.
    raw_lon = models.FloatField()
    raw_lat = models.FloatField()
    raw_crs = models.CharField(max_length=10, default="wgs84")
    point = models.PointField(srid=4326)
    # Routing, as decided (FixMyStreet keeps these on the report).
    edition = models.ForeignKey(Edition, null=True, on_delete=models.PROTECT, related_name="+")
    location_status = models.CharField(max_length=12, blank=True)
    level1_code = models.CharField(max_length=15, blank=True, db_index=True)
    level2_code = models.CharField(max_length=15, blank=True, db_index=True)
    level3_code = models.CharField(max_length=15, blank=True, db_index=True)
    lead_unit = models.ForeignKey(Unit, null=True, on_delete=models.PROTECT, related_name="+")
    assisting_units = models.ManyToManyField(Unit, blank=True, related_name="+")
    routing_rule = models.CharField(max_length=200, blank=True)
    limit_working_days = models.PositiveSmallIntegerField(default=3)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("事件")
        verbose_name_plural = _("事件")

    @property
    def grid_code(self) -> str:
        return self.level3_code or self.level2_code or self.level1_code


class RoutingChange(models.Model):
    """A report re-routed after a boundary edition was published: what it was, what it became."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="routing_changes")
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_edition = models.ForeignKey(Edition, null=True, on_delete=models.PROTECT, related_name="+")
    to_edition = models.ForeignKey(Edition, on_delete=models.PROTECT, related_name="+")
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("改派记录")
        verbose_name_plural = _("改派记录")
