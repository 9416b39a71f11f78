"""/dispatch/ and /dashboard/ live, against the real server (`./run serve`: nginx, gunicorn and the
push service), in two browsers at once: a unit acknowledges a case on its own page and the
dispatcher's map and queue change without a reload; an OsmAnd fix moves the inspector's marker;
a new report moves the dashboard's counts. How fast is tests/bench/bench_mappage.py's question;
here each change must arrive (WAIT_MS is a deadline, not a speed claim).
"""

from __future__ import annotations

import re
import secrets
import time

import httpx
import pytest

from tests.live_server import ServerProcess, api_token, prepared_database, register_device
from tests.test_map_page import assert_only_own_server

TAISHAN = (110.15017, 35.24435)  # in 泰山社区 (610524001018)
SOUTH = (110.1449, 35.2385)
WAIT_MS = 15_000
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def world():
    db = prepared_database("gisgrid_dispatchtest")
    tokens = {u: api_token(db, u) for u in ("dispatcher", "unitstaff")}
    server = ServerProcess(db, workers=1)
    # A generous start: on a shared two-core machine the workers' warm-up alone can take a minute.
    server.start(timeout=600)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            yield {"db": db, "server": server, "tokens": tokens, "http": c}
    finally:
        server.stop()


def call(world, who: str, method: str, path: str, **kw) -> dict:
    r = world["http"].request(method, path, headers={"Authorization": f"Token {world['tokens'][who]}"}, **kw)
    assert r.status_code in (200, 201), r.text
    return r.json()


def hotline(world, point=TAISHAN, category="E0501") -> dict:
    return call(world, "dispatcher", "POST", "/api/v1/cases/hotline", json={
        "category": category, "caller_name": "赵来电", "caller_phone": "13700001111", "lon": point[0],
        "lat": point[1], "description": "调度台测试"})


def dispatched(world) -> dict:
    case = hotline(world)
    n = case["number"]
    case = call(world, "dispatcher", "POST", f"/api/v1/cases/{n}/accept", json={
        "version": case["version"], "lead_unit": "D-CGJ", "assisting_units": []})
    return call(world, "dispatcher", "POST", f"/api/v1/cases/{n}/dispatch", json={"version": case["version"]})


def signed_in(browser, server, username: str, path: str):
    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    pg = ctx.new_page()
    pg.requests, pg.errors = [], []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(f"{server.url}/accounts/login/?next={path}")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", f"{username}-demo")
    pg.click("button.primary")
    pg.wait_for_url(re.compile(re.escape(path) + "$"))
    return ctx, pg


def mark_page(pg) -> None:
    """A value that a reload would lose: its survival proves the change came without one."""
    pg.evaluate("window.__noReload = 1")


@pytest.mark.browser
def test_a_unit_acknowledges_and_the_dispatcher_sees_it(browser, world):
    server = world["server"]
    case = dispatched(world)
    n = case["number"]
    d_ctx, d = signed_in(browser, server, "dispatcher", "/dispatch/")
    d.wait_for_function(f"window.gisgridDispatch && window.gisgridDispatch.store.get('{n}') !== null",
                        timeout=TIMEOUT_MS)
    d.wait_for_function("document.documentElement.dataset.live === 'open'")
    mark_page(d)
    assert d.locator(f"#queue li[data-number='{n}'] .q-state").inner_text() == "已派遣"
    d.click(f"#queue li[data-number='{n}']")
    d.wait_for_selector(f"#case-panel[data-number='{n}'][data-state=dispatched]")

    # The second browser: the unit's staff on the case page acknowledge it.
    u_ctx, u = signed_in(browser, server, "unitstaff", f"/cases/{n}/")
    u.wait_for_function("document.getElementById('c-state').dataset.state === 'dispatched' && "
                        "document.documentElement.dataset.casesReady === '1'")
    u.click("#actions button[data-action=acknowledge]")
    u.wait_for_selector("#action-form[data-action=acknowledge]")
    u.click("#action-form button[type=submit]")
    u.wait_for_function("document.getElementById('c-state').dataset.state === 'acknowledged'")

    # The dispatcher's queue row, marker and open panel follow, without a reload.
    d.wait_for_selector(f"#queue li[data-number='{n}'] .q-state:text('已签收')", timeout=WAIT_MS)
    d.wait_for_function(f"window.gisgridDispatch.store.get('{n}').state === 'acknowledged'", timeout=WAIT_MS)
    d.wait_for_selector(f"#case-panel[data-number='{n}'][data-state=acknowledged]", timeout=WAIT_MS)
    assert d.evaluate("window.__noReload") == 1
    marker = d.evaluate(f"(() => {{ const m = window.gisgridDispatch.layer.markers.get('{n}'); "
                        "const ll = m.getLatLng(); return [ll.lng, ll.lat]; })()")
    assert marker == pytest.approx(list(TAISHAN), abs=1e-4)

    # A new report appears on the map by itself; a voided one leaves it.
    fresh = hotline(world, SOUTH, "E0502")
    d.wait_for_selector(f"#queue li[data-number='{fresh['number']}']", timeout=WAIT_MS)
    assert d.evaluate(f"window.gisgridDispatch.layer.markers.has('{fresh['number']}')")
    call(world, "dispatcher", "POST", f"/api/v1/cases/{fresh['number']}/void",
         json={"version": fresh["version"], "reason": "测试作废"})
    d.wait_for_function(f"!window.gisgridDispatch.layer.markers.has('{fresh['number']}')", timeout=WAIT_MS)
    assert d.locator(f"#queue li[data-number='{fresh['number']}']").count() == 0
    assert d.evaluate("window.__noReload") == 1
    assert not d.errors and not u.errors, (d.errors, u.errors)
    assert_only_own_server(d, server)
    d.screenshot(path="/tmp/dispatch-live.png")
    u_ctx.close()
    d_ctx.close()


@pytest.mark.browser
def test_an_osmand_fix_moves_the_inspector_marker(browser, world):
    server = world["server"]
    ident = f"dispatch-{secrets.token_hex(4)}"
    token = register_device(world["db"], ident, person="inspector")
    # A point of this run only: a position the page had before cannot pass for the pushed one.
    here = (round(TAISHAN[0] + secrets.randbelow(1000) * 1e-6, 6), round(TAISHAN[1] + secrets.randbelow(1000) * 1e-6, 6))
    d_ctx, d = signed_in(browser, server, "dispatcher", "/dispatch/")
    d.wait_for_function("document.documentElement.dataset.live === 'open' && "
                        "document.documentElement.dataset.peopleLoaded !== undefined")
    mark_page(d)
    r = world["http"].get("/api/v1/track/osmand", params={"id": ident, "token": token, "lat": here[1],
                                                          "lon": here[0], "timestamp": int(time.time()),
                                                          "hdop": 5, "speed": 1.2})
    assert r.status_code == 200, r.text
    d.wait_for_function(f"(() => {{ const p = window.gisgridDispatch.people.people.get('inspector'); "
                        f"return !!p && Math.abs(p.lon - {here[0]}) < 1e-6 && Math.abs(p.lat - {here[1]}) < 1e-6; }})()",
                        timeout=WAIT_MS)
    pos = d.evaluate("(() => { const p = window.gisgridDispatch.people.people.get('inspector'); "
                     "const ll = p.marker.getLatLng(); return [ll.lng, ll.lat]; })()")
    assert pos == pytest.approx(list(here), abs=1e-6)
    # The next fix extends the trail and moves the marker again.
    moved = (round(here[0] + 0.001, 6), round(here[1] + 0.0005, 6))
    r = world["http"].get("/api/v1/track/osmand", params={"id": ident, "token": token, "lat": moved[1],
                                                          "lon": moved[0], "timestamp": int(time.time()) + 5,
                                                          "hdop": 5, "speed": 1.2})
    assert r.status_code == 200, r.text
    d.wait_for_function(f"(() => {{ const p = window.gisgridDispatch.people.people.get('inspector'); "
                        f"return Math.abs(p.lon - {moved[0]}) < 1e-6 && Math.abs(p.lat - {moved[1]}) < 1e-6; }})()",
                        timeout=WAIT_MS)
    trail = d.evaluate("window.gisgridDispatch.people.people.get('inspector').trail.length")
    assert trail >= 2
    # The same inspector's second phone sends a fix from a minute ago (a buffered upload): it is
    # that phone's newest, so it is pushed, and it joins the trail in its place in time, but the
    # marker stays on the person's newest fix.
    second = f"{ident}-b"
    token2 = register_device(world["db"], second, person="inspector")
    late = (round(here[0] - 0.001, 6), round(here[1] - 0.0005, 6))
    r = world["http"].get("/api/v1/track/osmand", params={"id": second, "token": token2, "lat": late[1],
                                                          "lon": late[0], "timestamp": int(time.time()) - 60,
                                                          "hdop": 5, "speed": 1.2})
    assert r.status_code == 200, r.text
    d.wait_for_function(f"(() => {{ const m = /^inspector@([-0-9.]+),([-0-9.]+)$/.exec("
                        f"document.documentElement.dataset.lastPosition || ''); return !!m && "
                        f"Math.abs(m[1] - {late[0]}) < 1e-6 && Math.abs(m[2] - {late[1]}) < 1e-6; }})()",
                        timeout=WAIT_MS)
    now = d.evaluate("(() => { const p = window.gisgridDispatch.people.people.get('inspector'); "
                     "const ll = p.marker.getLatLng(); return {lon: p.lon, lat: p.lat, marker: [ll.lng, ll.lat], "
                     "trail: p.trail.map((v) => [v[0], v[1], v[2]])}; })()")
    assert [now["lon"], now["lat"]] == pytest.approx(list(moved), abs=1e-6)
    assert now["marker"] == pytest.approx(list(moved), abs=1e-6)
    times = [v[2] for v in now["trail"]]
    assert times == sorted(times)
    assert any(abs(v[0] - late[0]) < 1e-6 and abs(v[1] - late[1]) < 1e-6 for v in now["trail"])
    assert d.evaluate("window.__noReload") == 1 and not d.errors, d.errors
    d_ctx.close()


@pytest.mark.browser
def test_the_dashboard_counts_move_with_a_new_report(browser, world):
    server = world["server"]
    ctx, pg = signed_in(browser, server, "dispatcher", "/dashboard/")
    pg.wait_for_function("document.documentElement.dataset.statsTotal !== undefined && "
                         "document.documentElement.dataset.live === 'open'")
    mark_page(pg)
    before = int(pg.evaluate("document.documentElement.dataset.statsTotal"))
    hotline(world)
    pg.wait_for_function(f"Number(document.documentElement.dataset.statsTotal) === {before + 1}", timeout=WAIT_MS)
    assert pg.locator("#t-total").inner_text() == str(before + 1)
    assert pg.evaluate("window.__noReload") == 1 and not pg.errors, pg.errors
    assert_only_own_server(pg, server)
    pg.screenshot(path="/tmp/dashboard-live.png", full_page=True)
    ctx.close()
