"""Load the people and places of a county: units, grid staff and the address gazetteer."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import shapely
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import transaction

from gisgrid.errors import BadRequest, Text, bilingual

from .models import Grid, GridAssignment, Person, Place, Unit


class DatasetError(BadRequest, ValueError):
    """A dataset file that cannot be loaded; names the file, the row and the reason (a 400
    `invalid_dataset` should an API ever load one; `str()` for the command line)."""

    code = "invalid_dataset"

    def __init__(self, message: str | Text):
        super().__init__(message, field="file")

    def __str__(self) -> str:
        return bilingual(self.reason)


def read_csv(path: Path, required: list[str]) -> list[dict]:
    if not path.exists():
        raise DatasetError(Text(f"{path}：文件不存在", f"{path}: no such file"))
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            columns = ", ".join(missing)
            raise DatasetError(Text(f"{path}：缺少列 {columns}", f"{path}: missing columns {columns}"))
        rows = list(reader)
    if not rows:
        raise DatasetError(Text(f"{path}：没有数据行", f"{path}: no rows"))
    return rows


@transaction.atomic
def load_units(path: Path) -> int:
    rows = read_csv(path, ["code", "name", "kind"])
    kinds = set(Unit.Kind.values)
    for i, r in enumerate(rows, start=2):
        if r["kind"] not in kinds:
            raise DatasetError(Text(f"{path}:{i}：未知单位类型 {r['kind']!r}", f"{path}:{i}: unknown unit kind {r['kind']!r}"))
        Unit.objects.update_or_create(
            code=r["code"], defaults={"name": r["name"], "kind": r["kind"], "phone": r.get("phone", "")}
        )
    by_code = {u.code: u for u in Unit.objects.all()}
    for r in rows:
        parent = by_code.get(r.get("parent_code") or "")
        if parent is not None:
            Unit.objects.filter(code=r["code"]).update(parent=parent)
    return len(rows)


@transaction.atomic
def load_staff(path: Path) -> int:
    """Grid chiefs, members and inspectors; assignments are keyed by grid code."""
    rows = read_csv(path, ["grid_code", "role", "name", "phone", "unit"])
    units = {u.name: u for u in Unit.objects.all()}
    for i, r in enumerate(rows, start=2):
        role = r["role"]
        if role not in Person.Role.values:
            raise DatasetError(Text(f"{path}:{i}：未知角色 {role!r}", f"{path}:{i}: unknown role {role!r}"))
        unit = units.get(r["unit"]) if r["unit"] else None
        if r["unit"] and unit is None:
            raise DatasetError(Text(f"{path}:{i}：未知单位 {r['unit']!r}", f"{path}:{i}: unknown unit {r['unit']!r}"))
        person, _ = Person.objects.update_or_create(
            name=r["name"], phone=r["phone"], defaults={"role": role, "unit": unit}
        )
        if r["grid_code"] and role in GridAssignment.Role.values:
            GridAssignment.objects.get_or_create(grid_code=r["grid_code"], person=person, role=role)
    return len(rows)


def _features(path: Path) -> list[dict]:
    if not path.exists():
        raise DatasetError(Text(f"{path}：文件不存在", f"{path}: no such file"))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(Text(f"{path}：不是 JSON：{exc}", f"{path}: not JSON: {exc}")) from None
    return data.get("features", [])


@transaction.atomic
def load_places(paths: list[Path], edition) -> int:
    """Rebuild the gazetteer: compounds and streets from files, villages/communities/towns from grids."""
    Place.objects.all().delete()
    places: list[Place] = []
    for path in paths:
        for f in _features(path):
            props = f.get("properties") or {}
            geom = shapely.geometry.shape(f["geometry"])
            point = shapely.point_on_surface(geom) if geom.geom_type != "LineString" else geom.interpolate(0.5, normalized=True)
            aliases = props.get("aliases") or []
            places.append(Place(
                name=props["name"], kind=props.get("kind", "landmark"), aliases="|".join(aliases),
                point=Point(point.x, point.y, srid=4326), geom=GEOSGeometry(geom.wkt, srid=4326),
            ))
    kind_for = {1: Place.Kind.TOWN, 3: None}
    for g in Grid.objects.filter(edition=edition, level__in=[1, 2]).only("name", "level", "kind", "geom"):
        kind = kind_for.get(g.level) or (Place.Kind.COMMUNITY if g.kind == Grid.Kind.COMMUNITY else Place.Kind.VILLAGE)
        short = g.name.removesuffix("社区").removesuffix("村").removesuffix("镇").removesuffix("街道")
        pos = g.geom.point_on_surface
        places.append(Place(name=g.name, kind=kind, aliases=short if short != g.name else "", point=pos))
    for p in places:
        p.search_text = " ".join([p.name, *p.alias_list()])
    Place.objects.bulk_create(places, batch_size=500)
    return len(places)
