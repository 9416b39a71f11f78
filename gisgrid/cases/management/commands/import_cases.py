"""./run manage import_cases FILE.csv: past cases in, all or nothing (columns: docs/cases.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from gisgrid.cases.importing import ImportFailed, import_cases


class Command(BaseCommand):
    help = "Import past cases from a CSV file (columns in docs/cases.md). Any bad row: nothing is stored."

    def add_arguments(self, parser):
        parser.add_argument("csv", help="UTF-8 CSV with a header row")

    def handle(self, *args, **opts):
        try:
            result = import_cases(opts["csv"])
        except FileNotFoundError:
            raise CommandError(f"no such file: {opts['csv']}") from None
        except UnicodeDecodeError as exc:
            raise CommandError(f"{opts['csv']}: not UTF-8 ({exc})") from None
        except ImportFailed as exc:
            for e in exc.errors:
                self.stderr.write(str(e))
            raise CommandError(f"{len(exc.errors)} problem(s) in {opts['csv']}: nothing was imported") from None
        self.stdout.write(self.style.SUCCESS(
            f"导入 imported {result['cases']} cases ({result.get('open', 0)} open), "
            f"{result.get('work_orders', 0)} work orders, {result.get('events', 0)} timeline events"))
