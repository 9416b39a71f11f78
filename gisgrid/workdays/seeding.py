"""Fill the calendar tables from the packages (sources.py); idempotent, the admin's rows win.

Per year asked for:
* a CalendarYear row typed or edited in the admin (source "admin"): the year is left alone;
* a year with a notice in a package: CalendarYear(source "package", complete) and one
  CalendarDay per day off or make-up working day; package rows of that year the package no
  longer lists are deleted; CalendarDay rows of source "admin" are never touched;
* a year no package has: nothing written (Monday–Friday fallback, flagged on clocks); rows an
  earlier seed wrote for it stay.
A second run with the same packages changes nothing (and so does not bump the version).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils import timezone

from .models import CalendarDay, CalendarYear, Source
from .sources import YearNotice, notice_for


@dataclass
class YearResult:
    year: int
    status: str  # "package", "admin" (left alone), "fallback" (no data)
    source: str = ""
    days_off: int = 0
    makeup_days: int = 0

    def line(self) -> str:
        if self.status == "package":
            return f"{self.year}: {self.source} — {self.days_off} days off, {self.makeup_days} make-up working days"
        if self.status == "admin":
            return f"{self.year}: entered by the admin — left as it is"
        return f"{self.year}: no official data in any package — Monday–Friday fallback (flagged on clocks)"


@dataclass
class SeedReport:
    years: list[YearResult] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    deleted: int = 0
    years_written: int = 0
    kept_admin_days: int = 0

    @property
    def fallback_years(self) -> list[int]:
        return [r.year for r in self.years if r.status == "fallback"]

    @property
    def changed(self) -> int:
        return self.created + self.updated + self.deleted + self.years_written


def default_years() -> range:
    """2004 (chinesecalendar's first year) through next year."""
    return range(2004, timezone.localdate().year + 2)


def seed(
    years: Iterable[int] | None = None,
    *,
    using: str = "default",
    notices: Callable[[int], YearNotice | None] = notice_for,
) -> SeedReport:
    years = sorted(set(default_years() if years is None else years))
    report = SeedReport()
    with transaction.atomic(using=using):
        year_rows = {y.year: y for y in CalendarYear.objects.using(using).select_for_update().filter(year__in=years)}
        admin_years = {y for y, row in year_rows.items() if row.source == Source.ADMIN}
        wanted: dict[date, tuple[bool, str]] = {}
        package_years: list[int] = []
        year_writes: list[CalendarYear] = []
        for year in years:
            if year in admin_years:
                report.years.append(YearResult(year, "admin"))
                continue
            notice = notices(year)
            if notice is None:
                report.years.append(YearResult(year, "fallback"))
                continue
            package_years.append(year)
            report.years.append(YearResult(year, "package", notice.source, notice.days_off, notice.makeup_days))
            for d, value in notice.days.items():
                # A make-up day in the December before belongs to this notice; the earlier
                # year's own package (if it lists the date) is kept as the first word.
                if d.year not in admin_years:
                    wanted.setdefault(d, value)
            row = _year_row(year_rows.get(year), year, notice.source)
            if row is not None:
                year_writes.append(row)

        _write_years(year_writes, using)
        report.years_written = len(year_writes)

        managed_years = set(package_years) | {d.year for d in wanted}
        existing = {
            row.date: row
            for row in CalendarDay.objects.using(using).select_for_update().filter(date__year__in=managed_years)
        }
        to_create, to_update, to_delete = [], [], []
        for d, (working, name) in sorted(wanted.items()):
            row = existing.get(d)
            if row is None:
                to_create.append(CalendarDay(date=d, working=working, name=name[:100], source=Source.PACKAGE))
            elif row.source == Source.ADMIN:
                report.kept_admin_days += 1
            elif (row.working, row.name) != (working, name[:100]):
                row.working, row.name = working, name[:100]
                to_update.append(row)
        for d, row in existing.items():
            if row.source == Source.PACKAGE and d.year in package_years and d not in wanted:
                to_delete.append(row.pk)
        if to_create:
            CalendarDay.objects.using(using).bulk_create(to_create)
        if to_update:
            now = timezone.now()
            for row in to_update:
                row.updated_at = now
            CalendarDay.objects.using(using).bulk_update(to_update, ["working", "name", "updated_at"])
        if to_delete:
            CalendarDay.objects.using(using).filter(pk__in=to_delete).delete()
        report.created, report.updated, report.deleted = len(to_create), len(to_update), len(to_delete)
    return report


def _year_row(row: CalendarYear | None, year: int, source: str) -> CalendarYear | None:
    """The year's row as the package has it, or None when it already reads so."""
    note = f"国务院办公厅放假安排，来自 {source}"
    if row is None:
        return CalendarYear(year=year, source=Source.PACKAGE, complete=True, note=note)
    if (row.source, row.complete, row.note) == (Source.PACKAGE, True, note):
        return None
    row.source, row.complete, row.note = Source.PACKAGE, True, note
    return row


def _write_years(rows: list[CalendarYear], using: str) -> None:
    new = [r for r in rows if r.pk is None]
    old = [r for r in rows if r.pk is not None]
    if new:
        CalendarYear.objects.using(using).bulk_create(new)
    if old:
        now = timezone.now()
        for r in old:
            r.updated_at = now
        CalendarYear.objects.using(using).bulk_update(old, ["source", "complete", "note", "updated_at"])
