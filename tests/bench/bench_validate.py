"""Benchmark: the project's validate() against the plain-PostGIS checks on the Heyang edition.

    .venv/bin/python tests/bench/bench_validate.py [--repeats N] [--grids PATH] [--county PATH]

validate() runs every check on every level; the SQL baseline runs only gap, overlap and
outside-parent (as its queries, loading the scratch table is not timed). The last line printed
is ``ratio: X`` = SQL median ÷ project median.
Database: env DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/gisgrid); a scratch
schema is created and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import shapely

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from gisgrid.boundaries.validation import GridFeature, has_errors, validate  # noqa: E402
from gisgrid.boundaries.validation_sql import (  # noqa: E402
    create_grid_table,
    sql_gaps,
    sql_outside_parent,
    sql_overlaps,
)

GRIDS = ROOT / "geodata" / "heyang" / "grids.geojson"
COUNTY = ROOT / "geodata" / "heyang" / "county.geojson"


def load(grids: Path, county: Path) -> tuple[list[GridFeature], shapely.Geometry]:
    fc = json.loads(grids.read_text(encoding="utf-8"))
    feats = [
        GridFeature(str(f["properties"]["code"]), int(f["properties"]["level"]),
                    f["properties"].get("parent_code"), shapely.geometry.shape(f["geometry"]),
                    f["properties"].get("name") or "")
        for f in fc["features"]
    ]
    cj = json.loads(county.read_text(encoding="utf-8"))
    if cj.get("type") == "FeatureCollection":
        cj = cj["features"][0]
    return feats, shapely.geometry.shape(cj.get("geometry", cj))


def _median(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> float:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--grids", type=Path, default=GRIDS)
    ap.add_argument("--county", type=Path, default=COUNTY)
    ap.add_argument("--database", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/gisgrid"))
    args = ap.parse_args(argv)

    import psycopg

    feats, county = load(args.grids, args.county)
    counts = {lvl: sum(f.level == lvl for f in feats) for lvl in sorted({f.level for f in feats})}
    print(f"data: {args.grids.relative_to(ROOT) if args.grids.is_relative_to(ROOT) else args.grids} "
          f"grids per level {counts}")

    validate(feats, county)  # warm-up: PROJ transformer and imports
    t_py, findings = _median(lambda: validate(feats, county), args.repeats)
    kinds: dict[str, int] = {}
    for f in findings:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    print(f"project validate(): median {t_py * 1000:.1f} ms over {args.repeats} runs, "
          f"findings {kinds}, errors: {has_errors(findings)}")

    schema = f"bench_validate_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.database, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        cur.execute(f'CREATE SCHEMA "{schema}"')
        try:
            table, ctable = f"{schema}.grids", f"{schema}.county"
            create_grid_table(cur, table, feats, ctable, county)
            parts = {}

            def run_sql():
                out = []
                for name, fn in (("gaps", lambda: sql_gaps(cur, table, ctable)),
                                 ("overlaps", lambda: sql_overlaps(cur, table)),
                                 ("outside", lambda: sql_outside_parent(cur, table, ctable))):
                    t0 = time.perf_counter()
                    out += fn()
                    parts.setdefault(name, []).append(time.perf_counter() - t0)
                return out

            run_sql()  # warm-up: plan caches, PostGIS/PROJ initialisation in the backend
            parts.clear()
            t_sql, sql_findings = _median(run_sql, args.repeats)
        finally:
            cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
    detail = ", ".join(f"{k} {statistics.median(v) * 1000:.0f} ms" for k, v in parts.items())
    print(f"plain SQL (gap, overlap, outside-parent): median {t_sql * 1000:.1f} ms ({detail}), "
          f"findings {len(sql_findings)}")
    ratio = t_sql / t_py
    print(f"ratio: {ratio:.2f}")
    return ratio


if __name__ == "__main__":
    main()
