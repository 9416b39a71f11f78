"""Coverage and the duty schedule as a supervisor asks for them: whose tracks, which grids, who
is missing. coverage.py measures tracks against grids; this module decides what a question
about a period, a team or named people answers:

- the tracks read are those of the people asked about (None: everybody's), of one role if asked;
- a person asked about by name who sent no fix still gets a row, of zeros (the supervisor asked
  about them, "nothing" is the answer), unless the role asked for is not theirs;
- each person who serves grids (a grid member's own grid, a chief's) gets, per grid served,
  whether they walked it, measured against every grid of the edition whatever level was asked;
- a team asked for by role (no names): its active members who sent no fix at all (`no_fixes`).

Plain functions over plain arguments; bad values raise gisgrid.errors (a 400 naming the field).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings

from gisgrid.boundaries.models import GridAssignment, Person
from gisgrid.errors import BadRequest, Text

from . import coverage as cov
from .tracks import TooManyFixes, Track, load_tracks


@dataclass(frozen=True)
class NoFix:
    """A member of the team asked about who sent no fix in the period."""

    person_id: int
    name: str
    role: str


@dataclass
class CoverageReport:
    start: dt.datetime
    end: dt.datetime
    level: int | None
    urban_only: bool
    radius_m: float
    role: str | None
    grids: cov.GridSet  # the grids measured (their edition: grids.edition_id, edition_name)
    result: cov.CoverageResult  # people include the zero rows and each one's own grids
    no_fixes: list[NoFix] = field(default_factory=list)


@dataclass
class ScheduleReport:
    start: dt.datetime
    end: dt.datetime
    rule: dict  # settings.GISGRID_PATROL_SCHEDULE merged with the caller's
    grids: cov.GridSet
    windows: list[tuple[dt.datetime, dt.datetime]]
    rows: list[cov.GridSchedule]


def edition_grids(edition_id: int | None, level: int | None = None, urban_only: bool = False) -> cov.GridSet:
    """The metric grids of an edition (None: the active one); a 400 naming `edition` if none."""
    try:
        return cov.grid_set(edition_id, level=level, urban_only=urban_only)
    except LookupError:
        raise BadRequest(Text("尚无现行版本，请先导入网格", "no active edition; load a dataset first") if edition_id is None
                         else Text(f"没有版本 {edition_id}", f"no edition {edition_id}"), field="edition") from None


def read_tracks(start: dt.datetime, end: dt.datetime, people: list[Person] | None, role: str | None,
                max_fixes: int | None = None) -> list[Track]:
    """The tracks of `people` (None: everybody) in [start, end), of `role` only if given; more
    than `max_fixes` fixes is a 400 naming `end` (the period is what to narrow)."""
    try:
        return load_tracks(start, end, person_ids=None if people is None else [p.pk for p in people], role=role,
                           max_fixes=max_fixes)
    except TooManyFixes as exc:
        raise BadRequest(Text(f"时段内定位点超过 {exc.limit} 个, 请缩短时段或指定人员",
                              f"more than {exc.limit} fixes: shorten the period or name people"), field="end") from None


def served_grids(person_ids: list[int]) -> dict[int, list[str]]:
    """The grid codes each person serves (GridAssignment), for those who serve any."""
    out: dict[int, list[str]] = {}
    for pid, code in (GridAssignment.objects.filter(person_id__in=person_ids)
                      .order_by("grid_code").values_list("person_id", "grid_code")):
        out.setdefault(pid, []).append(code)
    return out


def zero_rows(result: cov.CoverageResult, people: list[Person] | None, role: str | None) -> list[cov.PersonCoverage]:
    """Rows of zeros for the people asked about by name who have none (sent no fix), in the
    order asked; a person of another role than the one asked for is left out, as their track is."""
    if people is None:
        return []
    seen = {p.person_id for p in result.people}
    return [cov.PersonCoverage(p.pk, p.name, p.role, [], 0.0, 0.0, 0, 0, [])
            for p in people if p.pk not in seen and (role is None or p.role == role)]


def no_fixes(result: cov.CoverageResult, people: list[Person] | None, role: str | None) -> list[NoFix]:
    """For a team asked for by role (and not by name): its active members without a track, by name."""
    if role is None or people is not None:
        return []
    present = [p.person_id for p in result.people]
    return [NoFix(p.pk, p.name, p.role)
            for p in Person.objects.filter(role=role, active=True).exclude(pk__in=present).order_by("name")]


def patrol_coverage(start: dt.datetime, end: dt.datetime, *, edition_id: int | None = None, level: int | None = 3,
                    urban_only: bool = False, role: str | None = None, people: list[Person] | None = None,
                    radius_m: float | None = None, max_fixes: int | None = None) -> CoverageReport:
    """Coverage of the grids of `level` (None: all; urban ones only if asked) in [start, end) by
    `people` (None: everybody), of `role` if given; with the zero rows, own grids and the team's
    absentees described in the module docstring."""
    radius = float(settings.GISGRID_PATROL_RADIUS_M if radius_m is None else radius_m)
    grids = edition_grids(edition_id, level, urban_only)
    tracks = read_tracks(start, end, people, role, max_fixes)
    result = cov.coverage(tracks, grids, radius_m=radius)
    result.people += zero_rows(result, people, role)
    serves = served_grids([p.person_id for p in result.people])
    if serves:
        own = cov.own_grids(tracks, edition_grids(grids.edition_id), serves, radius_m=radius)
        for p in result.people:
            p.own_grids = own.get(p.person_id, [])
    return CoverageReport(start, end, level, urban_only, radius, role, grids, result,
                          no_fixes(result, people, role))


def patrol_schedule(start: dt.datetime, end: dt.datetime, *, edition_id: int | None = None,
                    people: list[Person] | None = None, rule: dict | None = None,
                    max_fixes: int | None = None) -> ScheduleReport:
    """The duty (settings.GISGRID_PATROL_SCHEDULE, overridden by `rule`) per grid and window
    in [start, end), counting the sessions of `people` (None: everybody) of the duty's role."""
    cfg = {**settings.GISGRID_PATROL_SCHEDULE, **(rule or {})}
    grids = edition_grids(edition_id, cfg.get("level"), bool(cfg.get("urban_only")))
    tracks = read_tracks(start, end, people, cfg.get("role"), max_fixes)
    rows = cov.schedule(tracks, grids, start, end, cfg)
    return ScheduleReport(start, end, cfg, grids, cov.windows(start, end, int(cfg["every_days"])), rows)


__all__ = ["NoFix", "CoverageReport", "ScheduleReport", "edition_grids", "read_tracks", "served_grids", "zero_rows",
           "no_fixes", "patrol_coverage", "patrol_schedule"]
