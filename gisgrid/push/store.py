"""Reading stored events back: for a resume (replay), the polling endpoint and the stream.

Events are kept for `RETENTION` (at least the 5 minutes of a reconnect the contract promises);
a client asking from an id older than what is kept is told to reset (reload its snapshot).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection

from .audience import Audience, Viewer, matches, wanted

RETENTION = timedelta(minutes=15)
COLUMNS = "seq, kind, data::text, everyone_signed_in, roles, user_ids, unit_ids, grid_codes"
# The id a client may resume from: kept rows start after it, or the client must reset.
BOUNDS_SQL = ("SELECT (SELECT min(seq) FROM push_pushevent WHERE seq IS NOT NULL),"
              " (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM push_seq)")
# The lock the commit trigger holds while it gives ids (migration 0001), taken shared.
LOCK_SHARED_SQL = "SELECT pg_advisory_lock_shared(727100, 1)"
UNLOCK_SHARED_SQL = "SELECT pg_advisory_unlock_shared(727100, 1)"
GIVEN_SQL = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM push_seq"
PRUNE_SQL = "DELETE FROM push_pushevent WHERE at < now() - make_interval(secs => %s) AND seq IS NOT NULL"


@dataclass(frozen=True)
class Stored:
    seq: int
    kind: str
    data: str  # the JSON text, sent as it is
    audience: Audience


def row_to_event(row) -> Stored:
    seq, kind, data, everyone, role_list, users, units, grids = row
    return Stored(seq, kind, data, Audience(everyone, frozenset(role_list), frozenset(users), frozenset(units),
                                            frozenset(grids)))


def needs_reset(after: int, oldest: int | None, given: int) -> bool:
    """Whether a client that has seen every event up to `after` lost some to pruning: the
    oldest kept event (`oldest`, None when none is kept) is not the one right after it while
    later ones were given (`given`: the last id ever given), or it names an id this server never
    gave (a rebuilt database)."""
    if after > given:
        return True
    if after == given:
        return False
    return oldest is None or oldest > after + 1


def bounds(cur) -> tuple[int | None, int]:
    """(oldest kept id, last id given), read with no commit half done (see `latest`)."""
    cur.execute(LOCK_SHARED_SQL)
    try:
        cur.execute(BOUNDS_SQL)
        oldest, given = cur.fetchone()
    finally:
        cur.execute(UNLOCK_SHARED_SQL)
    return oldest, int(given)


def latest() -> int:
    """The last event id given (0 before the first): where a fresh client starts. Read under the
    commit lock taken shared, so no commit is half done: every id up to it is committed (or its
    transaction failed), and an empty table after pruning still answers the last id given."""
    with connection.cursor() as cur:
        cur.execute(LOCK_SHARED_SQL)
        try:
            cur.execute(GIVEN_SQL)
            return int(cur.fetchone()[0])
        finally:
            cur.execute(UNLOCK_SHARED_SQL)


def changes(viewer: Viewer, after: int, topics: frozenset[str] | None, limit: int, upto: int | None = None
            ) -> tuple[bool, int, list[Stored]]:
    """(reset, cursor, events): the events after `after` that `viewer` may see (of `topics`),
    at most `limit`; `cursor` is the id to ask from next time (the last id read, whether or not
    it was this viewer's). Seqs become visible in order (models.py), so nothing below the
    cursor can appear later. `upto`: read no further than this id (a stream's replay, whose
    later events come live)."""
    scan = limit * 20
    with connection.cursor() as cur:
        oldest, given = bounds(cur)
        if needs_reset(after, oldest, given):
            return True, latest(), []
        cur.execute(f"SELECT {COLUMNS} FROM push_pushevent WHERE seq > %s AND seq <= %s ORDER BY seq LIMIT %s",
                    [after, given if upto is None else upto, scan])
        rows = cur.fetchall()
    out: list[Stored] = []
    cursor = after
    for row in rows:
        ev = row_to_event(row)
        if wanted(ev.kind, topics) and matches(ev.audience, viewer):
            if len(out) >= limit:
                break
            out.append(ev)
        cursor = ev.seq
    return False, cursor, out


def prune() -> int:
    """Delete what is older than RETENTION; the count."""
    with connection.cursor() as cur:
        cur.execute(PRUNE_SQL, [RETENTION.total_seconds()])
        return cur.rowcount
