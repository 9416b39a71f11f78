"""Any county can load its own grids: a made-up county with its own codes, outline and name."""

from __future__ import annotations

import json

from django.core.management import call_command
from shapely.geometry import box, mapping

from gisgrid.boundaries import editions, locate


def _county(tmp_path):
    # 澄城县 610525, west of Heyang: two towns, each split into two villages.
    x0, y0 = 109.80, 35.10
    towns = {"610525001": box(x0, y0, x0 + 0.1, y0 + 0.1), "610525101": box(x0 + 0.1, y0, x0 + 0.2, y0 + 0.1)}
    feats = []
    for code, g in towns.items():
        feats.append({"type": "Feature", "geometry": mapping(g),
                      "properties": {"DM": code, "MC": f"镇{code[-3:]}", "JB": 1, "SJ": None}})
        minx, miny, maxx, maxy = g.bounds
        for i, v in enumerate((box(minx, miny, maxx, (miny + maxy) / 2), box(minx, (miny + maxy) / 2, maxx, maxy))):
            feats.append({"type": "Feature", "geometry": mapping(v),
                          "properties": {"DM": f"{code}{i + 1:03d}", "MC": f"村{code[-3:]}{i + 1}", "JB": 2, "SJ": code}})
    grids = tmp_path / "grids.geojson"
    grids.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False), encoding="utf-8")
    outline = tmp_path / "county.geojson"
    outline.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": mapping(box(x0, y0, x0 + 0.2, y0 + 0.1))}))
    return grids, outline


def test_import_publish_and_locate_another_county(heyang_db, tmp_path, anon_client):
    grids, outline = _county(tmp_path)
    call_command("import_grids", str(grids), map="code=DM,name=MC,level=JB,parent_code=SJ", county=str(outline),
                 county_name="澄城县", name="澄城县 2026", publish=True)
    active = editions.active_edition()
    assert active.county_code == "610525"  # inferred from the level-1 codes
    assert active.county_name == "澄城县"
    assert editions.grid_count_by_level(active) == {1: 2, 2: 4}
    _, answers = locate.locate([109.95], [35.12])
    assert [g["code"] for g in answers[0]["grids"]] == ["610525101", "610525101001"]
    assert answers[0]["status"] == "inside"
    county = anon_client.get("/api/v1/county").json()["features"][0]["properties"]
    assert county["code"] == "610525" and county["name"] == "澄城县"
    # Heyang is now outside the active edition
    _, answers = locate.locate([110.1449], [35.2385])
    assert answers[0]["status"] == "outside"
