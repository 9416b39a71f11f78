"""Every GEOS-holding object that request threads share, hammered from many threads at once.

The server runs gthread workers (4 request threads a process) and coverage's pool threads; GEOS
objects shared between them crash the process (libgeos/geos#825, docs/threads.md). Here a child
process takes the real shared objects, the way requests reach them: locate's snapshot (GridIndex
on points exactly on shared edges and vertices, so every point takes the exact GEOS path; the
proximity tables for near-boundary candidates and the nearest grid), coverage's per-edition grid
set (coverage(), own_grids() and schedule() on realistic walks through the county town, with the
pool), and runs them from 10 threads in bounded rounds that start together on a barrier, while
the main thread drops the caches now and then so copies are built and freed mid-flight. Every
answer is compared with the one computed serially first.

A GEOS crash kills the interpreter, so the hammer runs in a child process: the test asserts the
child's exit code (a segfault or an abort is a failure, not a dead pytest) and the count of
answers it checked. The child reads the committed Heyang edition of this session's test database.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parent.parent
THREADS = 10
# The task families; a task repeats its call this often within a round, so that the cheap calls
# (a GridIndex query takes milliseconds) overlap for long enough.
TASKS = {"index_exact": 3, "locate_details": 3, "coverage": 1, "schedule": 2, "own_grids": 1}
# The rounds: (family, or "mixed" for thread i taking family i + round; when the caches are
# dropped: "before" the round, so that every thread's first query meets an entry just built, as
# after a publish; "during" it, so that copies are built and freed while other threads still use
# the old entry; or None). The old shared GridIndex survived thousands of queries once warm and
# corrupted its heap within a few rounds of first queries on a new index, hence twenty of those.
PLAN = (
    *[("index_exact", "before")] * 20,
    ("locate_details", "before"), ("locate_details", None),
    ("coverage", "before"), ("schedule", "before"), ("own_grids", None),
    ("mixed", "during"), ("mixed", None), ("mixed", "before"),
)


@pytest.fixture
def test_db_name(heyang_live) -> str:
    """This session's test database, Heyang committed in it (heyang_live: the child process,
    like a live server, cannot see a test's transaction)."""
    from django.db import connection

    return connection.settings_dict["NAME"]


def run_hammer(db_name: str, threads: int = THREADS, root: Path = ROOT) -> subprocess.CompletedProcess:
    """The hammer in a child process against `db_name`, with the gisgrid package found in `root`."""
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="gisgrid.settings", PYTHONPATH=str(root),
               DATABASE_URL=f"postgresql://postgres@127.0.0.1:5432/{db_name}")
    return subprocess.run([sys.executable, str(Path(__file__).resolve()), "--threads", str(threads)],
                          cwd=root, env=env, capture_output=True, text=True, timeout=900)


def test_shared_geos_objects_survive_concurrent_threads(test_db_name) -> None:
    assert test_db_name.startswith("test_")  # never the dev database
    proc = run_hammer(test_db_name)
    tail = (proc.stdout[-3000:] + "\n" + proc.stderr[-3000:]).strip()
    # A negative code is the signal that killed the child: -11 SIGSEGV, -6 SIGABRT (heap corruption).
    assert proc.returncode == 0, f"hammer exited with {proc.returncode}:\n{tail}"
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["errors"] == [] and summary["mismatches"] == [], tail
    assert summary["checked"] == sum(TASKS[name] * n for name, n in summary["by_task"].items())
    assert sum(summary["by_task"].values()) == THREADS * len(PLAN)
    for task in TASKS:
        assert summary["by_task"][task] >= THREADS, summary
    # The exact path really ran: the points were in boundary cells, and some answers had
    # near-boundary candidates and nearest grids (proximity), pool work (share > 0) and visits.
    assert summary["exact_points"] >= 1000
    assert summary["near_answers"] > 0 and summary["nearest_answers"] > 0
    assert summary["shared_grids"] > 0 and summary["visited_grids"] > 0 and summary["met_grids"] > 0
    assert summary["pool_used"]


# ---------------------------------------------------------------------------------------------
# The child process


def _walks(grids, people: int, fixes: int, seed: int) -> list:
    """Seeded walks of `people` inspectors through the grids' area, a fix every 5 s, ~1.2 m/s
    between random points 100-500 m apart, with ~4 m of GPS noise: realistic tracks."""
    import numpy as np
    import shapely
    from django.conf import settings
    from pyproj import Transformer

    from gisgrid.patrols.tracks import Track

    rng = np.random.default_rng(seed)
    area = shapely.union_all(grids.geoms)
    shapely.prepare(area)
    minx, miny, maxx, maxy = area.bounds
    to_wgs = Transformer.from_crs(settings.GISGRID_METRIC_SRID, 4326, always_xy=True)
    t0 = dt.datetime(2026, 11, 24, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    tracks = []
    for k in range(people):
        x, y = [], []
        while True:
            px, py = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if shapely.contains_xy(area, px, py):
                break
        while len(x) < fixes:
            r, a = rng.uniform(100, 500), rng.uniform(0, 2 * np.pi)
            qx, qy = px + r * np.cos(a), py + r * np.sin(a)
            if not shapely.contains_xy(area, qx, qy):
                continue
            steps = max(1, int(r / (1.2 * 5)))
            f = np.arange(1, steps + 1) / steps
            x.extend(px + f * (qx - px))
            y.extend(py + f * (qy - py))
            px, py = qx, qy
        xs = np.array(x[:fixes]) + rng.normal(0, 4, fixes)
        ys = np.array(y[:fixes]) + rng.normal(0, 4, fixes)
        t = t0 + 5.0 * np.arange(fixes)
        t[fixes // 2:] += 3600  # a lunch break: two sessions
        lon, lat = to_wgs.transform(xs, ys)
        tracks.append(Track(1000 + k, f"巡查员{k}", "inspector", t, np.asarray(lon), np.asarray(lat), xs, ys))
    return tracks


def _hammer(threads: int, only: list[str] | None = None) -> dict:
    import django

    django.setup()
    import numpy as np
    from django.db import connection

    from gisgrid.boundaries import locate
    from gisgrid.boundaries.locate_index import records_from_geojson
    from gisgrid.patrols import coverage as cov
    from tests.test_locate_index import HEYANG_GRIDS, shared_edge_points

    rng = np.random.default_rng(20261201)
    records = records_from_geojson(str(HEYANG_GRIDS))
    ex, ey = shared_edge_points(records, 6000, rng)
    # Locate with details: edge points (near-boundary candidates), points 5 m off the edges,
    # and points outside the county (nearest grid, swapped lon/lat).
    lx = np.concatenate([ex[:300], ex[300:600] + 5 / 91_000, rng.uniform(109.0, 109.3, 40)])
    ly = np.concatenate([ey[:300], ey[300:600], rng.uniform(34.0, 34.3, 40)])
    del records

    town = cov.grid_set(level=3, urban_only=True)
    tracks = _walks(town, people=8, fixes=900, seed=7)
    start = dt.datetime(2026, 11, 23, tzinfo=ZoneInfo("Asia/Shanghai"))
    end = start + dt.timedelta(days=7)
    codes = town.codes
    serves = {tr.person_id: [codes[(7 * k) % len(codes)], codes[(7 * k + 3) % len(codes)]]
              for k, tr in enumerate(tracks)}
    radius = 30.0

    def index_exact() -> dict:
        snap = locate.snapshot()
        r = snap.index.locate_many(ex, ey)
        return {"status": r.status.tolist(), "l1": r.level1.tolist(), "l2": r.level2.tolist(),
                "l3": r.level3.tolist()}

    def locate_details() -> list:
        return locate.locate(lx, ly, "wgs84", tolerance_m=20.0)[1]

    def coverage() -> dict:
        res = cov.coverage(tracks, cov.grid_set(level=3, urban_only=True), radius_m=radius)
        return {"grids": [cov.grid_dict(g) for g in res.grids], "people": [cov.person_dict(p) for p in res.people],
                "unvisited": res.unvisited}

    def schedule() -> list:
        rows = cov.schedule(tracks, cov.grid_set(), start, end, {"role": "inspector", "level": 3,
                                                                 "urban_only": True, "every_days": 7})
        return [cov.schedule_dict(r) for r in rows]

    def own_grids() -> dict:
        return cov.own_grids(tracks, cov.grid_set(), serves, radius_m=radius)

    tasks = {"index_exact": index_exact, "locate_details": locate_details, "coverage": coverage,
             "schedule": schedule, "own_grids": own_grids}
    plan = list(PLAN)
    if only:  # some families alone, to tell which object crashes (docs/threads.md)
        tasks = {name: tasks[name] for name in only}
        plan = [(name, when) for name, when in plan if name in tasks or name == "mixed"]
    serial, serial_s = {}, {}
    for name, fn in tasks.items():  # the main thread's answers
        t0 = time.perf_counter()
        serial[name] = fn()
        serial_s[name] = round(time.perf_counter() - t0, 4)

    snap = locate.snapshot()
    boundary = snap.index._cells[_flat(snap.index, ex, ey)] == -2
    summary: dict = {
        "checked": 0, "by_task": dict.fromkeys(tasks, 0), "mismatches": [], "errors": [], "serial_s": serial_s,
        "exact_points": int(boundary.sum()),
        "near_answers": sum(bool(a.get("candidates")) for a in serial.get("locate_details", [])),
        "nearest_answers": sum(a["status"] == "outside" for a in serial.get("locate_details", [])),
        "shared_grids": sum(g["share"] > 0 for g in serial.get("coverage", {}).get("grids", [])),
        "visited_grids": sum(g["visited"] for g in serial.get("coverage", {}).get("grids", [])),
        "met_grids": sum(r["met"] for r in serial.get("schedule", [])),
        "pool_used": cov.WORKERS > 1 and sum(len(t) for t in tracks) // cov.RUN_SEGMENTS >= 200,
    }
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)
    names = list(tasks)

    def worker(i: int) -> None:
        try:
            for rnd, (family, _) in enumerate(plan):
                barrier.wait()  # the round starts
                name = family if family != "mixed" else names[(i + rnd) % len(names)]
                for _ in range(TASKS[name]):
                    try:
                        answer = tasks[name]()
                    except Exception:
                        with lock:
                            summary["errors"].append(f"{name} round {rnd}: {traceback.format_exc()}")
                        break
                    with lock:
                        summary["checked"] += 1
                        if answer != serial[name]:
                            summary["mismatches"].append(f"{name} thread {i} round {rnd}")
                with lock:
                    summary["by_task"][name] += 1
                barrier.wait()  # the round ends
        finally:
            connection.close()

    pool = [threading.Thread(target=worker, args=(i,), name=f"hammer-{i}") for i in range(threads)]
    for t in pool:
        t.start()
    for _, when in plan:
        if when == "before":
            locate.clear_cache()
            cov.clear_cache()
        barrier.wait()
        if when == "during":
            locate.clear_cache()
            cov.clear_cache()
        barrier.wait()
    for t in pool:
        t.join()
    return summary


def _flat(index, x, y):
    """Lattice cell of each point (as GridIndex.locate_many computes it): to count exact-path points."""
    import numpy as np

    u = ((x - index._x0) * index._inv_hx).astype(np.intp)
    v = ((y - index._y0) * index._inv_hy).astype(np.intp)
    return v * index._nx + u


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=THREADS)
    ap.add_argument("--tasks", help=f"comma-separated subset of {','.join(TASKS)}")
    args = ap.parse_args()
    result = _hammer(args.threads, args.tasks.split(",") if args.tasks else None)
    print(json.dumps(result, ensure_ascii=False))
    sys.exit(0 if not result["errors"] and not result["mismatches"] else 1)
