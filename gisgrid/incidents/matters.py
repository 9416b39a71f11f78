"""The matter list (事项清单): loading it from CSV."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction

from gisgrid.boundaries.directory import DatasetError, read_csv
from gisgrid.boundaries.models import Unit

from .models import Category


@transaction.atomic
def load_categories(path: Path) -> int:
    rows = read_csv(path, ["code", "name", "parent_code", "severity", "rule", "lead_unit", "assisting_units"])
    units = {u.name: u for u in Unit.objects.all()}

    def unit(name: str, line: int) -> Unit | None:
        if not name:
            return None
        if name not in units:
            raise DatasetError(f"{path}:{line}: unknown unit {name!r} (add it to units.csv)")
        return units[name]

    seen: dict[str, Category] = {}
    for i, r in enumerate(rows, start=2):
        if r["severity"] not in Category.Severity.values:
            raise DatasetError(f"{path}:{i}: unknown severity {r['severity']!r}")
        if r["rule"] not in Category.Rule.values:
            raise DatasetError(f"{path}:{i}: unknown rule {r['rule']!r}")
        lead = unit(r["lead_unit"], i)
        if r["rule"] in ("department", "lead") and lead is None:
            raise DatasetError(f"{path}:{i}: rule {r['rule']} needs a lead_unit")
        parent = seen.get(r["parent_code"]) if r["parent_code"] else None
        if r["parent_code"] and parent is None:
            raise DatasetError(f"{path}:{i}: parent {r['parent_code']} must come before its children")
        cat, _ = Category.objects.update_or_create(
            code=r["code"],
            defaults={
                "name": r["name"], "parent": parent, "standard_class": r.get("standard_class", ""),
                "severity": r["severity"], "rule": r["rule"], "lead_unit": lead,
                "description": r.get("description", ""),
            },
        )
        cat.assisting_units.set([unit(n, i) for n in r["assisting_units"].split("|") if n])
        seen[cat.code] = cat
    return len(rows)
