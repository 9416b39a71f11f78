"""The case pages: who may open which, what they are given, English, escaping, and the whole loop
in a real browser (Playwright + Debian's chromium against live_server).

The browser story is the issue's "done when": a grid member files a report with a photo from
the phone page (the browser's position, a camera file); the dispatcher finds it in the queue
with its routing and a running clock, accepts and dispatches it; the unit's staff find the work
order, acknowledge, arrive and complete it with the signed reply; the dispatcher, whose page is
now stale, is told so by the stale_version code and sees the case as it is, verifies and
archives it; every step is in the timeline.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.test import Client
from PIL import Image

from gisgrid.cases import workflow as wf
from gisgrid.cases.factories import reported_case
from gisgrid.cases.models import Case
from tests.test_map_page import assert_only_own_server

PAGES = {"case-queue": "/cases/", "unit-queue": "/cases/unit/", "phone": "/cases/phone/", "inbox-page": "/cases/inbox/"}
SEAT = (110.1449, 35.2385)
EVIL = '<img src=x onerror="window.__pwned=1">'
TIMEOUT_MS = 20_000


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def page_client(username: str | None, language: str | None = None) -> Client:
    c = Client()
    if username:
        c.force_login(User.objects.get(username=username))
    if language:
        c.cookies["django_language"] = language
    return c


def config_of(html: str) -> dict:
    m = re.search(r'<script id="cases-config" type="application/json">(.*?)</script>', html, re.S)
    assert m, "no cases-config in the page"
    return json.loads(m.group(1))


@pytest.mark.parametrize(("name", "url"), PAGES.items())
def test_pages_render_for_their_roles(name, url, heyang_db):
    allowed = {"case-queue": ("dispatcher", "admin", "gridchief"), "unit-queue": ("unitstaff", "dispatcher"),
               "phone": ("gridmember", "inspector"), "inbox-page": ("planner", "unitstaff", "gridmember")}[name]
    refused = {"case-queue": ("unitstaff", "gridmember", "planner"), "unit-queue": ("gridmember", "inspector"),
               "phone": ("unitstaff", "dispatcher", "planner"), "inbox-page": ()}[name]
    for username in allowed:
        r = page_client(username).get(url)
        assert r.status_code == 200, (username, r.status_code)
        html = r.content.decode()
        cfg = config_of(html)
        assert cfg["api"]["cases"] == "/api/v1/cases" and cfg["states"]["reported"] == "待受理"
        assert 'lang="zh-hans"' in html
        assert '<script type="module" src="/static/gisgrid/cases/main.js">' in html
        assert not re.search(r'(src|href)="(https?:)?//', html), "nothing from another host"
        assert "csrftoken" in r.cookies
    for username in refused:
        r = page_client(username).get(url)
        assert r.status_code == 403 and "无权访问此页面" in r.content.decode(), username
    r = page_client(None).get(url)
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/?next=")


def test_case_page_only_for_cases_the_viewer_reads(heyang_db):
    case = reported_case("E0501")
    assert page_client("dispatcher").get(f"/cases/{case.number}/").status_code == 200
    assert page_client("unitstaff").get(f"/cases/{case.number}/").status_code == 404  # not dispatched to it
    assert page_client("dispatcher").get("/cases/HY19990101-0001/").status_code == 404
    d = User.objects.get(username="dispatcher")
    case = wf.dispatch(wf.accept(case, d, version=1), d, version=2)
    r = page_client("unitstaff").get(f"/cases/{case.number}/")
    assert r.status_code == 200
    cfg = config_of(r.content.decode())
    assert cfg["number"] == case.number and cfg["caseApi"] == f"/api/v1/cases/{case.number}"
    assert cfg["canDuplicates"] is False and cfg["isCentre"] is False


def test_pages_in_english(heyang_db):
    html = page_client("dispatcher", "en").get("/cases/").content.decode()
    assert 'lang="en"' in html
    assert "Case queue" in html and "案件队列" not in html
    assert 'data-act-accept="Accept"' in html and 'data-err-stale-version="' in html
    assert config_of(html)["states"]["reported"] == "Reported"
    phone = page_client("gridmember", "en").get("/cases/phone/").content.decode()
    assert "Report a problem" in phone


def test_user_text_is_never_markup_in_a_page(heyang_db):
    """Descriptions and reasons reach pages only through the API's JSON and textContent; the one
    page value from the server (the case number in the config) is JSON-escaped."""
    case = reported_case("E0501", description=EVIL, address=EVIL)
    html = page_client("dispatcher").get(f"/cases/{case.number}/").content.decode()
    assert EVIL not in html and "onerror" not in html
    modules = sorted((Path(__file__).resolve().parent.parent / "frontend/static/gisgrid/cases").glob("*.js"))
    assert {"main.js", "phone.js", "actions.js"} <= {m.name for m in modules}
    for module in modules:
        js = module.read_text(encoding="utf-8")
        assert "innerHTML" not in js and "insertAdjacentHTML" not in js, module.name


# -- the loop in a real browser ----------------------------------------------------------------------

def jpeg_with_gps(lon: float, lat: float) -> bytes:
    img = Image.new("RGB", (640, 480), (60, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "Xiaomi"

    def dms(v: float) -> tuple[float, float, float]:
        d = int(v)
        m = int((v - d) * 60)
        return float(d), float(m), round((v - d - m / 60) * 3600, 4)
    exif[0x8825] = {1: "N", 2: dms(lat), 3: "E", 4: dms(lon)}
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


def open_as(browser, live_server, username: str, path: str, **context):
    ctx = browser.new_context(**{"locale": "zh-CN", "viewport": {"width": 1280, "height": 900}, **context})
    ctx.set_default_timeout(TIMEOUT_MS)
    pg = ctx.new_page()
    pg.requests, pg.errors = [], []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(f"{live_server.url}/accounts/login/?next={path}")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", f"{username}-demo")
    pg.click("button.primary")
    pg.wait_for_url(re.compile(re.escape(path) + "$"))
    return ctx, pg


def wait_ready(pg) -> None:
    pg.wait_for_function("document.documentElement.dataset.casesReady === '1'")


def wait_state(pg, state: str) -> None:
    pg.wait_for_function(f"document.getElementById('c-state').dataset.state === '{state}' && "
                         "document.documentElement.dataset.casesReady === '1'")


def act(pg, action: str, fill=None) -> None:
    pg.click(f"#actions button[data-action={action}]")
    pg.wait_for_selector(f"#action-form[data-action={action}]")
    if fill:
        fill(pg)
    pg.click("#action-form button[type=submit]")


@pytest.mark.browser
def test_a_case_from_the_phone_to_the_archive(browser, live_server, heyang_live, media):
    # 1. The grid member reports from the phone page: position from the browser, a camera photo.
    phone_ctx, phone = open_as(browser, live_server, "gridmember", "/cases/phone/",
                               geolocation={"longitude": SEAT[0], "latitude": SEAT[1], "accuracy": 8},
                               permissions=["geolocation"], viewport={"width": 390, "height": 844})
    phone.wait_for_function("document.getElementById('r-position').dataset.located === '1'")
    phone.wait_for_function("document.querySelectorAll('#r-category option').length > 10")
    phone.select_option("#r-category", "E0501")
    phone.fill("#r-description", EVIL)
    phone.fill("#r-address", "凤凰路口")
    phone.set_input_files("#r-photos", files=[{"name": "IMG_2026.jpg", "mimeType": "image/jpeg",
                                               "buffer": jpeg_with_gps(SEAT[0] + 0.01, SEAT[1])}])
    phone.click("#r-submit")
    phone.wait_for_selector("#report-done:not([hidden])")
    number = phone.locator("#report-done").get_attribute("data-number")
    case = Case.objects.get(number=number)
    assert case.channel == "grid_member" and case.photos.count() == 1
    wait_ready(phone)
    assert phone.locator(f"#mine-list li[data-number='{number}']").count() == 1
    assert not phone.errors, phone.errors
    assert_only_own_server(phone, live_server)
    phone.screenshot(path="/tmp/case-phone.png", full_page=True)
    phone_ctx.close()

    # 2. The dispatcher finds it at the top of the queue with a running clock, opens it.
    d_ctx, d = open_as(browser, live_server, "dispatcher", "/cases/")
    wait_ready(d)
    row = d.locator(f"#queue-body tr[data-number='{number}']")
    assert row.count() == 1
    assert row.locator(".clock-badge").get_attribute("data-clock") == "green"
    d.screenshot(path="/tmp/case-queue.png", full_page=True)
    row.locator("a.case-link").click()
    d.wait_for_url(re.compile(rf"/cases/{number}/$"))
    wait_state(d, "reported")
    assert d.locator("#c-description").inner_text() == EVIL  # text, not markup
    assert d.evaluate("window.__pwned") is None
    assert d.locator("#c-lead").inner_text() == "县城市管理执法局"
    assert d.locator("#k-stage").inner_text() == "派遣时限"
    assert "距上报位置" in d.locator("#photos li.flagged .photo-exif").inner_text()
    d.wait_for_function("(() => { const i = document.querySelector('#photos img');"
                        " return i && i.complete && i.naturalWidth > 0; })()")
    act(d, "accept")
    wait_state(d, "accepted")
    act(d, "dispatch")
    wait_state(d, "dispatched")
    assert d.locator("#orders-body tr").count() >= 1

    # 3. The unit acknowledges, arrives and completes with its signed reply.
    u_ctx, u = open_as(browser, live_server, "unitstaff", "/cases/unit/")
    wait_ready(u)
    u.locator(f"#orders-body tr[data-number='{number}'] a.case-link").click()
    u.wait_for_url(re.compile(rf"/cases/{number}/$"))
    wait_state(u, "dispatched")
    act(u, "acknowledge")
    wait_state(u, "acknowledged")
    act(u, "arrive")
    wait_state(u, "on_site")

    def fill_result(pg):
        pg.fill("#action-form textarea[name=result_text]", "已劝离摊贩，清扫路面")
        pg.set_input_files("#action-form input[name=document]",
                           files=[{"name": "回复函.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 ok"}])
    act(u, "complete", fill_result)
    wait_state(u, "completed")
    assert u.locator("#orders-body a.document").count() == 1
    assert not u.errors, u.errors
    u_ctx.close()

    # 4. The dispatcher's page still shows "dispatched": acting on it is refused as stale, the page
    #    says so and shows the case as it is now; then verify and archive.
    act(d, "pause", lambda pg: pg.fill("#action-form textarea[name=reason]", "等待"))
    d.wait_for_function("document.getElementById('action-error').dataset.code === 'stale_version'")
    wait_state(d, "completed")
    assert "已被他人更新" in d.locator("#action-error").inner_text()
    act(d, "verify")
    wait_state(d, "verified")
    act(d, "archive")
    wait_state(d, "archived")
    actions = d.locator("#timeline li").evaluate_all("items => items.map(i => i.dataset.action)")
    assert actions == ["open", "accept", "dispatch", "acknowledge", "arrive", "complete", "verify", "archive"]
    assert d.locator("#actions button").count() == 0
    d.screenshot(path="/tmp/case-page.png", full_page=True)
    assert not d.errors, d.errors
    assert_only_own_server(d, live_server)
    d_ctx.close()
    case.refresh_from_db()
    assert case.state == "archived" and case.report.status == "closed"


@pytest.mark.browser
def test_a_refusal_to_correct_keeps_the_form_and_deadlines_are_county_time(browser, live_server, heyang_live):
    """A refusal the viewer can correct (invalid: no such case to merge into) leaves the form open
    with the field's reason and the case as it was; deadlines show county time in a browser set
    to New York."""
    case = reported_case("E0501")
    ctx, pg = open_as(browser, live_server, "dispatcher", f"/cases/{case.number}/", timezone_id="America/New_York")
    wait_state(pg, "reported")
    due = case.stage_due.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert pg.locator("#k-stage-due").inner_text().startswith(due + "（剩余 ")
    act(pg, "merge", lambda p: p.fill("#action-form input[name=into]", "HY19990101-0001"))
    pg.wait_for_function("document.getElementById('action-error').dataset.code === 'invalid' && "
                         "document.documentElement.dataset.casesReady === '1'")
    error = pg.locator("#action-error").inner_text()
    assert error.startswith("请检查填写的内容") and "into: " in error
    assert pg.locator("#action-form").is_visible() and pg.locator("#action-form").get_attribute("data-action") == "merge"
    assert pg.locator("#action-form input[name=into]").input_value() == "HY19990101-0001"
    assert pg.locator("#action-form button[type=submit]").is_enabled()
    assert pg.locator("#c-state").get_attribute("data-state") == "reported"
    assert not pg.errors, pg.errors
    ctx.close()


@pytest.mark.browser
def test_inbox_page_marks_notices_read(browser, live_server, heyang_live):
    reported_case("E0501")  # the dispatchers are told (a role notice, delivered after the commit)
    ctx, pg = open_as(browser, live_server, "dispatcher", "/cases/inbox/")
    wait_ready(pg)
    assert pg.locator("#inbox-list li.unread").count() >= 1
    pg.wait_for_function("!document.getElementById('nav-unread').hidden")
    pg.click("#read-all")
    pg.wait_for_function("document.querySelectorAll('#inbox-list li.unread').length === 0")
    pg.wait_for_function("document.getElementById('nav-unread').hidden")
    assert not pg.errors, pg.errors
    ctx.close()


def test_every_template_string_has_its_english():
    """The case templates' {% translate %} strings are all in gisgrid/open311/locale/en (the app
    catalog the pages use), translated, and the committed .mo is that .po compiled."""
    import gettext

    from tests.test_i18n import parse_po

    root = Path(__file__).resolve().parent.parent
    po = root / "gisgrid/open311/locale/en/LC_MESSAGES/django.po"
    found = set()
    for template in (root / "gisgrid/cases/templates/cases").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        found |= {m[1] for m in re.findall(r'{%\s*translate\s+(["\'])(.*?)\1', text)}
    entries = parse_po(po)
    assert sorted(found - {e["msgid"] for e in entries}) == []
    assert not [e["msgid"] for e in entries if e["msgid"] and not e.get("msgstr", "").strip()]
    assert not [e["msgid"] for e in entries if re.search(r"[\u4e00-\u9fff]", e.get("msgstr", ""))]
    with po.with_suffix(".mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    stale = {e["msgid"]: e["msgstr"] for e in entries if e["msgid"] and (
        compiled.pgettext(e["msgctxt"], e["msgid"]) if "msgctxt" in e else compiled.gettext(e["msgid"])) != e["msgstr"]}
    assert stale == {}
