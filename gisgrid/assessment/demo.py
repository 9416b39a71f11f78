"""The assessment part of `./run demo`: last month scored, its bulletin issued, its report made.

On top of the month of cases `seed_cases_demo` plays, one case shows every link of a deduction:
in the demo grid member's own grid, dispatched to the member's own unit, completed two working
days late — so the member's −2 opens down to that overdue work order. Idempotent: the showcase
case is made once, bulletins and reports only when missing.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from gisgrid.boundaries.editions import active_edition
from gisgrid.boundaries.models import Grid, Person
from gisgrid.cases import workflow as wf
from gisgrid.cases.factories import reported_case, unit_staff
from gisgrid.cases.models import Case
from gisgrid.incidents.models import Category
from gisgrid.workdays import calendar as workdays_calendar

from . import assignments, bulletins, computing, reports
from .models import AssignmentPeriod, Bulletin, ReportFile
from .periods import period_of, previous

SHOWCASE = "考核演示：垃圾渣土堆积，工单超时办结"


def _member() -> Person | None:
    p = Person.objects.filter(user__username="gridmember", role="grid_member").select_related("unit").first()
    if p is None:
        p = Person.objects.filter(role="grid_member", unit__isnull=False, active=True).order_by("pk").first()
    return p


def showcase(now: datetime) -> Case | None:
    """The overdue work order in the demo member's grid, played through the workflow (once)."""
    found = Case.objects.filter(report__description=SHOWCASE).first()
    if found is not None:
        return found
    member = _member()
    if member is None or member.unit is None:
        return None
    code = (AssignmentPeriod.objects.filter(person=member, role="grid_member").order_by("start")
            .values_list("grid_code", flat=True).first())
    grid = Grid.objects.filter(edition=active_edition(), code=code).first() if code else None
    if grid is None:
        return None
    month = previous("month", timezone.localdate(now))
    cal = workdays_calendar.current()
    day = month.start + timedelta(days=9)
    while not cal.is_working_day(day):
        day += timedelta(days=1)
    tz = timezone.get_default_timezone()
    at = datetime.combine(day, time(9, 0), tz)
    category = (Category.objects.filter(lead_unit=member.unit, severity="general", parent__isnull=False).first()
                or Category.objects.get(code="E0103"))
    dispatcher = User.objects.get(username="dispatcher")
    staff = unit_staff(member.unit)
    spot = grid.geom.point_on_surface
    with transaction.atomic():
        c = reported_case(category, lon=spot.x, lat=spot.y, at=at, channel="public", reporter_name="李群众",
                          reporter_phone="13700000000", description=SHOWCASE, address=f"{grid.name}")
        c = wf.accept(c, dispatcher, version=c.version, lead_unit=member.unit, assisting_units=[],
                      at=at + timedelta(minutes=10))
        c = wf.dispatch(c, dispatcher, version=c.version, at=at + timedelta(minutes=15))
        c = wf.acknowledge(c, staff, version=c.version, at=at + timedelta(minutes=25))
        c = wf.arrive(c, staff, version=c.version, at=at + timedelta(hours=1))
        late = cal.add_working_days(c.complete_due, 2) + timedelta(hours=10)
        c = wf.complete(c, staff, version=c.version, result_text="已清运完毕（超期）", at=late)
        c = wf.verify(c, dispatcher, version=c.version, satisfied=True, at=late + timedelta(hours=2))
        c = wf.archive(c, dispatcher, version=c.version, at=late + timedelta(hours=3))
    return c


def seed(now: datetime | None = None) -> dict:
    now = now or timezone.now()
    assignments.sync()
    case = showcase(now)
    last = previous("month", timezone.localdate(now))
    computing.recompute(last, now=now)
    computing.recompute(period_of("month", timezone.localdate(now)), now=now)
    admin = User.objects.filter(username="dispatcher").first()
    issued = []
    for kind in ("month", "xun", "week"):
        p = previous(kind, timezone.localdate(now))
        if not Bulletin.objects.filter(kind=kind, start=p.start).exists():
            issued.append(bulletins.issue(p, admin, now=now, recompute=kind != "month").title)
    made = []
    for kind in ("month", "week", "day"):
        p = previous(kind, timezone.localdate(now))
        if not ReportFile.objects.filter(kind=kind, start=p.start, end=p.end).exists():
            made.append(reports.generate(p, now=now).title)
    return {"case": case.number if case else None, "month": last.label, "bulletins": issued, "reports": made}
