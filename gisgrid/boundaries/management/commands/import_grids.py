from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gisgrid.boundaries import editions, importing
from gisgrid.boundaries.models import Edition


class Command(BaseCommand):
    help = (
        "Import grids from GeoJSON, GeoPackage or Shapefile in any CRS into a new draft edition "
        "(or into an existing draft with --into). All or nothing. Invalid polygons are refused, each named "
        "with its reason and location, unless --repair; every repair is reported."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--map", default="", help="field mapping, e.g. code=WGBM,name=WGMC,level=CJ,parent_code=SJBM,unit=BLDW")
        parser.add_argument("--level", type=int, choices=[1, 2, 3], help="all features are of this level")
        parser.add_argument("--source-crs", help="CRS of the file when it declares none or a wrong one (e.g. EPSG:4490)")
        parser.add_argument("--gcj02", action="store_true", help="the coordinates are GCJ-02 (AMap/Tencent web maps)")
        parser.add_argument("--repair", action="store_true", help="repair invalid polygons (make_valid, structure method) and report each repair: "
                                 "reason, location, parts before/after, area lost or gained")
        parser.add_argument("--layer", help="layer name in a GeoPackage")
        parser.add_argument("--into", type=int, help="add to this draft edition instead of creating one")
        parser.add_argument("--name", default="", help="name of the new edition")
        parser.add_argument("--publish", action="store_true", help="validate and publish the edition afterwards")
        parser.add_argument("--county", help="county outline (GeoJSON); default: the union of the level-1 grids")
        parser.add_argument("--county-code", default="", help="6-digit county code (default: from the level-1 codes)")
        parser.add_argument("--county-name", default="", help="county name, e.g. 澄城县")

    def handle(self, *args, **o):
        try:
            read = importing.read_grid_file(
                o["path"], importing.FieldMap.parse(o["map"]), source_crs=o["source_crs"], gcj02=o["gcj02"],
                level=o["level"], repair=o["repair"], layer=o["layer"], progress=True,
            )
            into = None
            if o["into"]:
                into = Edition.objects.filter(pk=o["into"]).first()
                if into is None:
                    raise CommandError(f"--into: no edition {o['into']}")
            county = None
            if o["county"]:
                try:
                    county = importing.read_county(Path(o["county"]))[0]
                except (OSError, ValueError, KeyError, IndexError) as exc:
                    raise CommandError(f"--county {o['county']}: cannot read the outline: {exc}") from None
                try:
                    county, fixed = importing.check_county(county, repair=o["repair"])
                except importing.GridImportError as exc:
                    raise CommandError(f"--county {o['county']}: {exc}") from None
                if fixed is not None:
                    read.warnings.append(f"--county {o['county']}: 已修复无效几何 repaired invalid geometry "
                                         f"({fixed.why}): {fixed.changes()}")
            result = importing.import_rows(read, edition=into, edition_name=o["name"] or f"导入 {o['path']}",
                                           county_geom=county, county_code=o["county_code"],
                                           county_name=o["county_name"])
        except importing.GridImportError as exc:
            raise CommandError(str(exc)) from None
        for w in read.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {w}"))
        repaired = f"; {len(read.repairs)} invalid geometries repaired (see warnings)" if read.repairs else ""
        self.stdout.write(self.style.SUCCESS(
            f"imported {result.created} grids into draft edition {result.edition.pk} ({read.source_crs}){repaired}"))
        if o["publish"]:
            try:
                editions.publish(result.edition)
            except editions.EditionError as exc:
                for f in exc.findings[:30]:
                    self.stderr.write(f"  {f.kind} level {f.level} {','.join(f.codes)} {f.area_m2:.1f} m²: {f.message}")
                raise CommandError(f"imported as draft {result.edition.pk}, but not published: {exc}") from None
            self.stdout.write(self.style.SUCCESS(f"published edition {result.edition.pk}"))
