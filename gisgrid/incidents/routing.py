"""route(place, category): who handles a matter at a place, and by when.

The location decides the grid chain and the territorial owner (the level-1 town or street
office) and the grid staff to notify; the matter list decides whether the territory, a county
department, or a lead unit with assisting units handles it, and the time limit. The rule that
decided is returned in words, so the dispatcher can see why.

`route` decides from a located point (`locate.PointAnswer`); `route_place` first turns what a
caller has, a point in any datum or a typed address (a hotline call often has only the latter),
into that located point.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gisgrid.boundaries import locate
from gisgrid.boundaries.gazetteer import search_places
from gisgrid.boundaries.locate import PointAnswer
from gisgrid.boundaries.models import Grid, Unit
from gisgrid.errors import BadRequest, Text

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


@dataclass
class RoutedPlace:
    """A routing decision with the location it was decided on and, when the caller gave an
    address, the gazetteer's match (a place as `gazetteer.search_places` gives it)."""

    routing: Routing
    location: PointAnswer
    geocoded: dict | None = None


def territorial_unit(location: PointAnswer) -> Unit | None:
    """The level-1 grid's own unit (town government or street office)."""
    level1 = location.grid(1)
    if level1 is None:
        return None
    grid = Grid.objects.filter(edition_id=location.edition_id, code=level1.code).select_related("unit").first()
    return grid.unit if grid else None


def route(location: PointAnswer, category: Category) -> Routing:
    """Who handles `category` at `location` (one answer of locate.locate_points)."""
    if isinstance(location, Mapping):
        # The JSON form of an answer (locate.locate(), which incidents/reports.py still reads).
        from gisgrid.boundaries.locate_api import answer_from_json

        location = answer_from_json(location)
    days = SEVERITY_WORKING_DAYS[category.severity]
    assisting = list(category.assisting_units.order_by("code"))
    if location.status == "outside":
        centre = Unit.objects.filter(kind=COMMAND_CENTRE_KIND).first()
        lead = category.lead_unit or centre
        return Routing(category, lead, assisting, days, "outside",
                       "位置不在本县网格内，由指挥中心人工核实后派遣 (outside the county: the centre decides)")
    town = territorial_unit(location)
    if category.rule == Category.Rule.TERRITORIAL or category.lead_unit is None:
        where = location.grids[0].name
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


def route_place(category: Category, *, point: tuple[float, float] | None = None, crs: str = "wgs84",
                address: str | None = None, tolerance_m: float = 20.0, edition_id: int | None = None) -> RoutedPlace:
    """Route `category` at a point (lon, lat in `crs`) or, without one, at the best gazetteer
    match for a typed address. A point wins when both are given.

    Raises BadRequest naming `address` when nothing matches the address, `edition` when there is
    no such edition (or no active one), and locate.LocateInputError (lon, lat, crs) for a bad point.
    """
    geocoded = None
    if point is None:
        if not address:
            raise BadRequest(Text("需要 lon+lat 或 address", "give lon and lat, or address"), field="lon")
        places = search_places(address, 1)
        if not places:
            raise BadRequest(Text(f"找不到地址 {address!r}", f"no place matches {address!r}"), field="address")
        geocoded = places[0]
        point, crs = tuple(geocoded["point"]), "wgs84"
    try:
        _, answers = locate.locate_points([point[0]], [point[1]], crs, tolerance_m=tolerance_m, edition_id=edition_id,
                                          field="lonlat")
    except LookupError:
        raise BadRequest(Text("尚无现行版本，请先导入网格", "no active edition; load a dataset first")
                         if edition_id is None else Text(f"没有版本 {edition_id}", f"no edition {edition_id}"),
                         field="edition") from None
    return RoutedPlace(route(answers[0], category), answers[0], geocoded)


__all__ = ["Routing", "RoutedPlace", "route", "route_place", "territorial_unit", "COMMAND_CENTRE_KIND"]
