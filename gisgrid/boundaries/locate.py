"""locate: a point (in any datum) -> grid chain, responsible unit and grid staff.

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

from dataclasses import dataclass

import numpy as np

from . import geometry
from .datums import CRS_CHOICES, to_wgs84
from .edition_cache import EditionCache
from .locate_index import GridIndex, GridRecord
from .models import Edition, Grid, GridAssignment, Unit
from .proximity import Proximity

STATUS_NAMES = ("inside", "blind_spot", "outside")


@dataclass
class StaffEntry:
    role: str
    name: str
    phone: str
    unit: str | None


@dataclass
class Snapshot:
    """Shared by request threads: plain data, with GEOS objects only per thread (see above)."""

    edition_id: int
    edition_name: str
    edition_version: int
    index: GridIndex
    proximity: Proximity
    grid_unit: list[dict | None]  # per record: the grid's own unit
    staff: dict[str, list[StaffEntry]]  # by grid code

    def unit_for(self, chain: list[int]) -> dict | None:
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
    units = {u.pk: {"code": u.code, "name": u.name, "kind": u.kind, "phone": u.phone} for u in Unit.objects.all()}
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
    return Snapshot(edition.pk, edition.name, edition.version, index, proximity, grid_unit, staff)


def _build(edition_id: int, _name: str, _version: int) -> Snapshot:
    return build_snapshot(Edition.objects.get(pk=edition_id))


_snapshots: EditionCache[Snapshot] = EditionCache(_build)


def snapshot(edition_id: int | None = None) -> Snapshot:
    """The snapshot of `edition_id` (default: whatever edition is active right now)."""
    return _snapshots.get(edition_id)


def clear_cache() -> None:
    _snapshots.clear()


class LocateInputError(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def check_coordinates(lons: np.ndarray, lats: np.ndarray, crs: str, field: str = "points",
                      snap: Snapshot | None = None) -> None:
    """Reject unknown datums, NaN/inf and out-of-range values, hinting at swapped lon/lat."""
    if crs not in CRS_CHOICES:
        raise LocateInputError("crs", f"未知坐标系 unknown crs {crs!r}; expected one of {', '.join(CRS_CHOICES)}")
    bad = ~(np.isfinite(lons) & np.isfinite(lats))
    if bad.any():
        i = int(np.argmax(bad))
        where = f" at index {i}" if field == "points" else ""
        raise LocateInputError(field if field == "points" else ("lon" if not np.isfinite(lons[i]) else "lat"),
                               f"坐标必须是有限数值 (coordinate must be a finite number{where})")
    bad = (np.abs(lons) > 180) | (np.abs(lats) > 90)
    if bad.any():
        i = int(np.argmax(bad))
        name = field if field == "points" else ("lat" if abs(lats[i]) > 90 else "lon")
        reason = f"经纬度超出范围 (out of range{' at index ' + str(i) if field == 'points' else ''}: lon {lons[i]}, lat {lats[i]})"
        if snap is not None and abs(lons[i]) <= 90 and abs(lats[i]) <= 180:
            wlon, wlat = to_wgs84(np.array([lats[i]]), np.array([lons[i]]), crs)
            r = snap.index.locate_many(wlon, wlat)
            if int(r.status[0]) != 2:
                code = snap.index.records[r.chain(0)[0]]
                reason += f"; 经纬度可能颠倒: 交换后位于{code.name} (lon/lat swapped? swapped it lies in {code.code})"
        raise LocateInputError(name, reason)


def locate(
    lons, lats, crs: str = "wgs84", *, tolerance_m: float = 20.0, show_phones: bool = False,
    edition_id: int | None = None, details: bool = True, field: str = "points",
) -> tuple[Snapshot, list[dict]]:
    """Locate many points; one answer dict per point, in order (see docs/api.md for the shape)."""
    lons = np.asarray(lons, dtype=float)
    lats = np.asarray(lats, dtype=float)
    crs = (crs or "wgs84").lower()
    if crs not in CRS_CHOICES:
        check_coordinates(lons, lats, crs, field)
    snap = snapshot(edition_id)
    check_coordinates(lons, lats, crs, field, snap)
    wlon, wlat = to_wgs84(lons, lats, crs)
    result = snap.index.locate_many(wlon, wlat)
    records = snap.index.records
    edition = {"id": snap.edition_id, "name": snap.edition_name}
    near: list = []
    nearest_rec = nearest_d = None
    if details:
        pts = Proximity.points(wlon, wlat)
        near = snap.proximity.near(pts, {1: result.level1, 2: result.level2, 3: result.level3}, tolerance_m)
        outside = np.flatnonzero(result.status == 2)
        if len(outside):
            nearest_rec = np.full(len(wlon), -1)
            nearest_d = np.zeros(len(wlon))
            nearest_rec[outside], nearest_d[outside] = snap.proximity.nearest(pts[outside])
            # Would the point land inside with lon and lat swapped? (a classic client bug)
            swapped = np.zeros(len(wlon), dtype=bool)
            swapped[outside] = snap.index.locate_many(wlat[outside], wlon[outside]).status != 2
    answers = []
    for i in range(len(wlon)):
        status = STATUS_NAMES[int(result.status[i])]
        chain = result.chain(i)
        answer: dict = {
            "status": status,
            "input": {"lon": float(lons[i]), "lat": float(lats[i]), "crs": crs},
            "wgs84": [round(float(wlon[i]), 7), round(float(wlat[i]), 7)],
            "edition": edition,
            "grids": [{"level": records[j].level, "code": records[j].code, "name": records[j].name} for j in chain],
        }
        if details:
            if status == "outside":
                j = int(nearest_rec[i])
                answer.update({
                    "unit": None, "staff": [], "near_boundary": False, "candidates": [],
                    "nearest": {"code": records[j].code, "name": records[j].name,
                                "distance_m": round(float(nearest_d[i]), 1)},
                    "swapped_inside": bool(swapped[i]),
                })
            else:
                answer.update(_details(snap, chain, status, near[i], show_phones))
        answers.append(answer)
    return snap, answers


def _details(snap: Snapshot, chain: list[int], status: str, near: list[tuple[int, float]], show_phones: bool) -> dict:
    records = snap.index.records
    deepest = records[chain[-1]]
    out: dict = {"unit": _unit(snap.unit_for(chain), show_phones)}
    # Blind spots are the community's own members' duty (county rule), so the deepest grid's
    # staff answer: for a blind spot that is the community itself.
    out["staff"] = [_staff(s, show_phones) for s in snap.staff.get(deepest.code, [])]
    if status == "blind_spot":
        out["blind_spot_of"] = {"code": deepest.code, "name": deepest.name}
    out["near_boundary"] = bool(near)
    out["candidates"] = [
        {"code": records[j].code, "name": records[j].name, "level": records[j].level, "distance_m": round(d, 1)}
        for j, d in near
    ]
    return out


def _unit(unit: dict | None, show_phones: bool) -> dict | None:
    if unit is None:
        return None
    return unit if show_phones else {k: v for k, v in unit.items() if k != "phone"}


def _staff(s: StaffEntry, show_phones: bool) -> dict:
    # The label is translated per request: snapshots are shared by requests in every language.
    d = {"role": s.role, "role_label": str(GridAssignment.Role(s.role).label), "name": s.name, "unit": s.unit}
    if show_phones:
        d["phone"] = s.phone
    return d


__all__ = ["locate", "snapshot", "clear_cache", "LocateInputError", "STATUS_NAMES"]
