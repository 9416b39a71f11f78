"""The dispatcher's workbench /dispatch/: who may open it, what it is given, and in a real
browser (Playwright + Debian's chromium against live_server) the map and the queue in step, the
case panel's actions with a stale version, filters, search, and escaping of user text.

The live half (pushed changes from the push service) is tests/test_dispatch_live.py.
"""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from gisgrid.cases import workflow as wf
from gisgrid.cases.factories import reported_case
from gisgrid.cases.models import Case
from tests.test_case_pages import EVIL, open_as
from tests.test_map_page import assert_only_own_server

PAGES = {"dispatch": "/dispatch/", "dashboard": "/dashboard/"}


def page_client(username: str | None, language: str | None = None) -> Client:
    c = Client()
    if username:
        c.force_login(User.objects.get(username=username))
    if language:
        c.cookies["django_language"] = language
    return c


def config_of(html: str) -> dict:
    m = re.search(r'<script id="gisgrid-config" type="application/json">(.*?)</script>', html, re.S)
    assert m, "no gisgrid-config in the page"
    return json.loads(m.group(1))


@pytest.mark.parametrize(("name", "url"), PAGES.items())
def test_pages_for_their_roles_only(name, url, heyang_db):
    for username in ("dispatcher", "admin", "gridchief"):
        r = page_client(username).get(url)
        assert r.status_code == 200, (username, r.status_code)
        html = r.content.decode()
        cfg = config_of(html)
        assert cfg["api"]["events"] == "/api/v1/events"
        assert cfg["states"]["reported"] == "待受理"
        assert f"/static/gisgrid/{name}/main.js" in html and 'type="module"' in html
        assert not re.search(r'(src|href)="(https?:)?//', html), "nothing from another host"
    for username in ("unitstaff", "gridmember", "planner", "inspector"):
        r = page_client(username).get(url)
        assert r.status_code == 403, username
    r = page_client(None).get(url)
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/?next=")


def test_dispatch_config_and_english(heyang_db):
    cfg = config_of(page_client("dispatcher").get("/dispatch/").content.decode())
    assert cfg["canAct"] is True and cfg["api"]["points"] == "/api/v1/cases/points"
    assert cfg["categories"]["E0501"] and cfg["gridNames"]["610524001"] == "城关街道"
    assert any(u["code"] for u in cfg["units"])
    chief = config_of(page_client("gridchief").get("/dispatch/").content.decode())
    assert chief["canAct"] is False  # chiefs read; the centre acts
    html = page_client("dispatcher", "en").get("/dispatch/").content.decode()
    # Page strings come from the web catalog (merged by the lead from the dispatch .po); labels
    # from the models' catalog are English already.
    assert 'lang="en"' in html
    assert config_of(html)["states"]["reported"] == "Reported"


# -- in a real browser -------------------------------------------------------------------------------

def wait_loaded(pg, n: int) -> None:
    pg.wait_for_function(f"document.documentElement.dataset.casesLoaded === '{n}'")
    pg.wait_for_function(f"document.querySelectorAll('#queue li[data-number]').length === {n}")


def marker_count(pg) -> int:
    return pg.evaluate("window.gisgridDispatch.layer.group.getLayers().length")


@pytest.mark.browser
def test_map_queue_panel_in_step(browser, live_server, heyang_live):
    d = User.objects.get(username="dispatcher")
    a = reported_case("E0501", description=EVIL, address=EVIL)
    b = reported_case("E0502", lon=110.1520, lat=35.2400)
    c = reported_case("E0101", lon=110.1400, lat=35.2300)
    c = wf.dispatch(wf.accept(c, d, version=1), d, version=2)
    Case.objects.filter(pk=b.pk).update(clock="red")
    closed = reported_case("E0501", lon=110.1300, lat=35.2350)
    wf.void(closed, d, version=1, reason="重复")

    ctx, pg = open_as(browser, live_server, "dispatcher", "/dispatch/")
    wait_loaded(pg, 3)
    assert marker_count(pg) == 3  # the voided case is not on the map
    # The queue: overdue first.
    first = pg.locator("#queue li[data-number]").first
    assert first.get_attribute("data-number") == b.number and "clock-red" in first.get_attribute("class")

    # Select in the queue -> the map's selected marker and the panel.
    pg.click(f"#queue li[data-number='{a.number}']")
    pg.wait_for_selector(f"#case-panel[data-number='{a.number}']")
    assert pg.evaluate("window.gisgridDispatch.layer.selected") == a.number
    assert pg.locator(".case-marker.selected").count() == 1
    assert EVIL in pg.locator("#case-panel").inner_text()  # text, never markup
    assert pg.evaluate("window.__pwned") is None

    # Select on the map -> the queue row.
    pg.evaluate(f"window.gisgridDispatch.layer.markers.get('{c.number}').fire('click')")
    pg.wait_for_selector(f"#queue li.selected[data-number='{c.number}']")
    pg.wait_for_selector(f"#case-panel[data-number='{c.number}']")

    # Accept from the panel; the queue row follows.
    pg.click(f"#queue li[data-number='{a.number}']")
    pg.wait_for_selector(f"#case-panel[data-number='{a.number}'] button[data-action=accept]")
    pg.click("#case-panel button[data-action=accept]")
    pg.wait_for_selector(f"#case-panel[data-number='{a.number}'][data-state=accepted]")
    pg.wait_for_selector(f"#queue li[data-number='{a.number}'] .q-state:text('已立案')")

    # Someone else dispatches meanwhile: the page's version is stale -> 409 stale_version, shown, reloaded.
    fresh = Case.objects.get(pk=a.pk)
    wf.dispatch(fresh, d, version=fresh.version)
    pg.fill("#case-reason", "等待材料")
    pg.click("#case-panel button[data-action=pause]")  # accepted cases can be paused; the version is old
    pg.wait_for_selector(f"#case-panel[data-number='{a.number}'][data-state=dispatched]")
    assert "已被他人更新" in pg.locator("#case-message").inner_text()

    # Filters: only the red one.
    pg.select_option("#f-clock", "red")
    pg.click("#filters button[type=submit]")
    wait_loaded(pg, 1)
    assert marker_count(pg) == 1

    # Search by case number.
    pg.fill("#search-input", c.number)
    pg.press("#search-input", "Enter")
    pg.wait_for_selector(f"#case-panel[data-number='{c.number}']")
    assert not pg.errors, pg.errors
    assert_only_own_server(pg, live_server)
    pg.screenshot(path="/tmp/dispatch.png")
    ctx.close()


@pytest.mark.browser
def test_dashboard_draws_the_stats(browser, live_server, heyang_live):
    d = User.objects.get(username="dispatcher")
    reported_case("E0501")
    late = reported_case("E0502", lon=110.1520, lat=35.2400, address=EVIL)
    late = wf.accept(late, d, version=1)
    Case.objects.filter(pk=late.pk).update(clock="red")
    ctx, pg = open_as(browser, live_server, "dispatcher", "/dashboard/")
    pg.wait_for_function("document.documentElement.dataset.statsTotal === '2'")
    pg.wait_for_function("document.documentElement.dataset.choroplethLevel === '1'")
    assert pg.locator("#t-red").inner_text() == "1" and pg.locator("#t-open").inner_text() == "2"
    row = pg.locator(f"#overdue-body tr[data-number='{late.number}']")
    assert row.count() == 1 and EVIL in row.inner_text()  # the address as text
    assert pg.evaluate("window.__pwned") is None
    # Every chart drew on a canvas (ECharts, vendored).
    assert pg.locator("#c-state canvas, #c-category canvas, #c-town canvas, #c-ontime canvas").count() == 4
    # Level 2: the choropleth follows the select.
    pg.select_option("#p-level", "2")
    pg.wait_for_function("document.documentElement.dataset.choroplethLevel === '2'")
    assert not pg.errors, pg.errors
    assert_only_own_server(pg, live_server)
    pg.screenshot(path="/tmp/dashboard.png", full_page=True)
    ctx.close()
