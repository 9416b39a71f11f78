"""Geometry helpers shared by import, API and services: one way to measure, one way to shape.

Areas and distances are computed in the metric CRS (EPSG:4546, CGCS2000 3-degree GK CM 111E)
with pyproj on shapely's coordinate arrays, vectorised, rather than per-geometry GDAL calls.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from pyproj import Transformer


@lru_cache(maxsize=4)
def _to_metric(srid: int) -> Transformer:
    return Transformer.from_crs(4326, srid, always_xy=True)


@lru_cache(maxsize=4)
def _from_metric(srid: int) -> Transformer:
    return Transformer.from_crs(srid, 4326, always_xy=True)


def metric_srid() -> int:
    return getattr(settings, "GISGRID_METRIC_SRID", 4546)


def to_metric(geom: shapely.Geometry) -> shapely.Geometry:
    t = _to_metric(metric_srid())
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def from_metric(geom: shapely.Geometry) -> shapely.Geometry:
    t = _from_metric(metric_srid())
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


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
