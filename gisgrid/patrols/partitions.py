"""Monthly partitions of the position table: created on demand, dropped when they age out.

Months follow the county's calendar (gisgrid.county_time). Creating a partition takes a strong lock
on the parent, so it happens in its own short transaction before an ingest batch (never inside
one) and only for months not yet known to this process.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable

from django.db import connection, transaction

from gisgrid import county_time
from gisgrid.county_time import month_start

PARENT = "patrols_position"
_known: set[str] = set()
_lock = threading.Lock()


def _next_month(d: dt.date) -> dt.date:
    return dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def partition_name(month: dt.date) -> str:
    return f"{PARENT}_p{month:%Y%m}"


def existing() -> list[str]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s ORDER BY 1", [PARENT])
        return [r[0] for r in cur.fetchall()]


def ensure(months: Iterable[dt.date]) -> list[str]:
    """Create the partitions for `months` that do not exist yet; returns the names created."""
    todo = sorted({m.replace(day=1) for m in months} - {None})
    todo = [m for m in todo if partition_name(m) not in _known]
    if not todo:
        return []
    created = []
    with _lock:
        # A short transaction of its own; the advisory lock serialises processes racing to
        # create the same month (IF NOT EXISTS alone still races in the catalog).
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [PARENT])
            have = set(existing())
            for m in todo:
                name = partition_name(m)
                if name not in have:
                    lo = county_time.midnight(m).isoformat()
                    hi = county_time.midnight(_next_month(m)).isoformat()
                    cur.execute(f'CREATE TABLE "{name}" PARTITION OF {PARENT} '
                                f"FOR VALUES FROM ('{lo}') TO ('{hi}')")
                    created.append(name)
        # Remember only what is committed: inside an outer transaction (a test, a caller's
        # atomic block) a rollback would take the partition away again.
        if not connection.in_atomic_block:
            _known.update(partition_name(m) for m in todo)
    return created


def ensure_for_times(times: Iterable[dt.datetime]) -> list[str]:
    return ensure({month_start(t) for t in times})


def ensure_ahead(now: dt.datetime | None = None, months: int = 2) -> list[str]:
    """This month and the next `months - 1`, so live ingest never waits on DDL at midnight."""
    m = month_start(now or dt.datetime.now(dt.UTC))
    wanted = []
    for _ in range(months):
        wanted.append(m)
        m = _next_month(m)
    return ensure(wanted)


def drop_older_than(cutoff: dt.date) -> list[str]:
    """Drop whole months that end on or before `cutoff` (retention); returns the names dropped."""
    dropped = []
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [PARENT])
        for name in existing():
            y, mo = int(name[-6:-2]), int(name[-2:])
            if _next_month(dt.date(y, mo, 1)) <= cutoff:
                cur.execute(f'DROP TABLE "{name}"')
                dropped.append(name)
    with _lock:
        _known.difference_update(dropped)
    return dropped


def forget() -> None:
    """Forget what this process knows (tests drop and recreate databases under it)."""
    with _lock:
        _known.clear()
