"""Distances for locate, vectorised: which other grids lie within a tolerance, which grid is nearest.

Computed in the metric CRS (EPSG:4546) with GEOS' bulk queries (`dwithin`, `query_nearest`),
so a batch of 100,000 points costs a few GEOS calls rather than 100,000 Python-level lookups.
The trees hold each grid's boundary cut into short pieces, not whole polygons: a point's
distance to a grid it is not in equals its distance to that grid's boundary, and a tree of
short pieces answers in a few small distance computations where a whole polygon of a
thousand vertices costs a scan of all of them.

A Proximity is shared by every request thread (it lives in locate's snapshot), and GEOS objects
must not be (docs/threads.md). It keeps the metric polygons and the pieces as WKB, and the GEOS
objects built from them (Heyang: ~12 ms and ~11 MB a copy) in a pool: a call takes a copy no
other thread uses meanwhile, so a worker holds as many copies as calls overlap, not one for each
of its 16 threads.
"""

from __future__ import annotations

import numpy as np
import shapely

from . import geometry
from .edition_cache import CopyPool

PIECE_VERTICES = 16
# ~20 m: the bow of a 20 m lon/lat-straight segment after projection is far below a millimetre.
DENSIFY_DEG = 2e-4


def boundary_pieces(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut every geometry's boundary into linestrings of at most PIECE_VERTICES segments."""
    lines, owner = [], []
    for i, g in enumerate(geoms):
        for ring in shapely.get_parts(shapely.boundary(g)):
            coords = shapely.get_coordinates(ring)
            for start in range(0, len(coords) - 1, PIECE_VERTICES):
                lines.append(shapely.linestrings(coords[start:start + PIECE_VERTICES + 1]))
                owner.append(i)
    return np.asarray(lines, dtype=object), np.asarray(owner, dtype=np.int64)


class _Geoms:
    """One copy of the GEOS objects: the metric polygons and, per level, a tree of pieces."""

    def __init__(self, metric_wkb: np.ndarray, pieces_wkb: dict[int, np.ndarray]):
        self.metric = shapely.from_wkb(metric_wkb)
        self.trees = {lvl: shapely.STRtree(shapely.from_wkb(wkb)) for lvl, wkb in pieces_wkb.items()}


class Proximity:
    def __init__(self, geoms_wgs84: list[shapely.Geometry], levels: list[int]):
        self.levels = np.asarray(levels)
        # Densify in lon/lat first: an edge straight in degrees bows by up to metres once
        # projected, which would put a point lying on a shared edge ~0.5 m from its neighbour.
        metric = geometry.to_metric(shapely.segmentize(np.asarray(geoms_wgs84, dtype=object), DENSIFY_DEG))
        metric_wkb = shapely.to_wkb(metric)
        # Per level: the record index of each piece's grid (plain data, shared) and the pieces.
        self.owners: dict[int, np.ndarray] = {}
        pieces_wkb: dict[int, np.ndarray] = {}
        for lvl in np.unique(self.levels):
            idx = np.flatnonzero(self.levels == lvl)
            pieces, owner = boundary_pieces(metric[idx])
            self.owners[int(lvl)] = idx[owner]
            pieces_wkb[int(lvl)] = shapely.to_wkb(pieces)
        self.copies: CopyPool[_Geoms] = CopyPool(lambda: _Geoms(metric_wkb, pieces_wkb))

    @staticmethod
    def points(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        t = geometry._to_metric(geometry.metric_srid())
        x, y = t.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return shapely.points(x, y)

    def near(self, pts: np.ndarray, owners: dict[int, np.ndarray], tolerance_m: float) -> list[list[tuple[int, float]]]:
        """For each point, other grids of the owner's level within `tolerance_m`: (record idx, metres)."""
        out: list[list[tuple[int, float]]] = [[] for _ in range(len(pts))]
        if tolerance_m <= 0:
            return out
        with self.copies.use() as mine:
            pairs_by_level = self._near_pairs(mine, pts, owners, tolerance_m)
        for pairs, dist in pairs_by_level:
            for (p, r), d in zip(pairs.tolist(), dist.tolist(), strict=True):
                out[p].append((r, d))
        for lst in out:
            lst.sort(key=lambda rd: rd[1])
        return out

    def _near_pairs(self, mine: _Geoms, pts: np.ndarray, owners: dict[int, np.ndarray], tolerance_m: float
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per level: the (point, record) pairs within the tolerance and their distances."""
        found = []
        for lvl, idx in self.owners.items():
            tree = mine.trees[lvl]
            owner = owners.get(lvl)
            if owner is None:
                continue
            has = np.flatnonzero(owner >= 0)
            if not len(has):
                continue
            pi, gi = tree.query(pts[has], predicate="dwithin", distance=tolerance_m)
            rec = idx[gi]
            pidx = has[pi]
            other = rec != owner[pidx]
            pidx, rec = pidx[other], rec[other]
            if not len(pidx):
                continue
            # Several pieces of one grid may be near: keep one (point, grid) pair each.
            pairs = np.unique(np.column_stack([pidx, rec]), axis=0)
            found.append((pairs, shapely.distance(pts[pairs[:, 0]], mine.metric[pairs[:, 1]])))
        return found

    def nearest(self, pts: np.ndarray, level: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Nearest grid of `level` for each point: (record idx, metres)."""
        idx = self.owners[level]
        with self.copies.use() as mine:
            (pi, gi), dist = mine.trees[level].query_nearest(pts, return_distance=True, all_matches=False)
        # Outside points only: the nearest boundary piece's grid is the nearest grid.
        rec = np.full(len(pts), -1)
        d = np.full(len(pts), np.inf)
        rec[pi] = idx[gi]
        d[pi] = dist
        return rec, d
