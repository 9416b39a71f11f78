"""The push service's heart: one LISTEN connection, one reader, every open stream of this process.

On a NOTIFY (sent at commit by the trigger of migration 0001) the reader reads every event after
the last one it read in ONE query and fans each out to the streams whose viewer may see it. The
streams are indexed by role, user, unit and grid code, so an event costs the size of its
audience, not of every connection. The index answers exactly what `audience.matches` answers
(tests/test_push_audience.py checks the two agree). Each stream has a bounded queue: a stream
whose queue is full (a client that does not read) is dropped, never waited for.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg

from .audience import Audience, Viewer, wanted
from .store import (
    COLUMNS,
    GIVEN_SQL,
    LOCK_SHARED_SQL,
    PRUNE_SQL,
    RETENTION,
    UNLOCK_SHARED_SQL,
    Stored,
    row_to_event,
)

log = logging.getLogger("gisgrid.push")

CHANNEL = "gisgrid_push"
PING = b": ping\n\n"
PING_EVERY_S = 15.0
# Read anyway this often: a NOTIFY lost while the listening connection was being replaced.
SAFETY_READ_S = 5.0
PRUNE_EVERY_S = 60.0
READ_LIMIT = 5000
PRUNER_LOCK = (727100, 2)
# Audiences remembered between two opens or closes of a stream (a unit's or a grid's events
# each have their own; the cache is emptied rather than let grow past this).
AUDIENCE_CACHE = 4096


def frame(seq: int, kind: str, data: str) -> bytes:
    """One SSE message. `data` is jsonb's text: always one line."""
    return f"id: {seq}\nevent: {kind}\ndata: {data}\n\n".encode()


@dataclass(eq=False)
class Stream:
    """One open connection: who it is, what it asked for, what waits to be written.

    The waiting messages are a plain list rather than an asyncio.Queue: a busy server hands out
    over a hundred thousand messages a second, and `list.append` costs a tenth of
    `Queue.put_nowait` (which wakes getters and counts unfinished tasks on every call); the
    writer takes the whole list at once anyway."""

    viewer: Viewer
    topics: frozenset[str] | None
    limit: int
    pending: list[bytes] = field(default_factory=list)
    waiter: asyncio.Future | None = field(default=None, repr=False)
    dropped: bool = False
    pacing: bool = False  # the writer waits out the least time between two writes
    writing: bool = False  # a write to the client has not finished (its buffers are full)
    task: asyncio.Task | None = field(default=None, repr=False)

    def offer(self, message: bytes) -> bool:
        """Queue a message; False (nothing queued) when the client stopped reading: `limit`
        messages wait while a write to it is still blocked (or twice that in any case)."""
        n = len(self.pending)
        if n >= self.limit and (self.writing or n >= 2 * self.limit):
            return False
        self.pending.append(message)
        waiter = self.waiter
        # While pacing, the writer is woken early only when half the limit is waiting.
        if waiter is not None and not waiter.done() and (not self.pacing or n + 1 >= self.limit // 2):
            waiter.set_result(None)
        return True

    async def take(self, not_before: float) -> list[bytes]:
        """Every waiting message, once there is at least one and the loop's clock has reached
        `not_before` (or half the limit is waiting: a burst is written at once, not dropped)."""
        loop = asyncio.get_running_loop()
        while not self.pending:
            await self._wait(loop, None)
        pace = not_before - loop.time()
        if pace > 0 and len(self.pending) < self.limit // 2:
            self.pacing = True
            try:
                await self._wait(loop, pace)
            finally:
                self.pacing = False
        return self.take_now()

    def take_now(self) -> list[bytes]:
        """Every waiting message (perhaps none), without waiting."""
        taken, self.pending = self.pending, []
        return taken

    async def _wait(self, loop: asyncio.AbstractEventLoop, timeout: float | None) -> None:
        waiter = self.waiter = loop.create_future()
        timer = None if timeout is None else loop.call_later(timeout, _wake, waiter)
        try:
            await waiter
        finally:
            self.waiter = None
            if timer is not None:
                timer.cancel()


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Hub:
    def __init__(self, conninfo: dict, queue_size: int = 1000):
        self.conninfo = conninfo
        self.queue_size = queue_size
        self.last = 0  # the last seq read and fanned out
        self.streams: set[Stream] = set()
        self.by_role: dict[str, set[Stream]] = defaultdict(set)
        self.by_user: dict[int, set[Stream]] = defaultdict(set)
        self.by_unit: dict[int, set[Stream]] = defaultdict(set)
        self.by_grid: dict[str, set[Stream]] = defaultdict(set)
        self.wake = asyncio.Event()
        self.ready = asyncio.Event()
        self.delivered = 0
        self.dropped = 0
        self._tasks: list[asyncio.Task] = []
        self._audiences: dict[Audience, tuple[Stream, ...]] = {}

    # -- streams ----------------------------------------------------------------------------

    def open(self, viewer: Viewer, topics: frozenset[str] | None) -> tuple[Stream, int]:
        """Register a stream; it receives every event after the returned seq (replay the rest)."""
        s = Stream(viewer, topics, self.queue_size)
        self._audiences.clear()
        self.streams.add(s)
        self.by_user[viewer.user_id].add(s)
        for r in viewer.roles:
            self.by_role[r].add(s)
        for u in viewer.unit_ids:
            self.by_unit[u].add(s)
        for g in viewer.grid_codes:
            self.by_grid[g].add(s)
        return s, self.last

    def close(self, s: Stream) -> None:
        if s not in self.streams:
            return
        self.streams.discard(s)
        self._audiences.clear()
        for index, keys in ((self.by_user, [s.viewer.user_id]), (self.by_role, s.viewer.roles),
                            (self.by_unit, s.viewer.unit_ids), (self.by_grid, s.viewer.grid_codes)):
            for k in keys:
                bucket = index.get(k)
                if bucket is not None:
                    bucket.discard(s)
                    if not bucket:
                        del index[k]

    def drop(self, s: Stream) -> None:
        """A stream that does not keep up: closed, its connection cut, the others unharmed."""
        if s.dropped:
            return
        s.dropped = True
        self.dropped += 1
        self.close(s)
        if s.task is not None:
            s.task.cancel()
        log.warning("push: dropped a stream of user %s (queue of %d full)", s.viewer.user_id, self.queue_size)

    def audience_of(self, a: Audience) -> Iterable[Stream]:
        # Many events share an audience (every position goes to the supervisors' roles, every
        # case event to the dispatchers): the union is made once per set of open streams.
        cached = self._audiences.get(a)
        if cached is not None:
            return cached
        if a.everyone_signed_in:
            out: Iterable[Stream] = tuple(self.streams)
        else:
            members: set[Stream] = set()
            for index, keys in ((self.by_role, a.roles), (self.by_user, a.user_ids), (self.by_unit, a.unit_ids),
                                (self.by_grid, a.grid_codes)):
                for k in keys:
                    bucket = index.get(k)
                    if bucket:
                        members |= bucket
            out = tuple(members)
        if len(self._audiences) >= AUDIENCE_CACHE:
            self._audiences.clear()
        self._audiences[a] = out
        return out

    def fan_out(self, ev: Stored) -> None:
        message = frame(ev.seq, ev.kind, ev.data)
        kind = ev.kind
        delivered = 0
        for s in self.audience_of(ev.audience):
            if s.dropped or not wanted(kind, s.topics):
                continue
            if s.offer(message):
                delivered += 1
            else:
                self.drop(s)
        self.delivered += delivered

    # -- the database side ---------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._listen()), loop.create_task(self._read()),
                       loop.create_task(self._ping()), loop.create_task(self._prune())]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connect(self) -> psycopg.AsyncConnection:
        return await psycopg.AsyncConnection.connect(**self.conninfo, autocommit=True)

    async def _listen(self) -> None:
        """LISTEN; every NOTIFY wakes the reader (many at once wake it once)."""
        while True:
            try:
                async with await self._connect() as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.wake.set()  # whatever was committed while not listening
                    async for _ in conn.notifies():
                        self.wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database restarted: listen again shortly
                log.warning("push: listening failed (%s); again in 1 s", exc)
                await asyncio.sleep(1)

    async def _read(self) -> None:
        while True:
            try:
                async with await self._connect() as conn:
                    if not self.ready.is_set():
                        await conn.execute(LOCK_SHARED_SQL)
                        cur = await conn.execute(GIVEN_SQL)
                        self.last = int((await cur.fetchone())[0])
                        await conn.execute(UNLOCK_SHARED_SQL)
                        self.ready.set()
                    while True:
                        try:
                            await asyncio.wait_for(self.wake.wait(), SAFETY_READ_S)
                        except TimeoutError:
                            pass
                        self.wake.clear()
                        while True:
                            cur = await conn.execute(
                                f"SELECT {COLUMNS} FROM push_pushevent WHERE seq > %s ORDER BY seq LIMIT %s",
                                [self.last, READ_LIMIT])
                            rows = await cur.fetchall()
                            for row in rows:
                                ev = row_to_event(row)
                                self.fan_out(ev)
                                self.last = ev.seq
                            if len(rows) < READ_LIMIT:
                                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("push: reading events failed (%s); again in 1 s", exc)
                await asyncio.sleep(1)

    async def _ping(self) -> None:
        """A comment line every PING_EVERY_S keeps proxies from closing quiet streams."""
        while True:
            await asyncio.sleep(PING_EVERY_S)
            for s in list(self.streams):
                if not s.dropped and not s.offer(PING):
                    self.drop(s)

    async def _prune(self) -> None:
        """One process prunes: the one holding the pruner's session lock (another takes over
        when it stops)."""
        while True:
            await asyncio.sleep(PRUNE_EVERY_S)
            try:
                async with await self._connect() as conn:
                    cur = await conn.execute("SELECT pg_try_advisory_lock(%s, %s)", PRUNER_LOCK)
                    if not (await cur.fetchone())[0]:
                        continue
                    while True:
                        await conn.execute(PRUNE_SQL, [RETENTION.total_seconds()])
                        await asyncio.sleep(PRUNE_EVERY_S)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("push: pruning failed (%s)", exc)
