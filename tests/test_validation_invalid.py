"""Every invalid geometry is reported where it is, and no part of a grid is dropped unsaid.

validate_grids reports a bow-tie as an ``invalid`` error at its self-intersection (never repaired
behind the report's back); import_grids refuses invalid input naming every feature, or with
--repair reports what each repair changed; the editions API and the planner page show the same
findings; the planner's edits neither hand over nor drop a part without saying so.
"""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError

from gisgrid.audit.models import AuditEntry
from gisgrid.boundaries import editing, editions, geometry, validation
from gisgrid.boundaries.models import Edition, EditionChange, Grid
from tests.test_import_export import SEAT_M, box_m, db_counts, run_import, town, write_geojson
from tests.test_map_page import page  # noqa: F401 (the page fixture)
from tests.test_planner_page import open_draft, wait_idle

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------------------
# shapes


def bowtie_m(x0: float = 0, y0: float = 0, size: float = 1000) -> shapely.Polygon:
    """A bow-tie (ring crossing itself once, in the middle) in metres from the county seat, in lon/lat."""
    x, y = SEAT_M[0] + x0, SEAT_M[1] + y0
    return geometry.from_metric(shapely.Polygon([(x, y), (x + size, y + size), (x + size, y), (x, y + size)]))


def crossing(geom: shapely.Geometry) -> tuple[float, float]:
    """Where GEOS says the geometry is invalid, computed independently of the code under test."""
    m = re.search(r"\[([-0-9.e]+) ([-0-9.e]+)\]", shapely.is_valid_reason(geom))
    assert m, shapely.is_valid_reason(geom)
    return float(m.group(1)), float(m.group(2))


def knotted(geom: shapely.Geometry) -> shapely.Geometry:
    """The geometry with two neighbouring vertices of its outer ring swapped: a small self-crossing."""
    poly = max(shapely.get_parts(geom), key=lambda p: p.area)
    coords = list(poly.exterior.coords)[:-1]
    for i in range(len(coords) // 2, len(coords) - 2):
        swapped = coords[:i] + [coords[i + 1], coords[i]] + coords[i + 2:]
        cand = shapely.Polygon(swapped + [swapped[0]], [r.coords for r in poly.interiors])
        if "Self-intersection" in shapely.is_valid_reason(cand):
            return shapely.MultiPolygon([cand])
    raise AssertionError("no vertex swap makes the ring cross itself")


def validate_file(path: Path, *args) -> tuple[int, list[dict], str]:
    """call_command('validate_grids', --format json): (exit status, findings, stderr)."""
    out, err = StringIO(), StringIO()
    code = 0
    try:
        call_command("validate_grids", str(path), "--format", "json", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue()), err.getvalue()


# ------------------------------------------------------------------------------------------
# validate_grids


def test_bowtie_is_an_invalid_error_at_its_crossing(tmp_path):
    bow = bowtie_m()
    path = write_geojson(tmp_path / "bow.geojson", [town(code="610524902", name="蝴蝶镇", geometry=bow),
                                                     town(code="610524903", name="方镇", geometry=box_m(1000, 0, 2000, 1000))])
    code, findings, err = validate_file(path)
    assert code == 1
    invalid = [f for f in findings if f["kind"] == "invalid"]
    assert len(invalid) == 1, findings
    f = invalid[0]
    assert f["severity"] == "error" and f["codes"] == ["610524902"] and f["level"] == 1
    x, y = crossing(bow)
    assert f["geometry"]["type"] == "Point"
    assert f["geometry"]["coordinates"] == pytest.approx([x, y], abs=1e-9)
    assert f["details"]["location"] == pytest.approx([x, y], abs=1e-9)
    assert f["details"]["reason"] == "Self-intersection"
    assert f"{x:.6f}, {y:.6f}" in f["message"]
    # What a repair would do is said, not done: both lobes kept, nothing lost.
    rep = f["details"]["repair"]
    assert (rep["parts_before"], rep["parts_after"]) == (1, 2)
    assert rep["lost_m2"] == pytest.approx(0, abs=0.01)
    assert rep["area_after_m2"] == pytest.approx(500_000, rel=0.01)
    # Not read-time repaired into a "multipart" grid with a part "detached".
    assert not [f for f in findings if f["kind"] == "multipart"]
    assert "detached" not in json.dumps(findings) and "repaired invalid" not in err


def test_bowtie_exits_one_as_a_process(tmp_path):
    """The exit status a shell script sees, from the real command line."""
    import subprocess
    import sys

    path = write_geojson(tmp_path / "bow.geojson", [town(geometry=bowtie_m())])
    proc = subprocess.run([sys.executable, "manage.py", "validate_grids", str(path), "--format", "json"],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert [f["kind"] for f in json.loads(proc.stdout)] == ["invalid"]


def test_text_format_names_the_invalid_grid_and_exits_one(tmp_path):
    path = write_geojson(tmp_path / "bow.geojson", [town(geometry=bowtie_m())])
    out = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("validate_grids", str(path), stdout=out, stderr=StringIO())
    assert exc.value.code == 1
    line = next(ln for ln in out.getvalue().splitlines() if ln.startswith("error"))
    assert "invalid" in line and "610524901" in line and "Self-intersection at" in line
    assert "1 grids, 1 errors" in out.getvalue()


def test_multipart_grid_whose_parts_are_all_kept_is_not_reported_as_dropped(tmp_path):
    two = shapely.MultiPolygon([box_m(0, 0, 1000, 1000), box_m(2000, 0, 2100, 100)])
    path = write_geojson(tmp_path / "mp.geojson", [town(geometry=two)])
    code, findings, _ = validate_file(path)
    assert code == 0
    (f,) = findings
    assert (f["kind"], f["severity"], f["details"]["parts"]) == ("multipart", "warning", 2)
    assert "all kept" in f["message"] and "detached" not in f["message"] and "largest kept" not in f["message"]
    # The finding shows the smaller part; the area is that part's, and nothing was taken away.
    assert f["area_m2"] == pytest.approx(10_000, rel=0.01)


def test_empty_missing_and_line_geometries_are_findings_not_read_errors(tmp_path):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "610524901", "name": "好镇", "level": 1},
         "geometry": shapely.geometry.mapping(box_m(0, 0, 1000, 1000))},
        {"type": "Feature", "properties": {"code": "610524902", "name": "无形镇", "level": 1}, "geometry": None},
        {"type": "Feature", "properties": {"code": "610524903", "name": "线镇", "level": 1},
         "geometry": {"type": "LineString", "coordinates": [list(c) for c in box_m(0, 0, 10, 10).exterior.coords]}},
    ]}
    path = tmp_path / "odd.geojson"
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    code, findings, _ = validate_file(path)
    assert code == 1
    invalid = {f["codes"][0]: f for f in findings if f["kind"] == "invalid"}
    assert set(invalid) == {"610524902", "610524903"}
    assert invalid["610524903"]["details"]["reason"] == "LineString"


def test_invalid_county_outline_is_a_finding(tmp_path):
    path = write_geojson(tmp_path / "grids.geojson", [town(geometry=box_m(0, 0, 1000, 1000))])
    county = bowtie_m(-500, -500, 3000)
    (tmp_path / "county.geojson").write_text(json.dumps(
        {"type": "Feature", "properties": {"code": "610524"}, "geometry": shapely.geometry.mapping(county)}),
        encoding="utf-8")
    code, findings, _ = validate_file(path)
    assert code == 1
    (f,) = [f for f in findings if f["kind"] == "invalid"]
    assert f["level"] == 0 and f["codes"] == [] and "county outline" in f["message"]
    assert f["details"]["location"] == pytest.approx(list(crossing(county)), abs=1e-9)


# ------------------------------------------------------------------------------------------
# import_grids


def test_import_refuses_every_invalid_feature_and_writes_nothing(heyang_db, tmp_path):
    a, b = bowtie_m(), bowtie_m(2000, 0)
    path = write_geojson(tmp_path / "two.geojson", [
        town(code="610524902", name="甲镇", geometry=a), town(code="610524903", name="乙镇", geometry=b),
        town(code="610524904", name="丙镇", geometry=box_m(4000, 0, 5000, 1000))])
    before, audits = db_counts(), AuditEntry.objects.count()
    with pytest.raises(CommandError) as exc:
        call_command("import_grids", str(path), stdout=StringIO(), stderr=StringIO())
    message = str(exc.value)
    for code, geom in (("610524902", a), ("610524903", b)):
        x, y = crossing(geom)
        assert f"code {code}" in message and f"Self-intersection at {x:.6f}, {y:.6f}" in message
    assert "610524904" not in message
    assert "2 feature(s) with invalid geometry" in message and "--repair" in message
    assert db_counts() == before and AuditEntry.objects.count() == audits


def test_import_with_repair_reports_each_repair(heyang_db, tmp_path):
    bow = bowtie_m()
    # A hole drawn outside its shell: the repair makes it land, which must be said (gained).
    x0, y0 = SEAT_M
    shell = shapely.box(x0 + 2000, y0, x0 + 3000, y0 + 1000)
    hole = shapely.box(x0 + 3500, y0, x0 + 3600, y0 + 100)
    stray = geometry.from_metric(shapely.Polygon(shell.exterior.coords, [hole.exterior.coords]))
    assert "Hole lies outside shell" in shapely.is_valid_reason(stray)
    path = write_geojson(tmp_path / "fix.geojson", [town(code="610524902", name="蝴蝶镇", geometry=bow),
                                                     town(code="610524903", name="飞地镇", geometry=stray)])
    draft, out, err = run_import(path, repair=True)
    assert "2 invalid geometries repaired" in out
    warn = {code: line for line in err.splitlines() for code in ("610524902", "610524903") if f"code {code}" in line}
    x, y = crossing(bow)
    assert f"Self-intersection at {x:.6f}, {y:.6f}" in warn["610524902"]
    assert "parts 1 → 2, all kept" in warn["610524902"] and "lost 0.0 m²" in warn["610524902"]
    assert "Hole lies outside shell" in warn["610524903"]
    gained = float(re.search(r"gained ([\d,.]+) m²", warn["610524903"]).group(1).replace(",", ""))
    assert gained == pytest.approx(10_000, rel=0.02)

    grids = {g.code: g for g in Grid.objects.filter(edition=draft)}
    bow_geom = geometry.from_geos(grids["610524902"].geom)
    assert bow_geom.is_valid and len(bow_geom.geoms) == 2
    assert grids["610524902"].area_m2 == pytest.approx(500_000, rel=0.01)
    assert len(geometry.from_geos(grids["610524903"].geom).geoms) == 2

    entry = AuditEntry.objects.filter(action="edition.import", object_id=str(draft.pk)).get()
    repairs = {r["code"]: r for r in entry.data["repairs"]}
    assert (repairs["610524902"]["parts_before"], repairs["610524902"]["parts_after"]) == (1, 2)
    assert repairs["610524902"]["location"] == pytest.approx([x, y], abs=1e-9)
    assert repairs["610524903"]["gained_m2"] == pytest.approx(10_000, rel=0.02)


def test_import_refuses_an_invalid_county_outline_unless_repaired(heyang_db, tmp_path):
    grids = write_geojson(tmp_path / "g.geojson", [town(geometry=box_m(0, 0, 1000, 1000))])
    outline = bowtie_m(-500, -500, 3000)
    county = tmp_path / "county.geojson"
    county.write_text(json.dumps({"type": "Feature", "properties": {},
                                  "geometry": shapely.geometry.mapping(outline)}), encoding="utf-8")
    before = db_counts()
    with pytest.raises(CommandError) as exc:
        call_command("import_grids", str(grids), county=str(county), stdout=StringIO(), stderr=StringIO())
    assert "county outline: invalid geometry (Self-intersection at" in str(exc.value)
    assert db_counts() == before
    draft, _, err = run_import(grids, county=str(county), repair=True)
    assert "--county" in err and "repaired invalid geometry" in err and "parts 1 → 2" in err
    assert geometry.from_geos(Edition.objects.get(pk=draft.pk).county_geom).is_valid


# ------------------------------------------------------------------------------------------
# the editions API


def _break(edition: Edition, code: str) -> shapely.Geometry:
    """Store a knotted (invalid) copy of grid `code` in the edition, as legacy data might hold."""
    g = Grid.objects.get(edition=edition, code=code)
    bad = knotted(geometry.from_geos(g.geom))
    Grid.objects.filter(pk=g.pk).update(geom=geometry.to_geos(bad))
    return bad


def _village(edition: Edition) -> Grid:
    return Grid.objects.filter(edition=edition, level=2, children__isnull=True).order_by("code").first()


def test_api_validation_reports_a_stored_invalid_grid_with_its_location(client_as):
    draft = editions.create_draft("无效图形")
    code = _village(draft).code
    bad = _break(draft, code)
    r = client_as("planner").get(f"/api/v1/editions/{draft.pk}/validation")
    assert r.status_code == 200
    body = r.json()
    invalid = [f for f in body["findings"] if f["kind"] == "invalid"]
    assert [f["codes"] for f in invalid] == [[code]]
    assert invalid[0]["geometry"]["type"] == "Point"
    assert invalid[0]["geometry"]["coordinates"] == pytest.approx(list(crossing(bad)), abs=1e-9)
    assert body["errors"] >= 1
    # Publishing is blocked by it, with the finding.
    r = client_as("planner").post(f"/api/v1/editions/{draft.pk}/publish", {"version": draft.version}, format="json")
    assert r.status_code == 400 and any(f["kind"] == "invalid" and f["codes"] == [code] for f in r.json()["findings"])


def test_edits_on_a_draft_with_an_invalid_grid_are_refused_with_the_finding(client_as):
    draft = editions.create_draft("无效图形编辑")
    village = _village(draft)
    bad = _break(draft, village.code)
    other = Grid.objects.filter(edition=draft, level=2, parent=village.parent).exclude(pk=village.pk).first()
    before = {g.code: bytes(g.geom.wkb) for g in Grid.objects.filter(edition=draft)}
    version = Edition.objects.get(pk=draft.pk).version
    r = client_as("planner").post(f"/api/v1/editions/{draft.pk}/merge",
                                  {"keep": other.code, "other": village.code, "version": version}, format="json")
    assert r.status_code == 400, r.content
    body = r.json()
    assert village.code in body["detail"] and "Self-intersection" in body["detail"]
    assert [f["codes"] for f in body["findings"]] == [[village.code]]
    assert body["findings"][0]["geometry"]["coordinates"] == pytest.approx(list(crossing(bad)), abs=1e-9)
    assert {g.code: bytes(g.geom.wkb) for g in Grid.objects.filter(edition=draft)} == before
    assert Edition.objects.get(pk=draft.pk).version == version


def _upload(client, draft: Edition, path: Path, **data):
    with path.open("rb") as fh:
        return client.post(f"/api/v1/editions/{draft.pk}/import",
                           {"file": fh, "version": Edition.objects.get(pk=draft.pk).version, **data},
                           format="multipart")


def test_api_import_refuses_invalid_layer_with_findings_or_repairs_and_reports(client_as, tmp_path):
    planner = client_as("planner")
    draft = editions.create_draft("导入无效图层")
    village = _village(draft)
    bad = knotted(geometry.from_geos(village.geom))
    path = write_geojson(tmp_path / "layer.geojson", [{"code": village.code, "name": village.name, "level": 2,
                                                       "geometry": bad}])
    before = bytes(Grid.objects.get(pk=village.pk).geom.wkb)
    version = Edition.objects.get(pk=draft.pk).version

    r = _upload(planner, draft, path)
    assert r.status_code == 400, r.content
    body = r.json()
    assert village.code in body["fields"]["file"][0] and "Self-intersection" in body["fields"]["file"][0]
    (f,) = body["findings"]
    assert f["kind"] == "invalid" and f["codes"] == [village.code]
    assert f["geometry"]["coordinates"] == pytest.approx(list(crossing(bad)), abs=1e-9)
    assert bytes(Grid.objects.get(pk=village.pk).geom.wkb) == before
    assert Edition.objects.get(pk=draft.pk).version == version

    r = _upload(planner, draft, path, repair="1")
    assert r.status_code == 200, r.content
    body = r.json()
    (rep,) = body["repairs"]
    assert rep["code"] == village.code and rep["location"] == pytest.approx(list(crossing(bad)), abs=1e-9)
    assert rep["parts_after"] >= 1 and rep["lost_m2"] == pytest.approx(0, abs=0.5)
    repaired = [f for f in body["findings"] if f["kind"] == "repaired"]
    assert [f["codes"] for f in repaired] == [[village.code]] and repaired[0]["severity"] == "warning"
    stored = geometry.from_geos(Grid.objects.get(pk=village.pk).geom)
    assert stored.is_valid
    change = EditionChange.objects.filter(edition=draft).order_by("-seq").first()
    assert change.op == "import_layer" and change.params["repairs"][0]["code"] == village.code


def test_api_import_rejects_a_bad_level_with_400(client_as, tmp_path):
    draft = editions.create_draft("坏层级")
    path = write_geojson(tmp_path / "l.geojson", [town()])
    r = _upload(client_as("planner"), draft, path, level="x")
    assert r.status_code == 400 and "level" in r.json()["fields"]


# ------------------------------------------------------------------------------------------
# the planner's edits


def test_split_keeps_uncut_parts_and_refuses_a_line_that_cuts_nothing(heyang_db):
    draft = editions.create_draft("分割多部件")
    village = _village(draft)
    main = geometry.from_geos(village.geom)
    m = geometry.to_metric(main)
    # An exclave of 100 m × 100 m well away from the village (its parent's land does not matter for a split).
    minx, miny, maxx, maxy = m.bounds
    exclave = geometry.from_metric(shapely.box(maxx + 5000, miny, maxx + 5100, miny + 100))
    two = shapely.MultiPolygon(list(shapely.get_parts(main)) + [exclave])
    Grid.objects.filter(pk=village.pk).update(geom=geometry.to_geos(two))
    version = Edition.objects.get(pk=draft.pk).version

    far = geometry.from_metric(shapely.LineString([(maxx + 10_000, miny - 100), (maxx + 10_000, maxy + 100)]))
    with pytest.raises(editions.EditionError, match="does not cut"):
        editing.split(draft, village.code, far, version=version)

    cx = (minx + maxx) / 2
    line = geometry.from_metric(shapely.LineString([(cx, miny - 100), (cx, maxy + 100)]))
    result = editing.split(draft, village.code, line, version=version)
    kept = geometry.from_geos(Grid.objects.get(edition=draft, code=village.code).geom)
    new = geometry.from_geos(Grid.objects.get(edition=draft, code=result["new_code"]).geom)
    # The exclave the line never touched stays with the grid, and no land is lost.
    assert kept.covers(shapely.point_on_surface(exclave)) and not new.intersects(exclave)
    assert geometry.area_m2(kept) + geometry.area_m2(new) == pytest.approx(geometry.area_m2(two), rel=1e-6)


def test_reshape_says_how_much_of_the_drawing_lay_outside_the_parent(heyang_db):
    draft = editions.create_draft("越界绘制")
    village = _village(draft)
    geom = geometry.from_geos(village.geom)
    parent = geometry.from_geos(village.parent.geom)
    m = geometry.to_metric(parent)
    minx, miny, maxx, maxy = m.bounds
    # The village's own shape plus a square wholly outside its town.
    outside = geometry.from_metric(shapely.box(maxx + 1000, miny, maxx + 1200, miny + 200))
    drawing = shapely.MultiPolygon(list(shapely.get_parts(geom)) + [outside])
    result = editing.set_geometry(draft, village.code, drawing, version=Edition.objects.get(pk=draft.pk).version)
    assert result["clipped_m2"] == pytest.approx(40_000, rel=0.01)


# ------------------------------------------------------------------------------------------
# the SQL cross-check agrees on where


def test_sql_cross_check_reports_the_same_invalid_grid_and_point():
    from django.db import connection

    from gisgrid.boundaries.validation_sql import create_grid_table, sql_invalid

    bow = bowtie_m()
    feats = [validation.GridFeature("610524902", 1, None, bow),
             validation.GridFeature("610524903", 1, None, box_m(2000, 0, 3000, 1000))]
    pure = [f for f in validation.validate(feats, None) if f.kind == "invalid"]
    with connection.cursor() as cur:
        create_grid_table(cur, "scratch_invalid", feats)
        sql = sql_invalid(cur, "scratch_invalid")
        cur.execute("DROP TABLE scratch_invalid")
    assert [f.codes for f in sql] == [f.codes for f in pure] == [["610524902"]]
    assert shapely.get_coordinates(sql[0].geometry)[0] == pytest.approx(
        shapely.get_coordinates(pure[0].geometry)[0], abs=1e-9)


# ------------------------------------------------------------------------------------------
# the planner page


@pytest.mark.browser
def test_planner_lists_an_invalid_grid_at_its_location(page, live_server):  # noqa: F811
    draft_id = open_draft(page, live_server)
    draft = Edition.objects.get(pk=draft_id)
    village = _village(draft)
    bad = _break(draft, village.code)
    x, y = crossing(bad)

    page.click("#validate")
    page.wait_for_function("document.querySelector('#findings-list li[data-kind=invalid]') !== null")
    wait_idle(page)
    item = page.locator("#findings-list li[data-kind=invalid]")
    assert item.count() == 1
    text = item.inner_text()
    assert village.code in text and "Self-intersection" in text
    assert f"{x:.6f}, {y:.6f}" in text
    assert int(page.locator("#findings-summary").get_attribute("data-errors")) >= 1
    # The location is drawn as a ring marker on the findings pane; clicking the entry flies there.
    assert page.locator(".leaflet-findings-pane path.leaflet-interactive").count() >= 1
    item.locator("button").click()
    center = page.evaluate("(() => { const c = gisgridPlanner.map.getCenter(); return [c.lng, c.lat]; })()")
    assert center == pytest.approx([x, y], abs=1e-4)
    page.screenshot(path="/tmp/planner-invalid.png")
    assert not page.errors, page.errors


@pytest.mark.browser
def test_planner_import_refuses_an_invalid_layer_then_repairs_and_lists_it(page, live_server, tmp_path):  # noqa: F811
    draft_id = open_draft(page, live_server)
    draft = Edition.objects.get(pk=draft_id)
    village = _village(draft)
    bad = knotted(geometry.from_geos(village.geom))
    x, y = crossing(bad)
    path = write_geojson(tmp_path / "knot.geojson", [{"code": village.code, "name": village.name, "level": 2,
                                                      "geometry": bad}])
    version = draft.version

    page.set_input_files("#import-file", str(path))
    page.click("#import-submit")
    page.wait_for_function("document.getElementById('status').classList.contains('error')")
    wait_idle(page)
    assert "Self-intersection" in page.locator("#status").inner_text()
    item = page.locator("#findings-list li[data-kind=invalid]")
    assert item.count() == 1 and f"{x:.6f}, {y:.6f}" in item.inner_text()
    assert Edition.objects.get(pk=draft_id).version == version

    page.check("#import-repair")
    page.set_input_files("#import-file", str(path))
    page.click("#import-submit")
    page.wait_for_function(f"document.documentElement.dataset.version === '{version + 1}'")
    wait_idle(page)
    assert page.evaluate("document.documentElement.dataset.repairs") == "1"
    assert "已修复无效图形 1" in page.locator("#status").inner_text()
    repaired = page.locator("#findings-list li[data-kind=repaired]")
    assert repaired.count() == 1
    assert village.code in repaired.inner_text() and f"{x:.6f}, {y:.6f}" in repaired.inner_text()
    page.screenshot(path="/tmp/planner-repaired.png")
    assert not page.errors, page.errors


def test_admin_grid_form_refuses_a_bow_tie_naming_the_point(heyang_db):
    from django.contrib import admin
    from django.contrib.auth.models import User
    from django.forms.models import model_to_dict
    from django.test import RequestFactory

    from gisgrid.boundaries import editions
    from gisgrid.boundaries.models import Grid

    draft = editions.create_draft("admin bow-tie")
    grid = Grid.objects.filter(edition=draft, level=3).order_by("code").first()
    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(username="admin")
    # The form the admin itself builds (its Leaflet widget reads GeoJSON in WGS-84).
    GridForm = admin.site._registry[Grid].get_form(request, grid)  # noqa: N806
    data = {k: v for k, v in model_to_dict(grid).items() if v is not None}
    # A bow-tie whose rings cross at (110.15, 35.24).
    data["geom"] = json.dumps({"type": "MultiPolygon", "coordinates": [[
        [[110.14, 35.23], [110.16, 35.25], [110.16, 35.23], [110.14, 35.25], [110.14, 35.23]]]]})
    form = GridForm(data=data, instance=grid)
    assert not form.is_valid()
    message = " ".join(form.errors["geom"])
    assert "Self-intersection" in message and "110.150000, 35.240000" in message
    # The same grid with its own (valid) shape passes the form's geometry check.
    data["geom"] = grid.geom.json
    form = GridForm(data=data, instance=grid)
    form.is_valid()
    assert "geom" not in form.errors
