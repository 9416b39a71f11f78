"""Make a worker ready before it takes its first request.

Measured under `./run bench load`'s county day, with cold workers the slowest 1 % of lookups
took 2.9 s: the first requests of a new worker queue behind work that every process, and every
thread, does once.

- Per process: the URL configuration and every view module it imports; locate's snapshot (about 1 s of CPU for Heyang, several seconds on a busy
  machine), coverage's metric grids and the map pages' simplified grid layers. Built while the
  edition cache's lock is held, so every request that needs one waits behind the first.
- Per thread: pyproj gives each thread its own PROJ context, built at the thread's first
  transform (a few hundred ms under load); the locate index's and coverage's per-thread GEOS
  copies (docs/threads.md); the thread's own database connection.

`./run serve` starts people's pool with `-c python:gisgrid.gunicorn_hooks` and GISGRID_WARM_UP=1:
gunicorn calls `warm_up_worker` after loading the app and before the worker accepts a
connection, and it warms the process, then every thread of the worker's pool. The phones' pool
needs neither cache: it only imports the views (GISGRID_WARM_UP=imports). A publish later bumps the edition's version and the next
request rebuilds, as before: warming covers a start, when a restarted server meets its whole
morning queue at once.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time
from typing import Any

log = logging.getLogger("gisgrid.warmup")


def warm_up() -> list[tuple[float, float]]:
    """Build this process's caches for the active edition; returns a few WGS-84 points inside
    and outside the county for `warm_thread`. Never raises: a server with no database yet, or
    no edition loaded, starts anyway and builds on demand."""
    import shapely.geometry
    from django.db import connections

    from gisgrid.boundaries import display, locate
    from gisgrid.boundaries.models import Edition
    from gisgrid.patrols import coverage
    from gisgrid.web.views import SIMPLIFY_M

    started = time.perf_counter()
    points: list[tuple[float, float]] = []
    # Django imports the URL configuration, and with it every view module (geopandas and pandas
    # among their imports, over a second of CPU), at the first request.
    from django.urls import get_resolver

    _ = get_resolver().url_patterns
    try:
        locate.snapshot()
        coverage.grid_set()
        edition = Edition.objects.get(status="active")
        # The layers the map pages ask for first (simplified as the pages ask).
        for level, metres in SIMPLIFY_M.items():
            layer = display.grids_feature_collection(edition, level, simplify_m=metres)
            if level == 1 and layer["features"]:
                shape = shapely.geometry.shape(layer["features"][0]["geometry"])
                inside, (x0, y0, _, _) = shape.representative_point(), shape.bounds
                # Inside, just outside, and far away (measured on the ellipsoid: its own projection).
                points = [(inside.x, inside.y), (x0 - 0.05, y0 - 0.05), (x0 - 20.0, 0.0)]
        if points:
            _walk(*points[0])
    except Exception as exc:  # noqa: BLE001 - any failure here only means "build on demand"
        log.warning("warm-up skipped (%s: %s); caches build at the first request", type(exc).__name__, exc)
    else:
        log.info("worker %d: caches built in %.2f s", os.getpid(), time.perf_counter() - started)
    finally:
        # The import thread's connection would sit idle for the worker's lifetime.
        connections.close_all()
    return points


def _walk(lon: float, lat: float) -> None:
    """One made-up ten-minute walk through coverage: its thread pool's threads and their own
    first-use costs (PROJ, GEOS copies)."""
    import numpy as np

    from gisgrid.patrols import coverage
    from gisgrid.patrols.tracks import Track, to_metric

    t = np.arange(0.0, 600.0, 10.0)
    lons, lats = lon + np.linspace(0, 0.005, len(t)), np.full(len(t), lat)
    x, y = to_metric(lons, lats)
    coverage.coverage([Track(0, "warm-up", "inspector", t, lons, lats, x, y)], coverage.grid_set())


def warm_thread(points: list[tuple[float, float]]) -> None:
    """One thread's first-use costs: its PROJ contexts (every datum), its GEOS copies, its
    database connection (kept, as a request's is, for CONN_MAX_AGE)."""
    from gisgrid.boundaries import locate
    from gisgrid.boundaries.gazetteer import search_places
    from gisgrid.patrols import coverage
    from gisgrid.patrols.tracks import to_metric

    lons, lats = [p[0] for p in points], [p[1] for p in points]
    for crs in ("wgs84", "gcj02", "bd09", "cgcs2000"):
        locate.locate(lons, lats, crs)
    to_metric(lons, lats)
    search_places("县")  # the connection's first trigram search loads pg_trgm's functions
    _ = coverage.grid_set().geoms  # builds this thread's GEOS copy


def warm_up_worker(worker: Any) -> None:
    """gunicorn's post_worker_init: the process, then each thread of a gthread worker's pool."""
    interval = os.environ.get("GISGRID_SWITCH_INTERVAL_MS")
    if interval:
        # Lookups are short and mostly wait on I/O; after each wait a thread queues for the GIL
        # behind a CPU-bound one (coverage, layers) for up to the switch interval, 5 ms by
        # default, several times per request.
        sys.setswitchinterval(float(interval) / 1000)
    mode = os.environ.get("GISGRID_WARM_UP")
    if mode == "imports":
        # The phones' pool: no caches, but the first batch should not import the views.
        from django.urls import get_resolver

        _ = get_resolver().url_patterns
        return
    if mode != "1":
        return
    points = warm_up()
    pool = getattr(worker, "tpool", None)
    threads = int(getattr(worker.cfg, "threads", 1) or 1)
    if not points or pool is None:
        return
    started = time.perf_counter()
    # All tasks wait at the barrier, so the executor starts a thread for each: every thread of
    # the pool is warmed, not the first one `threads` times.
    barrier = threading.Barrier(threads)

    def task() -> None:
        from django.db import connection

        try:
            barrier.wait(timeout=30)
        except threading.BrokenBarrierError:
            pass
        try:
            warm_thread(points)
        except Exception as exc:  # noqa: BLE001 - a cold thread is slower, not broken
            log.warning("thread warm-up failed (%s: %s)", type(exc).__name__, exc)
            connection.close()

    for future in [pool.submit(task) for _ in range(threads)]:
        future.result()
    # The caches hold millions of small objects (the layers' coordinate lists): every full
    # collection walked them all with the GIL held, half a second in which no thread of the
    # worker ran. Frozen, the collector skips what was built so far (gc.freeze's purpose).
    gc.collect()
    gc.freeze()
    log.info("worker %d: %d threads warmed in %.2f s, %d objects frozen", os.getpid(), threads,
             time.perf_counter() - started, gc.get_freeze_count())
