"""import_grids / export_grids: round trips per format, other CRSs, field maps, and bad input.

Every bad file must raise CommandError naming the file, feature or field, and leave the
database exactly as it was (all or nothing).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError
from prcoords import wgs_gcj

from gisgrid.boundaries import geometry, importing
from gisgrid.boundaries.models import Edition, Grid, Unit

ROOT = Path(__file__).resolve().parent.parent
SEAT = (110.1449, 35.2385)  # the county seat, WGS-84
SEAT_M = shapely.get_coordinates(geometry.to_metric(shapely.Point(*SEAT)))[0]

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------------------
# helpers


def run_import(path, *args, **options) -> tuple[Edition, str, str]:
    """call_command('import_grids'); returns the draft edition it reports, stdout and stderr."""
    out, err = StringIO(), StringIO()
    call_command("import_grids", str(path), *args, stdout=out, stderr=err, **options)
    m = re.search(r"imported (\d+) grids into draft edition (\d+)", out.getvalue())
    assert m, out.getvalue()
    edition = Edition.objects.get(pk=int(m.group(2)))
    assert edition.status == Edition.Status.DRAFT
    return edition, out.getvalue(), err.getvalue()


def export(tmp_path: Path, fmt: str, **options) -> list[Path]:
    out = StringIO()
    call_command("export_grids", str(tmp_path), format=fmt, stdout=out, **options)
    paths = [Path(line) for line in out.getvalue().split()]
    assert paths and all(p.exists() for p in paths), out.getvalue()
    return paths


def active() -> Edition:
    return Edition.objects.get(status=Edition.Status.ACTIVE)


def grid_table(edition: Edition) -> dict[str, dict]:
    return {
        g.code: {
            "name": g.name, "level": g.level, "kind": g.kind, "unit": g.unit.name if g.unit_id else None,
            "parent": g.parent.code if g.parent_id else None, "area": g.area_m2, "urban": g.urban,
            "geom": geometry.from_geos(g.geom),
        }
        for g in Grid.objects.filter(edition=edition).select_related("parent", "unit")
    }


def sym_diff_m2(a: list, b: list) -> np.ndarray:
    a = np.array(a, dtype=object)
    b = np.array(b, dtype=object)
    return shapely.area(geometry.to_metric(shapely.symmetric_difference(a, b)))


def assert_same_grids(original: dict[str, dict], imported: dict[str, dict], *, codes=None, geom_m2: float = 1.0):
    codes = sorted(codes if codes is not None else original)
    assert sorted(imported) == codes
    for code in codes:
        o, n = original[code], imported[code]
        assert (n["name"], n["level"], n["parent"], n["kind"]) == (o["name"], o["level"], o["parent"], o["kind"]), code
        assert n["area"] == pytest.approx(o["area"], rel=1e-3), code
    diffs = sym_diff_m2([original[c]["geom"] for c in codes], [imported[c]["geom"] for c in codes])
    worst = int(np.argmax(diffs))
    assert diffs[worst] < geom_m2, f"{codes[worst]}: symmetric difference {diffs[worst]:.3f} m²"


def db_counts() -> tuple[int, int, int]:
    return Edition.objects.count(), Grid.objects.count(), Unit.objects.count()


def assert_rejected(path, *args, needles: list[str], **options) -> str:
    """The import fails with a CommandError whose message contains every needle; DB unchanged."""
    before = db_counts()
    with pytest.raises(CommandError) as excinfo:
        call_command("import_grids", str(path), *args, stdout=StringIO(), stderr=StringIO(), **options)
    message = str(excinfo.value)
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    assert db_counts() == before
    return message


def box_m(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A rectangle given in metres east/north of the county seat, returned in lon/lat."""
    return geometry.from_metric(shapely.box(SEAT_M[0] + x0, SEAT_M[1] + y0, SEAT_M[0] + x1, SEAT_M[1] + y1))


def write_geojson(path: Path, features: list[dict], crs: str | None = None) -> Path:
    """features: dicts of properties plus a shapely 'geometry' (lon/lat)."""
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {k: v for k, v in f.items() if k != "geometry"},
                "geometry": shapely.geometry.mapping(f["geometry"]),
            }
            for f in features
        ],
    }
    if crs:
        fc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    return path


def heyang_frame(level: int | None = None) -> gpd.GeoDataFrame:
    frame = gpd.read_file(ROOT / "geodata" / "heyang" / "grids.geojson")
    frame["code"] = frame["code"].astype(str)
    return frame if level is None else frame[frame["level"] == level].reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp"])
def test_round_trip_per_level_files(heyang_db, tmp_path, fmt):
    original = grid_table(active())
    paths = export(tmp_path, fmt)
    assert [p.name for p in paths] == [f"grids_level{n}.{'geojson' if fmt == 'geojson' else fmt}" for n in (1, 2, 3)]

    for level, path in zip((1, 2, 3), paths, strict=True):
        frame = gpd.read_file(path)
        assert len(frame) == sum(1 for g in original.values() if g["level"] == level)
        assert frame.crs is not None and frame.crs.to_epsg() == 4326

    draft, out, _ = run_import(paths[0], name=f"round trip {fmt}")
    assert draft.name == f"round trip {fmt}"
    run_import(paths[1], into=draft.pk)
    run_import(paths[2], into=draft.pk)

    imported = grid_table(draft)
    assert_same_grids(original, imported)
    assert {c: g["unit"] for c, g in imported.items()} == {c: g["unit"] for c, g in original.items()}
    # urban is derived from the level-3 grids drawn over a community, not carried in the file.
    assert {c for c, g in imported.items() if g["urban"]} == {c for c, g in original.items() if g["urban"]}
    # The active edition is untouched by importing a copy of it.
    assert grid_table(active()).keys() == original.keys()


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp"])
def test_exported_parent_column_is_read_back(heyang_db, tmp_path, fmt):
    """The parent column an export writes is the one an import reads, in every format.

    (Parents could also be guessed from the code prefix; this checks the file's own column.)
    """
    path = export(tmp_path, fmt, level=[2])[0]
    read = importing.read_grid_file(path)
    expected = {g.code: g.parent.code for g in Grid.objects.filter(edition=active(), level=2).select_related("parent")}
    assert {r.code: r.parent_code for r in read.rows} == expected


def test_round_trip_combined_file(heyang_db, tmp_path):
    original = grid_table(active())
    paths = export(tmp_path, "gpkg")
    combined = gpd.GeoDataFrame(
        gpd.pd.concat([gpd.read_file(p) for p in paths], ignore_index=True), crs="EPSG:4326"
    )
    # Children before parents in the file: the importer must not depend on order.
    combined = combined.iloc[::-1].reset_index(drop=True)
    path = tmp_path / "all.gpkg"
    combined.to_file(path, driver="GPKG", engine="pyogrio")

    draft, out, _ = run_import(path)
    assert f"imported {len(original)} grids" in out
    assert_same_grids(original, grid_table(draft))


def test_export_single_level_and_bad_edition(heyang_db, tmp_path):
    paths = export(tmp_path, "geojson", level=[3])
    assert [p.name for p in paths] == ["grids_level3.geojson"]
    data = json.loads(paths[0].read_text(encoding="utf-8"))
    assert {f["properties"]["level"] for f in data["features"]} == {3}
    with pytest.raises(CommandError, match="no such edition"):
        call_command("export_grids", str(tmp_path / "x"), edition=10**9, stdout=StringIO())


# ------------------------------------------------------------------------------------------
# coordinate systems


def test_import_from_projected_crs(heyang_db, tmp_path):
    original = grid_table(active())
    level1 = heyang_frame(1).to_crs("EPSG:4546")
    path = tmp_path / "level1_4546.gpkg"
    level1.to_file(path, driver="GPKG", engine="pyogrio")
    assert gpd.read_file(path).crs.to_epsg() == 4546

    draft, out, _ = run_import(path)
    assert "4546" in out
    codes = [c for c, g in original.items() if g["level"] == 1]
    imported = grid_table(draft)
    assert_same_grids(original, imported, codes=codes)
    minx, miny, maxx, maxy = shapely.union_all([g["geom"] for g in imported.values()]).bounds
    assert 109 < minx < maxx < 111 and 34 < miny < maxy < 36


def test_source_crs_for_a_file_without_one(heyang_db, tmp_path):
    original = grid_table(active())
    path = tmp_path / "level1.shp"
    heyang_frame(1).drop(columns="parent_code").to_crs("EPSG:4546").to_file(path, engine="pyogrio", encoding="UTF-8")
    path.with_suffix(".prj").unlink()
    assert gpd.read_file(path).crs is None

    assert_rejected(path, needles=["no CRS", "--source-crs"])

    draft, _, _ = run_import(path, source_crs="EPSG:4546")
    assert_same_grids(original, grid_table(draft), codes=[c for c, g in original.items() if g["level"] == 1])


def test_gcj02_shifted_copy_comes_back_within_half_a_metre(heyang_db, tmp_path):
    level1 = heyang_frame(1)

    def shift(geom):
        return shapely.transform(geom, lambda xy: np.array([wgs_gcj((lat, lon))[::-1] for lon, lat in xy]))

    shifted = level1.copy()
    shifted["geometry"] = [shift(g) for g in level1.geometry]
    # The obfuscation moves Heyang by hundreds of metres: a file that is not converted is far off.
    offset = shapely.distance(
        geometry.to_metric(shapely.Point(shapely.get_coordinates(level1.geometry.iloc[0])[0])),
        geometry.to_metric(shapely.Point(shapely.get_coordinates(shifted.geometry.iloc[0])[0])),
    )
    assert offset > 100
    path = tmp_path / "level1_gcj02.geojson"
    shifted.to_file(path, driver="GeoJSON", engine="pyogrio")

    draft, _, err = run_import(path, gcj02=True)
    assert "GCJ-02" in err
    imported = grid_table(draft)
    assert sorted(imported) == sorted(level1["code"])
    for code, geom in zip(level1["code"], level1.geometry, strict=True):
        want = shapely.get_coordinates(geometry.to_metric(geom))
        got = shapely.get_coordinates(geometry.to_metric(imported[code]["geom"]))
        assert got.shape == want.shape, code
        worst = float(np.max(np.hypot(*(got - want).T)))
        assert worst < 0.5, f"{code}: a vertex is {worst:.3f} m off after --gcj02"


# ------------------------------------------------------------------------------------------
# field mapping


def test_field_map(heyang_db, tmp_path):
    original = grid_table(active())
    frame = heyang_frame().rename(columns={"code": "WGBM", "name": "WGMC", "level": "CJ", "parent_code": "SJBM"})
    path = tmp_path / "mapped.gpkg"
    frame.to_file(path, driver="GPKG", engine="pyogrio")

    # Without the map the default field names are missing, and the message lists what is there.
    message = assert_rejected(path, needles=[str(path), "code (field 'code')", "name (field 'name')", "WGBM"])
    assert "level (field 'level')" in message

    mapping = "code=WGBM,name=WGMC,level=CJ,parent_code=SJBM"
    read = importing.read_grid_file(path, importing.FieldMap.parse(mapping))
    assert {r.code: r.parent_code for r in read.rows if r.level > 1} == {
        c: g["parent"] for c, g in original.items() if g["level"] > 1
    }
    draft, _, _ = run_import(path, map=mapping)
    assert_same_grids(original, grid_table(draft))


def test_bad_field_map_is_rejected(heyang_db, tmp_path):
    path = export(tmp_path, "geojson", level=[1])[0]
    assert_rejected(path, map="code", needles=["--map", "'code'"])
    assert_rejected(path, map="kode=WGBM", needles=["--map", "kode"])


# ------------------------------------------------------------------------------------------
# bad input: CommandError naming the problem, database unchanged


def town(code="610524901", name="测试镇", level=1, geometry=None, **extra) -> dict:
    return {"code": code, "name": name, "level": level, "geometry": geometry or box_m(0, 0, 1000, 1000), **extra}


def test_empty_file(heyang_db, tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_bytes(b"")
    assert_rejected(path, needles=[str(path), "empty"])


def test_missing_file(heyang_db, tmp_path):
    assert_rejected(tmp_path / "nope.geojson", needles=["nope.geojson", "no such file"])


def test_feature_collection_without_features(heyang_db, tmp_path):
    path = write_geojson(tmp_path / "none.geojson", [])
    assert_rejected(path, needles=[str(path), "no features"])


def test_not_a_vector_file(heyang_db, tmp_path):
    path = tmp_path / "garbage.geojson"
    path.write_text("this is not json", encoding="utf-8")
    assert_rejected(path, needles=[str(path), "cannot read"])


def test_file_without_mapped_fields(heyang_db, tmp_path):
    path = write_geojson(tmp_path / "fields.geojson", [{"WGBM": "610524901", "MC": "x", "geometry": box_m(0, 0, 10, 10)}])
    assert_rejected(path, needles=[str(path), "code (field 'code')", "WGBM"])
    assert_rejected(path, map="code=WGBM,name=WGMC", needles=["name (field 'WGMC')"])


def test_unknown_source_crs(heyang_db, tmp_path):
    path = write_geojson(tmp_path / "one.geojson", [town()])
    assert_rejected(path, source_crs="EPSG:999999", needles=["EPSG:999999", "CRS"])


def test_bowtie_polygon_rejected_and_repaired(heyang_db, tmp_path):
    bowtie = geometry.from_metric(
        shapely.Polygon([(SEAT_M[0], SEAT_M[1]), (SEAT_M[0] + 1000, SEAT_M[1] + 1000),
                         (SEAT_M[0] + 1000, SEAT_M[1]), (SEAT_M[0], SEAT_M[1] + 1000)])
    )
    assert not bowtie.is_valid
    path = write_geojson(tmp_path / "bowtie.geojson", [town(code="610524902", name="蝴蝶镇", geometry=bowtie)])
    assert_rejected(path, needles=["610524902", "invalid geometry", "--repair"])

    editions, grids, _ = db_counts()
    draft, _, err = run_import(path, repair=True)
    assert "warning" in err and "610524902" in err and "repaired" in err
    assert db_counts()[:2] == (editions + 1, grids + 1)
    grid = Grid.objects.get(edition=draft, code="610524902")
    geom = geometry.from_geos(grid.geom)
    assert geom.is_valid and len(geom.geoms) == 2
    # Two triangles of half a square kilometre's quarter each.
    assert grid.area_m2 == pytest.approx(500_000, rel=0.01)


def test_child_sticking_out_of_its_parent(heyang_db, tmp_path):
    parent = town()
    inside = {"code": "610524901001", "name": "里村", "level": 2, "parent_code": "610524901",
              "geometry": box_m(0, 0, 500, 500)}
    outside = dict(inside, code="610524901002", name="外村", geometry=box_m(500, -100, 1000, 500))
    path = write_geojson(tmp_path / "out.geojson", [parent, inside, outside])
    message = assert_rejected(path, needles=["610524901002", "outside its parent 610524901"])
    assert "610524901001" not in message
    area = float(re.search(r"([\d,.]+) m²", message).group(1).replace(",", ""))
    assert area == pytest.approx(500 * 100, rel=0.01)

    # The same child 100 m inside instead is fine.
    ok = dict(outside, geometry=box_m(500, 100, 1000, 500))
    draft, _, _ = run_import(write_geojson(tmp_path / "ok.geojson", [parent, inside, ok]))
    assert Grid.objects.get(edition=draft, code="610524901002").parent.code == "610524901"


def test_child_outside_a_parent_already_in_the_draft(heyang_db, tmp_path):
    draft, _, _ = run_import(write_geojson(tmp_path / "l1.geojson", [town()]))
    child = {"code": "610524901003", "name": "越界村", "level": 2, "geometry": box_m(900, 0, 1100, 200)}
    path = write_geojson(tmp_path / "l2.geojson", [child])
    assert_rejected(path, into=draft.pk, needles=["610524901003", "outside its parent 610524901"])


def test_duplicate_codes(heyang_db, tmp_path):
    path = write_geojson(tmp_path / "dup.geojson", [town(), town(name="重复镇", geometry=box_m(2000, 0, 3000, 1000))])
    assert_rejected(path, needles=["duplicate code 610524901", "feature #2"])


def test_codes_already_in_the_target_draft(heyang_db, tmp_path):
    path = write_geojson(tmp_path / "l1.geojson", [town()])
    draft, _, _ = run_import(path)
    assert_rejected(path, into=draft.pk, needles=["610524901", f"edition {draft.pk}"])


def test_level_seven(heyang_db, tmp_path):
    path = write_geojson(tmp_path / "l7.geojson", [town(code="610524903", level=7)])
    assert_rejected(path, needles=["610524903", "level", "7"])


def test_unknown_parent_and_wrong_parent_level(heyang_db, tmp_path):
    child = {"code": "610524901001", "name": "孤村", "level": 2, "parent_code": "610524999",
             "geometry": box_m(0, 0, 100, 100)}
    path = write_geojson(tmp_path / "orphan.geojson", [town(), child])
    assert_rejected(path, needles=["610524901001", "parent 610524999 not found"])

    grandchild = {"code": "610524901001001", "name": "跳级网格", "level": 3, "parent_code": "610524901",
                  "geometry": box_m(0, 0, 100, 100)}
    path = write_geojson(tmp_path / "skip.geojson", [town(), grandchild])
    assert_rejected(path, needles=["610524901001001", "level 1", "expected 2"])


def test_into_rejects_active_and_missing_editions(heyang_db, tmp_path):
    path = write_geojson(tmp_path / "l1.geojson", [town()])
    assert_rejected(path, into=active().pk, needles=[f"edition {active().pk}", "active", "draft"])
    assert_rejected(path, into=10**9, needles=["--into", str(10**9)])


def test_non_polygon_geometry(heyang_db, tmp_path):
    path = write_geojson(tmp_path / "pt.geojson", [town(code="610524904", geometry=shapely.Point(*SEAT))])
    assert_rejected(path, needles=["610524904", "Point", "polygon"])


def test_unknown_kind(heyang_db, tmp_path):
    path = write_geojson(tmp_path / "kind.geojson", [town(code="610524905", kind="castle")])
    assert_rejected(path, needles=["610524905", "kind", "castle"])


# ------------------------------------------------------------------------------------------
# the real command line


def test_manage_py_exits_non_zero_with_the_message_on_stderr(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_bytes(b"")
    proc = subprocess.run(
        [sys.executable, "manage.py", "import_grids", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    assert str(path) in proc.stderr and "empty" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "imported" not in proc.stdout
