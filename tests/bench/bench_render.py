"""Benchmark: encoding the API's two biggest answers with DRF's JSONRenderer and with orjson.

    .venv/bin/python tests/bench/bench_render.py [--repeats N] [--points N]

The answers are made once through the real views (GET /api/v1/grids, every level, and a
signed-in POST /api/v1/locate of N random points over the county, 100,000 by default); only
the encoding of each answer's data is timed, medians of N repeats. Both outputs must decode to
the same document. The last line is ``ratio: X`` = stock median ÷ orjson median for the locate
answer. Database: env DATABASE_URL (Heyang loaded: `./run bench render` loads it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gisgrid.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from rest_framework.renderers import JSONRenderer  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from gisgrid.boundaries.editions import active_edition  # noqa: E402
from gisgrid.renderers import OrjsonRenderer  # noqa: E402


def median_s(fn, repeats: int) -> tuple[float, bytes]:
    times, out = [], b""
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def compare(label: str, data, repeats: int) -> float:
    stock_s, stock = median_s(lambda: JSONRenderer().render(data, "application/json", {}), repeats)
    ours_s, ours = median_s(lambda: OrjsonRenderer().render(data, "application/json", {}), repeats)
    assert json.loads(stock) == json.loads(ours), f"{label}: the two encodings differ"
    ratio = stock_s / ours_s
    print(f"{label}: {len(ours) / 1e6:.1f} MB; JSONRenderer {stock_s * 1e3:.0f} ms, "
          f"orjson {ours_s * 1e3:.1f} ms (×{ratio:.1f}), medians of {repeats}")
    return ratio


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--points", type=int, default=100_000)
    args = ap.parse_args()

    edition = active_edition()
    assert edition is not None and edition.county_geom is not None, "load Heyang first (./run manage load_heyang)"
    client = APIClient()
    client.force_authenticate(User.objects.filter(is_active=True).order_by("-is_superuser", "pk").first())

    grids = client.get("/api/v1/grids")
    assert grids.status_code == 200, grids.content[:300]
    compare(f"GET /api/v1/grids ({len(grids.data['features'])} grids)", grids.data, args.repeats)

    minx, miny, maxx, maxy = edition.county_geom.extent
    rng = np.random.default_rng(10)
    points = np.column_stack([rng.uniform(minx, maxx, args.points), rng.uniform(miny, maxy, args.points)])
    located = client.post("/api/v1/locate", {"crs": "wgs84", "points": points.round(6).tolist()}, format="json")
    assert located.status_code == 200, located.content[:300]
    ratio = compare(f"POST /api/v1/locate ({args.points:,} points)", located.data, args.repeats)
    print(f"ratio: {ratio:.1f}")


if __name__ == "__main__":
    main()
