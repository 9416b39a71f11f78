"""Patrol sessions: one device's fixes cut at pauses longer than the session gap (10 min).

Ingest only marks the span that got new fixes on the device row (dirty_start/dirty_end); this
module rebuilds the sessions touching that span. It runs before anything reads sessions (the
patrol API) and from `./run manage refresh_patrols`, so ingest stays a few statements per batch
however late or out of order the fixes arrive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import shapely
from django.conf import settings
from django.db import connection, transaction

from .ingest.filters import haversine_m
from .tracks import split_at_gaps

# ~1 m at Heyang's latitude: keeps the line's shape, drops the walking jitter's vertices.
SIMPLIFY_DEG = 1e-5


def refresh(device_ids: Iterable[int] | None = None) -> int:
    """Rebuild the sessions of every device (or of `device_ids`) with new fixes; returns how
    many devices were rebuilt. Devices another process is rebuilding are skipped, not awaited."""
    gap = dt.timedelta(seconds=settings.GISGRID_PATROL_SESSION_GAP_S)
    only = "" if device_ids is None else "AND id = ANY(%s)"
    params = [] if device_ids is None else [list(device_ids)]
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"""UPDATE patrols_device d SET dirty_start = NULL, dirty_end = NULL
                FROM (SELECT id, dirty_start, dirty_end FROM patrols_device
                      WHERE dirty_start IS NOT NULL {only} FOR UPDATE SKIP LOCKED) o
                WHERE d.id = o.id RETURNING d.id, d.person_id, o.dirty_start, o.dirty_end""", params)
        rows = cur.fetchall()
        for device_id, person_id, start, end in rows:
            _rebuild(cur, device_id, person_id, start - gap, end + gap, gap.total_seconds())
    return len(rows)


def _rebuild(cur, device_id: int, person_id: int | None, lo: dt.datetime, hi: dt.datetime, gap_s: float) -> None:
    cur.execute('SELECT min(start), max("end") FROM patrols_patrolsession '
                'WHERE device_id = %s AND "end" >= %s AND start <= %s', [device_id, lo, hi])
    s_min, s_max = cur.fetchone()
    lo = min(lo, s_min) if s_min else lo
    hi = max(hi, s_max) if s_max else hi
    cur.execute('DELETE FROM patrols_patrolsession WHERE device_id = %s AND "end" >= %s AND start <= %s',
                [device_id, lo, hi])
    cur.execute("SELECT extract(epoch from fix_time)::float8, ST_X(point), ST_Y(point) FROM patrols_position "
                "WHERE device_id = %s AND fix_time BETWEEN %s AND %s ORDER BY fix_time", [device_id, lo, hi])
    pts = cur.fetchall()
    if not pts:
        return
    t, lon, lat = (np.array(c, dtype=float) for c in zip(*pts, strict=True))
    rows = []
    for i, j in split_at_gaps(t, gap_s):
        rows.append((device_id, person_id, *summarise(t[i:j], lon[i:j], lat[i:j])))
    cur.executemany(
        'INSERT INTO patrols_patrolsession (device_id, person_id, start, "end", point_count, distance_m, line) '
        "VALUES (%s, %s, to_timestamp(%s), to_timestamp(%s), %s, %s, ST_GeomFromEWKB(%s))", rows)


def summarise(t: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> tuple[float, float, int, float, bytes]:
    """(start, end, fixes, distance along the raw fixes in metres, simplified line as EWKB)."""
    distance = float(haversine_m(lon[:-1], lat[:-1], lon[1:], lat[1:]).sum()) if len(t) > 1 else 0.0
    if len(t) > 1 and (np.ptp(lon) > 0 or np.ptp(lat) > 0):
        geom = shapely.simplify(shapely.linestrings(lon, lat), SIMPLIFY_DEG, preserve_topology=False)
    else:
        geom = shapely.points(lon[0], lat[0])
    geom = shapely.set_srid(geom, 4326)
    return float(t[0]), float(t[-1]), len(t), distance, shapely.to_wkb(geom, include_srid=True)
