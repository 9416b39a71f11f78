"""Clocks: colours at 80 % and overdue, alerts exactly once, paused clocks, the calendar's
fallback years, editable limits, the periodic job, and notices through the outbox."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

from gisgrid.cases import clocks, notices
from gisgrid.cases import workflow as wf
from gisgrid.cases.factories import reported_case
from gisgrid.cases.models import Case, ClockAlert, ClockLimit, Notice
from gisgrid.workdays import calendar as workdays_calendar
from gisgrid.workdays.models import CalendarDay, CalendarYear
from gisgrid.workdays.seeding import seed

TZ = ZoneInfo("Asia/Shanghai")


def t(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


@pytest.fixture
def cal(heyang_db):
    seed([2025, 2026])
    workdays_calendar.forget()
    yield
    workdays_calendar.forget()


@pytest.fixture
def d(cal):
    return User.objects.get(username="dispatcher")


@pytest.fixture
def staff(cal):
    return User.objects.get(username="unitstaff")  # D-CGJ


def dispatched(d, at: datetime, code: str = "E0103") -> Case:
    case = reported_case(code, at=at)
    case = wf.accept(case, d, version=case.version, at=at + timedelta(minutes=2))
    return wf.dispatch(case, d, version=case.version, at=at + timedelta(minutes=5))


def clock_of(case: Case) -> str:
    return Case.objects.values_list("clock", flat=True).get(pk=case.pk)


def test_minute_clock_yellow_at_80_percent_then_red_and_alerts_once(d):
    case = dispatched(d, t(2026, 11, 23, 9, 0))  # acknowledge due 09:35, yellow from 09:29
    assert case.stage == "acknowledge" and case.stage_due == t(2026, 11, 23, 9, 35)
    assert case.stage_warn_at == t(2026, 11, 23, 9, 29)
    clocks.clock_pass(t(2026, 11, 23, 9, 28, 59))
    assert clock_of(case) == "green" and not ClockAlert.objects.exists()
    first = clocks.clock_pass(t(2026, 11, 23, 9, 29))
    assert clock_of(case) == "yellow" and first["alerts"] == 1
    again = clocks.clock_pass(t(2026, 11, 23, 9, 30))
    assert again["alerts"] == 0 and again["notices"] == 0 and again["recoloured"] == 0
    red = clocks.clock_pass(t(2026, 11, 23, 9, 35))
    assert clock_of(case) == "red" and red["alerts"] == 1
    clocks.clock_pass(t(2026, 11, 23, 9, 40))
    clocks.clock_pass(t(2026, 11, 23, 9, 40))
    alerts = list(ClockAlert.objects.filter(case=case).order_by("at").values_list("stage", "level", "round"))
    assert alerts == [("acknowledge", "yellow", 1), ("acknowledge", "red", 1)]
    # The warning went to the lead unit; the escalation to the unit and to the centre.
    sent = sorted((k, u or "", r) for k, u, r in Notice.objects.filter(case=case, kind__startswith="clock_")
                  .values_list("kind", "recipient_unit__code", "recipient_role"))
    assert sent == [("clock_red", "", "dispatcher"), ("clock_red", "D-CGJ", ""), ("clock_yellow", "D-CGJ", "")]


def test_completion_clock_runs_on_working_time(d, staff):
    # General (3 working days) dispatched Monday 09:05: due Thursday 24:00. Working time from
    # Mon 09:05 to Fri 00:00 = 14h55m + 3 days = 312,900 s; 80 % = 250,320 s: Mon 53,700 s, Tue and
    # Wed 172,800 s, the rest 23,820 s = Thursday 06:37.
    case = dispatched(d, t(2026, 11, 23, 9, 0))
    case = wf.acknowledge(case, staff, version=case.version, at=t(2026, 11, 23, 9, 10))
    case = wf.arrive(case, staff, version=case.version, at=t(2026, 11, 23, 10, 0))
    assert case.stage == "complete" and case.stage_due == t(2026, 11, 27)
    assert case.stage_warn_at == t(2026, 11, 26, 6, 37)
    clocks.clock_pass(t(2026, 11, 26, 6, 36))
    assert clock_of(case) == "green"
    clocks.clock_pass(t(2026, 11, 26, 6, 37))
    assert clock_of(case) == "yellow"
    clocks.clock_pass(t(2026, 11, 27, 0, 0))
    assert clock_of(case) == "red"
    assert set(ClockAlert.objects.filter(case=case).values_list("stage", "level")) == {
        ("complete", "yellow"), ("complete", "red")}


def test_completion_warning_skips_the_weekend(d, staff):
    # Dispatched Friday 16:05, general: due Wed 24:00. Working time = Fri 7h55m (28,500 s) + Mon,
    # Tue, Wed = 287,700 s; 80 % = 230,160 s -> after Friday 201,660 s: Mon, Tue, then 28,860 s
    # into Wednesday = Wed 08:01.
    case = dispatched(d, t(2026, 11, 27, 16, 0))
    case = wf.acknowledge(case, staff, version=case.version, at=t(2026, 11, 27, 16, 10))
    case = wf.arrive(case, staff, version=case.version, at=t(2026, 11, 27, 17, 0))
    assert case.stage_due == t(2026, 12, 3) and case.stage_warn_at == t(2026, 12, 2, 8, 1)
    clocks.clock_pass(t(2026, 11, 29, 23, 0))  # Sunday night: nothing of the weekend counted
    assert clock_of(case) == "green"


def test_paused_case_is_paused_and_raises_nothing(d):
    case = dispatched(d, t(2026, 11, 23, 9, 0))
    case = wf.pause(case, d, version=case.version, reason="待上级批复", at=t(2026, 11, 23, 9, 10))
    result = clocks.clock_pass(t(2026, 11, 23, 12, 0))
    assert clock_of(case) == "paused" and result["alerts"] == 0
    case = wf.resume(case, d, version=case.version, at=t(2026, 11, 23, 12, 0))
    # 2 h 50 min paused: the acknowledge deadline moved from 09:35 to 12:25.
    assert case.stage_due == t(2026, 11, 23, 12, 25)
    clocks.clock_pass(t(2026, 11, 23, 12, 1))
    assert clock_of(case) == "green"


def test_fallback_year_flagged_then_fixed_by_the_admins_notice(d):
    # Complex (10 working days) dispatched Monday 21 December 2026: the count runs into 2027,
    # which has no official data here: Monday–Friday assumed, 1 January counted as working.
    # Dec 22–25 (4), 28–31 (8), Fri 1 Jan (9), Mon 4 Jan (10) -> 4 Jan 24:00.
    case = dispatched(d, t(2026, 12, 21, 9, 0), code="C0501")
    assert case.complete_due == t(2027, 1, 5) and case.calendar_fallback
    # The admin enters 2027's notice (here: New Year's Day off) and marks the year complete.
    CalendarYear.objects.create(year=2027, source="admin", complete=True, note="国务院办公厅通知")
    CalendarDay.objects.create(date=date(2027, 1, 1), working=False, name="元旦", source="admin")
    result = clocks.clock_pass(t(2026, 12, 21, 10, 0))
    assert result["deadlines_moved"] == 1
    case.refresh_from_db()
    assert case.complete_due == t(2027, 1, 6) and not case.calendar_fallback
    assert set(case.work_orders.values_list("due", flat=True)) == {t(2027, 1, 6)}
    assert clocks.clock_pass(t(2026, 12, 21, 10, 1))["deadlines_moved"] == 0


def test_limits_are_editable(d):
    ClockLimit.objects.filter(key="dispatch").update(minutes=60)
    ClockLimit.objects.filter(key="acknowledge").update(minutes=15)
    case = reported_case("E0103", at=t(2026, 11, 23, 9, 0))
    assert case.dispatch_due == t(2026, 11, 23, 10, 0)
    case = wf.accept(case, d, version=case.version, at=t(2026, 11, 23, 9, 1))
    case = wf.dispatch(case, d, version=case.version, at=t(2026, 11, 23, 9, 2))
    assert case.stage_due == t(2026, 11, 23, 9, 17)


def test_dispatch_clock_alerts_the_centre(d):
    case = reported_case("E0103", at=t(2026, 11, 23, 9, 0))
    clocks.clock_pass(t(2026, 11, 23, 9, 31))
    assert clock_of(case) == "red"
    assert list(Notice.objects.filter(case=case, kind="clock_red").values_list("recipient_role", flat=True)) == [
        "dispatcher"]


def test_run_clocks_once(d):
    dispatched(d, t(2020, 1, 6, 9, 0))  # long overdue
    out = StringIO()
    call_command("run_clocks", "--once", stdout=out)
    assert "alerts 1" in out.getvalue()
    out = StringIO()
    call_command("run_clocks", "--once", stdout=out)
    assert "alerts 0" in out.getvalue()
    assert ClockAlert.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_passes_in_parallel_raise_each_alert_once(heyang_live):
    seed([2026])
    workdays_calendar.forget()
    d = User.objects.get(username="dispatcher")
    cases = [dispatched(d, t(2026, 11, 23, 9, i)) for i in range(5)]
    barrier = threading.Barrier(3)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(clocks.clock_pass(t(2026, 11, 23, 12, 0)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(r["alerts"] for r in results) == len(cases)
    assert ClockAlert.objects.count() == len(cases)
    # Red only (the passes started after the deadlines): one notice to the unit, one to the centre.
    assert Notice.objects.filter(kind="clock_red").count() == 2 * len(cases)


# -- notices -----------------------------------------------------------------------------------------

class _Gateway(BaseHTTPRequestHandler):
    """An SMS gateway that refuses each notice's first deliveries (answers[i] for the i-th try)."""

    answers: list[int] = []
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cls = type(self)
        tries = sum(1 for b in cls.received if b["id"] == body["id"])
        cls.received.append(body)
        status = cls.answers[tries] if tries < len(cls.answers) else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(monkeypatch):
    _Gateway.answers, _Gateway.received = [], []
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(notices.WEBHOOK_ENV, f"http://127.0.0.1:{server.server_port}/sms")
    yield _Gateway
    server.shutdown()


def test_webhook_retries_until_delivered(d, gateway, django_capture_on_commit_callbacks):
    gateway.answers = [500, 503]
    with django_capture_on_commit_callbacks(execute=True):
        case = dispatched(d, t(2026, 11, 23, 9, 0))
    hook = Notice.objects.get(case=case, kind="work_order", channel="webhook")
    inbox = Notice.objects.get(case=case, kind="work_order", channel="inbox")
    assert inbox.state == "sent" and hook.state == "pending"
    now = t(2026, 11, 23, 9, 6)
    first = notices.deliver_pending(now)
    hook.refresh_from_db()
    assert first["webhook_retry"] >= 1 and hook.state == "pending" and hook.attempts == 1 and "500" in hook.last_error
    assert hook.next_attempt_at > now
    # Not due yet: nothing is sent.
    assert notices.deliver_pending(now)["webhook_sent"] == 0
    notices.deliver_pending(hook.next_attempt_at)  # 503 this time
    hook.refresh_from_db()
    assert hook.attempts == 2 and hook.state == "pending"
    notices.deliver_pending(hook.next_attempt_at)
    hook.refresh_from_db()
    assert hook.state == "sent" and hook.attempts == 3
    bodies = [b for b in gateway.received if b["id"] == hook.pk]
    assert len(bodies) == 3 and bodies[-1]["case"] == case.number
    assert bodies[-1]["recipient"]["unit"] == "D-CGJ" and bodies[-1]["recipient"]["phones"]


def test_webhook_down_keeps_the_notice(d, monkeypatch):
    monkeypatch.setenv(notices.WEBHOOK_ENV, "http://127.0.0.1:9/unreachable")
    case = dispatched(d, t(2026, 11, 23, 9, 0))
    hook = Notice.objects.get(case=case, kind="work_order", channel="webhook")
    at = t(2026, 11, 23, 9, 6)
    for _ in range(notices.MAX_ATTEMPTS):
        notices.deliver_pending(at)
        hook.refresh_from_db()
        at = hook.next_attempt_at
    assert hook.state == "failed" and hook.attempts == notices.MAX_ATTEMPTS and hook.last_error
    assert notices.retry_failed([hook.pk]) == 1
    hook.refresh_from_db()
    assert hook.state == "pending" and hook.attempts == 0


def test_inbox_by_user_unit_and_role(d, staff, django_capture_on_commit_callbacks):
    member = User.objects.get(username="gridmember")
    with django_capture_on_commit_callbacks(execute=True):
        case = reported_case("E0103", user=member, at=t(2026, 11, 23, 9, 0))
        case = wf.accept(case, d, version=case.version, at=t(2026, 11, 23, 9, 2))
        case = wf.dispatch(case, d, version=case.version, at=t(2026, 11, 23, 9, 5))
    assert list(notices.inbox(member).values_list("kind", flat=True)) == ["case_accepted"]
    assert "work_order" in set(notices.unread(staff).values_list("kind", flat=True))
    assert "case_reported" in set(notices.unread(d).values_list("kind", flat=True))
    other_dispatcher = User.objects.get(username="admin")  # admin: not the dispatcher role's inbox
    assert not notices.inbox(other_dispatcher).filter(recipient_role="dispatcher").exists()
    assert notices.mark_read(staff) >= 1 and notices.unread_count(staff) == 0
    assert notices.unread_count(member) == 1
    assert notices.mark_read(member) == 1 and notices.unread_count(member) == 0
    # Marks are per reader: another dispatcher still has the role's notice unread.
    notices.mark_read(d)
    from gisgrid.cases.factories import account

    second = account("dispatcher2", "dispatcher")
    assert "case_reported" in set(notices.unread(second).values_list("kind", flat=True))


def test_run_clocks_skips_while_another_process_holds_the_lock(d):
    import psycopg

    from gisgrid.cases.management.commands.run_clocks import LOCK_KEY, run_pass

    dispatched(d, t(2020, 1, 6, 9, 0))
    s = connection.settings_dict
    other = psycopg.connect(host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"],
                            password=s["PASSWORD"] or None,
                            dbname=s["NAME"], autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        assert run_pass() is None
        assert not ClockAlert.objects.exists()
        other.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        assert run_pass()["alerts"] == 1
    finally:
        other.close()


def slow_pass() -> dict:
    """A periodic pass that runs until the test lets it finish (GISGRID_PERIODIC_PASSES). The
    gate travels in the settings: import_string may load this file as a second module."""
    from django.conf import settings

    settings.SLOW_PASS_GATE.wait(30)
    return {"slow": 1}


def test_other_apps_passes_run_beside_the_clocks_one_at_a_time(settings):
    """run_clocks hands the other apps' passes to a thread: a slow one (the assessment's
    recompute) neither holds the clock loop nor runs twice at once."""
    import threading

    from gisgrid.cases.management.commands.run_clocks import Background

    settings.GISGRID_PERIODIC_PASSES = ["tests.test_case_clocks.slow_pass"]
    settings.SLOW_PASS_GATE = gate = threading.Event()
    reports: list[dict] = []
    background = Background(reports.append)
    assert background.kick() is True
    assert background.kick() is False  # still running: this tick skips it
    assert reports == []
    gate.set()
    background.wait(30)
    assert reports == [{"slow": 1}]
    assert background.kick() is True  # done: the next tick runs it again
    background.wait(30)
    assert reports == [{"slow": 1}, {"slow": 1}]
