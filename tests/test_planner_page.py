"""The /planner/ page (网格规划) in a real browser, driven as a planner would drive it.

Debian's chromium through Playwright against live_server (see test_map_page.py). The main
scenario logs in through the login form, creates a draft, draws a piece across the shared edge
of two neighbouring villages by clicking map pixels, assigns it, validates, publishes, and then
asks the locate service (in Python) who answers for a point inside the piece.
"""

from __future__ import annotations

import re

import pytest
import shapely

from tests.test_map_page import assert_only_own_server, page  # noqa: F401 (the page fixture)

PIECE_HALF_M = 60  # the drawn square is 120 m wide: ~120 px at zoom 17, far beyond the snap distance
DRAW_ZOOM = 17


def _metric(geom):
    from gisgrid.boundaries import geometry

    return geometry.to_metric(geom)


def _wgs(geom):
    from gisgrid.boundaries import geometry

    return geometry.from_metric(geom)


def neighbouring_villages():
    """Two childless level-2 villages of one town sharing a long straight edge, and a square
    (WGS-84) of 2*PIECE_HALF_M metres centred on that edge, lying inside the two villages."""
    from gisgrid.boundaries import editions, geometry
    from gisgrid.boundaries.models import Grid

    active = editions.active_edition()
    rows = list(Grid.objects.filter(edition=active, level=2).select_related("parent")
                .filter(children__isnull=True).order_by("code"))
    by_parent: dict[str, list] = {}
    for g in rows:
        by_parent.setdefault(g.parent.code, []).append((g, _metric(geometry.from_geos(g.geom))))
    best = None
    for items in by_parent.values():
        for i, (a, ga) in enumerate(items):
            for b, gb in items[i + 1:]:
                if not ga.touches(gb) and not ga.intersects(gb):
                    continue
                shared = shapely.line_merge(shapely.intersection(ga.boundary, gb.boundary))
                for part in shapely.get_parts(shared):
                    if part.geom_type != "LineString":
                        continue
                    # The longest straight segment of the shared edge.
                    coords = list(part.coords)
                    for p, q in zip(coords, coords[1:], strict=False):
                        seg = shapely.LineString([p, q])
                        if best is None or seg.length > best[0]:
                            mid = seg.interpolate(0.5, normalized=True)
                            square = shapely.box(mid.x - PIECE_HALF_M, mid.y - PIECE_HALF_M,
                                                 mid.x + PIECE_HALF_M, mid.y + PIECE_HALF_M)
                            if not square.within(shapely.union(ga, gb).buffer(-1)):
                                continue
                            best = (seg.length, a, b, ga, gb, square)
    assert best, "no two neighbouring villages found"
    _, a, b, ga, gb, square = best
    b_side = shapely.intersection(square, gb)
    probe = _wgs(b_side.representative_point())
    a_side = _wgs(shapely.intersection(square, ga).representative_point())
    b_inside = _wgs(gb.representative_point().buffer(20))
    return {"a": a, "b": b, "square": _wgs(square), "probe": probe, "a_point": a_side, "b_inside": b_inside}


def container_points(pg, latlngs):
    """Viewport pixels of WGS-84 points, via the planner's exposed Leaflet map."""
    return pg.evaluate(
        """(latlngs) => {
            const m = gisgridPlanner.map;
            const r = m.getContainer().getBoundingClientRect();
            return latlngs.map(([lat, lng]) => {
                const p = m.latLngToContainerPoint([lat, lng]);
                return [r.left + p.x, r.top + p.y];
            });
        }""",
        latlngs,
    )


def wait_idle(pg):
    pg.wait_for_function("document.documentElement.dataset.busy === '0'")


def login(pg, live_server, username, password):
    pg.goto(live_server.url + "/planner/")
    pg.wait_for_url(re.compile(r".*/accounts/login/\?next=/planner/$"))
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", password)
    pg.click("button.primary")


def draw_square(pg, square):
    """Click the square's corners on the map, then its first corner again to close it."""
    corners = [[lat, lon] for lon, lat in list(square.exterior.coords)[:4]]
    pts = container_points(pg, corners)
    pg.click("#tool-assign")
    for x, y in pts:
        pg.mouse.click(x, y)
        pg.wait_for_timeout(80)
    pg.mouse.click(*pts[0])
    pg.locator("#assign-box").wait_for(state="visible")


@pytest.mark.browser
def test_planner_assigns_a_piece_validates_and_publishes(page, live_server):  # noqa: F811
    from gisgrid.boundaries import editing, locate
    from gisgrid.boundaries.models import Edition

    target = neighbouring_villages()
    a, b = target["a"], target["b"]
    lon, lat = target["probe"].x, target["probe"].y
    _, before = locate.locate([lon], [lat])
    assert before[0]["grids"][1]["code"] == b.code  # sanity: the probe starts in village B

    # Anonymous -> login form -> back on the planner.
    login(page, live_server, "planner", "planner-demo")
    page.wait_for_url(re.compile(r".*/planner/$"))
    page.wait_for_function("document.documentElement.dataset.plannerReady === '1'")
    assert "网格规划" in page.title()
    assert page.locator("#edition-info .badge").inner_text() == "现行"
    assert page.locator("#tool-assign").is_disabled()  # the active edition is view-only

    # New draft (a copy of the active edition), level 2.
    page.fill("#draft-name", "测试草稿")
    page.click("#new-draft")
    page.wait_for_function("document.documentElement.dataset.editionStatus === 'draft'")
    draft_id = int(page.evaluate("document.documentElement.dataset.editionId"))
    assert Edition.objects.get(pk=draft_id).name == "测试草稿"
    page.check("#level-switch input[value='2']")
    page.wait_for_function(f"document.documentElement.dataset.gridsLoaded?.startsWith('{draft_id}:2:')")
    assert page.locator("#edition-info .badge").inner_text() == "草稿"
    assert not page.locator("#tool-assign").is_disabled()

    # Zoom to the shared edge; click village A to select it.
    centre = target["square"].centroid
    page.evaluate("([lat, lng, z]) => gisgridPlanner.map.setView([lat, lng], z, {animate: false})",
                  [centre.y, centre.x, DRAW_ZOOM])
    (ax, ay), = container_points(page, [[target["a_point"].y, target["a_point"].x]])
    page.mouse.click(ax, ay)
    page.wait_for_function(f"document.getElementById('selected-grid').dataset.code === '{a.code}'")
    assert a.name in page.locator("#selected-grid").inner_text()

    # A stale edit: someone else changes the draft while the planner is drawing -> 409 message.
    draw_square(page, target["square"])
    # (A piece B already owns: the geometry stays, the draft's version moves on.)
    owned = target["b_inside"]
    editing.assign_piece(Edition.objects.get(pk=draft_id), b.code, owned)
    page.select_option("#assign-target", a.code)
    page.click("#assign-confirm")
    page.wait_for_function("document.documentElement.dataset.stale === '1'")
    assert page.evaluate("document.documentElement.dataset.errorCode") == "stale_version"  # told by the code
    assert "草稿已被他人修改，请刷新后重试" in page.locator("#status").inner_text()
    version = Edition.objects.get(pk=draft_id).version
    page.wait_for_function(f"document.documentElement.dataset.version === '{version}'")
    page.wait_for_function(f"document.documentElement.dataset.gridsLoaded === '{draft_id}:2:{version}'")
    wait_idle(page)

    # Draw again and assign the piece to village A, chosen in the dropdown.
    page.mouse.click(ax, ay)
    page.wait_for_function(f"document.getElementById('selected-grid').dataset.code === '{a.code}'")
    draw_square(page, target["square"])
    page.select_option("#assign-target", a.code)
    page.click("#assign-confirm")
    page.wait_for_function(f"document.documentElement.dataset.version === '{version + 1}'")
    wait_idle(page)
    assert "已保存" in page.locator("#status").inner_text()
    assert b.code in page.locator("#status").inner_text()  # B lost land

    # 校验: the validation panel reports no error.
    page.evaluate("document.documentElement.dataset.findingsErrors = ''")
    page.click("#validate")
    page.wait_for_function("document.documentElement.dataset.findingsErrors === '0'")
    assert page.locator("#findings-summary").get_attribute("data-errors") == "0"
    assert page.locator("#findings-summary").inner_text().startswith("错误 0")
    assert page.locator("#findings-summary").get_attribute("data-warnings") == "0"  # no detached part either

    # 与现行版本比较: A gained from B, drawn green on the map.
    page.click("#diff")
    page.wait_for_function("Number(document.documentElement.dataset.diffChanges) >= 2")
    wait_idle(page)
    diff_text = page.locator("#diff-body").inner_text()
    assert a.name in diff_text and b.name in diff_text and "来自" in diff_text
    page.screenshot(path="/tmp/planner.png")
    page.evaluate("gisgridPlanner.map.setZoom(14, {animate: false})")
    page.screenshot(path="/tmp/planner-overview.png")

    # 发布, re-routing open items.
    page.click("#publish")
    page.locator("#publish-dialog").wait_for(state="visible")
    page.check("#reroute")
    page.click("#publish-confirm")
    page.wait_for_function(f"document.documentElement.dataset.published === '{draft_id}'")
    page.wait_for_function("document.documentElement.dataset.editionStatus === 'active'")
    wait_idle(page)
    assert "已发布" in page.locator("#status").inner_text()
    assert page.locator("#tool-assign").is_disabled()
    assert Edition.objects.get(pk=draft_id).status == "active"

    _, after = locate.locate([lon], [lat])
    assert after[0]["edition"]["id"] == draft_id
    assert after[0]["grids"][1]["code"] == a.code, after[0]
    assert after[0]["grids"][1]["name"] == a.name

    page.screenshot(path="/tmp/planner-published.png")
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_planner_shows_blind_spots_with_popups(page, live_server):  # noqa: F811
    login(page, live_server, "planner", "planner-demo")
    page.wait_for_url(re.compile(r".*/planner/$"))
    page.wait_for_function("document.documentElement.dataset.plannerReady === '1'")
    page.check("#blind-spots")
    page.wait_for_function("Number(document.documentElement.dataset.blindSpots) > 0")
    wait_idle(page)
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)


def test_planner_page_access(client, heyang_db):
    response = client.get("/planner/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/planner/"

    assert client.login(username="gridmember", password="gridmember-demo")
    response = client.get("/planner/")
    assert response.status_code == 403
    assert "无权访问网格规划" in response.content.decode()

    assert client.login(username="planner", password="planner-demo")
    response = client.get("/planner/")
    assert response.status_code == 200
    assert 'id="planner-config"' in response.content.decode()


def test_map_links_to_planner_for_planners_only(client, heyang_db):
    assert "/planner/" not in client.get("/map/").content.decode()
    assert client.login(username="planner", password="planner-demo")
    assert 'href="/planner/"' in client.get("/map/").content.decode()


@pytest.mark.browser
def test_planner_merge_undo_redo_and_split(page, live_server):  # noqa: F811
    from gisgrid.boundaries.models import Grid

    target = neighbouring_villages()
    a, b = target["a"], target["b"]
    login(page, live_server, "planner", "planner-demo")
    page.wait_for_url(re.compile(r".*/planner/$"))
    page.wait_for_function("document.documentElement.dataset.plannerReady === '1'")
    page.click("#new-draft")  # default name
    page.wait_for_function("document.documentElement.dataset.editionStatus === 'draft'")
    draft_id = int(page.evaluate("document.documentElement.dataset.editionId"))
    page.wait_for_function(f"document.documentElement.dataset.gridsLoaded?.startsWith('{draft_id}:2:')")
    wait_idle(page)

    # Nothing to undo yet: the server's 409 is shown as is, not as a stale draft.
    page.click("#undo")
    page.wait_for_function("document.getElementById('status').textContent.includes('没有可撤销')")
    wait_idle(page)
    assert page.evaluate("document.documentElement.dataset.errorCode") not in ("", None, "stale_version")
    assert page.evaluate("document.documentElement.dataset.stale") is None

    centre = target["square"].centroid
    page.evaluate("([lat, lng]) => gisgridPlanner.map.setView([lat, lng], 15, {animate: false})", [centre.y, centre.x])
    (ax, ay), (bx, by) = container_points(page, [[target["a_point"].y, target["a_point"].x],
                                                 [target["probe"].y, target["probe"].x]])
    page.mouse.click(ax, ay)
    page.wait_for_function(f"document.getElementById('selected-grid').dataset.code === '{a.code}'")
    page.click("#tool-merge")
    page.mouse.click(bx, by)
    page.locator("#merge-box").wait_for(state="visible")
    assert b.name in page.locator("#merge-text").inner_text()
    page.click("#merge-confirm")
    page.wait_for_function("document.documentElement.dataset.version === '2'")
    page.wait_for_function(f"document.documentElement.dataset.gridsLoaded === '{draft_id}:2:2'")
    assert not Grid.objects.filter(edition_id=draft_id, code=b.code).exists()
    assert page.evaluate(f"!!gisgridPlanner.grids.byCode['{b.code}']") is False

    page.click("#undo")
    page.wait_for_function(f"document.documentElement.dataset.gridsLoaded === '{draft_id}:2:3'")
    assert Grid.objects.filter(edition_id=draft_id, code=b.code).exists()
    page.click("#redo")
    page.wait_for_function(f"document.documentElement.dataset.gridsLoaded === '{draft_id}:2:4'")
    assert not Grid.objects.filter(edition_id=draft_id, code=b.code).exists()
    page.click("#undo")
    page.wait_for_function(f"document.documentElement.dataset.gridsLoaded === '{draft_id}:2:5'")
    wait_idle(page)

    # Split village A along a line through the drawn square's A-side point, east-west across A.
    ga = Grid.objects.get(edition_id=draft_id, code=a.code).geom
    minx, _, maxx, _ = ga.extent
    y = target["a_point"].y
    page.evaluate("([s, w, n, e]) => gisgridPlanner.map.fitBounds([[s, w], [n, e]], {animate: false})",
                  [y - 0.01, minx - 0.002, y + 0.01, maxx + 0.002])
    (ax, ay), = container_points(page, [[target["a_point"].y, target["a_point"].x]])
    page.mouse.click(ax, ay)
    page.wait_for_function(f"document.getElementById('selected-grid').dataset.code === '{a.code}'")
    page.click("#tool-split")
    page.fill("#split-name", "新村")
    for lon in (minx - 0.001, maxx + 0.001):
        (x, yy), = container_points(page, [[y, lon]])
        page.mouse.click(x, yy)
        page.wait_for_timeout(80)
    page.click("#draw-finish")
    page.wait_for_function(f"document.documentElement.dataset.gridsLoaded === '{draft_id}:2:6'")
    wait_idle(page)
    assert Grid.objects.filter(edition_id=draft_id, level=2, name="新村", parent__code=a.parent.code).exists()
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)


def test_planner_page_in_english(client, heyang_db):
    from django.conf import settings

    assert client.login(username="planner", password="planner-demo")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/planner/").content.decode()
    assert "Grid planning" in html and "Assign piece" in html and "Re-route open items" in html


def open_draft(pg, live_server, level=2):
    """Log in as the planner and create a fresh draft (a copy of the active edition); its id."""
    from gisgrid.boundaries.models import Edition

    last = max(Edition.objects.values_list("pk", flat=True))
    login(pg, live_server, "planner", "planner-demo")
    pg.wait_for_url(re.compile(r".*/planner/$"))
    pg.wait_for_function("document.documentElement.dataset.plannerReady === '1'")
    wait_idle(pg)
    pg.click("#new-draft")
    # The page may open on an older draft: wait for the new one.
    pg.wait_for_function(f"Number(document.documentElement.dataset.editionId) > {last} && "
                         "document.documentElement.dataset.editionStatus === 'draft'")
    draft_id = int(pg.evaluate("document.documentElement.dataset.editionId"))
    pg.check(f"#level-switch input[value='{level}']")
    pg.wait_for_function(f"document.documentElement.dataset.gridsLoaded?.startsWith('{draft_id}:{level}:')")
    wait_idle(pg)
    return draft_id


def shared_segment(a_geom, b_geom):
    """The longest straight segment (metric) of the edge two grids share."""
    shared = shapely.line_merge(shapely.intersection(a_geom.boundary, b_geom.boundary))
    segments = [shapely.LineString([p, q]) for part in shapely.get_parts(shared) if part.geom_type == "LineString"
                for p, q in zip(part.coords, part.coords[1:], strict=False)]
    return max(segments, key=lambda s: s.length)


DRAG_M = 60


def wait_saved(pg, draft_id, version):
    """Wait until the edit is saved (the draft at `version`, its grids reloaded) or the status shows an error."""
    pg.wait_for_function(
        f"document.documentElement.dataset.version === '{version}' || "
        "document.getElementById('status').classList.contains('error')")
    assert "error" not in (pg.locator("#status").get_attribute("class") or ""), pg.locator("#status").inner_text()
    pg.wait_for_function(f"document.documentElement.dataset.gridsLoaded === '{draft_id}:2:{version}'")
    wait_idle(pg)


@pytest.mark.browser
def test_planner_reshape_drags_a_shared_vertex(page, live_server):  # noqa: F811
    from gisgrid.boundaries import editing
    from gisgrid.boundaries.models import Edition

    target = neighbouring_villages()
    a, b = target["a"], target["b"]
    draft_id = open_draft(page, live_server)
    draft = Edition.objects.get(pk=draft_id)
    before = editing.load_states(draft)
    ga, gb = _metric(before[a.code].geom), _metric(before[b.code].geom)

    # The midpoint of the longest straight shared segment, and a point DRAG_M metres from it into B.
    seg = shared_segment(ga, gb)
    (px, py), (qx, qy) = seg.coords
    mid = seg.interpolate(0.5, normalized=True)
    nx, ny = -(qy - py) / seg.length, (qx - px) / seg.length  # unit normal
    into_b = shapely.Point(mid.x + nx * DRAG_M, mid.y + ny * DRAG_M)
    if not gb.contains(into_b):
        into_b = shapely.Point(mid.x - nx * DRAG_M, mid.y - ny * DRAG_M)
    assert gb.contains(into_b)
    p_wgs, q_wgs, to_wgs = _wgs(shapely.Point(px, py)), _wgs(shapely.Point(qx, qy)), _wgs(into_b)

    centre = _wgs(mid)
    page.evaluate("([lat, lng, z]) => gisgridPlanner.map.setView([lat, lng], z, {animate: false})",
                  [centre.y, centre.x, DRAW_ZOOM])
    (ax, ay), = container_points(page, [[target["a_point"].y, target["a_point"].x]])
    page.mouse.click(ax, ay)
    page.wait_for_function(f"document.getElementById('selected-grid').dataset.code === '{a.code}'")

    # 编辑边界: Geoman puts vertex and midpoint markers on a full-precision copy of A.
    page.click("#tool-reshape")
    page.locator("#reshape-box").wait_for(state="visible")
    wait_idle(page)
    (p1x, p1y), (q1x, q1y), (tx, ty) = container_points(page, [[p_wgs.y, p_wgs.x], [q_wgs.y, q_wgs.x],
                                                                [to_wgs.y, to_wgs.x]])
    # Geoman's midpoint marker sits at the pixel midpoint of the segment; grab its centre.
    mx, my = (p1x + q1x) / 2, (p1y + q1y) / 2
    marker = page.evaluate(
        """([x, y]) => {
            const els = [...document.querySelectorAll('.marker-icon-middle')].map(e => e.getBoundingClientRect())
                .map(r => [r.left + r.width / 2, r.top + r.height / 2])
                .sort((u, v) => Math.hypot(u[0] - x, u[1] - y) - Math.hypot(v[0] - x, v[1] - y));
            return els[0] || null;
        }""",
        [mx, my],
    )
    assert marker and abs(marker[0] - mx) < 3 and abs(marker[1] - my) < 3, (marker, mx, my)
    page.mouse.move(*marker)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(marker[0] + (tx - marker[0]) * i / 10, marker[1] + (ty - marker[1]) * i / 10)
        page.wait_for_timeout(30)
    page.mouse.up()
    page.wait_for_timeout(100)
    page.click("#reshape-finish")
    wait_saved(page, draft_id, 2)
    assert page.locator("#findings-summary").get_attribute("data-errors") == "0"
    assert page.evaluate("document.documentElement.dataset.findingsErrors") == "0"
    status = page.locator("#status").inner_text()
    assert "已保存" in status and status.endswith("、".join(sorted([a.code, b.code]))), status  # only A and B changed

    after = editing.load_states(draft)
    na, nb = _metric(after[a.code].geom), _metric(after[b.code].geom)
    gained, lost = na.area - ga.area, gb.area - nb.area
    assert gained > 0.25 * seg.length * DRAG_M * 0.5, (gained, seg.length)  # the triangle, at least roughly
    assert abs(gained - lost) <= 1, (gained, lost)
    assert abs(shapely.union(na, nb).area - shapely.union(ga, gb).area) <= 1
    assert shapely.intersection(na, nb).area < 0.5
    page.screenshot(path="/tmp/planner-reshape.png")
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_planner_imports_a_redrawn_layer(page, live_server, tmp_path):  # noqa: F811
    import json

    from gisgrid.boundaries import editing, editions
    from gisgrid.boundaries.models import Edition

    target = neighbouring_villages()
    a, b = target["a"], target["b"]

    # Redraw A and B on a scratch draft: the square on their shared edge goes to A.
    scratch = editions.create_draft("scratch")
    editing.assign_piece(scratch, a.code, target["square"])
    redrawn = editing.load_states(scratch)
    path = tmp_path / "redrawn.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": s.code, "name": s.name, "level": s.level},
         "geometry": json.loads(shapely.to_geojson(s.geom))}
        for s in (redrawn[a.code], redrawn[b.code])
    ]}), encoding="utf-8")

    draft_id = open_draft(page, live_server)
    assert draft_id != scratch.pk
    page.set_input_files("#import-file", str(path))
    page.select_option("#import-level", "2")
    page.click("#import-submit")
    wait_saved(page, draft_id, 2)
    assert page.locator("#findings-summary").get_attribute("data-errors") == "0"
    assert page.evaluate("document.documentElement.dataset.findingsErrors") == "0"
    assert "已导入图层" in page.locator("#status").inner_text()
    assert page.evaluate("document.getElementById('import-file').value") == ""

    states = editing.load_states(Edition.objects.get(pk=draft_id))
    for code in (a.code, b.code):
        new, want = _metric(states[code].geom), _metric(redrawn[code].geom)
        assert shapely.symmetric_difference(new, want).area < 0.01, code
    from gisgrid.boundaries import geometry

    assert _metric(states[a.code].geom).area > _metric(geometry.from_geos(a.geom)).area + 1000  # A gained land
    assert not page.errors, page.errors
    assert_only_own_server(page, live_server)


@pytest.mark.browser
def test_planner_reloads_a_draft_published_meanwhile(page, live_server):  # noqa: F811
    """A 409 `not_draft` (the draft was published from elsewhere while the page had it open):
    the page reloads the edition, which it then shows as the active, read-only one."""
    from gisgrid.boundaries import editions
    from gisgrid.boundaries.models import Edition

    login(page, live_server, "planner", "planner-demo")
    page.wait_for_url(re.compile(r".*/planner/$"))
    page.wait_for_function("document.documentElement.dataset.plannerReady === '1'")
    page.click("#new-draft")
    page.wait_for_function("document.documentElement.dataset.editionStatus === 'draft'")
    draft_id = int(page.evaluate("document.documentElement.dataset.editionId"))
    wait_idle(page)

    editions.publish(Edition.objects.get(pk=draft_id))
    page.click("#undo")  # the page still takes it for a draft
    page.wait_for_function("document.documentElement.dataset.errorCode === 'not_draft'")
    page.wait_for_function("document.documentElement.dataset.editionStatus === 'active'")
    wait_idle(page)
    assert int(page.evaluate("document.documentElement.dataset.editionId")) == draft_id
    assert page.locator("#edition-info .badge").inner_text() == "现行"
    assert page.locator("#tool-assign").is_disabled()
    assert page.evaluate("document.documentElement.dataset.stale") is None
    assert "只能修改草稿" in page.locator("#status").inner_text()  # the server's message, shown as is
    assert not page.errors, page.errors
