"""Official holiday arrangements read from maintained packages, one year's notice at a time.

Two packages, in this order of preference:

* `chinesecalendar` (import chinese_calendar): a table of the State Council's notices —
  days off *and* make-up working days (调休上班) — for 2004 up to its last year (2026 in 1.11.0);
  it raises for later years.
* `holidays`: its `China` class computes the statutory festivals by rule for any year and
  overlays each year's notice from a static table (`ChinaStaticHolidays.special_public_holidays`,
  one entry per notice: "day off, substituted from working day"). A year in that table is the
  notice; a year outside it is only the rule — festival days plus "observed" Mondays, no make-up
  working days, often wrong (for 2027 in 0.109 it has Oct 4–5 observed and nothing worked) — so
  such a year is refused. Make-up working days are the "substituted from" dates of the table.
  For 2004–2026 this reading agrees day for day with chinesecalendar (tests/test_workdays.py).

A year neither package has as a notice returns None: no CalendarYear row, Monday–Friday fallback.
"""

from __future__ import annotations

import functools
import importlib.metadata
from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass(frozen=True)
class YearNotice:
    year: int
    source: str  # "chinesecalendar 1.11.0" / "holidays 0.109"
    # date -> (working, name). Off days within the year (weekend ones included, for their name);
    # make-up working days, which may fall in late December of the year before.
    days: dict[date, tuple[bool, str]] = field(default_factory=dict)

    @property
    def days_off(self) -> int:
        return sum(1 for working, _ in self.days.values() if not working)

    @property
    def makeup_days(self) -> int:
        return sum(1 for working, _ in self.days.values() if working)


@functools.lru_cache(maxsize=8)
def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


@functools.lru_cache(maxsize=1)
def _chinesecalendar_by_year() -> dict[int, dict[date, tuple[bool, str]]]:
    """chinesecalendar's tables grouped by year once per process (its data never changes in one)."""
    try:
        from chinese_calendar import constants
    except ImportError:
        return {}
    chinese = {h.value: h.chinese for h in constants.Holiday}
    years: dict[int, dict[date, tuple[bool, str]]] = {
        y: {} for y in range(min(constants.holidays).year, max(constants.holidays).year + 1)
    }
    for d, name in constants.holidays.items():
        years.setdefault(d.year, {})[d] = (False, chinese.get(name, name))
    for d, name in constants.workdays.items():
        years.setdefault(d.year, {})[d] = (True, f"{chinese.get(name, name)}调休上班")
    return years


def from_chinesecalendar(year: int) -> YearNotice | None:
    days = _chinesecalendar_by_year().get(year)
    if days is None:
        return None
    return YearNotice(year, f"chinesecalendar {_version('chinesecalendar')}", dict(days))


def from_holidays(year: int) -> YearNotice | None:
    try:
        import holidays
        from holidays.countries.china import ChinaStaticHolidays
    except ImportError:
        return None
    table = getattr(ChinaStaticHolidays, "special_public_holidays", {})
    if year not in table:
        return None
    off = holidays.China(years=year, categories=("public",), language="zh_CN")
    names = {d: n for d, n in off.items() if d.year == year}
    # An "estimated" label means the package computed the day rather than read the notice.
    if any("推定" in n or "estimated" in n.lower() for n in names.values()):
        return None
    days: dict[date, tuple[bool, str]] = {d: (False, n) for d, n in names.items()}
    entries = table[year]
    if entries and isinstance(entries[0], int):  # a year with a single entry is stored flat
        entries = (entries,)
    for entry in entries:
        # (month, day, from_month, from_day[, from_year]): the day off was worked on "from".
        if len(entry) >= 4 and isinstance(entry[2], int):
            off_day = date(year, entry[0], entry[1])
            worked = date(entry[4] if len(entry) == 5 else year, entry[2], entry[3])
            days[worked] = (True, f"调休上班（{off_day.month}月{off_day.day}日休息）")
    return YearNotice(year, f"holidays {_version('holidays')}", days)


def notice_for(year: int) -> YearNotice | None:
    """The year's official arrangement from the first package that has it, or None."""
    return from_chinesecalendar(year) or from_holidays(year)


def working_days_of(notice: YearNotice) -> dict[date, bool]:
    """Every date of the notice's year -> worked? (weekday rule where the notice is silent)."""
    out = {}
    d = date(notice.year, 1, 1)
    while d.year == notice.year:
        entry = notice.days.get(d)
        out[d] = entry[0] if entry else d.weekday() < 5
        d += timedelta(days=1)
    return out
