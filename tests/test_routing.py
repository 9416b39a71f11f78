"""The matter list (GET /api/v1/categories) and routing (GET /api/v1/route, incidents.routing.route
and route_place).

Expected units come from geodata/heyang/categories.csv and grids.geojson, not from the service.
"""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path

import pytest
import shapely

from gisgrid.boundaries.locate import PointAnswer, locate, locate_points
from gisgrid.errors import BadRequest
from gisgrid.incidents.api import route_json
from gisgrid.incidents.models import Category
from gisgrid.incidents.routing import RoutedPlace, route, route_place

HEYANG = Path(__file__).resolve().parent.parent / "geodata" / "heyang"
DAYS = {"on_the_spot": 0, "general": 3, "major": 5, "complex": 10}


@cache
def categories() -> dict[str, dict]:
    with open(HEYANG / "categories.csv", encoding="utf-8") as f:
        return {r["code"]: r for r in csv.DictReader(f)}


@cache
def level1() -> dict[str, dict]:
    fc = json.loads((HEYANG / "grids.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["name"]: dict(f["properties"], geom=shapely.geometry.shape(f["geometry"]))
            for f in fc["features"] if f["properties"]["level"] == 1}


@cache
def county_centre_name() -> str:
    with open(HEYANG / "units.csv", encoding="utf-8") as f:
        return next(r["name"] for r in csv.DictReader(f) if r["kind"] == "county")


def fangzhen_point() -> tuple[float, float]:
    pt = level1()["坊镇"]["geom"].point_on_surface()
    return pt.x, pt.y


def first(rule: str, with_assisting: bool | None = None) -> dict:
    for r in categories().values():
        if r["rule"] == rule and (with_assisting is None or bool(r["assisting_units"]) == with_assisting):
            return r
    raise AssertionError(f"no {rule} category in the CSV")


def test_categories_list(anon_client) -> None:
    r = anon_client.get("/api/v1/categories")
    assert r.status_code == 200
    got = {c["code"]: c for c in r.json()}
    assert set(got) == set(categories())
    for code, row in categories().items():
        c = got[code]
        assert c["name"] == row["name"]
        assert c["severity"] == row["severity"]
        assert c["limit_working_days"] == DAYS[row["severity"]]
        assert c["rule"] == row["rule"]
        assert c["parent_code"] == (row["parent_code"] or None)
        assert c["lead_unit"] == (row["lead_unit"] or None)
        assert sorted(c["assisting_units"]) == sorted(u for u in row["assisting_units"].split("|") if u)
    # All four severities are exercised by the CSV.
    assert {c["severity"] for c in got.values()} == set(DAYS)


def get_route(client, lon, lat, category, **extra):
    return client.get("/api/v1/route", {"lon": lon, "lat": lat, "category": category, **extra})


def test_territorial_goes_to_the_town(anon_client) -> None:
    lon, lat = fangzhen_point()
    cat = first("territorial")
    r = get_route(anon_client, lon, lat, cat["code"])
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["rule"] == "territorial"
    assert body["lead_unit"]["name"] == level1()["坊镇"]["unit"] == "坊镇人民政府"
    assert body["location"]["grids"][0]["name"] == "坊镇"
    assert body["limit_working_days"] == DAYS[cat["severity"]]
    assert body["category"]["code"] == cat["code"]
    assert "坊镇" in body["reason"]


def test_department_goes_to_the_department(anon_client) -> None:
    lon, lat = fangzhen_point()
    for cat in (first("department", False), first("department", True)):
        body = get_route(anon_client, lon, lat, cat["code"]).json()
        assert body["rule"] == "department"
        assert body["lead_unit"]["name"] == cat["lead_unit"]
        # the department leads; units the matter list names as assisting still assist
        listed = [u for u in cat["assisting_units"].split("|") if u]
        assert sorted(u["name"] for u in body["assisting_units"]) == sorted(listed)
        assert body["limit_working_days"] == DAYS[cat["severity"]]


def test_lead_adds_the_town_as_assistant(anon_client) -> None:
    lon, lat = fangzhen_point()
    for cat in (first("lead", True), first("lead", False)):
        body = get_route(anon_client, lon, lat, cat["code"]).json()
        assert body["rule"] == "lead"
        assert body["lead_unit"]["name"] == cat["lead_unit"]
        names = [u["name"] for u in body["assisting_units"]]
        listed = [u for u in cat["assisting_units"].split("|") if u]
        assert sorted(names[:-1]) == sorted(listed)
        assert names[-1] == "坊镇人民政府"
        assert len(set(names)) == len(names)


def test_route_notifies_the_grid_staff_without_phones_for_anonymous(anon_client, client_as) -> None:
    lon, lat = fangzhen_point()
    code = first("territorial")["code"]
    anon = get_route(anon_client, lon, lat, code).json()
    assert anon["notify"] == anon["location"]["staff"]
    assert all("phone" not in s for s in anon["notify"])
    disp = get_route(client_as("dispatcher"), lon, lat, code).json()
    assert [s["name"] for s in disp["notify"]] == [s["name"] for s in anon["notify"]]
    assert all(s["phone"] for s in disp["notify"])


def test_route_in_gcj02(anon_client) -> None:
    from gisgrid.boundaries.datums import from_wgs84

    lon, lat = fangzhen_point()
    x, y = from_wgs84(lon, lat, "gcj02")
    body = get_route(anon_client, float(x), float(y), first("territorial")["code"], crs="gcj02").json()
    assert body["lead_unit"]["name"] == "坊镇人民政府"


def test_outside_the_county(anon_client) -> None:
    for cat in (first("territorial"), first("department", False)):
        body = get_route(anon_client, 111.5, 36.5, cat["code"]).json()
        assert body["rule"] == "outside"
        assert body["location"]["status"] == "outside"
        assert body["lead_unit"]["name"] == (cat["lead_unit"] or county_centre_name())


@pytest.mark.parametrize("category", ["X9999", "e0101", "", "E" * 21])
def test_unknown_category(anon_client, category) -> None:
    lon, lat = fangzhen_point()
    r = get_route(anon_client, lon, lat, category)
    assert r.status_code == 400
    assert "category" in r.json()["fields"]


def test_route_bad_coordinates(anon_client) -> None:
    r = get_route(anon_client, "abc", 35.2, first("territorial")["code"])
    assert r.status_code == 400 and "lon" in r.json()["fields"]
    r = get_route(anon_client, 35.2, 110.2, first("territorial")["code"])
    assert r.status_code == 400 and r.json()["error"] == "invalid"
    assert "颠倒" in json.dumps(r.json(), ensure_ascii=False)  # zh-hans by default
    r = anon_client.get("/api/v1/route", {"lon": 35.2, "lat": 110.2, "category": first("territorial")["code"]},
                        HTTP_ACCEPT_LANGUAGE="en")
    assert "swapped" in json.dumps(r.json()) and "lat" in r.json()["fields"]


def test_route_function_directly(heyang_db) -> None:
    lon, lat = fangzhen_point()
    _, answers = locate_points([lon], [lat])
    loc = answers[0]
    assert isinstance(loc, PointAnswer)
    cats = categories()
    for row in cats.values():
        cat = Category.objects.get(code=row["code"])
        r = route(loc, cat)
        assert r.limit_working_days == DAYS[row["severity"]]
        assert r.rule == row["rule"]
        if row["rule"] == "territorial":
            assert r.lead_unit.name == "坊镇人民政府"
        else:
            assert r.lead_unit.name == row["lead_unit"]
        listed = {u for u in row["assisting_units"].split("|") if u}
        got = [u.name for u in r.assisting_units]
        if row["rule"] == "department":
            assert set(got) == listed
        elif row["rule"] == "lead":
            assert set(got) == listed | {"坊镇人民政府"}
        d = route_json(RoutedPlace(r, loc), show_phones=False)
        assert d["notify"] == d["location"]["staff"] and [s["name"] for s in d["notify"]] == [s.name for s in loc.staff]
        assert all("phone" not in s for s in d["notify"]) and "geocoded" not in d
    _, outside = locate_points([111.5], [36.5])
    r = route(outside[0], Category.objects.get(code=first("territorial")["code"]))
    assert r.rule == "outside" and r.lead_unit.name == county_centre_name()


def test_route_takes_the_json_form_of_an_answer_too(heyang_db) -> None:
    """reports.py hands route() what locate.locate() gives (the JSON form): same decision."""
    lon, lat = fangzhen_point()
    typed = locate_points([lon], [lat])[1][0]
    as_json = locate([lon], [lat])[1][0]
    for row in categories().values():
        cat = Category.objects.get(code=row["code"])
        a, b = route(typed, cat), route(as_json, cat)
        assert (a.lead_unit, a.assisting_units, a.rule, a.reason) == (b.lead_unit, b.assisting_units, b.rule, b.reason)


def test_route_place_by_point_or_address(heyang_db) -> None:
    cat = Category.objects.get(code="E0501")
    by_address = route_place(cat, address="泰山社区")
    assert by_address.geocoded["name"] == "泰山社区"
    assert [g.name for g in by_address.location.grids][:2] == ["城关街道", "泰山社区"]
    assert by_address.routing.lead_unit.name == "县城市管理执法局"
    # The same place given as its point: the same location, no gazetteer match.
    lon, lat = by_address.geocoded["point"]
    by_point = route_place(cat, point=(lon, lat))
    assert by_point.geocoded is None and by_point.location.grids == by_address.location.grids
    # A point wins over an address.
    flon, flat = fangzhen_point()
    both = route_place(cat, point=(flon, flat), address="泰山社区")
    assert both.geocoded is None and both.location.grids[0].name == "坊镇"
    with pytest.raises(BadRequest) as exc:
        route_place(cat, address="火星基地")
    assert exc.value.field == "address" and exc.value.status == 400
    with pytest.raises(BadRequest) as exc:
        route_place(cat)
    assert exc.value.field == "lon"
    with pytest.raises(BadRequest) as exc:
        route_place(cat, point=(flon, flat), edition_id=987654321)
    assert exc.value.field == "edition"
    with pytest.raises(BadRequest) as exc:  # LocateInputError is one of the error family
        route_place(cat, point=(flon, 95.0))
    assert exc.value.field == "lat"


def test_route_by_typed_address(anon_client) -> None:
    r = anon_client.get("/api/v1/route", {"address": "泰山社区", "category": "E0501"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["geocoded"]["name"] == "泰山社区"
    assert [g["name"] for g in body["location"]["grids"]][:2] == ["城关街道", "泰山社区"]
    assert body["lead_unit"]["name"] == "县城市管理执法局"
    r = anon_client.get("/api/v1/route", {"address": "火星基地", "category": "E0501"})
    assert r.status_code == 400 and "address" in r.json()["fields"]
    r = anon_client.get("/api/v1/route", {"category": "E0501"})
    assert r.status_code == 400 and "lon" in r.json()["fields"]
