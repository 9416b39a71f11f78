"""Distances for locate, vectorised: which other grids lie within a tolerance, which grid is nearest.

Computed in the metric CRS (EPSG:4546) with GEOS' bulk queries (`dwithin`, `query_nearest`),
so a batch of 100,000 points costs a few GEOS calls rather than 100,000 Python-level lookups.
The trees hold each grid's boundary cut into short pieces, not whole polygons: a point's
distance to a grid it is not in equals its distance to that grid's boundary, and a tree of
short pieces answers in a few small distance computations where a whole polygon of a
thousand vertices costs a scan of all of them.

Far from the county the metric CRS (a transverse Mercator) stretches distances and, 90 degrees
from its meridian, gives infinity. Points farther than FAR_MARGIN_M beyond the county are
measured on the ellipsoid instead: their nearest level-1 boundary point is found in an azimuthal
equidistant projection centred on the county (finite everywhere), and the distance to it is the
WGS-84 geodesic (`nearest_grid`).

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
# Beyond the county's extent plus this much, distances are geodesic: up to here the metric CRS
# stretches them by less than 0.1 % (Heyang: at most ~200 km from its central meridian).
FAR_MARGIN_M = 100_000.0


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

    def __init__(self, metric_wkb: np.ndarray, pieces_wkb: dict[int, np.ndarray], far_wkb: np.ndarray):
        self.metric = shapely.from_wkb(metric_wkb)
        self.trees = {lvl: shapely.STRtree(shapely.from_wkb(wkb)) for lvl, wkb in pieces_wkb.items()}
        # Level-1 boundary pieces in the county-centred azimuthal equidistant projection.
        self.far_pieces = shapely.from_wkb(far_wkb)
        self.far_tree = shapely.STRtree(self.far_pieces)


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
        far_wkb = self._far_pieces(np.asarray(geoms_wgs84, dtype=object))
        self.copies: CopyPool[_Geoms] = CopyPool(lambda: _Geoms(metric_wkb, pieces_wkb, far_wkb))

    def _far_pieces(self, geoms_wgs84: np.ndarray) -> np.ndarray:
        """Level-1 boundary pieces (WKB) in an azimuthal equidistant projection centred on the
        county; sets the centre, the owners of the pieces and the radius beyond which a point is far."""
        idx = np.flatnonzero(self.levels == 1)
        level1 = shapely.segmentize(geoms_wgs84[idx], DENSIFY_DEG)
        x0, y0, x1, y1 = shapely.total_bounds(level1) if len(idx) else (0.0, 0.0, 0.0, 0.0)
        # Rounded: the centre names a cached transformer, and editions of one county share it.
        self.centre = (round(float(x0 + x1) / 2, 3), round(float(y0 + y1) / 2, 3))
        t = geometry.aeqd_transformer(*self.centre)
        far = shapely.transform(level1, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
        pieces, owner = boundary_pieces(far)
        self.far_owners = idx[owner]
        radius = float(np.hypot(*shapely.get_coordinates(far).T).max()) if len(idx) else 0.0
        self.far_from_m = radius + FAR_MARGIN_M
        return shapely.to_wkb(pieces)

    @staticmethod
    def points(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return geometry.metric_points(lon, lat)

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

    def nearest_grid(self, lon: np.ndarray, lat: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest level-1 grid of each (outside) point and the distance to it in metres, finite
        for any point on Earth: metric near the county (`pts`, the points in the metric CRS), the
        geodesic to the nearest boundary point for points far away (see the module docstring)."""
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        rec = np.full(len(lon), -1)
        d = np.full(len(lon), np.inf)
        t = geometry.aeqd_transformer(*self.centre)
        fx, fy = t.transform(lon, lat)
        # The radius in this projection is the exact geodesic distance from the county's centre.
        far = ~(np.hypot(fx, fy) <= self.far_from_m) | ~np.isfinite(shapely.get_x(pts))
        near = np.flatnonzero(~far)
        if len(near):
            rec[near], d[near] = self.nearest(pts[near])
        far = np.flatnonzero(far)
        if len(far):
            with self.copies.use() as mine:
                pi, gi = mine.far_tree.query_nearest(shapely.points(fx[far], fy[far]), all_matches=False)
                # The point of the nearest piece closest to the query point, back in lon/lat.
                ends = shapely.get_coordinates(shapely.shortest_line(shapely.points(fx[far[pi]], fy[far[pi]]),
                                                                     mine.far_pieces[gi]))[1::2]
            blon, blat = t.transform(ends[:, 0], ends[:, 1], direction="INVERSE")
            rec[far[pi]] = self.far_owners[gi]
            d[far[pi]] = geometry.geodesic_m(lon[far[pi]], lat[far[pi]], blon, blat)
        return rec, d
