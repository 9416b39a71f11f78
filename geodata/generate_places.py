"""Generate the Heyang demo landmarks: geodata/heyang/places.geojson.

GENERATED, plausible, not surveyed: the names follow how Chinese counties name their schools,
hospitals, markets, offices and stations (合阳县人民医院, X镇中心卫生院, X镇初级中学 ...); the
Qiachuan spots carry the scenic area's well-known names (处女泉, the 瀵 springs, the wetland and
its reed beds) but their points are placed at random inside the scenic-area grid, as all the
other points are inside the grid they belong to (the county town's communities for county-level
places, each town's seat community for the town's own). Deterministic: two runs give the same
bytes (fixed seed, fixed order, fixed formatting).

    .venv/bin/python geodata/generate_places.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import shapely
from shapely.geometry import shape

HERE = Path(__file__).resolve().parent
SEED = 610524

# County-level places in the county town: (category, name, aliases, community).
COUNTY_TOWN = [
    ("hospital", "合阳县人民医院", ["县医院", "人民医院", "县人民医院"], "泰山社区"),
    ("hospital", "合阳县中医医院", ["中医院", "县中医院"], "金水社区"),
    ("hospital", "合阳县妇幼保健院", ["妇幼保健院", "县妇幼"], "花园社区"),
    ("clinic", "城关街道社区卫生服务中心", ["城关卫生院", "社区医院"], "北街社区"),
    ("school", "合阳中学", ["县中学", "合阳县中学"], "环北社区"),
    ("school", "合阳县第二高级中学", ["合阳二中", "二中"], "百里社区"),
    ("school", "合阳县城关中学", ["城关中学"], "官庄社区"),
    ("school", "合阳县城关第一小学", ["城关一小", "一小"], "北街社区"),
    ("school", "合阳县城关第二小学", ["城关二小", "二小"], "郭村社区"),
    ("school", "合阳县职业教育中心", ["职教中心", "职中"], "百里社区"),
    ("school", "合阳县第一幼儿园", ["一幼", "县幼儿园"], "泰山社区"),
    ("market", "合阳县农贸市场", ["农贸市场", "大市场"], "金水社区"),
    ("market", "东街菜市场", ["东街市场", "东街菜市"], "郭村社区"),
    ("market", "北街综合市场", ["北街市场"], "北街社区"),
    ("square", "人民广场", ["县广场", "合阳广场"], "泰山社区"),
    ("square", "莘国文化广场", ["文化广场", "莘国广场"], "官庄社区"),
    ("square", "体育场广场", ["体育场", "体育广场"], "花园社区"),
    ("government", "合阳县人民政府", ["县政府", "合阳县政府"], "泰山社区"),
    ("government", "中共合阳县委员会", ["县委", "合阳县委"], "泰山社区"),
    ("government", "合阳县集成管理指挥中心", ["指挥中心", "县指挥中心"], "金水社区"),
    ("government", "合阳县公安局", ["公安局", "县公安局"], "环北社区"),
    ("government", "合阳县人民法院", ["县法院", "法院"], "官庄社区"),
    ("government", "合阳县市场监督管理局", ["市场监管局", "县市场监管局"], "百里社区"),
    ("government", "城关街道办事处", ["城关街道办", "街道办"], "北街社区"),
    ("bus_station", "合阳县汽车客运站", ["汽车站", "合阳汽车站", "县汽车站", "客运站"], "郭村社区"),
    ("bus_station", "合阳汽车北站", ["汽车北站", "北站"], "环北社区"),
]
# Every town's own offices and services, placed in its seat community ("甘井社区").
TOWN_PLACES = [
    ("government", "{t}人民政府", ["{t}政府", "{s}镇政府"]),
    ("clinic", "{t}中心卫生院", ["{s}卫生院", "{t}卫生院"]),
    ("school", "{t}中心小学", ["{s}小学", "{t}小学"]),
    ("school", "{t}初级中学", ["{s}中学", "{t}中学"]),
    ("market", "{t}集贸市场", ["{s}市场", "{s}集市"]),
]
TOWNS_WITH_STATION = {"甘井镇", "黑池镇", "路井镇", "百良镇", "王村镇"}
SCENIC = [
    ("scenic", "洽川风景名胜区游客中心", ["游客中心", "洽川游客中心", "洽川景区"]),
    ("scenic", "处女泉", ["处女泉景区", "洽川处女泉"]),
    ("scenic", "东鳖瀵", ["东瀵"]),
    ("scenic", "王村瀵", ["王村泉"]),
    ("scenic", "夏阳瀵", ["夏阳泉"]),
    ("scenic", "洽川湿地", ["黄河湿地", "洽川湿地公园"]),
    ("scenic", "洽川芦苇荡", ["芦苇荡", "万亩芦苇荡"]),
    ("scenic", "莘国故里", ["有莘国遗址", "莘里"]),
    ("scenic", "黄河魂雕塑", ["黄河魂"]),
]
VILLAGE_CLINIC_EVERY = 5  # every 5th village (by code) gets a 卫生室, as the bigger villages have


def _point_in(geom, rng: random.Random) -> tuple[float, float]:
    inner = geom.buffer(-0.0008) if geom.buffer(-0.0008).area > geom.area * 0.2 else geom
    minx, miny, maxx, maxy = inner.bounds
    for _ in range(10000):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if inner.contains(shapely.Point(x, y)):
            return round(x, 7), round(y, 7)
    pt = inner.representative_point()
    return round(pt.x, 7), round(pt.y, 7)


def generate(out: Path | str = HERE / "heyang") -> Path:
    out = Path(out)
    grids = json.loads((HERE / "heyang" / "grids.geojson").read_text(encoding="utf-8"))["features"]
    by_name = {(f["properties"]["level"], f["properties"]["name"]): f for f in grids}
    level3 = [f for f in grids if f["properties"]["level"] == 3]
    level3_geoms = [shape(f["geometry"]) for f in level3]
    rng = random.Random(SEED)
    features = []

    def add(category: str, name: str, aliases: list[str], within: dict) -> None:
        x, y = _point_in(shape(within["geometry"]), rng)
        pt = shapely.Point(x, y)
        code = within["properties"]["code"]
        for f, g in zip(level3, level3_geoms, strict=True):
            if f["properties"]["parent_code"] == code and g.covers(pt):
                code = f["properties"]["code"]
                break
        features.append({"type": "Feature", "properties": {
            "name": name, "kind": "landmark", "category": category,
            "aliases": list(dict.fromkeys(a for a in aliases if a != name)), "grid_code": code,
        }, "geometry": {"type": "Point", "coordinates": [x, y]}})

    for category, name, aliases, community in COUNTY_TOWN:
        add(category, name, aliases, by_name[(2, community)])
    towns = sorted((f for f in grids if f["properties"]["level"] == 1 and f["properties"]["kind"] == "town"),
                   key=lambda f: f["properties"]["code"])
    for town in towns:
        t = town["properties"]["name"]
        s = t.removesuffix("镇")
        seat = by_name[(2, f"{s}社区")]
        for category, name, aliases in TOWN_PLACES:
            add(category, name.format(t=t, s=s), [a.format(t=t, s=s) for a in aliases], seat)
        if t in TOWNS_WITH_STATION:
            add("bus_station", f"{s}汽车站", [f"{t}客运站", f"{s}车站"], seat)
    zone = by_name[(1, "合阳经济技术开发区")]
    add("government", "合阳经济技术开发区管理委员会", ["开发区管委会", "经开区管委会"], zone)
    scenic = by_name[(1, "洽川风景名胜区")]
    for category, name, aliases in SCENIC:
        add(category, name, aliases, scenic)
    villages = sorted((f for f in grids if f["properties"]["level"] == 2 and f["properties"]["kind"] == "village"),
                      key=lambda f: f["properties"]["code"])
    for v in villages[::VILLAGE_CLINIC_EVERY]:
        name = v["properties"]["name"]
        add("clinic", f"{name}卫生室", [f"{name.removesuffix('村')}卫生室"], v)

    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    path = out / "places.geojson"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text('{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "heyang"))
    args = parser.parse_args()
    path = generate(args.out)
    print(f"wrote {path}")
