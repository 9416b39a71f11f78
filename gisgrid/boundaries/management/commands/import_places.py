from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from gisgrid.boundaries import places_import
from gisgrid.boundaries.datums import CRS_CHOICES
from gisgrid.boundaries.directory import DatasetError


class Command(BaseCommand):
    help = (
        "Import landmarks (schools, hospitals, markets, squares, offices, stations, scenic spots) into the "
        "gazetteer from CSV (lon/lat columns), GeoJSON or GeoPackage. All or nothing; importing the same "
        "source again replaces its earlier rows."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--map", default="",
                            help="field mapping, e.g. name=MC,category=LB,aliases=BM,lon=X,lat=Y (kind, category, "
                                 "aliases, name, lon, lat)")
        parser.add_argument("--crs", default="wgs84", choices=list(CRS_CHOICES),
                            help="datum of the coordinates (gcj02 for AMap/Tencent lists, bd09 for Baidu)")
        parser.add_argument("--layer", help="layer name in a GeoPackage")
        parser.add_argument("--source", help="name the rows are kept under (default: the file's name)")
        parser.add_argument("--allow-outside", action="store_true", help="accept points outside the county's grids")
        parser.add_argument("--dry-run", action="store_true", help="read and check only")

    def handle(self, *args, **o):
        try:
            fields = places_import.PlaceFieldMap.parse(o["map"])
            if o["dry_run"]:
                rows = places_import.read_places_file(o["path"], fields, crs=o["crs"], layer=o["layer"])
                if not o["allow_outside"]:
                    places_import.check_inside(rows, o["path"])
                self.stdout.write(self.style.SUCCESS(f"{len(rows)} places read and checked; nothing written (--dry-run)"))
                return
            result = places_import.import_places_file(o["path"], fields, crs=o["crs"], layer=o["layer"],
                                                      source=o["source"], allow_outside=o["allow_outside"])
        except DatasetError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(
            f"imported {result.created} places from {o['path']} as source {result.source!r} "
            f"(replaced {result.replaced})"))
