"""`publish` and `publish_many`: what the domain code calls, inside its own transaction.

The row is the event: the deferred trigger of migration 0001 gives it its public id (`seq`) and
notifies the push service at COMMIT, so a rolled-back change publishes nothing and a committed
one is delivered in commit order. Callers pass JSON-ready data (times already in the county's
zone, via django.utils.timezone.localtime; orjson writes aware datetimes with their offset).
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from django.db import connection

from .audience import RESET, TOPICS, Audience

_INSERT = ("INSERT INTO push_pushevent (at, kind, data, everyone_signed_in, roles, user_ids, unit_ids, grid_codes)"
           " SELECT now(), e.kind, e.data::jsonb, e.everyone, e.roles::text[], e.users::int[], e.units::int[],"
           " e.grids::text[] FROM unnest(%s::text[], %s::text[], %s::bool[], %s::text[], %s::text[], %s::text[],"
           " %s::text[]) AS e(kind, data, everyone, roles, users, units, grids)")


def pg_array(values) -> str:
    """A PostgreSQL array literal (roles, ids, grid codes), each element quoted."""
    return "{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in sorted(values)) + "}"


def publish(kind: str, data: dict, audience: Audience) -> None:
    """One event to `audience`, delivered when the caller's transaction commits."""
    publish_many([(kind, data, audience)])


def publish_many(events: Sequence[tuple[str, dict, Audience]]) -> None:
    """Many events in one INSERT (a clock pass, a batch of fixes)."""
    if not events:
        return
    cols: list[list] = [[], [], [], [], [], [], []]
    for kind, data, audience in events:
        if kind not in TOPICS and kind != RESET:
            raise ValueError(f"unknown push event kind {kind!r}")
        cols[0].append(kind)
        cols[1].append(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode())
        cols[2].append(audience.everyone_signed_in)
        cols[3].append(pg_array(audience.roles))
        cols[4].append(pg_array(audience.user_ids))
        cols[5].append(pg_array(audience.unit_ids))
        cols[6].append(pg_array(audience.grid_codes))
    with connection.cursor() as cur:
        cur.execute(_INSERT, cols)
