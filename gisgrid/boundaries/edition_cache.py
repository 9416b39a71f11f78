"""Per-process values built from one edition (locate's index, coverage's metric grids).

Each is keyed by (edition id, version): a request reads the edition's current version (one
primary-key query, raw SQL because the ORM spends longer compiling it than PostgreSQL answering)
and takes the value built for exactly that version. After a publish, or an edit to a draft,
every process rebuilds at its next request, and no answer mixes two editions.

Every request thread (and every coverage pool thread) reads these values, so they hold plain
data only: WKB, coordinates, numpy arrays, strings. GEOS objects (geometries, prepared
geometries, STRtrees) are not safe to share between threads (libgeos/geos#825: prepared
geometries crash or corrupt the heap even after a warm-up), so a value keeps them in a
`PerThread` holder (each thread builds its own copy from the plain data on first use) or, for
a large copy used briefly, in a `CopyPool` (a thread takes a copy for the duration of one call,
and no other thread touches it meanwhile). docs/threads.md has the rule, the list of shared
objects and what the copies cost.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from django.db import connection

T = TypeVar("T")


class PerThread(Generic[T]):
    """One value per thread, built lazily by `build()` the first time a thread asks.

    For GEOS objects held by a shared value: `build` makes them from plain data (WKB,
    coordinates) that the owner keeps, so no two threads ever touch the same GEOS object. The
    thread-local storage lives on this instance, not in a module global: when the owner (a
    cache entry) is dropped, every thread's copy goes with it, and a thread that ends frees its
    own. `build` must not return an object another thread can reach.
    """

    def __init__(self, build: Callable[[], T]):
        self._build = build
        self._local = threading.local()

    def get(self) -> T:
        try:
            return self._local.value
        except AttributeError:
            value = self._build()
            self._local.value = value
            return value


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


class CopyPool(Generic[T]):
    """Copies of a value built by `build()`, each used by one thread at a time.

    For GEOS objects that are large and used briefly: per thread they would cost one copy for
    every thread of the process (16 a worker), here only as many as calls overlap. A thread
    takes a copy with ``with pool.use() as value:`` and must not keep it after the block; the
    lock orders one thread's use before the next one's, and a GEOS object has no tie to the
    thread that built it, so using it later from another thread is safe. Like `PerThread`,
    the copies live on this instance and go with it.
    """

    def __init__(self, build: Callable[[], T]):
        self._build = build
        self._lock = threading.Lock()
        self._free: list[T] = []
        self.built = 0  # copies made so far (the peak overlap), for docs/threads.md's figures

    @contextmanager
    def use(self) -> Iterator[T]:
        with self._lock:
            value = self._free.pop() if self._free else None
            if value is None:
                self.built += 1
        if value is None:
            value = self._build()
        try:
            yield value
        finally:
            with self._lock:
                self._free.append(value)


class EditionCache(Generic[T]):
    """The last few values of `build(id, name, version)`, one per edition version.

    The values are shared by every thread of the process: plain data, with GEOS objects only
    behind `PerThread` (see the module docstring).
    """

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
