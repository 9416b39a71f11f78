"""locate: a point (in any datum) -> grid chain, responsible unit and grid staff.

`locate_points` answers with one typed `PointAnswer` per point; routing decides from it, and the
API renders it (locate_api.answer_json, which also leaves phones out for roles that may not see
them). `locate` gives the same answers in that JSON form, for callers that keep or print it.

PostGIS is the source of truth; answers come from an in-process index (locate_index.GridIndex)
built from the active edition. Each process keeps one snapshot per edition. Before answering,
a request reads the active edition's id (one indexed primary-key query) and takes the snapshot
for exactly that edition, so after a publish every process switches at its next request and
no answer ever mixes two editions.

A snapshot is shared by every request thread of the process, so it holds no GEOS object that
threads could reach together: the index's records carry no geometry, and the index and the
proximity tables give each thread its own copies (docs/threads.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gisgrid.errors import BadRequest, Text

from . import geometry
from .datums import CRS_CHOICES, to_wgs84
from .edition_cache import EditionCache
from .locate_index import GridIndex, GridRecord
from .models import Edition, Grid, GridAssignment, Unit
from .proximity import Proximity

STATUS_NAMES = ("inside", "blind_spot", "outside")


# ---------------------------------------------------------------------------------------------
# The typed answer. Facts only, phones included: what a caller may see (phones by role) and the
# JSON shape are decided where the answer leaves the process (locate_api.answer_json).


@dataclass(frozen=True, slots=True)
class GridRef:
    level: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class UnitInfo:
    code: str
    name: str
    kind: str
    phone: str


@dataclass(frozen=True, slots=True)
class StaffEntry:
    role: str
    name: str
    phone: str
    unit: str | None


@dataclass(frozen=True, slots=True)
class Candidate:
    """Another grid of the owner's level within the tolerance."""

    code: str
    name: str
    level: int
    distance_m: float


@dataclass(frozen=True, slots=True)
class NearestGrid:
    """For a point outside: the nearest level-1 grid. The distance is always finite: metric near
    the county, geodesic on the WGS-84 ellipsoid for points far away (proximity.py)."""

    code: str
    name: str
    distance_m: float


@dataclass(slots=True)
class PointAnswer:
    """Where one point lies: its grid chain in one edition and, with details, who answers for it.

    Without details (`locate_points(..., details=False)`) only status, input, wgs84, edition and
    grids are filled in and `details` is False. `nearest` and `swapped_inside` concern outside
    points, `blind_spot_of` blind spots; `unit`, `staff` and `candidates` the others.
    """

    status: str
    lon: float  # as given, in `crs`
    lat: float
    crs: str
    wgs84: tuple[float, float]  # rounded to 7 decimals (~1 cm)
    edition_id: int
    edition_name: str
    grids: list[GridRef]  # level 1 down to the deepest owner
    details: bool = True
    unit: UnitInfo | None = None
    staff: list[StaffEntry] = field(default_factory=list)
    near_boundary: bool = False
    candidates: list[Candidate] = field(default_factory=list)
    blind_spot_of: GridRef | None = None
    nearest: NearestGrid | None = None
    swapped_inside: bool = False

    def grid(self, level: int) -> GridRef | None:
        """The owner at `level` (None when the chain stops above it)."""
        return next((g for g in self.grids if g.level == level), None)


# ---------------------------------------------------------------------------------------------
# Per-edition snapshots


@dataclass
class Snapshot:
    """Shared by request threads: plain data, with GEOS objects only per thread (see above)."""

    edition_id: int
    edition_name: str
    edition_version: int
    index: GridIndex
    proximity: Proximity
    refs: list[GridRef]  # per record, shared by every answer
    grid_unit: list[UnitInfo | None]  # per record: the grid's own unit
    staff: dict[str, list[StaffEntry]]  # by grid code

    def unit_for(self, chain: list[int]) -> UnitInfo | None:
        """The deepest grid's unit, falling back up the chain."""
        for idx in reversed(chain):
            if self.grid_unit[idx] is not None:
                return self.grid_unit[idx]
        return None


def build_snapshot(edition: Edition) -> Snapshot:
    grids = list(
        Grid.objects.filter(edition=edition).select_related("parent").only(
            "code", "name", "level", "geom", "parent__code", "unit_id"
        ).order_by("level", "code")
    )
    records = [
        GridRecord(g.code, g.name, g.level, g.parent.code if g.parent_id else None, geometry.from_geos(g.geom))
        for g in grids
    ]
    index = GridIndex(records, edition=edition.pk, keep_geoms=False)
    units = {u.pk: UnitInfo(u.code, u.name, u.kind, u.phone) for u in Unit.objects.all()}
    unit_by_code = {g.code: units.get(g.unit_id) for g in grids}
    grid_unit = [unit_by_code.get(r.code) for r in index.records]
    codes = set(unit_by_code)
    staff: dict[str, list[StaffEntry]] = {}
    for a in GridAssignment.objects.filter(grid_code__in=codes, person__active=True).select_related("person__unit"):
        staff.setdefault(a.grid_code, []).append(
            StaffEntry(a.role, a.person.name, a.person.phone,
                       a.person.unit.name if a.person.unit_id else None)
        )
    # From this thread's own records (index.records carry no geometries; same order).
    proximity = Proximity([r.geom for r in records], [r.level for r in records])
    refs = [GridRef(r.level, r.code, r.name) for r in index.records]
    return Snapshot(edition.pk, edition.name, edition.version, index, proximity, refs, grid_unit, staff)


def _build(edition_id: int, _name: str, _version: int) -> Snapshot:
    return build_snapshot(Edition.objects.get(pk=edition_id))


_snapshots: EditionCache[Snapshot] = EditionCache(_build)


def snapshot(edition_id: int | None = None) -> Snapshot:
    """The snapshot of `edition_id` (default: whatever edition is active right now)."""
    return _snapshots.get(edition_id)


def clear_cache() -> None:
    _snapshots.clear()


# ---------------------------------------------------------------------------------------------
# Input checks


class LocateInputError(BadRequest):
    """A coordinate or datum locate cannot use: 400 `invalid` naming `field` (lon, lat, crs,
    points) with the reason, in the request's language."""

    def __init__(self, field: str, reason: str | Text):
        super().__init__(reason, field=field)


def check_coordinates(lons: np.ndarray, lats: np.ndarray, crs: str, field: str = "points",
                      snap: Snapshot | None = None) -> None:
    """Reject unknown datums, NaN/inf and out-of-range values, hinting at swapped lon/lat."""
    if crs not in CRS_CHOICES:
        choices = ", ".join(CRS_CHOICES)
        raise LocateInputError("crs", Text(f"未知坐标系 {crs!r}，应为 {choices} 之一",
                                           f"unknown crs {crs!r}; expected one of {choices}"))
    batch = field == "points"
    bad = ~(np.isfinite(lons) & np.isfinite(lats))
    if bad.any():
        i = int(np.argmax(bad))
        raise LocateInputError("points" if batch else ("lon" if not np.isfinite(lons[i]) else "lat"),
                               Text("坐标必须是有限数值" + (f"（第 {i} 个点）" if batch else ""),
                                    "coordinate must be a finite number" + (f" (at index {i})" if batch else "")))
    bad = (np.abs(lons) > 180) | (np.abs(lats) > 90)
    if bad.any():
        i = int(np.argmax(bad))
        name = field if batch else ("lat" if abs(lats[i]) > 90 else "lon")
        zh = f"经纬度超出范围（{f'第 {i} 个点：' if batch else ''}lon {lons[i]}, lat {lats[i]}）"
        en = f"out of range{f' at index {i}' if batch else ''}: lon {lons[i]}, lat {lats[i]}"
        if snap is not None and abs(lons[i]) <= 90 and abs(lats[i]) <= 180:
            wlon, wlat = to_wgs84(np.array([lats[i]]), np.array([lons[i]]), crs)
            r = snap.index.locate_many(wlon, wlat)
            if int(r.status[0]) != 2:
                rec = snap.index.records[r.chain(0)[0]]
                zh += f"；经纬度可能颠倒：交换后位于{rec.name}（{rec.code}）"
                en += f"; lon/lat swapped? swapped it lies in {rec.code} ({rec.name})"
        raise LocateInputError(name, Text(zh, en))


# ---------------------------------------------------------------------------------------------
# locate


def locate_points(
    lons, lats, crs: str = "wgs84", *, tolerance_m: float = 20.0, edition_id: int | None = None,
    details: bool = True, field: str = "points",
) -> tuple[Snapshot, list[PointAnswer]]:
    """Locate many points in one edition (default: the active one); one answer per point, in order.

    Raises LocateInputError for a bad datum or coordinate (naming `field`: "points" for a batch,
    "lonlat" to name lon or lat), LookupError when there is no such edition.
    """
    lons = np.asarray(lons, dtype=float)
    lats = np.asarray(lats, dtype=float)
    crs = (crs or "wgs84").lower()
    if crs not in CRS_CHOICES:
        check_coordinates(lons, lats, crs, field)
    snap = snapshot(edition_id)
    check_coordinates(lons, lats, crs, field, snap)
    wlon, wlat = to_wgs84(lons, lats, crs)
    result = snap.index.locate_many(wlon, wlat)
    refs = snap.refs
    n = len(wlon)
    near: list = []
    nearest_rec = nearest_d = swapped = None
    if details:
        pts = Proximity.points(wlon, wlat)
        near = snap.proximity.near(pts, {1: result.level1, 2: result.level2, 3: result.level3}, tolerance_m)
        outside = np.flatnonzero(result.status == 2)
        if len(outside):
            nearest_rec = np.full(n, -1)
            nearest_d = np.zeros(n)
            nearest_rec[outside], nearest_d[outside] = snap.proximity.nearest_grid(
                wlon[outside], wlat[outside], pts[outside])
            # Would the point land inside with lon and lat swapped? (a classic client bug)
            swapped = np.zeros(n, dtype=bool)
            swapped[outside] = snap.index.locate_many(wlat[outside], wlon[outside]).status != 2
    # Plain Python values once, not numpy scalars per point.
    lon_l, lat_l = lons.tolist(), lats.tolist()
    wlon_l, wlat_l = [round(v, 7) for v in wlon.tolist()], [round(v, 7) for v in wlat.tolist()]
    status_l = result.status.tolist()
    answers = []
    for i in range(n):
        status = STATUS_NAMES[status_l[i]]
        chain = result.chain(i)
        a = PointAnswer(status, lon_l[i], lat_l[i], crs, (wlon_l[i], wlat_l[i]), snap.edition_id,
                        snap.edition_name, [refs[j] for j in chain], details)
        if details:
            if status == "outside":
                j = int(nearest_rec[i])
                a.nearest = NearestGrid(refs[j].code, refs[j].name, round(float(nearest_d[i]), 1))
                a.swapped_inside = bool(swapped[i])
            else:
                _fill_details(a, snap, chain, near[i])
        answers.append(a)
    return snap, answers


def _fill_details(a: PointAnswer, snap: Snapshot, chain: list[int], near: list[tuple[int, float]]) -> None:
    refs = snap.refs
    deepest = refs[chain[-1]]
    a.unit = snap.unit_for(chain)
    # Blind spots are the community's own members' duty (county rule), so the deepest grid's
    # staff answer: for a blind spot that is the community itself.
    a.staff = list(snap.staff.get(deepest.code, ()))
    if a.status == "blind_spot":
        a.blind_spot_of = deepest
    a.near_boundary = bool(near)
    a.candidates = [Candidate(refs[j].code, refs[j].name, refs[j].level, round(d, 1)) for j, d in near]


def locate(
    lons, lats, crs: str = "wgs84", *, tolerance_m: float = 20.0, show_phones: bool = False,
    edition_id: int | None = None, details: bool = True, field: str = "points",
) -> tuple[Snapshot, list[dict]]:
    """`locate_points` in the API's JSON form (docs/api.md), phones only with `show_phones`: for
    callers that keep or print that form (the CLI, reports). New code takes `locate_points`."""
    from .locate_api import answers_json  # the JSON shape lives at the API edge

    snap, answers = locate_points(lons, lats, crs, tolerance_m=tolerance_m, edition_id=edition_id,
                                  details=details, field=field)
    return snap, answers_json(answers, show_phones=show_phones)


__all__ = ["locate_points", "locate", "snapshot", "clear_cache", "check_coordinates", "LocateInputError",
           "STATUS_NAMES", "PointAnswer", "GridRef", "UnitInfo", "StaffEntry", "Candidate", "NearestGrid", "Snapshot"]
