"""Grid-hierarchy validation: the pure method (shapely) and the plain-SQL cross-check.

Runs without Django (``pytest -p no:django tests/test_validation.py``) and under the normal run.
Uses geodata/heyang/{grids,county}.geojson when present, else a synthetic hierarchy of the same
shape (14 towns, 215 villages, 121 urban grids in 8 communities) built from a triangulation of
the real county outline so that every shared edge has exactly the same vertices on both sides.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from gisgrid.boundaries.validation import (
    Finding,
    GridFeature,
    ValidationConfig,
    has_errors,
    validate,
)

ROOT = Path(__file__).resolve().parents[1]
GRIDS = ROOT / "geodata" / "heyang" / "grids.geojson"
COUNTY = ROOT / "geodata" / "heyang" / "county.geojson"
COUNTY_GCJ = Path("/work/shared/geodata/610524-gcj02.geojson")
TOWNS = ["001", "101", "102", "103", "104", "105", "106", "107", "108", "110", "111", "112", "400", "401"]
SEAT = (110.1449, 35.2385)
FWD = Transformer.from_crs("EPSG:4326", "EPSG:4546", always_xy=True)
INV = Transformer.from_crs("EPSG:4546", "EPSG:4326", always_xy=True)


class Dataset:
    def __init__(self, features: list[GridFeature], county: shapely.Geometry, urban: set[str], source: str):
        self.features = features
        self.county = county
        self.urban = urban
        self.source = source
        self.by_code = {f.code: f for f in features}

    def copy_with(self, **changed: shapely.Geometry) -> list[GridFeature]:
        return [replace(f, geom=changed[f.code]) if f.code in changed else f for f in self.features]


# ------------------------------------------------------------------------------------------
# data


def load_geojson(grids: Path = GRIDS, county: Path = COUNTY) -> Dataset:
    fc = json.loads(grids.read_text(encoding="utf-8"))
    feats, urban = [], set()
    for f in fc["features"]:
        p = f["properties"]
        feats.append(GridFeature(str(p["code"]), int(p["level"]), p.get("parent_code"),
                                 shapely.geometry.shape(f["geometry"]), p.get("name") or ""))
        if p.get("urban"):
            urban.add(str(p["code"]))
    cj = json.loads(county.read_text(encoding="utf-8"))
    if cj.get("type") == "FeatureCollection":
        cj = cj["features"][0]
    cgeom = shapely.geometry.shape(cj.get("geometry", cj))
    return Dataset(feats, cgeom, urban, str(grids))


def _county_outline_metric() -> shapely.Geometry:
    if COUNTY_GCJ.exists():
        from gisgrid.boundaries.datums import gcj02_to_wgs84

        g = shapely.geometry.shape(json.loads(COUNTY_GCJ.read_text()))
        return shapely.transform(g, lambda x, y: FWD.transform(*gcj02_to_wgs84(x, y)), interleaved=False)
    cx, cy = FWD.transform(*SEAT)
    return shapely.Point(cx, cy).buffer(20_000, quad_segs=32)


def _relabel_strays(tris: np.ndarray, label: np.ndarray, tree: shapely.STRtree) -> np.ndarray:
    """Give triangles cut off from their cell's main part to a touching neighbour cell."""
    for _ in range(10):
        changed = False
        for v in np.unique(label):
            sel = np.flatnonzero(label == v)
            parts = shapely.get_parts(shapely.coverage_union_all(tris[sel]))
            if len(parts) <= 1:
                continue
            big = parts[np.argmax(shapely.area(parts))]
            shapely.prepare(big)
            stray = sel[~shapely.contains(big, shapely.centroid(tris[sel]))]
            a, b = tree.query(tris[stray], predicate="touches")
            for s, t in zip(a, b, strict=True):
                if label[t] != v:
                    label[stray[s]] = label[t]
                    changed = True
        if not changed:
            break
    return label


def synthetic_heyang(seed: int = 7, spacing: float = 150.0) -> Dataset:
    """A clean 3-level coverage: triangles of a jittered lattice, grouped by nearest site."""
    rng = np.random.default_rng(seed)
    outline = _county_outline_metric()
    x0, y0, x1, y1 = outline.bounds
    xs = np.arange(x0 - spacing, x1 + spacing, spacing)
    ys = np.arange(y0 - spacing, y1 + spacing, spacing * 0.866)
    gx, gy = np.meshgrid(xs, ys)
    gx = gx + (np.arange(len(ys))[:, None] % 2) * spacing / 2
    pts = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-0.3, 0.3, (gx.size, 2)) * spacing
    tris = shapely.get_parts(shapely.delaunay_triangles(shapely.multipoints(pts)))
    shapely.prepare(outline)
    tris = tris[shapely.contains(outline, shapely.centroid(tris))]
    parts = shapely.get_parts(shapely.coverage_union_all(tris))
    main = parts[np.argmax(shapely.area(parts))]
    shapely.prepare(main)
    tris = tris[shapely.contains(main, shapely.centroid(tris))]
    county = shapely.coverage_union_all(tris)
    tree = shapely.STRtree(tris)
    cxy = shapely.get_coordinates(shapely.centroid(tris))

    sites = cxy[rng.choice(len(cxy), 215, replace=False)]
    label = ((cxy[:, None, :] - sites[None]) ** 2).sum(-1).argmin(1)
    label = _relabel_strays(tris, label, tree)
    seeds = sites[rng.choice(215, 14, replace=False)]
    town_of = ((sites[:, None, :] - seeds[None]) ** 2).sum(-1).argmin(1)
    # Towns must be contiguous too: a village cut off from its town's main part joins the town
    # of a touching village.
    for _ in range(5):
        moved = False
        for t in range(14):
            vs = np.flatnonzero(town_of == t)
            parts = shapely.get_parts(shapely.coverage_union_all(tris[np.isin(label, vs)]))
            if len(parts) <= 1:
                continue
            big = parts[np.argmax(shapely.area(parts))]
            for v in vs:
                vg = shapely.coverage_union_all(tris[label == v])
                if not shapely.intersects(big, shapely.point_on_surface(vg)):
                    others = [u for u in range(215) if town_of[u] != t and u in set(label)]
                    touching = [u for u in others
                                if shapely.intersects(vg, shapely.coverage_union_all(tris[label == u]))]
                    if touching:
                        town_of[v] = town_of[touching[0]]
                        moved = True
        if not moved:
            break

    villages = {v: shapely.coverage_union_all(tris[label == v]) for v in np.unique(label)}
    towns = sorted(set(town_of[v] for v in villages), key=lambda t: (-seeds[t][1], seeds[t][0]))
    rows: list[tuple[str, int, str, shapely.Geometry]] = []
    vcode: dict[int, str] = {}
    for k, t in enumerate(towns):
        tcode = "610524" + TOWNS[k]
        mine = sorted((v for v in villages if town_of[v] == t), key=lambda v: (-sites[v][1], sites[v][0]))
        rows.append((tcode, 1, "610524", shapely.coverage_union_all(tris[np.isin(label, mine)])))
        for n, v in enumerate(mine, 1):
            vcode[v] = f"{tcode}{n:03d}"
            rows.append((vcode[v], 2, tcode, villages[v]))

    seat = np.array(FWD.transform(*SEAT))
    urban = sorted(villages, key=lambda v: np.hypot(*(sites[v] - seat)))[:8]
    for u, n in zip(urban, [15] * 7 + [16], strict=True):
        sel = np.flatnonzero(label == u)
        c = shapely.get_coordinates(shapely.centroid(tris[sel]))
        r = 0.85 * np.sqrt(shapely.area(villages[u]) / np.pi)
        inner = sel[np.hypot(*(c - c.mean(0)).T) < r]
        ci = cxy[inner]
        sub = ci[rng.choice(len(ci), min(n, len(ci)), replace=False)]
        lab = ((ci[:, None] - sub[None]) ** 2).sum(-1).argmin(1)
        for k, s in enumerate(sorted(range(len(sub)), key=lambda s: (-sub[s][1], sub[s][0])), 1):
            parts = shapely.get_parts(shapely.coverage_union_all(tris[inner[lab == s]]))
            rows.append((f"{vcode[u]}{k:03d}", 3, vcode[u], parts[np.argmax(shapely.area(parts))]))

    geoms = np.array([r[3] for r in rows] + [county], dtype=object)
    wgs = shapely.transform(geoms, INV.transform, interleaved=False)
    feats = [
        GridFeature(code, level, parent, shapely.multipolygons(shapely.get_parts(g)))
        for (code, level, parent, _), g in zip(rows, wgs[:-1], strict=True)
    ]
    return Dataset(feats, wgs[-1], {vcode[u] for u in urban}, "synthetic")


@lru_cache(maxsize=2)
def dataset(name: str) -> Dataset:
    return load_geojson() if name == "heyang" else synthetic_heyang()


def heyang() -> Dataset:
    """The real edition when it is there, else the synthetic stand-in."""
    return dataset("heyang" if GRIDS.exists() and COUNTY.exists() else "synthetic")


# The real edition (densified edges, ≤ 60 m segments, near-degenerate rings) and the synthetic
# one (long straight edges) stress different paths, so every test runs on both.
@pytest.fixture(scope="module", params=["heyang", "synthetic"])
def data(request) -> Dataset:
    return dataset(request.param)


# ------------------------------------------------------------------------------------------
# defect injection (all edits in WGS-84 and touching only the vertices they mean to)


def _rings(geom: shapely.Geometry) -> list[list[np.ndarray]]:
    return [[np.asarray(p.exterior.coords)] + [np.asarray(r.coords) for r in p.interiors]
            for p in shapely.get_parts(geom)]


def _build(rings: list[list[np.ndarray]]) -> shapely.Geometry:
    return shapely.MultiPolygon([shapely.Polygon(r[0], r[1:]) for r in rings])


def _segments(geom: shapely.Geometry) -> set[tuple]:
    out = set()
    for poly in _rings(geom):
        for ring in poly:
            for a, b in zip(ring[:-1], ring[1:], strict=True):
                out.add((tuple(a), tuple(b)))
    return out


def insert_points(geom: shapely.Geometry, u: tuple, w: tuple, pts: list[tuple]) -> shapely.Geometry:
    """Insert pts between consecutive ring vertices u → w (or reversed if the ring runs w → u)."""
    rings = _rings(geom)
    done = 0
    for poly in rings:
        for k, ring in enumerate(poly):
            lst = [tuple(c) for c in ring]
            for i in range(len(lst) - 1):
                if lst[i] == u and lst[i + 1] == w:
                    lst[i + 1:i + 1] = pts
                elif lst[i] == w and lst[i + 1] == u:
                    lst[i + 1:i + 1] = pts[::-1]
                else:
                    continue
                poly[k] = np.asarray(lst)
                done += 1
                break
    assert done == 1, f"segment found {done} times"
    return _build(rings)


def _metric(pt: tuple) -> np.ndarray:
    return np.array(FWD.transform(*pt))


def _wgs(xy: np.ndarray) -> tuple:
    return tuple(float(v) for v in INV.transform(xy[0], xy[1]))


def _metric_geom(g: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(g, FWD.transform, interleaved=False)


def _interior_codes(data: Dataset, used: set[str], level: int = 2) -> list[str]:
    """Non-urban grids (no level-3 children to disturb) at this level not yet used."""
    return [f.code for f in data.features if f.level == level and f.code not in data.urban and f.code not in used]


def shared_edge(data: Dataset, used: set[str], min_len: float = 40.0, max_len: float = 1e9, level: int = 2):
    """A long segment that appears in exactly two sibling grids, both unused: (a, b, u, w, len_m)."""
    owners: dict[frozenset, list[str]] = {}
    cands = set(_interior_codes(data, set(), level))
    for code in cands:
        for u, w in _segments(data.by_code[code].geom):
            owners.setdefault(frozenset((u, w)), []).append(code)
    best = []
    for seg, codes in owners.items():
        if len(codes) != 2 or len(seg) != 2 or used & set(codes):
            continue
        a, b = sorted(codes)
        if data.by_code[a].parent_code != data.by_code[b].parent_code:
            continue
        u, w = sorted(seg)
        length = float(np.hypot(*(_metric(u) - _metric(w))))
        if min_len <= length <= max_len:
            best.append((length, a, b, u, w))
    best.sort(reverse=True)
    for length, a, b, u, w in best:
        return a, b, u, w, length
    raise LookupError("no shared edge long enough")


def bend(data: Dataset, code: str, other: str, u: tuple, w: tuple, offset_m: float, into_other: bool):
    """Move the middle of edge u–w of `code` by offset_m, into `other` or into itself."""
    mu, mw = _metric(u), _metric(w)
    mid = (mu + mw) / 2
    d = (mw - mu) / np.hypot(*(mw - mu))
    n = np.array([-d[1], d[0]])
    mine = _metric_geom(data.by_code[code].geom)
    if shapely.contains_xy(mine, *(mid + n * 0.01)):
        n = -n  # n now points away from `code`, i.e. into `other`
    p = mid + (n if into_other else -n) * offset_m
    return insert_points(data.by_code[code].geom, u, w, [_wgs(p)])


def boundary_edge(data: Dataset, used: set[str], min_len: float = 40.0) -> tuple[str, tuple, tuple]:
    """A level-2 segment on its parent's boundary (so no sibling shares it)."""
    for code in _interior_codes(data, used):
        f = data.by_code[code]
        parent_segs = _segments(data.by_code[f.parent_code].geom)
        parent_segs |= {(w, u) for u, w in parent_segs}
        for u, w in _segments(f.geom):
            if (u, w) in parent_segs and np.hypot(*(_metric(u) - _metric(w))) >= min_len:
                return code, u, w
    raise LookupError("no boundary edge")


def interior_square(data: Dataset, code: str, side_m: float) -> shapely.Geometry:
    """A square well inside grid `code` (WGS-84)."""
    g = _metric_geom(data.by_code[code].geom)
    circle = shapely.maximum_inscribed_circle(g, 1.0)
    c = np.asarray(circle.coords[0])
    assert shapely.length(circle) > side_m * 2, "grid too small"
    h = side_m / 2
    sq = shapely.Polygon([c + (-h, -h), c + (h, -h), c + (h, h), c + (-h, h)])
    return shapely.transform(sq, INV.transform, interleaved=False)


def inject(data: Dataset, kind: str, used: set[str]) -> tuple[dict[str, shapely.Geometry], str, list[str]]:
    """Return (changed geometries, expected finding kind, expected codes)."""
    by = data.by_code
    if kind == "gap_level1":
        c = _interior_codes(data, used)[0]
        town = by[c].parent_code
        hole = interior_square(data, c, 60)
        used |= {c, town}
        return ({c: shapely.difference(by[c].geom, hole), town: shapely.difference(by[town].geom, hole)},
                "gap", [town])
    if kind == "gap_level2":
        c = _interior_codes(data, used)[0]
        used.add(c)
        return {c: shapely.difference(by[c].geom, interior_square(data, c, 40))}, "gap", [c, by[c].parent_code]
    if kind in ("gap_edge", "overlap", "sliver_gap", "sliver_overlap"):
        a, b, u, w, _ = shared_edge(data, used)
        used |= {a, b}
        into = kind in ("overlap", "sliver_overlap")
        offset = 0.5 if kind.startswith("sliver") else 25.0
        expect = {"gap_edge": "gap", "overlap": "overlap"}.get(kind, "sliver")
        codes = [a, b] + ([by[a].parent_code] if not into else [])
        return {a: bend(data, a, b, u, w, offset, into)}, expect, codes
    if kind in ("mismatch_on_line", "mismatch_inside", "mismatch_outside"):
        a, b, u, w, length = shared_edge(data, used, min_len=20, max_len=400)
        used |= {a, b}
        if kind == "mismatch_on_line":
            geom = insert_points(by[a].geom, u, w, [((u[0] + w[0]) / 2, (u[1] + w[1]) / 2)])
        else:
            # 1 mm off the line: the resulting gap/overlap (≤ 0.0005 × length m²) is noise.
            geom = bend(data, a, b, u, w, 0.001, kind == "mismatch_outside")
        return {a: geom}, "edge_mismatch", [a, b]
    if kind == "outside_parent":
        c, u, w = boundary_edge(data, used)
        used.add(c)
        parent = by[c].parent_code
        mu, mw = _metric(u), _metric(w)
        mid = (mu + mw) / 2
        d = (mw - mu) / np.hypot(*(mw - mu))
        n = np.array([-d[1], d[0]])
        if shapely.contains_xy(_metric_geom(by[parent].geom), *(mid + n * 0.01)):
            n = -n
        return {c: insert_points(by[c].geom, u, w, [_wgs(mid + n * 25)])}, "outside_parent", [c, parent]
    if kind == "bowtie":
        # A digitising knot: the ring crosses itself in a 2 cm figure-eight on the parent's
        # boundary, so the repaired shape leaves no gap/overlap worth reporting.
        c, u, w = boundary_edge(data, used)
        used.add(c)
        mu, mw = _metric(u), _metric(w)
        mid = (mu + mw) / 2
        d = (mw - mu) / np.hypot(*(mw - mu))
        n = np.array([-d[1], d[0]])
        if not shapely.contains_xy(_metric_geom(by[c].geom), *(mid + n * 0.001)):
            n = -n
        knot = [mid - 0.02 * d, mid + 0.01 * d + 0.01 * n, mid - 0.01 * d + 0.01 * n, mid + 0.02 * d]
        return {c: insert_points(by[c].geom, u, w, [_wgs(p) for p in knot])}, "invalid", [c]
    if kind == "multipart":
        # An exclave: a square cut out of village b given to its sibling a.
        a, b, *_ = shared_edge(data, used)
        used |= {a, b}
        sq = interior_square(data, b, 60)
        new_b = shapely.difference(by[b].geom, sq)
        new_a = shapely.MultiPolygon(list(shapely.get_parts(by[a].geom)) + [sq])
        return {a: new_a, b: new_b}, "multipart", [a]
    raise ValueError(kind)


DEFECTS = [
    "gap_level1", "gap_level2", "gap_edge", "overlap", "outside_parent", "bowtie", "multipart",
    "sliver_gap", "sliver_overlap", "mismatch_on_line", "mismatch_inside", "mismatch_outside",
]


def problems(findings: list[Finding]) -> list[Finding]:
    """Everything except blind spots (which are facts, not defects)."""
    return [f for f in findings if f.kind != "blind_spot"]


def baseline_problems(data: Dataset) -> list[Finding]:
    return problems(validate(data.features, data.county))


# ------------------------------------------------------------------------------------------
# the pure method


def test_dataset_shape(data: Dataset) -> None:
    levels = Counter(f.level for f in data.features)
    assert levels == {1: 14, 2: 215, 3: 121}, levels
    assert len(data.urban) == 8
    for f in data.features:
        assert len(f.code) == {1: 9, 2: 12, 3: 15}[f.level]
        if f.level > 1:
            assert f.code.startswith(f.parent_code)


def test_clean_dataset_has_no_errors(data: Dataset) -> None:
    findings = validate(data.features, data.county)
    errors = [f for f in findings if f.severity == "error"]
    assert not errors, [f.message for f in errors[:10]]
    assert not has_errors(findings)
    # Warnings on the real data must each be explainable; on the synthetic data there are none.
    assert not [f for f in findings if f.severity == "warning"], [f.message for f in findings if f.severity == "warning"][:10]


def test_blind_spots_only_in_urban_communities(data: Dataset) -> None:
    findings = validate(data.features, data.county)
    spots = [f for f in findings if f.kind == "blind_spot"]
    assert spots
    assert {f.codes[0] for f in spots} <= data.urban
    assert all(f.severity == "info" and len(f.codes) == 1 and f.area_m2 > 0.5 for f in spots)
    # A blind spot is exactly what no level-3 grid covers.
    some = spots[0]
    kids = [f.geom for f in data.features if f.parent_code == some.codes[0]]
    assert shapely.intersection(some.geometry, shapely.union_all(kids)).area < 1e-10


@pytest.mark.parametrize("kind", DEFECTS)
def test_each_defect_found_exactly_once(data: Dataset, kind: str) -> None:
    changed, expect_kind, expect_codes = inject(data, kind, set())
    found = problems(validate(data.copy_with(**changed), data.county))
    before = baseline_problems(data)
    new = [f for f in found if (f.kind, tuple(f.codes)) not in {(b.kind, tuple(b.codes)) for b in before}]
    assert len(new) == 1, [(f.kind, f.codes, f.message) for f in new]
    f = new[0]
    assert f.kind == expect_kind, f.message
    assert f.codes == expect_codes, f.message
    if kind.startswith("sliver"):
        assert f.details["of"] == kind.split("_")[1]
        assert f.details["width_m"] < 0.6
        assert ("gap" if kind == "sliver_gap" else "overlap") in f.message
    if kind == "bowtie":
        assert "Self-intersection" in f.message
    json.dumps(f.to_dict())


def test_all_defects_at_once(data: Dataset) -> None:
    used: set[str] = set()
    changed: dict[str, shapely.Geometry] = {}
    expected = []
    for kind in DEFECTS:
        geoms, k, codes = inject(data, kind, used)
        changed.update(geoms)
        expected.append((k, tuple(codes)))
    found = problems(validate(data.copy_with(**changed), data.county))
    base = {(b.kind, tuple(b.codes)) for b in baseline_problems(data)}
    got = [(f.kind, tuple(f.codes)) for f in found if (f.kind, tuple(f.codes)) not in base]
    assert sorted(got) == sorted(expected)


def test_big_bowtie_reported_and_repaired() -> None:
    sq = lambda x: shapely.box(x, 0, x + 0.01, 0.01)  # noqa: E731
    bowtie = shapely.Polygon([(0.01, 0), (0.02, 0.01), (0.02, 0), (0.01, 0.01)])
    feats = [GridFeature("610524101", 1, "610524", sq(0)), GridFeature("610524102", 1, "610524", bowtie),
             GridFeature("610524103", 1, "610524", sq(0.02))]
    county = shapely.box(0, 0, 0.03, 0.01)
    found = validate(feats, county)
    invalid = [f for f in found if f.kind == "invalid"]
    assert [f.codes for f in invalid] == [["610524102"]]
    # The repair keeps both lobes, so the two triangles it leaves out show up as gaps.
    gaps = [f for f in found if f.kind == "gap"]
    assert len(gaps) == 2 and all("610524102" in f.codes for f in gaps)
    assert not [f for f in found if f.kind == "multipart"]


def test_empty_and_orphan_grids() -> None:
    box = shapely.box(110, 35, 110.01, 35.01)
    feats = [GridFeature("610524101", 1, "610524", box),
             GridFeature("610524101001", 2, "610524101", box),
             GridFeature("610524101002", 2, "610524101", shapely.Polygon()),
             GridFeature("610524999001", 2, "610524999", box)]
    found = validate(feats, box)
    kinds = Counter((f.kind, tuple(f.codes)) for f in found)
    assert kinds[("invalid", ("610524101002",))] == 1
    assert kinds[("hierarchy", ("610524999001",))] == 1


def test_noise_is_not_reported() -> None:
    # Two halves whose shared edge differs by 1e-10° in one vertex: area ≈ 1e-5 m².
    a = shapely.Polygon([(110, 35), (110.01, 35), (110.01, 35.01), (110, 35.01)])
    b = shapely.Polygon([(110.01, 35), (110.02, 35), (110.02, 35.01), (110.01 + 1e-10, 35.01)])
    feats = [GridFeature("610524101", 1, "610524", a), GridFeature("610524102", 1, "610524", b)]
    found = validate(feats, shapely.box(110, 35, 110.02, 35.01))
    assert not [f for f in found if f.kind in ("gap", "overlap", "sliver", "outside_parent")]


def test_validate_is_fast(data: Dataset) -> None:
    import time

    validate(data.features, data.county)
    t0 = time.perf_counter()
    validate(data.features, data.county)
    assert time.perf_counter() - t0 < 1.0


def test_config_thresholds(data: Dataset) -> None:
    changed, *_ = inject(data, "sliver_gap", set())
    feats = data.copy_with(**changed)
    strict = validate(feats, data.county, ValidationConfig(sliver_width_m=0.1, sliver_polsby_popper=0))
    assert [f.kind for f in problems(strict)] == ["gap"]


# ------------------------------------------------------------------------------------------
# the plain-SQL method


def _db_url() -> str:
    return os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/gisgrid")


@pytest.fixture(scope="module")
def db():
    import psycopg

    url = _db_url()
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        info = conninfo_to_dict(url)
        dbname = info.pop("dbname")
        with psycopg.connect(make_conninfo(**info, dbname="postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{dbname}"')
        conn = psycopg.connect(url, autocommit=True)
    schema = f"test_validation_{uuid.uuid4().hex[:8]}"
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        cur.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield conn, schema
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.close()


def _sql(db, features, county) -> list[Finding]:
    from gisgrid.boundaries.validation_sql import create_grid_table, sql_validate

    conn, schema = db
    with conn.cursor() as cur:
        create_grid_table(cur, f"{schema}.grids", features, f"{schema}.county", county)
        return sql_validate(cur, f"{schema}.grids", f"{schema}.county")


def _comparable(findings: list[Finding]) -> list[tuple[str, tuple[str, ...], float]]:
    out = []
    for f in findings:
        kind = f.details.get("of", f.kind) if f.kind == "sliver" else f.kind
        if kind in ("gap", "overlap", "outside_parent"):
            out.append((kind, tuple(f.codes), f.area_m2))
    return sorted(out)


def test_sql_clean_dataset(db, data: Dataset) -> None:
    assert _comparable(_sql(db, data.features, data.county)) == []


def test_sql_agrees_with_pure_method(db, data: Dataset) -> None:
    used: set[str] = set()
    changed: dict[str, shapely.Geometry] = {}
    for kind in DEFECTS:
        changed.update(inject(data, kind, used)[0])
    feats = data.copy_with(**changed)
    pure = _comparable(validate(feats, data.county))
    sql = _comparable(_sql(db, feats, data.county))
    assert [p[:2] for p in pure] == [s[:2] for s in sql]
    for p, s in zip(pure, sql, strict=True):
        assert s[2] == pytest.approx(p[2], rel=0.01), (p, s)
    kinds = Counter(p[0] for p in pure)
    assert kinds == {"gap": 4, "overlap": 2, "outside_parent": 1}
