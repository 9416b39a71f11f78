from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gisgrid.boundaries.directory import DatasetError
from gisgrid.boundaries.editions import EditionError
from gisgrid.boundaries.importing import GridImportError
from gisgrid.datasets.loader import load_dataset


class Command(BaseCommand):
    help = "Load a county dataset directory (default: geodata/heyang) — units, grids, staff, gazetteer, matter list."

    def add_arguments(self, parser):
        parser.add_argument("directory", nargs="?", default=str(settings.GISGRID_DATASET_DIR))
        parser.add_argument("--force-grids", action="store_true",
                            help="load the grids as a new edition and publish it even if one is active")

    def handle(self, *args, **opts):
        path = Path(opts["directory"])
        if not path.is_dir():
            raise CommandError(f"{path}: not a directory")
        try:
            report = load_dataset(path, force_grids=opts["force_grids"], progress=True)
        except (DatasetError, GridImportError) as exc:
            raise CommandError(str(exc)) from None
        except EditionError as exc:
            lines = [str(exc)] + [f"  {f.kind} level {f.level} {','.join(f.codes)}: {f.message}" for f in exc.findings[:20]]
            raise CommandError("\n".join(lines)) from None
        for msg in report.messages:
            self.stdout.write(msg)
        counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
        self.stdout.write(self.style.SUCCESS(f"loaded {path}: {counts}; active edition {report.edition.pk}"))
