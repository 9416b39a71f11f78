"""Grid layers as GeoJSON for maps, optionally simplified without opening gaps.

Per-polygon simplification (ST_SimplifyPreserveTopology) pulls neighbours' shared edges apart;
shapely's coverage_simplify simplifies each shared edge once, so the layer still tiles.
Results are cached per process by (edition, version, level, tolerance): layers only change
when a draft is edited, which bumps the version.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import shapely

from . import geometry
from .models import Edition, Grid

_cache: OrderedDict[tuple, list[dict]] = OrderedDict()
_lock = threading.Lock()
_CACHE_SIZE = 32


def _features(edition: Edition, level: int | None, simplify_m: float) -> list[dict]:
    key = (edition.pk, edition.version, level, round(simplify_m, 2))
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    qs = Grid.objects.filter(edition=edition).select_related("parent", "unit").order_by("level", "code")
    if level is not None:
        qs = qs.filter(level=level)
    grids = list(qs)
    geoms = np.array([geometry.from_geos(g.geom) for g in grids], dtype=object)
    if simplify_m > 0 and len(geoms):
        simplified = np.empty_like(geoms)
        # Simplify each level as its own coverage: shared edges exist only between siblings.
        levels = np.array([g.level for g in grids])
        for lvl in np.unique(levels):
            sel = levels == lvl
            metric = geometry.to_metric(geoms[sel])
            simplified[sel] = geometry.from_metric(shapely.coverage_simplify(metric, simplify_m))
        geoms = simplified
    precision = 6 if simplify_m > 0 else 7
    features = []
    for g, geom in zip(grids, geoms, strict=True):
        features.append(
            {
                "type": "Feature",
                "id": g.code,
                "properties": {
                    "code": g.code, "name": g.name, "level": g.level, "kind": g.kind,
                    "parent_code": g.parent.code if g.parent_id else edition.county_code,
                    "unit": g.unit.name if g.unit_id else None, "area_m2": round(g.area_m2, 1),
                    "urban": g.urban,
                },
                "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 10**-precision)),
                "_bbox": geom.bounds,
            }
        )
    with _lock:
        _cache[key] = features
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return features


def grids_feature_collection(
    edition: Edition, level: int | None = None, bbox: tuple[float, float, float, float] | None = None,
    simplify_m: float = 0.0,
) -> dict:
    feats = _features(edition, level, simplify_m)
    if bbox is not None:
        minx, miny, maxx, maxy = bbox
        feats = [f for f in feats if not (f["_bbox"][2] < minx or f["_bbox"][0] > maxx
                                          or f["_bbox"][3] < miny or f["_bbox"][1] > maxy)]
    return {
        "type": "FeatureCollection",
        "edition": {"id": edition.pk, "name": edition.name, "status": edition.status},
        "features": [{k: v for k, v in f.items() if k != "_bbox"} for f in feats],
    }
