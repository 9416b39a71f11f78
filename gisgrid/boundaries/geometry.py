"""Geometry helpers shared by import, API and services: one way to measure, one way to shape.

This module is the one home of the metric projection: areas and distances are computed in the
metric CRS (settings.GISGRID_METRIC_SRID, EPSG:4546 = CGCS2000 3-degree GK CM 111E for Heyang)
with pyproj on coordinate arrays, vectorised, rather than per-geometry GDAL calls. Every caller
(locate's proximity, coverage's grids and tracks, import, display) goes through `to_metric_xy`,
`to_metric` or `metric_transformer`, so there is one transformer per process and one place that
says which CRS "metres" means.

A transverse Mercator is only good near its central meridian: 90 degrees away it gives infinity,
thousands of kilometres away it stretches distances by tens of percent. Distances to points that
far (a phone reporting 0,0, a point in Africa) are measured on the WGS-84 ellipsoid instead
(`geodesic_m`), found with an azimuthal equidistant projection centred on the county
(`aeqd_transformer`), which is finite everywhere and exact for distances from its centre.

pyproj Transformers are thread-safe since pyproj 3.1 (each thread gets its own PROJ object
inside the Transformer), so the cached ones here are shared by every request thread.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from pyproj import Geod, Transformer

# Geod holds the ellipsoid's constants only; its methods keep no state between calls.
GEOD = Geod(ellps="WGS84")


@lru_cache(maxsize=16)
def transformer(source: int | str, target: int | str) -> Transformer:
    """A cached lon/lat-ordered transformer (building one costs milliseconds of PROJ lookups)."""
    return Transformer.from_crs(source, target, always_xy=True)


def metric_srid() -> int:
    return int(getattr(settings, "GISGRID_METRIC_SRID", 4546))


def metric_transformer(srid: int | None = None) -> Transformer:
    """WGS-84 lon/lat -> metres in `srid` (default: the metric CRS)."""
    return transformer(4326, int(srid or metric_srid()))


def to_metric_xy(lon, lat, srid: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 lon/lat arrays -> metric x/y arrays (float64) in `srid` (default: the metric CRS)."""
    x, y = metric_transformer(srid).transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _project(geom, t: Transformer):
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def to_metric(geom: shapely.Geometry) -> shapely.Geometry:
    """A lon/lat geometry (or array of them) in the metric CRS."""
    return _project(geom, metric_transformer())


def from_metric(geom: shapely.Geometry) -> shapely.Geometry:
    return _project(geom, transformer(metric_srid(), 4326))


def metric_points(lon, lat) -> np.ndarray:
    """Point geometries in the metric CRS for lon/lat arrays (infinite far from the zone)."""
    return shapely.points(*to_metric_xy(lon, lat))


@lru_cache(maxsize=8)
def aeqd_transformer(lon0: float, lat0: float) -> Transformer:
    """WGS-84 -> azimuthal equidistant metres centred on (lon0, lat0): finite for any point on
    Earth, distances from the centre exact (geodesics on the ellipsoid)."""
    return Transformer.from_crs(4326, f"+proj=aeqd +lat_0={float(lat0)} +lon_0={float(lon0)} +datum=WGS84 +units=m",
                                always_xy=True)


def geodesic_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Distances in metres on the WGS-84 ellipsoid, element-wise."""
    args = [np.asarray(v, dtype=float) for v in (lon1, lat1, lon2, lat2)]
    return np.asarray(GEOD.inv(*args)[2], dtype=float)


def area_m2(geom: shapely.Geometry) -> float:
    return float(shapely.area(to_metric(geom)))


def as_multipolygon(geom: shapely.Geometry) -> shapely.MultiPolygon:
    """Polygon -> MultiPolygon; collections keep only their polygonal parts."""
    if isinstance(geom, shapely.MultiPolygon):
        return geom
    if isinstance(geom, shapely.Polygon):
        return shapely.MultiPolygon([geom])
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, shapely.Polygon | shapely.MultiPolygon)]
    polys: list[shapely.Polygon] = []
    for p in parts:
        polys.extend(shapely.get_parts(p) if isinstance(p, shapely.MultiPolygon) else [p])
    return shapely.MultiPolygon(polys)


def to_geos(geom: shapely.Geometry, srid: int = 4326) -> GEOSGeometry:
    g = GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=srid)
    if g.geom_type == "Polygon":
        g = MultiPolygon(g, srid=srid)
    return g


def from_geos(geom: GEOSGeometry) -> shapely.Geometry:
    return shapely.from_wkb(bytes(geom.wkb))
