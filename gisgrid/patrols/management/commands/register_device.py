"""Register (or re-register) a phone for a person and print its secret token."""

from __future__ import annotations

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from gisgrid.audit import log
from gisgrid.boundaries.datums import CRS_CHOICES
from gisgrid.errors import ServiceError
from gisgrid.patrols.ingest import auth
from gisgrid.patrols.ingest.times import device_zone, validate_time_zone
from gisgrid.patrols.models import Device
from gisgrid.patrols.params import parse_person

SPEED_UNITS = [c for c, _label in Device.SpeedUnit.choices]


def served_url(default_host: str = "127.0.0.1") -> str:
    """Where `./run demo`/`./run serve` listen (their HOST and PORT), for the URL a phone is given."""
    host = os.environ.get("HOST", default_host)
    return f"http://{default_host if host in ('0.0.0.0', '::') else host}:{os.environ.get('PORT', '8000')}"


class Command(BaseCommand):
    help = ("Bind device ID to a person and print a new token (an existing device gets a new token; "
            "the old one stops working).")

    def add_arguments(self, parser):
        parser.add_argument("identifier", help="设备号 device id as the app sends it (OsmAnd/Traccar 'id')")
        parser.add_argument("--person", required=True, help="用户名或人员 id username or person id")
        parser.add_argument("--datum", default="wgs84", choices=CRS_CHOICES,
                            help="坐标系 the datum the phone sends (default wgs84; AMap/WeChat apps: gcj02)")
        parser.add_argument("--speed-unit", default="mps", choices=SPEED_UNITS,
                            help="OsmAnd sends m/s (mps), Traccar Client knots (kn)")
        parser.add_argument("--tz", default="", metavar="ZONE",
                            help="时区 IANA zone of times the phone sends without an offset, e.g. Asia/Urumqi "
                                 "(default: the county's, settings.TIME_ZONE)")
        parser.add_argument("--quiet", action="store_true", help="print only the token")

    def handle(self, *args, **o):
        ident = o["identifier"].strip()
        if not ident or len(ident) > 64:
            raise CommandError("设备号须为 1–64 个字符 (device id must be 1–64 characters)")
        try:
            person = parse_person(o["person"])
        except ServiceError as e:
            raise CommandError(f"--person: {e.reason}") from e
        tz = o["tz"].strip()
        try:
            validate_time_zone(tz)
        except ValidationError as e:
            raise CommandError(f"--tz: {e.messages[0]}") from e
        with transaction.atomic():
            device, created = Device.objects.select_for_update().get_or_create(identifier=ident)
            device.person = person
            device.user = person.user
            device.datum = o["datum"]
            device.speed_unit = o["speed_unit"]
            device.tz = tz
            device.active = True
            token = auth.set_token(device)
            device.save()
            log.record(None, "device.registered" if created else "device.token_rotated", device,
                       person=person.pk, datum=device.datum, speed_unit=device.speed_unit, tz=device.tz)
        if o["quiet"]:
            self.stdout.write(token)
            return
        verb = "已登记 registered" if created else "已更新并更换令牌 updated, new token (the old one no longer works)"
        self.stdout.write(f"{verb}: {ident} → {person.name} ({person.get_role_display()}), "
                          f"datum {device.datum}, speed {device.speed_unit}, time zone {device_zone(device).key}"
                          f"{'' if device.tz else ' (county default)'}")
        self.stdout.write(f"token: {token}")
        self.stdout.write(f"OsmAnd URL: {served_url('HOST')}/api/v1/track/osmand?id={ident}&token={token}"
                          "&lat={0}&lon={1}&timestamp={2}&hdop={3}&altitude={4}&speed={5}&bearing={6}")
