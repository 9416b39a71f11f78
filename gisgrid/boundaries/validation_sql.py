"""The gap / overlap / outside-parent checks written as plain PostGIS SQL.

A second, independent method to cross-check :mod:`gisgrid.boundaries.validation` in tests, and
the baseline of ``bench validate``. PostGIS 3.3 on Debian 12 has no ST_Coverage* functions, so
this is the classic ST_Union / ST_Difference / ST_Intersection / ST_Dump formulation.

Works with a psycopg 3 cursor or a Django ``connection.cursor()`` (``%s`` placeholders only).
The grid table needs (code text, level int, parent_code text, geom geometry(MultiPolygon,4326));
the county table needs a ``geom`` column (rows are unioned).

Findings have the same shape as the pure method's; slivers are not told apart here, so a pure
``sliver`` finding corresponds to a ``gap`` or ``overlap`` one (see ``details["of"]``). Invalid
rows are reported (``sql_invalid``, ST_IsValidDetail's reason and location) before the other
checks use their repaired shape, as in the pure method.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import shapely

from .validation import ERROR, Finding, GridFeature, ValidationConfig

__all__ = [
    "create_grid_table",
    "sql_gaps",
    "sql_invalid",
    "sql_outside_parent",
    "sql_overlaps",
    "sql_validate",
]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def _ident(name: str) -> str:
    # Table names can't be bound as parameters; accept only plain (schema.)identifiers.
    if not _IDENT.match(name):
        raise ValueError(f"not a plain table name: {name!r}")
    return ".".join(f'"{p}"' for p in name.split("."))


def _grids(table: str) -> str:
    # Invalid rows would make GEOS raise a TopologyException for the whole query; repair them
    # the way the pure method does so both methods see the same shapes.
    return f"""
        SELECT code, level, parent_code,
               CASE WHEN ST_IsValid(geom) THEN geom
                    ELSE ST_CollectionExtract(ST_MakeValid(geom, 'method=structure'), 3) END AS geom
        FROM {_ident(table)}
        WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom)
    """


def _county(county_table: str) -> str:
    return f"(SELECT ST_MakeValid(ST_Union(geom)) AS geom FROM {_ident(county_table)})"


def _geom(value: Any) -> shapely.Geometry:
    return shapely.from_wkb(bytes(value))


def sql_invalid(cursor: Any, table: str) -> list[Finding]:
    """Invalid rows, each with GEOS's reason and the point it names (ST_IsValidDetail)."""
    cursor.execute(
        f"""
        SELECT code, level, d.reason, ST_X(d.location), ST_Y(d.location)
        FROM {_ident(table)} t, LATERAL ST_IsValidDetail(t.geom) d
        WHERE t.geom IS NOT NULL AND NOT d.valid
        ORDER BY level, code
        """
    )
    out = []
    for code, level, reason, x, y in cursor.fetchall():
        location = [float(x), float(y)] if x is not None and math.isfinite(x) and math.isfinite(y) else None
        where = f" at {x:.6f}, {y:.6f}" if location else ""
        out.append(Finding("invalid", ERROR, level, [code], 0.0, shapely.Point(*location) if location else None,
                           f"几何无效 invalid geometry: {reason}{where}", {"reason": reason, "location": location}))
    return out


def sql_overlaps(cursor: Any, table: str, *, min_area_m2: float = 0.5) -> list[Finding]:
    """Pairwise intersections of siblings (same level and parent; all level 1 together)."""
    cursor.execute(
        f"""
        WITH g AS ({_grids(table)}),
        pairs AS (
            SELECT a.code AS a, b.code AS b, a.level,
                   (ST_Dump(ST_Intersection(a.geom, b.geom))).geom AS piece
            FROM g a JOIN g b
              ON a.level = b.level AND a.code < b.code
             AND (a.level = 1 OR a.parent_code = b.parent_code)
             AND ST_Intersects(a.geom, b.geom)
        ), measured AS (
            SELECT a, b, level, piece, ST_Area(ST_Transform(piece, 4546)) AS area
            FROM pairs WHERE ST_Dimension(piece) = 2
        )
        SELECT a, b, level, area, ST_AsBinary(piece) FROM measured
        WHERE area > %s ORDER BY level, a, b
        """,
        [min_area_m2],
    )
    return [
        Finding("overlap", ERROR, level, [a, b], float(area), _geom(wkb),
                f"与相邻网格重叠 overlap {area:.1f} m² between {a} and {b}")
        for a, b, level, area, wkb in cursor.fetchall()
    ]


def sql_gaps(
    cursor: Any, table: str, county_table: str | None, *, min_area_m2: float = 0.5, tolerance_m: float = 0.05
) -> list[Finding]:
    """county − ∪ level 1 and each level-1 parent − ∪ its level-2 children, one row per piece."""
    county = _county(county_table) if county_table else "(SELECT NULL::geometry AS geom)"
    cursor.execute(
        f"""
        WITH g AS ({_grids(table)}),
        holes AS (
            SELECT 1 AS level, NULL::text AS parent,
                   ST_Difference(c.geom, (SELECT ST_Union(geom) FROM g WHERE level = 1)) AS hole
            FROM {county} c WHERE c.geom IS NOT NULL
            UNION ALL
            SELECT 2, p.code,
                   CASE WHEN u.geom IS NULL THEN p.geom ELSE ST_Difference(p.geom, u.geom) END
            FROM g p
            LEFT JOIN (SELECT parent_code, ST_Union(geom) AS geom FROM g WHERE level = 2
                       GROUP BY parent_code) u ON u.parent_code = p.code
            WHERE p.level = 1 AND EXISTS (SELECT 1 FROM g WHERE level = 2)
        ), pieces AS (
            SELECT level, parent, (ST_Dump(hole)).geom AS piece FROM holes
        ), measured AS (
            SELECT row_number() OVER () AS id, level, parent, piece,
                   ST_Transform(piece, 4546) AS piece_m
            FROM pieces WHERE ST_Dimension(piece) = 2
        )
        SELECT m.level, m.parent, ST_Area(m.piece_m) AS area, ST_AsBinary(m.piece),
               array_remove(array_agg(s.code ORDER BY s.code), NULL)
        FROM measured m
        LEFT JOIN g s
          ON s.level = m.level AND (m.level = 1 OR s.parent_code = m.parent)
         AND ST_DWithin(ST_Transform(s.geom, 4546), m.piece_m, %s)
         -- a corner touch doesn't make a grid a neighbour of the gap (same rule as the pure method)
         AND ST_Length(ST_Intersection(ST_Transform(ST_Boundary(s.geom), 4546),
                                       ST_Buffer(ST_Boundary(m.piece_m), %s)))
             >= LEAST(1.0, 0.1 * ST_Perimeter(m.piece_m))
        WHERE ST_Area(m.piece_m) > %s
        GROUP BY m.id, m.level, m.parent, m.piece, m.piece_m
        ORDER BY m.level, m.parent, area DESC
        """,
        [tolerance_m, tolerance_m, min_area_m2],
    )
    out = []
    for level, parent, area, wkb, touching in cursor.fetchall():
        codes = list(touching or []) + ([parent] if parent else [])
        where = f"上级 parent {parent}" if parent else "县界 county outline"
        out.append(Finding("gap", ERROR, level, codes, float(area), _geom(wkb),
                           f"覆盖缺口 gap {area:.1f} m² in {where}"))
    return out


def sql_outside_parent(
    cursor: Any, table: str, county_table: str | None, *, min_area_m2: float = 0.5
) -> list[Finding]:
    """child − parent (and level 1 − county), one row per piece."""
    county_part = ""
    if county_table:
        county_part = f"""
            UNION ALL
            SELECT k.code, NULL::text, 1, ST_Difference(k.geom, c.geom)
            FROM g k, {_county(county_table)} c
            WHERE k.level = 1 AND NOT ST_CoveredBy(k.geom, c.geom)
        """
    cursor.execute(
        f"""
        WITH g AS ({_grids(table)}),
        outside AS (
            SELECT k.code, p.code AS parent, k.level, ST_Difference(k.geom, p.geom) AS rest
            FROM g k JOIN g p ON p.code = k.parent_code AND p.level = k.level - 1
            WHERE NOT ST_CoveredBy(k.geom, p.geom)
            {county_part}
        ), pieces AS (
            SELECT code, parent, level, (ST_Dump(rest)).geom AS piece FROM outside
        ), measured AS (
            SELECT code, parent, level, piece, ST_Area(ST_Transform(piece, 4546)) AS area
            FROM pieces WHERE ST_Dimension(piece) = 2
        )
        SELECT code, parent, level, area, ST_AsBinary(piece) FROM measured
        WHERE area > %s ORDER BY level, code
        """,
        [min_area_m2],
    )
    return [
        Finding("outside_parent", ERROR, level, [code, parent] if parent else [code], float(area),
                _geom(wkb), f"超出上级 outside its parent: {code} sticks out by {area:.1f} m²")
        for code, parent, level, area, wkb in cursor.fetchall()
    ]


def sql_validate(
    cursor: Any, table: str, county_table: str | None, config: ValidationConfig | None = None
) -> list[Finding]:
    """All four SQL checks with the pure method's thresholds."""
    cfg = config or ValidationConfig()
    return (
        sql_invalid(cursor, table)
        + sql_gaps(cursor, table, county_table, min_area_m2=cfg.min_area_m2, tolerance_m=cfg.edge_tolerance_m)
        + sql_overlaps(cursor, table, min_area_m2=cfg.min_area_m2)
        + sql_outside_parent(cursor, table, county_table, min_area_m2=cfg.min_area_m2)
    )


def create_grid_table(
    cursor: Any,
    table: str,
    features: Sequence[GridFeature],
    county_table: str | None = None,
    county: shapely.Geometry | None = None,
) -> None:
    """(Re)create scratch tables for the SQL checks from in-memory features (tests, bench)."""
    t = _ident(table)
    cursor.execute(f"DROP TABLE IF EXISTS {t}")
    cursor.execute(
        f"CREATE TABLE {t} (code text, level int, parent_code text, geom geometry(MultiPolygon, 4326))"
    )
    rows: Iterable = (
        (f.code, f.level, f.parent_code, shapely.to_wkb(_multi(f.geom), include_srid=False))
        for f in features
    )
    cursor.executemany(
        f"INSERT INTO {t} VALUES (%s, %s, %s, ST_SetSRID(ST_GeomFromWKB(%s), 4326))", list(rows)
    )
    cursor.execute(f"CREATE INDEX ON {t} USING gist (geom)")
    cursor.execute(f"CREATE INDEX ON {t} (parent_code)")
    cursor.execute(f"ANALYZE {t}")
    if county_table:
        c = _ident(county_table)
        cursor.execute(f"DROP TABLE IF EXISTS {c}")
        cursor.execute(f"CREATE TABLE {c} (geom geometry(MultiPolygon, 4326))")
        if county is not None:
            cursor.execute(
                f"INSERT INTO {c} VALUES (ST_SetSRID(ST_GeomFromWKB(%s), 4326))",
                [shapely.to_wkb(_multi(county), include_srid=False)],
            )


def _multi(geom: shapely.Geometry) -> shapely.Geometry | None:
    if geom is None:
        return None
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    return geom
