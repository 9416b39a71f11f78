"""In-process point -> grid-chain index: which grid at every level owns each point.

Pure Python + numpy + shapely (no Django), so it can be built and tested without a database.
`gisgrid.boundaries.locate` wraps it per boundary edition.

Ownership rule (covers semantics, one owner per level)
------------------------------------------------------
A grid *covers* a point when the point lies in its interior or on its boundary (GEOS
``intersects``/``covers`` on the WGS-84 lon/lat geometry).  A point on a shared edge, or on a
vertex shared by three or more grids, is covered by several grids of the same level; exactly one
owner per level is chosen, top-down along the hierarchy:

1. level 1: among the level-1 grids covering the point, the one with the **smallest code**;
2. level 2: among the *children of the chosen level-1 grid* that cover the point, the smallest code;
3. level 3: among the *children of the chosen level-2 grid* that cover the point, the smallest code.

"Smallest" is plain string order of the codes (codes of one level have one length, so this is
numeric order too).  A grid whose ``parent_code`` is not a record of the level above is never
chosen.

Status: ``outside`` (2) when no level-1 grid covers the point; ``blind_spot`` (1) when the deepest
chosen grid has children but none of them covers the point (an urban community's area that no
level-3 grid covers; also a gap in a level-2 tiling, which validation should have caught);
``inside`` (0) otherwise (level3 = -1 under a non-urban village is a normal "inside").
NaN / infinite coordinates are ``outside``.

How it is fast
--------------
At build time a uniform lattice of ~20 m cells is laid over the bounding box of all grids (in
"cell units": ``u = (lon - x0) / hx``, ``v = (lat - y0) / hy``).  Every cell touched by any
grid boundary (the segments' supercover, widened by ``_EPS`` cell units so that a point on an
edge can never be floored into an untouched cell) is a *boundary cell*; so is a cell where two
grids of one level overlap.  Every other cell lies wholly inside one grid per level (or outside
all of them); its answer is resolved once by the rule above and stored as the index of the
*deepest chosen grid* (-1 = outside), from which lookup tables give status and the whole chain.
A query is then a few numpy operations and one gather per point.  Points in boundary cells (edge
points always land there) take the exact path: the cell's candidate grids (from a CSR table), a
GEOS ``intersects_xy`` test on prepared polygons for the candidates whose boundary passes through
the cell, then the smallest-code rule, level by level along the chain.

Threads
-------
One index serves every request thread of a process, and GEOS prepared geometries must not be
shared between threads (libgeos/geos#825; docs/threads.md).  The index keeps the polygons as WKB
only; each thread that takes the exact path builds its own prepared copy on first use (about
1 ms and 1.6 MB for Heyang's 350 grids).  Everything else it holds is numpy arrays.

Distances (which other grids are near, which grid is nearest) live in ``proximity.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import shapely

from .edition_cache import PerThread

STATUS_INSIDE = 0
STATUS_BLIND_SPOT = 1
STATUS_OUTSIDE = 2
LEVELS = (1, 2, 3)

# Cell value for boundary cells (exact path); other values are the deepest owner (-1 = outside).
_BOUNDARY = -2
# Widening of the boundary supercover in cell units (~20 µm at 20 m cells): far above the
# rounding error of computing u, v from lon, lat (~1e-12 cell units), far below a cell.
_EPS = 1e-6
_DEFAULT_CELL_M = 20.0
_DEFAULT_MAX_CELLS = 8_000_000
# WGS-84 ellipsoid, for metres per degree when sizing the cells (sizing only, not distances).
_A = 6378137.0
_E2 = 6.69437999014e-3


@dataclass(frozen=True)
class GridRecord:
    code: str
    name: str
    level: int
    parent_code: str | None
    # Polygon/MultiPolygon, WGS-84 lon/lat; None in an index built with keep_geoms=False.
    geom: shapely.Geometry | None


@dataclass(frozen=True)
class LocateResult:
    """Per-point answers; record indices are into `GridIndex.records`, -1 where none."""

    status: np.ndarray  # int8: 0 inside, 1 blind_spot, 2 outside
    level1: np.ndarray  # int32
    level2: np.ndarray  # int32
    level3: np.ndarray  # int32

    def __len__(self) -> int:
        return int(self.status.shape[0])

    def chain(self, i: int) -> list[int]:
        """Record indices of point i's owners from level 1 down (empty when outside)."""
        out: list[int] = []
        for arr in (self.level1, self.level2, self.level3):
            v = int(arr[i])
            if v < 0:
                break
            out.append(v)
        return out


class GridIndex:
    """Immutable after construction; safe to share between threads.

    Holds numpy tables and the polygons as WKB; `geoms()` gives each thread its own prepared
    copy.  `records` are the caller's, geometries included; an index that threads share should
    be built with ``keep_geoms=False`` so that its records carry none (``geom=None``): the
    caller's geometries would otherwise be GEOS objects every thread can reach.
    """

    def __init__(
        self,
        records: Sequence[GridRecord],
        edition: str | int | None = None,
        *,
        cell_m: float = _DEFAULT_CELL_M,
        max_cells: int = _DEFAULT_MAX_CELLS,
        keep_geoms: bool = True,
    ) -> None:
        self.edition = edition
        self.records: list[GridRecord] = list(records)
        n = len(self.records)
        self.code_to_idx: dict[str, int] = {}
        for i, r in enumerate(self.records):
            if r.level not in LEVELS:
                raise ValueError(f"grid {r.code}: level {r.level} not in {LEVELS}")
            if r.code in self.code_to_idx:
                raise ValueError(f"duplicate grid code {r.code}")
            self.code_to_idx[r.code] = i

        self._level = np.array([r.level for r in self.records], dtype=np.int8)
        # A parent link counts only when it points one level up; anything else is an orphan.
        parent = np.full(n, -1, dtype=np.int32)
        for i, r in enumerate(self.records):
            p = self.code_to_idx.get(r.parent_code) if r.parent_code is not None else None
            if p is not None and self.records[p].level == r.level - 1:
                parent[i] = p
        self._parent = parent
        order = sorted(range(n), key=lambda i: self.records[i].code)
        self._rank = np.empty(n, dtype=np.int32)
        self._rank[order] = np.arange(n, dtype=np.int32)
        self._by_rank = np.array(order, dtype=np.int32)
        self._build_chain_tables()

        # WKB is what the index keeps (the round trip is exact); the lattice is built from this
        # thread's temporary geometries, which are dropped when the constructor returns.
        wkb = shapely.to_wkb(np.array([r.geom for r in self.records], dtype=object))
        self._wkb = wkb
        self._copies: PerThread[np.ndarray] = PerThread(lambda: _prepared(wkb))
        self._build_lattice(shapely.from_wkb(wkb), cell_m, max_cells)
        if not keep_geoms:
            self.records = [replace(r, geom=None) for r in self.records]

    # ------------------------------------------------------------------ build

    def _build_chain_tables(self) -> None:
        """Tables indexed by (deepest owner + 1): status and the owner at each level."""
        n = len(self.records)
        has_children = np.zeros(n, dtype=bool)
        has_children[self._parent[self._parent >= 0]] = True
        tab = np.full((3, n + 1), -1, dtype=np.int32)
        status = np.full(n + 1, STATUS_OUTSIDE, dtype=np.int8)
        for d in range(n):
            g = d
            while g >= 0:
                tab[self._level[g] - 1, d + 1] = g
                g = self._parent[g]
            status[d + 1] = STATUS_BLIND_SPOT if has_children[d] else STATUS_INSIDE
        self._tab = tab
        self._tab_status = status

    def _build_lattice(self, geoms: np.ndarray, cell_m: float, max_cells: int) -> None:
        n = len(self.records)
        bounds = shapely.bounds(geoms).reshape(-1, 4)
        ok = np.isfinite(bounds).all(axis=1)
        if not ok.any():
            # No geometry at all: a 1x1 lattice whose single cell says "outside".
            self._x0 = self._y0 = 0.0
            self._inv_hx = self._inv_hy = 0.0
            self._nx = self._ny = 1
            self.cell_size_m = (0.0, 0.0)
            self._cells = np.full(1, -1, dtype=np.int16)
            self._setup_csr(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32),
                            np.zeros(0, bool))
            return
        xmin, ymin = bounds[ok, 0].min(), bounds[ok, 1].min()
        xmax, ymax = bounds[ok, 2].max(), bounds[ok, 3].max()
        m_lon, m_lat = _metres_per_degree((ymin + ymax) / 2)
        hx, hy = cell_m / m_lon, cell_m / m_lat
        # One spare cell on every side, so that points on the outermost edges are still in range.
        while True:
            nx = int(math.ceil((xmax - xmin) / hx)) + 2
            ny = int(math.ceil((ymax - ymin) / hy)) + 2
            if nx * ny <= max_cells:
                break
            hx *= 1.25
            hy *= 1.25
        self._x0, self._y0 = xmin - hx, ymin - hy
        self._inv_hx, self._inv_hy = 1.0 / hx, 1.0 / hy
        self._nx, self._ny = nx, ny
        self.cell_size_m = (hx * m_lon, hy * m_lat)

        # Segments of every ring, in cell units, with their grid.
        parts, part_owner = shapely.get_parts(geoms, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        ring_owner = part_owner[ring_part]
        xy, ring_of = shapely.get_coordinates(rings, return_index=True)
        u = (xy[:, 0] - self._x0) * self._inv_hx
        v = (xy[:, 1] - self._y0) * self._inv_hy
        same = ring_of[:-1] == ring_of[1:]
        u1, v1, u2, v2 = u[:-1][same], v[:-1][same], u[1:][same], v[1:][same]
        seg_grid = ring_owner[ring_of[:-1][same]].astype(np.int64)

        # 1. boundary cells: (cell, grid) for every cell an edge of the grid touches.
        bcell, bgrid = _supercover(u1, v1, u2, v2, seg_grid, nx, ny)
        key = np.unique(bcell * n + bgrid)
        bcell, bgrid = key // n, key % n
        boundary = np.zeros(nx * ny, dtype=bool)
        boundary[bcell] = True

        # 2. per level, the owner of each cell centre (even-odd scanline runs per grid).  Kept
        #    as int16 when the record count allows: three lattice-sized arrays dominate memory.
        dtype = np.int16 if n < np.iinfo(np.int16).max else np.int32
        r_grid, r_row, r_k0, r_k1 = _interior_runs(u1, v1, u2, v2, seg_grid, nx)
        owners = []
        conflict_pairs: list[tuple[np.ndarray, np.ndarray]] = []
        for level in LEVELS:
            sel = self._level[r_grid] == level
            owner, count = _fill_runs(r_grid[sel], r_row[sel], r_k0[sel], r_k1[sel], nx, ny)
            over = np.flatnonzero(count > 1)
            if over.size:
                # Overlapping grids of one level (bad data): exact path with every grid of the
                # level whose bounding box reaches the cell.
                boundary[over] = True
                conflict_pairs.append(self._bbox_candidates(over, level, bounds))
            owner[count != 1] = -1
            del count
            owners.append(owner.astype(dtype))
            del owner

        # 3. candidates of boundary cells (CSR): edges passing through (test needed) and grids
        #    that wholly contain the cell (known to cover; skipped when the grid's own edge also
        #    touches the cell, as then its pair is already a "test" pair).
        nf_cells = np.flatnonzero(boundary)
        cells = [bcell]
        grids = [bgrid]
        tests = [np.ones(bcell.size, dtype=bool)]
        bkey = bcell * n + bgrid  # sorted (from np.unique)
        for owner in owners:
            o = owner[nf_cells]
            has = o >= 0
            c, g = nf_cells[has], o[has].astype(np.int64)
            k = c * n + g
            pos = np.searchsorted(bkey, k)
            pos[pos >= bkey.size] = 0
            known = bkey[pos] != k if bkey.size else np.ones(k.size, bool)
            cells.append(c[known])
            grids.append(g[known])
            tests.append(np.zeros(int(known.sum()), dtype=bool))
        for c, g in conflict_pairs:
            cells.append(c)
            grids.append(g)
            tests.append(np.ones(c.size, dtype=bool))
        self._setup_csr(nf_cells, np.concatenate(cells), np.concatenate(grids).astype(np.int32),
                        np.concatenate(tests))

        # 4. other cells: the deepest owner after the chain rule, computed in place.  parent_ext
        #    maps index -1 (no owner) to -3, which equals no owner index.
        o1, o2, o3 = owners
        parent_ext = np.append(self._parent, -3).astype(dtype)
        o2[(o1 < 0) | (parent_ext[o2] != o1)] = -1
        o3[(o2 < 0) | (parent_ext[o3] != o2)] = -1
        o2[o2 < 0] = o1[o2 < 0]
        o3[o3 < 0] = o2[o3 < 0]
        o3[boundary] = _BOUNDARY
        self._cells = o3

    def _bbox_candidates(self, cells: np.ndarray, level: int, bounds: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
        cu = cells % self._nx
        cv = cells // self._nx
        out_c, out_g = [], []
        for g in np.flatnonzero(self._level == level):
            b = bounds[g]
            if not np.isfinite(b).all():
                continue
            u0, v0 = (b[0] - self._x0) * self._inv_hx, (b[1] - self._y0) * self._inv_hy
            u1, v1 = (b[2] - self._x0) * self._inv_hx, (b[3] - self._y0) * self._inv_hy
            m = (cu + 1 >= u0) & (cu <= u1) & (cv + 1 >= v0) & (cv <= v1)
            out_c.append(cells[m])
            out_g.append(np.full(int(m.sum()), g, dtype=np.int64))
        return np.concatenate(out_c), np.concatenate(out_g)

    def _setup_csr(self, nf_cells: np.ndarray, cells: np.ndarray, grids: np.ndarray,
                   tests: np.ndarray) -> None:
        order = np.lexsort((self._rank[grids] if grids.size else grids, cells))
        cells, self._csr_grid, self._csr_test = cells[order], grids[order], tests[order]
        self._nf_cells = nf_cells.astype(np.int64)
        # Every candidate cell is a boundary cell; ptr[s]:ptr[s+1] are the pairs of slot s.
        slot_of = np.searchsorted(self._nf_cells, cells)
        self._csr_ptr = np.searchsorted(slot_of, np.arange(nf_cells.size + 1), side="left")

    # ------------------------------------------------------------------ queries

    def geoms(self) -> np.ndarray:
        """This thread's own prepared copy of the grid polygons (record order, WGS-84).

        Use it on the calling thread only: handing it to another thread shares GEOS objects.
        """
        return self._copies.get()

    def locate_many(self, lon: np.ndarray, lat: np.ndarray) -> LocateResult:
        """Owner at every level for each (lon, lat) in WGS-84; see the module docstring."""
        lon = np.ascontiguousarray(lon, dtype=np.float64).reshape(-1)
        lat = np.ascontiguousarray(lat, dtype=np.float64).reshape(-1)
        if lon.shape != lat.shape:
            raise ValueError("lon and lat must have the same length")
        u = lon - self._x0
        u *= self._inv_hx
        v = lat - self._y0
        v *= self._inv_hy
        # NaN compares False, so NaN points fall out here too.
        ok = (u >= 0) & (u < self._nx) & (v >= 0) & (v < self._ny)
        all_ok = bool(ok.all())
        if not all_ok:
            u[~ok] = 0
            v[~ok] = 0
        flat = v.astype(np.intp)
        flat *= self._nx
        flat += u.astype(np.intp)
        del u, v
        deepest = self._cells[flat].astype(np.int32)
        if not all_ok:
            deepest[~ok] = -1
        exact = np.flatnonzero(deepest == _BOUNDARY)
        if exact.size:
            deepest[exact] = self._exact(lon[exact], lat[exact], flat[exact])
        deepest += 1
        return LocateResult(
            status=self._tab_status[deepest],
            level1=self._tab[0][deepest],
            level2=self._tab[1][deepest],
            level3=self._tab[2][deepest],
        )

    def _exact(self, x: np.ndarray, y: np.ndarray, flat: np.ndarray) -> np.ndarray:
        """Deepest owner of points in boundary cells, by GEOS predicates and the chain rule."""
        m = x.size
        slot = np.searchsorted(self._nf_cells, flat)
        start = self._csr_ptr[slot]
        cnt = self._csr_ptr[slot + 1] - start
        pt = np.repeat(np.arange(m), cnt)
        first = np.cumsum(cnt) - cnt
        k = np.arange(pt.size) - first[pt] + start[pt]
        grid = self._csr_grid[k]
        test = self._csr_test[k]
        glevel = self._level[grid]
        big = np.iinfo(np.int32).max
        prev = None
        deepest = np.full(m, -1, dtype=np.int32)
        geoms = None
        for level in LEVELS:
            sel = glevel == level
            if prev is not None:
                # Chain rule: only children of the owner chosen one level up compete.
                sel &= self._parent[grid] == prev[pt]
                sel &= prev[pt] >= 0
            idx = np.flatnonzero(sel)
            if not idx.size:
                break
            g, p, t = grid[idx], pt[idx], test[idx]
            cov = ~t
            ti = np.flatnonzero(t)
            if ti.size:
                if geoms is None:
                    geoms = self.geoms()
                cov[ti] = shapely.intersects_xy(geoms[g[ti]], x[p[ti]], y[p[ti]])
            best = np.full(m, big, dtype=np.int32)
            np.minimum.at(best, p[cov], self._rank[g[cov]])
            found = best < big
            owner = np.full(m, -1, dtype=np.int32)
            owner[found] = self._by_rank[best[found]]
            deepest[found] = owner[found]
            prev = owner
        return deepest

    def locate(self, lon: float, lat: float) -> list[int]:
        """Convenience: the chain (record indices, level 1 down) of one point."""
        return self.locate_many(np.array([lon]), np.array([lat])).chain(0)

    # ------------------------------------------------------------------ distances

    def memory_bytes(self) -> int:
        """Bytes held by the lattice and the candidate tables (geometries not included)."""
        arrays = (self._cells, self._nf_cells, self._csr_ptr, self._csr_grid, self._csr_test, self._tab,
                  self._tab_status)
        return int(sum(a.nbytes for a in arrays))


def _prepared(wkb: np.ndarray) -> np.ndarray:
    """Polygons from WKB, prepared: one thread's copy (GEOS builds each locator on first use)."""
    geoms = shapely.from_wkb(wkb)
    shapely.prepare(geoms)
    return geoms


def _metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude at `lat` on the WGS-84 ellipsoid (cell sizing)."""
    phi = math.radians(lat)
    s = math.sqrt(1 - _E2 * math.sin(phi) ** 2)
    return math.pi / 180 * _A * math.cos(phi) / s, math.pi / 180 * _A * (1 - _E2) / s**3


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For counts c_i: (owner i repeated c_i times, 0..c_i-1 within each owner)."""
    counts = np.maximum(counts, 0)
    owner = np.repeat(np.arange(counts.size), counts)
    first = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - first[owner]


def _supercover(u1: np.ndarray, v1: np.ndarray, u2: np.ndarray, v2: np.ndarray, grid: np.ndarray,
                nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat ids of all cells whose box, widened by _EPS, a segment touches, with its grid."""
    umin, umax = np.minimum(u1, u2) - _EPS, np.maximum(u1, u2) + _EPS
    vmin, vmax = np.minimum(v1, v2), np.maximum(v1, v2)
    i_lo = np.floor(umin).astype(np.int64)
    i_hi = np.floor(umax).astype(np.int64)
    s, off = _expand(i_hi - i_lo + 1)
    col = i_lo[s] + off
    # The segment's v-range over the (widened) column strip, clamped to the segment.
    a = np.maximum(umin[s], col)
    b = np.minimum(umax[s], col + 1)
    du = u2[s] - u1[s]
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (v2[s] - v1[s]) / du
        va = v1[s] + (a - u1[s]) * slope
        vb = v1[s] + (b - u1[s]) * slope
    vertical = ~np.isfinite(va) | ~np.isfinite(vb) | (du == 0)
    va = np.where(vertical, vmin[s], np.clip(va, vmin[s], vmax[s]))
    vb = np.where(vertical, vmax[s], np.clip(vb, vmin[s], vmax[s]))
    j_lo = np.floor(np.minimum(va, vb) - _EPS).astype(np.int64)
    j_hi = np.floor(np.maximum(va, vb) + _EPS).astype(np.int64)
    t, off2 = _expand(j_hi - j_lo + 1)
    row = j_lo[t] + off2
    col = col[t]
    keep = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
    return (row[keep] * nx + col[keep]), grid[s[t[keep]]]


def _interior_runs(u1: np.ndarray, v1: np.ndarray, u2: np.ndarray, v2: np.ndarray, grid: np.ndarray,
                   nx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Even-odd scanline at row centres: runs [k0, k1) of cells whose centre is inside a grid."""
    vmin, vmax = np.minimum(v1, v2), np.maximum(v1, v2)
    # Half-open crossing rule (vmin <= vc < vmax) with vc = row + 0.5, as in ray casting.
    r_lo = np.ceil(vmin - 0.5).astype(np.int64)
    r_hi = np.ceil(vmax - 0.5).astype(np.int64)  # exclusive
    s, off = _expand(r_hi - r_lo)
    row = r_lo[s] + off
    vc = row + 0.5
    uc = u1[s] + (vc - v1[s]) * (u2[s] - u1[s]) / (v2[s] - v1[s])
    # First column whose centre lies east of the crossing.
    k = np.clip(np.floor(uc - 0.5).astype(np.int64) + 1, 0, nx)
    g = grid[s]
    order = np.lexsort((uc, row, g))
    g, row, k = g[order], row[order], k[order]
    # Crossings of one (grid, row) pair up in order: enter, leave, enter, leave ...
    new = np.ones(g.size, dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (row[1:] != row[:-1])
    group_start = np.maximum.accumulate(np.where(new, np.arange(g.size), 0))
    even = ((np.arange(g.size) - group_start) % 2) == 0
    starts = np.flatnonzero(even)
    starts = starts[starts + 1 < g.size]
    return g[starts], row[starts], k[starts], k[starts + 1]


def _fill_runs(g: np.ndarray, row: np.ndarray, k0: np.ndarray, k1: np.ndarray, nx: int, ny: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: sum of (grid + 1) and number of runs covering it (difference arrays)."""
    # int32 difference arrays summed in place: the lattice has millions of cells and this
    # runs once per level, so no float or int64 temporaries of lattice size.
    size = nx * ny
    a = row * nx + k0
    b = row * nx + k1
    nonempty = b > a
    a, b, w = a[nonempty], b[nonempty], g[nonempty].astype(np.int32) + 1
    owner = np.zeros(size + 1, dtype=np.int32)
    np.add.at(owner, a, w)
    np.subtract.at(owner, b, w)
    np.cumsum(owner, out=owner)
    owner -= 1
    count = np.zeros(size + 1, dtype=np.int32)
    np.add.at(count, a, 1)
    np.subtract.at(count, b, 1)
    np.cumsum(count, out=count)
    return owner[:size], count[:size]


def records_from_geojson(path: str) -> list[GridRecord]:
    """GridRecords from a FeatureCollection with properties code, name, level, parent_code."""
    import json

    with open(path, encoding="utf-8") as f:
        fc = json.load(f)
    out = []
    for feat in fc["features"]:
        p = feat["properties"]
        geom = shapely.from_geojson(json.dumps(feat["geometry"]))
        out.append(GridRecord(str(p["code"]), str(p.get("name") or ""), int(p["level"]),
                              p.get("parent_code"), geom))
    return out


__all__ = ["GridIndex", "GridRecord", "LocateResult", "records_from_geojson",
           "STATUS_INSIDE", "STATUS_BLIND_SPOT", "STATUS_OUTSIDE"]
