"""Who receives an event, decided on the server from the audience stored with it.

An `Audience` names its receivers by role, user, unit and grid code; a `Viewer` is what one
connection is (loaded once when it connects). `matches` is the one rule, used by the polling
endpoint and checked against the stream's index (gisgrid/push/hub.py) by the tests. Pure: no
database, no Django.

Units and grid codes count only for the roles that are served by them (the cases' visibility
rules, gisgrid/cases/visibility.py): a viewer's units only when they are unit staff, their grid
codes only when they are a grid member; `Viewer` is built that way (viewer.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

TOPICS = ("case", "position", "edition", "notice")
# Not a topic: reaches every stream whatever its topics ("reload your snapshot": a change too
# big to send as events, or a resume from an id no longer kept).
RESET = "reset"


def wanted(kind: str, topics: frozenset[str] | None) -> bool:
    return topics is None or kind == RESET or kind in topics


@dataclass(frozen=True)
class Audience:
    everyone_signed_in: bool = False
    roles: frozenset[str] = field(default_factory=frozenset)
    user_ids: frozenset[int] = field(default_factory=frozenset)
    unit_ids: frozenset[int] = field(default_factory=frozenset)
    grid_codes: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, *, everyone_signed_in: bool = False, roles: Iterable[str] = (), user_ids: Iterable[int | None] = (),
           unit_ids: Iterable[int | None] = (), grid_codes: Iterable[str | None] = ()) -> Audience:
        """An audience from any iterables; None and empty entries are left out."""
        return cls(everyone_signed_in, frozenset(r for r in roles if r), frozenset(int(u) for u in user_ids if u),
                   frozenset(int(u) for u in unit_ids if u), frozenset(c for c in grid_codes if c))

    def as_columns(self) -> dict:
        return {"everyone_signed_in": self.everyone_signed_in, "roles": sorted(self.roles),
                "user_ids": sorted(self.user_ids), "unit_ids": sorted(self.unit_ids),
                "grid_codes": sorted(self.grid_codes)}


@dataclass(frozen=True)
class Viewer:
    """One signed-in connection: its user id, roles, units (unit staff) and grid codes (grid members)."""

    user_id: int
    roles: frozenset[str] = field(default_factory=frozenset)
    unit_ids: frozenset[int] = field(default_factory=frozenset)
    grid_codes: frozenset[str] = field(default_factory=frozenset)


def matches(audience: Audience, viewer: Viewer) -> bool:
    return bool(audience.everyone_signed_in or viewer.user_id in audience.user_ids
                or audience.roles & viewer.roles or audience.unit_ids & viewer.unit_ids
                or audience.grid_codes & viewer.grid_codes)


def parse_topics(value: str | None) -> frozenset[str] | None:
    """`?topics=case,position` as a set; None (all) when absent or empty. Unknown names raise
    ValueError naming them."""
    if value is None or not value.strip():
        return None
    asked = {t.strip() for t in value.split(",") if t.strip()}
    unknown = sorted(asked - set(TOPICS))
    if unknown:
        raise ValueError(", ".join(unknown))
    return frozenset(asked)
