"""Reading tracks: one person's fixes over a period, every device merged, in lon/lat and metres.

Coverage, schedules and sessions all start from the same thing: per person, the fixes in time
order. The positions are read with one raw query (the ORM would build 50 k model objects to
throw them away) and kept as numpy arrays so the geometry work downstream stays vectorised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from django.db import connection

# WGS-84 lon/lat arrays -> metric x/y arrays: the one metric projection (boundaries.geometry).
from gisgrid.boundaries.geometry import to_metric_xy as to_metric


@dataclass
class Track:
    """One person's fixes in a period, sorted by time, without same-time repeats."""

    person_id: int
    person_name: str
    role: str
    t: np.ndarray  # float epoch seconds, ascending
    lon: np.ndarray  # WGS-84
    lat: np.ndarray
    x: np.ndarray  # metres in GISGRID_METRIC_SRID
    y: np.ndarray
    device_ids: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.t)


def split_at_gaps(t: np.ndarray, gap_s: float) -> list[tuple[int, int]]:
    """Index ranges [i, j) of `t` (sorted) with no step longer than `gap_s` inside one range.

    A step of exactly `gap_s` does not split: the gap must be longer. Empty input: no ranges.
    """
    n = len(t)
    if n == 0:
        return []
    cuts = np.flatnonzero(np.diff(np.asarray(t, dtype=float)) > gap_s) + 1
    bounds = [0, *cuts.tolist(), n]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


# One row of the binary COPY below: field count, then (length, value) for device id, epoch
# seconds, lon, lat; big-endian, as PostgreSQL's binary COPY format defines.
_ROW = np.dtype([("n", ">i2"), ("l0", ">i4"), ("device", ">i8"), ("l1", ">i4"), ("t", ">f8"),
                 ("l2", ">i4"), ("lon", ">f8"), ("l3", ">i4"), ("lat", ">f8")])
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


class TooManyFixes(ValueError):
    """More fixes in the period than the caller allowed (see load_tracks' max_fixes)."""

    def __init__(self, limit: int):
        super().__init__(f"more than {limit} fixes")
        self.limit = limit


def _read_fixes(cur, start: dt.datetime, end: dt.datetime, devices: list[int], limit: int | None) -> np.ndarray:
    """(device, t, lon, lat) rows of `devices` in [start, end), unordered, as a record array.

    Binary COPY straight into numpy: fetching 50 k rows as Python tuples costs more than
    the query itself. Filtering on device ids lets PostgreSQL walk the (device_id, fix_time)
    B-tree instead of scanning a month through the BRIN index.
    """
    sql = ("COPY (SELECT p.device_id::int8, extract(epoch FROM p.fix_time)::float8, "
           "ST_X(p.point)::float8, ST_Y(p.point)::float8 FROM patrols_position p "
           "WHERE p.device_id = ANY(%s) AND p.fix_time >= %s AND p.fix_time < %s"
           f"{' LIMIT %s' if limit is not None else ''}) TO STDOUT (FORMAT BINARY)")
    params: list = [devices, start, end] + ([limit] if limit is not None else [])
    with cur.copy(sql, params) as copy:
        buf = b"".join(bytes(chunk) for chunk in copy)
    if not buf.startswith(_SIGNATURE):
        raise RuntimeError("unexpected COPY BINARY header")
    ext = int.from_bytes(buf[15:19], "big")
    body = buf[19 + ext:-2]  # the trailer is a field count of -1
    rows = np.frombuffer(body, dtype=_ROW)
    if len(rows) and not (rows["n"] == 4).all():
        raise RuntimeError("unexpected COPY BINARY row layout")
    return rows


def load_tracks(
    start: dt.datetime,
    end: dt.datetime,
    *,
    person_ids: Iterable[int] | None = None,
    role: str | None = None,
    max_fixes: int | None = None,
) -> list[Track]:
    """Every person's track in [start, end), optionally only `person_ids` and/or one Person role.

    Fixes of devices not bound to a person are left out: coverage is about people. A person
    carrying two phones gets one track; where both report the same instant, one fix is kept.
    With `max_fixes`, raises TooManyFixes rather than reading more than that many rows (a
    quarter of everybody's fixes would hold a worker for minutes and a lot of memory).
    """
    where = ["d.person_id IS NOT NULL"]
    params: list = []
    if person_ids is not None:
        ids = sorted({int(i) for i in person_ids})
        if not ids:
            return []
        where.append("d.person_id = ANY(%s)")
        params.append(ids)
    if role:
        where.append("pe.role = %s")
        params.append(role)
    with connection.cursor() as cur:
        cur.execute("SELECT d.id, d.person_id, pe.name, pe.role FROM patrols_device d "
                    "JOIN boundaries_person pe ON pe.id = d.person_id "
                    f"WHERE {' AND '.join(where)}", params)
        devices = cur.fetchall()
        if not devices:
            return []
        rows = _read_fixes(cur, start, end, [r[0] for r in devices], None if max_fixes is None else max_fixes + 1)
    if max_fixes is not None and len(rows) > max_fixes:
        raise TooManyFixes(max_fixes)
    if not len(rows):
        return []
    people = {r[1]: (r[2], r[3]) for r in devices}
    device_ids = np.array([r[0] for r in devices], dtype=np.int64)
    owner = np.array([r[1] for r in devices], dtype=np.int64)
    by_id = np.argsort(device_ids)
    dev = rows["device"].astype(np.int64)
    pid = owner[by_id][np.searchsorted(device_ids[by_id], dev)]
    t = rows["t"].astype(float)
    order = np.lexsort((dev, t, pid))  # by person, then time (then device, for a stable pick)
    dev, pid, t = dev[order], pid[order], t[order]
    lon, lat = rows["lon"].astype(float)[order], rows["lat"].astype(float)[order]
    x, y = to_metric(lon, lat)  # one PROJ call for everybody
    # Cut into people, then drop a repeat of the same instant (two devices, or a replay).
    starts = np.flatnonzero(np.r_[True, pid[1:] != pid[:-1]])
    ends = np.r_[starts[1:], len(pid)]
    tracks = []
    for i, j in zip(starts.tolist(), ends.tolist(), strict=True):
        keep = np.r_[True, t[i + 1:j] != t[i:j - 1]]
        person = int(pid[i])
        name, prole = people[person]
        tracks.append(Track(
            person_id=person, person_name=name, role=prole,
            t=t[i:j][keep], lon=lon[i:j][keep], lat=lat[i:j][keep], x=x[i:j][keep], y=y[i:j][keep],
            device_ids=sorted({int(d) for d in np.unique(dev[i:j])}),
        ))
    return tracks


__all__ = ["Track", "TooManyFixes", "load_tracks", "split_at_gaps", "to_metric"]
