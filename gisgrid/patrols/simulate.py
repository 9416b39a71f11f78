"""Demo patrols: the inspectors walking their beats in the county town, through the real ingest path.

Only for the demo and for trying the coverage views on a fresh install; a county with real
phones never runs it. Walks are deterministic per (person, day), so running it again adds only
the hours that have passed since (the rest come back as duplicates and are counted as such).
"""

from __future__ import annotations

import datetime as dt
import zlib

import numpy as np
import shapely
from django.utils import timezone

from gisgrid.boundaries import locate
from gisgrid.boundaries.models import Person

from .ingest import auth, pipeline
from .ingest.records import Fix
from .models import Device

WALK_MPS = 1.3
FIX_EVERY_S = 10
SHIFTS = ((9, 0, 11, 0), (15, 0, 17, 0))  # local hours of the two daily rounds
GRIDS_PER_ROUND = 5


def _beats(count: int) -> list[list[shapely.Point]]:
    """The town's level-3 grids cut into `count` wedges around the town centre, one per
    inspector: walks stay inside a wedge (it is convex), so an idle inspector's beat stays red."""
    snap = locate.snapshot()
    # The shared snapshot's records carry no geometry; geoms() is this thread's own copy.
    geoms = snap.index.geoms()
    points = [shapely.point_on_surface(geoms[i]) for i, r in enumerate(snap.index.records) if r.level == 3]
    if not points or count == 0:
        return []
    cx = float(np.mean([p.x for p in points]))
    cy = float(np.mean([p.y for p in points]))
    order = sorted(points, key=lambda p: np.arctan2(p.y - cy, p.x - cx))
    return [list(chunk) for chunk in np.array_split(np.array(order, dtype=object), count)]


def _walk(points: list[shapely.Point], t0: dt.datetime, t1: dt.datetime, rng) -> list[tuple[dt.datetime, float, float]]:
    """Straight legs between the targets at walking pace, a fix every 10 s with ~4 m of noise."""
    lon = np.array([p.x for p in points])
    lat = np.array([p.y for p in points])
    m_lat = 111_320.0
    m_lon = m_lat * np.cos(np.radians(lat.mean()))
    seg = np.hypot(np.diff(lon) * m_lon, np.diff(lat) * m_lat)
    cum = np.r_[0, np.cumsum(seg)]
    n = int(min((t1 - t0).total_seconds(), cum[-1] / WALK_MPS) // FIX_EVERY_S)
    d = np.arange(n) * FIX_EVERY_S * WALK_MPS
    wlon = np.interp(d, cum, lon) + rng.normal(0, 4, n) / m_lon
    wlat = np.interp(d, cum, lat) + rng.normal(0, 4, n) / m_lat
    return [(t0 + dt.timedelta(seconds=int(i * FIX_EVERY_S)), float(wlon[i]), float(wlat[i])) for i in range(n)]


def simulate_week(now: dt.datetime | None = None, days: int | None = None) -> dict:
    """Feed this week's rounds (Monday until now, or the last `days` days) for every inspector."""
    now = timezone.localtime(now or timezone.now())
    first = (now - dt.timedelta(days=now.weekday())).date() if days is None else (now - dt.timedelta(days=days - 1)).date()
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    inspectors = list(Person.objects.filter(role=Person.Role.INSPECTOR, active=True).order_by("pk"))
    beats = _beats(len(inspectors))
    if not beats:
        return totals
    # The last inspector is on leave this week: the demo has a beat nobody walked.
    for person, targets in zip(inspectors[:-1], beats[:-1], strict=True):
        device, created = Device.objects.get_or_create(identifier=f"sim-{person.pk}",
                                                       defaults={"person": person, "user": person.user})
        if created:
            auth.set_token(device)  # nobody learns it: simulated fixes never come over HTTP
            device.save()
        fixes: list[Fix] = []
        day = first
        while day <= now.date():
            rng = np.random.default_rng(zlib.crc32(f"{person.pk}-{day}".encode()))
            for h0, m0, h1, m1 in SHIFTS:
                t0 = timezone.make_aware(dt.datetime(day.year, day.month, day.day, h0, m0))
                t1 = min(timezone.make_aware(dt.datetime(day.year, day.month, day.day, h1, m1)), now)
                if t1 <= t0:
                    continue
                picks = rng.choice(len(targets), size=min(GRIDS_PER_ROUND, len(targets)), replace=False)
                stops = [targets[i] for i in picks]
                # out and back along the stops until the round's time is up
                walk = _walk((stops + stops[-2:0:-1]) * 20 + stops[:1], t0, t1, rng)
                fixes += [Fix(device.identifier, lat, lon, t, speed=WALK_MPS, accuracy=8.0) for t, lon, lat in walk]
            day += dt.timedelta(days=1)
        for i in range(0, len(fixes), 5000):
            r = pipeline.ingest(fixes[i:i + 5000], {device.identifier: device}, source="simulated", now=now)
            d = r.as_dict()
            for k in totals:
                totals[k] += d[k]
    return totals
