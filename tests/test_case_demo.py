"""seed_cases_demo: a month with every state, clock colour and channel, National Day included."""

from __future__ import annotations

from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from gisgrid.cases.models import Case, CaseEvent, ClockAlert, WorkOrder
from gisgrid.workdays import calendar as workdays_calendar
from gisgrid.workdays.seeding import seed

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def ready(heyang_db):
    seed([2025, 2026])
    workdays_calendar.forget()
    call_command("seed_patrol_demo", "--no-simulate", stdout=StringIO())
    yield
    workdays_calendar.forget()


def test_demo_month(ready):
    from gisgrid.cases.demo import seed_demo

    result = seed_demo(datetime(2026, 11, 30, 15, 0, tzinfo=TZ), days=30, per_day=14)
    assert all(n > 0 for n in result["states"].values()), result["states"]
    assert all(n > 0 for n in result["clocks"].values()), result["clocks"]
    assert all(n > 0 for n in result["channels"].values()), result["channels"]
    assert ClockAlert.objects.exists()
    # The National Day week is there, with deadlines over the holiday.
    holiday = Case.objects.filter(reported_at__date__range=("2026-10-01", "2026-10-07"))
    assert holiday.exists()
    # Deadlines over the holiday: dispatched on 30 September, a general matter is due 10 October 24:00.
    general = holiday.model.objects.filter(severity="general", dispatched_at__date="2026-09-30").first()
    if general is not None:
        assert general.complete_due == datetime(2026, 10, 11, tzinfo=TZ)
    # The detours happened through the workflow; the older plain history came in bulk.
    actions = set(CaseEvent.objects.values_list("action", flat=True))
    assert {"accept", "dispatch", "acknowledge", "arrive", "complete", "verify", "archive", "void", "pause",
            "resume", "return", "reassign", "extension_approved", "supervise"} <= actions, actions
    assert CaseEvent.objects.filter(actor_name__startswith="演示历史").exists()
    assert WorkOrder.objects.filter(round=2).exists()
    # The demo accounts have something to do.
    assert WorkOrder.objects.filter(unit__code="D-CGJ").exists()
    assert Case.objects.filter(reporter_user__username="gridmember").exists()


def test_command_skips_when_cases_exist(ready):
    from gisgrid.cases.factories import reported_case

    reported_case("E0103")
    out = StringIO()
    call_command("seed_cases_demo", stdout=out)
    assert "nothing added" in out.getvalue() and Case.objects.count() == 1
