"""GridIndex (boundaries/locate_index.py) against an independent shapely oracle; no database.

The oracle asks unprepared ``shapely.covers`` of every candidate grid (its own geometry copies)
and applies the documented rule in plain Python: smallest code per level, level 2 among the
children of the chosen level 1, level 3 among the children of the chosen level 2.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from gisgrid.boundaries.locate_index import (
    STATUS_BLIND_SPOT,
    STATUS_INSIDE,
    STATUS_OUTSIDE,
    GridIndex,
    GridRecord,
    records_from_geojson,
)

ROOT = Path(__file__).resolve().parent.parent
HEYANG_GRIDS = ROOT / "geodata" / "heyang" / "grids.geojson"
TO_4546 = Transformer.from_crs("EPSG:4326", "EPSG:4546", always_xy=True)


def metric_distance(lon: float, lat: float, geom: shapely.Geometry) -> float:
    """Independent distance: both projected to EPSG:4546 (GK, scale error < 0.01 % here).

    Densified first: an edge straight in lon/lat bows by metres once projected.
    """
    g = shapely.transform(shapely.segmentize(geom, 2e-5), lambda xy: np.column_stack(TO_4546.transform(xy[:, 0], xy[:, 1])))
    return float(shapely.distance(g, shapely.Point(*TO_4546.transform(lon, lat))))


# ---------------------------------------------------------------------------- the oracle


def oracle(records: list[GridRecord], x: np.ndarray, y: np.ndarray) -> tuple[list[list[str | None]], list[int]]:
    """Per level, the owner code of each point (None: no owner), and the status."""
    geoms = shapely.from_wkb(shapely.to_wkb(np.array([r.geom for r in records], dtype=object)))
    pts = shapely.points(x, y)
    tree = shapely.STRtree(geoms)
    pi, gi = tree.query(pts)  # envelope candidates only; the test below is plain covers
    hit = shapely.covers(geoms[gi], pts[pi])
    covering: list[list[int]] = [[] for _ in range(len(x))]
    for p, g in zip(pi[hit], gi[hit], strict=True):
        covering[p].append(int(g))
    codes = {r.code for r in records}
    parent = {r.code: r.parent_code for r in records}
    level = {r.code: r.level for r in records}
    has_children = {r.parent_code for r in records if r.parent_code in codes and level[r.parent_code] == r.level - 1}
    owners: list[list[str | None]] = [[], [], []]
    status = []
    for i in range(len(x)):
        cov = [records[g].code for g in covering[i]]
        chain: list[str] = []
        above = None
        for lv in (1, 2, 3):
            cands = [c for c in cov if level[c] == lv and (lv == 1 or (above is not None and parent[c] == above))]
            if lv > 1:
                # a parent link only counts when it points one level up
                cands = [c for c in cands if level.get(parent[c] or "") == lv - 1]
            above = min(cands) if cands else None
            if above is None:
                break
            chain.append(above)
        for lv in range(3):
            owners[lv].append(chain[lv] if lv < len(chain) else None)
        if not chain:
            status.append(STATUS_OUTSIDE)
        elif chain[-1] in has_children:
            status.append(STATUS_BLIND_SPOT)
        else:
            status.append(STATUS_INSIDE)
    return owners, status


def assert_matches_oracle(index: GridIndex, records: list[GridRecord], x: np.ndarray, y: np.ndarray) -> None:
    res = index.locate_many(x, y)
    owners, status = oracle(records, x, y)
    names = np.array([r.code for r in index.records] + [None], dtype=object)
    for lv, arr in enumerate((res.level1, res.level2, res.level3)):
        got = names[arr]  # index -1 picks the trailing None
        want = np.array(owners[lv], dtype=object)
        bad = np.flatnonzero(got != want)
        assert bad.size == 0, (
            f"level {lv + 1}: {bad.size} mismatches, first at ({x[bad[0]]!r}, {y[bad[0]]!r}): "
            f"got {got[bad[0]]}, want {want[bad[0]]}"
        )
    bad = np.flatnonzero(res.status != np.array(status))
    assert bad.size == 0, f"status: {bad.size} mismatches, first at ({x[bad[0]]!r}, {y[bad[0]]!r})"


# ---------------------------------------------------------------------------- synthetic data


def _voronoi_split(poly: shapely.Geometry, k: int, rng: np.random.Generator) -> list[shapely.Geometry]:
    xmin, ymin, xmax, ymax = poly.bounds
    seeds: list[tuple[float, float]] = []
    while len(seeds) < k:
        px, py = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
        if shapely.contains_xy(poly, px, py):
            seeds.append((px, py))
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=poly.buffer(1.0))
    out = []
    for cell in shapely.get_parts(cells):
        piece = shapely.intersection(cell, poly)
        piece = shapely.make_valid(piece)
        parts = [p for p in shapely.get_parts(piece) if p.geom_type == "Polygon" and p.area > 0]
        if parts:
            out.append(shapely.multipolygons(parts))
    return out


def synthetic_records(seed: int = 7) -> list[GridRecord]:
    """Towns, villages (Voronoi tilings clipped to the parent) and urban grids covering part."""
    rng = np.random.default_rng(seed)
    cx, cy = 110.2, 35.2
    ang = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    rad = 0.12 * (1 + 0.25 * np.sin(3 * ang) + 0.1 * rng.standard_normal(40))
    county = shapely.Polygon(np.column_stack([cx + rad * np.cos(ang) * 1.2, cy + rad * np.sin(ang)]))
    records: list[GridRecord] = []
    towns = _voronoi_split(county, 6, rng)
    # Codes deliberately not in geometric order, so the smallest-code rule is really exercised.
    for ti in rng.permutation(len(towns)):
        tcode = f"610524{ti + 1:03d}"
        records.append(GridRecord(tcode, f"town {ti}", 1, "610524", towns[ti]))
        villages = _voronoi_split(towns[ti], 7, rng)
        for vi, vj in enumerate(rng.permutation(len(villages))):
            vcode = f"{tcode}{vi + 1:03d}"
            urban = vj < 2  # two urban communities per town
            records.append(GridRecord(vcode, f"village {vi}", 2, tcode, villages[vj]))
            if urban:
                v = villages[vj]
                core = shapely.intersection(v, shapely.buffer(shapely.point_on_surface(v), 0.012))
                for gi, g in enumerate(_voronoi_split(core, 5, rng)):
                    records.append(GridRecord(f"{vcode}{gi + 1:03d}", f"grid {gi}", 3, vcode, g))
    return records


def shared_edge_points(records: list[GridRecord], n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points along boundaries shared by two grids of one level, and their shared vertices."""
    by_level: dict[int, list[GridRecord]] = {}
    for r in records:
        by_level.setdefault(r.level, []).append(r)
    lines = []
    for recs in by_level.values():
        geoms = np.array([r.geom for r in recs], dtype=object)
        tree = shapely.STRtree(geoms)
        a, b = tree.query(geoms, predicate="intersects")
        for i, j in zip(a, b, strict=True):
            if i < j:
                inter = geoms[i].boundary.intersection(geoms[j].boundary)
                for part in shapely.get_parts(inter):
                    if part.geom_type == "LineString" and part.length > 0:
                        lines.append(part)
    lines_arr = np.array(lines, dtype=object)
    pick = rng.integers(0, len(lines_arr), n // 2)
    on_edge = shapely.line_interpolate_point(lines_arr[pick], rng.uniform(0, 1, pick.size), normalized=True)
    verts = shapely.get_coordinates(lines_arr)
    vpick = verts[rng.integers(0, len(verts), n - pick.size)]
    ex, ey = shapely.get_x(on_edge), shapely.get_y(on_edge)
    return np.concatenate([ex, vpick[:, 0]]), np.concatenate([ey, vpick[:, 1]])


def multi_vertices(records: list[GridRecord], k: int = 3) -> np.ndarray:
    """Vertices shared by at least k grids of one level."""
    out = []
    for lv in (1, 2, 3):
        cnt: Counter = Counter()
        for r in records:
            if r.level == lv:
                cnt.update({tuple(c) for c in shapely.get_coordinates(r.geom)})
        out += [c for c, m in cnt.items() if m >= k]
    return np.array(out, dtype=float).reshape(-1, 2)


def bbox_points(records: list[GridRecord], n: int, rng: np.random.Generator, margin: float = 0.01
                ) -> tuple[np.ndarray, np.ndarray]:
    b = shapely.bounds(shapely.GeometryCollection([r.geom for r in records]))
    return (rng.uniform(b[0] - margin, b[2] + margin, n), rng.uniform(b[1] - margin, b[3] + margin, n))


DATASETS = ["synthetic"] + (["heyang"] if HEYANG_GRIDS.exists() else [])


@pytest.fixture(scope="module", params=DATASETS)
def dataset(request) -> tuple[list[GridRecord], GridIndex]:
    if request.param == "synthetic":
        records = synthetic_records()
    else:
        records = records_from_geojson(str(HEYANG_GRIDS))
    return records, GridIndex(records, edition=request.param)


# ---------------------------------------------------------------------------- oracle tests


def test_random_points_match_oracle(dataset) -> None:
    records, index = dataset
    x, y = bbox_points(records, 200_000, np.random.default_rng(1))
    assert_matches_oracle(index, records, x, y)


def test_shared_edge_points_match_oracle(dataset) -> None:
    records, index = dataset
    x, y = shared_edge_points(records, 2_000, np.random.default_rng(2))
    assert_matches_oracle(index, records, x, y)
    # these really are exact-path points: every one lies in a boundary cell
    flat = ((y - index._y0) * index._inv_hy).astype(int) * index._nx + ((x - index._x0) * index._inv_hx).astype(int)
    assert (index._cells[flat] == -2).all()


def test_vertices_shared_by_three_or_more(dataset) -> None:
    records, index = dataset
    v = multi_vertices(records, 3)
    assert len(v) > 10
    assert_matches_oracle(index, records, v[:, 0], v[:, 1])
    # exactly one owner per level even where 3+ grids meet
    res = index.locate_many(v[:, 0], v[:, 1])
    assert (res.level1 >= 0).all()


def test_every_vertex_and_county_edge(dataset) -> None:
    records, index = dataset
    xy = np.unique(shapely.get_coordinates(np.array([r.geom for r in records], dtype=object)), axis=0)
    assert_matches_oracle(index, records, xy[:, 0], xy[:, 1])
    county = shapely.union_all([r.geom for r in records if r.level == 1])
    edge = shapely.get_coordinates(county.boundary)
    res = index.locate_many(edge[:, 0], edge[:, 1])
    assert (res.status != STATUS_OUTSIDE).all(), "a point on the county edge is covered"
    # just outside the westernmost vertex
    w = edge[np.argmin(edge[:, 0])]
    assert index.locate_many(np.array([w[0] - 1e-9]), np.array([w[1]])).status[0] == STATUS_OUTSIDE


def test_blind_spots_and_outside(dataset) -> None:
    records, index = dataset
    by_code = {r.code: r for r in records}
    urban = {r.parent_code for r in records if r.level == 3}
    rng = np.random.default_rng(3)
    xs, ys = [], []
    for code in sorted(urban):
        community = by_code[code].geom
        kids = shapely.union_all([r.geom for r in records if r.parent_code == code])
        blind = community.difference(kids)
        if blind.area == 0:
            continue
        b = blind.bounds
        px, py = rng.uniform(b[0], b[2], 400), rng.uniform(b[1], b[3], 400)
        m = shapely.contains_xy(blind.buffer(-1e-5), px, py)
        xs.append(px[m])
        ys.append(py[m])
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert x.size > 20
    res = index.locate_many(x, y)
    assert (res.status == STATUS_BLIND_SPOT).all()
    assert (res.level3 == -1).all() and (res.level2 >= 0).all()
    assert_matches_oracle(index, records, x, y)
    b = shapely.bounds(shapely.GeometryCollection([r.geom for r in records]))
    far = index.locate_many(np.array([b[0] - 0.5, 0.0, 179.0]), np.array([b[1], 0.0, -89.0]))
    assert (far.status == STATUS_OUTSIDE).all() and (far.level1 == -1).all()


def test_nan_is_outside(dataset) -> None:
    _, index = dataset
    res = index.locate_many(np.array([np.nan, 110.2, np.inf, -np.inf]), np.array([35.2, np.nan, 35.2, np.nan]))
    assert (res.status == STATUS_OUTSIDE).all()
    assert (res.level1 == -1).all() and (res.level2 == -1).all() and (res.level3 == -1).all()


# ---------------------------------------------------------------------------- hand-made cases


def _sq(x0: float, y0: float, x1: float, y1: float) -> shapely.Geometry:
    return shapely.multipolygons([shapely.box(x0, y0, x1, y1)])


def dyadic_records() -> list[GridRecord]:
    """Squares on binary fractions, so midpoints of edges are exactly representable.

    Two towns A (west, code ...002) and B (east, ...001); A has villages A1 (south, 002002) and
    A2 (north, 002001); B has one village B1 (001001) with level-3 grids in its south-west
    quarter only (the rest is blind spot).
    """
    x0, y0, s = 110.0, 35.0, 0.0625
    return [
        GridRecord("610524002", "A", 1, "610524", _sq(x0, y0, x0 + s, y0 + 2 * s)),
        GridRecord("610524001", "B", 1, "610524", _sq(x0 + s, y0, x0 + 2 * s, y0 + 2 * s)),
        GridRecord("610524002002", "A1", 2, "610524002", _sq(x0, y0, x0 + s, y0 + s)),
        GridRecord("610524002001", "A2", 2, "610524002", _sq(x0, y0 + s, x0 + s, y0 + 2 * s)),
        GridRecord("610524001001", "B1", 2, "610524001", _sq(x0 + s, y0, x0 + 2 * s, y0 + 2 * s)),
        GridRecord("610524001001002", "g2", 3, "610524001001", _sq(x0 + s, y0, x0 + 1.25 * s, y0 + s / 2)),
        GridRecord("610524001001001", "g1", 3, "610524001001",
                   _sq(x0 + 1.25 * s, y0, x0 + 1.5 * s, y0 + s / 2)),
    ]


def test_dyadic_tie_breaks_and_chain() -> None:
    records = dyadic_records()
    index = GridIndex(records, edition=3)
    assert index.edition == 3
    s = 0.0625
    code = {r.code: i for i, r in enumerate(index.records)}
    assert index.code_to_idx == code

    def chain(x: float, y: float) -> list[str]:
        return [index.records[i].code for i in index.locate(110.0 + x * s, 35.0 + y * s)]

    # on the A|B town edge: B (001) wins level 1, and level 2 is B's child, not A's
    assert chain(1.0, 0.25) == ["610524001", "610524001001", "610524001001002"]
    # vertex shared by A1, A2, B1: level 1 B
    assert chain(1.0, 1.0) == ["610524001", "610524001001"]
    # A1|A2 edge inside A: A2 (001) wins
    assert chain(0.5, 1.0) == ["610524002", "610524002001"]
    # g2|g1 edge: g1 (001) wins; the corner of g1 on the blind-spot edge is still g1
    assert chain(1.25, 0.25) == ["610524001", "610524001001", "610524001001001"]
    assert chain(1.5, 0.5) == ["610524001", "610524001001", "610524001001001"]
    # just beyond g1: blind spot
    res = index.locate_many(np.array([110.0 + 1.5 * s + 1e-12]), np.array([35.0 + 0.25 * s]))
    assert res.status[0] == STATUS_BLIND_SPOT and res.chain(0) == [code["610524001"], code["610524001001"]]
    # county corner and county edge
    assert chain(0.0, 0.0) == ["610524002", "610524002002"]
    assert chain(2.0, 2.0) == ["610524001", "610524001001"]
    assert chain(2.0 + 1e-9, 1.0) == []
    xs = np.linspace(0, 2, 129) * s + 110.0
    xx, yy = np.meshgrid(xs, xs - 110.0 + 35.0)
    assert_matches_oracle(index, records, xx.ravel(), yy.ravel())


def test_bad_data_overlaps_and_orphans() -> None:
    """Overlapping siblings, a child sticking out of its parent, an orphan: still the oracle's answer."""
    x0, y0, s = 110.0, 35.0, 0.01
    records = [
        GridRecord("1", "T1", 1, None, _sq(x0, y0, x0 + 2 * s, y0 + 2 * s)),
        GridRecord("2", "T2", 1, None, _sq(x0 + 1.5 * s, y0, x0 + 3 * s, y0 + 2 * s)),  # overlaps T1
        GridRecord("1a", "V1", 2, "1", _sq(x0, y0, x0 + 1.2 * s, y0 + 2 * s)),
        GridRecord("1b", "V2", 2, "1", _sq(x0 + 1.0 * s, y0, x0 + 2.5 * s, y0 + 2 * s)),  # overlaps V1, leaves T1
        GridRecord("9z", "orphan", 2, "nope", _sq(x0, y0, x0 + 3 * s, y0 + s)),
        GridRecord("1a1", "G", 3, "1a", _sq(x0 + 0.2 * s, y0 + 0.2 * s, x0 + 0.8 * s, y0 + 0.8 * s)),
    ]
    index = GridIndex(records)
    rng = np.random.default_rng(5)
    x = rng.uniform(x0 - 0.1 * s, x0 + 3.1 * s, 50_000)
    y = rng.uniform(y0 - 0.1 * s, y0 + 2.1 * s, 50_000)
    assert_matches_oracle(index, records, x, y)
    assert_matches_oracle(index, records, *shared_edge_points(records[:2], 200, rng))


def test_empty_and_shapes() -> None:
    index = GridIndex(dyadic_records())
    res = index.locate_many(np.array([]), np.array([]))
    assert len(res) == 0
    res = index.locate_many(np.array([110.01]), np.array([35.01]))
    assert res.status.dtype == np.int8 and res.level1.dtype == np.int32
    assert GridIndex([]).locate_many(np.array([110.0]), np.array([35.0])).status[0] == STATUS_OUTSIDE
    with pytest.raises(ValueError):
        GridIndex([GridRecord("x", "x", 4, None, _sq(0, 0, 1, 1))])


def test_build_is_quick_and_small(dataset) -> None:
    import time

    records, _ = dataset
    t = time.perf_counter()
    index = GridIndex(records)
    assert time.perf_counter() - t < 5.0
    assert index.memory_bytes() < 200e6
    json.dumps({"cell_m": index.cell_size_m})
