"""Concurrent, overlapping ingest against the real database: no deadlock, no lost or doubled
fix, counters that add up, and never an HTML page.

Before the pipeline locked its devices in one order, two batches holding the same fixes in
opposite order deadlocked in PostgreSQL (the loser got Django's HTML 500): each had inserted the
keys the other was about to insert.
"""

from __future__ import annotations

import datetime as dt
import random
import threading

import numpy as np
import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from gisgrid.patrols.ingest import auth, group_commit, pipeline
from gisgrid.patrols.ingest.pipeline import Submission
from gisgrid.patrols.ingest.records import Fix
from gisgrid.patrols.models import Device, DeviceCounter, Position

TOWN = (110.1496, 35.2377)
M_LON = 111_320.0 * np.cos(np.radians(TOWN[1]))


def make_devices(n: int) -> tuple[list[Device], dict[str, str]]:
    devices, tokens = [], {}
    for k in range(n):
        d = Device(identifier=f"conc-{k:02d}")
        tokens[d.identifier] = auth.set_token(d)
        devices.append(d)
    Device.objects.bulk_create(devices)
    return list(Device.objects.filter(identifier__startswith="conc-").order_by("identifier")), tokens


def walks(devices: list[Device], per_device: int, hours_ago: float = 2) -> list[Fix]:
    """Clean walks (1.3 m/s, a fix every 5 s): whatever order they arrive in, none is filtered."""
    start = timezone.now() - dt.timedelta(hours=hours_ago)
    return [Fix(d.identifier, TOWN[1] + k * 0.001, TOWN[0] + 6.5 * i / M_LON, start + dt.timedelta(seconds=5 * i),
                speed=1.3, accuracy=8)
            for k, d in enumerate(devices) for i in range(per_device)]


def run_threads(target, args_list: list[tuple]) -> list:
    results: list = [None] * len(args_list)
    start = threading.Barrier(len(args_list))

    def work(slot: int, args: tuple) -> None:
        try:
            start.wait()
            results[slot] = target(*args)
        except BaseException as exc:  # asserted on below
            results[slot] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(k, a)) for k, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return results


def assert_stored_once(devices: list[Device], fixes: list[Fix], sent: int, outcomes: list) -> None:
    unique = len({(f.device, f.time) for f in fixes})
    statuses = [o.status for o in outcomes]
    assert statuses.count("accepted") == unique
    assert statuses.count("duplicate") == sent - unique
    assert statuses.count("rejected") == 0
    assert Position.objects.filter(device__in=devices).count() == unique
    for d in devices:
        d.refresh_from_db()
        assert d.accepted_count == Position.objects.filter(device=d).count()
    dup = DeviceCounter.objects.filter(device__in=devices, name="duplicate").aggregate(n=Sum("count"))["n"] or 0
    assert dup == sent - unique
    assert not DeviceCounter.objects.filter(device__in=devices).exclude(name="duplicate").exists()


def test_overlapping_batches_in_opposite_and_random_orders_never_deadlock(transactional_db):
    devices, _ = make_devices(6)
    by_id = {d.identifier: d for d in devices}
    rng = random.Random(9)
    all_fixes, sent, outcomes = [], 0, []
    for rnd in range(4):  # rounds of fresh fixes: each round is a new chance to deadlock
        fixes = walks(devices, 150, hours_ago=6 - rnd)
        batches = []
        for k in range(8):
            b = list(fixes)
            if k % 4 == 1:
                b.reverse()
            elif k % 4 > 1:
                rng.shuffle(b)
            batches.append(b[: len(b) * 3 // 4] if k >= 4 else b)  # overlapping, not equal

        def send(batch):
            return pipeline.ingest(batch, dict(by_id), source="batch")

        results = run_threads(send, [(b,) for b in batches])
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, errors[0]
        outcomes += [o for r in results for o in r.outcomes]
        all_fixes += fixes
        sent += sum(len(b) for b in batches)
    assert_stored_once(devices, all_fixes, sent, outcomes)


def test_opposite_order_json_batches_over_http_answer_json(transactional_db):
    devices, tokens = make_devices(2)
    all_fixes, sent, outcomes = [], 0, []

    def post(items):
        r = APIClient().post("/api/v1/track/positions", {"positions": items}, format="json")
        return r.status_code, r["Content-Type"], r.json()

    for rnd in range(4):
        fixes = walks(devices, 500, hours_ago=6 - rnd)
        body = [{"device_id": f.device, "token": tokens[f.device], "time": f.time.isoformat(),
                 "lat": f.lat, "lon": f.lon, "accuracy": 8, "speed": 1.3} for f in fixes]
        bodies = [body, body[::-1], body[::-1], body]
        results = run_threads(post, [(b,) for b in bodies])
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, errors[0]
        assert [(status, ctype) for status, ctype, _ in results] == [(200, "application/json")] * 4
        outcomes += [pipeline.Outcome(i["index"], i["status"]) for _s, _c, b in results for i in b["items"]]
        all_fixes += fixes
        sent += 4 * len(body)
    assert_stored_once(devices, all_fixes, sent, outcomes)


def test_concurrent_single_fixes_through_the_committer_are_stored_once(transactional_db):
    devices, tokens = make_devices(5)
    fixes = walks(devices, 40)
    by_id = {d.identifier: d for d in devices}
    # Every fix sent twice, from different threads, in different orders: phones retry.
    rng = random.Random(4)
    lanes = [list(fixes), list(fixes)]
    rng.shuffle(lanes[0])
    rng.shuffle(lanes[1])
    lanes = [lane[k::4] for lane in lanes for k in range(4)]
    c = group_commit.GroupCommitter()

    def send(lane):
        out = []
        for f in lane:
            sub = Submission([f], {f.device: by_id[f.device]}, "osmand", timezone.now(),
                             credentials={f.device: auth.hash_token(tokens[f.device])})
            out.extend(c.submit(sub).outcomes)
        return out

    try:
        results = run_threads(send, [(lane,) for lane in lanes])
    finally:
        c.stop()
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[0]
    assert_stored_once(devices, fixes, 2 * len(fixes), [o for r in results for o in r])
    assert c.stats.requests == 2 * len(fixes)


DEADLOCK_TRIGGER = """
CREATE FUNCTION conc_always_deadlock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'simulated deadlock' USING ERRCODE = '40P01';
END $$;
CREATE TRIGGER conc_deadlock BEFORE UPDATE ON patrols_device FOR EACH ROW EXECUTE FUNCTION conc_always_deadlock();
"""


@pytest.mark.parametrize("path", ["track/osmand", "track/positions"])
def test_a_deadlock_that_outlasts_the_retries_is_a_json_503(transactional_db, path):
    devices, tokens = make_devices(1)
    d = devices[0]
    t = timezone.now() - dt.timedelta(minutes=5)
    with connection.cursor() as cur:
        cur.execute(DEADLOCK_TRIGGER)
    try:
        client = APIClient()
        if path == "track/osmand":
            r = client.get("/api/v1/track/osmand", {"id": d.identifier, "token": tokens[d.identifier],
                                                    "lat": TOWN[1], "lon": TOWN[0], "timestamp": int(t.timestamp())})
        else:
            r = client.post("/api/v1/track/positions", {"device_id": d.identifier, "token": tokens[d.identifier],
                            "positions": [{"time": t.isoformat(), "lat": TOWN[1], "lon": TOWN[0]}]}, format="json")
    finally:
        group_commit.shutdown()
        with connection.cursor() as cur:
            cur.execute("DROP TRIGGER conc_deadlock ON patrols_device; DROP FUNCTION conc_always_deadlock()")
    assert r.status_code == 503 and r["Content-Type"] == "application/json"
    assert r.json()["error"] == "database_busy" and r["Retry-After"]
    assert not Position.objects.filter(device=d).exists()
