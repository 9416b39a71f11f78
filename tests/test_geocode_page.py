"""The map's address search in a real browser shows the new gazetteer's answer: a landmark
said the way a caller says it ("县医院对面"), with its kind label and grid chain, and a crossing
of two streets; choosing one locates it (the page itself is helper R's: tests/test_map_page.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_map_page import assert_only_own_server, open_map, wait_located

HEYANG = Path(__file__).resolve().parent.parent / "geodata" / "heyang"


@pytest.fixture
def page(browser, live_server, heyang_live):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    pg = context.new_page()
    pg.requests = []
    pg.errors = []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    context.close()


def a_hospital() -> dict:
    features = json.loads((HEYANG / "places.geojson").read_text(encoding="utf-8"))["features"]
    return next(f["properties"] for f in features if f["properties"]["category"] == "hospital" and f["properties"]["aliases"])


@pytest.mark.browser
def test_address_search_finds_a_landmark_said_the_callers_way(page, live_server):
    hospital = a_hospital()
    open_map(page, live_server)
    page.check("input[name=search-mode][value=address]")
    page.locator("#search-input").press_sequentially(hospital["aliases"][0] + "对面", delay=30)
    first = page.locator("#search-results button.place").first
    first.wait_for()
    assert hospital["name"] in first.inner_text()
    assert first.locator(".result-code").inner_text() == "医院"  # the landmark's category as its kind label
    assert "城关街道" in first.locator(".result-chain").inner_text()
    first.click()
    text = wait_located(page)
    assert "城关街道" in text and "在网格内" in text
    assert not page.errors
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_address_search_places_a_street_crossing(page, live_server):
    import shapely

    streets = json.loads((HEYANG / "streets.geojson").read_text(encoding="utf-8"))["features"]
    geoms = {f["properties"]["name"]: shapely.geometry.shape(f["geometry"]) for f in streets}
    names = sorted(geoms)
    a, b = next((a, b) for i, a in enumerate(names) for b in names[i + 1:] if geoms[a].intersects(geoms[b]))
    open_map(page, live_server)
    page.check("input[name=search-mode][value=address]")
    page.locator("#search-input").press_sequentially(f"{a}与{b}交叉口", delay=30)
    first = page.locator("#search-results button.place").first
    first.wait_for()
    assert a in first.inner_text() and b in first.inner_text()
    assert first.locator(".result-code").inner_text() == "路口"
    first.click()
    assert "在网格内" in wait_located(page)
    assert not page.errors
