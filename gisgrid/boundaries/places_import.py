"""Load landmarks (and any other gazetteer place) from a county's own list: CSV, GeoJSON or
GeoPackage, with a field map, all or nothing.

Reading and checking happen before the first write: a missing field, an empty name, an unknown
category, a point that is not a number or lies outside the county (a wrong CRS, lon/lat
swapped) refuses the whole file, naming the row. The rows of one source (the file's name, or
--source) replace that source's earlier rows in one transaction, so importing a list again
updates it and a bad file leaves the gazetteer as it was.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from django.contrib.gis.geos import Point
from django.db import transaction

from gisgrid.audit.log import record
from gisgrid.errors import Text

from . import geometry, locate
from .datums import CRS_CHOICES, to_wgs84
from .directory import DatasetError
from .models import Place
from .place_index import INDEX

MAX_NAME = 100
_ALIAS_SPLIT = re.compile(r"[|;；,，、]")


@dataclass
class PlaceFieldMap:
    """Which column holds what; `lon`/`lat` are read from CSV only (other formats have a geometry)."""

    name: str = "name"
    kind: str | None = "kind"
    category: str | None = "category"
    aliases: str | None = "aliases"
    lon: str = "lon"
    lat: str = "lat"

    @classmethod
    def parse(cls, text: str | None) -> PlaceFieldMap:
        """'name=MC,category=LB,lon=X,lat=Y' -> a PlaceFieldMap; unnamed targets keep their defaults."""
        fm = cls()
        for item in (text or "").split(","):
            if not item.strip():
                continue
            if "=" not in item:
                raise DatasetError(Text(f"--map：应写作 目标=来源，收到 {item!r}", f"--map: expected target=source, got {item!r}"))
            target, source = (s.strip() for s in item.split("=", 1))
            if target not in cls.__dataclass_fields__:
                known = ", ".join(cls.__dataclass_fields__)
                raise DatasetError(Text(f"--map：未知目标 {target!r}，可用：{known}", f"--map: unknown target {target!r}; known: {known}"))
            setattr(fm, target, source or None)
        return fm


@dataclass
class PlaceRow:
    name: str
    kind: str
    category: str
    aliases: list[str]
    lon: float
    lat: float
    row: int  # line (CSV) or feature number, for messages


@dataclass
class ImportResult:
    source: str
    created: int
    replaced: int
    warnings: list[str] = field(default_factory=list)


def _category_lookup() -> dict[str, str]:
    table = {v: v for v in Place.Category.values}
    for value, label in Place.Category.choices:
        for part in str(label).split("/"):
            table[part] = value
    table.update({"诊所": "clinic", "卫生室": "clinic", "车站": "bus_station", "客运站": "bus_station",
                  "政府": "government", "机关": "government", "景区": "scenic", "幼儿园": "school"})
    return table


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _aliases(value) -> list[str]:
    if isinstance(value, list | tuple | np.ndarray):
        items = [_text(v) for v in value]
    else:
        items = _ALIAS_SPLIT.split(_text(value))
    return [a for a in dict.fromkeys(i.strip() for i in items) if a]


def _read_csv(path: Path, shown: str, fields: PlaceFieldMap) -> list[tuple[int, dict, float | None, float | None]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            missing = [f"{t} (field {s!r})" for t, s in (("name", fields.name), ("lon", fields.lon), ("lat", fields.lat))
                       if not s or s not in columns]
            if missing:
                raise DatasetError(Text(f"{shown}：缺少映射的字段 {', '.join(missing)}；文件中的字段：{', '.join(columns)}",
                                        f"{shown}: mapped fields missing: {', '.join(missing)}; the file has: "
                                        f"{', '.join(columns)}"))
            out = []
            for i, rec in enumerate(reader, start=2):
                try:
                    lon, lat = float(rec[fields.lon]), float(rec[fields.lat])
                except (TypeError, ValueError):
                    raise DatasetError(Text(f"{shown}:{i}：坐标不是数字 ({rec[fields.lon]!r}, {rec[fields.lat]!r})",
                                            f"{shown}:{i}: coordinates are not numbers "
                                            f"({rec[fields.lon]!r}, {rec[fields.lat]!r})")) from None
                out.append((i, rec, lon, lat))
            return out
    except UnicodeDecodeError:
        raise DatasetError(Text(f"{shown}：不是 UTF-8 编码的 CSV", f"{shown}: not a UTF-8 CSV file")) from None


def _read_vector(path: Path, shown: str, fields: PlaceFieldMap, layer: str | None):
    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio raises several DataSource/Field errors; all mean "unreadable"
        why = str(exc).replace(str(path), shown)
        raise DatasetError(Text(f"{shown}：无法作为矢量文件读取：{why}", f"{shown}: cannot read as a vector file: {why}")) from None
    if fields.name not in frame.columns:
        has = ", ".join(c for c in frame.columns if c != "geometry")
        raise DatasetError(Text(f"{shown}：缺少映射的字段 name (field {fields.name!r})；文件中的字段：{has}",
                                f"{shown}: mapped field missing: name (field {fields.name!r}); the file has: {has}"))
    geoms = np.asarray(frame.geometry.values, dtype=object)
    if frame.crs is not None:
        from pyproj import CRS

        crs = CRS.from_user_input(frame.crs)
        if not crs.equals(CRS.from_epsg(4326)) and not (crs.is_geographic and crs.to_epsg() == 4490):
            t = geometry.transformer(crs.to_wkt(), 4326)
            geoms = shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    out = []
    records = frame.drop(columns="geometry").to_dict("records")
    for i, (rec, g) in enumerate(zip(records, geoms, strict=True), start=1):
        if g is None or g.is_empty:
            raise DatasetError(Text(f"{shown}：第 {i} 个要素没有几何", f"{shown}: feature {i} has no geometry"))
        if g.geom_type == "Point":
            pt = g
        elif g.geom_type in ("LineString", "MultiLineString"):
            pt = shapely.line_interpolate_point(g, 0.5, normalized=True)
        else:
            pt = shapely.point_on_surface(g)
        out.append((i, rec, float(pt.x), float(pt.y)))
    return out


def read_places_file(path: str | Path, fields: PlaceFieldMap | None = None, *, crs: str = "wgs84",
                     layer: str | None = None, name: str | None = None) -> list[PlaceRow]:
    """Read and check a places file; nothing is written. Raises DatasetError naming the row."""
    fields = fields or PlaceFieldMap()
    path = Path(path)
    shown = name or str(path)
    if crs not in CRS_CHOICES:
        raise DatasetError(Text(f"--crs：未知坐标系 {crs!r}", f"--crs: unknown datum {crs!r}; one of {', '.join(CRS_CHOICES)}"))
    if not path.exists():
        raise DatasetError(Text(f"{shown}：文件不存在", f"{shown}: no such file"))
    if path.stat().st_size == 0:
        raise DatasetError(Text(f"{shown}：文件为空", f"{shown}: the file is empty"))
    raw = _read_csv(path, shown, fields) if path.suffix.lower() in (".csv", ".txt") else _read_vector(
        path, shown, fields, layer)
    if not raw:
        raise DatasetError(Text(f"{shown}：没有数据行", f"{shown}: no rows"))
    categories = _category_lookup()
    kinds = set(Place.Kind.values)
    rows: list[PlaceRow] = []
    seen: dict[tuple[str, str], int] = {}
    for i, rec, lon, lat in raw:
        where = f"{shown}:{i}"
        nm = _text(rec.get(fields.name))
        if not nm:
            raise DatasetError(Text(f"{where}：名称为空", f"{where}: the name is empty"))
        if len(nm) > MAX_NAME or any(ord(c) < 32 for c in nm):
            raise DatasetError(Text(f"{where}：名称过长或含控制字符", f"{where}: the name is too long or holds control characters"))
        kind = _text(rec.get(fields.kind)) if fields.kind else ""
        cat = _text(rec.get(fields.category)) if fields.category else ""
        if kind and kind not in kinds and kind in categories:  # "school" given as the kind
            kind, cat = Place.Kind.LANDMARK, cat or kind
        kind = kind or Place.Kind.LANDMARK
        if kind not in kinds:
            raise DatasetError(Text(f"{where}：未知类型 {kind!r}，可用：{', '.join(kinds)}",
                                    f"{where}: unknown kind {kind!r}; known: {', '.join(sorted(kinds))}"))
        if cat and cat not in categories:
            known = ", ".join(Place.Category.values)
            raise DatasetError(Text(f"{where}：未知地标类别 {cat!r}，可用：{known}", f"{where}: unknown category {cat!r}; known: {known}"))
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            swapped = math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 90 < abs(lat) <= 180
            hint = ("；经纬度颠倒了？", "; lon/lat swapped?") if swapped else ("", "")
            raise DatasetError(Text(f"{where}：坐标超出范围 ({lon}, {lat}){hint[0]}",
                                    f"{where}: coordinates out of range ({lon}, {lat}){hint[1]}"))
        key = (nm, categories.get(cat, ""))
        if key in seen:
            raise DatasetError(Text(f"{where}：与第 {seen[key]} 行重复 {nm!r}", f"{where}: {nm!r} repeats row {seen[key]}"))
        seen[key] = i
        aliases = [a for a in _aliases(rec.get(fields.aliases)) if a != nm] if fields.aliases else []
        rows.append(PlaceRow(nm, kind, categories.get(cat, ""), aliases, lon, lat, i))
    lons, lats = to_wgs84([r.lon for r in rows], [r.lat for r in rows], crs)
    for r, x, y in zip(rows, lons.tolist(), lats.tolist(), strict=True):
        r.lon, r.lat = x, y
    return rows


def check_inside(rows: list[PlaceRow], shown: str) -> None:
    """Refuse points outside every grid of the active edition: a wrong CRS or swapped lon/lat."""
    try:
        _, answers = locate.locate_points([r.lon for r in rows], [r.lat for r in rows], "wgs84", details=False)
    except LookupError:
        return  # no grids yet: nothing to check against
    outside = [r for r, a in zip(rows, answers, strict=True) if a.status == "outside"]
    if outside:
        some = "; ".join(f"{r.row} {r.name} ({r.lon:.6f}, {r.lat:.6f})" for r in outside[:5])
        raise DatasetError(Text(f"{shown}：{len(outside)} 个点不在本县网格内（坐标系不对或经纬度颠倒？）：{some}",
                                f"{shown}: {len(outside)} points lie outside the county's grids (wrong --crs, or lon/lat "
                                f"swapped?): {some}"))


@transaction.atomic
def import_places(rows: list[PlaceRow], source: str, *, user=None) -> ImportResult:
    """Replace the places of `source` with `rows`, in one transaction, audited."""
    replaced, _ = Place.objects.filter(source=source).delete()
    objs = [Place(name=r.name, kind=r.kind, category=r.category, aliases="|".join(r.aliases),
                  point=Point(r.lon, r.lat, srid=4326), source=source) for r in rows]
    for p in objs:
        p.search_text = " ".join([p.name, *p.alias_list()])
    Place.objects.bulk_create(objs, batch_size=500)
    record(user, "places.import", object_type="boundaries.place", object_id=source, created=len(objs), replaced=replaced)
    transaction.on_commit(INDEX.clear)
    return ImportResult(source, len(objs), replaced)


def import_places_file(path: str | Path, fields: PlaceFieldMap | None = None, *, crs: str = "wgs84",
                       layer: str | None = None, source: str | None = None, allow_outside: bool = False,
                       user=None) -> ImportResult:
    """read_places_file + check_inside + import_places: the command's and load_heyang's path."""
    path = Path(path)
    rows = read_places_file(path, fields, crs=crs, layer=layer)
    if not allow_outside:
        check_inside(rows, str(path))
    return import_places(rows, source or path.name, user=user)
