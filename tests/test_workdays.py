"""The working-day calendar: deadlines and working time computed by hand, seeding, admin, cache.

The 2026 facts used here, as the State Council's notice has them (and chinesecalendar 1.11.0,
checked in test_package_data_2026_national_day): Mid-Autumn Fri 25 Sep off (26–27 weekend);
National Day Thu 1 – Wed 7 Oct off; make-up working days Sun 20 Sep and Sat 10 Oct.
Deadlines are 24:00 local of the last working day, written as 00:00 of the next day.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test import Client

from gisgrid.audit.models import AuditEntry
from gisgrid.workdays import calendar as wd
from gisgrid.workdays.calendar import WorkCalendar, current, due_date, from_utc64, to_utc64
from gisgrid.workdays.models import CalendarDay, CalendarYear, Source
from gisgrid.workdays.notice import NoticeError, parse_notice
from gisgrid.workdays.seeding import seed
from gisgrid.workdays.sources import from_chinesecalendar, from_holidays, notice_for

TZ = ZoneInfo("Asia/Shanghai")
YEARS = range(2004, 2028)


def at(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


@pytest.fixture
def seeded(db):
    """The calendar as `seed_workdays` leaves it (migrate already seeded; this makes sure)."""
    seed(YEARS)
    wd.forget()
    yield current()
    wd.forget()


@pytest.fixture(scope="module")
def package_calendar() -> WorkCalendar:
    """The same calendar built straight from chinesecalendar, without the database."""
    days = []
    for year in YEARS:
        notice = notice_for(year)
        if notice:
            days += [(d, w, n) for d, (w, n) in notice.days.items()]
    official = frozenset(y for y in YEARS if notice_for(y))
    return WorkCalendar(days=tuple(sorted(days)), official_years=official, tz_name="Asia/Shanghai")


# ------------------------------------------------------------------------------------------
# the package data and the seeded table


def test_package_data_2026_national_day():
    notice = from_chinesecalendar(2026)
    assert notice is not None and notice.source.startswith("chinesecalendar")
    for day in range(1, 8):
        assert notice.days[date(2026, 10, day)][0] is False
    assert notice.days[date(2026, 9, 20)] == (True, "国庆节调休上班")
    assert notice.days[date(2026, 10, 10)] == (True, "国庆节调休上班")
    assert notice.days[date(2026, 9, 25)] == (False, "中秋")
    assert date(2026, 10, 8) not in notice.days  # an ordinary Thursday


def test_seeded_table_has_the_notice(seeded):
    rows = {r.date: r for r in CalendarDay.objects.filter(date__range=(date(2026, 9, 19), date(2026, 10, 11)))}
    assert rows[date(2026, 9, 20)].working and rows[date(2026, 9, 20)].source == Source.PACKAGE
    assert rows[date(2026, 10, 10)].working
    assert [d.day for d, r in sorted(rows.items()) if d.month == 10 and not r.working] == [1, 2, 3, 4, 5, 6, 7]
    year = CalendarYear.objects.get(year=2026)
    assert year.complete and year.source == Source.PACKAGE and "chinesecalendar" in year.note
    assert not CalendarYear.objects.filter(year__gte=2027).exists()
    assert seeded.fallback_years(date(2026, 1, 1), date(2027, 12, 31)) == [2027]


def test_holidays_package_agrees_with_chinesecalendar_where_both_have_the_notice():
    """Read as 'days off + substituted-from days', holidays' China table is the same calendar as
    chinesecalendar for 2004–2026: the reading is trustworthy for a year it holds a notice for.
    One known difference: the 2006 New Year notice made Sat 31 Dec 2005 a working day, which
    chinesecalendar lacks (its open issue #125) and holidays has."""
    merged: dict[str, dict[date, bool]] = {"cc": {}, "hol": {}}
    for year in range(2004, 2027):
        for key, notice in (("cc", from_chinesecalendar(year)), ("hol", from_holidays(year))):
            assert notice is not None, (key, year)
            for d, (working, _) in notice.days.items():
                merged[key].setdefault(d, working)
    differ = []
    d = date(2004, 1, 1)
    while d.year < 2027:
        rule = d.weekday() < 5
        if merged["cc"].get(d, rule) != merged["hol"].get(d, rule):
            differ.append(d)
        d += timedelta(days=1)
    assert differ == [date(2005, 12, 31)]
    assert merged["hol"][date(2005, 12, 31)] is True
    assert from_holidays(2026).days[date(2026, 10, 10)][0] is True


def test_holidays_year_without_a_notice_is_refused(monkeypatch):
    from holidays.countries.china import ChinaStaticHolidays

    monkeypatch.delitem(ChinaStaticHolidays.special_public_holidays, 2026)
    assert from_holidays(2026) is None  # only the rule would be left: no make-up days
    assert from_holidays(2045) is None


def test_year_beyond_every_package_is_fallback_and_flagged(seeded):
    report = seed([2045])
    assert report.fallback_years == [2045] and report.changed == 0
    assert not CalendarYear.objects.filter(year=2045).exists()
    # 2028 in the seeded calendar: no data, Monday–Friday, flagged on the deadline
    assert seeded.fallback_years(date(2028, 1, 3), date(2028, 1, 10)) == [2028]
    assert seeded.is_working_day(date(2028, 10, 2))  # a Monday: National Day unknown, worked
    due = seeded.due(at(2028, 9, 29, 10), 3)  # Fri -> Mon 2, Tue 3, Wed 4 Oct
    assert due.at == at(2028, 10, 5) and due.fallback_years == [2028]


def test_december_case_running_into_2027_is_flagged(seeded):
    # Wed 30 Dec 2026, 3 working days: Thu 31 (1), Fri 1 Jan 2027 (2, Mon–Fri fallback), Mon 4 (3)
    due = seeded.due(at(2026, 12, 30, 10), 3)
    assert due.at == at(2027, 1, 5) and due.fallback_years == [2027]
    # Mon 28 Dec: Tue 29, Wed 30, Thu 31 -> 31 Dec 24:00, which touches no day of 2027
    due = seeded.due(at(2026, 12, 28, 10), 3)
    assert due.at == at(2027, 1, 1) and due.fallback_years == []
    assert due_date(due.at) == date(2026, 12, 31)


def test_seeding_is_idempotent(seeded):
    before = list(CalendarDay.objects.values_list("date", "working", "name", "source", "updated_at"))
    version = wd.read_version()
    report = seed(YEARS)
    assert report.changed == 0
    assert wd.read_version() == version  # nothing written: caches stay valid
    assert list(CalendarDay.objects.values_list("date", "working", "name", "source", "updated_at")) == before
    assert [r.status for r in report.years if r.year == 2027] == ["fallback"]


def test_seed_removes_package_days_the_package_dropped(seeded):
    CalendarDay.objects.create(date=date(2026, 3, 2), working=False, name="stale", source=Source.PACKAGE)
    report = seed([2026])
    assert report.deleted == 1 and not CalendarDay.objects.filter(date=date(2026, 3, 2)).exists()


def test_seeding_from_holidays_when_chinesecalendar_lacks_the_year(db):
    CalendarDay.objects.filter(date__year=2026).delete()
    CalendarYear.objects.filter(year=2026).delete()
    report = seed([2026], notices=from_holidays)
    assert report.years[0].status == "package" and report.years[0].source.startswith("holidays")
    assert CalendarYear.objects.get(year=2026).complete
    assert CalendarDay.objects.get(date=date(2026, 10, 10)).working
    assert not CalendarDay.objects.get(date=date(2026, 10, 7)).working
    wd.forget()
    assert current().add_working_days(at(2026, 9, 30, 10), 3) == at(2026, 10, 11)


def test_seed_workdays_command(db):
    out = StringIO()
    call_command("seed_workdays", "--years", "2025-2027", stdout=out)
    text = out.getvalue()
    assert "2026: chinesecalendar" in text and "6 make-up working days" in text
    assert "2027: no official data" in text and "Monday–Friday" in text
    with pytest.raises(CommandError, match="2027-2025"):
        call_command("seed_workdays", "--years", "2027-2025", stdout=StringIO())
    with pytest.raises(CommandError, match="not a year"):
        call_command("seed_workdays", "--years", "last", stdout=StringIO())


# ------------------------------------------------------------------------------------------
# deadlines by hand


@pytest.mark.parametrize(
    ("start", "days", "deadline"),
    [
        # a weekend: Fri 5 Jun 16:00 + 3 -> Mon 8, Tue 9, Wed 10 -> Wed 24:00
        (at(2026, 6, 5, 16), 3, at(2026, 6, 11)),
        # N = 0 on a working day: the end of that day
        (at(2026, 6, 9, 15), 0, at(2026, 6, 10)),
        # N = 0 on a Saturday: the end of Monday
        (at(2026, 6, 6, 10), 0, at(2026, 6, 9)),
        # start on a non-working day: Sat + 3 -> Mon, Tue, Wed
        (at(2026, 6, 6, 10), 3, at(2026, 6, 11)),
        # the start day never counts, even at 00:00
        (at(2026, 6, 8, 0), 1, at(2026, 6, 10)),
        # National Day: Wed 30 Sep + 3 -> Thu 8 Oct, Fri 9, Sat 10 (make-up) -> 10 Oct 24:00
        (at(2026, 9, 30, 10), 3, at(2026, 10, 11)),
        # make-up Sunday: Fri 18 Sep 16:00 + 3 -> Sun 20 (worked), Mon 21, Tue 22
        (at(2026, 9, 18, 16), 3, at(2026, 9, 23)),
        # Thu 24 Sep + 5 -> Mon 28, Tue 29, Wed 30, Thu 8 Oct, Fri 9 (25 Sep Mid-Autumn off)
        (at(2026, 9, 24, 9), 5, at(2026, 10, 10)),
        # Mon 28 Sep + 10 -> 29, 30, 8 Oct, 9, 10 (Sat, worked), 12, 13, 14, 15, 16
        (at(2026, 9, 28, 11), 10, at(2026, 10, 17)),
        # N = 0 during the holiday: the end of the first working day after it
        (at(2026, 10, 3, 9), 0, at(2026, 10, 9)),
        # N = 0 and 1 on the make-up Sunday itself: it is a working day
        (at(2026, 9, 20, 8), 0, at(2026, 9, 21)),
        (at(2026, 9, 20, 8), 1, at(2026, 9, 22)),
        # a UTC start is placed on its Shanghai day: 16:30Z Friday = Saturday 00:30 local
        (datetime(2026, 6, 5, 16, 30, tzinfo=UTC), 0, at(2026, 6, 9)),
    ],
)
def test_deadlines(seeded, package_calendar, start, days, deadline):
    assert seeded.add_working_days(start, days) == deadline
    assert package_calendar.add_working_days(start, days) == deadline
    assert seeded.add_working_days(start, days).tzinfo is not None


def test_working_days_in_national_day_week(seeded):
    expect = {
        date(2026, 9, 20): True, date(2026, 9, 25): False, date(2026, 9, 26): False,
        date(2026, 9, 30): True, date(2026, 10, 1): False, date(2026, 10, 7): False,
        date(2026, 10, 8): True, date(2026, 10, 10): True, date(2026, 10, 11): False,
    }
    assert {d: seeded.is_working_day(d) for d in expect} == expect
    assert seeded.day_name(date(2026, 10, 1)) == "国庆节"
    assert seeded.day_name(date(2026, 10, 10)) == "国庆节调休上班"
    assert seeded.day_name(date(2026, 10, 8)) == ""


def test_working_seconds_across_a_holiday(seeded):
    # Wed 30 Sep 12:00 -> Fri 9 Oct 12:00: 12 h + (1–7 Oct off) + 24 h (8 Oct) + 12 h = 48 h
    assert seeded.working_seconds(at(2026, 9, 30, 12), at(2026, 10, 9, 12)) == 48 * 3600
    # the whole golden week counts nothing
    assert seeded.working_seconds(at(2026, 10, 1), at(2026, 10, 8)) == 0
    # Fri 16:00 + 3 working days: 8 h of Friday + Mon–Wed = 80 h of limit
    assert seeded.working_seconds(at(2026, 6, 5, 16), at(2026, 6, 11)) == 80 * 3600
    assert seeded.working_seconds(at(2026, 6, 11), at(2026, 6, 5)) == 0.0
    # 80 % of the National Day limit above (48 h) is reached at Fri 9 Oct 02:24
    assert seeded.add_working_seconds(at(2026, 9, 30, 12), 0.8 * 48 * 3600) == at(2026, 10, 9, 2, 24)
    # a span that ends exactly at a working day's end lands on that midnight, not after a holiday
    assert seeded.add_working_seconds(at(2026, 9, 30, 12), 12 * 3600) == at(2026, 10, 1)
    assert seeded.add_working_seconds(at(2026, 10, 3, 12), 0) == at(2026, 10, 3, 12)


def test_bad_input(seeded):
    with pytest.raises(ValueError, match="aware"):
        seeded.add_working_days(datetime(2026, 6, 5, 16), 3)
    with pytest.raises(ValueError, match=">= 0"):
        seeded.add_working_days(at(2026, 6, 5), -1)
    with pytest.raises(ValueError, match="outside"):
        seeded.is_working_day(date(2150, 1, 1))
    with pytest.raises(ValueError, match=">= 0"):
        seeded.add_working_days_many(to_utc64([at(2026, 6, 5)]), np.array([-2]))
    with pytest.raises(TypeError, match="datetime64"):
        seeded.add_working_days_many(np.array([1.5]), 3)
    with pytest.raises(ValueError, match="outside"):
        seeded.add_working_days_many(np.array(["1950-01-01T00:00"], dtype="datetime64[us]"), 3)


# ------------------------------------------------------------------------------------------
# vectorised == scalar


def test_vectorised_agrees_with_scalar(package_calendar):
    cal = package_calendar
    rng = np.random.default_rng(20261001)
    n = 3000
    span_us = int((datetime(2028, 1, 1, tzinfo=UTC) - datetime(2025, 1, 1, tzinfo=UTC)).total_seconds() * 1e6)
    starts = np.datetime64("2025-01-01T00:00:00", "us") + rng.integers(0, span_us, n).astype("timedelta64[us]")
    # a few exact local midnights, where off-by-one errors live
    starts[:200] = (np.datetime64("2026-09-15", "D") + rng.integers(0, 40, 200)).astype("datetime64[us]") - np.timedelta64(8, "h")
    days = rng.integers(0, 13, n)
    ends = starts + rng.integers(-2 * 86400 * 10**6, 25 * 86400 * 10**6, n).astype("timedelta64[us]")
    seconds = rng.uniform(0, 12 * 86400, n)

    deadlines = cal.add_working_days_many(starts, days)
    spans = cal.working_seconds_many(starts, ends)
    reached = cal.add_working_seconds_many(starts, seconds)
    flags = cal.fallback_many(starts, deadlines)
    local_days = (starts + np.timedelta64(8, "h")).astype("datetime64[D]")
    working = cal.is_working_day_many(local_days)
    for k in range(n):
        s, e = from_utc64(starts[k]), from_utc64(ends[k])
        assert from_utc64(deadlines[k]) == cal.add_working_days(s, int(days[k])), k
        assert spans[k] == cal.working_seconds(s, e), k
        assert from_utc64(reached[k]) == cal.add_working_seconds(s, float(seconds[k])), k
        assert bool(flags[k]) == bool(cal.fallback_between(s, from_utc64(deadlines[k]))), k
        assert bool(working[k]) == cal.is_working_day(s.date()), k
    assert flags.any() and not flags.all()  # 2027 is fallback in the data, 2025–2026 are not


def test_vectorised_nat_and_broadcast(package_calendar):
    starts = to_utc64([at(2026, 9, 30, 10), None, at(2026, 6, 5, 16)])
    out = package_calendar.add_working_days_many(starts, 3)
    assert from_utc64(out[0]) == at(2026, 10, 11) and np.isnat(out[1]) and from_utc64(out[2]) == at(2026, 6, 11)
    secs = package_calendar.working_seconds_many(starts, out)
    assert np.isnan(secs[1]) and secs[2] == 80 * 3600
    assert not package_calendar.fallback_many(starts, out).any()


# ------------------------------------------------------------------------------------------
# the process cache and the version counter


def test_current_notices_an_edit(seeded):
    first = current()
    assert current() is first  # cached: no rebuild without an edit
    assert first.is_working_day(date(2026, 10, 8))
    CalendarDay.objects.create(date=date(2026, 10, 8), working=False, name="县里停工")
    second = current()
    assert second is not first and second.version > first.version
    assert not second.is_working_day(date(2026, 10, 8))
    assert second.add_working_days(at(2026, 9, 30, 10), 3) == at(2026, 10, 13)  # 9, 10, 12 Oct
    assert first.add_working_days(at(2026, 9, 30, 10), 3) == at(2026, 10, 11)  # snapshots stay as they were


def test_every_kind_of_write_bumps_the_version(seeded):
    versions = [wd.read_version()]
    CalendarDay.objects.filter(date=date(2026, 10, 10)).update(name="x")
    versions.append(wd.read_version())
    with connection.cursor() as cur:
        cur.execute("UPDATE workdays_calendaryear SET note = 'y' WHERE year = 2026")
    versions.append(wd.read_version())
    CalendarYear.objects.filter(year=2026).delete()
    versions.append(wd.read_version())
    assert versions == sorted(set(versions))
    assert 2026 not in current().official_years


@pytest.mark.django_db(transaction=True)
def test_current_is_built_once_across_threads(monkeypatch):
    seed(YEARS)
    wd.forget()
    builds = []
    real_load = wd.load

    def counting_load(version=None):
        builds.append(version)
        return real_load(version)

    monkeypatch.setattr(wd, "load", counting_load)
    barrier = threading.Barrier(6)
    results = []

    def worker():
        try:
            barrier.wait()
            results.append(current())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and all(r is results[0] for r in results)
    assert len(builds) == 1
    assert results[0].add_working_days(at(2026, 9, 30, 10), 3) == at(2026, 10, 11)
    wd.forget()


# ------------------------------------------------------------------------------------------
# the admin


@pytest.fixture
def admin_client(db):
    user = User.objects.create_superuser("wd-admin", "wd@example.org", "pw-wd-admin")
    client = Client()
    client.force_login(user)
    return client


def test_admin_override_wins_over_the_package(seeded, admin_client):
    row = CalendarDay.objects.get(date=date(2026, 10, 10))
    assert row.source == Source.PACKAGE and row.working
    response = admin_client.post(
        f"/admin/workdays/calendarday/{row.pk}/change/",
        {"date": "2026-10-10", "name": "县政府通知：不调休", "working": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    row.refresh_from_db()
    assert row.source == Source.ADMIN and not row.working
    assert AuditEntry.objects.filter(action="admin.change", object_id=str(row.pk)).exists()
    report = seed(YEARS)
    row.refresh_from_db()
    assert not row.working and row.name == "县政府通知：不调休" and report.kept_admin_days >= 1
    # 30 Sep + 3: 8, 9, 12 Oct now that 10 Oct is off
    assert current().add_working_days(at(2026, 9, 30, 10), 3) == at(2026, 10, 13)


def test_admin_year_is_left_alone_by_seeding(seeded):
    CalendarYear.objects.filter(year=2026).update(source=Source.ADMIN, note="typed")
    report = seed([2026])
    assert [r.status for r in report.years] == ["admin"]
    assert CalendarYear.objects.get(year=2026).note == "typed"


def test_admin_enters_a_years_notice_by_hand(seeded, admin_client):
    notice = "\n".join([
        "# 国务院办公厅关于2028年部分节假日安排的通知（测试用）",
        "2028-10-01 至 2028-10-07 休 国庆节",
        "2028-09-30 班 国庆节调休上班",
        "2028-10-08 班 国庆节调休上班",
    ])
    response = admin_client.post(
        "/admin/workdays/calendaryear/add/",
        {"year": "2028", "complete": "on", "note": "hand-typed", "notice": notice},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    year = CalendarYear.objects.get(year=2028)
    assert year.source == Source.ADMIN and year.complete
    assert CalendarDay.objects.filter(date__year=2028, source=Source.ADMIN).count() == 9
    cal = current()
    assert cal.fallback_years(date(2028, 1, 1), date(2028, 12, 31)) == []
    # Fri 29 Sep + 3: Sat 30 (worked), Sun 8 Oct (worked), Mon 9 Oct
    due = cal.due(at(2028, 9, 29, 10), 3)
    assert due.at == at(2028, 10, 10) and due.fallback_years == []
    assert AuditEntry.objects.filter(action="workdays.notice", object_id=str(year.pk)).exists()
    page = admin_client.get(f"/admin/workdays/calendaryear/{year.pk}/change/").content.decode()
    assert "2028-10-08" in page and "国庆节调休上班" in page


def test_admin_bad_notice_saves_nothing(seeded, admin_client):
    response = admin_client.post(
        "/admin/workdays/calendaryear/add/",
        {"year": "2029", "complete": "on", "notice": "2029-10-01 休 国庆节\n2029-13-01 休 oops\n2029-10-02 maybe"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "line 2" in page and "line 3" in page
    assert not CalendarYear.objects.filter(year=2029).exists()
    assert not CalendarDay.objects.filter(date__year=2029).exists()


def test_admin_lists_filter_by_year_and_working(seeded, admin_client):
    page = admin_client.get("/admin/workdays/calendarday/?year=2026&working__exact=0").content.decode()
    assert "国庆节" in page and "2026" in page and "调休上班" not in page
    page = admin_client.get("/admin/workdays/calendarday/?year=2026&working__exact=1").content.decode()
    assert "国庆节调休上班" in page
    page = admin_client.get("/admin/workdays/calendaryear/").content.decode()
    assert "2026" in page and "2004" in page


def test_parse_notice():
    days = parse_notice("2027年2月6日~2027年2月8日 休 春节\n\n2027/2/20 班", 2027)
    assert [(d.date, d.working, d.name) for d in days] == [
        (date(2027, 2, 6), False, "春节"), (date(2027, 2, 7), False, "春节"),
        (date(2027, 2, 8), False, "春节"), (date(2027, 2, 20), True, ""),
    ]
    assert parse_notice("2026-12-26 班 元旦调休上班", 2027)[0].date == date(2026, 12, 26)
    with pytest.raises(NoticeError) as exc:
        parse_notice("2025-10-01 休\n2027-10-09 至 2027-10-01 休", 2027)
    assert len(exc.value.problems) == 2
