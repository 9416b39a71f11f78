"""The ingest chain: each filter on its own, then the pipeline end to end against PostGIS."""

from __future__ import annotations

import datetime as dt
import threading

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from gisgrid.boundaries.datums import from_wgs84
from gisgrid.boundaries.models import Person
from gisgrid.patrols import partitions, sessions
from gisgrid.patrols.ingest import auth, pipeline
from gisgrid.patrols.ingest import filters as F
from gisgrid.patrols.ingest.records import BadFix, Fix
from gisgrid.patrols.models import Device, DeviceCounter, PatrolSession, Position, RejectedPosition

TOWN = (110.1496, 35.2377)  # inside 城关街道, WGS-84
M_LAT = 111_320.0
M_LON = M_LAT * np.cos(np.radians(TOWN[1]))
CFG = F.FilterConfig(future_s=86400, max_age_days=30, max_accuracy_m=100, min_period_s=1,
                     max_speed_mps=15, jitter_m=20, gap_s=600)


def track(*pts, stored=()):
    """A merged track of one device from (t seconds, east metres) candidates and stored fixes."""
    def arr(ps):
        t = np.array([p[0] * 1_000_000 for p in ps], dtype=np.int64)
        lon = np.array([TOWN[0] + p[1] / M_LON for p in ps])
        lat = np.full(len(ps), TOWN[1])
        return np.ones(len(ps), dtype=np.int64), t, lon, lat
    return F.Track.merge(arr(pts), arr(stored))


def rejected_candidates(tr, mask):
    return sorted(int(c) for c in tr.cand[mask])


# --- each filter alone --------------------------------------------------------------------------

def test_invalid_zero_future_old_accuracy_each_alone():
    lon = np.array([110.0, np.nan, 200.0, 0.0, 110.0, 110.0, 110.0, 110.0])
    lat = np.array([35.0, 35.0, 35.0, 0.0, 35.0, 35.0, 35.0, 35.0])
    valid = np.array([True, True, True, True, False, True, True, True])
    now = 1_800_000_000 * 1_000_000
    t = np.full(8, now)
    t[5] = now + 2 * 86400 * 1_000_000
    t[6] = now - 40 * 86400 * 1_000_000
    acc = np.array([5, 5, 5, 5, 5, 5, 5, 250.0])
    assert F.filter_invalid(lon, lat, valid).tolist() == [False, True, True, False, True, False, False, False]
    assert F.filter_zero(lon, lat).tolist() == [False, False, False, True, False, False, False, False]
    assert np.flatnonzero(F.filter_future(t, now, CFG)).tolist() == [5]
    assert np.flatnonzero(F.filter_too_old(t, now, CFG)).tolist() == [6]
    assert np.flatnonzero(F.filter_accuracy(acc, CFG)).tolist() == [7]
    off = F.FilterConfig(future_s=None, max_age_days=None, max_accuracy_m=None)
    assert not F.filter_future(t, now, off).any() and not F.filter_too_old(t, now, off).any()
    assert not F.filter_accuracy(acc, off).any()


def test_min_period_rejects_the_later_of_two_close_fixes_and_never_a_stored_one():
    tr = track((0, 0), (0.4, 1), (5, 6))
    assert rejected_candidates(tr, F.filter_min_period(tr, CFG)) == [1]
    # a candidate just before a stored fix goes, the stored fix stays
    tr = track((9.5, 10), stored=[(10, 11)])
    assert rejected_candidates(tr, F.filter_min_period(tr, CFG)) == [0]
    assert not F.filter_min_period(track((0, 0), (1, 1), (2, 2)), CFG).any()


def test_max_speed_spike_between_good_fixes():
    # walking 1.3 m/s, one fix 2 km off in the middle
    tr = track((0, 0), (5, 6.5), (10, 2000), (15, 19.5), (20, 26))
    assert rejected_candidates(tr, F.filter_max_speed(tr, CFG)) == [2]


def test_max_speed_judges_late_fix_against_stored_neighbours():
    stored = [(0, 0), (5, 6.5), (15, 19.5), (20, 26)]
    ok = track((10, 13), stored=stored)
    assert not F.filter_max_speed(ok, CFG).any()
    bad = track((10, 900), stored=stored)
    assert rejected_candidates(bad, F.filter_max_speed(bad, CFG)) == [0]


def test_max_speed_ends_of_runs_and_a_car_stretch():
    # first fix of a run is a jump: the next one agrees with the one after it
    tr = track((0, -3000), (5, 0), (10, 6.5), (15, 13))
    assert rejected_candidates(tr, F.filter_max_speed(tr, CFG)) == [0]
    # last fix jumps away
    tr = track((0, 0), (5, 6.5), (10, 3000))
    assert rejected_candidates(tr, F.filter_max_speed(tr, CFG)) == [2]
    # a stretch driven at 25 m/s between walking: all the car fixes go, walking stays
    pts = [(0, 0), (5, 6)] + [(10 + 5 * i, 6 + 125 * (i + 1)) for i in range(4)] + [(30, 631), (35, 637), (40, 643)]
    tr = track(*pts)
    assert rejected_candidates(tr, F.filter_max_speed(tr, CFG)) == [2, 3, 4, 5]
    # across a session gap nothing is judged
    tr = track((0, 0), (3600, 5000))
    assert not F.filter_max_speed(tr, CFG).any()


# --- the pipeline against the database -----------------------------------------------------------

@pytest.fixture
def inspector(heyang_db):
    return Person.objects.filter(role=Person.Role.INSPECTOR).order_by("pk").first()


def make_device(person, ident="phone-1", datum="wgs84", unit="mps"):
    d = Device(identifier=ident, person=person, datum=datum, speed_unit=unit)
    token = auth.set_token(d)
    d.save()
    return d, token


def walk(ident, n=10, start=None, step_s=5, lon0=TOWN[0], east_mps=1.3):
    start = start or timezone.now() - dt.timedelta(minutes=30)
    return [Fix(ident, TOWN[1], lon0 + east_mps * step_s * i / M_LON, start + dt.timedelta(seconds=step_s * i),
                speed=1.3, accuracy=8) for i in range(n)]


def run(fixes, *devices, **kw):
    return pipeline.ingest(fixes, {d.identifier: d for d in devices}, source="batch", **kw)


def test_accepted_fixes_are_tagged_with_the_grid_chain(inspector):
    dev, _ = make_device(inspector)
    r = run(walk("phone-1"), dev)
    assert r.accepted == 10
    p = Position.objects.filter(device=dev).first()
    assert p.location_status == "inside"
    assert p.level1_code == "610524001" and p.level2_code.startswith("610524001") and p.level3_code
    dev.refresh_from_db()
    assert dev.accepted_count == 10 and dev.last_codes[0] == "610524001"
    assert dev.dirty_start is not None and dev.dirty_end > dev.dirty_start


def test_gcj02_device_is_converted_and_raw_kept(inspector):
    dev, _ = make_device(inspector, datum="gcj02", unit="kn")
    glon, glat = from_wgs84(np.array([TOWN[0]]), np.array([TOWN[1]]), "gcj02")
    t = timezone.now() - dt.timedelta(minutes=1)
    r = run([Fix("phone-1", float(glat[0]), float(glon[0]), t, speed=10)], dev)
    assert r.accepted == 1
    p = Position.objects.get(device=dev)
    assert abs(p.point.x - TOWN[0]) < 1e-6 and abs(p.point.y - TOWN[1]) < 1e-6
    assert (p.raw_lon, p.raw_lat, p.raw_crs) == (pytest.approx(float(glon[0])), pytest.approx(float(glat[0])), "gcj02")
    assert p.speed_mps == pytest.approx(5.14444, rel=1e-4)  # 10 knots


def test_replay_is_stored_once_and_counted(inspector):
    dev, _ = make_device(inspector)
    fixes = walk("phone-1")
    run(fixes, dev)
    again = run(fixes + fixes[:3], dev)
    assert again.accepted == 0 and again.count("duplicate") == 13
    assert Position.objects.filter(device=dev).count() == 10
    assert RejectedPosition.objects.filter(device=dev).count() == 0
    assert DeviceCounter.objects.get(device=dev, name="duplicate").count == 13


def test_same_time_other_place_is_quarantined_as_duplicate(inspector):
    dev, _ = make_device(inspector)
    fixes = walk("phone-1", n=3)
    run(fixes, dev)
    clash = Fix("phone-1", TOWN[1] + 0.0001, fixes[1].lon, fixes[1].time)
    r = run([clash], dev)
    assert r.outcomes[0].status == "rejected" and r.outcomes[0].reasons == ["duplicate"]
    q = RejectedPosition.objects.get(device=dev)
    assert q.reasons == ["duplicate"] and q.raw_lat == pytest.approx(clash.lat)
    run([clash], dev)  # a replay of a rejected fix is quarantined once
    assert RejectedPosition.objects.filter(device=dev).count() == 1


def test_out_of_order_batches_judged_against_stored_neighbours(inspector):
    dev, _ = make_device(inspector)
    fixes = walk("phone-1", n=20)
    run(fixes[10:], dev)  # the later half arrives first
    late = fixes[:10]
    late[5] = Fix("phone-1", TOWN[1] + 0.02, late[5].lon, late[5].time)  # a 2 km jump in the late batch
    r = run(late, dev)
    assert [o.status for o in r.outcomes].count("accepted") == 9
    assert r.outcomes[5].reasons == ["max_speed"]
    dev.refresh_from_db()
    assert dev.last_fix_time == fixes[-1].time  # a late batch does not move the device back


def test_a_batch_with_bad_items_stores_the_good_ones(inspector):
    dev, _ = make_device(inspector)
    now = timezone.now()
    items = walk("phone-1", n=3) + [
        BadFix("phone-1", "lat", "不是数字 not a number: 'abc'", {"lat": "abc"}),
        Fix("phone-1", 0.0, 0.0, now - dt.timedelta(seconds=5)),
        Fix("phone-1", TOWN[1], TOWN[0], now + dt.timedelta(days=3)),
        Fix("phone-1", TOWN[1], TOWN[0], now - dt.timedelta(days=60)),
        Fix("phone-1", TOWN[1], TOWN[0], now - dt.timedelta(seconds=1), accuracy=900),
    ]
    r = run(items, dev, now=now).as_dict()
    assert r["accepted"] == 3 and r["rejected"] == 5
    reasons = [i.get("reasons") for i in r["items"][3:]]
    assert reasons == [["invalid"], ["zero"], ["future"], ["too_old"], ["accuracy"]]
    assert "lat" in r["items"][3]["detail"]
    assert sorted(sum(RejectedPosition.objects.filter(device=dev).values_list("reasons", flat=True), [])) == \
        sorted(["invalid", "zero", "future", "too_old", "accuracy"])
    counts = dict(DeviceCounter.objects.filter(device=dev).values_list("name", "count"))
    assert counts == {"invalid": 1, "zero": 1, "future": 1, "too_old": 1, "accuracy": 1}


def test_partitions_are_monthly_and_created_on_demand(inspector):
    dev, _ = make_device(inspector)
    old = timezone.now() - dt.timedelta(days=25)
    run(walk("phone-1", n=2, start=old), dev)
    names = partitions.existing()
    assert partitions.partition_name(partitions.month_start(old)) in names
    with connection.cursor() as cur:
        cur.execute("SELECT tableoid::regclass::text FROM patrols_position WHERE device_id = %s", [dev.pk])
        assert {r[0] for r in cur.fetchall()} == {partitions.partition_name(partitions.month_start(old))}


def test_concurrent_copies_of_a_batch_store_each_fix_once(inspector, transactional_db):
    dev, _ = make_device(inspector)
    fixes = walk("phone-1", n=50)
    results = []

    def send():
        try:
            d = Device.objects.get(pk=dev.pk)
            results.append(pipeline.ingest(fixes, {d.identifier: d}, source="batch"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Position.objects.filter(device=dev).count() == 50
    assert sum(r.accepted for r in results) == 50
    assert sum(r.count("duplicate") for r in results) == 100


def test_sessions_split_at_a_pause_and_rebuild_after_late_fixes(inspector):
    dev, _ = make_device(inspector)
    start = timezone.now() - dt.timedelta(hours=2)
    first = walk("phone-1", n=60, start=start)  # 5 min
    second = walk("phone-1", n=60, start=start + dt.timedelta(minutes=20), lon0=first[-1].lon)
    run(first + second, dev)
    sessions.refresh()
    got = list(PatrolSession.objects.filter(device=dev).order_by("start"))
    assert len(got) == 2
    assert got[0].point_count == 60 and got[0].distance_m == pytest.approx(59 * 6.5, rel=0.01)
    assert got[0].person == inspector and got[0].line.geom_type == "LineString"
    # late fixes filling the pause (every 5 min: no gap over 10 min any more) join the two
    fill = [Fix("phone-1", TOWN[1], first[-1].lon, start + dt.timedelta(minutes=5 + 5 * k)) for k in (1, 2)]
    assert run(fill, dev).accepted == 2
    sessions.refresh()
    got = list(PatrolSession.objects.filter(device=dev))
    assert len(got) == 1 and got[0].point_count == 122
    dev.refresh_from_db()
    assert dev.dirty_start is None


# --- register_device -------------------------------------------------------------------------------

def test_register_device_prints_a_token_that_authenticates(inspector, capsys):
    inspector_user = inspector.user
    call_command("register_device", "860000000000001", "--person", str(inspector.pk),
                 "--datum", "gcj02", "--speed-unit", "kn", "--quiet")
    token = capsys.readouterr().out.strip()
    devices = auth.authenticate(["860000000000001"], token)
    d = devices["860000000000001"]
    assert (d.person, d.datum, d.speed_unit, d.user) == (inspector, "gcj02", "kn", inspector_user)
    call_command("register_device", "860000000000001", "--person", str(inspector.pk), "--quiet")
    new = capsys.readouterr().out.strip()
    assert new != token
    with pytest.raises(auth.DeviceAuthError) as e:
        auth.authenticate(["860000000000001"], token)
    assert e.value.status == 403 and e.value.code == "bad_token"
    with pytest.raises(CommandError, match="person"):
        call_command("register_device", "x1", "--person", "nobody-here")


def test_authenticate_codes(inspector):
    dev, token = make_device(inspector)
    with pytest.raises(auth.DeviceAuthError) as e:
        auth.authenticate([], token)
    assert (e.value.status, e.value.code) == (401, "missing_device")
    with pytest.raises(auth.DeviceAuthError) as e:
        auth.authenticate(["phone-1"], None)
    assert (e.value.status, e.value.code) == (401, "missing_token")
    with pytest.raises(auth.DeviceAuthError) as e:
        auth.authenticate(["phone-9"], token)
    assert (e.value.status, e.value.code) == (403, "bad_token")
    dev.active = False
    dev.save()
    with pytest.raises(auth.DeviceAuthError) as e:
        auth.authenticate(["phone-1"], token)
    assert e.value.code == "device_disabled"


def test_a_fix_just_after_midnight_county_time_goes_to_the_new_month(inspector):
    """00:30 on the 1st in Asia/Shanghai is still the previous month in UTC."""
    dev, _ = make_device(inspector)
    local = timezone.localtime().replace(day=1, hour=0, minute=30, second=0, microsecond=0)
    r = run([Fix("phone-1", TOWN[1], TOWN[0], local)], dev,
            cfg=F.FilterConfig(max_age_days=None, future_s=None))
    assert r.accepted == 1
    with connection.cursor() as cur:
        cur.execute("SELECT tableoid::regclass::text FROM patrols_position WHERE device_id = %s", [dev.pk])
        assert cur.fetchone()[0] == f"patrols_position_p{local:%Y%m}"


def test_refresh_patrols_keeps_months_and_drops_older_ones(inspector, capsys):
    dev, _ = make_device(inspector)
    old = timezone.localtime() - dt.timedelta(days=70)
    no_age = F.FilterConfig(max_age_days=None)
    run(walk("phone-1", n=3, start=old), dev, cfg=no_age)
    run([Fix("phone-1", 0.0, 0.0, old)], dev, cfg=no_age, now=old)  # quarantined back then
    run(walk("phone-1", n=3), dev)
    call_command("refresh_patrols", "--keep-months", "1")
    out = capsys.readouterr().out
    assert partitions.partition_name(partitions.month_start(old)) in out
    assert partitions.partition_name(partitions.month_start(old)) not in partitions.existing()
    assert Position.objects.filter(device=dev).count() == 3  # this month's stay
    assert not RejectedPosition.objects.filter(device=dev).exists()
    assert PatrolSession.objects.filter(device=dev).count() == 1
    with pytest.raises(CommandError):
        call_command("refresh_patrols", "--keep-months", "0")


def test_nul_characters_never_reach_postgresql(inspector, anon_client):
    """PostgreSQL text and jsonb refuse NUL: a payload carrying one is still quarantined."""
    dev, token = make_device(inspector)
    bad = BadFix("phone-1", "timestamp", "not a time: '\\x00'", {"timestamp": "\x00", "k\x00": "v\x00"})
    r = run([bad], dev)
    assert r.outcomes[0].reasons == ["invalid"]
    q = RejectedPosition.objects.get(device=dev)
    assert q.payload == {"timestamp": "\ufffd", "k\ufffd": "v\ufffd"}
    r = anon_client.get("/api/v1/track/osmand", {"id": "pho\x00ne", "token": token, "lat": 35.2, "lon": 110.1})
    assert r.status_code == 403 and r.json()["error"] == "bad_token"
