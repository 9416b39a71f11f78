"""`position` push events (docs/push.md): one per person per stored batch, with the newest fix.

Called by ingest (pipeline._touch_devices) inside the batch's transaction, after the devices'
last positions moved: ONE extra INSERT per batch, whatever its size, and only for the devices
whose last position this batch moved (a late upload of old fixes moves no marker) and that
belong to a person (the live map shows people: gisgrid/patrols/live.py). `person` is the
person's username (their person id when they have no account), `person_id` the id /patrols/live
answers with. Who
receives it: the patrol supervisors (roles.PATROL_SUPERVISOR_ROLES) and the person themself,
as /api/v1/patrols/live answers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from django.db import connection

from gisgrid import county_time
from gisgrid.accounts import roles
from gisgrid.push.publish import pg_array

_INSERT = """
INSERT INTO push_pushevent (at, kind, data, everyone_signed_in, roles, user_ids, unit_ids, grid_codes)
SELECT DISTINCT ON (p.id) now(), 'position',
       jsonb_build_object('person', coalesce(pu.username, p.id::text), 'person_id', p.id, 'name', p.name,
                          'role', p.role, 'lon', v.lon, 'lat', v.lat, 'at', v.at, 'accuracy_m', v.acc,
                          'speed_mps', v.speed),
       false, %s::text[], array_remove(ARRAY[p.user_id], NULL)::int[], '{}', '{}'
  FROM json_to_recordset(%s::json) AS v(id bigint, t timestamptz, at text, lon float8, lat float8, acc float8,
                                        speed float8)
  JOIN patrols_device d ON d.id = v.id AND d.last_fix_time = v.t
  JOIN boundaries_person p ON p.id = d.person_id
  LEFT JOIN auth_user pu ON pu.id = p.user_id
 ORDER BY p.id, v.t DESC
"""
_SUPERVISORS = pg_array(roles.PATROL_SUPERVISOR_ROLES)


def _num(v: float | None) -> float | None:
    return None if v is None or v != v else round(float(v), 7)


def publish_newest(device_ids: Sequence[int], times_us: Sequence[int], lons: Sequence[float],
                   lats: Sequence[float], accuracies: Sequence[float | None], speeds: Sequence[float | None]) -> None:
    """Per device, its newest fix of this batch; an event where that is now its last position."""
    tz = county_time.zone()
    values = []
    for i, t, x, y, a, s in zip(device_ids, times_us, lons, lats, accuracies, speeds, strict=True):
        when = dt.datetime.fromtimestamp(t / 1e6, tz)
        values.append({"id": int(i), "t": when.isoformat(), "at": when.isoformat(), "lon": _num(x), "lat": _num(y),
                       "acc": _num(a), "speed": _num(s)})
    if values:
        with connection.cursor() as cur:
            cur.execute(_INSERT, [_SUPERVISORS, json.dumps(values)])
