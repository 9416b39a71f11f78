"""Group commit: the fixes of concurrent requests stored in one transaction, each request
answered only once its own fixes are committed.

Phones send one fix per HTTP request. Alone, each such request pays for a whole transaction:
locking and reading its device, a COPY, the device update, and a COMMIT that waits for the WAL
to reach the disk (about 2.5 ms of fdatasync on the reference machine); that, not Python, is
what held one 2-core box to a few hundred requests/s. Here each process has one committer
thread. Request threads decode and authenticate (auth.DeviceCache), then queue their items and
wait; the committer takes everything queued, runs it through the pipeline as one batch
(pipeline.ingest_many: one transaction, one COPY, one device update, one commit) and wakes each
request with its own outcomes once the transaction has committed. While one group commits, the
next one gathers, so the group size follows the load and nobody waits on a timer.

Failures: a deadlock or serialisation failure is retried inside the pipeline. Any other error
of a merged run cannot say whose items caused it, so each request of the group is then run on
its own, once: the innocent ones are stored and answered as usual, and only the request that
fails alone gets the error. A request is never answered before its transaction committed, and
a request that got an error may have stored nothing that it cannot store again: a retry is
idempotent on (device, fix time).

Only requests whose connection is not inside a transaction are grouped (a caller's open
transaction must hold its own fixes: tests, management code), and only small ones
(`MAX_REQUEST_ITEMS`): a big batch already amortises its transaction and would only make the
single fixes queued behind it wait. `GISGRID_GROUP_COMMIT=0` (setting or environment) turns
grouping off; every request then runs the plain one-transaction-per-request path.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from gisgrid.errors import Text, Unavailable

from .auth import DeviceAuthError, devices_cache
from .pipeline import IngestResult, Submission, ingest_many
from .records import BadFix, Fix

log = logging.getLogger(__name__)

# Requests with more items than this are run by their own thread (see the module docstring).
MAX_REQUEST_ITEMS = 50
# A group takes queued requests up to this many items: one batch stays well under a second.
MAX_GROUP_ITEMS = 5_000
# A request waits at most this long for its group (the database's statement timeout is 30 s).
WAIT_S = 120.0


def enabled() -> bool:
    value = getattr(settings, "GISGRID_GROUP_COMMIT", None)
    if value is None:
        value = os.environ.get("GISGRID_GROUP_COMMIT", "1")
    return str(value).strip().lower() not in ("0", "false", "no", "off")


def accepts(items: Sequence[Fix | BadFix]) -> bool:
    """Whether a request of these items goes through the group committer."""
    return enabled() and 0 < len(items) <= MAX_REQUEST_ITEMS and not connection.in_atomic_block


class CommitterUnavailable(Unavailable):
    """The committer did not answer in time; the request may be sent again (idempotent)."""

    code = "ingest_busy"

    def __init__(self) -> None:
        super().__init__(Text("存储队列无响应，请重发", "the ingest committer did not answer; send again"),
                         headers={"Retry-After": "1"})


@dataclass
class _Pending:
    sub: Submission
    done: threading.Event = field(default_factory=threading.Event)
    result: IngestResult | None = None
    error: BaseException | None = None

    def finish(self, result: IngestResult | None = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.done.set()


@dataclass
class Stats:
    groups: int = 0
    requests: int = 0
    largest: int = 0
    split: int = 0  # merged runs that failed and were run request by request

    def as_dict(self) -> dict:
        return {"groups": self.groups, "requests": self.requests, "largest": self.largest, "split": self.split}


class GroupCommitter:
    """One committer thread and its queue; one per process (`committer()`)."""

    def __init__(self, max_group_items: int = MAX_GROUP_ITEMS):
        self.max_group_items = max_group_items
        self.stats = Stats()
        self._queue: deque[_Pending] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def submit(self, sub: Submission, timeout: float = WAIT_S) -> IngestResult:
        """Queue one request's items and wait until they are committed; its own outcomes, or
        the error its items caused (DeviceAuthError when its device changed meanwhile)."""
        p = _Pending(sub)
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._start()
            self._queue.append(p)
            self._cond.notify()
        deadline = time.monotonic() + timeout
        while not p.done.wait(0.5):
            if time.monotonic() > deadline or not self._thread.is_alive():
                with self._cond:
                    if p in self._queue:
                        self._queue.remove(p)  # never run: a retry is safe
                raise CommitterUnavailable()
        if p.error is not None:
            raise p.error
        return p.result  # type: ignore[return-value]

    def pending(self) -> int:
        """Requests queued and not yet taken into a group."""
        with self._cond:
            return len(self._queue)

    def stop(self) -> None:
        """Finish what is queued and end the thread (tests)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()

    def _start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="gisgrid-group-commit", daemon=True)
        self._thread.start()

    def _take(self) -> list[_Pending] | None:
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._cond.wait()
            group = [self._queue.popleft()]
            n = len(group[0].sub.items)
            while self._queue and n + len(self._queue[0].sub.items) <= self.max_group_items:
                p = self._queue.popleft()
                n += len(p.sub.items)
                group.append(p)
            return group

    def _loop(self) -> None:
        try:
            while (group := self._take()) is not None:
                try:
                    self._run(group)
                except BaseException as exc:  # never leave a request waiting for ever
                    for p in group:
                        if not p.done.is_set():
                            p.finish(error=exc)
                    if not isinstance(exc, Exception):
                        raise
                    log.exception("group commit: a group failed outside the pipeline")
        finally:
            connection.close()

    def _run(self, group: list[_Pending]) -> None:
        self.stats.groups += 1
        self.stats.requests += len(group)
        self.stats.largest = max(self.stats.largest, len(group))
        # What a request's start does for request threads: replace a connection that broke
        # (PostgreSQL restarted) or grew old, so one failure does not stick to this thread.
        connection.close_if_unusable_or_obsolete()
        try:
            results = ingest_many([p.sub for p in group])
        except Exception as exc:
            if len(group) == 1:
                group[0].finish(error=exc)
                return
            self.stats.split += 1
            log.warning("group commit: a merged run of %d requests failed (%s: %s); running them one by one",
                        len(group), type(exc).__name__, exc)
            for p in group:
                connection.close_if_unusable_or_obsolete()
                try:
                    self._finish(p, ingest_many([p.sub])[0])
                except Exception as alone:
                    p.finish(error=alone)
            return
        for p, r in zip(group, results, strict=True):
            self._finish(p, r)

    @staticmethod
    def _finish(p: _Pending, r: IngestResult | DeviceAuthError) -> None:
        if isinstance(r, DeviceAuthError):
            for ident in p.sub.credentials or {}:
                devices_cache.forget(ident)
            p.finish(error=r)
        else:
            p.finish(result=r)


_committer: GroupCommitter | None = None
_pid = 0
_lock = threading.Lock()


def committer() -> GroupCommitter:
    """This process's committer (a forked worker starts its own)."""
    global _committer, _pid
    with _lock:
        if _committer is None or _pid != os.getpid():
            _committer, _pid = GroupCommitter(), os.getpid()
        return _committer


def submit(sub: Submission) -> IngestResult:
    return committer().submit(sub)


def shutdown() -> None:
    """Stop this process's committer, if any (tests: its connection must close before the
    test database is dropped). The next request starts a new one."""
    global _committer
    with _lock:
        current, _committer = _committer, None
    if current is not None and _pid == os.getpid():
        current.stop()
