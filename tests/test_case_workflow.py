"""The case loop's state machine, called directly: whole lives with deadlines computed by hand,
rework, extension, pause, return, merge, and two dispatchers at once."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.db import connection

from gisgrid.audit.models import AuditEntry
from gisgrid.cases import workflow as wf
from gisgrid.cases.factories import account, reported_case, unit_staff
from gisgrid.cases.models import Case, CaseEvent, Extension, Notice, WorkOrder
from gisgrid.errors import BadRequest, Conflict, Forbidden, StaleVersion
from gisgrid.incidents.models import Report
from gisgrid.workdays import calendar as workdays_calendar
from gisgrid.workdays.seeding import seed

TZ = ZoneInfo("Asia/Shanghai")


def t(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


@pytest.fixture
def calendar_2026(heyang_db):
    """The official calendar of 2025 and 2026 (chinesecalendar); 2027 has no data."""
    seed([2025, 2026])
    workdays_calendar.forget()
    yield
    workdays_calendar.forget()


@pytest.fixture
def people(calendar_2026):
    return {
        "dispatcher": User.objects.get(username="dispatcher"),
        "admin": User.objects.get(username="admin"),
        "cgj": User.objects.get(username="unitstaff"),  # 县城市管理执法局 (D-CGJ)
        "zrzy": unit_staff("D-ZRZY"),
        "zjj": unit_staff("D-ZJJ"),
        "town": unit_staff("U-610524001"),
        "gridmember": User.objects.get(username="gridmember"),
        "inspector": User.objects.get(username="inspector"),
        "gridchief": User.objects.get(username="gridchief"),
        "planner": User.objects.get(username="planner"),
    }


def lead_staff(people, case: Case) -> User:
    return {"D-CGJ": people["cgj"], "D-ZRZY": people["zrzy"], "D-ZJJ": people["zjj"],
            "U-610524001": people["town"]}[case.lead_unit.code]


def run_to_archive(case: Case, people, start: datetime, *, expect_due: datetime) -> Case:
    """reported -> archived, one step every 10 minutes from `start`."""
    d = people["dispatcher"]
    staff = lead_staff(people, case)
    step = iter(start + timedelta(minutes=10 * i) for i in range(1, 20))
    case = wf.accept(case, d, version=case.version, at=next(step))
    assert case.state == "accepted"
    dispatched_at = next(step)
    case = wf.dispatch(case, d, version=case.version, at=dispatched_at)
    assert case.state == "dispatched" and case.dispatched_at == dispatched_at
    assert case.complete_due == expect_due, (case.complete_due.astimezone(TZ), expect_due)
    assert case.stage == "acknowledge" and case.stage_due == dispatched_at + timedelta(minutes=30)
    orders = list(case.work_orders.all())
    assert {o.unit_id for o in orders} == {case.lead_unit_id, *case.assisting_units.values_list("pk", flat=True)}
    assert all(o.due == expect_due and o.round == 1 for o in orders)
    at = next(step)
    case = wf.acknowledge(case, staff, version=case.version, at=at)
    assert case.state == "acknowledged" and case.stage == "on_site" and case.stage_due == at + timedelta(hours=2)
    case = wf.arrive(case, staff, version=case.version, at=next(step))
    assert case.state == "on_site" and case.stage == "complete" and case.stage_due == expect_due
    case = wf.complete(case, staff, version=case.version, result_text="已清理完毕", at=next(step))
    assert case.state == "completed" and case.clock == "none"
    case = wf.verify(case, d, version=case.version, satisfied=True, at=next(step))
    assert case.state == "verified" and case.satisfied is True
    case = wf.archive(case, d, version=case.version, at=next(step))
    assert case.state == "archived" and case.version == 8
    assert Report.objects.get(pk=case.report_id).status == "closed"
    actions = list(case.events.order_by("at", "id").values_list("action", flat=True))
    assert actions == ["open", "accept", "dispatch", "acknowledge", "arrive", "complete", "verify", "archive"]
    audit = AuditEntry.objects.filter(object_type="cases.case", object_id=str(case.pk))
    assert audit.count() == 8 and audit.filter(action="case.archive").exists()
    return case


# Friday 2026-11-27 16:00, a weekend ahead. The completion clock counts from the dispatch
# (Friday 16:20): the Friday never counts; N=0 ends that Friday at 24:00.
WEEKEND_CASES = [
    ("E0501", "on_the_spot", t(2026, 11, 28)),  # Fri 24:00
    ("E0103", "general", t(2026, 12, 3)),  # Mon, Tue, Wed -> Wed 24:00
    ("E0101", "major", t(2026, 12, 5)),  # Mon..Fri -> Fri 24:00
    ("C0501", "complex", t(2026, 12, 12)),  # two weeks -> Fri 12-11 24:00
]


@pytest.mark.parametrize("code,severity,due", WEEKEND_CASES)
def test_whole_life_across_a_weekend(people, code, severity, due):
    case = reported_case(code, user=people["gridmember"], at=t(2026, 11, 27, 16, 0))
    assert case.severity == severity and case.channel == "grid_member" and case.state == "reported"
    assert case.number.startswith("HY20261127-")
    assert case.dispatch_due == t(2026, 11, 27, 16, 30)
    archived = run_to_archive(case, people, t(2026, 11, 27, 16, 0), expect_due=due)
    assert not archived.calendar_fallback


# Wednesday 2026-09-30 15:00, the eve of National Day: 1–7 October off, Saturday 10 October a
# make-up working day (and Sunday 20 September before it).
NATIONAL_DAY_CASES = [
    ("E0501", "on_the_spot", t(2026, 10, 1)),  # Wed 30 Sep is a working day: its 24:00
    ("E0103", "general", t(2026, 10, 11)),  # Thu 8, Fri 9, Sat 10 (make-up) -> 10 Oct 24:00
    ("E0101", "major", t(2026, 10, 14)),  # 8, 9, 10, Mon 12, Tue 13 -> 13 Oct 24:00
    ("C0501", "complex", t(2026, 10, 21)),  # 8, 9, 10, 12–16, 19, 20 -> 20 Oct 24:00
]


@pytest.mark.parametrize("code,severity,due", NATIONAL_DAY_CASES)
def test_whole_life_across_national_day(people, code, severity, due):
    case = reported_case(code, user=people["inspector"], at=t(2026, 9, 30, 15, 0))
    assert case.severity == severity and case.channel == "inspector"
    run_to_archive(case, people, t(2026, 9, 30, 15, 0), expect_due=due)


def test_dispatch_during_the_holiday_and_on_the_make_up_weekend(people):
    d = people["dispatcher"]
    # Dispatched on Saturday 3 October (holiday): N=0 ends on the next working day, Thu 8 Oct.
    case = reported_case("E0501", at=t(2026, 10, 3, 9, 0), user=people["gridmember"])
    case = wf.accept(case, d, version=case.version, at=t(2026, 10, 3, 9, 5))
    case = wf.dispatch(case, d, version=case.version, at=t(2026, 10, 3, 9, 10))
    assert case.complete_due == t(2026, 10, 9)
    # Dispatched Saturday 19 September (rest): Sun 20 (make-up), Mon 21, Tue 22 -> 22 Sep 24:00;
    # without the make-up Sunday it would be the 23rd.
    case = reported_case("E0103", at=t(2026, 9, 19, 10, 0), user=people["gridmember"])
    case = wf.accept(case, d, version=case.version, at=t(2026, 9, 19, 10, 5))
    case = wf.dispatch(case, d, version=case.version, at=t(2026, 9, 19, 10, 10))
    assert case.complete_due == t(2026, 9, 23)


def test_assisting_units_get_their_own_work_orders(people):
    d = people["dispatcher"]
    case = reported_case("E0101", at=t(2026, 11, 23, 9, 0))  # lead D-CGJ, assisting ZJJ, ZRZY and the town
    case = wf.accept(case, d, version=case.version, at=t(2026, 11, 23, 9, 5))
    case = wf.dispatch(case, d, version=case.version, at=t(2026, 11, 23, 9, 10))
    roles_by_unit = dict(case.work_orders.values_list("unit__code", "role"))
    assert roles_by_unit["D-CGJ"] == "lead" and roles_by_unit["D-ZJJ"] == "assist"
    # An assisting unit acknowledges its own order: the case's state follows the lead only.
    case = wf.acknowledge(case, people["zjj"], version=case.version, at=t(2026, 11, 23, 9, 20))
    assert case.state == "dispatched"
    assert case.work_orders.get(unit__code="D-ZJJ").state == "acknowledged"
    case = wf.acknowledge(case, people["cgj"], version=case.version, at=t(2026, 11, 23, 9, 25))
    assert case.state == "acknowledged"
    # Each unit was told once, in its inbox.
    assert Notice.objects.filter(case=case, kind="work_order").count() == len(roles_by_unit)


def test_send_back_twice_counts_rounds_and_keeps_history(people):
    d, staff = people["dispatcher"], people["cgj"]
    case = reported_case("E0103", at=t(2026, 11, 23, 9, 0))  # general, D-CGJ
    case = wf.accept(case, d, version=case.version, at=t(2026, 11, 23, 9, 5))
    case = wf.dispatch(case, d, version=case.version, at=t(2026, 11, 23, 9, 10))
    assert case.complete_due == t(2026, 11, 27)  # Tue, Wed, Thu -> Thu 24:00
    for rnd, (day, due) in enumerate([(24, t(2026, 11, 28)), (25, t(2026, 12, 1))], start=2):
        case = wf.acknowledge(case, staff, version=case.version, at=t(2026, 11, day - 1, 10))
        case = wf.arrive(case, staff, version=case.version, at=t(2026, 11, day - 1, 11))
        case = wf.complete(case, staff, version=case.version, result_text=f"第{rnd - 1}次处置", at=t(2026, 11, day - 1, 12))
        with pytest.raises(BadRequest) as e:
            wf.send_back(case, d, version=case.version, reason=" ", at=t(2026, 11, day, 9))
        assert e.value.field == "reason"
        if rnd == 2:
            case = wf.verify(case, d, version=case.version, satisfied=False, reason="现场仍有垃圾", at=t(2026, 11, day, 9))
        else:
            case = wf.send_back(case, d, version=case.version, reason="核查不实", at=t(2026, 11, day, 9))
        assert case.state == "dispatched" and case.round == rnd and case.satisfied is False
        # The new round's clock runs from the send-back.
        assert case.dispatched_at == t(2026, 11, day, 9) and case.complete_due == due
    orders = list(case.work_orders.order_by("round").values_list("round", "state"))
    assert orders == [(1, "completed"), (2, "completed"), (3, "dispatched")]
    assert list(case.events.filter(action__in=["verify", "send_back"]).values_list("data__round", flat=True)) == [2, 3]


def test_extension_moves_the_deadline(people):
    d, staff = people["dispatcher"], people["cgj"]
    case = reported_case("E0103", at=t(2026, 11, 23, 9, 0))
    case = wf.accept(case, d, version=case.version, at=t(2026, 11, 23, 9, 5))
    case = wf.dispatch(case, d, version=case.version, at=t(2026, 11, 23, 9, 10))
    assert case.complete_due == t(2026, 11, 27)
    with pytest.raises(BadRequest) as e:
        wf.request_extension(case, staff, version=case.version, days=0, reason="材料未到")
    assert e.value.field == "days"
    ext = wf.request_extension(case, staff, version=case.version, days=2, reason="需协调供电部门",
                               at=t(2026, 11, 24, 9))
    case.refresh_from_db()
    with pytest.raises(Conflict) as e:
        wf.request_extension(case, staff, version=case.version, days=1, reason="again")
    assert e.value.code == "extension_pending"
    with pytest.raises(Forbidden):
        wf.decide_extension(ext, staff, version=case.version, approve=True)
    case = wf.decide_extension(ext, d, version=case.version, approve=True, at=t(2026, 11, 24, 10))
    # Three working days become five: Tue..Fri, Mon -> Mon 30 Nov 24:00.
    assert case.complete_due == t(2026, 12, 1) and case.extended_days == 2
    assert set(case.work_orders.values_list("due", flat=True)) == {t(2026, 12, 1)}
    with pytest.raises(Conflict):
        wf.decide_extension(ext, d, version=case.version, approve=False, reason="x")
    ext2 = wf.request_extension(case, staff, version=case.version, days=3, reason="再延")
    case.refresh_from_db()
    with pytest.raises(BadRequest) as e:
        wf.decide_extension(ext2, d, version=case.version, approve=False, reason="")
    assert e.value.field == "reason"
    case = wf.decide_extension(ext2, d, version=case.version, approve=False, reason="不予延期")
    assert case.complete_due == t(2026, 12, 1)
    assert Extension.objects.get(pk=ext2.pk).state == "rejected"


def test_pause_and_resume_exclude_the_paused_time(people):
    d, staff = people["dispatcher"], people["cgj"]
    case = reported_case("E0103", at=t(2026, 11, 23, 9, 0))
    with pytest.raises(BadRequest) as e:
        wf.pause(case, d, version=case.version, reason="")
    assert e.value.field == "reason"
    # Paused at the centre for 20 minutes: the dispatch deadline moves by 20 minutes.
    case = wf.pause(case, d, version=case.version, reason="等待群众补充材料", at=t(2026, 11, 23, 9, 10))
    assert case.paused and case.clock == "paused"
    with pytest.raises(Conflict):
        wf.pause(case, d, version=case.version, reason="again")
    case = wf.resume(case, d, version=case.version, at=t(2026, 11, 23, 9, 30))
    assert not case.paused and case.dispatch_due == t(2026, 11, 23, 9, 50) and case.paused_seconds == 1200
    case = wf.accept(case, d, version=case.version, at=t(2026, 11, 23, 9, 35))
    case = wf.dispatch(case, d, version=case.version, at=t(2026, 11, 23, 9, 40))
    case = wf.acknowledge(case, staff, version=case.version, at=t(2026, 11, 23, 9, 50))
    case = wf.arrive(case, staff, version=case.version, at=t(2026, 11, 23, 10, 30))
    assert case.complete_due == t(2026, 11, 27)
    # Paused from Thursday 12:00 to the next Monday 12:00: working time paused = Thu 12h + Fri 24h
    # + Mon 12h = 2 working days; the deadline (Thu 24:00) moves two working days: Mon 30 Nov 24:00.
    case = wf.pause(case, d, version=case.version, reason="挂账：待上级批复", at=t(2026, 11, 26, 12))
    with pytest.raises(Conflict) as e:
        wf.complete(case, staff, version=case.version, result_text="x")
    assert e.value.code == "wrong_state"
    case = wf.resume(case, d, version=case.version, at=t(2026, 11, 30, 12))
    assert case.complete_due == t(2026, 12, 1) and case.stage_due == t(2026, 12, 1)
    assert case.complete_shift_seconds == 2 * 86400
    assert case.paused_seconds == 1200 + 4 * 86400


def test_return_to_centre_and_redispatch(people):
    d = people["dispatcher"]
    case = reported_case("E0103", at=t(2026, 11, 23, 9, 0))
    case = wf.accept(case, d, version=case.version, at=t(2026, 11, 23, 9, 5))
    case = wf.dispatch(case, d, version=case.version, at=t(2026, 11, 23, 9, 10))
    with pytest.raises(BadRequest):
        wf.return_to_centre(case, people["cgj"], version=case.version, reason="")
    case = wf.return_to_centre(case, people["cgj"], version=case.version, reason="不属于本单位职责，应由街道处理",
                               at=t(2026, 11, 23, 9, 20))
    assert case.state == "accepted" and case.round == 1 and case.stage == "dispatch"
    assert case.dispatch_due == t(2026, 11, 23, 9, 50)
    assert case.work_orders.get().state == "returned"
    assert Notice.objects.filter(case=case, kind="returned", recipient_role="dispatcher").exists()
    # The centre names the street office and dispatches again (same round, a new order).
    case = wf.reassign(case, d, version=case.version, lead_unit="U-610524001", at=t(2026, 11, 23, 9, 25))
    case = wf.dispatch(case, d, version=case.version, at=t(2026, 11, 23, 9, 30))
    assert list(case.work_orders.order_by("id").values_list("unit__code", "state", "round")) == [
        ("D-CGJ", "returned", 1), ("U-610524001", "dispatched", 1)]
    case = wf.acknowledge(case, people["town"], version=case.version, at=t(2026, 11, 23, 9, 40))
    assert case.state == "acknowledged"


def test_void_supervise_and_outside_the_county(people):
    d = people["dispatcher"]
    case = reported_case("E0103", at=t(2026, 11, 23, 9, 0))
    case = wf.supervise(case, d, version=case.version, reason="群众多次投诉", at=t(2026, 11, 23, 9, 1))
    assert case.supervised and case.supervised_reason == "群众多次投诉"
    with pytest.raises(BadRequest):
        wf.void(case, d, version=case.version, reason="")
    case = wf.void(case, d, version=case.version, reason="重复上报的虚假信息", at=t(2026, 11, 23, 9, 2))
    assert case.state == "voided" and case.clock == "none" and case.void_reason
    with pytest.raises(Conflict):
        wf.accept(case, d, version=case.version)
    # A point in Beijing: accepted as a case, flagged, routed to the command centre.
    far = reported_case("E0103", lon=116.39, lat=39.9, at=t(2026, 11, 23, 10, 0))
    assert far.outside and far.lead_unit.kind == "county" and far.report.location_status == "outside"
    with pytest.raises(BadRequest) as e:
        wf.accept(far, d, version=far.version)
    assert e.value.field == "lead_unit"
    far = wf.accept(far, d, version=far.version, lead_unit="D-CGJ", at=t(2026, 11, 23, 10, 5))
    assert far.lead_unit.code == "D-CGJ"


def test_merge_duplicates(people):
    d = people["dispatcher"]
    first = reported_case("E0103", at=t(2026, 11, 23, 9, 0))
    second = reported_case("E0103", lon=110.1450, lat=35.2386, at=t(2026, 11, 23, 9, 30))
    # Suggested at once, recorded on the new case's first event.
    assert second.events.get(action="open").data["duplicates"] == [first.number]
    dup = wf.merge(second, first, d, version=second.version, at=t(2026, 11, 23, 9, 35))
    assert dup.state == "voided" and dup.duplicate_of_id == first.pk
    assert first.events.filter(action="merged_in", data__duplicate=second.number).exists()
    with pytest.raises(BadRequest):
        wf.merge(first, first, d, version=first.version)
    with pytest.raises(Forbidden):
        wf.merge(first, second, people["cgj"], version=first.version)


def test_case_numbers_are_unique_per_day(people):
    a = reported_case("E0103", at=t(2026, 11, 23, 9, 0))
    b = reported_case("E0103", at=t(2026, 11, 23, 23, 59))
    c = reported_case("E0103", at=t(2026, 11, 24, 0, 1))
    assert a.number[:11] == b.number[:11] == "HY20261123-"
    assert int(b.number[-4:]) == int(a.number[-4:]) + 1
    assert c.number.startswith("HY20261124-")


def test_channel_follows_the_reporter(people):
    assert reported_case("E0103", user=people["gridmember"]).channel == "grid_member"
    assert reported_case("E0103", user=people["inspector"]).channel == "inspector"
    assert reported_case("E0103", user=people["dispatcher"]).channel == "hotline"
    assert reported_case("E0103", user=None, channel="public").channel == "public"


# -- the permission matrix: every transition, wrong role / wrong unit -> 403, wrong state -> 409,
#    stale version -> 409; nothing changes -------------------------------------------------------

def _to(state: str, people) -> Case:
    """A fresh E0103 case (lead D-CGJ) brought to `state`."""
    d, staff = people["dispatcher"], people["cgj"]
    case = reported_case("E0103", at=t(2026, 11, 23, 9, 0))
    steps = {
        "accepted": lambda c: wf.accept(c, d, version=c.version),
        "dispatched": lambda c: wf.dispatch(c, d, version=c.version),
        "acknowledged": lambda c: wf.acknowledge(c, staff, version=c.version),
        "on_site": lambda c: wf.arrive(c, staff, version=c.version),
        "completed": lambda c: wf.complete(c, staff, version=c.version, result_text="done"),
        "verified": lambda c: wf.verify(c, d, version=c.version, satisfied=True),
        "archived": lambda c: wf.archive(c, d, version=c.version),
    }
    for name, step in steps.items():
        if case.state == state:
            break
        case = step(case)
        assert case.state == name
    return case


# action -> (state it applies in, call(case, actor))
TRANSITIONS = {
    "accept": ("reported", lambda c, u: wf.accept(c, u, version=c.version)),
    "dispatch": ("accepted", lambda c, u: wf.dispatch(c, u, version=c.version)),
    "acknowledge": ("dispatched", lambda c, u: wf.acknowledge(c, u, version=c.version)),
    "arrive": ("acknowledged", lambda c, u: wf.arrive(c, u, version=c.version)),
    "complete": ("on_site", lambda c, u: wf.complete(c, u, version=c.version, result_text="done")),
    "verify": ("completed", lambda c, u: wf.verify(c, u, version=c.version, satisfied=True)),
    "archive": ("verified", lambda c, u: wf.archive(c, u, version=c.version)),
    "send_back": ("completed", lambda c, u: wf.send_back(c, u, version=c.version, reason="不实")),
    "return_to_centre": ("dispatched", lambda c, u: wf.return_to_centre(c, u, version=c.version, reason="非本单位")),
    "request_extension": ("acknowledged",
                          lambda c, u: wf.request_extension(c, u, version=c.version, days=1, reason="需时间")),
    "supervise": ("dispatched", lambda c, u: wf.supervise(c, u, version=c.version, reason="督办")),
    "void": ("accepted", lambda c, u: wf.void(c, u, version=c.version, reason="虚假")),
    "pause": ("accepted", lambda c, u: wf.pause(c, u, version=c.version, reason="挂账")),
    "merge": ("reported", None),
    "resume": (None, None),
    "decide_extension": (None, None),
}
CENTRE = {"accept", "dispatch", "verify", "archive", "send_back", "supervise", "void", "pause"}
WRONG_STATE = {"accept": "accepted", "dispatch": "reported", "acknowledge": "acknowledged", "arrive": "dispatched",
               "complete": "acknowledged", "verify": "on_site", "archive": "completed", "send_back": "on_site",
               "return_to_centre": "completed", "request_extension": "completed", "supervise": "archived",
               "void": "archived", "pause": "completed"}


def _snapshot(case: Case) -> tuple:
    case = Case.objects.get(pk=case.pk)
    return (case.state, case.version, case.round, case.paused, case.supervised, case.events.count(),
            tuple(case.work_orders.order_by("id").values_list("state", flat=True)),
            AuditEntry.objects.filter(object_type="cases.case", object_id=str(case.pk)).count())


@pytest.mark.parametrize("action", [a for a, (s, f) in TRANSITIONS.items() if f is not None])
def test_permission_matrix(people, action):
    state, call = TRANSITIONS[action]
    case = _to(state, people)
    allowed = {"dispatcher", "admin"} if action in CENTRE else {"cgj"}
    refused = [r for r in ("dispatcher", "admin", "cgj", "zrzy", "gridmember", "inspector", "gridchief", "planner")
               if r not in allowed]
    for who in refused:
        before = _snapshot(case)
        with pytest.raises(Forbidden):
            call(Case.objects.get(pk=case.pk), people[who])
        assert _snapshot(case) == before, who
    # A stale version: 409, nothing changes.
    actor = people[sorted(allowed)[0]]
    before = _snapshot(case)
    stale = Case.objects.get(pk=case.pk)
    stale.version -= 1
    with pytest.raises(StaleVersion):
        call(stale, actor)
    assert _snapshot(case) == before
    # Allowed here; the action lists it.
    assert action in wf.allowed_actions(
        Case.objects.get(pk=case.pk), actor)
    call(Case.objects.get(pk=case.pk), actor)
    # The wrong state: 409 wrong_state, nothing changes.
    other = _to(WRONG_STATE[action], people)
    before = _snapshot(other)
    with pytest.raises(Conflict) as e:
        call(Case.objects.get(pk=other.pk), actor)
    assert e.value.code == "wrong_state"
    assert _snapshot(other) == before
    assert action not in wf.allowed_actions(Case.objects.get(pk=other.pk), actor)


def test_permission_matrix_resume_merge_and_extension_decision(people):
    d = people["dispatcher"]
    case = _to("accepted", people)
    case = wf.pause(case, d, version=case.version, reason="挂账")
    for who in ("cgj", "gridmember", "gridchief", "planner", "inspector"):
        with pytest.raises(Forbidden):
            wf.resume(case, people[who], version=case.version)
    case = wf.resume(case, d, version=case.version)
    with pytest.raises(Conflict):
        wf.resume(case, d, version=case.version)
    ack = _to("acknowledged", people)
    ext = wf.request_extension(ack, people["cgj"], version=ack.version, days=1, reason="需时间")
    ack.refresh_from_db()
    for who in ("cgj", "gridmember", "gridchief", "planner", "inspector"):
        with pytest.raises(Forbidden):
            wf.decide_extension(ext, people[who], version=ack.version, approve=True)
    with pytest.raises(StaleVersion):
        wf.decide_extension(ext, d, version=ack.version - 1, approve=True)
    assert "decide_extension" in wf.allowed_actions(ack, d)
    wf.decide_extension(ext, d, version=ack.version, approve=True)
    a, b = _to("reported", people), _to("reported", people)
    for who in ("cgj", "gridmember", "gridchief"):
        with pytest.raises(Forbidden):
            wf.merge(b, a, people[who], version=b.version)
    archived = _to("archived", people)
    with pytest.raises(Conflict):
        wf.merge(archived, a, d, version=archived.version)


def test_wrong_unit_is_refused(people):
    case = _to("dispatched", people)  # lead D-CGJ only
    before = _snapshot(case)
    for who in ("zrzy", "town"):
        with pytest.raises(Forbidden):
            wf.acknowledge(case, people[who], version=case.version)
    # Naming a unit the actor does not belong to.
    with pytest.raises(Forbidden) as e:
        wf.acknowledge(case, people["cgj"], version=case.version, unit="D-ZRZY")
    assert e.value.field == "unit"
    assert _snapshot(case) == before
    assert wf.allowed_actions(case, people["zrzy"]) == []
    assert wf.allowed_actions(case, people["cgj"]) == ["acknowledge", "return_to_centre", "request_extension"]


# -- two dispatchers at once ----------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_accept_at_once(heyang_live):
    seed([2026])
    workdays_calendar.forget()
    second = account("dispatcher2", "dispatcher")
    first = User.objects.get(username="dispatcher")
    case = reported_case("E0103")
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def attempt(user):
        try:
            barrier.wait()
            outcomes[user.username] = wf.accept(case.pk, user, version=1).version
        except Exception as exc:  # the loser's error is the result under test
            outcomes[user.username] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(u,)) for u in (first, second)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wins = [v for v in outcomes.values() if v == 2]
    losses = [v for v in outcomes.values() if isinstance(v, StaleVersion)]
    assert len(wins) == 1 and len(losses) == 1, outcomes
    assert losses[0].status == 409 and losses[0].code == "stale_version"
    case.refresh_from_db()
    assert case.state == "accepted" and case.version == 2
    assert CaseEvent.objects.filter(case=case, action="accept").count() == 1
    assert WorkOrder.objects.filter(case=case).count() == 0
