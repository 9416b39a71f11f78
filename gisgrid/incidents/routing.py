"""route(point, category): who handles a matter at a place, and by when.

The location decides the grid chain and the territorial owner (the level-1 town or street
office) and the grid staff to notify; the matter list decides whether the territory, a county
department, or a lead unit with assisting units handles it, and the time limit. The rule that
decided is returned in words, so the dispatcher can see why.
"""

from __future__ import annotations

from dataclasses import dataclass

from gisgrid.boundaries.models import Grid, Unit

from .models import SEVERITY_WORKING_DAYS, Category

COMMAND_CENTRE_KIND = Unit.Kind.COUNTY


@dataclass
class Routing:
    category: Category
    lead_unit: Unit | None
    assisting_units: list[Unit]
    limit_working_days: int
    rule: str
    reason: str


def territorial_unit(location: dict) -> Unit | None:
    """The level-1 grid's own unit (town government or street office)."""
    level1 = next((g for g in location.get("grids", []) if g["level"] == 1), None)
    if level1 is None:
        return None
    grid = Grid.objects.filter(edition_id=location["edition"]["id"], code=level1["code"]).select_related("unit").first()
    return grid.unit if grid else None


def route(location: dict, category: Category) -> Routing:
    """`location` is one answer of boundaries.locate.locate()."""
    days = SEVERITY_WORKING_DAYS[category.severity]
    assisting = list(category.assisting_units.order_by("code"))
    if location["status"] == "outside":
        centre = Unit.objects.filter(kind=COMMAND_CENTRE_KIND).first()
        lead = category.lead_unit or centre
        return Routing(category, lead, assisting, days, "outside",
                       "位置不在本县网格内，由指挥中心人工核实后派遣 (outside the county: the centre decides)")
    town = territorial_unit(location)
    if category.rule == Category.Rule.TERRITORIAL or category.lead_unit is None:
        where = location["grids"][0]["name"]
        return Routing(category, town, assisting, days, Category.Rule.TERRITORIAL,
                       f"属地管理：由{where}负责 (territorial: the level-1 grid's unit handles it)")
    if category.rule == Category.Rule.DEPARTMENT:
        # The department leads; units the matter list names as assisting still assist.
        return Routing(category, category.lead_unit, assisting, days, Category.Rule.DEPARTMENT,
                       f"事项清单：由{category.lead_unit.name}负责 (matter list: a county department)")
    # Lead + assisting: the town joins as an assistant when it is not already named, since
    # cross-department matters still need the territory on site.
    if town is not None and town not in assisting and town != category.lead_unit:
        assisting.append(town)
    return Routing(category, category.lead_unit, assisting, days, Category.Rule.LEAD,
                   f"事项清单：{category.lead_unit.name}主办，{len(assisting)}个单位协办 (lead unit with assisting units)")


def routing_dict(r: Routing, location: dict) -> dict:
    def unit(u: Unit | None):
        return {"code": u.code, "name": u.name} if u else None

    return {
        "category": {"code": r.category.code, "name": r.category.name, "severity": r.category.severity},
        "limit_working_days": r.limit_working_days,
        "rule": r.rule,
        "reason": r.reason,
        "lead_unit": unit(r.lead_unit),
        "assisting_units": [unit(u) for u in r.assisting_units],
        "notify": location.get("staff", []),
        "location": location,
    }
