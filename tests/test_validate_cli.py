"""The validate_grids command: the JSON contract and its exit status, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape

ROOT = Path(__file__).resolve().parent.parent
GRIDS = ROOT / "geodata" / "heyang" / "grids.geojson"


def _run(path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "validate_grids", str(path), "--format", "json", *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_clean_heyang_exits_zero_with_blind_spots_only():
    proc = _run(GRIDS)
    assert proc.returncode == 0, proc.stderr
    findings = json.loads(proc.stdout)
    assert findings and {f["kind"] for f in findings} == {"blind_spot"}
    for f in findings:
        assert set(f) >= {"kind", "level", "codes", "area_m2", "geometry"}
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_overlap_and_gap_exit_one(tmp_path):
    data = json.loads(GRIDS.read_text(encoding="utf-8"))
    feats = {f["properties"]["code"]: f for f in data["features"]}
    victim = feats["610524102003"]
    # Shrink one village by ~30 m: a gap in its town, named with its code.
    geom = shape(victim["geometry"])
    victim["geometry"] = mapping(shapely.buffer(geom, -0.0003))
    out = tmp_path / "grids.geojson"
    out.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "county.geojson").write_text((GRIDS.parent / "county.geojson").read_text(encoding="utf-8"),
                                             encoding="utf-8")
    proc = _run(out)
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)
    gaps = [f for f in findings if f["kind"] in ("gap", "sliver") and f["level"] == 2]
    assert gaps and all("610524102003" in f["codes"] for f in gaps)
    assert sum(f["area_m2"] for f in gaps) > 10_000


def test_unreadable_file_exits_two(tmp_path):
    empty = tmp_path / "empty.geojson"
    empty.write_text("")
    proc = _run(empty)
    assert proc.returncode == 2
    assert "empty" in proc.stderr
