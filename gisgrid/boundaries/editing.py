"""Editing a draft edition so shared edges stay shared: assign a piece, reshape, split, merge.

Web editors cannot move a vertex shared by two polygons together (Leaflet-Geoman's free
edition has no pinning), so integrity comes from here: every edit is expressed as pieces of
land changing owner inside one parent. The land a grid gains is cut from its siblings, and
the land it loses goes to the sibling across the edge, in one overlay each, so the new
shared boundary is the same line on both sides. Every edit records the geometries before and
after (EditionChange) for undo/redo, bumps the draft's version (stale writers get 409) and is
audited.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
import shapely.ops
from django.db import transaction
from django.db.models import Max

from gisgrid.audit.log import record

from . import geometry, validation
from .editions import EditionError, require_draft
from .importing import mark_urban
from .models import Edition, EditionChange, Grid

# Overlay noise: pieces smaller than this are rounding, not land.
NOISE_M2 = 0.05


@dataclass
class GridState:
    code: str
    name: str
    level: int
    kind: str
    parent_code: str | None
    unit_id: int | None
    geom: shapely.Geometry

    def to_json(self) -> dict:
        return {"name": self.name, "level": self.level, "kind": self.kind, "parent_code": self.parent_code,
                "unit_id": self.unit_id, "wkb": shapely.to_wkb(self.geom, hex=True)}

    @classmethod
    def from_json(cls, code: str, d: dict) -> GridState:
        return cls(code, d["name"], d["level"], d["kind"], d["parent_code"], d["unit_id"],
                   shapely.from_wkb(bytes.fromhex(d["wkb"])))


def load_states(edition: Edition) -> dict[str, GridState]:
    grids = Grid.objects.filter(edition=edition).select_related("parent").only(
        "code", "name", "level", "kind", "parent__code", "unit_id", "geom")
    return {
        g.code: GridState(g.code, g.name, g.level, g.kind, g.parent.code if g.parent_id else None, g.unit_id,
                          geometry.from_geos(g.geom))
        for g in grids
    }


def _area(geom: shapely.Geometry) -> float:
    return geometry.area_m2(geom) if not geom.is_empty else 0.0


def _clean(geom: shapely.Geometry) -> shapely.Geometry:
    # Overlays of valid grids are valid; should one not be, the structure repair keeps every
    # piece of land its rings enclose (make_valid's even-odd default can punch holes).
    geom = validation.repaired_shape(geom) if not geom.is_valid else geom
    polys = [p for p in shapely.get_parts(geometry.as_multipolygon(geom)) if _area(p) > NOISE_M2]
    return shapely.MultiPolygon(polys) if polys else shapely.MultiPolygon()


def check_drawing(geom: shapely.Geometry, field: str = "geometry") -> shapely.Geometry:
    if geom is None or geom.is_empty:
        raise EditionError(f"{field}: 图形为空 (empty drawing)")
    if not isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        raise EditionError(f"{field}: 需要面 (a polygon is needed, got {geom.geom_type})")
    if not geom.is_valid:
        raise EditionError(f"{field}: 图形无效 (invalid drawing: {shapely.is_valid_reason(geom)})")
    if _area(geom) <= NOISE_M2:
        raise EditionError(f"{field}: 图形面积过小 (the drawing has no area)")
    return geom


def _parent_geom(edition: Edition, states: dict[str, GridState], target: GridState) -> shapely.Geometry:
    if target.parent_code:
        return states[target.parent_code].geom
    if edition.county_geom is None:
        return shapely.union_all([s.geom for s in states.values() if s.level == 1])
    return geometry.from_geos(edition.county_geom)


def _descendants(states: dict[str, GridState], code: str) -> list[str]:
    out, frontier = [], [code]
    while frontier:
        kids = [c for c, s in states.items() if s.parent_code in frontier]
        out.extend(kids)
        frontier = kids
    return out


def _give(states: dict[str, GridState], target_code: str, piece: shapely.Geometry) -> dict[str, GridState]:
    """Move `piece` (already inside the target's parent) to the target; returns the changed states."""
    target = states[target_code]
    changed: dict[str, GridState] = {}
    keep = set(_descendants(states, target_code)) | {target_code}
    for code, s in states.items():
        if code in keep or s.level < target.level:
            continue
        if s.level == target.level and s.parent_code != target.parent_code:
            continue
        if not shapely.intersects(s.geom, piece):
            continue
        rest = _clean(shapely.difference(s.geom, piece))
        if abs(_area(rest) - _area(s.geom)) <= NOISE_M2:
            continue
        if rest.is_empty and s.level == target.level:
            raise EditionError(f"{code} {s.name} 将被完全划走，请改用合并 (the edit would remove it entirely; merge instead)")
        changed[code] = GridState(**{**s.__dict__, "geom": rest})
    changed[target_code] = GridState(**{**target.__dict__, "geom": _clean(shapely.union(target.geom, piece))})
    return changed


def _next_code(edition: Edition, parent_code: str | None, level: int, taken: set[str]) -> str:
    """Next free code under a parent, never reusing a code any edition ever had (retired codes stay retired)."""
    prefix = parent_code or edition.county_code
    used = set(Grid.objects.filter(level=level, code__startswith=prefix).values_list("code", flat=True)) | taken
    # Only the level's own codes (prefix + 3 digits): `taken` also holds the draft's deeper
    # codes, and a level-3 code under a village would read as suffix 1002 and exhaust the range.
    suffixes = [int(c[len(prefix):]) for c in used
                if c.startswith(prefix) and len(c) == len(prefix) + 3 and c[len(prefix):].isdigit()]
    n = max(suffixes, default=0) + 1
    if n > 999:
        raise EditionError(f"{prefix}: 编码已用尽 (no free 3-digit code left)")
    return f"{prefix}{n:03d}"


def _commit(edition: Edition, op: str, params: dict, before: dict[str, GridState | None],
            after: dict[str, GridState | None], user, *, record_change: bool = True) -> EditionChange | None:
    """Write `after` (None = remove from the draft) in the right order; record undo information."""
    by_code = dict(Grid.objects.filter(edition=edition).values_list("code", "id"))
    # Parents before children when creating; children before parents when removing.
    for code, state in sorted(((c, s) for c, s in after.items() if s is not None), key=lambda cs: cs[1].level):
        geom = geometry.as_multipolygon(state.geom)
        fields = dict(name=state.name, level=state.level, kind=state.kind,
                      parent_id=by_code.get(state.parent_code) if state.parent_code else None,
                      geom=geometry.to_geos(geom), area_m2=_area(geom), unit_id=state.unit_id)
        if code in by_code:
            Grid.objects.filter(pk=by_code[code]).update(**fields)
        else:
            by_code[code] = Grid.objects.create(edition=edition, code=code, **fields).pk
    removed = [c for c, s in after.items() if s is None and c in by_code]
    if removed:
        Grid.objects.filter(edition=edition, code__in=removed).delete()
    mark_urban(edition)
    Edition.objects.filter(pk=edition.pk).update(version=edition.version + 1)
    edition.version += 1
    change = None
    if record_change:
        # A new edit discards the redo stack, as in every editor.
        EditionChange.objects.filter(edition=edition, undone=True).delete()
        seq = (EditionChange.objects.filter(edition=edition).aggregate(m=Max("seq"))["m"] or 0) + 1
        change = EditionChange.objects.create(
            edition=edition, seq=seq, op=op, params=params,
            before={c: (s.to_json() if s else None) for c, s in before.items()},
            after={c: (s.to_json() if s else None) for c, s in after.items()},
            by=user if getattr(user, "is_authenticated", False) else None,
        )
    record(user, f"edition.{op}", edition, version=edition.version, codes=sorted(after), **params)
    return change


def _locked(edition_id: int, version: int | None) -> Edition:
    edition = Edition.objects.select_for_update().get(pk=edition_id)
    require_draft(edition, version)
    return edition


def _open(edition: Edition, version: int | None, *codes: str) -> tuple[Edition, dict[str, GridState]]:
    """Lock the draft (checking its version), load its grids, and check the codes an edit names."""
    edition = _locked(edition.pk, version)
    states = load_states(edition)
    for c in codes:
        if c not in states:
            raise EditionError(f"grid: 草稿中没有网格 {c} (no such grid in the draft)", 404)
    if codes:
        _require_valid(states)
    return edition, states


def _require_valid(states: dict[str, GridState]) -> None:
    """Refuse an overlay edit while the draft holds an invalid grid (e.g. copied from data loaded
    before imports checked validity): GEOS would fail on it or cut it wrongly without a word.
    Importing a corrected layer (repair=1 repairs and reports) is the way out."""
    codes = list(states)
    geoms = [states[c].geom for c in codes]
    bad = [i for i, ok in enumerate(shapely.is_valid(geoms)) if not ok] if geoms else []
    if not bad:
        return
    findings = []
    for i in bad:
        s = states[codes[i]]
        reason, where = validation.invalid_reason(s.geom)
        findings.append(validation.Finding(
            "invalid", validation.ERROR, s.level, [s.code], 0.0, shapely.Point(*where) if where else None,
            f"几何无效 invalid geometry: {reason}{validation.where_text(where)}",
            {"reason": reason, "location": list(where) if where else None}))
    names = "; ".join(f"{f.codes[0]} {f.message}" for f in findings[:5])
    raise EditionError(f"草稿中有 {len(bad)} 个无效网格，请先导入修正的图层 (the draft has {len(bad)} invalid "
                       f"grid(s); import a corrected layer, or the same layer with repair=1, first): {names}",
                       400, findings)


def assign_piece(edition: Edition, code: str, piece: shapely.Geometry, *, version: int | None = None,
                 user=None) -> dict:
    """Add a drawn piece to grid `code`, cutting it from its neighbours inside the parent."""
    piece = check_drawing(piece, "piece")
    with transaction.atomic():
        edition, states = _open(edition, version, code)
        target = states[code]
        parent = _parent_geom(edition, states, target)
        inside = _clean(shapely.intersection(piece, parent))
        if inside.is_empty:
            raise EditionError("piece: 图形在上级网格之外 (the piece lies outside the parent grid)")
        clipped = _area(piece) - _area(inside)
        changed = _give(states, code, inside)
        before = {c: states[c] for c in changed}
        _commit(edition, "assign_piece", {"code": code, "clipped_m2": round(clipped, 1)}, before, changed, user)
    return {"changed": sorted(changed), "clipped_m2": round(clipped, 1), "version": edition.version}


def set_geometry(edition: Edition, code: str, geom: shapely.Geometry, *, version: int | None = None,
                 user=None) -> dict:
    """Reshape a grid (vertices moved on the map): gained land is cut from neighbours, lost land
    goes to the sibling sharing the longest edge with it, so no gap or overlap appears."""
    geom = check_drawing(geom)
    with transaction.atomic():
        edition, states = _open(edition, version, code)
        target = states[code]
        parent = _parent_geom(edition, states, target)
        new = _clean(shapely.intersection(geom, parent))
        if new.is_empty:
            raise EditionError("geometry: 图形在上级网格之外 (outside the parent grid)")
        # The drawing is cut to the parent: say how much of it was left outside.
        clipped = round(_area(geom) - _area(new), 1)
        gained = _clean(shapely.difference(new, target.geom))
        lost = _clean(shapely.difference(target.geom, new))
        work = dict(states)
        changed: dict[str, GridState] = {}
        if not gained.is_empty:
            step = _give(work, code, gained)
            work.update(step)
            changed.update(step)
        siblings = [s for c, s in work.items() if s.level == target.level and s.parent_code == target.parent_code
                    and c != code]
        for part in shapely.get_parts(lost):
            if target.level == 3:
                # Level 3 need not tile: land a level-3 grid gives up becomes blind spot.
                cur = work[code]
                step = {code: GridState(**{**cur.__dict__, "geom": _clean(shapely.difference(cur.geom, part))})}
            else:
                shared = [(shapely.length(shapely.intersection(s.geom.boundary, part.boundary)), s.code) for s in siblings]
                best = max(shared, default=(0.0, None))
                if best[1] is None or best[0] <= 0:
                    raise EditionError("geometry: 让出的区域不与任何相邻网格相接 (the land given up touches no neighbour)")
                step = _give(work, best[1], part)
            work.update(step)
            changed.update(step)
        if not changed:
            return {"changed": [], "clipped_m2": clipped, "version": edition.version}
        before = {c: states[c] for c in changed}
        _commit(edition, "set_geometry", {"code": code, "clipped_m2": clipped}, before, changed, user)
    return {"changed": sorted(changed), "clipped_m2": clipped, "version": edition.version}


def split(edition: Edition, code: str, line: shapely.Geometry, *, version: int | None = None, user=None,
          new_name: str | None = None) -> dict:
    """Cut a grid in two along a line; the larger part keeps the code, the other gets the next code."""
    if line is None or line.is_empty or line.geom_type not in ("LineString", "MultiLineString"):
        raise EditionError("line: 需要一条切割线 (a cutting line is needed)")
    with transaction.atomic():
        edition, states = _open(edition, version, code)
        target = states[code]
        parts, uncut = _split_parts(target.geom, line)
        if len(parts) < 2:
            raise EditionError("line: 切割线没有把网格分开 (the line does not cut the grid in two)")
        parts.sort(key=_area, reverse=True)
        # Parts of a multipart grid the line does not touch stay with the code: a split cuts,
        # it never hands over an exclave nobody drew a line through.
        keep = _clean(shapely.union_all([parts[0], *uncut]))
        other = _clean(shapely.union_all(parts[1:]))
        new_code = _next_code(edition, target.parent_code, target.level, set(states))
        after: dict[str, GridState | None] = {
            code: GridState(**{**target.__dict__, "geom": keep}),
            new_code: GridState(new_code, new_name or f"{target.name}(分)", target.level, target.kind,
                                target.parent_code, target.unit_id, other),
        }
        before: dict[str, GridState | None] = {code: target, new_code: None}
        # Children follow the part holding their representative point; their codes do not change.
        for c in _descendants(states, code):
            s = states[c]
            if s.parent_code == code and other.covers(shapely.point_on_surface(s.geom)):
                before[c] = s
                after[c] = GridState(**{**s.__dict__, "parent_code": new_code})
        _commit(edition, "split", {"code": code, "new_code": new_code}, before, after, user)
    return {"changed": sorted(after), "new_code": new_code, "version": edition.version}


def _split_parts(geom: shapely.Geometry, line: shapely.Geometry) -> tuple[list, list]:
    """(pieces of the polygons the line cuts, the polygons it leaves whole)."""
    cut, uncut = [], []
    for poly in shapely.get_parts(geom):
        pieces = [p for p in shapely.get_parts(shapely.ops.split(poly, line)) if _area(p) > NOISE_M2]
        if len(pieces) > 1:
            cut.extend(pieces)
        else:
            uncut.append(poly)
    return cut, uncut


def merge(edition: Edition, keep_code: str, other_code: str, *, version: int | None = None, user=None) -> dict:
    """Merge `other` into `keep` (siblings only); `other` leaves the draft and its children move over."""
    with transaction.atomic():
        edition, states = _open(edition, version, keep_code, other_code)
        keep, other = states[keep_code], states[other_code]
        if keep_code == other_code or keep.level != other.level or keep.parent_code != other.parent_code:
            raise EditionError("merge: 只能合并同一上级下的两个网格 (only two sibling grids can merge)")
        before: dict[str, GridState | None] = {keep_code: keep, other_code: other}
        after: dict[str, GridState | None] = {
            keep_code: GridState(**{**keep.__dict__, "geom": _clean(shapely.union(keep.geom, other.geom))}),
            other_code: None,
        }
        for c, s in states.items():
            if s.parent_code == other_code:
                before[c] = s
                after[c] = GridState(**{**s.__dict__, "parent_code": keep_code})
        _commit(edition, "merge", {"keep": keep_code, "other": other_code}, before, after, user)
    return {"changed": sorted(after), "version": edition.version}


def _step(edition: Edition, version: int | None, user, *, back: bool) -> dict:
    """Undo (back) the newest applied change, or redo the oldest undone one."""
    with transaction.atomic():
        edition = _locked(edition.pk, version)
        changes = EditionChange.objects.filter(edition=edition, undone=not back)
        change = changes.order_by("-seq" if back else "seq").first()
        if change is None:
            raise EditionError("没有可撤销的修改 (nothing to undo)" if back else "没有可重做的修改 (nothing to redo)", 409,
                               code="nothing_to_undo" if back else "nothing_to_redo")
        target = change.before if back else change.after
        states = {c: (GridState.from_json(c, d) if d else None) for c, d in target.items()}
        current = load_states(edition)
        _commit(edition, "undo" if back else "redo", {"seq": change.seq, "op": change.op},
                {c: current.get(c) for c in states}, states, user, record_change=False)
        change.undone = back
        change.save(update_fields=["undone"])
    return {"undone" if back else "redone": change.op, "seq": change.seq, "version": edition.version}


def undo(edition: Edition, *, version: int | None = None, user=None) -> dict:
    return _step(edition, version, user, back=True)


def redo(edition: Edition, *, version: int | None = None, user=None) -> dict:
    return _step(edition, version, user, back=False)


def replace_from_layer(edition: Edition, read, *, version: int | None = None, user=None) -> dict:
    """Replace the geometries of the grids in a redrawn layer (matched by code); new codes are added.

    The layer is taken as the planner drew it; the validation returned with the edit shows any
    gap or overlap it leaves against the grids it did not include.
    """
    from .importing import link_parents

    with transaction.atomic():
        edition, states = _open(edition, version)
        existing = {c: (s.level, s.geom) for c, s in states.items() if c not in {r.code for r in read.rows}}
        for r in read.rows:
            if r.code in states and not r.parent_code:
                r.parent_code = states[r.code].parent_code
        link_parents(read.rows, existing)
        before: dict[str, GridState | None] = {}
        after: dict[str, GridState | None] = {}
        for r in read.rows:
            old = states.get(r.code)
            before[r.code] = old
            after[r.code] = GridState(r.code, r.name or (old.name if old else r.code), r.level,
                                      old.kind if old and not r.kind else r.kind, r.parent_code,
                                      old.unit_id if old else None, geometry.as_multipolygon(r.geom))
        params = {"rows": len(read.rows)}
        if getattr(read, "repairs", None):
            params["repairs"] = [r.to_dict() for r in read.repairs]
        _commit(edition, "import_layer", params, before, after, user)
    return {"changed": sorted(after), "version": edition.version}


__all__ = ["assign_piece", "set_geometry", "split", "merge", "undo", "redo", "load_states", "replace_from_layer"]
