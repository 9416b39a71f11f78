"""Editions: drafts, edits that keep the tiling exact, undo/redo, publish, diff, re-routing."""

from __future__ import annotations

import shapely
from shapely.geometry import mapping

from gisgrid.boundaries import editing, editions, geometry, locate
from gisgrid.boundaries.edition_validation import validate_edition
from gisgrid.boundaries.models import Edition, EditionChange, Grid
from gisgrid.incidents.models import Category, Report, RoutingChange
from gisgrid.incidents.reports import create_report


def _neighbours(edition: Edition, level: int = 2, parent: str = "610524102"):
    """Two sibling grids sharing an edge at least 500 m long, and a point in the middle of it."""
    states = editing.load_states(edition)
    sibs = sorted((s for s in states.values() if s.level == level and s.parent_code == parent), key=lambda s: s.code)
    for a in sibs:
        for b in sibs:
            if a.code < b.code:
                edge = shapely.intersection(a.geom.boundary, b.geom.boundary)
                if geometry.area_m2(edge.buffer(1e-5)) > 0 and shapely.length(geometry.to_metric(edge)) > 500:
                    mid = shapely.line_merge(edge)
                    mid = (shapely.get_parts(mid)[0] if mid.geom_type == "MultiLineString" else mid).interpolate(
                        0.5, normalized=True)
                    return a, b, mid
    raise AssertionError("no neighbours found")


def _piece_around(point: shapely.Point, metres: float) -> shapely.Geometry:
    return geometry.from_metric(geometry.to_metric(point).buffer(metres, quad_segs=8))


def _moved_piece(name: str, metres: float):
    """A new draft, two neighbouring villages a and b, a piece straddling their edge, and a
    probe point on b's side of it (it will move to a when the piece is assigned to a)."""
    draft = editions.create_draft(name)
    a, b, mid = _neighbours(draft)
    piece = _piece_around(mid, metres)
    probe = shapely.point_on_surface(shapely.intersection(piece, b.geom).buffer(-1e-4))
    return draft, a, b, piece, probe


def _errors(edition):
    return [f for f in validate_edition(edition) if f.severity == "error"]


def test_draft_copies_active_edition(heyang_db):
    active = editions.active_edition()
    draft = editions.create_draft("测试草稿")
    assert draft.status == "draft" and draft.based_on_id == active.pk
    assert editions.grid_count_by_level(draft) == {1: 14, 2: 215, 3: 121}
    a = dict(Grid.objects.filter(edition=active).values_list("code", "parent__code"))
    b = dict(Grid.objects.filter(edition=draft).values_list("code", "parent__code"))
    assert a == b
    assert not _errors(draft)


def test_assign_piece_keeps_tiling_exact(heyang_db):
    draft = editions.create_draft("assign")
    a, b, mid = _neighbours(draft)
    piece = _piece_around(mid, 120)
    union_before = geometry.area_m2(shapely.union(a.geom, b.geom))
    res = editing.assign_piece(draft, a.code, piece, version=draft.version)
    assert a.code in res["changed"] and b.code in res["changed"]
    after = editing.load_states(draft)
    gained = geometry.area_m2(after[a.code].geom) - geometry.area_m2(a.geom)
    lost = geometry.area_m2(b.geom) - geometry.area_m2(after[b.code].geom)
    assert gained > 10_000 and abs(gained - lost) < 1.0
    assert abs(geometry.area_m2(shapely.union(after[a.code].geom, after[b.code].geom)) - union_before) < 1.0
    assert geometry.area_m2(shapely.intersection(after[a.code].geom, after[b.code].geom)) < 0.5
    assert not _errors(draft)
    # The piece now belongs to a, at every point of it
    assert after[a.code].geom.covers(shapely.point_on_surface(shapely.intersection(piece, b.geom)))


def test_edit_rules_stale_active_outside_invalid(heyang_db):
    draft = editions.create_draft("rules")
    a, b, mid = _neighbours(draft)
    piece = _piece_around(mid, 50)
    editing.assign_piece(draft, a.code, piece, version=draft.version)
    try:
        editing.assign_piece(draft, b.code, piece, version=draft.version - 1)
        raise AssertionError("stale edit accepted")
    except editions.EditionError as exc:
        current = Edition.objects.get(pk=draft.pk).version
        assert (exc.status, exc.code, exc.extra["current_version"]) == (409, "stale_version", current)
    active = editions.active_edition()
    for bad_edition, piece_, status, code in (
        (active, piece, 409, "not_draft"),
        (draft, _piece_around(shapely.Point(110.6, 35.2), 100), 400, "invalid"),
        (draft, shapely.Polygon([(110.0, 35.0), (110.01, 35.01), (110.01, 35.0), (110.0, 35.01)]), 400, "invalid"),
    ):
        before = list(Grid.objects.filter(edition=bad_edition).order_by("code").values_list("code", "area_m2"))
        try:
            editing.assign_piece(bad_edition, a.code, piece_)
            raise AssertionError("bad edit accepted")
        except editions.EditionError as exc:
            assert (exc.status, exc.code) == (status, code)
        assert list(Grid.objects.filter(edition=bad_edition).order_by("code").values_list("code", "area_m2")) == before


def test_undo_redo_split_merge(heyang_db):
    draft = editions.create_draft("undo")
    original = editing.load_states(draft)
    a, b, mid = _neighbours(draft)
    editing.assign_piece(draft, a.code, _piece_around(mid, 80))
    changed = editing.load_states(draft)
    editing.undo(draft)
    back = editing.load_states(draft)
    for code in (a.code, b.code):
        assert shapely.equals_exact(back[code].geom, original[code].geom, tolerance=1e-12)
    editing.redo(draft)
    again = editing.load_states(draft)
    assert shapely.equals_exact(again[a.code].geom, changed[a.code].geom, tolerance=1e-12)

    # split a along a north-south line through its centre, then merge the halves back
    c = shapely.centroid(a.geom)
    minx, miny, maxx, maxy = a.geom.bounds
    line = shapely.LineString([(c.x, miny - 0.01), (c.x, maxy + 0.01)])
    res = editing.split(draft, a.code, line)
    new_code = res["new_code"]
    assert new_code.startswith(a.parent_code) and len(new_code) == len(a.code)
    assert new_code not in original
    states = editing.load_states(draft)
    total = geometry.area_m2(states[a.code].geom) + geometry.area_m2(states[new_code].geom)
    assert abs(total - geometry.area_m2(again[a.code].geom)) < 1.0
    assert not _errors(draft)
    editing.merge(draft, a.code, new_code)
    merged = editing.load_states(draft)
    assert new_code not in merged
    assert abs(geometry.area_m2(merged[a.code].geom) - total) < 1.0
    assert EditionChange.objects.filter(edition=draft).count() == 3


def test_publish_blocked_by_errors_changes_nothing(heyang_db):
    draft = editions.create_draft("broken")
    g = Grid.objects.get(edition=draft, code="610524102001")
    # Shrink a village without giving the land to anyone: a gap in its town.
    shrunk = shapely.buffer(geometry.from_geos(g.geom), -0.002)
    Grid.objects.filter(pk=g.pk).update(geom=geometry.to_geos(geometry.as_multipolygon(shrunk)))
    active = editions.active_edition()
    try:
        editions.publish(draft)
        raise AssertionError("published with errors")
    except editions.EditionError as exc:
        assert (exc.status, exc.code) == (400, "validation_failed")
        assert any(f.kind == "gap" and "610524102001" in f.codes for f in exc.findings)
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert editions.active_edition().pk == active.pk


def test_publish_switches_locate_and_old_reports_keep_routing(heyang_db):
    old = editions.active_edition()
    draft, a, b, piece, probe = _moved_piece("publish", 150)
    category = Category.objects.get(code="E0102")
    report = create_report(user=None, category=category, lon=probe.x, lat=probe.y, crs="wgs84",
                           reporter_name="张三", reporter_phone="13900000000")
    assert report.level2_code == b.code and report.edition_id == old.pk
    editing.assign_piece(draft, a.code, piece)

    editions.publish(draft)
    _, answers = locate.locate([probe.x], [probe.y])
    assert answers[0]["edition"]["id"] == draft.pk
    assert [g["code"] for g in answers[0]["grids"]][1] == a.code
    old.refresh_from_db()
    assert old.status == "retired" and old.valid_to is not None
    report.refresh_from_db()
    assert report.edition_id == old.pk and report.level2_code == b.code  # kept its routing
    assert not RoutingChange.objects.exists()


def test_publish_with_reroute_records_each_change(heyang_db):
    draft, a, b, piece, probe = _moved_piece("reroute", 150)
    far = shapely.point_on_surface(b.geom.difference(piece.buffer(0.01)))
    cat = Category.objects.get(code="E0102")
    moved = create_report(user=None, category=cat, lon=probe.x, lat=probe.y, crs="wgs84", reporter_name="李四")
    stays = create_report(user=None, category=cat, lon=far.x, lat=far.y, crs="wgs84", reporter_name="王五")
    editing.assign_piece(draft, a.code, piece)
    editions.publish(draft, reroute=True)
    moved.refresh_from_db()
    stays.refresh_from_db()
    assert moved.level2_code == a.code and moved.edition_id == draft.pk
    assert stays.level2_code == b.code
    change = RoutingChange.objects.get()
    assert change.report_id == moved.pk
    assert change.before["level2_code"] == b.code and change.after["level2_code"] == a.code


def test_diff_reports_area_exchange_and_affected_items(heyang_db):
    active = editions.active_edition()
    draft, a, b, piece, probe = _moved_piece("diff", 100)
    create_report(user=None, category=Category.objects.get(code="E0102"), lon=probe.x, lat=probe.y, crs="wgs84",
                  reporter_name="赵六")
    editing.assign_piece(draft, a.code, piece)
    from gisgrid.boundaries.diff import diff_editions

    d = diff_editions(active, draft)
    by_code = {c["code"]: c for c in d["changes"]}
    expected = geometry.area_m2(shapely.intersection(piece, b.geom))
    assert abs(by_code[a.code]["area_gained_m2"] - expected) < 1.0
    assert by_code[a.code]["gained_from"][0]["code"] == b.code
    assert abs(by_code[b.code]["area_lost_m2"] - expected) < 1.0
    assert {c["code"] for c in d["changes"] if c["level"] == 2} == {a.code, b.code}
    assert d["added"] == [] and d["retired"] == []
    items = [i for i in d["items_affected"] if i["type"] == "report"]
    assert len(items) == 1 and items[0]["moves"] and items[0]["new_grid_code"].startswith(a.code)
    assert any(s["grid_code"] == a.code for s in d["staff_affected"])


def test_planner_api_flow_and_permissions(client_as):
    planner = client_as("planner")
    dispatcher = client_as("dispatcher")
    assert dispatcher.post("/api/v1/editions", {"name": "x"}, format="json").status_code == 403
    r = planner.post("/api/v1/editions", {"name": "API 草稿"}, format="json")
    assert r.status_code == 201, r.content
    draft = Edition.objects.get(pk=r.json()["id"])
    a, b, mid = _neighbours(draft)
    body = {"code": a.code, "geometry": mapping(_piece_around(mid, 60)), "version": draft.version}
    assert dispatcher.post(f"/api/v1/editions/{draft.pk}/assign", body, format="json").status_code == 403
    r = planner.post(f"/api/v1/editions/{draft.pk}/assign", body, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["errors"] == 0 and r.json()["version"] == draft.version + 1
    # The same body again is stale now
    r = planner.post(f"/api/v1/editions/{draft.pk}/assign", body, format="json")
    assert r.status_code == 409 and r.json()["error"] == "stale_version"
    assert r.json()["current_version"] == draft.version + 1 and "version" in r.json()["fields"]
    bad = {"code": a.code, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}, "version": draft.version + 1}
    r = planner.post(f"/api/v1/editions/{draft.pk}/assign", {"code": a.code, "geometry": body["geometry"]}, format="json")
    assert r.status_code == 400 and "version" in r.json()["fields"]
    r = planner.post(f"/api/v1/editions/{draft.pk}/assign", bad, format="json")
    assert r.status_code == 400 and "geometry" in r.json()["fields"]
    r = planner.get(f"/api/v1/editions/{draft.pk}/validation")
    assert r.status_code == 200 and r.json()["errors"] == 0
    r = planner.get(f"/api/v1/editions/{draft.pk}/diff")
    assert r.status_code == 200 and {c["code"] for c in r.json()["changes"]} == {a.code, b.code}
    r = planner.get(f"/api/v1/editions/{draft.pk}/diff.geojson")
    assert r.status_code == 200 and r.json()["type"] == "FeatureCollection"
    assert {f["properties"]["diff"] for f in r.json()["features"]} == {"gained", "lost"}
    r = planner.post(f"/api/v1/editions/{draft.pk}/publish", {}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "active"
    r = planner.post(f"/api/v1/editions/{draft.pk}/assign", body, format="json")
    assert r.status_code == 409 and r.json()["error"] == "not_draft"  # active editions are not editable
    assert client_as(None).get("/api/v1/editions").status_code == 200


def test_blind_spots_api(anon_client, client_as):
    r = anon_client.get("/api/v1/blind-spots")
    assert r.status_code == 200
    feats = r.json()["features"]
    urban = set(Grid.objects.filter(edition=editions.active_edition(), urban=True).values_list("code", flat=True))
    assert len(urban) == 8
    assert {f["properties"]["community_code"] for f in feats} == urban
    assert all(f["properties"]["area_m2"] > 0 for f in feats)
    # a report in a blind spot is listed with it
    spot = max(feats, key=lambda f: f["properties"]["area_m2"])
    p = shapely.point_on_surface(shapely.geometry.shape(spot["geometry"]))
    report = create_report(user=None, category=Category.objects.get(code="E0102"), lon=p.x, lat=p.y, crs="wgs84",
                           reporter_name="钱七")
    assert report.location_status == "blind_spot"
    r = client_as("dispatcher").get("/api/v1/blind-spots")
    listed = [i["id"] for f in r.json()["features"] for i in f["properties"]["items"]]
    assert report.pk in listed
    # The areas are public, the reports in them are not (docs/permissions.md).
    for who in (None, "planner"):
        r = client_as(who).get("/api/v1/blind-spots")
        assert r.status_code == 200 and all(f["properties"]["items"] == [] for f in r.json()["features"]), who
    assert Report.objects.filter(pk=report.pk, level2_code=spot["properties"]["community_code"]).exists()


def test_publish_under_concurrent_locate_never_mixes_editions(heyang_live):
    import threading
    import time

    from django.db import connection

    old = editions.active_edition()
    draft, a, b, piece, probe = _moved_piece("concurrent", 150)
    editing.assign_piece(draft, a.code, piece)
    # Warm both snapshots: the switch is under test here, not the index build.
    locate.locate([probe.x], [probe.y], edition_id=draft.pk)
    locate.locate([probe.x], [probe.y])
    seen: list[tuple[int, str, float]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def worker():
        try:
            while not stop.is_set():
                started = time.monotonic()
                _, ans = locate.locate([probe.x], [probe.y], details=False)
                seen.append((ans[0]["edition"]["id"], ans[0]["grids"][1]["code"], started))
        except BaseException as exc:  # reported below; a thread must not die silently
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    editions.publish(draft)
    published_at = time.monotonic()
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors
    pairs = {(e, c) for e, c, _ in seen}
    assert pairs <= {(old.pk, b.code), (draft.pk, a.code)}, pairs
    assert (old.pk, b.code) in pairs and (draft.pk, a.code) in pairs
    # Once publish returned, every lookup that started later answers from the new edition.
    late = [(e, c) for e, c, t in seen if t > published_at + 0.05]
    assert late and all(e == draft.pk for e, _ in late)


def test_reshape_moves_land_both_ways_and_keeps_tiling(heyang_db):
    draft = editions.create_draft("reshape")
    a, b, mid = _neighbours(draft)
    piece = _piece_around(mid, 120)
    # Pull a's edge back: the land a gives up must go to b, not become a gap.
    res = editing.set_geometry(draft, a.code, shapely.difference(a.geom, piece), version=draft.version)
    assert set(res["changed"]) == {a.code, b.code}
    s1 = editing.load_states(draft)
    lost = geometry.area_m2(shapely.intersection(a.geom, piece))
    assert abs(geometry.area_m2(s1[b.code].geom) - geometry.area_m2(b.geom) - lost) < 1.0
    assert not _errors(draft)
    # Push it out again, beyond where it was: b loses exactly that land.
    bigger = shapely.union(s1[a.code].geom, _piece_around(mid, 150))
    editing.set_geometry(draft, a.code, bigger, version=res["version"])
    s2 = editing.load_states(draft)
    assert s2[a.code].geom.covers(mid)
    total = geometry.area_m2(shapely.union(s2[a.code].geom, s2[b.code].geom))
    assert abs(total - geometry.area_m2(shapely.union(a.geom, b.geom))) < 1.0
    assert not _errors(draft)


def test_import_redrawn_layer_through_api(client_as, tmp_path):
    import json

    planner = client_as("planner")
    scratch = editions.create_draft("scratch")
    a, b, mid = _neighbours(scratch)
    editing.assign_piece(scratch, a.code, _piece_around(mid, 100))
    redrawn = editing.load_states(scratch)
    layer = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": c, "name": redrawn[c].name, "level": 2},
         "geometry": mapping(redrawn[c].geom)} for c in (a.code, b.code)]}
    path = tmp_path / "redrawn.geojson"
    path.write_text(json.dumps(layer), encoding="utf-8")
    draft = editions.create_draft("import")
    with path.open("rb") as fh:
        r = planner.post(f"/api/v1/editions/{draft.pk}/import", {"file": fh, "version": draft.version},
                         format="multipart")
    assert r.status_code == 200, r.content
    assert r.json()["errors"] == 0 and set(r.json()["changed"]) == {a.code, b.code}
    after = editing.load_states(draft)
    assert shapely.equals_exact(after[a.code].geom, redrawn[a.code].geom, tolerance=1e-9)
    assert after[a.code].parent_code == a.parent_code
    # an empty upload and a wrong type are 400s naming the file
    empty = tmp_path / "empty.geojson"
    empty.write_text("")
    with empty.open("rb") as fh:
        r = planner.post(f"/api/v1/editions/{draft.pk}/import", {"file": fh, "version": draft.version + 1},
                         format="multipart")
    assert r.status_code == 400 and "file" in r.json()["fields"]
