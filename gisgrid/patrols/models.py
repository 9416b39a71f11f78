"""Devices and the positions they send, each tagged with the grids it fell in.

Ingestion protocols, filters and coverage arrive with the patrol issue; the position row is
shaped for them now: raw coordinate + datum kept, routing (edition + grid chain) stored.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from gisgrid.boundaries.models import Edition, Person


class Device(models.Model):
    identifier = models.CharField(_("设备号"), max_length=64, unique=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name = _("终端")
        verbose_name_plural = _("终端")

    def __str__(self) -> str:
        return self.identifier


class Position(models.Model):
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="positions")
    fix_time = models.DateTimeField(_("定位时间"))
    received_at = models.DateTimeField(auto_now_add=True)
    raw_lon = models.FloatField()
    raw_lat = models.FloatField()
    raw_crs = models.CharField(max_length=10, default="wgs84")
    point = models.PointField(srid=4326)
    accuracy_m = models.FloatField(null=True, blank=True)
    edition = models.ForeignKey(Edition, null=True, on_delete=models.PROTECT, related_name="+")
    location_status = models.CharField(max_length=12, blank=True)
    level1_code = models.CharField(max_length=15, blank=True)
    level2_code = models.CharField(max_length=15, blank=True)
    level3_code = models.CharField(max_length=15, blank=True)

    class Meta:
        ordering = ["device", "fix_time"]
        verbose_name = _("定位点")
        verbose_name_plural = _("定位点")
        indexes = [models.Index(fields=["device", "fix_time"])]
