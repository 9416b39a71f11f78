"""Rules out of views (issue 10, item 5): locate's typed answer and its one JSON form, routing by
point or address, coverage's rows as a service, and one home each for the metric projection, the
county's time zone and ISO times.

Expected values come from the stored data, pyproj and the settings, not from the code under test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import shapely
from django.conf import settings
from django.db import connection
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from pyproj import Transformer

from gisgrid import county_time
from gisgrid.boundaries import geometry, locate
from gisgrid.boundaries.locate_api import answer_from_json, answer_json, answers_json
from gisgrid.errors import BadRequest, ServiceError

ROOT = Path(__file__).resolve().parent.parent
SEAT = (110.1449, 35.2385)  # the county seat, inside a level-3 grid


# --------------------------------------------------------------------------- locate: typed answer


def _blind_spot_point() -> tuple[float, float]:
    """A point of a community that is not covered by any of its level-3 grids."""
    with connection.cursor() as cur:
        cur.execute("""
            SELECT ST_X(p), ST_Y(p) FROM (
              SELECT ST_PointOnSurface(ST_Difference(c.geom, ST_Union(k.geom))) AS p
              FROM boundaries_grid c JOIN boundaries_edition e ON e.id = c.edition_id AND e.status = 'active'
              JOIN boundaries_grid k ON k.parent_id = c.id AND k.level = 3
              WHERE c.level = 2 GROUP BY c.id, c.geom
              HAVING ST_Area(ST_Difference(c.geom, ST_Union(k.geom))) > 1e-7 ORDER BY c.code LIMIT 1) q""")
        return cur.fetchone()


@pytest.fixture
def probes(heyang_db) -> list[tuple[float, float]]:
    return [SEAT, _blind_spot_point(), (111.5, 36.5), (15.0, 0.0)]


def test_locate_points_answers_with_typed_values(probes) -> None:
    snap, answers = locate.locate_points([p[0] for p in probes], [p[1] for p in probes])
    inside, blind, near_outside, far_outside = answers
    assert all(isinstance(a, locate.PointAnswer) for a in answers)
    assert [a.status for a in answers] == ["inside", "blind_spot", "outside", "outside"]
    assert [g.level for g in inside.grids] == [1, 2, 3] and inside.grid(2) is inside.grids[1]
    assert inside.grid(3).code.startswith(inside.grid(2).code)
    assert isinstance(inside.unit, locate.UnitInfo) and inside.unit.phone  # phones are facts here
    assert inside.staff and all(isinstance(s, locate.StaffEntry) for s in inside.staff)
    assert blind.blind_spot_of == blind.grids[-1] and blind.grid(3) is None
    for a in (near_outside, far_outside):
        assert a.grids == [] and a.unit is None and a.staff == []
        assert isinstance(a.nearest, locate.NearestGrid) and np.isfinite(a.nearest.distance_m)
        assert a.nearest.code in {r.code for r in snap.index.records if r.level == 1}
    assert inside.edition_id == snap.edition_id and inside.wgs84 == SEAT
    # Without details only the chain is computed.
    _, bare = locate.locate_points([p[0] for p in probes], [p[1] for p in probes], details=False)
    assert [a.grids for a in bare] == [a.grids for a in answers]
    assert all(not a.details and a.unit is None and a.nearest is None for a in bare)


def test_the_json_form_is_rendered_once_and_round_trips(probes) -> None:
    lons, lats = [p[0] for p in probes], [p[1] for p in probes]
    _, typed = locate.locate_points(lons, lats)
    for show in (True, False):
        # locate.locate() (the form reports and the CLI read) is the same rendering.
        assert locate.locate(lons, lats, show_phones=show)[1] == answers_json(typed, show_phones=show)
    for a in typed:
        public = answer_json(a, show_phones=False)
        assert "phone" not in repr(public)
        full = answer_json(a, show_phones=True)
        assert answer_from_json(full) == a
        if a.status != "outside":
            assert full["unit"]["phone"] == a.unit.phone and [s["phone"] for s in full["staff"]] == [
                s.phone for s in a.staff]
    _, bare = locate.locate_points(lons, lats, details=False)
    for a in bare:
        j = answer_json(a, show_phones=True)
        assert set(j) == {"status", "input", "wgs84", "edition", "grids"}
        assert answer_from_json(j) == a


def _schema_properties(schema: dict, name: str) -> tuple[dict, set[str]]:
    node = schema["components"]["schemas"][name]
    return node["properties"], set(node.get("required", []))


def _check_against_schema(schema: dict, name: str, value: dict) -> None:
    """Every key of `value` is declared, every required key present, nulls only where nullable."""
    props, required = _schema_properties(schema, name)
    assert set(value) <= set(props), (name, set(value) - set(props))
    assert required <= set(value), (name, required - set(value))
    for key, v in value.items():
        p = props[key]
        ref = p.get("$ref") or (p.get("allOf") or [{}])[0].get("$ref")
        if v is None:
            assert p.get("nullable"), (name, key)
        elif ref and isinstance(v, dict):
            _check_against_schema(schema, ref.rsplit("/", 1)[1], v)
        elif p.get("type") == "array" and isinstance(v, list) and "$ref" in p.get("items", {}):
            for item in v:
                _check_against_schema(schema, p["items"]["$ref"].rsplit("/", 1)[1], item)


def test_openapi_locate_answer_is_truthful(probes) -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    nearest, _ = _schema_properties(schema, "Nearest")
    assert not nearest["distance_m"].get("nullable"), "distance_m is always a number now"
    lons, lats = [p[0] for p in probes], [p[1] for p in probes]
    for details in (True, False):
        _, typed = locate.locate_points(lons, lats, details=details)
        for show in (True, False):
            for j in answers_json(typed, show_phones=show):
                _check_against_schema(schema, "LocateAnswer", j)


def test_locate_input_error_is_a_bad_request_of_the_error_family(anon_client) -> None:
    with pytest.raises(BadRequest) as exc:
        locate.locate_points([110.1], [95.0], field="lonlat")
    err = exc.value
    assert isinstance(err, locate.LocateInputError) and isinstance(err, ServiceError)
    assert (err.status, err.code, err.field) == (400, "invalid", "lat")
    assert err.reason and err.body()["fields"] == {"lat": [str(err.reason)]}
    r = anon_client.get("/api/v1/locate", {"lon": 110.1, "lat": 95.0}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400
    body = r.json()
    assert set(body) == {"error", "detail", "fields"} and body["error"] == "invalid"
    assert body["fields"] == {"lat": [body["detail"]]} and "out of range" in body["detail"]
    with pytest.raises(locate.LocateInputError) as exc:
        locate.locate_points([110.1], [35.2], "epsg:3857")
    assert exc.value.field == "crs"


# --------------------------------------------------------------------------- one metric projection


def test_one_metric_transformer_per_process(heyang_db) -> None:
    from gisgrid.boundaries.proximity import Proximity
    from gisgrid.patrols import coverage, tracks

    assert tracks.to_metric is geometry.to_metric_xy
    assert geometry.metric_transformer() is geometry.metric_transformer()
    ref = Transformer.from_crs(4326, settings.GISGRID_METRIC_SRID, always_xy=True)
    lon, lat = np.array([110.1, 110.3, 109.95]), np.array([35.1, 35.3, 35.45])
    x, y = geometry.to_metric_xy(lon, lat)
    ex, ey = ref.transform(lon, lat)
    assert np.allclose(x, ex, atol=1e-6) and np.allclose(y, ey, atol=1e-6)
    assert np.allclose(shapely.get_coordinates(Proximity.points(lon, lat)), np.column_stack([ex, ey]), atol=1e-6)
    # Coverage's metric grids are the stored grids through the same projection.
    gs = coverage.grid_set(level=1)
    with connection.cursor() as cur:
        cur.execute("SELECT ST_AsBinary(geom) FROM boundaries_grid WHERE edition_id = %s AND code = %s",
                    [gs.edition_id, gs.codes[0]])
        stored = shapely.from_wkb(bytes(cur.fetchone()[0]))
    assert shapely.equals_exact(gs.geoms[0], geometry.to_metric(stored), tolerance=1e-6)


def _sources() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in (ROOT / "gisgrid").rglob("*.py")
            if "migrations" not in p.parts}


def test_no_module_builds_its_own_metric_transformer_or_names_a_zone() -> None:
    # Importing (a file's own CRS into WGS-84) and validation (the metric CRS its config names)
    # transform for other reasons; everything metric goes through boundaries/geometry.py.
    allowed = {"gisgrid/boundaries/geometry.py", "gisgrid/boundaries/importing.py", "gisgrid/boundaries/validation.py"}
    builders = {path for path, text in _sources().items() if re.search(r"\bTransformer\.from_crs\(", text)}
    assert builders <= allowed, builders - allowed
    # Zones come from the settings (county_time), never a name written in the code.
    named = {path for path, text in _sources().items() if re.search(r"ZoneInfo\(\s*['\"]", text)}
    assert named == set(), named


# --------------------------------------------------------------------------- county time


def test_county_zone_comes_from_the_settings() -> None:
    assert county_time.zone() == ZoneInfo(settings.TIME_ZONE)
    t = dt.datetime(2026, 11, 23, 16, 30, 15, 999, tzinfo=dt.UTC)
    assert county_time.iso(t) == "2026-11-24T00:30:15+08:00"
    assert county_time.iso(t.timestamp()) == "2026-11-24T00:30:15+08:00"
    assert county_time.iso(None) is None
    assert county_time.stamp(t) == "20261124-0030" and county_time.minutes(t) == "2026-11-24 00:30"
    assert county_time.month_start(dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)) == dt.date(2026, 12, 1)
    assert county_time.this_week(t) == (dt.datetime(2026, 11, 23, tzinfo=ZoneInfo(settings.TIME_ZONE)),
                                        t.astimezone(ZoneInfo(settings.TIME_ZONE)))
    with override_settings(TIME_ZONE="Asia/Urumqi"):  # UTC+6: every reader follows
        assert county_time.zone() == ZoneInfo("Asia/Urumqi")
        assert county_time.iso(t) == "2026-11-23T22:30:15+06:00"
        assert county_time.month_start(dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)) == dt.date(2026, 11, 1)
        from gisgrid.patrols import partitions
        from gisgrid.patrols.params import parse_time

        assert parse_time("start", "2026-11-24T08:00").utcoffset() == dt.timedelta(hours=6)
        # Partitions' months follow the same clock: 2026-11-30 20:30 UTC is December in Urumqi too,
        # 16:30 UTC is still November there (22:30) though already December in Shanghai.
        assert partitions.month_start(dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)) == dt.date(2026, 11, 1)
    assert county_time.iso(t) == "2026-11-24T00:30:15+08:00"


# --------------------------------------------------------------------------- coverage rows


@pytest.fixture
def walked(heyang_db, fresh_partitions):
    """Two inspectors: the first walks across the county seat's level-3 grid, the second does not."""
    from gisgrid.boundaries.models import Person
    from gisgrid.patrols import partitions
    from gisgrid.patrols.models import Device, Position

    walker, idle = Person.objects.filter(role="inspector", active=True).order_by("pk")[:2]
    device = Device.objects.create(identifier="rules-walker", person=walker)
    start = dt.datetime(2026, 10, 5, 9, 0, tzinfo=county_time.zone())
    times = [start + dt.timedelta(seconds=5 * i) for i in range(120)]
    lons = SEAT[0] + np.arange(120) * 2e-5
    partitions.ensure_for_times(times)
    Position.objects.bulk_create([
        Position(device=device, fix_time=t, received_at=t, source="test", raw_lon=lo, raw_lat=SEAT[1],
                 point=f"SRID=4326;POINT({lo!r} {SEAT[1]!r})", level1_code="", level2_code="", level3_code="")
        for t, lo in zip(times, lons.tolist(), strict=True)])
    return walker, idle, start, start + dt.timedelta(hours=1)


def test_coverage_rows_zero_rows_and_no_fixes(walked) -> None:
    from gisgrid.boundaries.models import Person
    from gisgrid.patrols.coverage_rows import NoFix, patrol_coverage

    walker, idle, start, end = walked
    # Named people: the one who sent nothing gets a row of zeros, in the order asked.
    named = patrol_coverage(start, end, people=[walker, idle])
    rows = {p.person_id: p for p in named.result.people}
    assert rows[walker.pk].fixes == 120 and rows[walker.pk].distance_m > 100
    zero = rows[idle.pk]
    assert (zero.fixes, zero.distance_m, zero.sessions, zero.grids, zero.idle) == (0, 0.0, 0, [], [])
    assert named.no_fixes == [] and named.level == 3 and named.radius_m == settings.GISGRID_PATROL_RADIUS_M
    # ... unless the role asked for is not theirs.
    other_role = patrol_coverage(start, end, people=[walker, idle], role="grid_member")
    assert other_role.result.people == []
    # A team by role: its active members who sent nothing, by name.
    team = patrol_coverage(start, end, role="inspector")
    assert [p.person_id for p in team.result.people] == [walker.pk]
    expected = [NoFix(p.pk, p.name, p.role) for p in
                Person.objects.filter(role="inspector", active=True).exclude(pk=walker.pk).order_by("name")]
    assert team.no_fixes == expected and NoFix(idle.pk, idle.name, idle.role) in team.no_fixes
    # Everybody (no role, no names): nobody is listed as missing.
    assert patrol_coverage(start, end).no_fixes == []
    walked_grid = next(g for g in team.result.grids if g.visited)
    assert walked_grid.visitors[0].person_id == walker.pk


def test_coverage_rows_refuse_bad_values_with_the_field(walked) -> None:
    from gisgrid.patrols.coverage_rows import edition_grids, patrol_coverage, patrol_schedule

    walker, _, start, end = walked
    with pytest.raises(BadRequest) as exc:
        patrol_coverage(start, end, people=[walker], max_fixes=119)
    assert exc.value.field == "end" and exc.value.status == 400
    assert len(patrol_coverage(start, end, people=[walker], max_fixes=120).result.people) == 1
    with pytest.raises(BadRequest) as exc:
        edition_grids(987654321)
    assert exc.value.field == "edition"
    report = patrol_schedule(start, end, people=[walker])
    assert report.windows == [(start, end)] and report.rule["role"] == settings.GISGRID_PATROL_SCHEDULE["role"]
    assert len(report.rows) == len(report.grids)


def test_coverage_api_renders_the_service_answer(walked, client_as) -> None:
    from gisgrid.patrols import coverage as cov
    from gisgrid.patrols.coverage_rows import patrol_coverage

    walker, idle, start, end = walked
    r = client_as("dispatcher").get("/api/v1/patrols/coverage", {
        "start": start.isoformat(), "end": end.isoformat(), "person": [walker.pk, idle.pk]})
    assert r.status_code == 200, r.content
    body = r.json()
    report = patrol_coverage(start, end, people=[walker, idle])
    assert body["people"] == [cov.person_dict(p) for p in report.result.people]
    assert body["period"] == {"start": "2026-10-05T09:00:00+08:00", "end": "2026-10-05T10:00:00+08:00"}
    assert body["no_fixes"] == []
    assert dataclasses.asdict(report.result.people[1])["fixes"] == 0
