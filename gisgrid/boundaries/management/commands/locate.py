"""./run manage locate LON LAT [--crs]  |  ./run manage locate --csv-in in.csv --csv-out out.csv"""

from __future__ import annotations

import csv
import json
import sys

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from gisgrid.boundaries import locate
from gisgrid.boundaries.datums import CRS_CHOICES

CHUNK = 20_000


class Command(BaseCommand):
    help = "Locate a point (or every row of a CSV) in the grids: status, grid chain, unit, staff."

    def add_arguments(self, parser):
        parser.add_argument("lon", nargs="?", type=float)
        parser.add_argument("lat", nargs="?", type=float)
        parser.add_argument("--crs", default="wgs84", choices=CRS_CHOICES)
        parser.add_argument("--tolerance-m", type=float, default=20.0)
        parser.add_argument("--edition", type=int)
        parser.add_argument("--csv-in", help="CSV with lon/lat columns")
        parser.add_argument("--csv-out", help="where to write the CSV answers (default: stdout)")
        parser.add_argument("--lon-field", default="lon")
        parser.add_argument("--lat-field", default="lat")

    def handle(self, *args, **o):
        try:
            if o["csv_in"]:
                return self._batch(o)
            if o["lon"] is None or o["lat"] is None:
                raise CommandError("give LON LAT, or --csv-in FILE")
            _, answers = locate.locate([o["lon"]], [o["lat"]], o["crs"], tolerance_m=o["tolerance_m"],
                                       show_phones=True, edition_id=o["edition"])
        except locate.LocateInputError as exc:
            raise CommandError(f"{exc.field}: {exc.reason}") from None
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(answers[0], ensure_ascii=False, indent=2))

    def _batch(self, o):
        from tqdm import tqdm

        try:
            with open(o["csv_in"], encoding="utf-8-sig", newline="") as fh:
                reader = csv.DictReader(fh)
                fields = reader.fieldnames or []
                rows = list(reader)
        except OSError as exc:
            raise CommandError(f"--csv-in: {exc}") from None
        for f in (o["lon_field"], o["lat_field"]):
            if f not in fields:
                raise CommandError(f"--csv-in: no column {f!r} (columns: {', '.join(fields)})")
        if not rows:
            raise CommandError("--csv-in: no rows")
        try:
            lons = np.array([float(r[o["lon_field"]]) for r in rows])
            lats = np.array([float(r[o["lat_field"]]) for r in rows])
        except ValueError as exc:
            raise CommandError(f"--csv-in: non-numeric coordinate: {exc}") from None
        # Check every row up front: per chunk, "at index i" would count from the chunk's start.
        locate.check_coordinates(lons, lats, o["crs"], "points", locate.snapshot(o["edition"]))
        out_fields = fields + ["status", "level1_code", "level1_name", "level2_code", "level2_name",
                               "level3_code", "level3_name", "unit", "near_boundary", "edition"]
        # self.stdout, not sys.stdout: call_command(stdout=...) and tests capture it.
        out = open(o["csv_out"], "w", encoding="utf-8", newline="") if o["csv_out"] else self.stdout
        try:
            writer = csv.DictWriter(out, out_fields)
            writer.writeheader()
            bar = tqdm(total=len(rows), unit="pt", disable=len(rows) < CHUNK, file=sys.stderr)
            for start in range(0, len(rows), CHUNK):
                end = min(start + CHUNK, len(rows))
                _, answers = locate.locate(lons[start:end], lats[start:end], o["crs"], tolerance_m=o["tolerance_m"],
                                           edition_id=o["edition"])
                for row, a in zip(rows[start:end], answers, strict=True):
                    by_level = {g["level"]: g for g in a["grids"]}
                    row = dict(row, status=a["status"], near_boundary=a.get("near_boundary", False),
                               unit=(a.get("unit") or {}).get("name", ""), edition=a["edition"]["id"])
                    for lvl in (1, 2, 3):
                        g = by_level.get(lvl, {})
                        row[f"level{lvl}_code"] = g.get("code", "")
                        row[f"level{lvl}_name"] = g.get("name", "")
                    writer.writerow(row)
                bar.update(end - start)
            bar.close()
        finally:
            if out is not self.stdout:
                out.close()
