"""The demo's assessment (`seed_assessment_demo`, after seed_cases_demo in `./run demo`): last
month's bulletin issued, and the demo grid member's −2 leads to the overdue work order of their
unit in their grid. Run twice, it adds nothing."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.management import call_command

from gisgrid.assessment import demo, scores
from gisgrid.assessment.models import Bulletin, ReportFile
from gisgrid.assessment.periods import previous
from gisgrid.boundaries.models import Person
from gisgrid.cases.models import Case
from gisgrid.workdays import calendar as workdays_calendar
from gisgrid.workdays.seeding import seed
from tests.test_assessment_scores import NOW


def test_demo_month_bulletin_and_the_overdue_minus_two(heyang_db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    seed([2025, 2026])
    workdays_calendar.forget()
    call_command("seed_patrol_demo", "--no-simulate")
    member = Person.objects.get(user=User.objects.get(username="gridmember"))
    r = demo.seed(now=NOW)
    month = previous("month", NOW.date())
    assert r["month"] == "2026年11月" and r["case"]
    b = Bulletin.objects.get(kind="month", start=month.start)
    assert b.title == "网格化管理考核月通报（2026年11月）"
    mine = [p for p in b.snapshot["people"] if p["person_id"] == member.pk]
    assert mine and mine[0]["minus"] <= -2
    overdue = [e for e in b.snapshot["entries"] if e["person_id"] == member.pk and e["rule"] == "overdue"]
    assert overdue and overdue[0]["points"] == -2
    wo = overdue[0]["work_order"]
    assert wo["unit"] == member.unit.name and wo["completed_at"] > wo["due"]
    assert overdue[0]["case"] == r["case"]
    assert scores.entries(month, person_id=member.pk, rule="overdue")[0]["work_order"]["id"] == wo["id"]
    assert ReportFile.objects.filter(kind="month", start=month.start).exists()
    again = demo.seed(now=NOW)
    assert again["case"] == r["case"] and again["bulletins"] == [] and again["reports"] == []
    assert Case.objects.filter(report__description=demo.SHOWCASE).count() == 1


def test_the_periodic_pass_makes_each_report_once(heyang_db, settings, tmp_path):
    from gisgrid.assessment import schedule
    from gisgrid.cases.management.commands.run_clocks import periodic_passes
    from gisgrid.cases.models import Notice

    settings.MEDIA_ROOT = str(tmp_path / "media")
    schedule._last.clear()
    done = schedule.periodic_pass(now=NOW)
    assert done["assessment_reports"] == 3 and done["assessment_recompute"] == 1
    kinds = sorted(ReportFile.objects.values_list("kind", "start"))
    assert [k for k, _ in kinds] == ["day", "month", "week"]
    rf = ReportFile.objects.get(kind="day")
    assert rf.start.isoformat() == "2026-11-30" and rf.pdf.name.endswith(".pdf") and rf.xlsx and rf.csv
    assert Notice.objects.filter(kind="assessment_report").count() == 6  # dispatchers and chiefs, 3 reports
    assert "assessment_reports" not in schedule.periodic_pass(now=NOW)  # made once: nothing more to make
    # run_clocks' loop runs it (the settings list, imported by dotted path).
    settings.GISGRID_PERIODIC_PASSES = ["gisgrid.assessment.schedule.periodic_pass"]
    assert isinstance(periodic_passes(), dict)
