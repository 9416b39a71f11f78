"""Validate an edition stored in the database with the pure validation engine."""

from __future__ import annotations

from .geometry import from_geos
from .models import Edition, Grid
from .validation import Finding, GridFeature, ValidationConfig, validate


def edition_features(edition: Edition) -> list[GridFeature]:
    grids = Grid.objects.filter(edition=edition).select_related("parent").only(
        "code", "name", "level", "geom", "parent__code").order_by("level", "code")
    return [GridFeature(g.code, g.level, g.parent.code if g.parent_id else None, from_geos(g.geom), g.name)
            for g in grids]


def validate_edition(edition: Edition, config: ValidationConfig | None = None) -> list[Finding]:
    county = from_geos(edition.county_geom) if edition.county_geom else None
    return validate(edition_features(edition), county, config)
