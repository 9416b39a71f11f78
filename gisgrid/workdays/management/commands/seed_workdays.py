from __future__ import annotations

import re

from django.core.management.base import BaseCommand, CommandError

from gisgrid.workdays.models import FIRST_YEAR, LAST_YEAR
from gisgrid.workdays.seeding import default_years, seed


def parse_years(text: str) -> list[int]:
    """'2004-2027', '2026', '2025,2026' or a mix ('2004-2010,2026')."""
    years: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = re.fullmatch(r"(\d{4})(?:\s*[-–]\s*(\d{4}))?", part)
        if not m:
            raise CommandError(f"--years: '{part}' is not a year or a range like 2004-2027")
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if first > last:
            raise CommandError(f"--years: {first}-{last} runs backwards")
        if first < FIRST_YEAR or last > LAST_YEAR:
            raise CommandError(f"--years: {part} is outside {FIRST_YEAR}-{LAST_YEAR}")
        years.update(range(first, last + 1))
    if not years:
        raise CommandError("--years: no year given")
    return sorted(years)


class Command(BaseCommand):
    help = (
        "Fill the working-day calendar (holidays and make-up working days) from chinesecalendar, "
        "then holidays where it carries the State Council's notice. Idempotent; rows entered in "
        "the admin are never overwritten. Years no package has fall back to Monday–Friday."
    )

    def add_arguments(self, parser):
        d = default_years()
        parser.add_argument("--years", default=f"{d.start}-{d.stop - 1}", help="e.g. 2004-2027 (default: %(default)s)")

    def handle(self, *args, **opts):
        report = seed(parse_years(opts["years"]))
        if opts["verbosity"] >= 1:
            for result in report.years:
                self.stdout.write(result.line())
        summary = (
            f"calendar: {report.created} days added, {report.updated} updated, {report.deleted} removed, "
            f"{report.years_written} years written, {report.kept_admin_days} admin days kept"
        )
        self.stdout.write(self.style.SUCCESS(summary))
        if report.fallback_years:
            years = ", ".join(map(str, report.fallback_years))
            self.stdout.write(self.style.WARNING(
                f"no official data for {years}: Monday–Friday assumed and flagged; enter the notice "
                "in the admin (工作日历 › 日历年度) when the State Council publishes it"
            ))
