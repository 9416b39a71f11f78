"""Topology checks for a grid hierarchy (county → towns → villages/communities → urban grids).

Pure Python on shapely/GEOS, no Django, so the same code runs in the admin, in an import
command and in tests. The rules:

* level 1 tiles the county outline, level 2 tiles each level-1 parent: a hole is a ``gap``;
* level 3 lies inside its urban level-2 parent without covering it: a hole is a ``blind_spot``
  (information, the community's own grid members cover it, see docs DOMAIN);
* siblings (same ``parent_code``) must not ``overlap``; no grid sticks out of its parent
  (``outside_parent``); gaps/overlaps narrower than ``sliver_width_m`` are reported as ``sliver``;
* ``invalid`` geometries (and an invalid county outline) are errors with the GEOS reason and
  the point where it happens; the other checks then use the repaired shape (:func:`repair`, the
  same repair ``import_grids --repair`` applies), and the finding says what that repair would
  change, so one bad grid neither hides the rest nor loses land without a word;
* ``multipart`` grids (every part is kept; the smaller parts are shown) and ``edge_mismatch``
  (shared edges whose vertices differ, which breaks coverage-preserving simplification and
  union later) are warnings.

Overlays (unions, differences, intersections, coverage edge checks) run on the WGS-84 input;
their results are projected to a metric CRS (EPSG:4546, CGCS2000 3° Gauss-Krüger CM 111°E,
Heyang lies at ~110.2°E) for every area and width. Projecting first would be simpler but breaks
real data: see ``_Run``.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import mapping

__all__ = [
    "Finding",
    "GridFeature",
    "Repair",
    "ValidationConfig",
    "has_errors",
    "invalid_reason",
    "repair",
    "repaired_shape",
    "validate",
    "ERROR",
    "WARNING",
    "INFO",
]

ERROR = "error"
WARNING = "warning"
INFO = "info"

_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


@dataclass(frozen=True)
class GridFeature:
    """One grid as handed to :func:`validate`; ``geom`` is WGS-84 (lon, lat)."""

    code: str
    level: int
    parent_code: str | None
    geom: shapely.Geometry
    name: str = ""


@dataclass
class Finding:
    """One defect (or, for blind spots, one fact) with the geometry to show on the map."""

    kind: str
    severity: str  # "error" | "warning" | "info"
    level: int
    codes: list[str]
    area_m2: float
    geometry: shapely.Geometry  # WGS-84
    message: str
    # Machine-readable extras: for slivers {"of": "gap"|"overlap", "width_m": ...}, for invalid
    # geometries {"reason": ...}; lets callers (and the SQL cross-check) avoid parsing messages.
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "level": self.level,
            "codes": list(self.codes),
            "area_m2": round(float(self.area_m2), 2),
            "message": self.message,
            "details": dict(self.details),
            "geometry": mapping(self.geometry) if self.geometry is not None else None,
        }


@dataclass
class ValidationConfig:
    """Thresholds; the defaults suit village-sized grids digitised at ~1 m accuracy."""

    # A gap or overlap whose largest inscribed circle is narrower than this (metres) is a
    # digitising sliver, not a real hole/conflict: reported as ``sliver`` instead.
    sliver_width_m: float = 2.0
    # Also a sliver when Polsby-Popper compactness 4πA/P² is below this, which catches long,
    # slightly wider strips (a 1 m x 2 km strip is ~0.0016; a 10 m x 3 km one ~0.01 is not).
    sliver_polsby_popper: float = 0.002
    # Pieces (gap, overlap, outside parent, blind spot) smaller than this (m²) are floating-point
    # noise from overlaying shared edges and are never reported.
    min_area_m2: float = 0.5
    # Distance (m) within which a grid counts as touching a gap or lying on the other side of an
    # edge; also the narrow-gap width handed to coverage_invalid_edges (see _edge_mismatches).
    edge_tolerance_m: float = 0.05
    # Metric CRS for areas and widths.
    metric_crs: str = "EPSG:4546"
    # The edge check is the only one that needs exact vertex matching; callers fixing gross
    # errors first can switch it off.
    check_edges: bool = True


# --------------------------------------------------------------------------------------------
# helpers


@lru_cache(maxsize=8)
def _transformer(metric_crs: str) -> Transformer:
    return Transformer.from_crs("EPSG:4326", metric_crs, always_xy=True)


def _to_metric(geoms: np.ndarray, crs: str) -> np.ndarray:
    return shapely.transform(geoms, _transformer(crs).transform, interleaved=False)


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygon parts (make_valid/intersection may add lines and points)."""
    if geom is None or shapely.get_type_id(geom) in _POLYGONAL:
        return geom
    parts = shapely.get_parts(geom)
    polys = parts[np.isin(shapely.get_type_id(parts), _POLYGONAL)]
    return shapely.multipolygons(shapely.get_parts(polys)) if len(polys) else shapely.Polygon()


def _normal(geom: shapely.Geometry) -> shapely.Geometry:
    """Canonical MultiPolygon form, so vertex-for-vertex equal shapes compare equal."""
    return shapely.normalize(shapely.multipolygons(shapely.get_parts(geom)))


def _fmt_codes(codes: Sequence[str]) -> str:
    return ", ".join(codes)


_LOCATION = re.compile(r"\[\s*([-+0-9.eEnaNifIF]+)\s+([-+0-9.eEnaNifIF]+)\s*\]\s*$")


def invalid_reason(geom: shapely.Geometry) -> tuple[str, tuple[float, float] | None]:
    """GEOS's reason a geometry is invalid, split into the words and the (lon, lat) it names.

    is_valid_reason answers e.g. "Self-intersection[110.1499 35.2435]"; the point is the
    location a planner needs to find the defect. A non-finite point ("Invalid Coordinate[nan
    0]") gives None: NaN cannot travel in JSON.
    """
    text = shapely.is_valid_reason(geom) or ""
    m = _LOCATION.search(text)
    if not m:
        return text, None
    reason = text[: m.start()].strip()
    try:
        x, y = float(m.group(1)), float(m.group(2))
    except ValueError:
        return reason, None
    return reason, ((x, y) if math.isfinite(x) and math.isfinite(y) else None)


def where_text(location: tuple[float, float] | None) -> str:
    return f" at {location[0]:.6f}, {location[1]:.6f}" if location else ""


@dataclass(frozen=True)
class Repair:
    """What repairing one invalid geometry changed; nothing here is ever left unsaid.

    "As drawn" reads every ring as the land it encloses: the outer rings' land minus the holes'
    land, each counted once however its ring winds or crosses itself.
    """

    geometry: shapely.Geometry  # the repaired shape, polygonal, WGS-84; empty when nothing is left
    reason: str
    location: tuple[float, float] | None
    parts_before: int
    parts_after: int
    holes_before: int
    holes_after: int
    area_before_m2: float  # as drawn
    area_after_m2: float
    lost_m2: float  # land as drawn that the repaired shape leaves out
    gained_m2: float  # land the repaired shape covers that the drawing did not (a hole drawn outside its shell)

    @property
    def why(self) -> str:
        """The reason and where, e.g. "Self-intersection at 110.149900, 35.243500"."""
        return f"{self.reason}{where_text(self.location)}"

    def changes(self) -> str:
        """What the repair changed: parts, area lost or gained, holes."""
        text = f"{self.parts_before} 个部分 → {self.parts_after} 个部分 (parts {self.parts_before} → {self.parts_after}"
        if self.parts_after < self.parts_before:
            text += ", overlapping or nested parts merged, collapsed ones gone"
        elif self.lost_m2 < _REPORTED_M2:
            text += ", all kept"
        text += (f"); 面积 area {self.area_before_m2:,.1f} m² → {self.area_after_m2:,.1f} m², "
                 f"丢失 lost {self.lost_m2:,.1f} m²")
        if self.gained_m2 >= _REPORTED_M2:
            text += f", 增加 gained {self.gained_m2:,.1f} m²"
        if self.holes_before != self.holes_after:
            text += f"; 洞 holes {self.holes_before} → {self.holes_after}"
        return text

    def to_dict(self) -> dict:
        return {
            "reason": self.reason,
            "location": list(self.location) if self.location else None,
            "parts_before": self.parts_before,
            "parts_after": self.parts_after,
            "holes_before": self.holes_before,
            "holes_after": self.holes_after,
            "area_before_m2": round(self.area_before_m2, 2),
            "area_after_m2": round(self.area_after_m2, 2),
            "lost_m2": round(self.lost_m2, 2),
            "gained_m2": round(self.gained_m2, 2),
        }


# Below this (m²) a difference between the drawn and the repaired land is floating-point noise.
_REPORTED_M2 = 0.05


def repaired_shape(geom: shapely.Geometry) -> shapely.Geometry:
    """The repair :func:`repair` applies, without measuring it."""
    # "structure" keeps the land the rings were meant to enclose (a bowtie keeps both lobes, a
    # ring that loops twice keeps the inner loop) where the even-odd "linework" result punches
    # holes; only polygonal parts are land (collapsed spikes are lines of no area).
    return _polygonal(shapely.make_valid(geom, method="structure", keep_collapsed=False))


def _ring_land(rings: Sequence[shapely.LinearRing]) -> shapely.Geometry:
    """The land a set of rings encloses, each ring read on its own, unioned."""
    land = [repaired_shape(shapely.Polygon(r)) for r in rings if len(r.coords) >= 4]
    return shapely.union_all(land) if land else shapely.Polygon()


def _holes(geom: shapely.Geometry) -> int:
    return int(sum(shapely.get_num_interior_rings(shapely.get_parts(geom)))) if not shapely.is_empty(geom) else 0


def repair(geom: shapely.Geometry, metric_crs: str = "EPSG:4546") -> Repair:
    """Repair an invalid (Multi)Polygon (WGS-84) and measure what changed, in metric_crs."""
    reason, location = invalid_reason(geom)
    fixed = repaired_shape(geom)
    polys = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) == shapely.GeometryType.POLYGON]
    shells = [p.exterior for p in polys if not p.is_empty]
    holes = [r for p in polys for r in p.interiors]
    drawn = shapely.difference(_ring_land(shells), _ring_land(holes)) if holes else _ring_land(shells)
    areas = shapely.area(_to_metric(np.array([drawn, fixed, shapely.difference(drawn, fixed),
                                              shapely.difference(fixed, drawn), None], dtype=object)[:-1],
                                    metric_crs))
    return Repair(
        geometry=fixed, reason=reason, location=location,
        parts_before=len(polys), parts_after=int(shapely.get_num_geometries(fixed)) if not fixed.is_empty else 0,
        holes_before=len(holes), holes_after=_holes(fixed),
        area_before_m2=float(areas[0]), area_after_m2=float(areas[1]),
        lost_m2=float(areas[2]), gained_m2=float(areas[3]),
    )


# --------------------------------------------------------------------------------------------
# the checks


class _Run:
    """State of one validate() call: arrays of codes/geometries and the findings so far.

    Overlays run on the WGS-84 input and only their results are projected for measuring: on
    the real Heyang data, 7 grids that are valid in WGS-84 (vertices ~1 mm from another segment
    of the same ring) become self-intersecting once projected, and GEOS then refuses to overlay
    them. The SQL cross-check works the same way (ST_Transform only for ST_Area).
    """

    def __init__(self, features: Sequence[GridFeature], county, config: ValidationConfig):
        self.cfg = config
        self.features = list(features)
        self.codes = [f.code for f in self.features]
        self.levels = np.array([int(f.level) for f in self.features], dtype=int)
        self.findings: list[Finding] = []
        # The trailing None stops numpy from trying to unpack the geometries into a 2-D array.
        self.raw = np.array([f.geom for f in self.features] + [None], dtype=object)[:-1]
        self.repaired = np.zeros(len(self.features), dtype=bool)
        self.usable = np.ones(len(self.features), dtype=bool)
        self.geom = self.raw.copy()
        self._check_validity()
        self.geom[~self.usable] = None
        self.county = None
        if county is not None and not shapely.is_empty(county):
            self.county = county if shapely.is_valid(county) else self._invalid_county(county)
        self.index: dict[str, int] = {}
        for i, code in enumerate(self.codes):
            self.index.setdefault(code, i)
        self._scale()

    def _scale(self) -> None:
        """Degree equivalents of the metric tolerances, taken at the data's mean latitude."""
        ok = self.geom[self.usable]
        ref = self.county if self.county is not None else (shapely.union_all(shapely.envelope(ok)) if len(ok) else None)
        lat = 35.0 if ref is None or shapely.is_empty(ref) else shapely.centroid(shapely.envelope(ref)).y
        m_per_deg_lat = 110_574.0
        m_per_deg_lon = 111_320.0 * max(math.cos(math.radians(lat)), 0.01)
        # The larger degree value of the two axes: a touching test may be a hair generous north-
        # south, never too strict east-west.
        self.tol = self.cfg.edge_tolerance_m / min(m_per_deg_lat, m_per_deg_lon)
        # Upper bound of m² per deg² (with slack for the projection's scale error) for dropping
        # noise before projecting it.
        self.m2_per_deg2 = 1.5 * m_per_deg_lat * m_per_deg_lon

    # -- bookkeeping

    def add(self, kind, severity, level, codes, area, geom, message, **details) -> None:
        self.findings.append(
            Finding(kind, severity, int(level), list(codes), float(area), geom, message, details)
        )

    def _repair(self, geom) -> Repair:
        return repair(geom, self.cfg.metric_crs)

    def _invalid_finding(self, level: int, codes: list[str], geom, what: str) -> Repair:
        r = self._repair(geom)
        where = shapely.Point(*r.location) if r.location else None
        outcome = {k: v for k, v in r.to_dict().items() if k not in ("reason", "location")}
        self.add(
            "invalid", ERROR, level, codes, r.lost_m2 + r.gained_m2, where,
            f"几何无效 invalid geometry{what}: {r.why}; 修复后 once repaired: {r.changes()} "
            f"(其余检查使用修复后的几何 other checks use the repaired shape)",
            reason=r.reason, location=list(r.location) if r.location else None, repair=outcome,
        )
        return r

    def _invalid_county(self, county):
        # Level 0 stands for the county outline, which level 1 must tile.
        fixed = self._invalid_finding(0, [], county, " of the county outline 县界").geometry
        return None if shapely.is_empty(fixed) else fixed

    def _metric(self, geoms) -> np.ndarray:
        return _to_metric(np.asarray(geoms, dtype=object), self.cfg.metric_crs)

    def _pieces(self, geoms) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Polygon pieces of overlay results above min_area: (pieces, source index, metric, m²)."""
        arr = np.asarray(geoms, dtype=object)
        empty = (np.empty(0, dtype=object), np.empty(0, dtype=int), np.empty(0, dtype=object), np.empty(0))
        if not len(arr):
            return empty
        parts, idx = shapely.get_parts(arr, return_index=True)
        if not len(parts):
            return empty
        keep = (shapely.get_type_id(parts) == shapely.GeometryType.POLYGON) & (
            shapely.area(parts) * self.m2_per_deg2 > self.cfg.min_area_m2
        )
        parts, idx = parts[keep], idx[keep]
        metric = self._metric(parts)
        areas = shapely.area(metric)
        keep = areas > self.cfg.min_area_m2
        return parts[keep], idx[keep], metric[keep], areas[keep]

    # -- 1. validity and hierarchy

    def _check_validity(self) -> None:
        raw = self.raw
        null = np.array([g is None for g in raw], dtype=bool)
        empty = null.copy()
        empty[~null] = shapely.is_empty(raw[~null])
        ok_type = np.zeros(len(raw), dtype=bool)
        ok_type[~empty] = np.isin(shapely.get_type_id(raw[~empty]), _POLYGONAL)
        valid = np.zeros(len(raw), dtype=bool)
        valid[~empty] = shapely.is_valid(raw[~empty])
        for i in np.flatnonzero(empty | ~ok_type):
            self.usable[i] = False
            what = "empty" if empty[i] else raw[i].geom_type
            shown = None if empty[i] or not np.isfinite(shapely.get_coordinates(raw[i])).all() else raw[i]
            self.add(
                "invalid", ERROR, self.levels[i], [self.codes[i]], 0.0, shown,
                f"几何为空或非面 geometry is {what}, expected (Multi)Polygon", reason=what,
            )
        for i in np.flatnonzero(~valid & ~empty & ok_type):
            self.repaired[i] = True
            fixed = self._invalid_finding(self.levels[i], [self.codes[i]], raw[i], "").geometry
            self.geom[i] = fixed
            if shapely.is_empty(fixed):
                self.usable[i] = False

    def check_hierarchy(self) -> None:
        seen: set[str] = set()
        for i, f in enumerate(self.features):
            if f.code in seen:
                self.add("hierarchy", ERROR, f.level, [f.code], 0.0, self.raw[i],
                         f"网格编码重复 duplicate code {f.code}")
            seen.add(f.code)
        for i, f in enumerate(self.features):
            if f.level <= 1:
                continue
            p = self.index.get(f.parent_code or "")
            if p is None or self.levels[p] != f.level - 1:
                self.add("hierarchy", ERROR, f.level, [f.code], 0.0, self.raw[i],
                         f"上级网格不存在 parent {f.parent_code!r} not found at level {f.level - 1}")
            elif not f.code.startswith(f.parent_code):
                self.add("hierarchy", WARNING, f.level, [f.code, f.parent_code], 0.0, self.raw[i],
                         f"编码未以上级编码开头 code does not start with parent code {f.parent_code}")

    # -- 2. multipart

    def check_multipart(self) -> None:
        ok = self.usable & ~self.repaired
        idx = np.flatnonzero(ok)
        idx = idx[shapely.get_num_geometries(self.geom[idx]) > 1]
        if not len(idx):
            return
        parts, owner = shapely.get_parts(self.geom[idx], return_index=True)
        areas = shapely.area(self._metric(parts))
        # Noise-sized parts don't make a grid non-contiguous in any way that matters.
        big = areas > self.cfg.min_area_m2
        counts = np.bincount(owner[big], minlength=len(idx))
        for k in np.flatnonzero(counts > 1):
            i = idx[k]
            sel = np.flatnonzero((owner == k) & big)
            order = sel[np.argsort(areas[sel])]
            detached = shapely.multipolygons(parts[order[:-1]])
            smaller = float(areas[order[:-1]].sum())
            # Nothing is removed: the finding shows the parts apart from the largest so the
            # planner can see where the grid is not contiguous.
            self.add(
                "multipart", WARNING, self.levels[i], [self.codes[i]], smaller, detached,
                f"网格不连续 multipart: {counts[k]} 个分离部分均保留 {counts[k]} separate parts, all kept; "
                f"除最大部分外的 {counts[k] - 1} 个部分共 {smaller:,.1f} m² "
                f"(the {counts[k] - 1} smaller, shown here)",
                parts=int(counts[k]),
            )

    # -- 3. coverage of a parent by its children: gaps and blind spots

    def _thinness(self, metric: np.ndarray, areas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not len(metric):
            return np.empty(0), np.empty(0, dtype=bool)
        cfg = self.cfg
        mic = shapely.maximum_inscribed_circle(metric, tolerance=max(cfg.sliver_width_m / 50, 0.005))
        width = 2 * shapely.length(mic)
        perim = shapely.length(metric)
        pp = 4 * math.pi * areas / np.maximum(perim * perim, 1e-12)
        return width, (width < cfg.sliver_width_m) | (pp < cfg.sliver_polsby_popper)

    def _report_holes(self, container, container_code, level, children: np.ndarray, kind: str, union=None) -> list:
        """container − union(children), one finding per piece; returns the gap/sliver pieces."""
        kids = self.geom[children]
        if union is None and len(kids):
            union = shapely.union_all(kids)
        hole = shapely.difference(container, union) if len(kids) else container
        pieces, _, metric, areas = self._pieces([hole])
        if not len(pieces):
            return []
        if kind == "blind_spot":
            for p, piece in enumerate(pieces):
                self.add("blind_spot", INFO, level, [container_code], areas[p], piece,
                         f"盲点 blind spot {areas[p]:.1f} m² in {container_code} not covered by any level-{level} grid")
            return []
        touching = self._bordering(pieces, metric, children)
        width, thin = self._thinness(metric, areas)
        where = f"上级 parent {container_code}" if container_code else "县界 county outline"
        for p, piece in enumerate(pieces):
            codes = sorted(touching.get(p, ()))
            if container_code:
                codes.append(container_code)
            self._gap_or_overlap("gap", level, codes, areas[p], piece, width[p], thin[p],
                                 f"{areas[p]:.1f} m² in {where}, next to {_fmt_codes(codes)}")
        return list(pieces)

    _LABELS = {"gap": ("狭长缝隙", "覆盖缺口"), "overlap": ("狭长重叠", "与相邻网格重叠")}

    def _gap_or_overlap(self, kind: str, level: int, codes: list[str], area: float, piece, width: float,
                        thin: bool, where: str) -> None:
        """One finding per piece: a thin piece is a sliver (of a gap or an overlap), never both."""
        w = round(float(width), 3)
        sliver_label, label = self._LABELS[kind]
        if thin:
            self.add("sliver", ERROR, level, codes, area, piece,
                     f"{sliver_label} sliver {kind} ≈{w:.2f} m wide, {where}", of=kind, width_m=w)
        else:
            self.add(kind, ERROR, level, codes, area, piece, f"{label} {kind} {where}", width_m=w)

    def _bordering(self, pieces: np.ndarray, metric: np.ndarray, children: np.ndarray) -> dict[int, set[str]]:
        """Grids sharing a stretch of boundary with each piece (a corner touch doesn't count).

        A grid counts when its boundary runs within edge_tolerance_m of the piece's boundary
        for at least min(1 m, 10 % of the piece's perimeter). validation_sql uses the same rule.
        """
        touching: dict[int, set[str]] = defaultdict(set)
        if not len(children) or not len(pieces):
            return touching
        tree = shapely.STRtree(self.geom[children])
        hit_piece, hit_kid = tree.query(pieces, predicate="dwithin", distance=self.tol)
        if not len(hit_piece):
            return touching
        zone = shapely.buffer(shapely.boundary(metric), self.cfg.edge_tolerance_m)
        kid_lines = self._metric(shapely.boundary(self.geom[children[hit_kid]]))
        contact = shapely.length(shapely.intersection(kid_lines, zone[hit_piece]))
        need = np.minimum(1.0, 0.1 * shapely.length(metric[hit_piece]))
        for p, k, ok in zip(hit_piece, hit_kid, contact >= need, strict=True):
            if ok:
                touching[int(p)].add(self.codes[children[k]])
        return touching

    # -- 4. siblings: overlaps, edge mismatches

    def _overlaps(self, members: np.ndarray, tree: shapely.STRtree, level: int) -> list:
        geoms = self.geom[members]
        a, b = tree.query(geoms, predicate="intersects")
        keep = a < b
        a, b = a[keep], b[keep]
        if not len(a):
            return []
        # Most intersecting siblings only share an edge; the relate test is much cheaper than
        # computing their (zero-area) intersection.
        real = ~shapely.touches(geoms[a], geoms[b])
        a, b = a[real], b[real]
        if not len(a):
            return []
        pieces, src, metric, areas = self._pieces(shapely.intersection(geoms[a], geoms[b]))
        width, thin = self._thinness(metric, areas)
        for p, piece in enumerate(pieces):
            codes = sorted((self.codes[members[a[src[p]]]], self.codes[members[b[src[p]]]]))
            self._gap_or_overlap("overlap", level, codes, areas[p], piece, width[p], thin[p],
                                 f"{areas[p]:.1f} m² between {codes[0]} and {codes[1]}")
        return list(pieces)

    def _edge_mismatches(
        self, members: np.ndarray, tree: shapely.STRtree, level: int, explained: list, edges: np.ndarray
    ) -> None:
        """Shared edges whose vertices don't match, unless a gap/overlap/sliver explains them.

        coverage_invalid_edges is called with gap_width = edge_tolerance_m rather than 0: with 0,
        an extra vertex bent a hair *into its own grid* leaves a gap far below min_area and is not
        flagged by GEOS at all, so that mismatch would go unseen.
        """
        tol = self.tol
        bad = np.flatnonzero(~shapely.is_empty(edges))
        if not len(bad):
            return
        # Work per segment: a long edge whose far end borders a gap is explained by that gap
        # even though most of the segment lies away from it.
        parts, part_owner = shapely.get_parts(edges[bad], return_index=True)
        coords, line_idx = shapely.get_coordinates(parts, return_index=True)
        starts = np.flatnonzero(line_idx[:-1] == line_idx[1:])
        segs = shapely.linestrings(np.stack([coords[starts], coords[starts + 1]], axis=1))
        seg_owner = members[bad[part_owner[line_idx[starts]]]]
        if explained:
            ex_tree = shapely.STRtree(np.asarray(explained, dtype=object))
            hit, _ = ex_tree.query(segs, predicate="dwithin", distance=tol)
            keep = np.ones(len(segs), dtype=bool)
            keep[hit] = False
            segs, seg_owner = segs[keep], seg_owner[keep]
        if not len(segs):
            return
        # Connected clusters of unexplained segments = one finding each.
        i, j = shapely.STRtree(segs).query(segs, predicate="dwithin", distance=tol)
        comp = _components(len(segs), i, j)
        mids = shapely.line_interpolate_point(segs, 0.5, normalized=True)
        m_idx, g_idx = tree.query(mids, predicate="dwithin", distance=tol)
        near: dict[int, set[int]] = defaultdict(set)
        for m, g in zip(m_idx, g_idx, strict=True):
            near[int(m)].add(int(members[g]))
        for c in np.unique(comp):
            sel = np.flatnonzero(comp == c)
            grids = {int(seg_owner[s]) for s in sel}
            for s in sel:
                grids |= near.get(int(s), set())
            codes = sorted(self.codes[g] for g in grids)
            line = shapely.line_merge(shapely.multilinestrings(segs[sel]))
            # Both sides of a mismatched edge are usually flagged: report the longer side's
            # length, not their sum.
            seg_len = shapely.length(self._metric(segs[sel]))
            length = max(float(seg_len[seg_owner[sel] == o].sum()) for o in set(seg_owner[sel].tolist()))
            self.add(
                "edge_mismatch", WARNING, level, codes, 0.0, line,
                f"共边顶点不一致 shared edge vertices do not match between {_fmt_codes(codes)} "
                f"({length:.1f} m of edge)",
                length_m=round(length, 2),
            )

    # -- 5. children inside parent

    def _outside(self, children: np.ndarray, parent_geom, parent_code: str | None, level: int) -> None:
        kids = self.geom[children]
        shapely.prepare(parent_geom)
        out = ~shapely.covers(parent_geom, kids)
        if not out.any():
            return
        idx = children[out]
        pieces, src, _, areas = self._pieces(shapely.difference(self.geom[idx], parent_geom))
        where = f"上级 parent {parent_code}" if parent_code else "县界 county outline"
        for p, piece in enumerate(pieces):
            code = self.codes[idx[src[p]]]
            codes = [code, parent_code] if parent_code else [code]
            self.add("outside_parent", ERROR, level, codes, areas[p], piece,
                     f"超出{where} outside its parent: {code} sticks out by {areas[p]:.1f} m²")

    # -- driver

    def _check_group(self, level: int, parent_code: str | None, members: np.ndarray) -> None:
        geoms = self.geom[members]
        tree = shapely.STRtree(geoms)
        # The coverage edge check is cheap and, when it finds nothing, proves the siblings form
        # a valid coverage: no overlaps at all, so the pairwise overlay can be skipped and the
        # (much faster) coverage union is exact. Otherwise fall back to the general overlay.
        edges = shapely.coverage_invalid_edges(geoms, gap_width=self.tol)
        clean = bool(shapely.is_empty(edges).all())
        if clean:
            union = shapely.coverage_union_all(geoms)
            explained: list = []
        else:
            union = shapely.union_all(geoms)
            explained = self._overlaps(members, tree, level)
        if level == 1:
            parent_geom, pcode = self.county, None
        else:
            p = self.index.get(parent_code or "")
            ok = p is not None and self.levels[p] == level - 1 and self.usable[p]
            parent_geom, pcode = (self.geom[p], parent_code) if ok else (None, parent_code)
        if parent_geom is not None:
            # Parents are usually the dissolve of their children (or the reverse), vertex for
            # vertex: then there is nothing outside and no hole, and the two costliest overlays
            # (parent − union, child − parent) are skipped.
            same = shapely.equals_exact(_normal(union), _normal(parent_geom), 0.0)
            if not same:
                self._outside(members, parent_geom, pcode, level)
                kind = "blind_spot" if level >= 3 else "gap"
                explained += self._report_holes(parent_geom, pcode, level, members, kind, union)
        if self.cfg.check_edges and not clean:
            self._edge_mismatches(members, tree, level, explained, edges)

    def run(self) -> list[Finding]:
        self.check_hierarchy()
        self.check_multipart()
        usable = self.usable
        # Siblings: level 1 is one group whatever its parent_code says (its parent is the county).
        groups: dict[tuple[int, str | None], list[int]] = defaultdict(list)
        for i, f in enumerate(self.features):
            if usable[i]:
                groups[(f.level, None if f.level == 1 else f.parent_code)].append(i)
        for (level, parent_code), idx in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            self._check_group(level, parent_code, np.asarray(idx, dtype=int))
        # A level-1 grid with no children while level 2 exists elsewhere is one big gap; a
        # level-2 grid without level-3 children is normal (only urban communities are split).
        if any(level == 2 for level, _ in groups):
            for i in np.flatnonzero(usable & (self.levels == 1)):
                if (2, self.codes[i]) not in groups:
                    self._report_holes(self.geom[i], self.codes[i], 2, np.empty(0, dtype=int), "gap")
        return self.findings


def _components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    parent = np.arange(n)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(i, j, strict=True):
        ra, rb = find(int(a)), find(int(b))
        if ra != rb:
            parent[ra] = rb
    return np.array([find(x) for x in range(n)])


def validate(
    features: Sequence[GridFeature],
    county: shapely.Geometry | None,
    config: ValidationConfig | None = None,
) -> list[Finding]:
    """Check a whole grid hierarchy; ``county`` (WGS-84) may be None to skip level-1 coverage.

    Every defect is reported once: gaps/overlaps narrower than ``sliver_width_m`` only as
    ``sliver``, edge mismatches only where no gap/overlap/sliver already explains the edge, and
    a repaired invalid grid is not also called multipart.
    """
    return _Run(features, county, config or ValidationConfig()).run()


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == ERROR for f in findings)
