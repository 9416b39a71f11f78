"""Fix times: how a sent time is read, whose clock a time without an offset is on, and what
range of times may be stored at all.

Reading (the decoders): an integer below 2147483647 is epoch seconds, a larger one epoch
milliseconds (Traccar's cut-off; the OsmAnd app sends ms, Traccar Client s). Epoch time is UTC
by definition. Text containing `T` is ISO-8601, other text `yyyy-MM-dd HH:mm:ss`. Text without
a UTC offset is a reading of the device's own clock, and that clock is local time: the decoders
keep it naive, and once the request's devices are authenticated `localise()` reads it in the
device's time zone (`Device.tz`, the county's `TIME_ZONE` when blank). Traccar reads such
times in its server's zone; reading them as UTC put a Beijing phone's fixes 8 hours ahead.

Bounds: only years 2000-2100 (as written, in the time's own offset; UTC for epoch time) are
accepted, like the API's query times (params.parse_time). Anything else is a field error, so the
fix is quarantined as `invalid` with its raw text and without a time. PostgreSQL would store
`0001-01-01T00:00:00+14:00` (1 BC in UTC) or year 10000, but psycopg cannot read either back,
and one such row used to make every page that lists it answer 500.

Reading back (`readable`, `unreadable_text`): rows written before these bounds existed may
still hold such times; lists select them through these SQL expressions so one bad row shows
as text instead of breaking the page.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError
from django.db.models import Case, DateTimeField, F, Q, TextField, Value, When
from django.db.models.functions import Cast

from gisgrid import county_time

from .records import BadFix, FieldError, Fix

if TYPE_CHECKING:
    from ..models import Device

# Traccar's cut-off between seconds and milliseconds (Java's Integer.MAX_VALUE).
SECONDS_LIMIT = 2147483647
FIRST_YEAR, LAST_YEAR = 2000, 2100
# What Python can load and then show in any zone (±14 h) without overflowing: a stored time
# outside this is shown as PostgreSQL's text of it.
READABLE_FROM = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
READABLE_UNTIL = dt.datetime(9999, 12, 30, tzinfo=dt.UTC)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_FORMATS = "epoch seconds or ms, ISO-8601, yyyy-MM-dd HH:mm:ss"


def parse_time(name: str, value: object) -> dt.datetime:
    """A sent fix time: aware, or naive when the text had no offset (see the module docstring)."""
    if isinstance(value, bool) or value is None:
        raise FieldError(name, f"not a time: {value!r}")
    if not isinstance(value, str | int | float):  # a JSON object or list
        raise FieldError(name, f"not a time ({_FORMATS}): {_show(value)}")
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, int | float) or _NUMBER.fullmatch(text):
        try:
            n = float(text)
        except OverflowError:  # a JSON integer of hundreds of digits
            n = math.inf
        return epoch(name, n, value)
    try:
        if "T" in text:
            parsed = dt.datetime.fromisoformat(text)
        else:
            parsed = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise FieldError(name, f"not a time ({_FORMATS}): {_show(value)}") from None
    return bounded(name, parsed, value)


def epoch(name: str, n: float, sent: object = None) -> dt.datetime:
    """Epoch seconds, or milliseconds from SECONDS_LIMIT on; always UTC."""
    seconds = n if n < SECONDS_LIMIT else n / 1000
    try:
        t = dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        t = None
    if t is None or not math.isfinite(n) or not FIRST_YEAR <= t.year <= LAST_YEAR:
        shown = f"{t:%Y-%m-%dT%H:%M:%SZ}" if t is not None else "beyond any calendar"
        raise FieldError(name, f"时间超出 {FIRST_YEAR}-{LAST_YEAR} 年 (time out of range {FIRST_YEAR}-{LAST_YEAR}: "
                               f"{_show(n if sent is None else sent)} is {shown})")
    return t


def bounded(name: str, t: dt.datetime, sent: object = None) -> dt.datetime:
    """`t` if its year, as written, is in FIRST_YEAR..LAST_YEAR; else a FieldError."""
    if not FIRST_YEAR <= t.year <= LAST_YEAR:
        raise FieldError(name, f"年份应在 {FIRST_YEAR}-{LAST_YEAR} 之间 (the year must be between "
                               f"{FIRST_YEAR} and {LAST_YEAR}: {_show(t.isoformat() if sent is None else sent)})")
    return t


def county_zone() -> ZoneInfo:
    return county_time.zone()


def device_zone(device: Device | None) -> ZoneInfo:
    """The zone a device's offset-less times are read in: its own, else the county's."""
    name = getattr(device, "tz", "") or ""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):  # written around validation (raw SQL)
            pass
    return county_zone()


def localise(items: Iterable[Fix | BadFix], devices: Mapping[str, Device]) -> None:
    """Make every naive time aware in its device's zone, in place.

    A wall-clock time that a daylight-saving change skips or repeats takes the earlier reading
    (`fold=0`); China has had no such change since 1991.
    """
    for it in items:
        t = it.time
        if t is not None and t.tzinfo is None:
            it.time = t.replace(tzinfo=device_zone(devices.get(it.device)))


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_time_zone(name: str) -> None:
    """An IANA zone name this machine's tz database knows (blank = the county's)."""
    if name and name not in _zone_names():
        raise ValidationError(f"未知时区 {name!r} (unknown IANA time zone, e.g. Asia/Shanghai, Asia/Urumqi)",
                              code="invalid_tz")


def readable(field: str) -> Case:
    """SQL: the timestamptz column `field`, or NULL when Python could not read it back."""
    return Case(When(_in_readable_range(field), then=F(field)), default=Value(None),
                output_field=DateTimeField())


def unreadable_text(field: str) -> Case:
    """SQL: PostgreSQL's own text of `field` when it is out of Python's range, else NULL."""
    return Case(When(_in_readable_range(field), then=Value(None)), default=Cast(field, TextField()),
                output_field=TextField())


def _in_readable_range(field: str) -> Q:
    return Q(**{f"{field}__gte": READABLE_FROM, f"{field}__lt": READABLE_UNTIL})


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
