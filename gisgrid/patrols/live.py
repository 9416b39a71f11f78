"""Where everyone is now: each person's freshest position, as the live map shows it.

One SQL query, no model instances: the /patrols/ page and the dispatchers' screens ask every
30 s per viewer, and building a Device, a Person and a GEOS point for each of a county's 500
phones, with Django's Python time-zone loader for every timestamp, was the largest single cost
of a supervisor's traffic (py-spy under `./run bench load`'s county day: a fifth of people's
worker CPU).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import connection

from gisgrid import county_time
from gisgrid.boundaries.models import Person

from .ingest import times

_SQL = """
    SELECT * FROM (
        SELECT DISTINCT ON (d.person_id)
               d.person_id, p.name, p.role, d.identifier, extract(epoch FROM d.last_fix_time),
               ST_X(d.last_point), ST_Y(d.last_point), d.last_codes, d.last_speed_mps, d.last_battery
        FROM patrols_device d JOIN boundaries_person p ON p.id = d.person_id
        WHERE d.last_fix_time >= %(since)s AND d.last_fix_time < %(until)s {where}
        -- a person with two phones: the fresher one
        ORDER BY d.person_id, d.last_fix_time DESC
    ) newest ORDER BY name, person_id
"""


def last_positions(since: dt.datetime, now: dt.datetime, *, people: Sequence[Person] | None = None,
                   role: str | None = None, grid_names: dict[str, str] | None = None) -> list[dict]:
    """Each person's last fix since `since`, by name: who, which phone, when (ISO in the county's
    time zone, and age in seconds at `now`), where (WGS-84), in which grids, speed, battery."""
    params: dict = {"since": since, "until": times.READABLE_UNTIL}
    where = ""
    if people is not None:
        where += " AND d.person_id = ANY(%(people)s)"
        params["people"] = [p.pk for p in people]
    if role:
        where += " AND p.role = %(role)s"
        params["role"] = role
    with connection.cursor() as cur:
        cur.execute(_SQL.format(where=where), params)
        rows = cur.fetchall()
    names = grid_names or {}
    zone = county_time.zone()
    stamp = now.timestamp()
    return [{
        "person": {"id": pid, "name": name, "role": prole},
        "device": ident,
        "time": dt.datetime.fromtimestamp(float(t), zone).isoformat(),
        "age_s": round(stamp - float(t)),
        "lon": lon, "lat": lat,
        "grids": [{"code": c, "name": names.get(c, "")} for c in codes or []],
        "speed_mps": speed, "battery": battery,
    } for pid, name, prole, ident, t, lon, lat, codes, speed, battery in rows]
