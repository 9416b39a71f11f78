"""`./run manage import_places FILE`: a county's own landmark list (CSV, GeoJSON, GeoPackage, with
a field map, in any datum) into the gazetteer, all or nothing; and the Heyang landmarks that
load_heyang brings along."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from django.core.management import CommandError, call_command

from gisgrid.boundaries.datums import wgs84_to_gcj02
from gisgrid.boundaries.gazetteer import geocode
from gisgrid.boundaries.models import Place
from gisgrid.boundaries.place_index import INDEX

HEYANG = Path(__file__).resolve().parent.parent / "geodata" / "heyang"


@pytest.fixture
def fresh_index(heyang_db):
    # Inside a test's transaction on_commit never runs: clear the index by hand, before and after
    # (the rolled-back rows must not outlive the test in this process's index).
    INDEX.clear()
    yield
    INDEX.clear()


def points_in(code: str, n: int) -> list[tuple[float, float]]:
    """`n` WGS-84 points inside the level-2 grid `code` of the Heyang file."""
    grids = json.loads((HEYANG / "grids.geojson").read_text(encoding="utf-8"))["features"]
    g = shapely.geometry.shape(next(f["geometry"] for f in grids if f["properties"]["code"] == code))
    pts = shapely.get_coordinates(g.representative_point())[0]
    return [(float(pts[0]) + i * 1e-5, float(pts[1])) for i in range(n)]


ROWS = [("城北新区便民服务站", "government", "便民站|服务站"), ("育英双语学校", "学校", "育英学校、双语学校"),
        ("康泰口腔诊所", "clinic", "")]


def write_csv(path: Path, rows, *, gcj02: bool = False, header=("MC", "LB", "BM", "X", "Y")) -> Path:
    pts = points_in("610524001016", len(rows))
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for (name, cat, aliases), (x, y) in zip(rows, pts, strict=True):
            if gcj02:
                gx, gy = wgs84_to_gcj02(np.array([x]), np.array([y]))
                x, y = float(gx[0]), float(gy[0])
            w.writerow([name, cat, aliases, x, y])
    return path


MAP = "name=MC,category=LB,aliases=BM,lon=X,lat=Y"


def test_csv_with_field_map_in_gcj02(tmp_path, fresh_index) -> None:
    path = write_csv(tmp_path / "county.csv", ROWS, gcj02=True)
    call_command("import_places", str(path), "--map", MAP, "--crs", "gcj02")
    rows = {p.name: p for p in Place.objects.filter(source="county.csv")}
    assert set(rows) == {r[0] for r in ROWS}
    assert rows["育英双语学校"].category == "school" and rows["育英双语学校"].alias_list() == ["育英学校", "双语学校"]
    assert rows["城北新区便民服务站"].kind == "landmark"
    want = points_in("610524001016", len(ROWS))
    got = rows["城北新区便民服务站"].point
    assert (got.x, got.y) == pytest.approx(want[0], abs=1e-6)  # GCJ-02 converted back to WGS-84
    INDEX.clear()
    top = geocode("育英学校门口", 3).places[0]
    assert top["name"] == "育英双语学校" and top["kind_label"] == "学校"
    # Importing the same source again replaces its rows instead of adding them.
    call_command("import_places", str(path), "--map", MAP, "--crs", "gcj02")
    assert Place.objects.filter(source="county.csv").count() == len(ROWS)


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_vector_files(tmp_path, fresh_index, fmt) -> None:
    pts = points_in("610524001016", len(ROWS))
    frame = gpd.GeoDataFrame({"MC": [r[0] for r in ROWS], "LB": [r[1] for r in ROWS], "BM": [r[2] for r in ROWS]},
                             geometry=[shapely.Point(p) for p in pts], crs="EPSG:4326")
    path = tmp_path / f"list.{fmt}"
    frame.to_file(path, driver="GeoJSON" if fmt == "geojson" else "GPKG")
    call_command("import_places", str(path), "--map", "name=MC,category=LB,aliases=BM")
    assert Place.objects.filter(source=path.name).count() == len(ROWS)
    INDEX.clear()
    assert geocode("康泰口腔诊所", 1).places[0]["name"] == "康泰口腔诊所"


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str, list[str]]]:
    """name -> (file, expected words in the message, extra args)."""
    out = {}
    out["missing column"] = (write_csv(tmp_path / "a.csv", ROWS, header=("MC", "LB", "BM", "X", "LAT")), "lat", [])
    out["unknown category"] = (write_csv(tmp_path / "b.csv", [*ROWS, ("某某", "spaceport", "")]), "spaceport", [])
    out["empty name"] = (write_csv(tmp_path / "c.csv", [*ROWS, ("", "school", "")]), "name", [])
    out["repeated row"] = (write_csv(tmp_path / "d.csv", [*ROWS, ROWS[0]]), "repeats", [])
    p = tmp_path / "e.csv"
    p.write_text("MC,LB,BM,X,Y\n甲,school,,东经110,35.2\n", encoding="utf-8")
    out["coordinates not numbers"] = (p, "not numbers", [])
    p = tmp_path / "f.csv"
    p.write_text("", encoding="utf-8")
    out["empty file"] = (p, "empty", [])
    p = tmp_path / "g.csv"
    x, y = points_in("610524001016", 1)[0]
    p.write_text(f"MC,LB,BM,X,Y\n甲,school,,{y},{x}\n", encoding="utf-8")
    out["lon/lat swapped"] = (p, "swapped", [])
    p = tmp_path / "g2.csv"
    p.write_text(f"MC,LB,BM,X,Y\n甲,school,,{x + 1.0},{y}\n", encoding="utf-8")  # across the Yellow River
    out["outside the county"] = (p, "outside", [])
    p = tmp_path / "h.geojson"
    p.write_text("{not json", encoding="utf-8")
    out["not a vector file"] = (p, "cannot read", [])
    out["no such file"] = (tmp_path / "nope.csv", "no such file", [])
    out["bad map"] = (write_csv(tmp_path / "i.csv", ROWS), "unknown target", ["--map", "colour=MC"])
    return out


def test_bad_files_are_refused_whole(tmp_path, fresh_index) -> None:
    before = Place.objects.count()
    for label, (path, words, extra) in bad_files(tmp_path).items():
        args = extra or ["--map", MAP]
        with pytest.raises(CommandError) as exc:
            call_command("import_places", str(path), *args)
        assert words in str(exc.value), (label, str(exc.value))
        assert Place.objects.count() == before, f"{label}: something was written"


def test_dry_run_writes_nothing(tmp_path, fresh_index) -> None:
    path = write_csv(tmp_path / "county.csv", ROWS)
    before = Place.objects.count()
    call_command("import_places", str(path), "--map", MAP, "--dry-run")
    assert Place.objects.count() == before


def test_load_heyang_brings_the_landmarks(heyang_db) -> None:
    features = json.loads((HEYANG / "places.geojson").read_text(encoding="utf-8"))["features"]
    stored = {p.name: p for p in Place.objects.filter(kind="landmark", source="heyang/places.geojson")}
    assert len(stored) == len(features)
    for f in features:
        p = stored[f["properties"]["name"]]
        assert p.category == f["properties"]["category"]
        assert p.alias_list() == f["properties"]["aliases"]
        assert (p.point.x, p.point.y) == pytest.approx(f["geometry"]["coordinates"], abs=1e-7)
    kinds = {f["properties"]["category"] for f in features}
    assert kinds >= {"school", "hospital", "clinic", "market", "square", "government", "bus_station", "scenic"}


def test_generated_landmarks_are_reproducible(tmp_path) -> None:
    """geodata/heyang/places.geojson is what geodata/generate_places.py writes (byte for byte)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate_places", HEYANG.parent / "generate_places.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.generate(tmp_path)
    assert out.read_bytes() == (HEYANG / "places.geojson").read_bytes()
