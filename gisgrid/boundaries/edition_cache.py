"""Per-process values built from one edition (locate's index, coverage's metric grids).

Each is keyed by (edition id, version): a request reads the edition's current version (one
primary-key query, raw SQL because the ORM spends longer compiling it than PostgreSQL answering)
and takes the value built for exactly that version. After a publish, or an edit to a draft,
every process rebuilds at its next request, and no answer mixes two editions.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import connection

T = TypeVar("T")


def current(edition_id: int | None = None) -> tuple[int, str, int]:
    """(id, name, version) of `edition_id`, or of the active edition; LookupError if none."""
    with connection.cursor() as cur:
        if edition_id is None:
            cur.execute("SELECT id, name, version FROM boundaries_edition WHERE status = 'active' LIMIT 1")
        else:
            cur.execute("SELECT id, name, version FROM boundaries_edition WHERE id = %s", [edition_id])
        row = cur.fetchone()
    if row is None:
        raise LookupError(f"no edition {edition_id}" if edition_id else "no active edition; load a dataset first")
    return row


class EditionCache(Generic[T]):
    """The last few values of `build(id, name, version)`, one per edition version."""

    def __init__(self, build: Callable[[int, str, int], T], size: int = 3):
        self._build = build
        self._size = size
        self._lock = threading.Lock()
        self._values: OrderedDict[tuple[int, int], T] = OrderedDict()

    def get(self, edition_id: int | None = None) -> T:
        eid, name, version = current(edition_id)
        key = (eid, version)
        value = self._values.get(key)
        if value is not None:
            return value
        with self._lock:  # one build per key even when requests race
            value = self._values.get(key)
            if value is None:
                value = self._build(eid, name, version)
                self._values[key] = value
                while len(self._values) > self._size:
                    self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
