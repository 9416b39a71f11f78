"""Load a county dataset directory (Heyang's by default) into the database, idempotently.

Layout of a dataset directory (see geodata/README.md): county.geojson, grids.geojson,
units.csv, staff.csv, categories.csv, and optional compounds.geojson / streets.geojson.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from gisgrid.audit.log import record
from gisgrid.boundaries import directory, editions, importing
from gisgrid.boundaries.importing import read_county
from gisgrid.boundaries.models import Edition
from gisgrid.boundaries.places_import import import_places_file
from gisgrid.incidents.matters import load_categories

log = logging.getLogger(__name__)


@dataclass
class LoadReport:
    edition: Edition | None = None
    grids_loaded: bool = False
    counts: dict = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)


def load_dataset(directory_path: Path, *, user=None, force_grids: bool = False, progress: bool = False) -> LoadReport:
    """Load units, grids (a new active edition when none is active, or with force), staff, places, matters."""
    d = Path(directory_path)
    report = LoadReport()
    with transaction.atomic():
        report.counts["units"] = directory.load_units(d / "units.csv")
        active = editions.active_edition()
        if active is None or force_grids:
            county, code, name = read_county(d / "county.geojson")
            read = importing.read_grid_file(d / "grids.geojson", progress=progress)
            result = importing.import_rows(
                read, edition_name=f"{name or code} 网格 ({d.name})", county_geom=county,
                county_code=code, county_name=name, user=user,
            )
            report.edition = editions.publish(result.edition, user=user)
            report.grids_loaded = True
            report.counts["grids"] = result.created
        else:
            report.edition = active
            report.messages.append(f"active edition {active.pk} kept (use --force-grids to load a new one)")
        report.counts["staff"] = directory.load_staff(d / "staff.csv")
        place_files = [p for p in (d / "compounds.geojson", d / "streets.geojson") if p.exists()]
        report.counts["places"] = directory.load_places(place_files, report.edition)
        if (d / "places.geojson").exists():  # landmarks (docs/geocoding.md)
            report.counts["landmarks"] = import_places_file(d / "places.geojson", source=f"{d.name}/places.geojson").created
        report.counts["categories"] = load_categories(d / "categories.csv")
        record(user, "dataset.load", object_type="dataset", object_id=str(d.name), directory=str(d),
               counts=report.counts, edition=report.edition.pk)
    return report
