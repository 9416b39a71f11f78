"""Who receives which push event: the audience rules, pure, and against the API's own rules.

- `matches` for each role on a case, a position, an edition and a notice;
- the stream's index (gisgrid/push/hub.py) picks exactly the streams `matches` picks;
- a case's audience agrees with gisgrid/cases/visibility.py for every demo account, on cases
  the workflow really made (in the test's transaction).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random

import pytest
from django.contrib.auth.models import User
from django.contrib.gis.geos import Point

from gisgrid.accounts import roles
from gisgrid.cases import push_events, visibility, workflow
from gisgrid.incidents.models import Category
from gisgrid.incidents.reports import create_report
from gisgrid.push.audience import Audience, Viewer, matches, parse_topics
from gisgrid.push.hub import Hub
from gisgrid.push.viewer import viewer_of

GRIDS = ["610524001", "610524001018", None]  # town, community, (no level-3 grid)
UNIT_A, UNIT_B = 11, 12


def case_row(**over) -> dict:
    row = {"id": 1, "number": "HY20261201-0001", "state": "dispatched", "clock": "green", "paused": False,
           "supervised": False, "category__code": "E0501", "category__name": "占道经营", "severity": "general",
           "report__point": Point(110.15, 35.24, srid=4326), "report__level1_code": GRIDS[0],
           "report__level2_code": GRIDS[1], "report__level3_code": "", "report__address": "泰山社区",
           "lead_unit_id": UNIT_A, "stage": "acknowledge", "stage_due": None, "complete_due": None,
           "reported_at": None, "updated_at": None, "version": 3, "reporter_user_id": 77}
    return {**row, **over}


def viewer(user_id: int, *role_names: str, units=(), grids=()) -> Viewer:
    return Viewer(user_id, frozenset(role_names), frozenset(units), frozenset(grids))


def test_a_case_reaches_the_centre_chiefs_inspectors_its_units_its_grids_and_its_reporter():
    kind, data, audience = push_events._event(case_row(), [UNIT_A], "dispatch")
    assert kind == "case" and data["grid_codes"] == GRIDS and data["units"] == [UNIT_A]
    assert "reporter_user_id" not in data and data["lon"] == 110.15
    for role in (roles.ADMIN, roles.DISPATCHER, roles.GRID_CHIEF, roles.INSPECTOR):
        assert matches(audience, viewer(1, role))
    assert matches(audience, viewer(2, roles.UNIT_STAFF, units=[UNIT_A]))
    assert not matches(audience, viewer(2, roles.UNIT_STAFF, units=[UNIT_B]))
    assert matches(audience, viewer(3, roles.GRID_MEMBER, grids=["610524001018"]))
    assert matches(audience, viewer(3, roles.GRID_MEMBER, grids=["610524001"]))  # a town covers its communities
    assert not matches(audience, viewer(3, roles.GRID_MEMBER, grids=["610524108006"]))
    assert matches(audience, viewer(77, roles.GRID_MEMBER))  # the reporter, in another grid
    assert not matches(audience, viewer(4, roles.PLANNER))
    assert not matches(audience, viewer(5))


def test_positions_editions_and_notices():
    position = Audience.of(roles=roles.PATROL_SUPERVISOR_ROLES, user_ids=[9])
    for role in roles.PATROL_SUPERVISOR_ROLES:
        assert matches(position, viewer(1, role))
    assert matches(position, viewer(9, roles.GRID_MEMBER))  # their own
    assert not matches(position, viewer(8, roles.GRID_MEMBER, grids=["610524001018"]))
    assert not matches(position, viewer(8, roles.UNIT_STAFF, units=[UNIT_A]))
    assert not matches(position, viewer(8, roles.PLANNER))
    edition = Audience.of(everyone_signed_in=True)
    assert all(matches(edition, viewer(1, r)) for r in roles.ALL_ROLES) and matches(edition, viewer(2))
    to_unit = Audience.of(unit_ids=[UNIT_A], user_ids=[None], roles=[""])
    assert matches(to_unit, viewer(1, roles.UNIT_STAFF, units=[UNIT_A]))
    assert not matches(to_unit, viewer(1, roles.UNIT_STAFF, units=[UNIT_B]))
    assert not matches(to_unit, viewer(1, roles.DISPATCHER))
    to_role = Audience.of(roles=[roles.DISPATCHER])
    assert matches(to_role, viewer(1, roles.DISPATCHER)) and not matches(to_role, viewer(1, roles.ADMIN))


def test_topics():
    assert parse_topics(None) is None and parse_topics(" ") is None
    assert parse_topics("case, position") == {"case", "position"}
    with pytest.raises(ValueError, match="weather"):
        parse_topics("case,weather")


def test_the_streams_index_picks_what_matches_picks():
    rnd = random.Random(12)
    role_pool, units, grids = list(roles.ALL_ROLES), [1, 2, 3, 4], ["a", "b", "c", "d", "e"]

    def some(pool, k):
        return rnd.sample(pool, rnd.randint(0, k))

    async def check() -> None:
        hub = Hub({})
        streams = [hub.open(Viewer(i, frozenset(some(role_pool, 2)), frozenset(some(units, 2)),
                                   frozenset(some(grids, 2))), None)[0] for i in range(300)]
        for s in streams[::7]:
            hub.close(s)
        left = [s for s in streams if s in hub.streams]
        for _ in range(500):
            a = Audience.of(everyone_signed_in=rnd.random() < 0.05, roles=some(role_pool, 2),
                            user_ids=rnd.sample(range(300), rnd.randint(0, 3)), unit_ids=some(units, 2),
                            grid_codes=some(grids, 2))
            assert set(hub.audience_of(a)) == {s for s in left if matches(a, s.viewer)}

    # On a thread of its own: once a browser test has started Playwright's sync API, this
    # thread counts as running an event loop and asyncio.run() refuses.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, check()).result()


def test_a_case_audience_agrees_with_case_visibility(heyang_db):
    def report(category: str, point: tuple[float, float]):
        return create_report(user=None, category=Category.objects.get(code=category), lon=point[0], lat=point[1],
                             crs="wgs84", reporter_name="赵举报", reporter_phone="13700001111")

    dispatcher = User.objects.get(username="dispatcher")
    cases = []
    for category, point, lead in (("E0501", (110.15017, 35.24435), "D-CGJ"), ("E0301", (110.18906, 35.33153), "D-ZJJ"),
                                  ("E0501", (110.1449, 35.2385), None)):
        case = report(category, point).case
        if lead:
            case = workflow.accept(case, dispatcher, version=case.version, lead_unit=lead)
            case = workflow.dispatch(case, dispatcher, version=case.version)
        cases.append(case)
    users = list(User.objects.filter(username__in=["admin", "dispatcher", "unitstaff", "gridmember", "inspector",
                                                   "gridchief", "planner"]))
    assert len(users) == 7
    for case in cases:
        (_kind, _data, audience), = push_events.case_events([case.pk], "test")
        for user in users:
            assert matches(audience, viewer_of(user)) == visibility.can_see(user, case), (case.number, user.username)


def push_probe(rule, w, principal):
    """tests/test_permission_matrix.py's probe for the event endpoints (None for other rules)."""
    from tests.test_permission_matrix import Probe

    probes = {"events": "/api/v1/events?last_event_id=0", "events-changes": "/api/v1/events/changes?after=0"}
    if rule.name in probes and rule.method == "GET":
        return Probe("GET", probes[rule.name])
    return None
