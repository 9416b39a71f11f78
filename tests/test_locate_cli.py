"""./run manage locate: one point as JSON, or a CSV batch; bad input is a CommandError."""

from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from gisgrid.boundaries.datums import from_wgs84

HEYANG = Path(__file__).resolve().parent.parent / "geodata" / "heyang"


def grids() -> dict[str, dict]:
    fc = json.loads((HEYANG / "grids.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["code"]: dict(f["properties"], geom=shapely.geometry.shape(f["geometry"]))
            for f in fc["features"]}


def expected_chain(g: dict, lon: float, lat: float) -> list[str]:
    """Smallest covering code per level, among the children of the owner above."""
    pt = shapely.Point(lon, lat)
    chain: list[str] = []
    for lv in (1, 2, 3):
        cands = sorted(c for c, p in g.items() if p["level"] == lv and p["geom"].covers(pt)
                       and (lv == 1 or p["parent_code"] == chain[-1]))
        if not cands:
            break
        chain.append(cands[0])
    return chain


def run(*args, language: str | None = None) -> str:
    """The command's output; its messages follow the active language (zh-hans unless `language`)."""
    out = StringIO()
    with translation.override(language or "zh-hans"):
        call_command("locate", *args, stdout=out)
    return out.getvalue()


def test_single_point(heyang_db) -> None:
    a = json.loads(run("110.1449", "35.2385"))
    assert a["status"] == "inside"
    assert a["grids"][0]["name"] == "城关街道"
    assert [x["code"] for x in a["grids"]] == expected_chain(grids(), 110.1449, 35.2385)
    assert a["input"] == {"lon": 110.1449, "lat": 35.2385, "crs": "wgs84"}
    # The CLI is an operator's tool: phones are shown.
    assert all("phone" in s for s in a["staff"])


def test_single_point_gcj02(heyang_db) -> None:
    ref = json.loads(run("110.1449", "35.2385"))
    x, y = (float(v) for v in from_wgs84(110.1449, 35.2385, "gcj02"))
    a = json.loads(run(repr(x), repr(y), "--crs", "gcj02"))
    assert a["input"]["crs"] == "gcj02"
    assert a["grids"] == ref["grids"]
    assert a["wgs84"] == pytest.approx([110.1449, 35.2385], abs=2e-7)
    wrong = json.loads(run(repr(x), repr(y)))
    assert wrong["wgs84"] != a["wgs84"]


def test_single_point_errors(heyang_db) -> None:
    with pytest.raises(CommandError, match="LON LAT"):
        run("110.1449")
    with pytest.raises(CommandError, match="swapped"):
        run("35.2385", "110.1449", language="en")
    with pytest.raises(CommandError, match="颠倒"):
        run("35.2385", "110.1449")
    with pytest.raises(CommandError):
        run("110.1449", "35.2385", "--crs", "epsg4326")


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def test_csv_batch(heyang_db, tmp_path) -> None:
    g = grids()
    rng = np.random.default_rng(3)
    codes = sorted(g)
    rows = []
    for i, c in enumerate(rng.choice(codes, 19, replace=False)):
        pt = g[c]["geom"].point_on_surface()
        rows.append([repr(pt.x), repr(pt.y), f"点{i} {c}"])
    rows.insert(7, ["111.9", "36.9", "outside, 远处"])
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(src, ["lon", "lat", "name"], rows)
    assert run("--csv-in", str(src), "--csv-out", str(dst)) == ""
    with open(dst, encoding="utf-8", newline="") as f:
        out = list(csv.DictReader(f))
    assert len(out) == 20
    for row, o in zip(rows, out, strict=True):
        assert [o["lon"], o["lat"], o["name"]] == row
        chain = expected_chain(g, float(row[0]), float(row[1]))
        assert [o[f"level{lv}_code"] for lv in (1, 2, 3)] == chain + [""] * (3 - len(chain))
        assert [o[f"level{lv}_name"] for lv in (1, 2, 3)] == [g[c]["name"] for c in chain] + [""] * (3 - len(chain))
        if not chain:
            assert o["status"] == "outside" and o["unit"] == ""
        else:
            assert o["status"] in ("inside", "blind_spot")
            assert o["unit"]
        assert o["edition"].isdigit()
    assert out[7]["status"] == "outside"
    assert sum(o["status"] == "outside" for o in out) == 1


def test_csv_batch_custom_fields_and_stdout(heyang_db, tmp_path) -> None:
    src = tmp_path / "in.csv"
    x, y = (float(v) for v in from_wgs84(110.1449, 35.2385, "bd09"))
    write_csv(src, ["id", "x", "y"], [["a", repr(x), repr(y)]])
    text = run("--csv-in", str(src), "--lon-field", "x", "--lat-field", "y", "--crs", "bd09")
    (o,) = list(csv.DictReader(StringIO(text)))
    assert o["id"] == "a" and o["level1_name"] == "城关街道"
    assert o["level1_code"] == expected_chain(grids(), 110.1449, 35.2385)[0]


@pytest.mark.parametrize("header,rows,match", [
    (["lon", "latitude", "name"], [["110.1", "35.2", "x"]], "no column 'lat'"),
    (["lon", "lat"], [["110.1", "35.2"], ["110.1", "abc"]], "non-numeric"),
    (["lon", "lat"], [["110.1", ""]], "non-numeric"),
    (["lon", "lat"], [["110.1", "35.2"], ["181", "35.2"]], "out of range"),
    (["lon", "lat"], [["110.1", "nan"]], "finite"),
    (["lon", "lat"], [], "no rows"),
])
def test_bad_csv(heyang_db, tmp_path, header, rows, match) -> None:
    src = tmp_path / "bad.csv"
    write_csv(src, header, rows)
    with pytest.raises(CommandError, match=match):
        run("--csv-in", str(src), "--csv-out", str(tmp_path / "out.csv"), language="en")


def test_missing_csv_file(heyang_db, tmp_path) -> None:
    with pytest.raises(CommandError, match="--csv-in"):
        run("--csv-in", str(tmp_path / "nope.csv"))


def test_bad_row_beyond_the_first_chunk_is_named_by_its_index(heyang_db, tmp_path) -> None:
    from gisgrid.boundaries.management.commands.locate import CHUNK

    bad = CHUNK + 5
    rows = [["110.1449", "35.2385"]] * (CHUNK + 10)
    rows[bad] = ["110.1449", "95"]
    src = tmp_path / "big.csv"
    write_csv(src, ["lon", "lat"], rows)
    with pytest.raises(CommandError, match=f"at index {bad}\\b"):
        run("--csv-in", str(src), "--csv-out", str(tmp_path / "out.csv"), language="en")
    with pytest.raises(CommandError, match=f"第 {bad} 个点"):
        run("--csv-in", str(src), "--csv-out", str(tmp_path / "out.csv"))
    assert not (tmp_path / "out.csv").exists()  # nothing half-written
