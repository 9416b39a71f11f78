"""A registry of things other apps have routed to grids (reports, positions, cases later).

Boundaries must not import the apps that use it, yet a diff must list the open items a redraw
touches and the blind-spot view must list what was reported inside. Those apps register a
source here at start-up (AppConfig.ready); boundaries only calls the interface.
"""

from __future__ import annotations

from typing import Protocol

import shapely


class RoutedItemSource(Protocol):
    name: str
    item_type: str  # the "type" of the dicts it returns

    def visible(self, user, items: list[dict]) -> list[dict]:
        """The ones of `items` (all of this source's type) that `user` may read."""

    def affected_by(self, old_edition, new_edition, codes: set[str]) -> list[dict]:
        """Open items routed to any of `codes`, or that would route differently in `new_edition`."""

    def inside(self, edition, geom: shapely.Geometry) -> list[dict]:
        """Items whose location lies inside `geom` (WGS-84)."""


SOURCES: list[RoutedItemSource] = []


def register(source: RoutedItemSource) -> None:
    if all(s.name != source.name for s in SOURCES):
        SOURCES.append(source)


def affected_by(old_edition, new_edition, codes: set[str]) -> list[dict]:
    return [item for s in SOURCES for item in s.affected_by(old_edition, new_edition, codes)]


def inside(edition, geom: shapely.Geometry) -> list[dict]:
    return [item for s in SOURCES for item in s.inside(edition, geom)]


def visible_to(user, items: list[dict]) -> list[dict]:
    """The items `user` may read, in their order. Each source rules on its own items; an item
    no registered source claims is dropped (nobody vouched that it may be shown)."""
    kept: set[int] = set()
    for source in SOURCES:
        mine = [i for i in items if i.get("type") == source.item_type]
        kept.update(id(i) for i in source.visible(user, mine))
    return [i for i in items if id(i) in kept]
