"""Devices, the positions they send (and the ones the filters held back), patrol sessions.

Positions live in a table partitioned by month (see migrations/0002 and partitions.py): old
months are dropped whole instead of deleted row by row, which is what blocks Traccar installs.
Django only sees the parent table; its real primary key is (id, fix_time) because PostgreSQL
requires the partition key in every unique index, and `id` stays unique on its own (identity).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.utils.translation import gettext_lazy as _

from gisgrid.boundaries.datums import CRS_CHOICES
from gisgrid.boundaries.models import Edition, Person

from .ingest.times import validate_time_zone


class Device(models.Model):
    """A phone or tracker bound to one person; it proves itself with a secret token."""

    class SpeedUnit(models.TextChoices):
        MPS = "mps", _("米/秒 (OsmAnd)")
        KNOTS = "kn", _("节 (Traccar Client)")
        KMH = "kmh", _("千米/小时")

    identifier = models.CharField(_("设备号"), max_length=64, unique=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Only a SHA-256 of the token is kept: tokens are 32 random bytes, so a slow KDF buys nothing.
    token_hash = models.CharField(max_length=64, blank=True)
    datum = models.CharField(_("坐标系"), max_length=10, default="wgs84",
                             choices=[(c, c) for c in CRS_CHOICES])
    speed_unit = models.CharField(_("速度单位"), max_length=4, choices=SpeedUnit.choices, default=SpeedUnit.MPS)
    # Blank follows settings.TIME_ZONE, so a county's devices move with the county's setting.
    tz = models.CharField(_("时区"), max_length=64, blank=True, default="", validators=[validate_time_zone],
                          help_text=_("设备发送不带时差的时间按此 IANA 时区读取，如 Asia/Urumqi；留空为本县时区"))
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The last accepted fix, kept on the device so "where is everyone" is one small query.
    last_fix_time = models.DateTimeField(_("最后定位时间"), null=True, blank=True)
    last_received_at = models.DateTimeField(null=True, blank=True)
    # No spatial index: nobody searches devices by place, and without one the per-batch update
    # of these columns stays a HOT update (no index to touch), which ingest speed depends on.
    last_point = models.PointField(srid=4326, null=True, blank=True, spatial_index=False)
    last_speed_mps = models.FloatField(null=True, blank=True)
    last_battery = models.FloatField(null=True, blank=True)
    last_codes = ArrayField(models.CharField(max_length=15), default=list, blank=True)
    accepted_count = models.BigIntegerField(_("已接收定位点"), default=0)
    # The time span that got new fixes since patrol sessions were last rebuilt (sessions.refresh).
    dirty_start = models.DateTimeField(null=True, blank=True)
    dirty_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["identifier"]
        verbose_name = _("终端")
        verbose_name_plural = _("终端")

    def __str__(self) -> str:
        return self.identifier


class Position(models.Model):
    """One accepted fix, tagged at ingest with the active edition's grid chain."""

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="positions", db_constraint=False)
    fix_time = models.DateTimeField(_("定位时间"))
    received_at = models.DateTimeField()
    source = models.CharField(max_length=10)
    raw_lon = models.FloatField()
    raw_lat = models.FloatField()
    raw_crs = models.CharField(max_length=10, default="wgs84")
    point = models.PointField(srid=4326)
    accuracy_m = models.FloatField(null=True, blank=True)
    speed_mps = models.FloatField(null=True, blank=True)
    bearing = models.FloatField(null=True, blank=True)
    altitude = models.FloatField(null=True, blank=True)
    battery = models.FloatField(null=True, blank=True)
    edition = models.ForeignKey(Edition, null=True, on_delete=models.DO_NOTHING, related_name="+",
                                db_constraint=False)
    location_status = models.CharField(max_length=12, blank=True)
    level1_code = models.CharField(max_length=15, blank=True)
    level2_code = models.CharField(max_length=15, blank=True)
    level3_code = models.CharField(max_length=15, blank=True)

    class Meta:
        ordering = ["device", "fix_time"]
        verbose_name = _("定位点")
        verbose_name_plural = _("定位点")


class RejectedPosition(models.Model):
    """The quarantine: a fix the filters held back, with every reason that fired."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="rejected")
    received_at = models.DateTimeField()
    source = models.CharField(max_length=10)
    fix_time = models.DateTimeField(null=True, blank=True)
    raw_lon = models.FloatField(null=True, blank=True)
    raw_lat = models.FloatField(null=True, blank=True)
    accuracy_m = models.FloatField(null=True, blank=True)
    reasons = ArrayField(models.CharField(max_length=16))
    detail = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("隔离定位点")
        verbose_name_plural = _("隔离定位点")
        indexes = [models.Index(fields=["device", "received_at"])]
        constraints = [
            # A replayed bad fix is quarantined once, like a replayed good one is stored once.
            models.UniqueConstraint(fields=["device", "fix_time", "raw_lon", "raw_lat"],
                                    name="rejected_once", nulls_distinct=True),
        ]


class DeviceCounter(models.Model):
    """How many fixes of a device were held back, per reason (accepted ones: Device.accepted_count)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="counters")
    name = models.CharField(max_length=16)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "name"], name="device_counter_unique")]


class PatrolSession(models.Model):
    """A stretch of one device's fixes without a gap longer than the session gap (10 min)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="sessions")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField()
    point_count = models.IntegerField()
    distance_m = models.FloatField()
    line = models.GeometryField(srid=4326)  # simplified LineString, or a Point for a lone fix

    class Meta:
        ordering = ["start"]
        verbose_name = _("巡查段")
        verbose_name_plural = _("巡查段")
        indexes = [models.Index(fields=["device", "start"]), models.Index(fields=["person", "start"])]
