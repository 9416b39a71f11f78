"""locate: the service (gisgrid.boundaries.locate.locate) and GET/POST /api/v1/locate.

Expected answers come from geodata/heyang/*.geojson and *.csv through shapely and pyproj, never
from the service itself: the oracle applies the documented ownership rule (covers; smallest code
per level, chosen among the children of the owner one level up; see locate_index.py).
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

from gisgrid.boundaries import datums
from gisgrid.boundaries.locate import locate

ROOT = Path(__file__).resolve().parent.parent
HEYANG = ROOT / "geodata" / "heyang"
URL = "/api/v1/locate"
GEOD = Geod(ellps="WGS84")
TO_M = Transformer.from_crs("EPSG:4326", "EPSG:4546", always_xy=True)
TO_DEG = Transformer.from_crs("EPSG:4546", "EPSG:4326", always_xy=True)


# ------------------------------------------------------------------------------- data


@cache
def grids() -> dict[str, dict]:
    fc = json.loads((HEYANG / "grids.geojson").read_text(encoding="utf-8"))
    out = {}
    for f in fc["features"]:
        p = dict(f["properties"])
        p["geom"] = shapely.geometry.shape(f["geometry"])
        out[p["code"]] = p
    return out


@cache
def children() -> dict[str, list[str]]:
    g = grids()
    out: dict[str, list[str]] = defaultdict(list)
    for code, p in g.items():
        par = p["parent_code"]
        if par in g and g[par]["level"] == p["level"] - 1:
            out[par].append(code)
    return out


@cache
def staff_rows() -> list[dict]:
    with open(HEYANG / "staff.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def to_metric(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.column_stack(TO_M.transform(xy[:, 0], xy[:, 1])))


def metric_point(lon: float, lat: float) -> shapely.Point:
    return shapely.Point(*TO_M.transform(lon, lat))


def to_deg(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_DEG.transform(x, y)
    return float(lon), float(lat)


def geodesic_m(lon1, lat1, lon2, lat2) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# ------------------------------------------------------------------------------- oracle


def oracle(xs: np.ndarray, ys: np.ndarray) -> list[tuple[str, list[str], list[list[str]]]]:
    """Per point: (status, chain codes, per level the codes of all covering grids)."""
    g = grids()
    codes = list(g)
    geoms = shapely.from_wkb(shapely.to_wkb(np.array([g[c]["geom"] for c in codes], dtype=object)))
    pts = shapely.points(xs, ys)
    pi, gi = shapely.STRtree(geoms).query(pts)  # envelopes only; the test is plain covers
    hit = shapely.covers(geoms[gi], pts[pi])
    covering: list[list[str]] = [[] for _ in range(len(xs))]
    for p, k in zip(pi[hit], gi[hit], strict=True):
        covering[p].append(codes[k])
    kids = children()
    out = []
    for cov in covering:
        per_level = [sorted(c for c in cov if g[c]["level"] == lv) for lv in (1, 2, 3)]
        chain: list[str] = []
        for lv in (1, 2, 3):
            cands = [c for c in per_level[lv - 1] if lv == 1 or c in kids.get(chain[-1], ())]
            if not cands:
                break
            chain.append(min(cands))
        if not chain:
            status = "outside"
        elif len(chain) < 3 and kids.get(chain[-1]):
            status = "blind_spot"
        else:
            status = "inside"
        out.append((status, chain, per_level))
    return out


def assert_chain_shape(answer: dict) -> None:
    levels = [x["level"] for x in answer["grids"]]
    assert levels == list(range(1, len(levels) + 1)), answer["grids"]  # exactly one owner per level
    g = grids()
    for parent, child in zip(answer["grids"], answer["grids"][1:], strict=False):
        assert g[child["code"]]["parent_code"] == parent["code"]
    for x in answer["grids"]:
        assert x["name"] == g[x["code"]]["name"]


def county_bbox(margin: float = 0.02) -> tuple[float, float, float, float]:
    b = shapely.union_all([p["geom"] for p in grids().values() if p["level"] == 1]).bounds
    return b[0] - margin, b[1] - margin, b[2] + margin, b[3] + margin


def random_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = county_bbox()
    rng = np.random.default_rng(seed)
    return rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)


def adjacent_pairs(level: int) -> list[tuple[str, str, shapely.Geometry]]:
    """Same-level pairs sharing a boundary of positive length, with that shared line."""
    g = grids()
    codes = sorted(c for c, p in g.items() if p["level"] == level)
    geoms = [g[c]["geom"] for c in codes]
    tree = shapely.STRtree(geoms)
    out = []
    for i, j in zip(*tree.query(geoms), strict=True):
        if i >= j:
            continue
        shared = geoms[i].boundary.intersection(geoms[j].boundary)
        if shared.length > 0:
            out.append((codes[i], codes[j], shared))
    return out


def edge_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n points on boundaries shared by two grids of one level: the first half interpolated along
    the shared lines (within an ulp of the edge), the second half the shared lines' own vertices
    (exactly on both grids, so true ties)."""
    rng = np.random.default_rng(seed)
    lines = np.array([part for lv in (1, 2, 3) for _a, _b, s in adjacent_pairs(lv)
                      for part in shapely.get_parts(s) if part.geom_type == "LineString"], dtype=object)
    pick = rng.integers(0, len(lines), n // 2)
    on_edge = shapely.line_interpolate_point(lines[pick], rng.uniform(0, 1, pick.size), normalized=True)
    verts = shapely.get_coordinates(lines)
    vpick = verts[rng.choice(len(verts), n - pick.size, replace=False)]
    return (np.concatenate([shapely.get_x(on_edge), vpick[:, 0]]),
            np.concatenate([shapely.get_y(on_edge), vpick[:, 1]]))


def shared_vertices(min_grids: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Vertices that belong to `min_grids` or more grids of one level."""
    owners: dict[tuple[int, float, float], set[str]] = defaultdict(set)
    for code, p in grids().items():
        for x, y in shapely.get_coordinates(p["geom"]):
            owners[(p["level"], float(x), float(y))].add(code)
    pts = sorted({(x, y) for (_lv, x, y), s in owners.items() if len(s) >= min_grids})
    return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])


def assert_service_matches_oracle(xs: np.ndarray, ys: np.ndarray) -> list:
    _, answers = locate(xs, ys, details=False)
    expected = oracle(xs, ys)
    assert len(answers) == len(expected)
    bad = []
    for i, (a, (status, chain, _)) in enumerate(zip(answers, expected, strict=True)):
        got = [x["code"] for x in a["grids"]]
        if a["status"] != status or got != chain:
            bad.append((i, xs[i], ys[i], a["status"], got, status, chain))
        assert_chain_shape(a)
    assert not bad, f"{len(bad)} disagreements, first: {bad[:5]}"
    return expected


# ------------------------------------------------------------------------------- oracle tests


def test_random_points_match_oracle(heyang_db) -> None:
    xs, ys = random_points(5000, seed=11)
    expected = assert_service_matches_oracle(xs, ys)
    statuses = {s for s, _, _ in expected}
    assert statuses >= {"inside", "outside"}


def test_shared_edge_points_match_oracle(heyang_db) -> None:
    xs, ys = edge_points(500, seed=12)
    expected = assert_service_matches_oracle(xs, ys)
    # The vertices really are ties: covered by two or more grids at some level.
    ties = sum(any(len(c) >= 2 for c in per_level) for _, _, per_level in expected[250:])
    assert ties == 250, ties
    # The interpolated half lies on the edges to well under a micrometre.
    g = grids()
    bnd = shapely.union_all([p["geom"].boundary for p in g.values()])
    d = shapely.distance(bnd, shapely.points(xs[:250], ys[:250]))
    assert d.max() < 1e-11


def test_shared_vertices_match_oracle(heyang_db) -> None:
    xs, ys = shared_vertices(3)
    assert len(xs) >= 50
    expected = assert_service_matches_oracle(xs, ys)
    assert sum(any(len(c) >= 3 for c in per_level) for _, _, per_level in expected) >= 0.9 * len(xs)


def test_tie_break_picks_smallest_code_within_parent(heyang_db) -> None:
    """On a level-2 edge between two towns, level 2 is the child of the smaller town code."""
    g = grids()
    pairs = [(a, b, s) for a, b, s in adjacent_pairs(2) if g[a]["parent_code"] != g[b]["parent_code"]]
    assert pairs
    xs, ys = [], []
    for _a, _b, line in pairs[:50]:
        pt = line.interpolate(0.5, normalized=True)
        xs.append(pt.x)
        ys.append(pt.y)
    _, answers = locate(np.array(xs), np.array(ys), details=False)
    for (a, b, _), ans in zip(pairs[:50], answers, strict=True):
        codes = [x["code"] for x in ans["grids"]]
        # Whatever level 1 is chosen, level 2 must be one of its children.
        assert g[codes[1]]["parent_code"] == codes[0]
        if a in codes or b in codes:
            assert len(codes) >= 2


# ------------------------------------------------------------------------------- datums


def level3_points(k: int = 5) -> list[tuple[str, float, float]]:
    g = grids()
    codes = sorted(c for c, p in g.items() if p["level"] == 3)
    step = max(1, len(codes) // k)
    out = []
    for c in codes[::step][:k]:
        pt = g[c]["geom"].point_on_surface()
        out.append((c, pt.x, pt.y))
    return out


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_datums_end_to_end(anon_client, crs) -> None:
    for code, lon, lat in level3_points():
        ref = anon_client.get(URL, {"lon": repr(lon), "lat": repr(lat)})
        assert ref.status_code == 200, ref.content
        ref = ref.json()
        assert ref["grids"][-1]["code"] == code
        assert ref["input"] == {"lon": lon, "lat": lat, "crs": "wgs84"}
        x, y = datums.from_wgs84(lon, lat, crs)
        x, y = float(x), float(y)
        r = anon_client.get(URL, {"lon": repr(x), "lat": repr(y), "crs": crs})
        assert r.status_code == 200, r.content
        a = r.json()
        assert [g["code"] for g in a["grids"]] == [g["code"] for g in ref["grids"]]
        assert a["status"] == ref["status"]
        assert a["input"] == {"lon": x, "lat": y, "crs": crs}
        assert geodesic_m(lon, lat, *a["wgs84"]) < 0.05
        # The same numbers taken as WGS-84: hundreds of metres off.
        wrong = anon_client.get(URL, {"lon": repr(x), "lat": repr(y), "crs": "wgs84"}).json()
        assert geodesic_m(lon, lat, *wrong["wgs84"]) > 300
        assert wrong["wgs84"] == [round(x, 7), round(y, 7)]


def test_crs_is_case_insensitive_and_cgcs2000(anon_client) -> None:
    code, lon, lat = level3_points(1)[0]
    for crs in ("cgcs2000", "wgs84"):
        a = anon_client.get(URL, {"lon": lon, "lat": lat, "crs": crs}).json()
        assert a["grids"][-1]["code"] == code
    _, answers = locate([float(datums.from_wgs84(lon, lat, "gcj02")[0])],
                        [float(datums.from_wgs84(lon, lat, "gcj02")[1])], "GCJ02", details=False)
    assert answers[0]["grids"][-1]["code"] == code
    assert answers[0]["input"]["crs"] == "gcj02"


# ------------------------------------------------------------------------------- blind spot


def largest_blind_spot() -> tuple[str, float, float]:
    g = grids()
    l3 = shapely.union_all([p["geom"] for p in g.values() if p["level"] == 3])
    best = None
    for code, p in g.items():
        if p["level"] == 2 and p.get("urban"):
            for piece in shapely.get_parts(p["geom"].difference(l3)):
                if piece.geom_type == "Polygon" and (best is None or piece.area > best[1].area):
                    best = (code, piece)
    assert best is not None, "Heyang's urban communities should leave some area to no level-3 grid"
    pt = best[1].point_on_surface()
    return best[0], pt.x, pt.y


def test_blind_spot(client_as) -> None:
    code, lon, lat = largest_blind_spot()
    g = grids()
    community = g[code]
    r = client_as("dispatcher").get(URL, {"lon": lon, "lat": lat})
    assert r.status_code == 200, r.content
    a = r.json()
    assert a["status"] == "blind_spot"
    assert [x["code"] for x in a["grids"]] == [community["parent_code"], code]
    assert [x["level"] for x in a["grids"]] == [1, 2]
    assert a["blind_spot_of"]["code"] == code
    assert a["unit"]["name"] == community["unit"]
    expected = sorted((s["name"], s["role"], s["phone"]) for s in staff_rows() if s["grid_code"] == code)
    assert expected, "the community has staff in staff.csv"
    assert sorted((s["name"], s["role"], s["phone"]) for s in a["staff"]) == expected


# ------------------------------------------------------------------------------- outside


def test_outside_nearest(anon_client) -> None:
    g = grids()
    county = shapely.union_all([p["geom"] for p in g.values() if p["level"] == 1])
    # 20 km due east of the county's easternmost vertex.
    xy = shapely.get_coordinates(county)
    ex, ey = xy[np.argmax(xy[:, 0])]
    lon, lat, _ = GEOD.fwd(ex, ey, 90, 20_000)
    r = anon_client.get(URL, {"lon": lon, "lat": lat})
    assert r.status_code == 200, r.content
    a = r.json()
    assert a["status"] == "outside"
    assert a["grids"] == [] and a["staff"] == [] and a["unit"] is None
    assert a["swapped_inside"] is False
    p = metric_point(lon, lat)
    dist = {c: to_metric(q["geom"]).distance(p) for c, q in g.items() if q["level"] == 1}
    nearest = min(dist, key=lambda c: (dist[c], c))
    assert a["nearest"]["code"] == nearest
    assert a["nearest"]["name"] == g[nearest]["name"]
    assert a["nearest"]["distance_m"] == pytest.approx(dist[nearest], rel=0.01)
    assert 10_000 < a["nearest"]["distance_m"] <= 20_100


@cache
def county_outline_vertices() -> np.ndarray:
    """The county's outline, densified to ~50 m steps in lon/lat: the oracle for far distances."""
    county = shapely.union_all([p["geom"] for p in grids().values() if p["level"] == 1])
    return shapely.get_coordinates(shapely.segmentize(county.boundary, 0.0005))


def geodesic_to_county(lon: float, lat: float) -> tuple[float, str]:
    """(metres on the WGS-84 ellipsoid to the nearest outline vertex, the level-1 grid owning it).
    Vertices ~50 m apart: from 100 km away the nearest vertex is within millimetres of the
    nearest boundary point."""
    xy = county_outline_vertices()
    d = np.asarray(GEOD.inv(np.full(len(xy), lon), np.full(len(xy), lat), xy[:, 0], xy[:, 1])[2])
    i = int(np.argmin(d))
    v = shapely.Point(xy[i])
    owner = min(c for c, p in grids().items() if p["level"] == 1 and p["geom"].distance(v) < 1e-9)
    return float(d[i]), owner


FAR_POINTS = [
    (15.0, 0.0),            # the example: the metric projection gave infinity (and null)
    (60.0, 35.0),           # finite in the projection but stretched by tens of percent
    (111.5, 36.5),          # ~160 km away: just past where the metric distance is used
    (-69.85, -35.24),       # the county's antipode
    (0.0, 90.0), (0.0, -90.0), (180.0, 0.0), (-180.0, 0.0), (179.9, 89.9),
]


@pytest.mark.parametrize("lon,lat", FAR_POINTS)
def test_far_away_point_has_a_finite_geodesic_distance(anon_client, lon, lat) -> None:
    r = anon_client.get(URL, {"lon": lon, "lat": lat})
    assert r.status_code == 200, r.content
    a = r.json()
    assert a["status"] == "outside" and a["grids"] == [] and a["unit"] is None
    want, owner = geodesic_to_county(lon, lat)
    got = a["nearest"]["distance_m"]
    assert isinstance(got, float) and math.isfinite(got)
    assert got == pytest.approx(want, abs=1.0), (got, want)
    assert a["nearest"]["code"] == owner
    assert a["nearest"]["name"] == grids()[owner]["name"]


def test_far_points_in_a_batch_are_finite_and_in_order(client_as) -> None:
    pts = [[lon, lat] for lon, lat in FAR_POINTS] + [[110.1449, 35.2385]]
    r = client_as("dispatcher").post(URL, {"points": pts}, format="json")
    assert r.status_code == 200, r.content
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["outside"] * len(FAR_POINTS) + ["inside"]
    for (lon, lat), x in zip(FAR_POINTS, results, strict=False):
        assert x["nearest"]["distance_m"] == pytest.approx(geodesic_to_county(lon, lat)[0], abs=1.0)


def test_metric_and_geodesic_distances_agree_where_they_meet(heyang_db) -> None:
    """Either side of the radius where the answer switches from the metric CRS to the geodesic,
    both measures agree to 0.1 %: the switch is not a jump."""
    from gisgrid.boundaries.locate import snapshot

    prox = snapshot().proximity
    g = grids()
    cx, cy = prox.centre
    # Due east of the county's centre, just inside and just outside the switch.
    for extra in (-2_000.0, 2_000.0):
        lon, lat, _ = GEOD.fwd(cx, cy, 90, prox.far_from_m + extra)
        _, answers = locate([lon], [lat])
        got = answers[0]["nearest"]["distance_m"]
        metric = min(to_metric(q["geom"]).distance(metric_point(lon, lat)) for q in g.values() if q["level"] == 1)
        geodesic, _ = geodesic_to_county(lon, lat)
        assert got == pytest.approx(metric if extra < 0 else geodesic, abs=1.0)
        assert metric == pytest.approx(geodesic, rel=1e-3)


def test_swapped_lon_lat_is_400_with_hint(anon_client) -> None:
    # The hint names the grid the swapped point lies in, per the oracle.
    (status, chain, _), = oracle(np.array([110.14]), np.array([35.24]))
    assert status != "outside"
    for language, word in (("zh-hans", "颠倒"), ("en", "swapped")):
        r = anon_client.get(URL, {"lon": 35.24, "lat": 110.14}, HTTP_ACCEPT_LANGUAGE=language)
        assert r.status_code == 400
        body = r.json()
        assert body["error"] == "invalid" and list(body["fields"]) == ["lat"]
        reason = body["fields"]["lat"][0]
        assert word in reason and chain[0] in reason, reason
        assert body["detail"] == reason
        assert language == "en" or grids()[chain[0]]["name"] in reason  # zh names the town too


def test_out_of_range_without_swap_hint(anon_client) -> None:
    r = anon_client.get(URL, {"lon": 35.24, "lat": 120.0}, HTTP_ACCEPT_LANGUAGE="en")  # (120, 35.24) is not Heyang
    assert r.status_code == 400
    msg = json.dumps(r.json(), ensure_ascii=False)
    assert "range" in msg and "swapped" not in msg
    r = anon_client.get(URL, {"lon": 35.24, "lat": 120.0})
    msg = json.dumps(r.json(), ensure_ascii=False)
    assert "超出范围" in msg and "颠倒" not in msg
    r = anon_client.get(URL, {"lon": 200, "lat": 35})
    assert r.status_code == 400 and "lon" in r.json()["fields"]


@pytest.mark.parametrize("params,field", [
    ({"lat": 35.2}, "lon"), ({"lon": 110.1}, "lat"), ({"lon": "abc", "lat": 35.2}, "lon"),
    ({"lon": "nan", "lat": 35.2}, "lon"), ({"lon": 110.1, "lat": "inf"}, "lat"),
    ({"lon": 110.1, "lat": 35.2, "crs": "epsg3857"}, "crs"), ({"lon": 110.1, "lat": 35.2, "tolerance_m": -1}, "tolerance_m"),
])
def test_get_bad_parameters(anon_client, params, field) -> None:
    r = anon_client.get(URL, params)
    assert r.status_code == 400, r.content
    assert field in r.json()["fields"], r.json()


# ------------------------------------------------------------------------------- near boundary


def near_boundary_case() -> tuple[str, str, tuple[float, float], tuple[float, float], float]:
    """A shared level-2 edge of two sibling villages, far from every other grid boundary.

    Returns (owner, neighbour, point 5 m inside owner, point 200 m inside owner, exact distance
    of the 5 m point to the neighbour in EPSG:4546)."""
    g = grids()
    kids = children()
    boundaries = {c: to_metric(p["geom"]).boundary for c, p in g.items()}
    pairs = [(a, b, s) for a, b, s in adjacent_pairs(2)
             if g[a]["parent_code"] == g[b]["parent_code"] and not kids.get(a) and not kids.get(b)]
    pairs.sort(key=lambda t: -t[2].length)
    for a, b, _shared in pairs[:40]:
        A, B = to_metric(g[a]["geom"]), to_metric(g[b]["geom"])
        shared = A.boundary.intersection(B.boundary)
        lines = [ln for ln in shapely.get_parts(shapely.line_merge(shared)) if ln.geom_type == "LineString"]
        line = max(lines, key=lambda ln: ln.length)
        coords = np.asarray(line.coords)
        seg = int(np.argmax(np.hypot(*np.diff(coords, axis=0).T)))
        (x0, y0), (x1, y1) = coords[seg], coords[seg + 1]
        length = math.hypot(x1 - x0, y1 - y0)
        if length < 30:
            continue
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length
        if not A.contains(shapely.Point(mx + nx * 5, my + ny * 5)):
            nx, ny = -nx, -ny
        p5 = shapely.Point(mx + nx * 5, my + ny * 5)
        p200 = shapely.Point(mx + nx * 200, my + ny * 200)
        if not (A.contains(p5) and A.contains(p200)):
            continue
        others = [c for c in g if c not in (a, b, g[a]["parent_code"]) and g[c]["level"] in (1, 2)]
        # Nothing else within 60 m of the 5 m point, nothing at all within 60 m of the 200 m point.
        if min(boundaries[c].distance(p5) for c in others) < 60:
            continue
        if min(boundaries[c].distance(p200) for c in g if g[c]["level"] in (1, 2)) < 60:
            continue
        if not 4.9 <= B.distance(p5) <= 5.0:
            continue
        return a, b, to_deg(p5.x, p5.y), to_deg(p200.x, p200.y), B.distance(p5)
    raise AssertionError("no suitable shared level-2 edge found")


def test_near_boundary(anon_client) -> None:
    a, b, (lon5, lat5), (lon200, lat200), d5 = near_boundary_case()
    assert 4.9 <= d5 <= 5.0
    r = anon_client.get(URL, {"lon": repr(lon5), "lat": repr(lat5)}).json()
    assert r["status"] == "inside"
    assert r["grids"][1]["code"] == a
    assert r["near_boundary"] is True
    cands = {c["code"]: c for c in r["candidates"]}
    assert b in cands, r["candidates"]
    assert cands[b]["level"] == 2
    assert cands[b]["distance_m"] == pytest.approx(5, abs=1)
    assert cands[b]["distance_m"] == pytest.approx(d5, abs=0.05)
    assert a not in cands and r["grids"][0]["code"] not in cands

    r2 = anon_client.get(URL, {"lon": repr(lon5), "lat": repr(lat5), "tolerance_m": 2}).json()
    assert r2["near_boundary"] is False and r2["candidates"] == []
    assert r2["grids"] == r["grids"]

    r3 = anon_client.get(URL, {"lon": repr(lon200), "lat": repr(lat200)}).json()
    assert r3["grids"][1]["code"] == a
    assert r3["near_boundary"] is False and r3["candidates"] == []
    # With a tolerance reaching the neighbour, it shows up at ~200 m.
    r4 = anon_client.get(URL, {"lon": repr(lon200), "lat": repr(lat200), "tolerance_m": 250}).json()
    cands = {c["code"]: c for c in r4["candidates"]}
    assert cands[b]["distance_m"] == pytest.approx(200, abs=2)


# ------------------------------------------------------------------------------- phones


def point_with_staff() -> tuple[str, float, float]:
    g = grids()
    staffed = {s["grid_code"] for s in staff_rows() if s["grid_code"]}
    code = min(c for c in staffed if c in g and g[c]["level"] == 3)
    pt = g[code]["geom"].point_on_surface()
    return code, pt.x, pt.y


def test_phones_hidden_from_anonymous(anon_client) -> None:
    code, lon, lat = point_with_staff()
    a = anon_client.get(URL, {"lon": lon, "lat": lat}).json()
    assert a["grids"][-1]["code"] == code
    assert a["staff"], "the grid has staff"
    expected_names = sorted(s["name"] for s in staff_rows() if s["grid_code"] == code)
    assert sorted(s["name"] for s in a["staff"]) == expected_names
    assert all("phone" not in s for s in a["staff"])
    assert a["unit"] is not None and "phone" not in a["unit"]
    phones = {s["phone"] for s in staff_rows()}
    assert not any(p in json.dumps(a) for p in phones)


@pytest.mark.parametrize("user,sees", [("dispatcher", True), ("admin", True), ("gridchief", True),
                                       ("unitstaff", True), ("gridmember", False), ("inspector", False),
                                       ("planner", False)])
def test_phones_by_role(client_as, user, sees) -> None:
    code, lon, lat = point_with_staff()
    a = client_as(user).get(URL, {"lon": lon, "lat": lat}).json()
    assert a["staff"]
    if sees:
        expected = {s["name"]: s["phone"] for s in staff_rows() if s["grid_code"] == code}
        assert {s["name"]: s["phone"] for s in a["staff"]} == expected
        assert a["unit"]["phone"]
    else:
        assert all("phone" not in s for s in a["staff"])
        assert "phone" not in a["unit"]


# ------------------------------------------------------------------------------- batch


def mixed_points(n: int = 1000) -> np.ndarray:
    xs1, ys1 = random_points(n - 300, seed=21)
    xs2, ys2 = edge_points(200, seed=22)
    vx, vy = shared_vertices(3)
    xs3, ys3 = vx[:50], vy[:50]
    xs4 = np.linspace(100.0, 120.0, 50)  # far outside
    ys4 = np.linspace(30.0, 40.0, 50)
    pts = np.column_stack([np.concatenate([xs1, xs2, xs3, xs4]), np.concatenate([ys1, ys2, ys3, ys4])])
    rng = np.random.default_rng(23)
    return pts[rng.permutation(len(pts))]


def test_batch_preserves_order(client_as) -> None:
    pts = mixed_points(1000)
    assert len(pts) == 1000
    client = client_as("gridmember")
    r = client.post(URL, {"points": pts.tolist()}, format="json")
    assert r.status_code == 200, r.content[:500]
    body = r.json()
    assert body["count"] == 1000 and len(body["results"]) == 1000
    expected = oracle(pts[:, 0], pts[:, 1])
    for (x, y), res, (status, chain, _) in zip(pts, body["results"], expected, strict=True):
        assert res["input"]["lon"] == x and res["input"]["lat"] == y
        assert res["status"] == status
        assert [g["code"] for g in res["grids"]] == chain
    # A sample against single GETs, field by field.
    for i in np.random.default_rng(24).choice(1000, 25, replace=False):
        single = client.get(URL, {"lon": repr(float(pts[i, 0])), "lat": repr(float(pts[i, 1]))}).json()
        assert single == body["results"][i]


def test_batch_in_gcj02_and_without_details(client_as) -> None:
    code, lon, lat = point_with_staff()
    bx, by = datums.from_wgs84(lon, lat, "bd09")
    r = client_as("dispatcher").post(URL, {"crs": "bd09", "details": False,
                                           "points": [[float(bx), float(by)], [lon, lat]]}, format="json")
    assert r.status_code == 200, r.content
    res = r.json()["results"]
    assert res[0]["grids"][-1]["code"] == code
    assert res[1]["grids"] != res[0]["grids"] or geodesic_m(lon, lat, *res[1]["wgs84"]) > 300
    assert "staff" not in res[0] and "near_boundary" not in res[0]


def test_batch_needs_authentication(anon_client) -> None:
    r = anon_client.post(URL, {"points": [[110.14, 35.24]]}, format="json")
    assert r.status_code in (401, 403)


def test_batch_limit(client_as) -> None:
    from django.conf import settings

    limit = settings.GISGRID_LOCATE_MAX_POINTS
    assert limit == 100_000
    client = client_as("dispatcher")
    x0, y0, x1, y1 = county_bbox()
    rng = np.random.default_rng(31)
    pts = np.round(np.column_stack([rng.uniform(x0, x1, limit + 1), rng.uniform(y0, y1, limit + 1)]), 6)
    r = client.post(URL, {"points": pts.tolist(), "details": False}, format="json")
    assert r.status_code == 400
    assert "points" in r.json()["fields"]
    assert str(limit) in json.dumps(r.json())
    r = client.post(URL, {"points": pts[:limit].tolist(), "details": False}, format="json")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == limit
    assert body["results"][-1]["input"]["lon"] == pts[limit - 1, 0]


def test_batch_malformed_json(client_as) -> None:
    client = client_as("dispatcher")
    for raw in ('{"points": [[110.1, 35.2]', "not json", '{"points": [[NaN, 35.2]]}'):
        r = client.post(URL, raw, content_type="application/json")
        assert r.status_code == 400, (raw, r.content)
        assert r.json()["error"]
    r = client.post(URL, '[[110.1, 35.2]]', content_type="application/json")
    assert r.status_code == 400


@pytest.mark.parametrize("points", [
    [["NaN", 35.2]], [[110.1, "inf"]], [["abc", 35.2]], [[110.1, 35.2, 0.0]], [[110.1]],
    [[110.1, 35.2], [110.1]], [110.1, 35.2], [[None, 35.2]], [{"lon": 110.1, "lat": 35.2}],
    [[110.1, 35.2], [1000.0, 35.2]], "110.1,35.2", [[True, False]], [["110.1", "35.2"]],
])
def test_batch_bad_points(client_as, points) -> None:
    r = client_as("dispatcher").post(URL, {"points": points}, format="json")
    assert r.status_code == 400, r.content
    assert "points" in r.json()["fields"], r.json()


def test_batch_bad_point_names_its_index(client_as) -> None:
    pts = [[110.1, 35.2]] * 7 + [["nan", 35.2]]
    r = client_as("dispatcher").post(URL, {"points": pts}, format="json")
    assert r.status_code == 400 and r.json()["error"] == "invalid"
    assert "第 7 个点" in r.json()["fields"]["points"][0]  # zh-hans by default
    r = client_as("dispatcher").post(URL, {"points": pts}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert "index 7" in r.json()["fields"]["points"][0]
    # A point that parses but is not finite: named by index as well (locate.check_coordinates).
    r = client_as("dispatcher").post(URL, '{"points": [[110.1, 35.2], [1e400, 35.2]]}',
                                     content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400 and "index 1" in r.json()["fields"]["points"][0]


@pytest.mark.parametrize("body,field", [
    ({"crs": "gcj-02", "points": [[110.1, 35.2]]}, "crs"), ({"crs": "epsg:4326", "points": [[110.1, 35.2]]}, "crs"),
    ({"points": []}, "points"), ({}, "points"), ({"points": [[110.1, 35.2]], "tolerance_m": 1000}, "tolerance_m"),
])
def test_batch_bad_fields(client_as, body, field) -> None:
    r = client_as("dispatcher").post(URL, body, format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()["fields"], r.json()


# ------------------------------------------------------------------------------- edition


def test_answer_names_the_active_edition(client_as) -> None:
    from gisgrid.boundaries.models import Edition

    active = Edition.objects.get(status="active")
    code, lon, lat = point_with_staff()
    a = client_as("dispatcher").get(URL, {"lon": lon, "lat": lat}).json()
    assert a["edition"]["id"] == active.pk
    assert a["edition"]["name"] == active.name
    b = client_as("dispatcher").post(URL, {"points": [[lon, lat], [0.0, 0.0]]}, format="json").json()
    assert b["edition"]["id"] == active.pk
    assert all(x["edition"]["id"] == active.pk for x in b["results"])
    snap, answers = locate([lon], [lat])
    assert snap.edition_id == active.pk and answers[0]["edition"]["id"] == active.pk
    # Asking for the active edition by id gives the same answer; an unknown edition is a 404.
    again = client_as("dispatcher").get(URL, {"lon": lon, "lat": lat, "edition": active.pk}).json()
    assert again == a
    missing = Edition.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    r = client_as("dispatcher").get(URL, {"lon": lon, "lat": lat, "edition": missing})
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_oversized_body_is_a_json_413(client_as, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    body = '{"points": [' + ",".join(["[110.123456789,35.123456789]"] * 50_000) + "]}"
    r = client_as("dispatcher").post(URL, body, content_type="application/json")
    assert r.status_code == 413
    assert "body" in r.json()["fields"]
