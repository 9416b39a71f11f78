"""Who sees which cases, and likely duplicates (same matter, within 100 m, open or closed in the
last 7 days)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser, User

from gisgrid.boundaries.models import GridAssignment, Person
from gisgrid.cases import duplicates
from gisgrid.cases import workflow as wf
from gisgrid.cases.factories import account, reported_case, unit_staff
from gisgrid.cases.models import Case
from gisgrid.cases.visibility import can_see, case_by_token, visible_cases
from gisgrid.workdays import calendar as workdays_calendar
from gisgrid.workdays.seeding import seed

TZ = ZoneInfo("Asia/Shanghai")
HERE = (110.1449, 35.2385)


def t(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


@pytest.fixture
def cal(heyang_db):
    seed([2026])
    workdays_calendar.forget()
    yield
    workdays_calendar.forget()


def test_who_sees_what(cal):
    d = User.objects.get(username="dispatcher")
    cgj = User.objects.get(username="unitstaff")
    zrzy = unit_staff("D-ZRZY")
    member = account("member-a", "grid_member")
    other_member = account("member-b", "grid_member")
    public = AnonymousUser()
    mine = reported_case("E0103", user=member, lon=110.30, lat=35.30)  # reported by member-a, elsewhere
    here = reported_case("E0103", user=other_member)  # in the grid member-a serves
    dispatched = wf.dispatch(wf.accept(here, d, version=1), d, version=2)
    assisted = reported_case("C0501", lon=110.30, lat=35.30)  # lead 县自然资源局, assisted by D-CGJ; elsewhere
    assisted = wf.dispatch(wf.accept(assisted, d, version=1), d, version=2)
    undispatched = reported_case("E0202")  # D-CGJ's matter, not dispatched yet
    # member-a serves the level-3 grid of HERE (an assignment at any level counts).
    person = Person.objects.create(name="网格员甲", role="grid_member", user=member)
    GridAssignment.objects.create(grid_code=dispatched.report.level2_code, person=person, role="grid_member")
    everyone = {mine.pk, dispatched.pk, assisted.pk, undispatched.pk}

    def seen(user):
        return set(visible_cases(user).values_list("pk", flat=True))

    assert seen(d) == everyone
    assert seen(User.objects.get(username="gridchief")) == everyone
    assert seen(cgj) == {dispatched.pk, assisted.pk}  # lead and assisting work orders, not the rest
    assert seen(zrzy) == {assisted.pk}
    assert assisted.report.level2_code != dispatched.report.level2_code
    # Their own report anywhere, and the cases in their grid; not the one elsewhere.
    assert seen(member) == {mine.pk, dispatched.pk, undispatched.pk}
    assert seen(other_member) == {dispatched.pk}  # only the one they reported
    assert seen(public) == set() and seen(User.objects.get(username="planner")) == set()
    assert not can_see(zrzy, dispatched) and can_see(cgj, dispatched)
    assert case_by_token(mine.public_token).pk == mine.pk
    assert case_by_token("nope") is None and case_by_token("") is None


def test_duplicate_suggestions(cal):
    d = User.objects.get(username="dispatcher")
    lon, lat = HERE
    near = reported_case("E0103", lon=lon, lat=lat + 0.0005, at=t(2026, 11, 20, 9))  # ~55 m
    far = reported_case("E0103", lon=lon, lat=lat + 0.0014, at=t(2026, 11, 20, 9))  # ~155 m
    other_matter = reported_case("E0202", lon=lon, lat=lat, at=t(2026, 11, 20, 9))
    closed_recently = reported_case("E0103", lon=lon + 0.0003, lat=lat, at=t(2026, 11, 10, 9))  # ~27 m
    closed_long_ago = reported_case("E0103", lon=lon - 0.0003, lat=lat, at=t(2026, 11, 1, 9))
    voided = reported_case("E0103", lon=lon, lat=lat - 0.0002, at=t(2026, 11, 20, 9))
    wf.void(voided, d, version=1, reason="虚假", at=t(2026, 11, 20, 10))
    staff = User.objects.get(username="unitstaff")
    for case, closed in ((closed_recently, t(2026, 11, 24, 9)), (closed_long_ago, t(2026, 11, 10, 9))):
        c = wf.accept(case, d, version=1, at=closed - timedelta(hours=5))
        c = wf.dispatch(c, d, version=c.version, at=closed - timedelta(hours=4))
        c = wf.acknowledge(c, staff, version=c.version, at=closed - timedelta(hours=3))
        c = wf.arrive(c, staff, version=c.version, at=closed - timedelta(hours=2))
        c = wf.complete(c, staff, version=c.version, result_text="ok", at=closed - timedelta(hours=1))
        c = wf.verify(c, d, version=c.version, satisfied=True, at=closed - timedelta(minutes=30))
        wf.archive(c, d, version=c.version, at=closed)
    found = list(duplicates.suggest(near.category_id, lon, lat, now=t(2026, 11, 28, 9)))
    assert [c.pk for c in found] == [closed_recently.pk, near.pk]
    assert 20 < found[0].distance_m < 35 and 45 < found[1].distance_m < 65
    assert far.pk not in {c.pk for c in found} and other_matter.pk not in {c.pk for c in found}
    # A new report at the same place gets them suggested on its first event.
    new = reported_case("E0103", lon=lon, lat=lat, at=t(2026, 11, 28, 9))
    assert new.events.get(action="open").data["duplicates"] == [closed_recently.number, near.number]
    assert Case.objects.get(pk=new.pk).state == "reported"
