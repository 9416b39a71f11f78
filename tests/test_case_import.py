"""import_cases: every bad row reported with its line and column, nothing stored; a good file
stored whole, routed, with timelines, work orders and clocks."""

from __future__ import annotations

import csv
from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from gisgrid.cases.importing import COLUMNS
from gisgrid.cases.models import Case, CaseEvent, WorkOrder
from gisgrid.incidents.models import Report
from gisgrid.workdays import calendar as workdays_calendar
from gisgrid.workdays.seeding import seed

TZ = ZoneInfo("Asia/Shanghai")

GOOD = [
    {"reported_at": "2026-03-02 09:00", "category": "E0103", "lon": "110.1449", "lat": "35.2385",
     "reporter_name": "王五", "state": "archived", "accepted_at": "2026-03-02 09:10",
     "dispatched_at": "2026-03-02 09:20", "acknowledged_at": "2026-03-02 09:40", "on_site_at": "2026-03-02 10:30",
     "completed_at": "2026-03-03 16:00", "verified_at": "2026-03-04 10:00", "archived_at": "2026-03-04 11:00",
     "result_text": "已清运", "satisfied": "1", "number": "HY20260302-0007"},
    {"reported_at": "2026-11-27 16:00", "category": "E0101", "lon": "110.1449", "lat": "35.2385",
     "reporter_name": "赵六", "state": "on_site", "accepted_at": "2026-11-27 16:05",
     "dispatched_at": "2026-11-27 16:10", "acknowledged_at": "2026-11-27 16:30", "on_site_at": "2026-11-27 17:00",
     "channel": "hotline"},
    {"reported_at": "2026-05-06 08:00", "category": "E0501", "lon": "116.39", "lat": "39.9",
     "reporter_name": "钱七", "state": "voided", "accepted_at": "2026-05-06 08:05", "voided_at": "2026-05-06 08:30",
     "void_reason": "县外位置"},
    {"reported_at": "2026-11-30 08:00", "category": "C0102", "lon": "110.1568", "lat": "35.2444", "crs": "bd09",
     "reporter_name": "孙八", "state": "reported"},
]


def write(tmp_path, rows, name="cases.csv") -> str:
    path = tmp_path / name
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(COLUMNS))
        w.writeheader()
        for r in rows:
            w.writerow(r)
    return str(path)


@pytest.fixture
def cal(heyang_db):
    seed([2026])
    workdays_calendar.forget()
    yield
    workdays_calendar.forget()


def test_good_file_is_stored_whole(cal, tmp_path):
    out = StringIO()
    call_command("import_cases", write(tmp_path, GOOD), stdout=out)
    assert "imported 4 cases" in out.getvalue()
    archived = Case.objects.get(number="HY20260302-0007")
    assert archived.state == "archived" and archived.channel == "import" and archived.satisfied is True
    assert archived.lead_unit.code == "D-CGJ" and archived.report.status == "closed"
    assert archived.report.created_at == datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
    assert list(archived.events.order_by("at").values_list("action", flat=True)) == [
        "open", "accept", "dispatch", "acknowledge", "arrive", "complete", "verify", "archive"]
    assert archived.version == 8 and archived.clock == "none"
    assert archived.work_orders.get().state == "completed"
    on_site = Case.objects.get(report__reporter_name="赵六")
    # Major, dispatched Friday 27 November 16:10: five working days -> Friday 4 December 24:00.
    assert on_site.stage == "complete" and on_site.complete_due == datetime(2026, 12, 5, tzinfo=TZ)
    assert on_site.channel == "hotline" and on_site.number.startswith("HY20261127-")
    assert set(on_site.work_orders.values_list("role", flat=True)) == {"lead", "assist"}
    assert on_site.assisting_units.count() >= 2
    voided = Case.objects.get(report__reporter_name="钱七")
    assert voided.outside and voided.state == "voided" and not voided.work_orders.exists()
    reported = Case.objects.get(report__reporter_name="孙八")
    assert reported.report.raw_crs == "bd09" and reported.stage == "dispatch"
    # The day counters stay ahead of the imported numbers.
    from gisgrid.cases.workflow import next_numbers

    assert next_numbers(datetime(2026, 3, 2).date()) == ["HY20260302-0008"]


def test_a_bad_row_stores_nothing(cal, tmp_path):
    bad = [dict(r) for r in GOOD]
    bad[1]["acknowledged_at"] = "2026-11-27 15:00"  # before the dispatch
    bad.append({"reported_at": "yesterday", "category": "X9999", "lon": "200", "lat": "35.2",
                "reporter_name": "", "state": "closed"})
    bad.append({**GOOD[0], "number": "HY20260302-0007"})  # the same number twice
    bad.append({**GOOD[3], "state": "completed"})  # completed without its steps
    path = write(tmp_path, bad)
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_cases", path, stderr=err)
    text = err.getvalue()
    assert "line 3, column acknowledged_at: before dispatched_at" in text
    assert "line 6, column reported_at" in text and "line 6, column category" in text
    assert "line 6, column lon" in text and "line 6, column reporter_name: required" in text
    assert "line 6, column state" in text
    assert "line 7, column number: HY20260302-0007 also on line 2" in text
    assert "line 8, column accepted_at: required for state completed" in text
    assert not Case.objects.exists() and not Report.objects.exists()
    assert not WorkOrder.objects.exists() and not CaseEvent.objects.exists()


def test_header_problems(cal, tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("reported_at,category,lon,lat,state,colour\n", encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_cases", str(path), stderr=err)
    assert "line 1, column reporter_name: column missing from the header" in err.getvalue()
