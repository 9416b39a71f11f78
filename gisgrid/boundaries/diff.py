"""What a redraw changes: per grid, land gained and lost and from whom; grids added and retired;
the staff and the routed items (registered by other apps) it touches.

Grids are matched across editions by their stable code. Land exchanges are computed level by
level between the two editions' polygons, in lon/lat, and measured in metres.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import mapping

from . import geometry, routed_items
from .editing import NOISE_M2, load_states
from .models import Edition, GridAssignment


def diff_editions(old: Edition, new: Edition) -> dict:
    a, b = load_states(old), load_states(new)
    added = sorted(set(b) - set(a))
    retired = sorted(set(a) - set(b))
    changes: list[dict] = []
    features: list[dict] = []
    for level in (1, 2, 3):
        old_codes = [c for c, s in a.items() if s.level == level]
        new_codes = [c for c, s in b.items() if s.level == level]
        if not old_codes and not new_codes:
            continue
        old_geoms = np.array([a[c].geom for c in old_codes], dtype=object)
        tree = shapely.STRtree(old_geoms)
        for code in sorted(set(old_codes) | set(new_codes)):
            og = a[code].geom if code in a else shapely.MultiPolygon()
            ng = b[code].geom if code in b else shapely.MultiPolygon()
            if code in a and code in b and shapely.equals_exact(og, ng, tolerance=1e-9):
                continue
            gained = shapely.difference(ng, og)
            lost = shapely.difference(og, ng)
            g_area, l_area = _m2(gained), _m2(lost)
            if g_area <= NOISE_M2 and l_area <= NOISE_M2 and code in a and code in b:
                continue
            sources = []
            if g_area > NOISE_M2:
                for j in tree.query(gained, predicate="intersects"):
                    other = old_codes[j]
                    if other == code:
                        continue
                    m2 = _m2(shapely.intersection(gained, old_geoms[j]))
                    if m2 > NOISE_M2:
                        sources.append({"code": other, "name": a[other].name, "area_m2": round(m2, 1)})
            state = b.get(code) or a[code]
            change = {
                "code": code, "name": state.name, "level": level,
                "change": "added" if code not in a else "retired" if code not in b else "changed",
                "area_gained_m2": round(g_area, 1), "area_lost_m2": round(l_area, 1),
                "gained_from": sorted(sources, key=lambda s: -s["area_m2"]),
                "old_area_m2": round(_m2(og), 1), "new_area_m2": round(_m2(ng), 1),
            }
            changes.append(change)
            for kind, geom in (("gained", gained), ("lost", lost)):
                if _m2(geom) > NOISE_M2:
                    features.append({"type": "Feature", "geometry": mapping(geom),
                                     "properties": {"code": code, "name": state.name, "level": level, "diff": kind,
                                                    "area_m2": round(_m2(geom), 1)}})
    touched = {c["code"] for c in changes}
    staff = [
        {"grid_code": a_.grid_code, "role": a_.role, "name": a_.person.name}
        for a_ in GridAssignment.objects.filter(grid_code__in=touched).select_related("person").order_by("grid_code")
    ]
    items = routed_items.affected_by(old, new, touched)
    return {
        "old": {"id": old.pk, "name": old.name, "status": old.status},
        "new": {"id": new.pk, "name": new.name, "status": new.status},
        "added": added, "retired": retired, "changes": changes,
        "staff_affected": staff, "items_affected": items,
        "geojson": {"type": "FeatureCollection", "features": features},
    }


def _m2(geom: shapely.Geometry) -> float:
    return 0.0 if geom is None or geom.is_empty else geometry.area_m2(geom)


def blind_spots(edition: Edition) -> list[dict]:
    """Blind spots of an edition: urban communities minus their level-3 grids, one per piece."""
    from .edition_validation import validate_edition
    from .validation import ValidationConfig

    findings = validate_edition(edition, ValidationConfig(check_edges=False))
    states = load_states(edition)
    out = []
    for f in findings:
        if f.kind != "blind_spot":
            continue
        community = states.get(f.codes[0])
        out.append({"geometry": f.geometry, "area_m2": f.area_m2, "community_code": f.codes[0],
                    "community_name": community.name if community else "",
                    "items": routed_items.inside(edition, f.geometry)})
    return out
