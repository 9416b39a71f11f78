"""Patrol coverage and schedule: hand-computable walks against synthetic squares and real grids.

Pure-function tests use square grids in metres (no database). The API tests walk straight
lines through a real urban level-3 grid of the Heyang data and check the figures against what
PostGIS computes independently from the stored fixes (ST_Intersection / ST_Length / ST_Buffer
in EPSG:4546).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely
from django.conf import settings
from django.db import connection
from pyproj import Transformer

from gisgrid.patrols import coverage as cov
from gisgrid.patrols.tracks import Track, split_at_gaps, to_metric

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 10, 5, 9, 0, tzinfo=TZ)  # a Monday
E0 = T0.timestamp()
URL = "/api/v1/patrols/coverage"
SCHEDULE_URL = "/api/v1/patrols/schedule"


# --- helpers ---------------------------------------------------------------------------------


def squares(boxes: dict[str, tuple[float, float, float, float]]) -> cov.GridSet:
    """A GridSet of axis-aligned rectangles in metres (codes in the given order)."""
    geoms = np.array([shapely.box(*b) for b in boxes.values()], dtype=object)
    shapely.prepare(geoms)
    n = len(geoms)
    return cov.GridSet(0, "test", 1, list(boxes), [f"网格{c}" for c in boxes], np.full(n, 3),
                       np.ones(n, dtype=bool), geoms, shapely.area(geoms))


def track(x, y, t, person_id: int = 1, role: str = "inspector", name: str = "巡查员甲") -> Track:
    x, y, t = (np.asarray(v, dtype=float) for v in (x, y, t))
    return Track(person_id, name, role, t, np.zeros_like(x), np.zeros_like(y), x, y)


def walk(x0: float, y0: float, x1: float, y1: float, t0: float, speed: float = 1.0, step_s: float = 5.0) -> Track:
    """Fixes every `step_s` along a straight line at `speed`, the last one exactly at the end."""
    length = math.hypot(x1 - x0, y1 - y0)
    t = np.arange(0.0, length / speed, step_s)
    t = np.r_[t, length / speed] if length / speed - t[-1] > 1e-9 else t
    f = t * speed / length
    return track(x0 + f * (x1 - x0), y0 + f * (y1 - y0), t0 + t)


def concat(*parts: Track) -> Track:
    return track(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]),
                 np.concatenate([p.t for p in parts]), parts[0].person_id, parts[0].role, parts[0].person_name)


def row(result: cov.CoverageResult, code: str) -> cov.GridCoverage:
    return next(r for r in result.grids if r.code == code)


# --- pure functions --------------------------------------------------------------------------


def test_split_at_gaps() -> None:
    t = np.array([0, 5, 10, 700, 705, 1305, 1906])
    # 10 -> 700 is a gap; 705 -> 1305 is exactly 600 s (not longer: no split); 1305 -> 1906 is.
    assert split_at_gaps(t, 600) == [(0, 3), (3, 6), (6, 7)]
    assert split_at_gaps(np.array([42.0]), 600) == [(0, 1)]
    assert split_at_gaps(np.array([]), 600) == []


def test_to_metric_matches_pyproj() -> None:
    lon, lat = np.array([110.15, 110.2]), np.array([35.24, 35.3])
    x, y = to_metric(lon, lat)
    ex, ey = Transformer.from_crs(4326, settings.GISGRID_METRIC_SRID, always_xy=True).transform(lon, lat)
    assert np.allclose(x, ex) and np.allclose(y, ey)
    # 3-degree Gauss-Kruger, central meridian 111E, no zone prefix: false easting 500 000 m.
    assert 400_000 < x[0] < 500_000 and 3_800_000 < y[0] < 4_000_000


def test_straight_walk_through_square() -> None:
    grids = squares({"A": (0, 0, 100, 100)})
    # West to east along y = 50 at 1 m/s from x = -52: enters at t = 52 s (between the fixes
    # at 50 and 55 s), leaves at t = 152 s; 100 m and 100 s inside.
    res = cov.coverage([walk(-52, 50, 200, 50, E0)], grids, radius_m=30, gap_s=600)
    a = row(res, "A")
    assert a.visited and res.unvisited == []
    assert a.distance_m == pytest.approx(100.0, abs=1e-6)
    assert a.time_s == pytest.approx(100.0, abs=1e-6)
    assert a.first_seen == pytest.approx(E0 + 52, abs=1e-6)
    assert a.last_seen == pytest.approx(E0 + 152, abs=1e-6)
    [v] = a.visitors
    assert (v.person_id, v.distance_m, v.time_s) == (1, pytest.approx(100.0), pytest.approx(100.0))
    assert cov.grid_dict(a)["first_seen"] == "2026-10-05T09:00:52+08:00"
    [p] = res.people
    assert p.grids == ["A"] and p.distance_m == pytest.approx(252.0) and p.sessions == 1
    assert p.patrol_s == pytest.approx(252.0)


def test_share_of_a_stadium_inside_a_rectangle() -> None:
    grids = squares({"R": (0, 0, 200, 100)})
    # 100 m along y = 50 from x = 50: the 30 m stadium lies wholly inside: 2 r L + pi r^2.
    res = cov.coverage([walk(50, 50, 150, 50, E0)], grids, radius_m=30)
    stadium = 2 * 30 * 100 + math.pi * 30**2
    # GEOS draws arcs with 8 segments a quarter: the disc is a 32-gon, 18 m^2 short of pi r^2.
    assert row(res, "R").share == pytest.approx(stadium / 20_000, abs=20 / 20_000)
    assert row(res, "R").share == pytest.approx((6000 + 16 * 900 * math.sin(math.pi / 16)) / 20_000, abs=1e-6)


def test_share_of_a_stadium_clipped_by_the_grid_edge() -> None:
    grids = squares({"R": (0, 0, 200, 100)})
    # Along y = 10: the edge y = 0 cuts the stadium. Inside: the 100 x 40 band, plus two end caps
    # of half a disc each less half of the circular segment below the chord at distance 10.
    res = cov.coverage([walk(50, 10, 150, 10, E0)], grids, radius_m=30)
    r, d = 30.0, 10.0
    segment_below = r * r * math.acos(d / r) - d * math.sqrt(r * r - d * d)
    cap = math.pi * r * r / 2 - segment_below / 2
    expected = (100 * 40 + 2 * cap) / 20_000
    assert row(res, "R").share == pytest.approx(expected, abs=20 / 20_000)


def test_share_counts_overlapping_passes_once_and_never_exceeds_one() -> None:
    grids = squares({"S": (0, 0, 40, 40)})
    there = walk(-10, 20, 50, 20, E0)
    back = walk(50, 21, -10, 21, there.t[-1] + 5)
    res = cov.coverage([concat(there, back)], grids, radius_m=30)
    assert row(res, "S").share == pytest.approx(1.0)
    once = cov.coverage([there], grids, radius_m=5)
    twice = cov.coverage([concat(there, back)], grids, radius_m=5)
    # Two passes 1 m apart widen the band by 1 m, not double it: 40 x 11 instead of 40 x 10.
    assert row(once, "S").share == pytest.approx(400 / 1600, abs=1e-3)
    assert row(twice, "S").share == pytest.approx(440 / 1600, abs=1e-3)


def test_gap_splits_the_track() -> None:
    grids = squares({"W": (0, 0, 100, 100), "MID": (200, 0, 300, 100), "E": (400, 0, 500, 100)})
    # 20 m walked in W, a 15-minute silence, 20 m walked in E. Joined, the jump from W to E would
    # cross MID; split at the gap (> 600 s), nothing is drawn across it.
    first = walk(40, 50, 60, 50, E0)
    second = walk(440, 50, 460, 50, first.t[-1] + 900)
    res = cov.coverage([concat(first, second)], grids, radius_m=10, gap_s=600)
    assert row(res, "W").distance_m == pytest.approx(20.0)
    assert row(res, "E").distance_m == pytest.approx(20.0)
    assert not row(res, "MID").visited and row(res, "MID").share == 0
    assert res.unvisited == ["MID"]
    [p] = res.people
    assert p.sessions == 2
    assert p.distance_m == pytest.approx(40.0)  # the 400 m jump is not a walk
    assert p.patrol_s == pytest.approx(40.0)  # two sessions of 20 s, not the 15 minutes between
    # With a longer allowed gap the same fixes form one session and the jump crosses MID.
    joined = cov.coverage([concat(first, second)], grids, radius_m=10, gap_s=3600)
    assert row(joined, "MID").visited and row(joined, "MID").distance_m == pytest.approx(100.0)


def test_fast_walker_crossing_a_small_grid_between_fixes() -> None:
    grids = squares({"TINY": (0, 0, 10, 10)})
    # Two fixes 200 m apart, 5 s apart: no fix inside, yet the line crosses 10 m of the grid.
    res = cov.coverage([track([-100, 100], [5, 5], [E0, E0 + 5])], grids, radius_m=1)
    tiny = row(res, "TINY")
    assert tiny.visited and res.unvisited == []
    assert tiny.distance_m == pytest.approx(10.0)
    assert tiny.time_s == pytest.approx(0.25)
    assert tiny.first_seen == pytest.approx(E0 + 2.5) and tiny.last_seen == pytest.approx(E0 + 2.75)


def test_unvisited_grids_are_listed_in_order() -> None:
    grids = squares({"A": (0, 0, 100, 100), "B": (100, 0, 200, 100), "C": (0, 100, 100, 200),
                     "D": (100, 100, 200, 200)})
    res = cov.coverage([walk(10, 50, 150, 50, E0)], grids, radius_m=5)
    assert [r.code for r in res.grids if r.visited] == ["A", "B"]
    assert res.unvisited == ["C", "D"]
    # Walking from A into B: 90 m in A, 50 m in B, handed over at x = 100 (t = 90 s).
    assert row(res, "A").distance_m == pytest.approx(90.0) and row(res, "B").distance_m == pytest.approx(50.0)
    assert row(res, "A").last_seen == pytest.approx(E0 + 90) and row(res, "B").first_seen == pytest.approx(E0 + 90)


def test_standing_still_counts_its_time_and_a_lone_fix_is_a_visit() -> None:
    grids = squares({"A": (0, 0, 100, 100), "B": (200, 0, 300, 100)})
    still = track([50, 50, 50], [50, 50, 50], [E0, E0 + 60, E0 + 120])
    lone = track([250], [50], [E0 + 5000], person_id=2, name="巡查员乙")
    res = cov.coverage([still, lone], grids, radius_m=10)
    assert row(res, "A").time_s == pytest.approx(120.0) and row(res, "A").distance_m == 0
    b = row(res, "B")
    assert b.visited and b.time_s == 0 and b.first_seen == b.last_seen == pytest.approx(E0 + 5000)
    assert b.share == pytest.approx(16 * 100 * math.sin(math.pi / 16) / 10_000, abs=1e-9)  # a 32-gon of r 10
    assert [p.sessions for p in res.people] == [1, 1]


def test_two_people_in_one_grid() -> None:
    grids = squares({"A": (0, 0, 100, 100)})
    a = walk(-10, 30, 110, 30, E0)
    b = walk(50, -10, 50, 110, E0 + 1000)
    b.person_id, b.person_name = 2, "巡查员乙"
    res = cov.coverage([a, b], grids, radius_m=5)
    r = row(res, "A")
    assert [v.person_id for v in r.visitors] == [1, 2]
    assert r.distance_m == pytest.approx(200.0) and r.time_s == pytest.approx(200.0)
    assert r.first_seen == pytest.approx(E0 + 10) and r.last_seen == pytest.approx(E0 + 1110)


def test_idle_stretch_detection() -> None:
    rng = np.random.default_rng(7)
    approach = walk(0, 0, 100, 0, E0)
    # 12 minutes near (100, 0) with up to 5 m of jitter, a fix every 5 s, then walk on.
    n = 144
    stay = track(100 + rng.uniform(-5, 5, n), rng.uniform(-5, 5, n), approach.t[-1] + 5 * np.arange(1, n + 1))
    leave = walk(100, 0, 300, 0, stay.t[-1] + 5)
    short_stay = track(300 + rng.uniform(-5, 5, 48), rng.uniform(-5, 5, 48), leave.t[-1] + 5 * np.arange(1, 49))
    tr = concat(approach, stay, leave, short_stay)
    res = cov.coverage([tr], squares({"A": (-50, -50, 400, 50)}), radius_m=10, idle={"radius_m": 50, "min_s": 600})
    [stretch] = res.people[0].idle  # the 4-minute stop at 300 m is too short
    # It starts at the first fix from which the whole stop (x 95-105, y -5-5) stays within 50 m:
    # the walker at x = 55-60 m, 55-60 s into the walk. It lasts until the walker, moving on,
    # leaves the circle around that first fix (about 10 s after the stop ends).
    assert 55 <= stretch.start - E0 <= 60
    assert 12 * 60 + 40 <= stretch.duration_s <= 12 * 60 + 60
    assert stretch.end == pytest.approx(stretch.start + stretch.duration_s)
    d = cov.person_dict(res.people[0])["idle"][0]
    assert set(d) == {"start", "end", "duration_s", "lon", "lat"}


def test_idle_stretch_ends_at_a_session_gap() -> None:
    tr = track([0, 1, 2, 3], [0, 0, 0, 0], [E0, E0 + 300, E0 + 1000, E0 + 1300])
    # Standing still throughout, but the 700 s silence splits the sessions: two 300 s runs.
    assert cov.idle_stretches(tr, split_at_gaps(tr.t, 600), 50, 600) == []
    assert len(cov.idle_stretches(tr, split_at_gaps(tr.t, 3600), 50, 600)) == 1


def test_schedule_two_weeks_met_and_unmet() -> None:
    grids = squares({"A": (0, 0, 100, 100), "B": (200, 0, 300, 100), "C": (400, 0, 500, 100)})
    week = 7 * 86400
    through_a = walk(-10, 50, 110, 50, E0)
    through_a_again = walk(-10, 60, 110, 60, E0 + 3 * 3600)  # second session, same week
    in_and_out = concat(walk(-10, 50, 50, 50, E0 + 5 * 3600), walk(50, 50, -10, 40, E0 + 5 * 3600 + 61))
    through_b_1 = walk(190, 50, 310, 50, E0 + 86400)
    through_b_2 = walk(190, 50, 310, 50, E0 + week + 86400)
    inspector = concat(through_a, through_a_again, in_and_out, through_b_1, through_b_2)
    member = walk(390, 50, 510, 50, E0 + 2 * 86400)  # a grid member in C does not do the duty
    member.person_id, member.role = 2, "grid_member"
    cfg = {"role": "inspector", "level": 3, "urban_only": True, "every_days": 7, "min_visits": 1}
    rows = cov.schedule([inspector, member], grids, T0, T0 + dt.timedelta(days=14), cfg)
    by = {r.code: r for r in rows}
    # A: three sessions in week 1 (one of them entered and left, counted once), none in week 2.
    assert [w.visits for w in by["A"].windows] == [3, 0]
    assert [w.met for w in by["A"].windows] == [True, False] and not by["A"].met
    assert [w.visits for w in by["B"].windows] == [1, 1] and by["B"].met
    assert [w.visits for w in by["C"].windows] == [0, 0] and not by["C"].met
    assert by["A"].windows[1].start == T0 + dt.timedelta(days=7)
    strict = cov.schedule([inspector], grids, T0, T0 + dt.timedelta(days=14), {**cfg, "min_visits": 2})
    assert [w.met for w in strict[0].windows] == [True, False]


def test_schedule_windows_last_one_is_short() -> None:
    w = cov.windows(T0, T0 + dt.timedelta(days=10), 7)
    assert w == [(T0, T0 + dt.timedelta(days=7)), (T0 + dt.timedelta(days=7), T0 + dt.timedelta(days=10))]


def test_no_tracks_means_everything_unvisited() -> None:
    grids = squares({"A": (0, 0, 100, 100), "B": (100, 0, 200, 100)})
    res = cov.coverage([], grids)
    assert res.unvisited == ["A", "B"] and res.people == []
    assert all(r.share == 0 and r.first_seen is None for r in res.grids)


def test_many_runs_use_the_pool_and_agree_with_one_thread(monkeypatch) -> None:
    # Enough track for share() to spread over worker threads: same answer as on one thread.
    grids = squares({f"G{i}{j}": (i * 100, j * 100, i * 100 + 100, j * 100 + 100) for i in range(4) for j in range(4)})
    rng = np.random.default_rng(3)
    t = E0 + 5 * np.arange(6000)
    x = np.cumsum(rng.normal(0, 4, 6000)) % 400
    y = np.cumsum(rng.normal(0, 4, 6000)) % 400
    tracks = [track(x, y, t)]
    parallel = cov.share(cov.segments(tracks, 600), grids, 30)
    monkeypatch.setattr(cov, "WORKERS", 1)
    serial = cov.share(cov.segments(tracks, 600), grids, 30)
    assert np.allclose(parallel, serial, atol=1e-9) and parallel.min() > 0


# --- with the database: real grids, stored fixes, the HTTP API ---------------------------------


@pytest.fixture
def real(heyang_db):
    """An urban level-3 grid of Heyang and helpers to store walks for people."""
    from django.contrib.auth.models import User

    from gisgrid.boundaries.models import Person
    from gisgrid.patrols import partitions
    from gisgrid.patrols.models import Device, Position

    grids = cov.grid_set(level=3, urban_only=True)
    big = int(np.argmax(grids.areas))
    to_wgs = Transformer.from_crs(settings.GISGRID_METRIC_SRID, 4326, always_xy=True)

    class Real:
        code = grids.codes[big]
        geom = grids.geoms[big]
        inspector = Person.objects.filter(role="inspector").order_by("pk").first()
        inspector2 = Person.objects.filter(role="inspector").order_by("pk")[1]
        member = Person.objects.filter(role="grid_member").order_by("pk").first()

        @staticmethod
        def store(person, x, y, t, identifier: str | None = None) -> None:
            device, _ = Device.objects.get_or_create(identifier=identifier or f"test-cov-{person.pk}",
                                                     defaults={"person": person})
            lon, lat = to_wgs.transform(np.asarray(x, float), np.asarray(y, float))
            times = [dt.datetime.fromtimestamp(v, TZ) for v in t]
            partitions.forget()  # a rolled-back test may have dropped a partition this process made
            partitions.ensure_for_times(times)
            now = dt.datetime.now(TZ)
            Position.objects.bulk_create([
                Position(device=device, fix_time=ft, received_at=now, source="test", raw_lon=lo, raw_lat=la,
                         point=f"SRID=4326;POINT({lo!r} {la!r})", level1_code="", level2_code="", level3_code="")
                for ft, lo, la in zip(times, lon.tolist(), lat.tolist(), strict=True)])

        @staticmethod
        def bind(username: str, person) -> None:
            person.user = User.objects.get(username=username)
            person.save()

    return Real


def _crossing(real, t0: float = E0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A west-east walk at 1 m/s through the grid's interior point, 150 m beyond either side."""
    minx, _, maxx, _ = real.geom.bounds
    p = shapely.point_on_surface(real.geom)
    length = (maxx - minx) + 300 + 0.37  # the odd 0.37 m keeps fixes off the boundaries
    t = np.arange(0, length, 5.0)
    return minx - 150 + t, np.full(len(t), p.y), t0 + t


def _postgis_expectation(device_identifier: str, code: str) -> tuple[float, float, float]:
    """(length inside, x where it enters, area share of a 30 m buffer) from the stored fixes."""
    with connection.cursor() as cur:
        cur.execute(
            """
            WITH line AS (
                SELECT ST_Transform(ST_MakeLine(p.point ORDER BY p.fix_time), %(srid)s) AS geom
                FROM patrols_position p JOIN patrols_device d ON d.id = p.device_id
                WHERE d.identifier = %(dev)s
            ), g AS (
                SELECT ST_Transform(g.geom, %(srid)s) AS geom FROM boundaries_grid g
                JOIN boundaries_edition e ON e.id = g.edition_id AND e.status = 'active' WHERE g.code = %(code)s
            )
            SELECT ST_Length(ST_Intersection(g.geom, line.geom)), ST_XMin(ST_Intersection(g.geom, line.geom)),
                   ST_Area(ST_Intersection(g.geom, ST_Buffer(line.geom, 30))) / ST_Area(g.geom)
            FROM g, line
            """, {"srid": settings.GISGRID_METRIC_SRID, "dev": device_identifier, "code": code})
        return cur.fetchone()


def _seconds(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


def test_api_walk_through_a_real_grid(real, client_as) -> None:
    x, y, t = _crossing(real)
    real.store(real.inspector, x, y, t)
    length, x_enter, share = _postgis_expectation(f"test-cov-{real.inspector.pk}", real.code)
    assert length > 100  # the line really runs through the grid

    r = client_as("dispatcher").get(URL, {"start": "2026-10-05T00:00", "end": "2026-10-06T00:00", "urban": "1"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["period"] == {"start": "2026-10-05T00:00:00+08:00", "end": "2026-10-06T00:00:00+08:00"}
    assert body["level"] == 3 and body["radius_m"] == settings.GISGRID_PATROL_RADIUS_M
    assert len(body["grids"]) == 121
    g = next(row for row in body["grids"] if row["code"] == real.code)
    assert g["visited"] and g["distance_m"] == pytest.approx(length, abs=0.5)
    assert g["time_s"] == pytest.approx(length, abs=1.0)  # 1 m/s
    assert _seconds(g["first_seen"]) == pytest.approx(t[0] + (x_enter - x[0]), abs=1.0)
    assert _seconds(g["last_seen"]) == pytest.approx(t[0] + (x_enter - x[0]) + length, abs=1.0)
    assert g["share"] == pytest.approx(share, abs=2e-3)
    [v] = g["visitors"]
    assert v["person_id"] == real.inspector.pk and v["name"] == real.inspector.name and v["role"] == "inspector"
    # The walk crosses boundaries: the grids share the line, nothing more, nothing less.
    visited = [row for row in body["grids"] if row["visited"]]
    assert len(visited) >= 2
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_Length(ST_Intersection(ST_Union(ST_Transform(g.geom, %(srid)s)), "
            "(SELECT ST_Transform(ST_MakeLine(p.point ORDER BY p.fix_time), %(srid)s) FROM patrols_position p "
            " JOIN patrols_device d ON d.id = p.device_id WHERE d.identifier = %(dev)s))) "
            "FROM boundaries_grid g JOIN boundaries_grid parent ON parent.id = g.parent_id "
            "JOIN boundaries_edition e ON e.id = g.edition_id AND e.status = 'active' "
            "WHERE g.level = 3 AND parent.urban",
            {"srid": settings.GISGRID_METRIC_SRID, "dev": f"test-cov-{real.inspector.pk}"})
        inside_town = cur.fetchone()[0]
    assert sum(row["distance_m"] for row in visited) == pytest.approx(inside_town, abs=1.0)
    assert set(body["unvisited"]) == {row["code"] for row in body["grids"] if not row["visited"]}
    [p] = body["people"]
    assert p["person_id"] == real.inspector.pk and p["sessions"] == 1
    assert p["distance_m"] == pytest.approx(x[-1] - x[0], abs=0.5)
    assert p["grids_visited"] == len(visited) and sorted(p["grids"]) == sorted(r["code"] for r in visited)
    # One level up, the community holding the grid is visited too, by at least as much track.
    from gisgrid.boundaries.models import Grid

    parent = Grid.objects.get(code=real.code, edition__status="active").parent.code
    up = client_as("dispatcher").get(URL, {"start": "2026-10-05", "end": "2026-10-06", "level": "2"}).json()
    assert up["level"] == 2 and len(up["grids"]) == 215
    community = next(row for row in up["grids"] if row["code"] == parent)
    assert community["visited"] and community["distance_m"] >= g["distance_m"] - 0.5


def test_api_pause_splits_session(real, client_as) -> None:
    x, y, t = _crossing(real)
    half = len(t) // 2
    t = t.copy()
    t[half:] += 900  # a 15-minute silence in the middle of the grid
    real.store(real.inspector, x, y, t)
    length, _, _ = _postgis_expectation(f"test-cov-{real.inspector.pk}", real.code)
    r = client_as("dispatcher").get(URL, {"start": "2026-10-05", "end": "2026-10-06", "person": real.inspector.pk})
    body = r.json()
    [p] = body["people"]
    assert p["sessions"] == 2
    step = x[half] - x[half - 1]
    # The 5 m between the last fix before and the first after the pause is not walked.
    assert p["distance_m"] == pytest.approx(x[-1] - x[0] - step, abs=0.5)
    g = next(row for row in body["grids"] if row["code"] == real.code)
    assert g["distance_m"] == pytest.approx(length - step, abs=0.5)


def test_load_tracks_merges_devices_and_drops_repeats(real) -> None:
    from gisgrid.patrols.tracks import load_tracks

    real.store(real.inspector, [0, 10, 20], [0, 0, 0], [E0, E0 + 10, E0 + 20], identifier="test-cov-a")
    real.store(real.inspector, [5, 10, 15], [0, 0, 0], [E0 + 5, E0 + 10, E0 + 15], identifier="test-cov-b")
    real.store(real.member, [0], [0], [E0 + 7])
    tracks = load_tracks(T0, T0 + dt.timedelta(hours=1))
    by = {tr.person_id: tr for tr in tracks}
    tr = by[real.inspector.pk]
    assert list(tr.t - E0) == [0, 5, 10, 15, 20]  # two phones, one track; the shared instant once
    assert len(tr.device_ids) == 2 and tr.person_name == real.inspector.name and tr.role == "inspector"
    assert np.allclose(tr.x, [0, 5, 10, 15, 20], atol=1e-3)
    assert [t.person_id for t in load_tracks(T0, T0 + dt.timedelta(hours=1), role="grid_member")] == [real.member.pk]
    assert load_tracks(T0, T0 + dt.timedelta(hours=1), person_ids=[]) == []
    assert load_tracks(T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2)) == []


def test_api_csv(real, client_as) -> None:
    x, y, t = _crossing(real)
    real.store(real.inspector, x, y, t)
    params = {"start": "2026-10-05", "end": "2026-10-06", "urban": "1", "format": "csv"}
    r = client_as("dispatcher").get(URL, params)
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    assert r["Content-Disposition"].startswith("attachment; filename=") and ".csv" in r["Content-Disposition"]
    raw = r.content
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["code", "name", "visited", "visitors", "time_s", "distance_m", "share", "first_seen",
                       "last_seen"]
    assert len(rows) == 1 + 121
    mine = next(row for row in rows if row[0] == real.code)
    assert mine[2] == "1" and mine[3] == real.inspector.name and float(mine[5]) > 100
    assert any(row[2] == "0" and row[4] == "0.0" and row[7] == "" for row in rows[1:])
    # Accept: text/csv works too; errors stay JSON.
    r2 = client_as("dispatcher").get(URL, {k: v for k, v in params.items() if k != "format"}, HTTP_ACCEPT="text/csv")
    assert r2.content == raw
    bad = client_as("dispatcher").get(URL, {**params, "level": "7"})
    assert bad.status_code == 400 and bad["Content-Type"].startswith("application/json")
    assert "level" in bad.json()["fields"]


def test_permissions(real, anon_client, client_as) -> None:
    real.store(real.inspector, *_crossing(real))
    real.store(real.member, *_crossing(real, E0 + 3600))
    params = {"start": "2026-10-05", "end": "2026-10-06"}
    r = anon_client.get(URL, params)
    assert r.status_code == 401 and r.json()["error"] == "not_authenticated"
    assert anon_client.get(SCHEDULE_URL).status_code == 401
    for who in ("planner", "unitstaff"):
        r = client_as(who).get(URL, params)
        assert r.status_code == 403 and r.json()["error"] == "permission_denied"
    # A grid member without a Person record has no track to see.
    assert client_as("gridmember").get(URL, params).status_code == 403
    real.bind("gridmember", real.member)
    member = client_as("gridmember")
    r = member.get(URL, params)
    assert r.status_code == 200
    assert [p["person_id"] for p in r.json()["people"]] == [real.member.pk]  # forced to self
    assert member.get(URL, {**params, "person": "gridmember"}).status_code == 200
    assert member.get(URL, {**params, "person": real.member.pk}).status_code == 200
    r = member.get(URL, {**params, "person": real.inspector.pk})
    assert r.status_code == 403 and r.json()["error"] == "permission_denied"
    assert member.get(SCHEDULE_URL, params).status_code == 200
    # Supervisors see everyone, and may pick.
    for who in ("dispatcher", "gridchief", "inspector", "admin"):
        r = client_as(who).get(URL, params)
        assert r.status_code == 200
        assert {p["person_id"] for p in r.json()["people"]} == {real.inspector.pk, real.member.pk}
    r = client_as("dispatcher").get(URL, {**params, "person": [real.inspector.pk, real.member.pk], "role": "inspector"})
    assert [p["person_id"] for p in r.json()["people"]] == [real.inspector.pk]


@pytest.mark.parametrize(("params", "field"), [
    ({"start": "yesterday", "end": "2026-10-06"}, "start"),
    ({"start": "2026-10-05", "end": "2026-13-01"}, "end"),
    ({"start": None}, "start"),
    ({"end": None}, "end"),
    ({"start": "2026-10-06", "end": "2026-10-06"}, "end"),
    ({"start": "2026-10-06", "end": "2026-10-05"}, "end"),
    ({"start": "2026-01-01", "end": "2026-04-03T00:01"}, "end"),  # 92 days and a minute
    ({"start": "0001-01-01", "end": "0001-01-02"}, "start"),
    ({"level": "7"}, "level"),
    ({"level": "x"}, "level"),
    ({"radius": "-1"}, "radius"),
    ({"radius": "nan"}, "radius"),
    ({"radius": "501"}, "radius"),
    ({"radius": "abc"}, "radius"),
    ({"role": "boss"}, "role"),
    ({"urban": "maybe"}, "urban"),
    ({"person": "nobody-here"}, "person"),
    ({"person": "999999999999"}, "person"),
    ({"person": "99999999999999999999999"}, "person"),
    ({"person": "a\x00b"}, "person"),
    ({"person": "²"}, "person"),
    ({"start": "2026-10-05\x00"}, "start"),
    ({"edition": "abc"}, "edition"),
    ({"format": "xml"}, "format"),
])
def test_bad_parameters_are_400_naming_the_field(client_as, params, field) -> None:
    full = {k: v for k, v in {"start": "2026-10-05", "end": "2026-10-06", **params}.items() if v is not None}
    r = client_as("dispatcher").get(URL, full)
    assert r.status_code == 400, (params, r.content)
    body = r.json()
    assert body["error"] == "invalid" and field in body["fields"], body


def test_period_of_92_days_is_allowed_and_offsets_are_understood(client_as) -> None:
    c = client_as("dispatcher")
    assert c.get(URL, {"start": "2026-01-01", "end": "2026-04-03T00:00"}).status_code == 200
    # "+08:00" sent unencoded arrives as " 08:00": still read as +08:00.
    r = c.get(URL + "?start=2026-10-05T08:00:00+08:00&end=2026-10-05T10:00:00Z")
    assert r.status_code == 200, r.content
    assert r.json()["period"] == {"start": "2026-10-05T08:00:00+08:00", "end": "2026-10-05T18:00:00+08:00"}


def test_unknown_edition_is_404(client_as) -> None:
    for edition in ("999999", "99999999999999999999999"):
        r = client_as("dispatcher").get(URL, {"start": "2026-10-05", "end": "2026-10-06", "edition": edition})
        assert r.status_code == 404
        assert client_as("dispatcher").get(SCHEDULE_URL, {"edition": edition}).status_code == 404


def test_schedule_api_two_weeks(real, client_as) -> None:
    x, y, t = _crossing(real)
    real.store(real.inspector, x, y, t)  # week 1 only
    real.store(real.member, x, y, t + 8 * 86400, identifier="test-cov-member")  # week 2, wrong role
    r = client_as("dispatcher").get(SCHEDULE_URL, {"start": "2026-10-05", "end": "2026-10-19"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["rule"]["role"] == "inspector" and body["rule"]["every_days"] == 7
    assert [w["start"] for w in body["windows"]] == ["2026-10-05T00:00:00+08:00", "2026-10-12T00:00:00+08:00"]
    assert body["summary"]["grids"] == 121
    assert body["summary"]["met"] == 0 and body["summary"]["unmet"] == 121  # week 2 was missed everywhere
    g = next(row for row in body["grids"] if row["code"] == real.code)
    assert [w["visits"] for w in g["windows"]] == [1, 0] and [w["met"] for w in g["windows"]] == [True, False]
    assert not g["met"]
    one_week = client_as("dispatcher").get(SCHEDULE_URL, {"start": "2026-10-05", "end": "2026-10-12"}).json()
    met = {row["code"] for row in one_week["grids"] if row["met"]}
    assert real.code in met and one_week["summary"]["met"] == len(met) < 121

    c = client_as("dispatcher").get(SCHEDULE_URL, {"start": "2026-10-05", "end": "2026-10-19", "format": "csv"})
    assert c.status_code == 200 and c.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(c.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["code", "name", "met"] and len(rows[0]) == 5 and len(rows) == 122
    mine = next(row for row in rows if row[0] == real.code)
    assert mine[2:] == ["0", "1", "0"]


def test_schedule_default_period_is_this_week(client_as) -> None:
    r = client_as("gridchief").get(SCHEDULE_URL)
    assert r.status_code == 200
    body = r.json()
    start = dt.datetime.fromisoformat(body["period"]["start"])
    now = dt.datetime.now(TZ)
    assert start.weekday() == 0 and (start.hour, start.minute) == (0, 0) and start <= now
    assert now - start < dt.timedelta(days=7)
    assert len(body["windows"]) == 1
    bad = client_as("gridchief").get(SCHEDULE_URL, {"start": "2026-10-05", "end": "2026-10-04"})
    assert bad.status_code == 400 and "end" in bad.json()["fields"]


def test_grid_set_is_cached_per_edition_version(heyang_db) -> None:
    from gisgrid.boundaries.models import Edition

    a = cov.grid_set(level=3, urban_only=True)
    assert cov.grid_set(level=3, urban_only=True) is a and len(a) == 121
    assert len(cov.grid_set(level=2, urban_only=True)) == 8
    ed = Edition.objects.get(pk=a.edition_id)
    ed.version += 1
    ed.save()
    b = cov.grid_set(level=3, urban_only=True)
    assert b is not a and b.codes == a.codes
    with pytest.raises(LookupError):
        cov.grid_set(987654321)


def test_too_many_fixes_is_400_and_a_named_idle_person_gets_a_zero_row(real, client_as, monkeypatch) -> None:
    from gisgrid.patrols import coverage_api

    x, y, t = _crossing(real)
    real.store(real.inspector, x, y, t)
    params = {"start": "2026-10-05", "end": "2026-10-06"}
    monkeypatch.setattr(coverage_api, "MAX_FIXES", len(t) - 1)
    r = client_as("dispatcher").get(URL, params)
    assert r.status_code == 400 and "end" in r.json()["fields"]
    monkeypatch.setattr(coverage_api, "MAX_FIXES", len(t))
    r = client_as("dispatcher").get(URL, {**params, "person": [real.inspector.pk, real.inspector2.pk]})
    assert r.status_code == 200
    people = {p["person_id"]: p for p in r.json()["people"]}
    assert people[real.inspector.pk]["distance_m"] > 0
    assert people[real.inspector2.pk] == {
        "person_id": real.inspector2.pk, "name": real.inspector2.name, "role": "inspector", "grids_visited": 0,
        "grids": [], "distance_m": 0.0, "patrol_s": 0.0, "sessions": 0, "fixes": 0, "idle": [], "own_grids": []}
