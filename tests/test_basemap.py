"""Basemaps as Chinese users have them (docs/map.md): the settings, their start-up check, and in
a real browser a GCJ-02 basemap with every overlay shifted onto it.

The tile source is a tiny HTTP server started by the test on loopback (no network): it answers
every tile with a 256 px PNG and records what was asked.
"""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from django.core import checks
from PIL import Image

from gisgrid.boundaries import datums
from gisgrid.web.basemap import basemap_config, parse_basemap
from tests.test_map_page import LEVEL1_COUNT, TIMEOUT_MS

TIANDITU = ("https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec"
            "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=0123abcd")
AMAP = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"


@pytest.fixture
def tile_server():
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (230, 236, 240)).save(buf, "PNG")
    png = buf.getvalue()
    asked: list[str] = []

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.asked = asked
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def _page(browser, live_server):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    # The wait ceiling only (no timing is asserted): tiles come from a server in this process.
    context.set_default_timeout(3 * TIMEOUT_MS)
    pg = context.new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    return context, pg


def _basemap_warnings() -> list[str]:
    return [m.msg for m in checks.run_checks() if m.id in ("gisgrid.W101", "gisgrid.W102")]


# ---- settings and the start-up check --------------------------------------------------------------

def test_tianditu_url_with_its_key_works_as_it_is():
    config, errors, warnings = parse_basemap(TIANDITU, "cgcs2000", "01234567", "天地图", "18")
    assert errors == [] and warnings == []
    assert config == {"url": TIANDITU, "datum": "cgcs2000", "subdomains": list("01234567"),
                      "attribution": "天地图", "maxZoom": 18}


def test_amap_declared_gcj02_and_warned_when_not():
    config, errors, warnings = parse_basemap(AMAP, "gcj02", "1,2,3,4")
    assert errors == [] and warnings == [] and config["datum"] == "gcj02" and config["subdomains"] == list("1234")
    config, errors, warnings = parse_basemap(AMAP, "", "1234")
    assert errors == [] and config["url"] == AMAP and config["datum"] == "wgs84"
    assert any("GISGRID_BASEMAP_DATUM=gcj02" in w for w in warnings)


@pytest.mark.parametrize(("url", "datum", "zoom", "says"), [
    ("http://127.0.0.1:1/tiles/{z}/{x}.png", "", "", "{y}"),
    ("http://127.0.0.1:1/{z}/{x}/{y}.png?tk={tk}", "", "", "{tk}"),
    ("127.0.0.1/{z}/{x}/{y}.png", "", "", "neither an http(s) address"),
    ("http://127.0.0.1:1/{z}/{x}/{y}.png", "bd09", "", "BD-09"),
    ("http://127.0.0.1:1/{z}/{x}/{y}.png", "mercator", "", "GISGRID_BASEMAP_DATUM='mercator'"),
    ("http://127.0.0.1:1/{z}/{x}/{y}.png", "", "99", "GISGRID_BASEMAP_MAX_ZOOM='99'"),
    ("http://127.0.0.1:1/{z}/{x}/{y}.png", "", "eighteen", "GISGRID_BASEMAP_MAX_ZOOM='eighteen'"),
])
def test_malformed_setting_is_a_start_up_warning_and_no_basemap(settings, url, datum, zoom, says):
    settings.GISGRID_BASEMAP_URL = url
    settings.GISGRID_BASEMAP_DATUM = datum
    settings.GISGRID_BASEMAP_MAX_ZOOM = zoom
    found = _basemap_warnings()
    assert any(says in m and "without a basemap" in m for m in found), found
    assert basemap_config()["url"] == ""  # the pages get no basemap, and nothing crashes


def test_no_basemap_no_warning(settings):
    settings.GISGRID_BASEMAP_URL = ""
    settings.GISGRID_BASEMAP_DATUM = "nonsense"  # ignored: there is no basemap to shift onto
    assert _basemap_warnings() == []
    assert basemap_config()["url"] == ""


def test_check_command_prints_the_warning(settings, capsys):
    from django.core.management import call_command

    settings.GISGRID_BASEMAP_URL = "http://127.0.0.1:1/{z}/{x}.png"
    call_command("check")
    err = capsys.readouterr().err
    assert "gisgrid.W101" in err and "{y}" in err


# ---- in the browser ----------------------------------------------------------------------------------

@pytest.mark.browser
def test_gcj02_basemap_puts_the_grids_onto_its_streets(browser, live_server, heyang_live, settings, tile_server):
    settings.GISGRID_BASEMAP_URL = tile_server.url + "/amap/{z}/{x}/{y}.png"
    settings.GISGRID_BASEMAP_DATUM = "gcj02"
    settings.GISGRID_BASEMAP_ATTRIBUTION = "测试底图 <b>x</b>"
    context, pg = _page(browser, live_server)
    try:
        pg.goto(live_server.url + "/map/", wait_until="domcontentloaded")
        pg.wait_for_function("document.documentElement.dataset.mapReady === '1'")
        got = pg.evaluate("""() => {
            const f = gisgrid.state[1].features.find(f => f.properties.name === '城关街道');
            const g = f.geometry;
            const ring = g.type === 'MultiPolygon' ? g.coordinates[0][0] : g.coordinates[0];
            const layer = f.__layer;
            let drawn = layer.getLatLngs();
            while (Array.isArray(drawn[0])) drawn = drawn[0];
            const m = gisgrid.map;
            const c = m.getContainer();
            return {vertex: ring[0], drawn: [drawn[0].lng, drawn[0].lat],
                    datum: c.dataset.basemapDatum, noBasemap: c.classList.contains('no-basemap'),
                    tiles: document.querySelectorAll('img.leaflet-tile').length,
                    attribution: document.querySelector('.leaflet-control-attribution').textContent,
                    back: m.fromMap(m.toMap(ring[0][0], ring[0][1]))};
        }""")
        vertex = got["vertex"]  # WGS-84, as the API sent it
        glon, glat = (float(v) for v in datums.wgs84_to_gcj02(vertex[0], vertex[1]))
        m_lat = 111_320.0
        m_lon = m_lat * np.cos(np.radians(vertex[1]))
        off_gcj = np.hypot((got["drawn"][0] - glon) * m_lon, (got["drawn"][1] - glat) * m_lat)
        off_wgs = np.hypot((got["drawn"][0] - vertex[0]) * m_lon, (got["drawn"][1] - vertex[1]) * m_lat)
        assert off_gcj < 0.5, f"the vertex is drawn {off_gcj:.2f} m from its GCJ-02 position"
        assert off_wgs > 100, "the vertex is drawn unshifted"
        back = np.hypot((got["back"][0] - vertex[0]) * m_lon, (got["back"][1] - vertex[1]) * m_lat)
        assert back < 0.01
        assert got["datum"] == "gcj02" and not got["noBasemap"] and got["tiles"] > 0
        assert "测试底图 <b>x</b>" in got["attribution"]  # shown as text
        pg.wait_for_function("document.querySelectorAll('img.leaflet-tile-loaded').length > 0")
        assert tile_server.asked and all(p.startswith("/amap/") for p in tile_server.asked)

        # The locate pin: the API's WGS-84 answer is drawn at its GCJ-02 position too.
        point = (110.1449, 35.2385)
        pg.evaluate("([lon, lat]) => gisgrid.locate({lon, lat, crs: 'wgs84'})", list(point))
        pg.wait_for_function("document.getElementById('locate-panel').dataset.state === 'done'")
        pin = pg.evaluate("(() => { const p = gisgrid.marker().getLatLng(); return [p.lng, p.lat]; })()")
        plon, plat = (float(v) for v in datums.wgs84_to_gcj02(*point))
        assert abs(pin[0] - plon) < 1e-7 and abs(pin[1] - plat) < 1e-7
        assert not pg.errors, pg.errors
    finally:
        context.close()


@pytest.mark.browser
def test_malformed_basemap_page_still_draws_the_grids(browser, live_server, heyang_live, settings, tile_server):
    settings.GISGRID_BASEMAP_URL = tile_server.url + "/tiles/{z}/{x}.png"  # no {y}
    settings.GISGRID_BASEMAP_DATUM = "gcj02"
    assert any("{y}" in m for m in _basemap_warnings())
    context, pg = _page(browser, live_server)
    try:
        pg.goto(live_server.url + "/map/", wait_until="domcontentloaded")
        pg.wait_for_function("document.documentElement.dataset.mapReady === '1'")
        assert pg.locator("#count-1").get_attribute("data-count") == str(LEVEL1_COUNT)
        assert pg.locator(".leaflet-overlay-pane path, .leaflet-pane path").count() > LEVEL1_COUNT
        state = pg.evaluate("""() => {
            const c = gisgrid.map.getContainer();
            const f = gisgrid.state[1].features[0];
            const g = f.geometry;
            const ring = g.type === 'MultiPolygon' ? g.coordinates[0][0] : g.coordinates[0];
            let drawn = f.__layer.getLatLngs();
            while (Array.isArray(drawn[0])) drawn = drawn[0];
            return {noBasemap: c.classList.contains('no-basemap'), datum: c.dataset.basemapDatum,
                    vertex: ring[0], drawn: [drawn[0].lng, drawn[0].lat]};
        }""")
        # Without a basemap nothing is shifted: the polygons alone, in WGS-84.
        assert state["noBasemap"] and state["datum"] == "wgs84"
        assert state["drawn"] == pytest.approx(state["vertex"], abs=1e-12)
        assert tile_server.asked == []
        assert not pg.errors, pg.errors
    finally:
        context.close()
