"""The /map/ page in a real browser: Debian's chromium driven by Playwright, against live_server.

Never runs `playwright install`: the browser is /usr/bin/chromium. Every test also checks that
the page asked nothing of any host but our own server (no CDN, no web fonts, no tiles when no
basemap is configured).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import shapely

LEVEL1_COUNT = 14  # Heyang: 14 towns and street offices
TIMEOUT_MS = 20_000


@pytest.fixture
def page(browser, live_server, heyang_live):
    """A fresh Chinese-locale page recording every request it makes."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    pg.requests = []
    pg.errors = []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    context.close()


def open_map(page, live_server, path="/map/"):
    page.goto(live_server.url + path)
    page.wait_for_function("document.documentElement.dataset.mapReady === '1'")


def assert_only_own_server(page, live_server):
    own = urlparse(live_server.url)
    foreign = []
    for url in page.requests:
        u = urlparse(url)
        if u.scheme in ("data", "blob", "about"):
            continue
        if (u.scheme, u.hostname, u.port) != (own.scheme, own.hostname, own.port):
            foreign.append(url)
    assert not foreign, f"requests to other hosts: {foreign}"


def point_inside(page, level, name):
    """A viewport point where the path of grid `name` (of `level`) is the topmost element."""
    return page.evaluate(
        """([level, name]) => {
            const f = gisgrid.state[level].features.find(f => f.properties.name === name);
            if (!f) return null;
            const path = f.__layer.getElement();
            const r = path.getBoundingClientRect();
            for (let n = 8; n <= 64; n *= 2) {
                for (let i = 1; i < n; i++) for (let j = 1; j < n; j++) {
                    const x = r.left + r.width * i / n, y = r.top + r.height * j / n;
                    if (document.elementFromPoint(x, y) === path) return [x, y];
                }
            }
            return null;
        }""",
        [level, name],
    )


@pytest.mark.browser
def test_map_renders_county_and_level1_grids(page, live_server):
    open_map(page, live_server)

    assert "网格地图" in page.title()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("#county-name").inner_text() == "合阳县"
    assert page.locator("path.leaflet-interactive").count() >= LEVEL1_COUNT
    assert page.locator("#count-1").get_attribute("data-count") == str(LEVEL1_COUNT)
    assert int(page.locator("#count-2").get_attribute("data-count")) > LEVEL1_COUNT
    # Level 3 is not fetched at the county-wide zoom.
    assert page.locator("#count-3").inner_text() == "未加载"
    assert not any("level=3" in url for url in page.requests)

    labels = page.locator(".grid-label-1").all_inner_texts()
    assert "城关街道" in labels
    assert len(labels) == LEVEL1_COUNT
    # Anonymous visitors may look; the panel says who they are and offers a login link.
    assert "访客" in page.locator("#user-display").inner_text()
    assert page.locator("a.login").get_attribute("href").startswith("/accounts/login/")

    page.screenshot(path="/tmp/map.png")
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_click_on_a_grid_opens_its_popup(page, live_server):
    open_map(page, live_server)
    # Hide level 2 (drawn above level 1) so a click inside 城关街道 reaches the level-1 polygon.
    page.locator(".leaflet-control-layers-overlays label", has_text="二级网格").locator("input").uncheck()
    xy = point_inside(page, 1, "城关街道")
    assert xy, "城关街道 not visible on the map"
    page.mouse.click(*xy)

    popup = page.locator(".leaflet-popup-content .grid-popup")
    popup.wait_for()
    assert popup.locator(".grid-popup-name").inner_text() == "城关街道"
    text = popup.inner_text()
    assert "编码" in text and "层级" in text and "一级" in text
    assert re.search(r"\d[\d,.]* (km²|m²)", text)
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_data_is_shown_as_text_never_as_html(page, live_server):
    open_map(page, live_server)
    evil = '<img src=x onerror="window.__xss=1">城关<b>街道</b>'
    result = page.evaluate(
        """(evil) => {
            // 1. The popup builder on its own.
            const box = gisgrid.buildPopupContent({code: '<i>1</i>', name: evil, level: 3,
                                                   kind: '<script>x</script>', unit: evil, area_m2: 12.3});
            document.body.appendChild(box);
            const direct = {imgs: box.querySelectorAll('img, b, i, script').length,
                            name: box.querySelector('.grid-popup-name').textContent};
            // 2. A feature injected into the level-3 layer: its label and popup.
            const layer = gisgrid.state[3].layer;
            gisgrid.map.addLayer(layer);
            layer.addData({type: 'Feature', properties: {code: 'X1', name: evil, level: 3, kind: 'urban_grid',
                           unit: null, area_m2: 1500000},
                           geometry: {type: 'Polygon', coordinates: [[[110.14, 35.23], [110.15, 35.23],
                                                                      [110.15, 35.24], [110.14, 35.23]]]}});
            let injected = null;
            layer.eachLayer(l => { if (l.feature.properties.code === 'X1') injected = l; });
            injected.openPopup();
            const popup = document.querySelector('.leaflet-popup-content');
            const label = injected.getTooltip().getElement();
            return {direct,
                    popupTags: popup.querySelectorAll('img, b').length,
                    popupName: popup.querySelector('.grid-popup-name').textContent,
                    popupText: popup.textContent,
                    labelTags: label.querySelectorAll('img, b').length,
                    labelText: label.textContent};
        }""",
        evil,
    )
    assert result["direct"] == {"imgs": 0, "name": evil}
    assert result["popupTags"] == 0 and result["popupName"] == evil
    assert "1.5 km²" in result["popupText"]
    assert result["labelTags"] == 0 and result["labelText"] == evil
    page.wait_for_timeout(300)  # an <img src=x> would have fired onerror by now
    assert page.evaluate("window.__xss") is None
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_search_by_name_and_code_zooms_to_the_grid(page, live_server):
    open_map(page, live_server)
    start_zoom = page.evaluate("gisgrid.map.getZoom()")

    page.fill("#search-input", "城关街道")
    page.press("#search-input", "Enter")
    popup_name = page.locator(".leaflet-popup-content .grid-popup-name")
    popup_name.wait_for()
    assert popup_name.inner_text() == "城关街道"
    assert page.evaluate("gisgrid.map.getZoom()") > start_zoom
    assert page.locator("#search-results button.result").first.inner_text().startswith("城关街道")

    # By code: a village's full code finds exactly that village.
    code, name = page.evaluate(
        "(() => { const p = gisgrid.state[2].features[0].properties; return [p.code, p.name]; })()"
    )
    page.fill("#search-input", code)
    page.click("#search-form button[type=submit]")
    page.wait_for_function(
        "(name) => document.querySelector('.leaflet-popup-content .grid-popup-name')?.textContent === name",
        arg=name,
    )
    # Searching fetched level 3 too, so the counts panel now has all three levels.
    page.wait_for_function("document.getElementById('count-3').dataset.count !== ''")

    page.fill("#search-input", "不存在的网格名")
    page.press("#search-input", "Enter")
    page.locator("#search-results li.no-match").wait_for()
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_level3_loads_when_zoomed_in(page, live_server):
    open_map(page, live_server)
    centre = page.evaluate(
        """(() => {
            const f = gisgrid.state[1].features.find(f => f.properties.name === '城关街道');
            const c = f.__layer.getBounds().getCenter();
            return [c.lat, c.lng];
        })()"""
    )
    page.evaluate("([lat, lng]) => gisgrid.map.setView([lat, lng], 14, {animate: false})", centre)
    page.wait_for_function("document.documentElement.dataset.level3Loaded === '1'")
    assert int(page.locator("#count-3").get_attribute("data-count")) > 0
    assert page.locator(".grid-label-3").count() > 0
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_login_shows_user_and_role_then_logout(page, live_server, django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username="maptester", password="map-pass-123")
    user.groups.add(Group.objects.get_or_create(name="dispatcher")[0])

    open_map(page, live_server)
    page.click("a.login")
    page.fill("input[name=username]", "maptester")
    page.fill("input[name=password]", "map-pass-123")
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/map/$"))
    page.wait_for_function("document.documentElement.dataset.mapReady === '1'")
    assert page.locator("#user-display").inner_text() == "maptester（指挥中心调度员）"

    page.click("form.logout button")
    page.wait_for_url(re.compile(r".*/map/$"))
    assert "访客" in page.locator("#user-display").inner_text()
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_language_switch_to_english_and_back(page, live_server):
    open_map(page, live_server)
    page.click(".map-panel .lang-switch button[value=en]")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.url.endswith("/map/")
    page.wait_for_function("document.documentElement.dataset.mapReady === '1'")
    assert page.locator(".map-panel .lang-switch button[value=en]").get_attribute("aria-pressed") == "true"
    assert "Grid map" in page.title()
    page.click(".map-panel .lang-switch button[value=zh-hans]")
    page.wait_for_function("document.documentElement.lang === 'zh-hans'")
    assert "网格地图" in page.title()
    assert_only_own_server(page, live_server)


def test_root_redirects_to_map(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/map/"


# ------------------------------------------------------------------------------------------
# "Whose is it?": address search, click to locate, coordinates in any datum, routing, blind spots

STAFF_CSV = Path(__file__).resolve().parent.parent / "geodata" / "heyang" / "staff.csv"


def level3_probe() -> dict:
    """A WGS-84 point well inside (≥ 40 m from its edge) a level-3 grid that has a unit and staff
    with phone numbers in staff.csv; with the grid, its unit's name and those phones."""
    from gisgrid.boundaries import editions, geometry
    from gisgrid.boundaries.models import Grid

    phones: dict[str, list[str]] = {}
    with STAFF_CSV.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["phone"]:
                phones.setdefault(row["grid_code"], []).append(row["phone"])
    grids = (Grid.objects.filter(edition=editions.active_edition(), level=3, unit__isnull=False)
             .select_related("unit").order_by("code"))
    for g in grids:
        if not phones.get(g.code):
            continue
        inner = geometry.to_metric(geometry.from_geos(g.geom)).buffer(-40)
        if inner.is_empty:
            continue
        p = geometry.from_metric(inner.point_on_surface())
        return {"grid": g, "unit": g.unit.name, "phones": phones[g.code], "lon": p.x, "lat": p.y}
    raise AssertionError("no level-3 grid with staff phones")


def viewport_point(page, lon, lat):
    """Viewport pixels of a WGS-84 point through the page's exposed Leaflet map."""
    return page.evaluate(
        """([lat, lng]) => {
            const m = gisgrid.map;
            const r = m.getContainer().getBoundingClientRect();
            const p = m.latLngToContainerPoint([lat, lng]);
            return [r.left + p.x, r.top + p.y];
        }""",
        [lat, lon],
    )


def wait_located(page):
    page.wait_for_function("['done', 'error'].includes(document.getElementById('locate-panel').dataset.state)")
    return page.locator("#locate-panel").inner_text()


def click_locate(page, lon, lat, zoom=16):
    page.evaluate("([lat, lng, z]) => gisgrid.map.setView([lat, lng], z, {animate: false})", [lat, lon, zoom])
    if page.locator("#locate-toggle").get_attribute("aria-pressed") != "true":
        page.click("#locate-toggle")
    page.evaluate("document.getElementById('locate-panel').dataset.state = ''")
    page.mouse.click(*viewport_point(page, lon, lat))
    return wait_located(page)


def locate_by_form(page, lon, lat, crs):
    if not page.locator("#coord-box").evaluate("d => d.open"):
        page.click("#coord-box summary")
    page.fill("#coord-lon", str(lon))
    page.fill("#coord-lat", str(lat))
    page.select_option("#coord-crs", crs)
    page.evaluate("document.getElementById('locate-panel').dataset.state = ''")
    page.click("#coord-submit")
    return wait_located(page)


def reported_wgs84(page):
    return page.evaluate("gisgrid.current() && gisgrid.current().wgs84")


def metres_apart(a, b):
    from gisgrid.boundaries import geometry

    pa, pb = (geometry.to_metric(shapely.Point(*p)) for p in (a, b))
    return pa.distance(pb)


@pytest.mark.browser
def test_address_search_lists_places_and_locates_the_chosen_one(page, live_server):
    open_map(page, live_server)
    page.check("input[name=search-mode][value=address]")
    assert "地址" in page.locator("#search-input").get_attribute("placeholder")
    page.locator("#search-input").press_sequentially("泰山社区", delay=30)  # debounced, no Enter
    first = page.locator("#search-results button.place").first
    first.wait_for()
    assert "泰山社区" in page.locator("#search-results").inner_text()
    assert "城关街道" in first.locator(".result-chain").inner_text()  # the place's grid chain
    assert first.locator(".result-code").inner_text() == "社区"  # kind_label
    first.click()
    text = wait_located(page)
    assert "城关街道" in text and "泰山社区" in text
    assert "在网格内" in text
    assert page.evaluate("gisgrid.map.getZoom()") >= 16
    assert page.locator(".locate-pin").count() == 1
    # The chain entries zoom to their grid.
    page.locator("#locate-panel button.chain-link", has_text="泰山社区").first.click()
    page.locator(".leaflet-popup-content .grid-popup-name").wait_for()
    # Back to grid search: the old behaviour is unchanged.
    page.check("input[name=search-mode][value=grid]")
    page.fill("#search-input", "城关街道")
    page.press("#search-input", "Enter")
    page.wait_for_function(
        "document.querySelector('.leaflet-popup-content .grid-popup-name')?.textContent === '城关街道'")
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_click_to_locate_shows_grid_unit_and_phones_only_to_dispatchers(page, live_server):
    probe = level3_probe()
    g = probe["grid"]
    open_map(page, live_server)
    text = click_locate(page, probe["lon"], probe["lat"])
    assert page.locator("#locate-panel").get_attribute("data-status") == "inside"
    assert "在网格内" in text
    assert g.name in text and probe["unit"] in text
    chain = page.locator("#locate-panel .chain-name").all_inner_texts()
    assert chain[-1] == g.name and len(chain) == 3
    assert page.locator("#locate-panel .staff-name").count() >= 1
    # Anonymous: the API leaves phones out, and so does the panel.
    assert not [p for p in probe["phones"] if p in text]
    assert page.locator("#locate-panel a.phone").count() == 0
    # In locate mode a click on a grid does not open its popup.
    assert page.locator(".leaflet-popup").count() == 0

    page.goto(live_server.url + "/accounts/login/?next=/map/")
    page.fill("input[name=username]", "dispatcher")
    page.fill("input[name=password]", "dispatcher-demo")
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/map/$"))
    page.wait_for_function("document.documentElement.dataset.mapReady === '1'")
    text = click_locate(page, probe["lon"], probe["lat"])
    assert g.name in text
    assert [p for p in probe["phones"] if p in text], (probe["phones"], text)
    assert page.locator("#locate-panel a.phone").count() >= 1
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_coordinate_form_converts_gcj02_and_wgs84_lands_elsewhere(page, live_server):
    from gisgrid.boundaries.datums import wgs84_to_gcj02

    probe = level3_probe()
    g = probe["grid"]
    glon, glat = (round(float(v), 7) for v in wgs84_to_gcj02(probe["lon"], probe["lat"]))
    open_map(page, live_server)

    text = locate_by_form(page, glon, glat, "gcj02")
    assert g.name in text
    assert "GCJ-02" in text  # the input is echoed with its datum
    as_gcj = reported_wgs84(page)
    assert metres_apart(as_gcj, (probe["lon"], probe["lat"])) < 1
    # The marker sits on the converted point, and the map went there.
    pin = page.evaluate("(() => { const p = gisgrid.marker().getLatLng(); return [p.lng, p.lat]; })()")
    assert metres_apart(pin, as_gcj) < 0.01
    assert page.evaluate("gisgrid.map.getZoom()") >= 16

    # The same numbers taken as WGS-84 land several hundred metres away.
    text = locate_by_form(page, glon, glat, "wgs84")
    as_wgs = reported_wgs84(page)
    assert as_wgs == [glon, glat]
    assert 300 < metres_apart(as_wgs, as_gcj) < 1000
    assert "GCJ-02" not in page.locator("#locate-body").inner_text()
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_routing_a_matter_shows_lead_unit_and_time_limit(page, live_server):
    from gisgrid.incidents.models import Category

    probe = level3_probe()
    open_map(page, live_server)
    click_locate(page, probe["lon"], probe["lat"])
    page.wait_for_function("Number(document.getElementById('route-category').dataset.loaded) > 0")
    # Grouped by parent.
    assert page.locator("#route-category optgroup").count() >= 2
    assert page.locator("#route-category optgroup option[value=E0501]").count() == 1

    page.select_option("#route-category", "E0501")
    page.wait_for_function("document.getElementById('route-box').dataset.state === 'done'")
    text = page.locator("#route-body").inner_text()
    assert "县城市管理执法局" in text and "现场办理" in text
    assert "县城市管理执法局" in text.split("主办单位")[1]

    page.select_option("#route-category", "E0101")
    page.wait_for_function("document.getElementById('route-box').dataset.state === 'done'"
                           " && document.getElementById('route-body').textContent.includes('E0101')")
    text = page.locator("#route-body").inner_text()
    assert "5 个工作日" in text
    assisting = [u.name for u in Category.objects.get(code="E0101").assisting_units.all()]
    assert assisting and all(name in text for name in assisting)
    assert "通知人员" in text and "分派依据" in text
    page.locator("#locate-panel").screenshot(path="/tmp/map-locate-panel.png")
    page.screenshot(path="/tmp/map-locate.png")
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_blind_spot_layer_loads_with_popups(page, live_server):
    open_map(page, live_server)
    assert not any("blind-spots" in url for url in page.requests)  # not loaded until asked for
    page.locator(".leaflet-control-layers-overlays label", has_text="盲点").locator("input").check()
    page.wait_for_function("document.documentElement.dataset.blindSpotsLoaded !== undefined")
    assert int(page.evaluate("document.documentElement.dataset.blindSpotsLoaded")) >= 8
    assert page.locator("path.blind-spot").count() >= 8
    popup = page.evaluate(
        """(() => {
            const l = gisgrid.blindSpots.layer.getLayers()[0];
            l.openPopup();
            return {text: document.querySelector('.leaflet-popup-content').textContent,
                    props: l.feature.properties};
        })()"""
    )
    props = popup["props"]
    assert props["community_name"] in popup["text"] and props["community_code"] in popup["text"]
    assert "m²" in popup["text"] and "区域内事件" in popup["text"]
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_swapped_coordinates_show_the_api_message(page, live_server):
    open_map(page, live_server)
    text = locate_by_form(page, 35.24, 110.14, "wgs84")
    assert page.locator("#locate-panel").get_attribute("data-state") == "error"
    assert "经纬度可能颠倒" in page.locator("#locate-panel .api-error").inner_text()
    assert "城关街道" in text  # the API says where the swapped point lies
    assert page.locator("#route-box").is_hidden()
    # A non-number answers with the API's field message too.
    locate_by_form(page, "abc", 35.24, "wgs84")
    assert page.locator("#locate-panel .api-error").inner_text().startswith("lon")
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_locate_answer_with_markup_is_shown_as_text(page, live_server):
    evil = '<img src=x onerror="window.__xss=1">'
    answer = {
        "status": "inside", "input": {"lon": 110.14, "lat": 35.24, "crs": "gcj02"}, "wgs84": [110.14, 35.24],
        "edition": {"id": 1, "name": evil},
        "grids": [{"level": 1, "code": "610524001", "name": evil + "街道"},
                  {"level": 2, "code": "X2", "name": "<b>社区</b>"},
                  {"level": 3, "code": "X3", "name": evil}],
        "unit": {"code": "U", "name": evil + "单位", "kind": "x", "phone": evil},
        "staff": [{"role": "grid_member", "role_label": evil, "name": evil, "unit": evil, "phone": "<i>1</i>"}],
        "near_boundary": True,
        "candidates": [{"code": "X4", "name": evil, "level": 3, "distance_m": 3.2}],
        "blind_spot_of": {"code": "X", "name": evil},
    }
    open_map(page, live_server)
    page.route("**/api/v1/locate?**", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(answer)))
    text = locate_by_form(page, 110.15, 35.24, "gcj02")
    assert evil + "街道" in text and evil + "单位" in text and "<b>社区</b>" in text
    assert "距边界 3.2 米" in text and "候选" in text
    assert page.locator("#locate-panel img, #locate-panel b, #locate-panel i").count() == 0
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)
