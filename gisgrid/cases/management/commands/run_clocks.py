"""The periodic job of the case loop: clock pass + outbox delivery, in a locked loop.

Every pass takes a PostgreSQL advisory lock first (pg_try_advisory_lock): with several
processes running the command (two servers, a restart overlapping the old process), one works
and the others wait for the next tick. All state is in the database (colours, alert rows,
the outbox), so a process that dies loses nothing: the next pass picks up where it stopped,
and alerts are raised once whatever the number of passes.
"""

from __future__ import annotations

import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection
from django.utils.module_loading import import_string

from gisgrid.cases import clocks, notices

# Any fixed 64-bit key: "gisgrid cases clocks".
LOCK_KEY = 0x6769_7367_6361_7365


def run_pass() -> dict | None:
    """One pass under the lock; None when another process holds it."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        if not cur.fetchone()[0]:
            return None
    try:
        result = clocks.clock_pass()
        result.update(notices.deliver_pending())
        return result
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def periodic_passes() -> dict:
    """Other apps' passes (settings.GISGRID_PERIODIC_PASSES, dotted paths); the loop runs them on `Background`."""
    out: dict = {}
    for dotted in getattr(settings, "GISGRID_PERIODIC_PASSES", ()):
        out.update(import_string(dotted)() or {})
    return out


class Background:
    """Other apps' passes on a thread of their own, one run at a time.

    The assessment's hourly recompute takes tens of seconds on a county's year; run in the loop
    it would hold the clocks back that long, and a dispatch limit is 30 minutes. A tick that
    finds the previous run still going skips it (the next tick tries again)."""

    def __init__(self, report) -> None:
        self.report = report
        self.thread: threading.Thread | None = None

    def kick(self) -> bool:
        if self.thread is not None and self.thread.is_alive():
            return False
        self.thread = threading.Thread(target=self._run, name="periodic-passes", daemon=True)
        self.thread.start()
        return True

    def _run(self) -> None:
        try:
            result = periodic_passes()
        except Exception as exc:  # retried at a later tick; the loop stays up
            result = {"error": str(exc)}
        finally:
            connection.close()  # this thread's own connection
        self.report(result)

    def wait(self, seconds: float) -> None:
        if self.thread is not None:
            self.thread.join(seconds)


class Command(BaseCommand):
    help = "Run the case clocks and deliver notices every --interval seconds (--once: one pass)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=60.0, help="seconds between passes (default 60)")

    def handle(self, *args, **opts):
        interval = opts["interval"]
        if interval <= 0:
            raise CommandError("--interval must be positive")
        stop = {"now": False}

        def _stop(signum, frame):
            stop["now"] = True

        if not opts["once"]:
            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
        background = Background(lambda result: result and self.stdout.write(
            "定期任务 periodic passes: " + ", ".join(f"{k} {v}" for k, v in result.items())))
        while True:
            started = time.monotonic()
            if not opts["once"]:
                # A long-running loop drops a broken or too old connection between passes.
                close_old_connections()
            try:
                result = run_pass()
                if result is not None and not opts["once"]:
                    background.kick()
            except Exception as exc:  # a failed pass is retried at the next tick; the loop stays up
                if opts["once"]:
                    raise
                self.stderr.write(f"clock pass failed: {exc}")
                connection.close()
                result = {"error": str(exc)}
            if opts["verbosity"] >= 1 and (opts["once"] or (result and any(
                    v for k, v in result.items() if k not in ("inbox",)))):
                self.stdout.write(self._line(result))
            if opts["once"]:
                return
            # Sleep in short steps so SIGTERM ends the loop promptly.
            while not stop["now"] and time.monotonic() - started < interval:
                time.sleep(min(0.5, interval))
            if stop["now"]:
                # A recompute cut off rolls back with its connection; give it a moment to end.
                background.wait(10)
                return

    @staticmethod
    def _line(result: dict | None) -> str:
        if result is None:
            return "时限巡检 clock pass: another process holds the lock; skipped"
        return "时限巡检 clock pass: " + ", ".join(f"{k} {v}" for k, v in result.items())
