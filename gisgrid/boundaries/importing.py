"""Load grids of any county from GeoJSON, GeoPackage or Shapefile, in any CRS, all or nothing.

One generic importer with a field map (like django.contrib.gis's LayerMapping) instead of one
command per data source. Reading and checking happen before the first write; the writes run
in one transaction, so a bad file leaves the database as it was.

An invalid polygon is refused, naming every invalid feature with GEOS's reason and location,
unless the caller asks for a repair; then each repair is reported (reason, location, parts
before and after, area lost or gained) and audited. No part of a grid is dropped unsaid.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from django.conf import settings
from django.db import transaction
from pyproj import CRS
from pyproj.exceptions import CRSError

from gisgrid.errors import BadRequest, Text, bilingual

from . import geometry, validation
from .datums import gcj02_to_wgs84
from .models import Edition, Grid, Unit

log = logging.getLogger(__name__)

DEFAULT_KIND = {1: Grid.Kind.TOWN, 2: Grid.Kind.VILLAGE, 3: Grid.Kind.URBAN_GRID}
KIND_ALIASES = {
    "街道": "street_office", "街道办": "street_office", "镇": "town", "乡": "town", "开发区": "zone",
    "经开区": "zone", "景区": "scenic_area", "风景名胜区": "scenic_area", "村": "village",
    "行政村": "village", "社区": "community", "城区网格": "urban_grid", "网格": "urban_grid",
    "村民小组": "rural_grid",
}
# A child may stick out of its parent by floating-point noise, not by a real piece of land.
OUTSIDE_PARENT_TOLERANCE_M2 = 1.0


class GridImportError(BadRequest, ValueError):
    """A file that cannot be imported; the message names the feature and the reason.

    To the API a 400 naming the field `file` (or, from `import_rows`, a 409 with its own code
    when the target edition's state refuses the rows); to the command line, `str()` in both
    languages. `findings` holds one ``invalid`` finding per refused geometry, with its
    location, so the API and the planner can show where each defect is.
    """

    def __init__(self, message: str | Text, findings: list[validation.Finding] | None = None, *,
                 status: int | None = None, code: str | None = None, field: str = "file"):
        super().__init__(message, field=field, detail=Text("图层无法导入", "the layer cannot be imported"),
                         status=status, code=code)
        self.findings = list(findings or [])

    def __str__(self) -> str:
        return bilingual(self.reason)

    def body(self) -> dict:
        body = super().body()
        if self.findings:
            body["findings"] = [f.to_dict() for f in self.findings]
        return body


@dataclass
class FieldMap:
    code: str = "code"
    name: str = "name"
    level: str | None = "level"
    kind: str | None = "kind"
    parent_code: str | None = "parent_code"
    unit: str | None = "unit"

    @classmethod
    def parse(cls, text: str | None) -> FieldMap:
        """Parse 'code=GRIDCODE,name=MC' into a FieldMap; unnamed targets keep their defaults."""
        fm = cls()
        if not text:
            return fm
        for item in text.split(","):
            if not item.strip():
                continue
            if "=" not in item:
                raise GridImportError(Text(f"--map：应写作 目标=来源，收到 {item!r}",
                                           f"--map: expected target=source, got {item!r}"), field="map")
            target, source = (s.strip() for s in item.split("=", 1))
            if target not in cls.__dataclass_fields__:
                known = ", ".join(cls.__dataclass_fields__)
                raise GridImportError(Text(f"--map：未知目标 {target!r}，可用：{known}",
                                           f"--map: unknown target {target!r}; known: {known}"), field="map")
            setattr(fm, target, source or None)
        return fm


@dataclass
class GridRow:
    code: str
    name: str
    level: int
    kind: str
    parent_code: str | None
    unit_name: str | None
    # A MultiPolygon; with keep_invalid, whatever the file held (invalid, empty, None, a line).
    geom: shapely.Geometry
    label: str = ""  # "feature #3 (code …, name …)", as messages and findings name the feature
    label_zh: str = ""


@dataclass
class FeatureRepair:
    """One repaired feature: which one, and what the repair changed."""

    label: str
    code: str
    level: int
    repair: validation.Repair

    def message(self) -> str:
        return (f"{self.label}: 已修复无效几何 repaired invalid geometry ({self.repair.why}): "
                f"{self.repair.changes()}")

    def to_dict(self) -> dict:
        return {"code": self.code, "feature": self.label, **self.repair.to_dict()}

    def finding(self) -> validation.Finding:
        """The repair as a finding (kind ``repaired``, a warning) to show where it happened."""
        r = self.repair
        where = shapely.Point(*r.location) if r.location else r.geometry
        return validation.Finding("repaired", validation.WARNING, self.level, [self.code], r.lost_m2 + r.gained_m2,
                                  where, f"已修复无效几何 repaired invalid geometry: {r.why}; {r.changes()}",
                                  self.to_dict())


@dataclass
class ReadResult:
    rows: list[GridRow]
    warnings: list[str] = field(default_factory=list)
    source_crs: str = ""
    repairs: list[FeatureRepair] = field(default_factory=list)


def _progress(iterable: Iterable, total: int, show: bool, desc: str):
    if not show or total < 2000:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="feat")


def _resolve_crs(frame_crs, source_crs: str | None, gcj02: bool) -> CRS:
    if source_crs:
        try:
            return CRS.from_user_input(source_crs)
        except CRSError as exc:
            raise GridImportError(Text(f"未知坐标系 {source_crs!r}：{exc}", f"unknown CRS {source_crs!r}: {exc}")) from None
    if frame_crs is None:
        if gcj02:
            return CRS.from_epsg(4326)
        raise GridImportError(Text("文件未声明坐标系，请用 --source-crs 指定（如 EPSG:4490）",
                                   "the file declares no CRS; give one with --source-crs (e.g. EPSG:4490)"))
    return CRS.from_user_input(frame_crs)


def read_grid_file(
    path: str | Path,
    fields: FieldMap | None = None,
    *,
    source_crs: str | None = None,
    gcj02: bool = False,
    level: int | None = None,
    repair: bool = False,
    keep_invalid: bool = False,
    layer: str | None = None,
    progress: bool = False,
    name: str | None = None,
) -> ReadResult:
    """Read and check a grid file; nothing is written. Raises GridImportError on bad input.

    An invalid polygon is refused (all of them, in one error) unless `repair` (each repair is
    reported in `repairs` and `warnings`) or `keep_invalid`: a validator wants the geometry as
    the file has it, invalid, empty or missing, to report it as a finding. `name` is how
    messages call the file (the uploaded file's name rather than a temporary path).
    """
    fields = fields or FieldMap()
    path = Path(path)
    shown = name or str(path)
    if not path.exists():
        raise GridImportError(Text(f"{shown}：文件不存在", f"{shown}: no such file"))
    if path.stat().st_size == 0:
        raise GridImportError(Text(f"{shown}：文件为空", f"{shown}: the file is empty"))
    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio raises several DataSource/Field errors; all mean "unreadable"
        why = str(exc).replace(str(path), shown)
        raise GridImportError(Text(f"{shown}：无法作为矢量文件读取：{why}",
                                   f"{shown}: cannot read as a vector file: {why}")) from None
    if len(frame) == 0:
        raise GridImportError(Text(f"{shown}：文件中没有要素", f"{shown}: the file has no features"))

    fields = _dbf_names(fields, frame.columns)
    wanted = {"code": fields.code, "name": fields.name}
    if level is None:
        wanted["level"] = fields.level
    missing = [f"{target} (field {src!r})" for target, src in wanted.items() if not src or src not in frame.columns]
    if missing:
        has = ", ".join(c for c in frame.columns if c != "geometry")
        raise GridImportError(Text(f"{shown}：缺少映射的字段 {', '.join(missing)}；文件中的字段：{has}",
                                   f"{shown}: mapped fields missing: {', '.join(missing)}; the file has: {has}"))

    crs = _resolve_crs(frame.crs, source_crs, gcj02)
    warnings: list[str] = []
    geoms = np.asarray(frame.geometry.values, dtype=object)
    if not keep_invalid and any(g is None for g in geoms):
        bad = [str(frame[fields.code].iloc[i]) for i, g in enumerate(geoms) if g is None][:5]
        raise GridImportError(Text(f"{shown}：要素没有几何：{', '.join(bad)}",
                                   f"{shown}: features without geometry: {', '.join(bad)}"))
    if not crs.equals(CRS.from_epsg(4326)) and not (crs.is_geographic and crs.to_epsg() == 4490):
        t = geometry.transformer(crs.to_wkt(), 4326)
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    if gcj02:
        # Web-map sources (AMap, Tencent) are GCJ-02 whatever their file says.
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1])))
        warnings.append("coordinates converted from GCJ-02 to WGS-84")

    rows: list[GridRow] = []
    repairs: list[FeatureRepair] = []
    invalid: list[tuple[Text, str, int, validation.Repair]] = []
    metric_crs = f"EPSG:{geometry.metric_srid()}"
    seen: set[str] = set()
    columns = set(frame.columns)
    records = frame.drop(columns="geometry").to_dict("records")
    for i, (rec, geom) in enumerate(_progress(zip(records, geoms, strict=True), len(records), progress, "读取")):
        code = _text(rec.get(fields.code))
        label = f"feature #{i + 1} (code {code or '?'}, name {_text(rec.get(fields.name)) or '?'})"
        label_zh = f"第 {i + 1} 个要素（编码 {code or '?'}，名称 {_text(rec.get(fields.name)) or '?'}）"
        if not code:
            raise GridImportError(Text(f"{label_zh}：编码为空", f"{label}: empty code"))
        if code in seen:
            raise GridImportError(Text(f"{label_zh}：编码重复 {code}", f"{label}: duplicate code {code}"))
        seen.add(code)
        lvl = level if level is not None else _int(rec.get(fields.level))
        if lvl not in (1, 2, 3):
            got = rec.get(fields.level)
            raise GridImportError(Text(f"{label_zh}：层级应为 1、2 或 3，收到 {got!r}",
                                       f"{label}: level must be 1, 2 or 3, got {got!r}"))
        kind = _kind(rec.get(fields.kind) if fields.kind in columns else None, lvl, Text(label_zh, label))
        parent = _text(rec.get(fields.parent_code)) if fields.parent_code in columns else ""
        unit = _text(rec.get(fields.unit)) if fields.unit in columns else ""
        name = _text(rec.get(fields.name)) or code
        polygonal = geom is not None and not geom.is_empty and isinstance(geom, shapely.Polygon | shapely.MultiPolygon)
        if not polygonal:
            if keep_invalid:
                rows.append(GridRow(code, name, lvl, kind, parent or None, unit or None, geom, label, label_zh))
                continue
            if geom is None or geom.is_empty:
                raise GridImportError(Text(f"{label_zh}：几何为空", f"{label}: empty geometry"))
            raise GridImportError(Text(f"{label_zh}：几何类型为 {geom.geom_type}，需要面",
                                       f"{label}: geometry is {geom.geom_type}, a polygon is needed"))
        geom = shapely.force_2d(geom)
        if not keep_invalid and not shapely.is_valid(geom):
            fixed = validation.repair(geom, metric_crs)
            if not repair:
                invalid.append((Text(label_zh, label), code, lvl, fixed))
                continue
            if fixed.geometry.is_empty:
                raise GridImportError(Text(f"{label_zh}：几何无效（{fixed.why}），修复后没有剩余面积",
                                           f"{label}: invalid geometry ({fixed.why}) with no area left once repaired"))
            repairs.append(FeatureRepair(label, code, lvl, fixed))
            warnings.append(repairs[-1].message())
            geom = fixed.geometry
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise GridImportError(Text(f"{label_zh}：投影转换后坐标超出范围，--source-crs 是否有误？",
                                       f"{label}: coordinates out of range after reprojection; wrong --source-crs?"))
        rows.append(GridRow(code, name, lvl, kind, parent or None, unit or None, geometry.as_multipolygon(geom), label,
                            label_zh))
    if invalid:
        raise _invalid_error(shown, invalid)
    return ReadResult(rows, warnings, crs.to_string(), repairs)


def _invalid_error(shown_as: str, invalid: list[tuple[Text, str, int, validation.Repair]]) -> GridImportError:
    """One error naming every invalid feature, its reason and where, and what a repair would do."""
    shown = 10
    lines = [f"{label.en}: invalid geometry ({r.why}); a repair would give {r.changes()}"
             for label, _, _, r in invalid[:shown]]
    lines_zh = [f"{label.zh}：几何无效（{r.why}），修复将得到 {r.changes()}" for label, _, _, r in invalid[:shown]]
    if len(invalid) > shown:
        lines.append(f"… and {len(invalid) - shown} more")
        lines_zh.append(f"……另有 {len(invalid) - shown} 个")
    findings = [
        validation.Finding("invalid", validation.ERROR, lvl, [code], 0.0,
                           shapely.Point(*r.location) if r.location else None,
                           f"几何无效 invalid geometry: {r.why}", {"reason": r.reason, "feature": label.en,
                                                               "location": list(r.location) if r.location else None})
        for label, code, lvl, r in invalid
    ]
    n = len(invalid)
    return GridImportError(
        Text(f"{shown_as}：{n} 个要素几何无效，未导入（请修正，或导入时用 --repair / repair=1 修复，每处修复都会列出）："
             + "；".join(lines_zh),
             f"{shown_as}: {n} feature(s) with invalid geometry, nothing imported; fix them, or repair on import "
             f"with --repair / repair=1 and every repair is reported: " + "; ".join(lines)),
        findings,
    )


def check_county(geom: shapely.Geometry, *, repair: bool = False) -> tuple[shapely.Geometry, validation.Repair | None]:
    """A county outline must be a valid polygon: refused when invalid, or repaired and reported."""
    if geom is None or geom.is_empty or not isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        what = getattr(geom, "geom_type", "no geometry")
        raise GridImportError(Text(f"县界：{what}，需要面", f"county outline: {what}, a polygon is needed"))
    if shapely.is_valid(geom):
        return geom, None
    fixed = validation.repair(shapely.force_2d(geom), f"EPSG:{geometry.metric_srid()}")
    if not repair:
        raise GridImportError(Text(f"县界几何无效（{fixed.why}），请修正或用 --repair 导入（修复将得到 {fixed.changes()}）",
                                   f"county outline: invalid geometry ({fixed.why}); fix it or import with --repair "
                                   f"(a repair would give {fixed.changes()})"))
    if fixed.geometry.is_empty:
        raise GridImportError(Text(f"县界几何无效（{fixed.why}），修复后没有剩余面积",
                                   f"county outline: invalid geometry ({fixed.why}) with no area left once repaired"))
    return fixed.geometry, fixed


def _dbf_names(fields: FieldMap, columns) -> FieldMap:
    """Shapefile (DBF) field names hold 10 characters: 'parent_code' is written as 'parent_cod'."""
    changes = {}
    for f in dataclass_fields(fields):
        src = getattr(fields, f.name)
        if src and src not in columns and len(src) > 10 and src[:10] in columns:
            changes[f.name] = src[:10]
    return replace(fields, **changes) if changes else fields


def _text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _int(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _kind(value, level: int, label: Text) -> str:
    text = _text(value)
    if not text:
        return DEFAULT_KIND[level]
    text = KIND_ALIASES.get(text, text)
    if text not in Grid.Kind.values:
        kinds = ", ".join(Grid.Kind.values)
        raise GridImportError(Text(f"{label.zh}：未知类型 {value!r}，应为 {kinds} 之一",
                                   f"{label.en}: unknown kind {value!r}; expected one of {kinds}"))
    return text


def link_parents(rows: Sequence[GridRow], existing: dict[str, tuple[int, shapely.Geometry]]) -> None:
    """Give every row of level > 1 a parent code, from the file, the code prefix or location.

    `existing` maps codes of grids already in the target edition to (level, geometry).
    """
    by_code = {r.code: (r.level, r.geom) for r in rows}
    known = {**existing, **by_code}
    for r in rows:
        if r.level == 1:
            r.parent_code = None
            continue
        if r.parent_code:
            if r.parent_code not in known:
                raise GridImportError(Text(f"{_zh(r)}：找不到上级 {r.parent_code}",
                                           f"{r.label}: parent {r.parent_code} not found"))
        else:
            # GB/T 30428.1 codes nest: a child's code starts with its parent's.
            prefix = [c for c, (lvl, _) in known.items() if lvl == r.level - 1 and r.code.startswith(c)]
            if len(prefix) == 1:
                r.parent_code = prefix[0]
            else:
                p = shapely.point_on_surface(r.geom)
                hits = [c for c, (lvl, g) in known.items() if lvl == r.level - 1 and g.covers(p)]
                if len(hits) != 1:
                    raise GridImportError(Text(
                        f"{_zh(r)}：无法确定上级（没有 parent_code，候选 {len(hits)} 个）",
                        f"{r.label}: cannot tell its parent (no parent_code; {len(hits)} candidates)"))
                r.parent_code = hits[0]
        plevel = known[r.parent_code][0]
        if plevel != r.level - 1:
            raise GridImportError(Text(f"{_zh(r)}：上级 {r.parent_code} 为 {plevel} 级，应为 {r.level - 1} 级",
                                       f"{r.label}: parent {r.parent_code} is level {plevel}, expected {r.level - 1}"))


def _zh(row: GridRow) -> str:
    """The row's label in Chinese (rows made elsewhere may carry only the English one)."""
    return row.label_zh or row.label or row.code


def check_inside_parents(rows: Sequence[GridRow], existing: dict[str, tuple[int, shapely.Geometry]]) -> None:
    known = {**existing, **{r.code: (r.level, r.geom) for r in rows}}
    children = [r for r in rows if r.parent_code]
    if not children:
        return
    # Overlay in lon/lat, where the inputs were checked valid (reprojection can fold a
    # near-degenerate ring), and measure the remainder in metres.
    child = np.array([r.geom for r in children], dtype=object)
    parent = np.array([known[r.parent_code][1] for r in children], dtype=object)
    outside = shapely.area(geometry.to_metric(shapely.difference(child, parent)))
    for r, a in zip(children, outside, strict=True):
        if a > OUTSIDE_PARENT_TOLERANCE_M2:
            raise GridImportError(Text(f"{_zh(r)}：有 {a:,.1f} m² 超出上级 {r.parent_code}",
                                       f"{r.label}: {a:,.1f} m² lies outside its parent {r.parent_code}"))


@dataclass
class ImportResult:
    edition: Edition
    created: int
    warnings: list[str]


def read_county(path: Path) -> tuple[shapely.Geometry, str, str]:
    """A county outline file: a GeoJSON Feature(Collection) or bare geometry -> (geometry, code, name)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    feature = data["features"][0] if data.get("type") == "FeatureCollection" else data
    props = feature.get("properties") or {}
    return shapely.geometry.shape(feature["geometry"]), str(props.get("code", "")), str(props.get("name", ""))


def infer_county_code(rows: Sequence[GridRow]) -> str:
    """The 6-digit county code GB/T 30428.1 level-1 codes start with, else the configured one."""
    prefixes = {r.code[:6] for r in rows if r.level == 1 and len(r.code) == 9 and r.code.isdigit()}
    return prefixes.pop() if len(prefixes) == 1 else settings.GISGRID_COUNTY_CODE


def _unit_for(name: str | None, cache: dict[str, Unit]) -> Unit | None:
    if not name:
        return None
    if name not in cache:
        unit = Unit.objects.filter(name=name).first()
        if unit is None:
            n = Unit.objects.count() + 1
            unit = Unit.objects.create(code=f"U-AUTO-{n:05d}", name=name, kind=Unit.Kind.OTHER)
        cache[name] = unit
    return cache[name]


def import_rows(
    read: ReadResult,
    *,
    edition: Edition | None = None,
    edition_name: str = "",
    county_geom: shapely.Geometry | None = None,
    county_code: str = "",
    county_name: str = "",
    user=None,
) -> ImportResult:
    """Write checked rows into a draft edition (a new one unless `edition` is given), atomically."""
    from gisgrid.audit.log import record

    with transaction.atomic():
        if edition is not None:
            edition = Edition.objects.select_for_update().get(pk=edition.pk)
            if edition.status != Edition.Status.DRAFT:
                raise GridImportError(Text(
                    f"版本 {edition.pk} 状态为 {edition.status}，只能导入到草稿",
                    f"edition {edition.pk} is {edition.status}; only a draft can take an import"),
                    status=409, code="not_draft")
            existing = {
                g.code: (g.level, geometry.from_geos(g.geom)) for g in edition.grids.all().only("code", "level", "geom")
            }
            clash = sorted(set(existing) & {r.code for r in read.rows})
            if clash:
                codes = ", ".join(clash[:5])
                raise GridImportError(Text(f"版本 {edition.pk} 中已有这些编码：{codes}",
                                           f"codes already in edition {edition.pk}: {codes}"),
                                      status=409, code="codes_in_use")
        else:
            existing = {}
        link_parents(read.rows, existing)
        check_inside_parents(read.rows, existing)
        if county_geom is not None:
            # Callers that repair (import_grids --repair) pass the repaired outline; an invalid
            # one reaching here is refused rather than stored as it is.
            county_geom = check_county(county_geom)[0]
        if edition is None:
            level1 = [r.geom for r in read.rows if r.level == 1]
            if county_geom is None and level1:
                county_geom = shapely.union_all(level1)
            edition = Edition.objects.create(
                name=edition_name or "导入版本",
                created_by=user if getattr(user, "is_authenticated", False) else None,
                county_geom=geometry.to_geos(geometry.as_multipolygon(county_geom)) if county_geom is not None else None,
                county_code=county_code or infer_county_code(read.rows),
                county_name=county_name or settings.GISGRID_COUNTY_NAME,
            )
        ids = dict(edition.grids.values_list("code", "id"))
        units: dict[str, Unit] = {}
        rows = sorted(read.rows, key=lambda r: (r.level, r.code))
        areas = shapely.area(geometry.to_metric(np.array([r.geom for r in rows], dtype=object)))
        for lvl in (1, 2, 3):
            batch = [
                Grid(
                    edition=edition, code=r.code, name=r.name, level=r.level, kind=r.kind,
                    parent_id=ids[r.parent_code] if r.parent_code else None,
                    geom=geometry.to_geos(r.geom), area_m2=float(a), unit=_unit_for(r.unit_name, units),
                )
                for r, a in zip(rows, areas, strict=True)
                if r.level == lvl
            ]
            for g in Grid.objects.bulk_create(batch, batch_size=500):
                ids[g.code] = g.pk
        mark_urban(edition)
        edition.version += 1
        edition.save(update_fields=["version"])
        record(user, "edition.import", edition, rows=len(rows), warnings=read.warnings[:50], crs=read.source_crs,
               repairs=[r.to_dict() for r in read.repairs])
    return ImportResult(edition, len(rows), read.warnings)


def mark_urban(edition: Edition) -> None:
    """A level-2 grid is urban exactly when level-3 grids are drawn over it."""
    grids = Grid.objects.filter(edition=edition, level=2)
    with_children = Grid.objects.filter(edition=edition, level=3).values("parent_id")
    grids.filter(pk__in=with_children).update(urban=True)
    grids.exclude(pk__in=with_children).update(urban=False)
