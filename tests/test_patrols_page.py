"""The /patrols/ page (巡查覆盖) in a real browser, against live_server, with a real patrol.

The demo inspector is linked to an inspector Person whose phone walks a straight line well
inside one urban level-3 grid earlier this week, ingested through the real pipeline. A
dispatcher then opens the page: the grid is drawn in a visited colour and is missing from the
unvisited list, the inspector is in the people table, a click replays the track, the slider
moves the marker. Planners get the 403 message; a name made of HTML stays text.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from zoneinfo import ZoneInfo

import pytest
import shapely

from tests.test_map_page import assert_only_own_server, page  # noqa: F401 (the page fixture)

TZ = ZoneInfo("Asia/Shanghai")
EVIL = '<img src=x onerror=alert(1)>'
WALK_FIXES = 12
WALK_STEP_M = 8.0


def walk_in_an_urban_grid():
    """An urban level-3 grid and a straight walk (WGS-84 lon/lat) at least 40 m inside it, so
    the track and its 30 m coverage radius touch no other grid."""
    from django.db.models import Q

    from gisgrid.boundaries import editions, geometry
    from gisgrid.boundaries.models import Grid

    grids = (Grid.objects.filter(edition=editions.active_edition(), level=3)
             .filter(Q(urban=True) | Q(parent__urban=True)).order_by("code"))
    length = WALK_STEP_M * (WALK_FIXES - 1)
    for g in grids:
        inner = geometry.to_metric(geometry.from_geos(g.geom)).buffer(-40)
        if inner.is_empty:
            continue
        p = inner.point_on_surface()
        for angle in (0, 90, 45, 135):
            dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
            line = shapely.LineString([(p.x - dx * length / 2, p.y - dy * length / 2),
                                       (p.x + dx * length / 2, p.y + dy * length / 2)])
            if line.within(inner):
                pts = [line.interpolate(i / (WALK_FIXES - 1), normalized=True) for i in range(WALK_FIXES)]
                wgs = [geometry.from_metric(q) for q in pts]
                return g, [(q.x, q.y) for q in wgs]
    raise AssertionError("no urban level-3 grid wide enough for the walk")


def walk_times(n: int) -> list[dt.datetime]:
    """n fix times this week (Monday 00:00 county time on) and in the past: from 20 min ago,
    10 s apart; early on a Monday from Monday 00:00, closer together, ending 5 s ago at most."""
    now = dt.datetime.now(TZ)
    monday = (now - dt.timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    room = (now - monday).total_seconds() - 6
    if room < 1.5 * (n - 1):  # the first seconds of a week: wait until the fixes fit (ingest wants ≥ 1 s apart)
        time.sleep(1.5 * (n - 1) - room)
        now = dt.datetime.now(TZ)
    end = now - dt.timedelta(seconds=5)
    start = max(monday + dt.timedelta(seconds=1), now - dt.timedelta(minutes=20))
    step = min(10.0, (end - start).total_seconds() / (n - 1))
    return [start + dt.timedelta(seconds=step * i) for i in range(n)]


def seed_patrol(name: str | None = None):
    """Link the demo user `inspector` to an inspector Person (renamed to `name` if given), give
    them a phone and ingest the walk; the grid, the person and the walk's lon/lat."""
    from django.contrib.auth.models import User

    from gisgrid.boundaries.models import Person
    from gisgrid.patrols.ingest import auth, pipeline
    from gisgrid.patrols.ingest.records import Fix
    from gisgrid.patrols.models import Device

    grid, walk = walk_in_an_urban_grid()
    person = Person.objects.filter(role="inspector").order_by("pk").first()
    person.user = User.objects.get(username="inspector")
    if name is not None:
        person.name = name
    person.save()
    device = Device(identifier="insp-page-phone", person=person)
    auth.set_token(device)
    device.save()
    times = walk_times(len(walk))
    fixes = [Fix(device.identifier, lat, lon, t, accuracy=5.0, battery=80.0)
             for (lon, lat), t in zip(walk, times, strict=True)]
    result = pipeline.ingest(fixes, {device.identifier: device}, source="batch")
    assert result.accepted == len(fixes), result.as_dict()
    return grid, person, walk


def urban_level3_count() -> int:
    from django.db.models import Q

    from gisgrid.boundaries import editions
    from gisgrid.boundaries.models import Grid

    return (Grid.objects.filter(edition=editions.active_edition(), level=3)
            .filter(Q(urban=True) | Q(parent__urban=True)).count())


def login(pg, live_server, username):
    pg.goto(live_server.url + "/patrols/")
    pg.wait_for_url(re.compile(r".*/accounts/login/\?next=/patrols/$"))
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", f"{username}-demo")
    pg.click("button.primary")
    pg.wait_for_url(re.compile(r".*/patrols/$"))


def wait_coverage(pg):
    """Until the page's coverage answer is drawn (or its error shown); then no request in flight."""
    pg.wait_for_function("document.documentElement.dataset.coverage")
    assert pg.evaluate("document.documentElement.dataset.coverage") != "error", pg.locator("#status").inner_text()
    pg.wait_for_function("document.documentElement.dataset.schedule")


def open_patrols(pg, live_server, username="dispatcher"):
    login(pg, live_server, username)
    pg.wait_for_function("document.documentElement.dataset.patrolsReady === '1'")
    wait_coverage(pg)


def marker_state(pg):
    return pg.evaluate(
        """() => {
            const m = gisgridPatrols.replay.marker, ll = m.getLatLng(), r = m.getElement().getBoundingClientRect();
            return {lat: ll.lat, lng: ll.lng, x: r.left + r.width / 2, y: r.top + r.height / 2,
                    t: document.getElementById('replay-time').textContent};
        }"""
    )


@pytest.mark.browser
def test_dispatcher_sees_coverage_people_live_and_replays_a_track(page, live_server):  # noqa: F811
    grid, person, walk = seed_patrol()
    total = urban_level3_count()
    open_patrols(page, live_server)
    assert "巡查覆盖" in page.title()
    assert page.locator("#period-week").get_attribute("aria-pressed") == "true"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T00:00", page.input_value("#period-start"))

    # The walked grid: drawn in a visited colour (not the red of 未巡查), in no unvisited list.
    path = page.locator(f"path[data-code='{grid.code}']")
    assert path.count() == 1
    assert path.get_attribute("data-coverage") != "none"
    fill = path.get_attribute("fill")
    assert fill == page.evaluate(f"gisgridPatrols.colorFor(gisgridPatrols.state.rows['{grid.code}'])")
    assert fill != page.evaluate("gisgridPatrols.colors.none.fill")
    assert page.locator(f"#unvisited-list [data-code='{grid.code}']").count() == 0
    assert page.locator(f"#schedule-unmet [data-code='{grid.code}']").count() == 0
    assert page.locator("#count-total").get_attribute("data-count") == str(total)
    assert page.locator("#count-visited").get_attribute("data-count") == "1"
    assert page.locator("#count-unvisited").get_attribute("data-count") == str(total - 1)
    assert page.locator("#unvisited-list button.grid-link").count() == total - 1
    assert page.locator("path[data-coverage='none']").count() == total - 1
    assert page.locator("#schedule-summary").get_attribute("data-met") == "1"

    # The popup of the grid names the inspector.
    page.evaluate(f"gisgridPatrols.state.byCode['{grid.code}'].openPopup()")
    popup = page.locator(".leaflet-popup-content .grid-popup")
    popup.wait_for()
    assert popup.locator(".grid-popup-name").inner_text() == grid.name
    assert person.name in popup.inner_text() and "已巡查" in popup.inner_text()

    # A click in the unvisited list zooms to that grid.
    first = page.locator("#unvisited-list button.grid-link").first
    code = first.get_attribute("data-code")
    first.click()
    page.wait_for_function(f"gisgridPatrols.state.highlighted === gisgridPatrols.state.byCode['{code}']")

    # People: the inspector, one grid, a distance.
    row = page.locator("#people-body tr", has=page.locator("button.person-link", has_text=person.name))
    assert row.count() == 1
    assert row.locator(".person-role").inner_text() == "专职巡查员"
    assert row.locator(".person-grids").inner_text() == "1"
    assert float(row.locator(".person-km").inner_text()) == pytest.approx(WALK_STEP_M * (WALK_FIXES - 1) / 1000,
                                                                            abs=0.011)

    # CSV downloads carry the session: the walked grid is a visited row.
    csv_text = page.request.get(page.eval_on_selector("#csv-coverage", "a => a.href")).text()
    assert [line for line in csv_text.splitlines() if line.startswith(grid.code + ",")][0].split(",")[2] == "1"
    assert page.request.get(page.eval_on_selector("#csv-schedule", "a => a.href")).ok

    # Live: the inspector's last position, labelled with the name.
    page.wait_for_function("Number(document.documentElement.dataset.live) >= 1")
    assert page.locator(".leaflet-tooltip.live-label", has_text=person.name).count() == 1

    # Replay: the track is drawn, the slider moves the marker from the first fix to the last.
    row.locator("button.person-link").click()
    page.wait_for_function(f"document.documentElement.dataset.track === '{person.pk}:{WALK_FIXES}'")
    assert page.locator("#replay").is_visible()
    assert page.locator("#replay-name").inner_text().startswith(person.name)
    assert page.locator(".leaflet-track-pane path").count() >= 1  # the polyline
    slider = page.locator("#replay-slider")
    assert slider.is_enabled()
    start = marker_state(page)
    assert start["lng"] == pytest.approx(walk[0][0], abs=1e-6) and start["lat"] == pytest.approx(walk[0][1], abs=1e-6)
    slider.focus()
    page.keyboard.press("End")
    page.wait_for_function("t => document.getElementById('replay-time').textContent !== t", arg=start["t"])
    end = marker_state(page)
    assert end["lng"] == pytest.approx(walk[-1][0], abs=1e-6) and end["lat"] == pytest.approx(walk[-1][1], abs=1e-6)
    assert math.hypot(end["x"] - start["x"], end["y"] - start["y"]) > 5  # the pin moved on screen
    # Half way through: between the ends.
    page.evaluate("""() => { const s = document.getElementById('replay-slider');
                             s.value = String((Number(s.min) + Number(s.max)) / 2);
                             s.dispatchEvent(new Event('input')); }""")
    mid = marker_state(page)
    assert min(walk[0][0], walk[-1][0]) - 1e-7 <= mid["lng"] <= max(walk[0][0], walk[-1][0]) + 1e-7
    assert (mid["lng"], mid["lat"]) not in ((start["lng"], start["lat"]), (end["lng"], end["lat"]))

    # A period longer than replay allows: the API's message is shown, not swallowed.
    week_end = page.input_value("#period-end")
    ten_days = (dt.datetime.fromisoformat(week_end) - dt.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#period-start", ten_days)
    page.click("#period-apply")
    wait_coverage(page)
    page.wait_for_function("document.documentElement.dataset.track === 'error'")
    error = page.locator("#replay-error")
    assert error.is_visible() and "7 天" in error.inner_text()

    # 上周: nobody walked then.
    page.click("#period-last-week")
    wait_coverage(page)
    assert page.locator("#count-visited").get_attribute("data-count") == "0"
    assert page.locator(f"#unvisited-list [data-code='{grid.code}']").count() == 1
    page.wait_for_function(f"document.documentElement.dataset.track === '{person.pk}:0'")
    assert "没有轨迹" in page.locator("#replay-info").inner_text()

    page.click("#period-week")
    wait_coverage(page)
    page.wait_for_function(f"document.documentElement.dataset.track === '{person.pk}:{WALK_FIXES}'")
    page.screenshot(path="/tmp/patrols.png")
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_names_are_shown_as_text_never_as_html(page, live_server):  # noqa: F811
    evil = "巡查员" + EVIL + "<b>x</b>"
    grid, person, _ = seed_patrol(name=evil)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_patrols(page, live_server)

    button = page.locator("#people-body button.person-link").first
    assert button.inner_text() == evil
    page.wait_for_function("Number(document.documentElement.dataset.live) >= 1")
    assert page.locator(".leaflet-tooltip.live-label .live-name").first.inner_text() == evil
    page.evaluate(f"gisgridPatrols.state.byCode['{grid.code}'].openPopup()")
    page.locator(".leaflet-popup-content .grid-popup").wait_for()
    assert evil in page.locator(".leaflet-popup-content").inner_text()
    button.click()
    page.wait_for_function(f"document.documentElement.dataset.track === '{person.pk}:{WALK_FIXES}'")
    assert page.locator("#replay-name").inner_text().startswith(evil)

    # None of it became markup: no <img>, no <b> anywhere in the page, no alert.
    assert page.locator("img[src='x'], #panel b, #replay b, .leaflet-pane b").count() == 0
    page.wait_for_timeout(300)  # an <img src=x> would have fired onerror by now
    assert dialogs == []
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_grid_member_row_shows_whether_they_walked_their_own_grid(page, live_server):  # noqa: F811
    from gisgrid.boundaries.models import Grid, GridAssignment, Person
    from gisgrid.patrols.ingest import auth, pipeline
    from gisgrid.patrols.ingest.records import Fix
    from gisgrid.patrols.models import Device

    own = Grid.objects.get(edition__status="active", code="610524001018")  # 泰山社区, level 2
    member = Person.objects.filter(role="grid_member", assignments__grid_code=own.code).order_by("pk").first()
    served = GridAssignment.objects.filter(person=member).count()
    device = Device(identifier="member-page-phone", person=member)
    auth.set_token(device)
    device.save()
    p = own.geom.point_on_surface
    times = walk_times(WALK_FIXES)
    fixes = [Fix(device.identifier, p.y, p.x + i * 5e-5, t) for i, t in enumerate(times)]
    assert pipeline.ingest(fixes, {device.identifier: device}, source="batch").accepted == WALK_FIXES
    open_patrols(page, live_server)

    row = page.locator(f"#people-body tr[data-person-id='{member.pk}']")
    badge = row.locator(".own-grids")
    assert badge.inner_text() == f"本人网格 1/{served}"  # walked the one, not any other they serve
    assert ("own-ok" if served == 1 else "own-miss") in badge.get_attribute("class").split()
    assert "✓ " + own.name in badge.get_attribute("title")
    assert not page.errors, page.errors


@pytest.mark.browser
def test_planner_gets_the_403_message(page, live_server):  # noqa: F811
    login(page, live_server, "planner")
    assert page.locator("h1").inner_text() == "无权查看巡查覆盖"
    assert "巡查轨迹属于个人信息" in page.locator(".forbidden").inner_text()
    assert page.locator("#map").count() == 0
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)


def test_patrols_page_access(client, heyang_db):
    from django.contrib.auth.models import User

    from gisgrid.boundaries.models import Person

    response = client.get("/patrols/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/patrols/"
    for username in ("unitstaff", "planner", "gridmember"):  # the grid member is linked to no Person yet
        assert client.login(username=username, password=f"{username}-demo")
        response = client.get("/patrols/")
        assert response.status_code == 403, username
        assert "无权查看巡查覆盖" in response.content.decode()
        assert 'id="patrols-config"' not in response.content.decode()
    member = Person.objects.filter(role="grid_member").order_by("pk").first()
    member.user = User.objects.get(username="gridmember")
    member.save()
    for username in ("gridmember", "dispatcher", "gridchief", "inspector", "admin"):
        assert client.login(username=username, password=f"{username}-demo")
        response = client.get("/patrols/")
        assert response.status_code == 200, username
        html = response.content.decode()
        assert 'id="patrols-config"' in html
        # A grid member's page shows their own patrols only (and no inspectors' duty).
        assert ('"scope": "self"' in html) == (username == "gridmember"), username


def test_map_links_to_patrols_for_patrol_roles_only(client, heyang_db):
    assert "/patrols/" not in client.get("/map/").content.decode()
    assert client.login(username="planner", password="planner-demo")
    assert "/patrols/" not in client.get("/map/").content.decode()
    assert client.login(username="dispatcher", password="dispatcher-demo")
    assert 'href="/patrols/"' in client.get("/map/").content.decode()


def test_patrols_page_in_english(client, heyang_db):
    from django.conf import settings

    assert client.login(username="dispatcher", password="dispatcher-demo")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/patrols/").content.decode()
    assert "Patrol coverage" in html and "Track replay" in html and "Last week" in html
    # Every UI string is translated: the only Chinese left is the language switch's own name.
    assert re.findall(r"[\u4e00-\u9fff]+", html) == ["中文"]
    assert client.login(username="planner", password="planner-demo")
    html = client.get("/patrols/").content.decode()
    assert "No access to patrol coverage" in html
