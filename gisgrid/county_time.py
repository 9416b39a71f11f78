"""The county's clock: its time zone and how the API writes times.

One home for both. The zone is settings.TIME_ZONE (Asia/Shanghai for Heyang), read through
Django's `get_default_timezone()` so it follows the settings (and a test's override_settings);
nothing else in the code base names a zone. Times go out as ISO-8601 in that zone, to the
second ("2026-11-24T08:00:00+08:00"): the patrol answers, their CSVs and the periods they echo.

A "naive" time a client sends (no offset) means the county's wall clock; months, weeks and
days (partitions, the inspectors' weekly duty) are the county's too.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def zone() -> dt.tzinfo:
    """The county's time zone (settings.TIME_ZONE)."""
    return timezone.get_default_timezone()


def now() -> dt.datetime:
    """The current time on the county's clock (aware)."""
    return dt.datetime.now(zone())


def local(t: dt.datetime) -> dt.datetime:
    """An aware time on the county's clock; a naive one is taken as already on it."""
    return t.replace(tzinfo=zone()) if t.tzinfo is None else t.astimezone(zone())


def from_epoch(t: float) -> dt.datetime:
    """Epoch seconds on the county's clock."""
    return dt.datetime.fromtimestamp(t, zone())


def iso(t: float | dt.datetime | None) -> str | None:
    """ISO-8601 on the county's clock (+08:00), to the second; None stays None.

    Takes an aware datetime (a naive one is read as county time) or epoch seconds."""
    if t is None:
        return None
    value = local(t) if isinstance(t, dt.datetime) else from_epoch(t)
    return value.isoformat(timespec="seconds")


def stamp(t: dt.datetime) -> str:
    """Compact county time for file names: 20261124-0800."""
    return local(t).strftime("%Y%m%d-%H%M")


def minutes(t: dt.datetime) -> str:
    """County time to the minute, for people to read: 2026-11-24 08:00."""
    return local(t).strftime("%Y-%m-%d %H:%M")


def month_start(t: dt.datetime) -> dt.date:
    """The first day of `t`'s month on the county's calendar."""
    t = local(t)
    return dt.date(t.year, t.month, 1)


def midnight(day: dt.date) -> dt.datetime:
    """00:00 of `day` on the county's clock."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone())


def this_week(at: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """Monday 00:00 of the county's current week (of `at`), and now (`at`)."""
    at = local(at) if at is not None else now()
    monday = (at - dt.timedelta(days=at.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday, at


__all__ = ["zone", "now", "local", "from_epoch", "iso", "stamp", "minutes", "month_start", "midnight", "this_week"]
