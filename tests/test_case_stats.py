"""Case figures (gisgrid/cases/stats.py, GET /api/v1/cases/stats and /points) against a hand count
on a scripted set of cases, the case API's visibility on every figure, and bad parameters.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User

from gisgrid import county_time
from gisgrid.cases import stats
from gisgrid.cases import workflow as wf
from gisgrid.cases.factories import reported_case, unit_staff
from gisgrid.cases.models import Case
from gisgrid.cases.visibility import visible_cases

SEAT = (110.1449, 35.2385)           # 城关街道 (610524001)
SOUTH = (110.095625, 35.114552)      # another town (610524105)
TZ = county_time.zone()


@pytest.fixture
def scripted(heyang_db):
    """Seven cases: hand-countable states, clocks, completions and towns."""
    d = User.objects.get(username="dispatcher")
    c1 = reported_case("E0501", lon=SEAT[0], lat=SEAT[1])                       # reported, green
    c2 = reported_case("E0501", lon=SEAT[0] + 0.002, lat=SEAT[1])               # accepted, red
    c2 = wf.accept(c2, d, version=1)
    c3 = reported_case("E0502", lon=SEAT[0], lat=SEAT[1] + 0.002)               # dispatched, yellow
    c3 = wf.dispatch(wf.accept(c3, d, version=1), d, version=2)
    c4 = reported_case("E0502", lon=SOUTH[0], lat=SOUTH[1])                     # voided
    wf.void(c4, d, version=1, reason="重复")
    c5 = reported_case("E0101", lon=SOUTH[0], lat=SOUTH[1])                     # completed on time, Dec 1
    c6 = reported_case("E0101", lon=SEAT[0], lat=SEAT[1])                       # completed late, Dec 1
    c7 = reported_case("E0101", lon=SEAT[0], lat=SEAT[1])                       # completed on time, Nov 24 (a week before)
    Case.objects.filter(pk=c2.pk).update(clock="red", stage_due=dt.datetime(2026, 11, 30, 9, 0, tzinfo=TZ))
    Case.objects.filter(pk=c3.pk).update(clock="yellow")
    day = dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)
    Case.objects.filter(pk=c5.pk).update(state="completed", completed_at=day, complete_due=day + dt.timedelta(hours=1))
    Case.objects.filter(pk=c6.pk).update(state="completed", completed_at=day, complete_due=day - dt.timedelta(hours=1))
    earlier = dt.datetime(2026, 11, 24, 23, 30, tzinfo=TZ)  # 15:30 UTC: the county's day, not UTC's
    Case.objects.filter(pk=c7.pk).update(state="completed", completed_at=earlier,
                                         complete_due=earlier + dt.timedelta(days=2))
    return {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5, "c6": c6, "c7": c7}


def test_figures_match_a_hand_count(scripted):
    qs = Case.objects.filter(pk__in=[c.pk for c in scripted.values()])
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=TZ)
    out = stats.case_stats(qs, level=1, bucket="day", now=now)
    assert out["summary"] == {"total": 7, "open": 6, "closed": 1, "red": 1, "yellow": 1, "paused": 0,
                              "supervised": 0}
    by_state = {r["state"]: r["count"] for r in out["by_state"]}
    assert by_state == {"reported": 1, "accepted": 1, "dispatched": 1, "acknowledged": 0, "on_site": 0,
                        "completed": 3, "verified": 0, "archived": 0, "voided": 1}
    assert [r["state"] for r in out["by_state"]] == list(Case.State.values)  # every state, in order
    assert {r["code"]: r["count"] for r in out["by_category"]} == {"E0501": 2, "E0502": 2, "E0101": 3}
    assert out["by_category"][0]["code"] == "E0101" and out["by_category"][0]["name"]
    towns = {r["code"]: (r["name"], r["count"]) for r in out["by_town"]}
    assert towns == {"610524001": ("城关街道", 5), "610524105": (towns["610524105"][0], 2)}
    assert out["by_grid"] == out["by_town"]  # level 1
    assert out["on_time"] == [
        {"period": "2026-11-24", "completed": 1, "on_time": 1, "rate": 1.0},
        {"period": "2026-12-01", "completed": 2, "on_time": 1, "rate": 0.5},
    ]
    assert out["overdue_count"] == 1
    (late,) = out["overdue"]
    assert late["number"] == scripted["c2"].number and late["overdue_s"] == 27 * 3600
    assert late["stage_due"] == "2026-11-30T09:00:00+08:00"

    weekly = stats.on_time(qs, "week")
    assert weekly == [{"period": "2026-11-23", "completed": 1, "on_time": 1, "rate": 1.0},
                      {"period": "2026-11-30", "completed": 2, "on_time": 1, "rate": 0.5}]
    level2 = stats.by_grid(qs, 2)
    assert sum(r["count"] for r in level2) == 7 and all(len(r["code"]) == 12 for r in level2)


def test_points_rows(scripted):
    qs = Case.objects.filter(pk__in=[c.pk for c in scripted.values()])
    count, rows = stats.points(qs.exclude(state__in=Case.CLOSED_STATES))
    assert count == 6 and len(rows) == 6
    row = dict(zip(stats.POINT_FIELDS, next(r for r in rows if r[0] == scripted["c2"].number), strict=True))
    assert row["clock"] == "red" and row["state"] == "accepted" and row["category"] == "E0501"
    assert row["lon"] == pytest.approx(SEAT[0] + 0.002) and row["lat"] == pytest.approx(SEAT[1])
    assert row["level1"] == "610524001" and row["version"] == 2
    assert row["stage_due"] == int(dt.datetime(2026, 11, 30, 9, 0, tzinfo=TZ).timestamp())


def test_api_applies_filters_and_visibility(scripted, client_as):
    d = client_as("dispatcher")
    ours = [c.number for c in scripted.values()]
    r = d.get("/api/v1/cases/stats", {"category": "E05", "bucket": "week", "level": 2})
    assert r.status_code == 200, r.content
    body = r.json()
    mine = {x["code"]: x["count"] for x in body["by_category"]}
    assert mine.get("E0501", 0) >= 2 and "E0101" not in mine  # the category filter applies
    assert body["level"] == 2 and body["bucket"] == "week" and body["at"].endswith("+08:00")

    r = d.get("/api/v1/cases/points", {"status": "open", "clock": "red"})
    numbers = [row[0] for row in r.json()["rows"]]
    assert scripted["c2"].number in numbers and scripted["c1"].number not in numbers
    assert r.json()["fields"] == list(stats.POINT_FIELDS) and r.json()["truncated"] is False

    # A unit's staff: only the cases with a work order of their unit (c3, dispatched).
    lead = Case.objects.get(pk=scripted["c3"].pk).lead_unit
    staff = unit_staff(lead, "stats-unit")
    u = client_as(staff.username)
    seen = set(visible_cases(staff).values_list("number", flat=True))
    assert scripted["c3"].number in seen and scripted["c1"].number not in seen
    body = u.get("/api/v1/cases/stats").json()
    assert body["summary"]["total"] == len(seen)
    rows = u.get("/api/v1/cases/points").json()["rows"]
    assert {row[0] for row in rows} == seen
    assert not {row[0] for row in rows} & (set(ours) - seen)

    # Grid members: their grids and their own; planners: refused; anonymous: 401.
    gm = User.objects.get(username="gridmember")
    assert client_as("gridmember").get("/api/v1/cases/stats").json()["summary"]["total"] == \
        visible_cases(gm).count()
    assert client_as("planner").get("/api/v1/cases/stats").status_code == 403
    assert client_as(None).get("/api/v1/cases/points").status_code == 401


@pytest.mark.parametrize(("params", "field"), [
    ({"level": "9"}, "level"), ({"bucket": "month"}, "bucket"), ({"start": "yesterday"}, "start"),
    ({"grid": "12"}, "grid"), ({"clock": "blue"}, "clock"), ({"category": "ZZ99"}, "category"),
])
def test_bad_parameters_name_the_field(params, field, client_as):
    for url in ("/api/v1/cases/stats", "/api/v1/cases/points"):
        if url.endswith("points") and field in ("level", "bucket"):
            continue
        r = client_as("dispatcher").get(url, params)
        assert r.status_code == 400, (url, params, r.content)
        assert field in r.json()["fields"], r.json()


def stats_probe(rule, w, principal):
    """tests/test_permission_matrix.py's probe for the rules of this brief (None for others):
    the figures, the map's points, the workbench and the dashboard."""
    from tests.test_permission_matrix import Probe

    probes = {"case-stats": "/api/v1/cases/stats?bucket=week&level=2", "case-points": "/api/v1/cases/points?status=open",
              "dispatch": "/dispatch/", "dashboard": "/dashboard/"}
    if rule.name in probes and rule.method == "GET":
        return Probe("GET", probes[rule.name])
    return None
