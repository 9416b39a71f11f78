"""Working-day arithmetic on the county's calendar (Asia/Shanghai), scalar and vectorised.

Deadline semantics ("done within N working days", 办结时限):

* The start instant is placed on its local calendar day (Asia/Shanghai, the project's
  `TIME_ZONE`). That day never counts towards N, whatever the hour.
* N >= 1: the deadline is 24:00 local of the N-th working day *after* the start day — returned
  as 00:00 of the following calendar day, so that `instant < deadline` means "in time" and no
  23:59:59.999999 ever appears. Report on Friday 16:00, N = 3, Mon–Wed working: Mon (1),
  Tue (2), Wed (3) -> Wednesday 24:00 = Thursday 00:00.
* N = 0 (on-the-spot matters): 24:00 of the start day when it is a working day, otherwise of
  the next working day. Saturday 10:00, N = 0 -> Monday 24:00.
* A start on a non-working day counts the same way: Saturday, N = 3 -> Wednesday 24:00.
* A day is working when its `CalendarDay` row says so (holidays off, make-up weekends on);
  without a row, Monday–Friday work and Saturday/Sunday rest.
* A year without a complete `CalendarYear` row has no official data: it still follows its
  `CalendarDay` rows (an admin may be half-way through typing the notice) and otherwise
  Monday–Friday, and every deadline or span touching it reports the year as a fallback year.

Working time (`working_seconds`) counts whole working days, 00:00–24:00 local: the share of a
limit used up is `working_seconds(start, now) / working_seconds(start, deadline)`. Minute limits
(dispatch, acknowledge, on site) are wall-clock time and do not use this module.

Vectorised functions take and return numpy ``datetime64`` arrays holding **UTC** instants
(any unit in, ``datetime64[us]`` out); NaT in gives NaT (or NaN, or False) out. The scalar
functions take aware datetimes and return aware datetimes in the local zone. Both run on the
same precomputed day tables, so they agree exactly. Instants must fall within 1970–2100.

`current()` returns the calendar as the database has it, cached per process and rebuilt when
the version counter (bumped by a trigger on every edit) changes.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2100, 12, 31)
_NDAYS = (LAST_DAY - FIRST_DAY).days + 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_DAY_US = 86_400_000_000
_NAT = np.iinfo(np.int64).min
DEFAULT_TZ = "Asia/Shanghai"


class Due(NamedTuple):
    at: datetime  # the deadline: 00:00 local after the last working day (i.e. that day's 24:00)
    fallback_years: list[int]  # years the count ran through that have no official data


def due_date(deadline: datetime, tz_name: str | None = None) -> date:
    """The working day a deadline closes (deadline 2026-10-11 00:00 -> 2026-10-10, its 24:00)."""
    tz = ZoneInfo(tz_name or _default_tz_name())
    return (deadline - _US).astimezone(tz).date()


def to_utc64(values: Iterable[datetime | None]) -> np.ndarray:
    """Aware datetimes (None -> NaT) as a datetime64[us] array of UTC instants."""
    out = [_NAT if v is None else _aware_us(v) for v in values]
    return np.array(out, dtype=np.int64).view("datetime64[us]")


def from_utc64(value: np.datetime64, tz_name: str | None = None) -> datetime | None:
    """One element of a vectorised result as an aware local datetime (NaT -> None)."""
    if np.isnat(value):
        return None
    us = int(np.datetime64(value, "us").astype(np.int64))
    return (_EPOCH + timedelta(microseconds=us)).astimezone(ZoneInfo(tz_name or _default_tz_name()))


def _default_tz_name() -> str:
    from django.conf import settings

    if settings.configured:
        from django.utils import timezone

        return getattr(timezone.get_default_timezone(), "key", DEFAULT_TZ)
    return DEFAULT_TZ


def _aware_us(value: datetime) -> int:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value.isoformat()}: a time-zone-aware datetime is required")
    return (value - _EPOCH) // _US


@functools.lru_cache(maxsize=4)
def _day_tables(tz_name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per day index i (FIRST_DAY + i): UTC µs of local 00:00 (length N+1), weekday, year.

    Offsets are probed at each month start and resolved per day only in the rare month where
    they change (DST in 1986–1991 in China), which keeps a build at a few milliseconds."""
    tz = ZoneInfo(tz_name)
    days = np.arange(_NDAYS + 1, dtype=np.int64)
    as_dates = np.datetime64(FIRST_DAY.isoformat(), "D") + days
    offsets = np.zeros(_NDAYS + 1, dtype=np.int64)
    month_starts = np.flatnonzero(as_dates.astype("datetime64[M]").astype("datetime64[D]") == as_dates)

    def offset_at(i: int) -> int:
        d = FIRST_DAY + timedelta(days=int(i))
        return int(datetime(d.year, d.month, d.day, tzinfo=tz).utcoffset().total_seconds())

    probes = [offset_at(i) for i in month_starts]
    for n, start in enumerate(month_starts):
        end = month_starts[n + 1] if n + 1 < len(month_starts) else _NDAYS + 1
        if n + 1 < len(month_starts) and probes[n + 1] != probes[n]:
            offsets[start:end] = [offset_at(i) for i in range(start, end)]
        else:
            offsets[start:end] = probes[n]
    midnights = (days * 86_400 - offsets) * 1_000_000
    weekday = ((days[:_NDAYS] + FIRST_DAY.weekday()) % 7).astype(np.int8)
    years = as_dates[:_NDAYS].astype("datetime64[Y]").astype(np.int64) + 1970
    for a in (midnights, weekday, years):
        a.flags.writeable = False
    return midnights, weekday, years.astype(np.int16)


@dataclass(frozen=True)
class WorkCalendar:
    """An immutable snapshot of the calendar: plain data plus read-only numpy tables.

    `days` holds the exceptions as (date, working, name); `official_years` the years whose
    notice is complete. Build one directly (tests, benchmarks) or get the database's through
    `current()`."""

    days: tuple[tuple[date, bool, str], ...] = ()
    official_years: frozenset[int] = frozenset()
    tz_name: str = DEFAULT_TZ
    version: int = 0

    _working: np.ndarray = field(init=False, repr=False, compare=False)
    _count: np.ndarray = field(init=False, repr=False, compare=False)  # working days in [0, i]
    _nth: np.ndarray = field(init=False, repr=False, compare=False)  # index of the k-th working day (k from 1)
    _cum_us: np.ndarray = field(init=False, repr=False, compare=False)  # working µs before day i
    _fallback_cum: np.ndarray = field(init=False, repr=False, compare=False)  # fallback days before i
    _midnights: np.ndarray = field(init=False, repr=False, compare=False)
    _names: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        midnights, weekday, years = _day_tables(self.tz_name)
        working = weekday < 5
        names = {}
        for d, is_working, name in self.days:
            if FIRST_DAY <= d <= LAST_DAY:
                working[(d - FIRST_DAY).days] = bool(is_working)
                names[d] = name
        fallback = ~np.isin(years, np.fromiter(self.official_years, dtype=np.int16, count=len(self.official_years)))
        cum_us = np.zeros(_NDAYS + 1, dtype=np.int64)
        np.cumsum(np.where(working, np.diff(midnights), 0), out=cum_us[1:])
        fallback_cum = np.zeros(_NDAYS + 1, dtype=np.int64)
        np.cumsum(fallback, out=fallback_cum[1:])
        tables = {
            "_working": working,
            "_count": np.cumsum(working, dtype=np.int64),
            "_nth": np.flatnonzero(working),
            "_cum_us": cum_us,
            "_fallback_cum": fallback_cum,
            "_midnights": midnights,
        }
        for name, array in tables.items():
            array.flags.writeable = False
            object.__setattr__(self, name, array)
        object.__setattr__(self, "_names", names)

    # ---------------------------------------------------------------- scalar

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    def is_working_day(self, day: date) -> bool:
        if isinstance(day, datetime):
            day = day.astimezone(self.tz).date() if day.tzinfo else day.date()
        return bool(self._working[self._date_index(day)])

    def day_name(self, day: date) -> str:
        """The holiday or make-up day's name ('国庆节', '国庆节调休上班'), '' for ordinary days."""
        return self._names.get(day, "")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """Deadline for "done within `days` working days" from `start` (see the module doc)."""
        if days < 0:
            raise ValueError(f"days must be >= 0, got {days}")
        i = self._instant_index(_aware_us(start))
        k = int(self._count[i]) + days if days > 0 else int(self._count[i]) - int(self._working[i]) + 1
        if k > len(self._nth):
            raise ValueError(f"{start.isoformat()} + {days} working days runs past {LAST_DAY}")
        return self._local(int(self._midnights[self._nth[k - 1] + 1]))

    def due(self, start: datetime, days: int) -> Due:
        """`add_working_days` plus the fallback years the count ran through."""
        at = self.add_working_days(start, days)
        return Due(at, self.fallback_between(start, at))

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Seconds of [start, end) falling on working days (whole days, 00:00–24:00 local);
        0.0 when end <= start."""
        a, b = _aware_us(start), _aware_us(end)
        if b <= a:
            return 0.0
        return (self._worked_until(b) - self._worked_until(a)) / 1e6

    def add_working_seconds(self, start: datetime, seconds: float) -> datetime:
        """The first instant t >= start with working_seconds(start, t) == seconds: where a clock
        reaches a share of its limit (yellow at 80 %) or a paused clock's deadline moves to."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds}")
        a = _aware_us(start)
        target = self._worked_until(a) + round(seconds * 1e6)
        j = int(np.searchsorted(self._cum_us, target, side="left"))
        if j > _NDAYS:
            raise ValueError(f"{start.isoformat()} + {seconds} working seconds runs past {LAST_DAY}")
        at = int(self._midnights[j - 1]) + target - int(self._cum_us[j - 1]) if j > 0 else a
        return self._local(max(a, at))

    def fallback_years(self, start: date, end: date) -> list[int]:
        """Years in [start, end] (dates, inclusive) without official data: Monday–Friday assumed."""
        start, end = self._as_date(start), self._as_date(end)
        return [y for y in range(start.year, end.year + 1) if y not in self.official_years]

    def fallback_between(self, start: datetime, end: datetime) -> list[int]:
        """Fallback years among the local days the span [start, end) touches (a deadline at
        2027-01-01 00:00 touches only 2026: it closes 2026-12-31 24:00)."""
        a = _aware_us(start)
        b = max(a, _aware_us(end) - 1)
        return self.fallback_years(self._local(a).date(), self._local(b).date())

    # ---------------------------------------------------------------- vectorised

    def is_working_day_many(self, days: np.ndarray) -> np.ndarray:
        """Local dates (datetime64[D]) -> bool; NaT -> False."""
        d = np.asarray(days).astype("datetime64[D]")
        nat = np.isnat(d)
        idx = d.astype(np.int64) - (FIRST_DAY - date(1970, 1, 1)).days
        self._check_index(idx, nat)
        return np.where(nat, False, self._working[np.where(nat, 0, idx)])

    def add_working_days_many(self, starts: np.ndarray, days: np.ndarray | int) -> np.ndarray:
        """Vectorised `add_working_days`: UTC datetime64 starts, int days -> datetime64[us] UTC."""
        us, nat = _as_us(starts)
        n = np.broadcast_to(np.asarray(days, dtype=np.int64), us.shape)
        if (n[~nat] < 0).any():
            raise ValueError("days must be >= 0")
        i = self._instant_index_many(us, nat)
        count = self._count[i]
        k = np.where(n > 0, count + n, count - self._working[i] + 1)
        if (k[~nat] > len(self._nth)).any():
            raise ValueError(f"a deadline runs past {LAST_DAY}")
        out = self._midnights[self._nth[np.where(nat, 1, k) - 1] + 1]
        return np.where(nat, _NAT, out).view("datetime64[us]")

    def working_seconds_many(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Vectorised `working_seconds` (float64 seconds; NaN where either side is NaT)."""
        a, nat_a = _as_us(starts)
        b, nat_b = _as_us(ends)
        a, b = np.broadcast_arrays(a, b)
        nat = np.broadcast_to(nat_a, a.shape) | np.broadcast_to(nat_b, b.shape)
        worked = self._worked_until_many(b, nat) - self._worked_until_many(a, nat)
        out = np.where(b > a, worked, 0) / 1e6
        return np.where(nat, np.nan, out)

    def add_working_seconds_many(self, starts: np.ndarray, seconds: np.ndarray | float) -> np.ndarray:
        """Vectorised `add_working_seconds` (datetime64[us] UTC; NaT where start is NaT or seconds NaN)."""
        a, nat = _as_us(starts)
        s = np.broadcast_to(np.asarray(seconds, dtype=np.float64), a.shape)
        nat = nat | np.isnan(s)
        if (s[~nat] < 0).any():
            raise ValueError("seconds must be >= 0")
        target = self._worked_until_many(a, nat) + np.round(np.where(nat, 0, s) * 1e6).astype(np.int64)
        j = np.searchsorted(self._cum_us, target, side="left")
        if (j[~nat] > _NDAYS).any():
            raise ValueError(f"a span runs past {LAST_DAY}")
        jm = np.maximum(j - 1, 0)
        at = np.where(j > 0, self._midnights[jm] + target - self._cum_us[jm], a)
        return np.where(nat, _NAT, np.maximum(a, at)).view("datetime64[us]")

    def fallback_many(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Vectorised "does [start, end) touch a fallback year" (bool; False where NaT)."""
        a, nat_a = _as_us(starts)
        b, nat_b = _as_us(ends)
        a, b = np.broadcast_arrays(a, b)
        nat = np.broadcast_to(nat_a, a.shape) | np.broadcast_to(nat_b, b.shape)
        first = self._instant_index_many(a, nat)
        last = self._instant_index_many(np.maximum(a, b - 1), nat)
        touched = self._fallback_cum[last + 1] - self._fallback_cum[first]
        return np.where(nat, False, touched > 0)

    # ---------------------------------------------------------------- internals

    def _local(self, us: int) -> datetime:
        return (_EPOCH + timedelta(microseconds=us)).astimezone(self.tz)

    def _as_date(self, value: date) -> date:
        if isinstance(value, datetime):
            return value.astimezone(self.tz).date() if value.tzinfo else value.date()
        return value

    def _date_index(self, day: date) -> int:
        i = (day - FIRST_DAY).days
        if not 0 <= i < _NDAYS:
            raise ValueError(f"{day.isoformat()} is outside {FIRST_DAY}..{LAST_DAY}")
        return i

    def _instant_index(self, us: int) -> int:
        i = int(np.searchsorted(self._midnights, us, side="right")) - 1
        if not 0 <= i < _NDAYS:
            raise ValueError(f"instant {us} µs is outside {FIRST_DAY}..{LAST_DAY}")
        return i

    def _instant_index_many(self, us: np.ndarray, nat: np.ndarray) -> np.ndarray:
        # A local day starts within ±14 h of the UTC day boundary, so the local day index is
        # the UTC day's, one before or one after: two gathers instead of a binary search
        # (several times faster on 15,000 random instants).
        m = self._midnights
        i = np.clip(np.where(nat, 0, us) // _DAY_US + 1, 0, _NDAYS)
        i -= m[i] > us
        np.clip(i, 0, _NDAYS, out=i)
        i -= m[i] > us
        np.clip(i, 0, _NDAYS, out=i)
        bad = ((i >= _NDAYS) | (m[i] > us)) & ~nat
        if bad.any():
            raise ValueError(f"{int(bad.sum())} value(s) outside {FIRST_DAY}..{LAST_DAY}")
        return np.where(nat, 0, i)

    @staticmethod
    def _check_index(i: np.ndarray, nat: np.ndarray) -> None:
        bad = ((i < 0) | (i >= _NDAYS)) & ~nat
        if bad.any():
            raise ValueError(f"{int(bad.sum())} value(s) outside {FIRST_DAY}..{LAST_DAY}")

    def _worked_until(self, us: int) -> int:
        i = self._instant_index(us)
        return int(self._cum_us[i]) + (us - int(self._midnights[i])) * int(self._working[i])

    def _worked_until_many(self, us: np.ndarray, nat: np.ndarray) -> np.ndarray:
        i = self._instant_index_many(us, nat)
        return self._cum_us[i] + np.where(nat, 0, us - self._midnights[i]) * self._working[i]


def _as_us(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(values)
    if not np.issubdtype(a.dtype, np.datetime64):
        raise TypeError(f"expected a datetime64 array of UTC instants, got {a.dtype}")
    a = a.astype("datetime64[us]")
    return a.view(np.int64), np.isnat(a)


# -------------------------------------------------------------------- the database's calendar

_lock = threading.Lock()
_cache: dict[int, WorkCalendar] = {}
_CACHE_SIZE = 4


def read_version() -> int:
    """The calendar's version counter (0 when the row is missing, e.g. just after a flush)."""
    from .models import CalendarVersion

    return CalendarVersion.objects.filter(pk=1).values_list("value", flat=True).first() or 0


def load(version: int | None = None) -> WorkCalendar:
    """Build a calendar from the tables, uncached. Read the version before the rows: a version
    read after them could label old rows with a newer edit's number and keep them forever."""
    from .models import CalendarDay, CalendarYear

    if version is None:
        version = read_version()
    days = tuple(CalendarDay.objects.order_by("date").values_list("date", "working", "name"))
    years = frozenset(CalendarYear.objects.filter(complete=True).values_list("year", flat=True))
    return WorkCalendar(days=days, official_years=years, tz_name=_default_tz_name(), version=version)


def current() -> WorkCalendar:
    """The database's calendar: one query for the version, a rebuild only after an edit.

    Thread-safe: one thread builds, the others wait and share it. Several versions are kept
    because threads in different transactions may see different ones for a moment."""
    version = read_version()
    cal = _cache.get(version)
    if cal is not None and version:
        return cal
    with _lock:
        cal = _cache.get(version)
        if cal is not None and version:
            return cal
        cal = load(version)
        if version:
            _cache[version] = cal
            while len(_cache) > _CACHE_SIZE:
                _cache.pop(min(_cache))
    return cal


def forget() -> None:
    """Drop the process cache (tests that swap databases)."""
    with _lock:
        _cache.clear()
