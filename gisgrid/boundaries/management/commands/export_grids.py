from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from gisgrid.boundaries import editions, exporting
from gisgrid.boundaries.models import Edition


class Command(BaseCommand):
    help = "Export each grid level of an edition (default: the active one) to GeoJSON, GeoPackage or Shapefile."

    def add_arguments(self, parser):
        parser.add_argument("out_dir")
        parser.add_argument("--format", choices=sorted(exporting.FORMATS), default="geojson")
        parser.add_argument("--edition", type=int)
        parser.add_argument("--level", type=int, choices=[1, 2, 3], action="append",
                            help="level to export (repeatable; default all)")

    def handle(self, *args, **o):
        edition = Edition.objects.filter(pk=o["edition"]).first() if o["edition"] else editions.active_edition()
        if edition is None:
            raise CommandError("no such edition" if o["edition"] else "no active edition; load a dataset first")
        for path in exporting.export_edition(edition, o["out_dir"], o["format"], o["level"] or (1, 2, 3)):
            self.stdout.write(str(path))
