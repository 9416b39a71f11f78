"""./run manage validate_grids PATH [--format json|text] [--county PATH]: check a grid file.

Exit status 0 when no errors (warnings and blind spots allowed), 1 when errors, 2 when the
file cannot be read. Geometries are checked as the file holds them: an invalid one is an
``invalid`` error at the point GEOS names, never repaired before the checks see it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from gisgrid.boundaries import importing
from gisgrid.boundaries.validation import GridFeature, ValidationConfig, has_errors, validate


class Command(BaseCommand):
    help = ("Validate a grid file shaped like geodata/heyang/grids.geojson: invalid geometries (with their "
            "location), gaps, overlaps, slivers, blind spots...")

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--format", choices=["json", "text"], default="text")
        parser.add_argument("--county", help="county outline (default: county.geojson beside PATH, if any)")
        parser.add_argument("--map", default="", help="field mapping, as for import_grids")
        parser.add_argument("--source-crs")
        parser.add_argument("--gcj02", action="store_true")
        parser.add_argument("--sliver-width-m", type=float, default=ValidationConfig.sliver_width_m)
        parser.add_argument("--min-area-m2", type=float, default=ValidationConfig.min_area_m2)

    def handle(self, *args, **o):
        path = Path(o["path"])
        try:
            # Geometries exactly as the file has them: an invalid, empty or missing one is a
            # finding (with its location), never repaired here behind the report's back.
            read = importing.read_grid_file(path, importing.FieldMap.parse(o["map"]), source_crs=o["source_crs"],
                                            gcj02=o["gcj02"], keep_invalid=True, progress=False)
        except importing.GridImportError as exc:
            raise CommandError(str(exc), returncode=2) from None
        county_path = Path(o["county"]) if o["county"] else path.with_name("county.geojson")
        county = None
        if county_path.exists():
            try:
                county = importing.read_county(county_path)[0]
            except (ValueError, KeyError, IndexError) as exc:
                raise CommandError(f"--county {county_path}: cannot read the outline: {exc}", returncode=2) from None
        elif o["county"]:
            raise CommandError(f"--county {county_path}: no such file", returncode=2)
        features = [GridFeature(r.code, r.level, r.parent_code, r.geom, r.name) for r in read.rows]
        findings = validate(features, county, ValidationConfig(sliver_width_m=o["sliver_width_m"],
                                                               min_area_m2=o["min_area_m2"]))
        for w in read.warnings:
            self.stderr.write(f"read: {w}")
        if o["format"] == "json":
            self.stdout.write(json.dumps([f.to_dict() for f in findings], ensure_ascii=False))
        else:
            for f in findings:
                self.stdout.write(f"{f.severity:<7} {f.kind:<14} L{f.level} {','.join(f.codes):<32} "
                                  f"{f.area_m2:>12.1f} m²  {f.message}")
            errors = sum(f.severity == "error" for f in findings)
            self.stdout.write(f"{len(features)} grids, {errors} errors, "
                              f"{sum(f.severity == 'warning' for f in findings)} warnings, "
                              f"{sum(f.kind == 'blind_spot' for f in findings)} blind spots")
        if has_errors(findings):
            sys.stdout.flush()
            sys.exit(1)
