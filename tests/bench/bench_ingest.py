"""Benchmark: the ingest pipeline against plain ORM save() per point.

    ./run bench ingest [--devices 500] [--per-device 400] [--batch 2000] [--baseline 5000] [--repeats 3]

200,000 fixes (500 devices x 400, one every 5 s, walking with GPS noise through the county
town, 1 % of them junk: zeros, jumps, poor accuracy, exact replays) are sent in batches the way
a gateway forwards them: each batch holds the next time window of every device, so every batch
meets stored neighbours. The project's path: filters, grid tagging, storage, counters, device
state, session dirty ranges, one transaction per batch. The baseline: Position(...).save() per
point with no filtering and no tagging (what a plain Django view does), timed on the first
`--baseline` fixes. Each side is run `--repeats` times on a clean slate and the medians are
compared. Last line: ``ratio: X`` = project positions/s ÷ baseline positions/s.
Uses the dev database (./run bench loads Heyang first); bench rows are removed at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
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

from django.contrib.gis.geos import Point  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from gisgrid.boundaries import locate  # noqa: E402
from gisgrid.patrols import partitions  # noqa: E402
from gisgrid.patrols.ingest import auth, pipeline  # noqa: E402
from gisgrid.patrols.ingest.records import Fix  # noqa: E402
from gisgrid.patrols.models import Device, Position  # noqa: E402

PREFIX = "bench-ing-"
TOWN = (110.149, 35.238)  # Heyang county town, WGS-84


def make_fixes(devices: int, per_device: int, seed: int, now: dt.datetime) -> list[list[Fix]]:
    """Per device, a time-ordered walk; 1 % junk mixed in."""
    rng = np.random.default_rng(seed)
    start = now - dt.timedelta(hours=3)
    out = []
    m_per_deg_lat = 111_320.0
    m_per_deg_lon = m_per_deg_lat * np.cos(np.radians(TOWN[1]))
    for d in range(devices):
        heading = rng.uniform(0, 2 * np.pi, per_device).cumsum() * 0.05 + rng.uniform(0, 2 * np.pi)
        step = 1.3 * 5.0
        x = np.cumsum(np.cos(heading) * step) + rng.uniform(-1500, 1500)
        y = np.cumsum(np.sin(heading) * step) + rng.uniform(-1500, 1500)
        lon = TOWN[0] + (x + rng.normal(0, 3, per_device)) / m_per_deg_lon
        lat = TOWN[1] + (y + rng.normal(0, 3, per_device)) / m_per_deg_lat
        acc = rng.uniform(3, 15, per_device)
        junk = rng.random(per_device) < 0.01
        kinds = rng.integers(0, 3, per_device)
        lat[junk & (kinds == 0)] = 0
        lon[junk & (kinds == 0)] = 0
        lat[junk & (kinds == 1)] += 0.02  # a 2 km jump
        acc[junk & (kinds == 2)] = 500
        ident = f"{PREFIX}{d:04d}"
        out.append([Fix(ident, float(lat[i]), float(lon[i]), start + dt.timedelta(seconds=5 * i),
                        speed=1.3, accuracy=float(acc[i]), battery=80.0) for i in range(per_device)])
    return out


def batches(per_device: list[list[Fix]], size: int) -> list[list[Fix]]:
    """Interleave: each batch carries the next time window of every device, plus a replay."""
    n_dev = len(per_device)
    window = max(1, size // n_dev)
    out = []
    for s in range(0, len(per_device[0]), window):
        b = [f for fixes in per_device for f in fixes[s:s + window]]
        out.append(b)
    if len(out) > 2:  # a phone that re-sends its last upload
        out[2] = out[2] + out[1][: len(out[1]) // 10]
    return out


def clean() -> None:
    with connection.cursor() as cur:
        cur.execute("DELETE FROM patrols_position WHERE device_id IN "
                    "(SELECT id FROM patrols_device WHERE identifier LIKE %s)", [PREFIX + "%"])
    Device.objects.filter(identifier__startswith=PREFIX).delete()


def make_devices(n: int) -> dict[str, Device]:
    devs = []
    for d in range(n):
        dev = Device(identifier=f"{PREFIX}{d:04d}")
        auth.set_token(dev)
        devs.append(dev)
    Device.objects.bulk_create(devs)
    return {d.identifier: d for d in Device.objects.filter(identifier__startswith=PREFIX)}


def run_project(bs: list[list[Fix]], devices: dict[str, Device]) -> tuple[float, int]:
    t0 = time.perf_counter()
    accepted = 0
    for b in bs:
        accepted += pipeline.ingest(b, devices, source="batch").accepted
    return time.perf_counter() - t0, accepted


def run_orm(fixes: list[Fix], devices: dict[str, Device]) -> float:
    now = timezone.now()
    t0 = time.perf_counter()
    for f in fixes:
        Position(device=devices[f.device], fix_time=f.time, received_at=now, source="batch",
                 raw_lon=f.lon, raw_lat=f.lat, raw_crs="wgs84", point=Point(f.lon, f.lat, srid=4326),
                 accuracy_m=f.accuracy, speed_mps=f.speed, battery=f.battery).save()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--per-device", type=int, default=400)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--baseline", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    now = timezone.now()
    per_device = make_fixes(a.devices, a.per_device, a.seed, now)
    bs = batches(per_device, a.batch)
    total = sum(len(b) for b in bs)
    flat = sorted((f for fixes in per_device for f in fixes), key=lambda f: f.time)[: a.baseline]
    partitions.ensure_for_times([now - dt.timedelta(hours=3), now])
    locate.snapshot()  # a running server has its grid index built already
    print(f"{total:,} fixes from {a.devices} devices in {len(bs)} batches of ~{a.batch}")
    proj, orm = [], []
    try:
        for r in range(a.repeats):
            clean()
            devices = make_devices(a.devices)
            secs, accepted = run_project(bs, devices)
            proj.append(total / secs)
            print(f"  project run {r + 1}: {secs:.2f} s, {total / secs:,.0f} fixes/s, {accepted:,} accepted")
            clean()
            devices = make_devices(a.devices)
            secs = run_orm(flat, devices)
            orm.append(len(flat) / secs)
            print(f"  ORM save() run {r + 1}: {secs:.2f} s for {len(flat):,}, {len(flat) / secs:,.0f} fixes/s")
    finally:
        clean()
    p, o = statistics.median(proj), statistics.median(orm)
    print(f"project (filters + grid tagging + storage): median {p:,.0f} positions/s")
    print(f"baseline (ORM save() per point, no filters, no tagging): median {o:,.0f} positions/s")
    print(f"ratio: {p / o:.1f}")


if __name__ == "__main__":
    main()
