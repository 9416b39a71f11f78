"""The issue's "done when", tried as a new user would: a phone pointed at the OsmAnd URL from the
README shows up in coverage at once, and a supervisor lists this week's unvisited urban grids."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from gisgrid.boundaries.datums import from_wgs84
from gisgrid.boundaries.models import Grid

URL = re.compile(r"OsmAnd URL: http://HOST:\d+(\S+)")


@pytest.fixture
def urban_grid(heyang_db):
    """An urban level-3 grid and a 300 m east-west walk through its inside."""
    g = Grid.objects.filter(edition__status="active", level=3, parent__urban=True).order_by("code")[10]
    inside = g.geom.point_on_surface
    return g, inside.x, inside.y


def test_phone_with_readme_url_shows_up_in_coverage_and_unvisited_list(urban_grid, client_as, anon_client, capsys):
    grid, lon0, lat0 = urban_grid
    call_command("seed_patrol_demo", "--no-simulate")  # links the demo accounts to people
    capsys.readouterr()
    # the phone runs an AMap-based app: GCJ-02
    call_command("register_device", "860000000000077", "--person", "inspector", "--datum", "gcj02")
    url = URL.search(capsys.readouterr().out).group(1)
    start = timezone.now() - dt.timedelta(minutes=10)
    m_lon = 111_320.0 * np.cos(np.radians(lat0))
    for i in range(40):  # 40 fixes, 5 s apart, walking east at 1.3 m/s
        wlon = lon0 + (i - 20) * 6.5 / m_lon
        glon, glat = from_wgs84(np.array([wlon]), np.array([lat0]), "gcj02")
        ms = int((start + dt.timedelta(seconds=5 * i)).timestamp() * 1000)
        filled = (url.replace("{0}", f"{glat[0]:.7f}").replace("{1}", f"{glon[0]:.7f}")
                  .replace("{2}", str(ms)).replace("{3}", "6.0").replace("{4}", "410")
                  .replace("{5}", "1.3").replace("{6}", "90"))
        r = anon_client.get(filled)
        assert r.status_code == 200, r.content
        assert r.json()["accepted"] == 1
    local = timezone.localtime()
    monday = (local - dt.timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    params = {"start": monday.isoformat(), "end": (timezone.now() + dt.timedelta(minutes=1)).isoformat(),
              "level": 3, "urban": 1}
    if start < monday:  # Monday just after midnight: the walk began last week
        params["start"] = (start - dt.timedelta(minutes=1)).isoformat()
    r = client_as("dispatcher").get("/api/v1/patrols/coverage", params)
    assert r.status_code == 200
    body = r.json()
    row = next(g for g in body["grids"] if g["code"] == grid.code)
    assert row["visited"] and row["visitors"][0]["name"] == body["people"][0]["name"]
    assert row["distance_m"] > 150 and 0 < row["share"] < 1
    urban = Grid.objects.filter(edition__status="active", level=3, parent__urban=True).count()
    assert grid.code not in body["unvisited"]
    assert len(body["unvisited"]) == urban - len([g for g in body["grids"] if g["visited"]])
    # CSV for the supervisor's spreadsheet
    r = client_as("gridchief").get("/api/v1/patrols/coverage", {**params, "format": "csv"})
    assert r.status_code == 200 and r.content.startswith("\ufeff".encode())
    line = next(x for x in r.content.decode("utf-8-sig").splitlines() if x.startswith(grid.code))
    assert ",1," in line
    # and the inspector is on the live list, in that grid
    live = client_as("dispatcher").get("/api/v1/patrols/live").json()["people"]
    me = next(p for p in live if p["device"] == "860000000000077")
    assert me["grids"][-1]["code"] in {g["code"] for g in body["grids"] if g["visited"]}


def test_demo_simulation_goes_through_ingest_and_leaves_one_beat_unwalked(heyang_db, client_as):
    from gisgrid.patrols.simulate import simulate_week

    now = timezone.localtime().replace(hour=20, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
    first = simulate_week(now=now, days=2)
    assert first["accepted"] > 10_000 and first["rejected"] == 0
    again = simulate_week(now=now, days=2)
    assert again["accepted"] == 0 and again["duplicates"] == first["accepted"]
    r = client_as("dispatcher").get("/api/v1/patrols/coverage", {
        "start": (now - dt.timedelta(days=2)).isoformat(), "end": now.isoformat(), "level": 3, "urban": 1})
    body = r.json()
    assert len(body["people"]) == 9  # the tenth inspector is on leave
    assert 0 < len(body["unvisited"]) < 30


def test_grid_members_own_grid_and_who_sent_nothing(heyang_db, client_as):
    """Each grid member must walk their own grid: coverage says whether they did, and which
    members of the team sent no fix at all."""
    from gisgrid.boundaries.models import GridAssignment, Person
    from gisgrid.patrols.ingest import auth, pipeline
    from gisgrid.patrols.ingest.records import Fix
    from gisgrid.patrols.models import Device

    own = Grid.objects.get(edition__status="active", code="610524001018")  # 泰山社区
    member = Person.objects.filter(role="grid_member", assignments__grid_code=own.code).order_by("pk").first()
    other = GridAssignment.objects.filter(role="grid_member").exclude(grid_code=own.code).first()
    dev = Device(identifier="member-phone", person=member)
    auth.set_token(dev)
    dev.save()
    p = own.geom.point_on_surface
    start = timezone.now() - dt.timedelta(minutes=20)
    fixes = [Fix("member-phone", p.y, p.x + i * 2e-5, start + dt.timedelta(seconds=10 * i)) for i in range(30)]
    assert pipeline.ingest(fixes, {"member-phone": dev}, source="batch").accepted == 30
    r = client_as("gridchief").get("/api/v1/patrols/coverage", {
        "start": (start - dt.timedelta(minutes=1)).isoformat(), "end": timezone.now().isoformat(),
        "level": 3, "role": "grid_member"})
    body = r.json()
    me = next(x for x in body["people"] if x["person_id"] == member.pk)
    mine = {g["code"]: g for g in me["own_grids"]}
    assert mine[own.code]["visited"] and 45 < mine[own.code]["distance_m"] < 60  # 29 steps of ~1.8 m
    assert set(mine) == set(GridAssignment.objects.filter(person=member).values_list("grid_code", flat=True))
    absent = {x["person_id"] for x in body["no_fixes"]}
    assert other.person_id in absent and member.pk not in absent
    assert len(absent) == Person.objects.filter(role="grid_member", active=True).count() - 1
