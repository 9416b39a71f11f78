"""GET /api/v1/geocode: names, fragments, aliases and streets -> ranked places with grid chains."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
import shapely

HEYANG = Path(__file__).resolve().parent.parent / "geodata" / "heyang"
URL = "/api/v1/geocode"


@cache
def features(name: str) -> list[dict]:
    return json.loads((HEYANG / f"{name}.geojson").read_text(encoding="utf-8"))["features"]


@cache
def grid_by_name() -> dict[str, dict]:
    return {f["properties"]["name"]: dict(f["properties"], geom=shapely.geometry.shape(f["geometry"]))
            for f in features("grids")}


def search(client, q, **extra):
    r = client.get(URL, {"q": q, **extra})
    assert r.status_code == 200, r.content
    return r.json()


def test_community_by_name(anon_client) -> None:
    body = search(anon_client, "泰山社区")
    top = body["results"][0]
    assert top["name"] == "泰山社区"
    assert top["kind"] == "community"
    g = grid_by_name()["泰山社区"]
    assert top["status"] in ("inside", "blind_spot")
    assert top["grids"][0]["level"] == 1 and top["grids"][0]["name"] == "城关街道"
    assert top["grids"][1]["code"] == g["code"]
    assert g["geom"].covers(shapely.Point(top["point"]))


def compound_cases() -> list[tuple[str, str]]:
    """(name, name with its middle character removed) for compounds of 4+ characters."""
    out = []
    for f in features("compounds"):
        name = f["properties"]["name"]
        if len(name) >= 4:
            mid = len(name) // 2
            out.append((name, name[:mid] + name[mid + 1:]))
    return out


def test_compound_missing_a_character(anon_client) -> None:
    cases = compound_cases()
    assert len(cases) > 200
    misses = []
    for name, query in cases:
        names = [p["name"] for p in search(anon_client, query, limit=3)["results"]]
        if name not in names:
            misses.append((query, name, names))
    assert not misses, f"{len(misses)}/{len(cases)} not in the top 3, e.g. {misses[:10]}"


def test_compound_answer_has_its_grid(anon_client) -> None:
    f = next(f for f in features("compounds") if f["properties"].get("grid_code"))
    name, code = f["properties"]["name"], f["properties"]["grid_code"]
    top = search(anon_client, name)["results"][0]
    assert top["name"] == name and top["kind"] == "compound"
    assert shapely.geometry.shape(f["geometry"]).covers(shapely.Point(top["point"]))
    assert top["grids"][-1]["code"] == code


def alias_cases() -> list[tuple[str, str]]:
    out = []
    for f in features("compounds") + features("streets"):
        for a in f["properties"].get("aliases") or []:
            out.append((f["properties"]["name"], a))
    return out


def test_alias_finds_its_place(anon_client) -> None:
    cases = alias_cases()
    # Aliases that do not contain the name are the real test (e.g. a former name).
    assert any(name not in alias for name, alias in cases)
    misses = []
    for name, alias in cases:
        body = search(anon_client, alias)
        top = body["results"][0] if body["results"] else None
        if top is None or top["name"] != name or alias not in top["aliases"]:
            misses.append((alias, name, [p["name"] for p in body["results"][:3]]))
    assert not misses, misses[:10]


def test_street_by_name(anon_client) -> None:
    for f in features("streets")[:15]:
        name = f["properties"]["name"]
        top = search(anon_client, name)["results"][0]
        assert top["name"] == name
        assert top["kind"] == "street"
        line = shapely.geometry.shape(f["geometry"])
        assert line.distance(shapely.Point(top["point"])) < 1e-6  # the answer is rounded to 7 decimals


def test_limit(anon_client) -> None:
    assert search(anon_client, "社区", limit=2)["count"] == 2
    body = search(anon_client, "社区", limit=50)
    assert 2 < body["count"] <= 50
    assert body["query"] == "社区"


@pytest.mark.parametrize("q", ["", "   ", "\t\n", None])
def test_empty_query(anon_client, q) -> None:
    r = anon_client.get(URL, {} if q is None else {"q": q})
    assert r.status_code == 400
    assert "q" in r.json()["fields"]


def test_query_too_long(anon_client) -> None:
    from gisgrid.boundaries.gazetteer import MAX_QUERY_LENGTH

    assert search(anon_client, "泰" * MAX_QUERY_LENGTH)["query"]
    r = anon_client.get(URL, {"q": "泰" * (MAX_QUERY_LENGTH + 1)})
    assert r.status_code == 400 and "q" in r.json()["fields"]


@pytest.mark.parametrize("limit", ["0", "51", "-1", "abc", "2.5", ""])
def test_bad_limit(anon_client, limit) -> None:
    r = anon_client.get(URL, {"q": "泰山", "limit": limit})
    assert r.status_code == 400
    assert "limit" in r.json()["fields"]


@pytest.mark.parametrize("q", ["%", "_", "\\", "%泰%", "' OR 1=1 --"])
def test_special_characters_are_literal(anon_client, q) -> None:
    body = search(anon_client, q)
    for p in body["results"]:
        assert p["score"] < 1.5  # no "substring match" bonus from a wildcard
