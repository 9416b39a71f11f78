"""The shared front-end core (frontend/static/gisgrid/core/) in a real browser.

The modules are imported into a served page (/map/) with dynamic import(), as the pages do
with <script type="module">: ApiError from a real 4xx of our API, the formatters in Chinese
and English (county time whatever the browser's zone), datum.js against the Python transform
on a grid of points over the county, and every module's imports resolving after collectstatic.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse

from gisgrid.boundaries import datums
from tests.test_map_page import assert_only_own_server

TIMEOUT_MS = 20_000
# Heyang's extent (WGS-84), a little wider than the county outline.
BBOX = (109.95, 35.05, 110.45, 35.45)


def _page(browser, live_server, language: str, timezone_id: str = "America/New_York"):
    # A browser in New York: the formatters must still show Asia/Shanghai time.
    context = browser.new_context(locale="zh-CN" if language == "zh-hans" else "en-US", timezone_id=timezone_id)
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    pg.requests, pg.errors = [], []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(live_server.url + "/map/")
    pg.wait_for_function("document.documentElement.dataset.mapReady === '1'")
    return context, pg


FORMATS_JS = """async () => {
    const f = await import('/static/gisgrid/core/format.js');
    return {
        lang: f.pageLang(),
        area: [f.formatArea(7.25), f.formatArea(850), f.formatArea(9999.4), f.formatArea(234567),
               f.formatArea(1500000), f.formatArea(-23456), f.formatArea(null)],
        distance: [f.formatDistance(3.21), f.formatDistance(850), f.formatDistance(1250)],
        duration: [f.formatDuration(45), f.formatDuration(720), f.formatDuration(7500)],
        age: [f.formatAge(2), f.formatAge(40), f.formatAge(180), f.formatAge(5 * 3600), f.formatAge(3 * 86400)],
        time: [f.formatTime('2026-12-01T06:05:09Z'), f.formatTime(Date.UTC(2026, 11, 31, 16, 30), {seconds: true}),
               f.formatTime('2026-12-01T06:05:09Z', {year: false}), f.formatTime('2026-12-01T20:00:00Z', {time: false})],
        browserHour: new Date('2026-12-01T06:05:09Z').getHours(),
        percent: [f.formatPercent(0.853), f.formatPercent(0.004), f.formatPercent(1)],
        escaped: f.escapeHtml('<b title="x">&\\'</b>'),
    };
}"""


@pytest.mark.browser
def test_formatters_in_chinese(browser, live_server, heyang_live):
    context, pg = _page(browser, live_server, "zh-hans")
    try:
        r = pg.evaluate(FORMATS_JS)
        assert r["lang"] == "zh"
        assert r["area"] == ["7.3 m²", "850 m²", "9,999 m²", "23.46 公顷", "1.5 km²", "-2.35 公顷", ""]
        assert r["distance"] == ["3.2 m", "850 m", "1.25 km"]
        assert r["duration"] == ["45 秒", "12 分钟", "2 小时 5 分钟"]
        assert r["age"] == ["刚刚", "40 秒前", "3 分钟前", "5 小时前", "3 天前"]
        assert r["browserHour"] == 1  # the browser really is in New York (06:05Z = 01:05 EST)
        assert r["time"] == ["2026-12-01 14:05", "2027-01-01 00:30:00", "12-01 14:05", "2026-12-02"]
        assert r["percent"] == ["85%", "0.4%", "100%"]
        assert r["escaped"] == "&lt;b title=&quot;x&quot;&gt;&amp;&#39;&lt;/b&gt;"
        assert not pg.errors, pg.errors
        assert_only_own_server(pg, live_server)
    finally:
        context.close()


@pytest.mark.browser
def test_formatters_in_english(browser, live_server, heyang_live):
    context, pg = _page(browser, live_server, "en", timezone_id="UTC")
    try:
        r = pg.evaluate(FORMATS_JS)
        assert r["lang"] == "en"
        assert r["area"] == ["7.3 m²", "850 m²", "9,999 m²", "23.46 ha", "1.5 km²", "-2.35 ha", ""]
        assert r["duration"] == ["45 s", "12 min", "2 h 5 min"]
        assert r["age"] == ["just now", "40 s ago", "3 min ago", "5 h ago", "3 d ago"]
        assert r["time"] == ["2026-12-01 14:05", "2027-01-01 00:30:00", "12-01 14:05", "2026-12-02"]
        assert r["percent"] == ["85%", "0.4%", "100%"]
    finally:
        context.close()


@pytest.mark.browser
def test_api_error_from_a_real_4xx(browser, live_server, heyang_live):
    context, pg = _page(browser, live_server, "en")
    try:
        r = pg.evaluate("""async ([locate, editions]) => {
            const {api, apiUrl, ApiError} = await import('/static/gisgrid/core/api.js');
            const {showError} = await import('/static/gisgrid/core/messages.js');
            const out = {url: apiUrl(locate, {lon: 110.1, lat: 35.2, crs: 'wgs84', x: null, y: ''})};
            try { await api(locate, {params: {lon: 'abc', lat: 35.2}}); out.bad = 'no error'; }
            catch (e) {
                out.bad = {isApiError: e instanceof ApiError, isError: e instanceof Error, status: e.status,
                           code: e.code, field: e.field, bodyError: e.body.error, detail: e.detail};
                const area = document.createElement('div');
                document.body.appendChild(area);
                showError(area, e);
                out.shown = {text: area.textContent, code: area.dataset.errorCode, field: area.dataset.errorField};
            }
            try { await api(editions, {method: 'POST', body: {name: 'x'}}); out.post = 'no error'; }
            catch (e) { out.post = {status: e.status, code: e.code, bodyError: e.body.error}; }
            try { await api('http://127.0.0.1:9/nothing'); out.net = 'no error'; }
            catch (e) { out.net = {status: e.status, code: e.code, isApiError: e instanceof ApiError}; }
            out.ok = (await api(locate, {params: {lon: 110.1449, lat: 35.2385}})).status;
            return out;
        }""", [reverse("locate"), reverse("edition-list")])
        assert r["url"] == reverse("locate") + "?lon=110.1&lat=35.2&crs=wgs84"
        bad = r["bad"]
        assert bad["isApiError"] and bad["isError"] and bad["status"] == 400
        assert bad["code"] == bad["bodyError"] == "invalid" and bad["field"] == "lon"
        assert r["shown"]["code"] == "invalid" and r["shown"]["field"] == "lon"
        assert r["shown"]["text"].startswith("lon: ")
        assert r["post"]["status"] in (401, 403) and r["post"]["code"] == r["post"]["bodyError"]
        assert r["net"] == {"status": 0, "code": "network", "isApiError": True}
        assert r["ok"] in ("inside", "blind_spot", "outside")
    finally:
        context.close()


@pytest.mark.browser
def test_datum_js_agrees_with_python(browser, live_server, heyang_live):
    lons, lats = np.meshgrid(np.linspace(BBOX[0], BBOX[2], 21), np.linspace(BBOX[1], BBOX[3], 21))
    pts = [[float(x), float(y)] for x, y in zip(lons.ravel(), lats.ravel(), strict=True)]
    arr = np.array(pts)
    py = {
        "gcj": np.column_stack(datums.wgs84_to_gcj02(arr[:, 0], arr[:, 1])),
        "bd": np.column_stack(datums.wgs84_to_bd09(arr[:, 0], arr[:, 1])),
        "gcjBack": np.column_stack(datums.gcj02_to_wgs84(arr[:, 0], arr[:, 1])),
        "bdBack": np.column_stack(datums.bd09_to_wgs84(arr[:, 0], arr[:, 1])),
    }
    context, pg = _page(browser, live_server, "zh-hans")
    try:
        js = pg.evaluate("""async (pts) => {
            const d = await import('/static/gisgrid/core/datum.js');
            return {gcj: pts.map(p => d.fromWgs84(p[0], p[1], 'gcj02')), bd: pts.map(p => d.fromWgs84(p[0], p[1], 'bd09')),
                    gcjBack: pts.map(p => d.toWgs84(p[0], p[1], 'gcj02')), bdBack: pts.map(p => d.toWgs84(p[0], p[1], 'bd09')),
                    cgcs: d.fromWgs84(110.1, 35.2, 'cgcs2000')};
        }""", pts)
    finally:
        context.close()
    assert js["cgcs"] == [110.1, 35.2]
    m_per_deg = 111_320.0
    for key, expected in py.items():
        got = np.array(js[key])
        dx = (got[:, 0] - expected[:, 0]) * m_per_deg * math.cos(math.radians(35.25))
        dy = (got[:, 1] - expected[:, 1]) * m_per_deg
        worst = float(np.max(np.hypot(dx, dy)))
        assert worst < 0.5, f"{key}: JS and Python differ by {worst:.3f} m"
    # And the shift is real (hundreds of metres here), so agreeing is not agreeing on nothing.
    shift = np.hypot((py["gcj"][:, 0] - arr[:, 0]) * m_per_deg * math.cos(math.radians(35.25)),
                     (py["gcj"][:, 1] - arr[:, 1]) * m_per_deg)
    assert shift.min() > 100


IMPORT = re.compile(r"""(?:^|\n)\s*(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)""")


def test_module_imports_resolve_after_collectstatic(tmp_path, settings):
    """Every relative import of every module under gisgrid/ names a file collectstatic wrote."""
    settings.STATIC_ROOT = str(tmp_path / "static")
    call_command("collectstatic", "--noinput", "-v", "0")
    root = tmp_path / "static" / "gisgrid"
    modules = [p for p in root.rglob("*.js") if "import " in p.read_text(encoding="utf-8")
               or "export " in p.read_text(encoding="utf-8")]
    assert any(p.parent.name == "core" for p in modules)
    assert any(p.parent.name == "cases" for p in modules)  # the case pages' modules are checked too
    missing = []
    for path in modules:
        for m in IMPORT.finditer(path.read_text(encoding="utf-8")):
            spec = m.group(1) or m.group(2)
            if not spec.startswith("."):
                missing.append(f"{path.relative_to(root)}: bare or absolute import {spec!r}")
                continue
            if not (path.parent / spec).resolve().is_file():
                missing.append(f"{path.relative_to(root)}: {spec}")
    assert not missing, missing
