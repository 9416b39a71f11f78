"""Export the grids of an edition, one level at a time, to GeoJSON, GeoPackage or Shapefile."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

from . import geometry
from .models import Edition, Grid

FORMATS = {"geojson": ("GeoJSON", ".geojson"), "gpkg": ("GPKG", ".gpkg"), "shp": ("ESRI Shapefile", ".shp")}


def grids_frame(edition: Edition, level: int | None = None) -> gpd.GeoDataFrame:
    qs = Grid.objects.filter(edition=edition).select_related("parent", "unit").order_by("level", "code")
    if level is not None:
        qs = qs.filter(level=level)
    rows = [
        {
            "code": g.code, "name": g.name, "level": g.level, "kind": g.kind,
            "parent_code": g.parent.code if g.parent_id else edition.county_code,
            "unit": g.unit.name if g.unit_id else "", "area_m2": round(g.area_m2, 1),
            "geometry": geometry.from_geos(g.geom),
        }
        for g in qs
    ]
    columns = ["code", "name", "level", "kind", "parent_code", "unit", "area_m2", "geometry"]
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs="EPSG:4326")


def export_edition(edition: Edition, out_dir: str | Path, fmt: str = "geojson", levels=(1, 2, 3)) -> list[Path]:
    """Write one file per level (`grids_level1.geojson` ...); Shapefile field names stay <= 10 chars."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    driver, ext = FORMATS[fmt]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for level in levels:
        frame = grids_frame(edition, level)
        frame["geometry"] = [geometry.as_multipolygon(g) for g in frame.geometry]
        path = out / f"grids_level{level}{ext}"
        if path.exists():
            path.unlink()
        kwargs = {"encoding": "UTF-8"} if fmt == "shp" else {}
        if fmt == "shp":
            # DBF names hold 10 characters; the importer reads 'parent_cod' back as parent_code.
            frame = frame.rename(columns={"parent_code": "parent_cod"})
        frame.to_file(path, driver=driver, engine="pyogrio", **kwargs)
        written.append(path)
    return written


def county_feature(edition: Edition) -> dict:
    geom = geometry.from_geos(edition.county_geom) if edition.county_geom else None
    return {
        "type": "Feature",
        "properties": {"code": edition.county_code, "name": edition.county_name, "level": 0, "kind": "county"},
        "geometry": shapely.geometry.mapping(geom) if geom is not None else None,
    }
