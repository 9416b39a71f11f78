"""The /map/ page in a real browser: Debian's chromium driven by Playwright, against live_server.

Never runs `playwright install`: the browser is /usr/bin/chromium. Every test also checks that
the page asked nothing of any host but our own server (no CDN, no web fonts, no tiles when no
basemap is configured).
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

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
