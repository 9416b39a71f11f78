"""Benchmark: patrol coverage (load_tracks + coverage) against buffer-union-intersect in PostGIS.

    ./run bench coverage            (loads Heyang into the dev database first)
    .venv/bin/python tests/bench/bench_coverage.py [--repeat N] [--baseline-repeat M] [--seed S]

One working day (08:00-12:00 and 14:00-18:00 Asia/Shanghai, seven days before today so it is
always within the ingest window) of 10 inspectors walking at ~1.2 m/s between random points of
the county town's urban grids, one fix every 5 s (57,600 fixes), with correlated GPS noise
(AR(1), sigma 4 m) and one 15-minute stop each; seeded, so every run walks the same walk.
Inserted with COPY (not timed) into the dev database for 10 bench persons/devices named
``bench-cov-NN``, removed again at the end (and at the start, after an aborted run).

Timed, median of --repeat (5): the project's path as a request runs it: grid_set (cached after
the first call, which is reported apart), load_tracks from PostGIS, coverage() over the 121 urban
level-3 grids. Baseline, median of --baseline-repeat (3): one SQL statement, sessions by window
functions, ST_MakeLine per person and session, ST_Transform to the metric CRS, ST_Buffer 30 m,
ST_Union, ST_Intersection with each urban grid, area share (its union is a MATERIALIZED CTE:
inlined, PostgreSQL misestimates the grid count as 1 and recomputes the union per grid, ~340 s).
The two take turns, so load from other processes falls on both. Both shares are compared per
grid. The last line is ``ratio: X`` = baseline median ÷ project median.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gisgrid.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from pyproj import Transformer  # noqa: E402

from gisgrid.boundaries.models import Person  # noqa: E402
from gisgrid.patrols import coverage as cov  # noqa: E402
from gisgrid.patrols import partitions  # noqa: E402
from gisgrid.patrols.models import Device  # noqa: E402
from gisgrid.patrols.tracks import load_tracks  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
PREFIX = "bench-cov-"
PEOPLE = 10
STEP_S = 5.0
SHIFTS = [((8, 0), (12, 0)), ((14, 0), (18, 0))]


def cleanup() -> None:
    devices = list(Device.objects.filter(identifier__startswith=PREFIX).values_list("id", flat=True))
    with transaction.atomic(), connection.cursor() as cur:
        if devices:
            cur.execute("DELETE FROM patrols_position WHERE device_id = ANY(%s)", [devices])
        Device.objects.filter(id__in=devices).delete()
        Person.objects.filter(name__startswith=PREFIX).delete()


def walk(rng: np.random.Generator, area: shapely.Geometry, t: np.ndarray, stop_at: float) -> tuple[np.ndarray, np.ndarray]:
    """Metric x/y at times `t`: straight legs between random points 100-600 m apart inside
    `area`, ~1.2 m/s, a 15-minute stop at `stop_at`, AR(1) noise (GPS error drifts slowly)."""
    minx, miny, maxx, maxy = area.bounds

    def random_point_near(x: float, y: float) -> tuple[float, float]:
        while True:
            r, a = rng.uniform(100, 600), rng.uniform(0, 2 * np.pi)
            px, py = x + r * np.cos(a), y + r * np.sin(a)
            if shapely.contains_xy(area, px, py):
                return px, py

    while True:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(area, x, y):
            break
    xs, ys = np.empty(len(t)), np.empty(len(t))
    tx, ty = random_point_near(x, y)
    speed = rng.uniform(1.0, 1.4)
    stopped_until = None
    for i in range(len(t)):
        if i and t[i] - t[i - 1] > 600:  # lunch: start the afternoon somewhere new
            x, y = random_point_near(x, y)
            tx, ty = random_point_near(x, y)
        if stopped_until is None and t[i] >= stop_at:
            stopped_until = t[i] + 900
        if not (stopped_until is not None and t[i] < stopped_until):
            step = speed * (t[i] - t[i - 1] if i else 0.0)
            d = np.hypot(tx - x, ty - y)
            while step >= d:  # reached the waypoint: on to the next one
                x, y, step = tx, ty, step - d
                tx, ty = random_point_near(x, y)
                speed = rng.uniform(1.0, 1.4)
                d = np.hypot(tx - x, ty - y)
            x += (tx - x) / d * step
            y += (ty - y) / d * step
        xs[i], ys[i] = x, y
    phi, sigma = 0.9, 4.0
    noise = np.empty((len(t), 2))
    e = rng.normal(0, sigma, 2)
    for i in range(len(t)):
        e = phi * e + rng.normal(0, sigma * np.sqrt(1 - phi * phi), 2)
        noise[i] = e
    return xs + noise[:, 0], ys + noise[:, 1]


def setup(seed: int, day: dt.date, grids: cov.GridSet) -> tuple[list[int], dt.datetime, dt.datetime]:
    rng = np.random.default_rng(seed)
    times = np.concatenate([
        np.arange(dt.datetime.combine(day, dt.time(*a), TZ).timestamp(),
                  dt.datetime.combine(day, dt.time(*b), TZ).timestamp(), STEP_S)
        for a, b in SHIFTS])
    start = dt.datetime.combine(day, dt.time(0), TZ)
    end = start + dt.timedelta(days=1)
    partitions.ensure_for_times([start, end - dt.timedelta(seconds=1)])
    area = shapely.union_all(grids.geoms)
    shapely.prepare(area)
    to_wgs = Transformer.from_crs(settings.GISGRID_METRIC_SRID, 4326, always_xy=True)
    person_ids = []
    now = dt.datetime.now(dt.UTC)
    with transaction.atomic(), connection.cursor() as cur:
        for k in range(PEOPLE):
            p = Person.objects.create(name=f"{PREFIX}{k:02d}", phone=f"{PREFIX}{k:02d}", role="inspector")
            d = Device.objects.create(identifier=f"{PREFIX}{k:02d}", person=p)
            person_ids.append(p.pk)
            stop_at = rng.uniform(times[200], times[len(times) // 2 - 400])
            x, y = walk(rng, area, times, stop_at)
            lon, lat = to_wgs.transform(x, y)
            with cur.copy("COPY patrols_position (device_id, fix_time, received_at, source, raw_lon, raw_lat, "
                          "raw_crs, point, location_status, level1_code, level2_code, level3_code) FROM STDIN") as cp:
                for ti, lo, la in zip(times.tolist(), lon.tolist(), lat.tolist(), strict=True):
                    cp.write_row((d.pk, dt.datetime.fromtimestamp(ti, dt.UTC), now, "bench", lo, la,
                                  "wgs84", f"SRID=4326;POINT({lo!r} {la!r})", "", "", "", ""))
    with connection.cursor() as cur:
        cur.execute("ANALYZE patrols_position")
    return person_ids, start, end


BASELINE_SQL = """
WITH pts AS (
    SELECT d.person_id, p.fix_time, p.point,
           CASE WHEN p.fix_time - lag(p.fix_time) OVER w > make_interval(secs => %(gap)s) THEN 1 ELSE 0 END AS brk
    FROM patrols_position p JOIN patrols_device d ON d.id = p.device_id
    WHERE p.fix_time >= %(start)s AND p.fix_time < %(end)s AND d.person_id = ANY(%(people)s)
    WINDOW w AS (PARTITION BY d.person_id ORDER BY p.fix_time)
), s AS (
    SELECT person_id, fix_time, point, sum(brk) OVER (PARTITION BY person_id ORDER BY fix_time) AS session
    FROM pts
), lines AS (
    SELECT ST_Transform(ST_MakeLine(point ORDER BY fix_time), %(srid)s) AS geom
    FROM s GROUP BY person_id, session
), seen AS MATERIALIZED (
    -- MATERIALIZED: inlined, PostgreSQL would re-run the union for every grid of the join.
    SELECT ST_Union(ST_Buffer(geom, %(radius)s)) AS geom FROM lines
), g AS (
    SELECT g.code, ST_Transform(g.geom, %(srid)s) AS geom
    FROM boundaries_grid g JOIN boundaries_grid p ON p.id = g.parent_id
    WHERE g.edition_id = %(edition)s AND g.level = 3 AND p.urban
)
SELECT g.code, ST_Area(ST_Intersection(g.geom, seen.geom)) / ST_Area(g.geom) FROM g, seen ORDER BY g.code
"""


def interleaved(runs: dict[str, tuple[Callable[[], object], int]]) -> dict[str, tuple[list[float], list[float], object]]:
    """Run each function its number of times, taking turns (A, B, A, B, A, ...), so that a
    neighbour's load on this shared machine falls on both sides alike. Per name: wall times,
    this process's CPU times, and the last answer."""
    out: dict[str, tuple[list[float], list[float], object]] = {name: ([], [], None) for name in runs}
    for k in range(max(n for _, n in runs.values())):
        for name, (fn, n) in runs.items():
            if k < n:
                wall, cpu, _ = out[name]
                c0, t0 = time.process_time(), time.perf_counter()
                answer = fn()
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                out[name] = (wall, cpu, answer)
    return out


def _fmt(times: list[float]) -> str:
    return ", ".join(f"{t:.3f}" for t in times)


def main(argv: list[str] | None = None) -> float:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--baseline-repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--keep", action="store_true", help="leave the bench rows in the database")
    args = ap.parse_args(argv)

    radius = float(settings.GISGRID_PATROL_RADIUS_M)
    gap = float(settings.GISGRID_PATROL_SESSION_GAP_S)
    cleanup()
    cov.clear_cache()
    t0 = time.perf_counter()
    grids = cov.grid_set(level=3, urban_only=True)
    print(f"grids: {len(grids)} urban level-3 grids of edition {grids.edition_id} "
          f"(first build {time.perf_counter() - t0:.3f} s, cached afterwards)")
    day = (dt.datetime.now(TZ) - dt.timedelta(days=7)).date()
    try:
        t0 = time.perf_counter()
        people, start, end = setup(args.seed, day, grids)
        n = sum(len(t) for t in load_tracks(start, end, person_ids=people))
        print(f"data: {PEOPLE} inspectors on {day}, {n} fixes, inserted in {time.perf_counter() - t0:.1f} s (not timed)")

        def project() -> dict[str, float]:
            g = cov.grid_set(level=3, urban_only=True)
            tracks = load_tracks(start, end, person_ids=people)
            res = cov.coverage(tracks, g, radius_m=radius, gap_s=gap)
            return {r.code: r.share for r in res.grids}

        # Where the time goes, once (not part of the medians).
        t0 = time.perf_counter()
        tracks = load_tracks(start, end, person_ids=people)
        t1 = time.perf_counter()
        segs = cov.segments(tracks, gap)
        t2 = time.perf_counter()
        cov.clip(segs, grids)
        t3 = time.perf_counter()
        cov.share(segs, grids, radius)
        t4 = time.perf_counter()
        print(f"project parts: load_tracks {t1 - t0:.3f} s, segments {t2 - t1:.3f} s, clip {t3 - t2:.3f} s, "
              f"share {t4 - t3:.3f} s")

        params = {"gap": gap, "start": start, "end": end, "people": people, "srid": settings.GISGRID_METRIC_SRID,
                  "radius": radius, "edition": grids.edition_id}

        def baseline() -> dict[str, float]:
            with connection.cursor() as cur:
                cur.execute("SET jit = off")  # compiling costs more than it saves here
                cur.execute(BASELINE_SQL, params)
                return {code: float(v or 0.0) for code, v in cur.fetchall()}

        # A 2-core machine shared with other work: say how busy it was, the threads need a free core.
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} before timing")
        res = interleaved({"project": (project, args.repeat), "baseline": (baseline, args.baseline_repeat)})
        p_times, p_cpu, p_share = res["project"]
        b_times, _, b_share = res["baseline"]
        p_med, b_med = statistics.median(p_times), statistics.median(b_times)
        print(f"project: median {p_med:.3f} s over {len(p_times)} runs ({_fmt(p_times)}); "
              f"CPU of this process {statistics.median(p_cpu):.3f} s (threads: {cov.WORKERS})")
        # The baseline's work happens in the PostgreSQL backend, one core.
        print(f"baseline (PostGIS buffer-union-intersect): median {b_med:.3f} s over {len(b_times)} runs "
              f"({_fmt(b_times)})")

        codes = sorted(p_share)
        if set(codes) != set(b_share):
            print(f"WARNING: grid sets differ ({len(codes)} vs {len(b_share)})")
        diff = np.array([abs(p_share[c] - b_share.get(c, 0.0)) for c in codes])
        mean_share = np.mean([p_share[c] for c in codes])
        print(f"share: mean {mean_share:.4f}, max abs difference {diff.max():.6f} "
              f"(grid {codes[int(diff.argmax())]}), mean abs difference {diff.mean():.6f}")
    finally:
        if not args.keep:
            cleanup()
    ratio = b_med / p_med
    print(f"ratio: {ratio:.1f}")
    return ratio


if __name__ == "__main__":
    main()
