"""The scripted month: November 2026 played through the real case loop, scores computed by hand
for five people and three units, every rule at least once; the quota's warning and replacement
recommendation; a person who changed grid mid-month scored in each grid; recompute idempotent.

Hand computation (rule weights as seeded: missed −1, holiday +1, repeat complaints −5, false
result −5, buck-passing −5, second round −2, overdue −2, late response −1, patrol duty −2/week):

| who | entries | score |
|---|---|---|
| A (member, G1, 城管局) | case1 missed −1, case1 overdue −2, case2 holiday +1, case2 false −5, case2 second round −2 | 91 |
| B (member, G1 → G2 on 16 Nov, 城管局) | G1: case1 missed −1, overdue −2, case2 false −5, second round −2; G2: case3 missed −1, case4 repeat −5, missed −1, case5 overdue −2 | 81 |
| C (member, G2, 住建局) | case3 missed −1, case3 buck-passing −5, case4 repeat −5, case4 missed −1 | 88 |
| D (inspector) | no tracks: the duty unmet in the 5 weeks ending in November, −2 each | 90 |
| E (chief, G2) | nothing | 100 |

Units: 城管局 entries −11 (case1 overdue, case2 false, second round, case5 overdue) and rates:
closure 3/4 = 75 % (−10), on time 2/4 = 50 % (−20), satisfaction 2/3 = 66.67 % (−11.67),
rework 1/4 = 25 % (−7.5): 100 − 11 − 49.17 = 39.83. 住建局: buck-passing −5 → 95. 水务局: one late
acknowledgement −1, every rate met → 99.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User

from gisgrid.assessment import computing, scores
from gisgrid.assessment.models import AssignmentPeriod, QuotaWeek, ScoreEntry
from gisgrid.assessment.periods import Period
from gisgrid.boundaries.editions import active_edition
from gisgrid.boundaries.models import Grid, Person, Unit
from gisgrid.cases import workflow as wf
from gisgrid.cases.factories import account, reported_case, unit_staff
from gisgrid.cases.models import Notice
from gisgrid.workdays import calendar as workdays_calendar
from gisgrid.workdays.seeding import seed

TZ = ZoneInfo("Asia/Shanghai")
NOV = Period("month", date(2026, 11, 1), date(2026, 11, 30))
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)


def t(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def point_in(code: str) -> tuple[float, float]:
    g = Grid.objects.get(edition=active_edition(), code=code)
    p = g.geom.point_on_surface
    return p.x, p.y


def person(name: str, role: str, unit: str | None, username: str, user_role: str) -> Person:
    user = account(username, user_role, first_name=name)
    return Person.objects.create(name=name, role=role, unit=Unit.objects.get(code=unit) if unit else None,
                                 user=user, phone="13912345678")


class Month:
    """The people, units and cases of the scripted month (see the module docstring)."""

    def __init__(self):
        seed([2025, 2026])
        workdays_calendar.forget()
        codes = list(Grid.objects.filter(edition=active_edition(), level=3).order_by("code")
                     .values_list("code", flat=True)[:2])
        self.g1, self.g2 = codes
        self.d = User.objects.get(username="dispatcher")
        self.a = person("甲网格员", "grid_member", "D-CGJ", "assess_a", "grid_member")
        self.b = person("乙网格员", "grid_member", "D-CGJ", "assess_b", "grid_member")
        self.c = person("丙网格员", "grid_member", "D-ZJJ", "assess_c", "grid_member")
        self.insp = person("丁巡查员", "inspector", None, "assess_d", "inspector")
        self.e = person("戊网格长", "grid_chief", None, "assess_e", "grid_chief")
        year = date(2026, 1, 1)
        AssignmentPeriod.objects.create(person=self.a, grid_code=self.g1, role="grid_member", start=year)
        AssignmentPeriod.objects.create(person=self.b, grid_code=self.g1, role="grid_member", start=year,
                                        end=date(2026, 11, 15))
        AssignmentPeriod.objects.create(person=self.b, grid_code=self.g2, role="grid_member",
                                        start=date(2026, 11, 16))
        AssignmentPeriod.objects.create(person=self.c, grid_code=self.g2, role="grid_member", start=year)
        AssignmentPeriod.objects.create(person=self.e, grid_code=self.g2, role="grid_chief", start=year)
        self.cgj = Unit.objects.get(code="D-CGJ")
        self.zjj = Unit.objects.get(code="D-ZJJ")
        self.swj = Unit.objects.get(code="D-SWJ")
        self.staff = {u.pk: unit_staff(u) for u in (self.cgj, self.zjj, self.swj)}
        self.play()

    def case(self, category: str, grid: str, at: datetime, channel: str, user=None):
        lon, lat = point_in(grid)
        return reported_case(category, user=user, lon=lon, lat=lat, at=at, channel=channel)

    def accept_dispatch(self, c, at: datetime):
        c = wf.accept(c, self.d, version=c.version, at=at)
        return wf.dispatch(c, self.d, version=c.version, at=at.replace(minute=at.minute + 1))

    def work(self, c, ack: datetime, done: datetime):
        s = self.staff[c.lead_unit_id]
        c = wf.acknowledge(c, s, version=c.version, at=ack)
        c = wf.arrive(c, s, version=c.version, at=ack.replace(minute=ack.minute + 5))
        return wf.complete(c, s, version=c.version, result_text="已处理", at=done)

    def close(self, c, at: datetime):
        c = wf.verify(c, self.d, version=c.version, satisfied=True, at=at)
        return wf.archive(c, self.d, version=c.version, at=at.replace(minute=at.minute + 1))

    def play(self):
        # case1: the public reports in G1 (A and B missed it); 城管局 completes late.
        c1 = self.case("E0103", self.g1, t(11, 3, 9), "public")
        assert c1.lead_unit_id == self.cgj.pk
        c1 = self.accept_dispatch(c1, t(11, 3, 10))
        c1 = self.work(c1, t(11, 3, 10, 10), t(11, 10, 9))
        self.c1 = self.close(c1, t(11, 10, 10))
        # case2: A reports on a Saturday; the result is judged false, a second round follows.
        c2 = self.case("C0301", self.g1, t(11, 7, 10), "grid_member", user=self.a.user)
        c2 = self.accept_dispatch(c2, t(11, 9, 9))
        c2 = self.work(c2, t(11, 9, 9, 10), t(11, 9, 15))
        c2 = wf.verify(c2, self.d, version=c2.version, satisfied=False, reason="整改不到位", at=t(11, 10, 11))
        c2 = self.work(c2, t(11, 10, 11, 20), t(11, 11, 9))
        self.c2 = self.close(c2, t(11, 11, 10))
        # case3: a hotline call in G2; 住建局 returns it twice (buck-passing on the second).
        c3 = self.case("C0401", self.g2, t(11, 18, 9), "hotline", user=self.d)
        c3 = self.accept_dispatch(c3, t(11, 18, 10))
        s = self.staff[self.zjj.pk]
        c3 = wf.return_to_centre(c3, s, version=c3.version, reason="非本单位职责", at=t(11, 18, 11))
        c3 = wf.dispatch(c3, self.d, version=c3.version, at=t(11, 18, 12))
        self.c3 = wf.return_to_centre(c3, s, version=c3.version, reason="仍非本单位职责", at=t(11, 18, 13))
        # case4: residents complain three times about the water supply before any member reports.
        root = self.case("S0602", self.g2, t(11, 20, 8), "public")
        for i, ch in enumerate(("public", "hotline")):
            dup = self.case("S0602", self.g2, t(11, 20, 9 + i), ch, user=self.d if ch == "hotline" else None)
            wf.merge(dup, root, self.d, version=dup.version, at=t(11, 20, 9 + i, 5))
        root.refresh_from_db()
        root = self.accept_dispatch(root, t(11, 20, 11))
        root = self.work(root, t(11, 20, 11, 45), t(11, 21, 10))  # acknowledged 15 min late
        self.c4 = self.close(root, t(11, 23, 10))
        # case5: B reports in G2 after moving there; 城管局 never completes it.
        c5 = self.case("E0103", self.g2, t(11, 24, 9), "grid_member", user=self.b.user)
        c5 = self.accept_dispatch(c5, t(11, 24, 10))
        self.c5 = wf.acknowledge(c5, self.staff[self.cgj.pk], version=c5.version, at=t(11, 24, 10, 10))


@pytest.fixture
def month(heyang_db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Month()


def by_person(rows: list[dict]) -> dict[int, dict]:
    return {r["person_id"]: r for r in rows}


def test_the_scripted_month(month):
    m = month
    result = computing.recompute(NOV, now=NOW)
    assert result.entries > 0
    people = by_person(scores.person_scores(NOV, person_ids=[m.a.pk, m.b.pk, m.c.pk, m.insp.pk, m.e.pk]))
    assert people[m.a.pk]["score"] == 91
    assert people[m.b.pk]["score"] == 81
    assert people[m.c.pk]["score"] == 88
    assert people[m.insp.pk]["score"] == 90
    assert people[m.e.pk]["score"] == 100
    # B changed grid on 16 November: scored in each grid for the days there.
    assert people[m.b.pk]["by_grid"] == {m.g1: -10.0, m.g2: -9.0}

    def rules_of(p: Person) -> dict[str, float]:
        out: dict[str, float] = {}
        for e in ScoreEntry.objects.filter(person=p, booked__gte=NOV.start, booked__lte=NOV.end
                                           ).select_related("rule"):
            out[e.rule.code] = out.get(e.rule.code, 0) + float(e.points)
        return {k: v for k, v in out.items() if v}

    assert rules_of(m.a) == {"missed_report": -1, "overdue": -2, "holiday_report": 1, "false_result": -5,
                             "second_round": -2}
    assert rules_of(m.b) == {"missed_report": -3, "overdue": -4, "false_result": -5, "second_round": -2,
                             "repeat_complaints": -5}
    assert rules_of(m.c) == {"missed_report": -2, "buck_passing": -5, "repeat_complaints": -5}
    assert rules_of(m.insp) == {"patrol_duty": -10}

    units = {r["unit_id"]: r for r in scores.unit_scores(NOV, now=NOW, unit_ids=[m.cgj.pk, m.zjj.pk, m.swj.pk])}
    cgj = units[m.cgj.pk]
    assert cgj["entry_points"] == -11
    assert cgj["rates"]["closure_rate"]["rate"] == 75.0 and cgj["rates"]["closure_rate"]["points"] == -10
    assert cgj["rates"]["on_time_rate"]["rate"] == 50.0 and cgj["rates"]["on_time_rate"]["points"] == -20
    assert cgj["rates"]["satisfaction_rate"]["rate"] == 66.67
    assert cgj["rates"]["satisfaction_rate"]["points"] == -11.67
    assert cgj["rates"]["rework_rate"]["rate"] == 25.0 and cgj["rates"]["rework_rate"]["points"] == -7.5
    assert cgj["score"] == pytest.approx(39.83)
    assert units[m.zjj.pk]["score"] == 95
    assert units[m.swj.pk]["score"] == 99
    assert units[m.swj.pk]["counts"]["n_late_response"] == 1

    # Every entry keeps its evidence: A's −2 leads to the overdue work order of case 1.
    overdue = scores.entries(NOV, person_id=m.a.pk, rule="overdue")
    assert len(overdue) == 1
    ev = overdue[0]
    assert ev["points"] == -2 and ev["case"] == m.c1.number
    assert ev["work_order"]["unit"] == "县城市管理执法局" and ev["work_order"]["completed_at"] > ev["work_order"]["due"]
    false = scores.entries(NOV, unit_id=m.cgj.pk, rule="false_result")[0]
    assert false["event"]["action"] == "verify" and false["event"]["reason"] == "整改不到位"
    duty = scores.entries(NOV, person_id=m.insp.pk, rule="patrol_duty")
    assert len(duty) == 5 and all(d["figure"]["visited"] == 0 and d["figure"]["unmet_grids"] > 0 for d in duty)


def test_recompute_is_idempotent(month):
    computing.recompute(NOV, now=NOW, patrol=False)
    first = sorted(ScoreEntry.objects.values_list("key", "points", "booked"))
    computing.recompute(NOV, now=NOW, patrol=False)
    assert sorted(ScoreEntry.objects.values_list("key", "points", "booked")) == first


def test_weights_are_data(month):
    from gisgrid.assessment.models import Rule

    Rule.objects.filter(code="missed_report").update(points=Decimal("-3"))
    computing.recompute(NOV, now=NOW, patrol=False)
    row = by_person(scores.person_scores(NOV, person_ids=[month.c.pk]))[month.c.pk]
    assert row["score"] == 100 - 3 - 5 - 5 - 3


def test_quota_warning_and_replacement(month):
    m = month
    computing.recompute(NOV, now=NOW, patrol=False)
    weeks = {q.week_start: q for q in QuotaWeek.objects.filter(person=m.a)}
    # A found one matter (case 2, Saturday 7 November) in the week of 2 November: short of 2.
    assert weeks[date(2026, 11, 2)].found == 1 and weeks[date(2026, 11, 2)].status == "short"
    # The week after, none: a warning (the week before had one, so no replacement yet).
    assert weeks[date(2026, 11, 9)].status == "none"
    assert weeks[date(2026, 11, 16)].status == "replace"
    c_weeks = {q.week_start: q.status for q in QuotaWeek.objects.filter(person=m.c)}
    assert c_weeks[date(2026, 11, 23)] == "replace"
    # The member and the grid chief are told, once.
    subjects_c = list(Notice.objects.filter(recipient_user=m.c.user, kind="assessment_quota")
                      .values_list("subject", flat=True))
    assert any("建议替换" in s and "丙网格员" in s for s in subjects_c)
    subjects_e = list(Notice.objects.filter(recipient_user=m.e.user, kind="assessment_quota")
                      .values_list("subject", flat=True))
    assert any("建议替换" in s and "丙网格员" in s for s in subjects_e)
    count = Notice.objects.filter(kind="assessment_quota").count()
    computing.recompute(NOV, now=NOW, patrol=False)
    assert Notice.objects.filter(kind="assessment_quota").count() == count
    rows = by_person(scores.person_scores(NOV, person_ids=[m.c.pk]))
    assert rows[m.c.pk]["no_excellent"] is True


def test_patrol_duty_weeks_are_kept_until_what_they_came_from_changes(month):
    """A past week's patrol findings are measured once and kept; a late fix in one week (or a
    new weight) makes that week (or every week) be measured again."""
    import datetime as dt

    from gisgrid.assessment.models import PatrolDutyWeek, Rule
    from gisgrid.patrols.ingest import auth, pipeline
    from gisgrid.patrols.ingest.records import Fix
    from gisgrid.patrols.models import Device

    m = month
    # The inspector's phone (a device bound to a person is part of every week's digest).
    d = Device(identifier="duty-late", person=m.insp)
    auth.set_token(d)
    d.save()
    computing.recompute(NOV, now=NOW)

    def weeks() -> dict:
        return {w.week_start: (w.basis, w.computed_at, w.rows) for w in PatrolDutyWeek.objects.order_by("week_start")}

    def duty() -> list:
        return sorted(ScoreEntry.objects.filter(rule__code="patrol_duty").values_list("key", "points", "figure"))

    def mine(rows: list) -> list:
        return [figure for person_id, figure in rows if person_id == m.insp.pk]

    kept, entries = weeks(), duty()
    assert len(kept) == 5 and sum(1 for e in entries if e[0].startswith(f"patrol_duty:{m.insp.pk}:")) == 5
    assert all(len(mine(rows)) == 1 and mine(rows)[0]["visited"] == 0 for _, _, rows in kept.values())
    computing.recompute(NOV, now=NOW)
    assert weeks() == kept and duty() == entries  # nothing measured again

    # The phone uploads a walk of the second week late.
    second = sorted(kept)[1]
    t0 = datetime.combine(second, datetime.min.time(), TZ) + dt.timedelta(days=2, hours=9)
    fixes = [Fix("duty-late", 35.2377 + 0.0001 * i, 110.1496, t0 + dt.timedelta(seconds=10 * i), speed=1.2)
             for i in range(60)]
    stored = pipeline.ingest(fixes, {"duty-late": d}, source="batch", now=t0 + dt.timedelta(minutes=15))
    assert stored.accepted == 60
    computing.recompute(NOV, now=NOW)
    after = weeks()
    assert [w for w in after if after[w][0] != kept[w][0]] == [second]
    assert all(after[w][1] == kept[w][1] for w in after if w != second)  # the others were kept
    late = mine(after[second][2])
    # Measured again with the walk: it covered grids (or, had it met the share, no deduction).
    assert late == [] or late[0]["sessions"] == 1 and late[0]["distance_m"] > 0

    rule = Rule.objects.get(code="patrol_duty")
    rule.points = Decimal("-3")
    rule.save()
    computing.recompute(NOV, now=NOW)
    assert all(weeks()[w][0] != after[w][0] for w in after)
    assert {e[1] for e in duty()} == {Decimal("-3")}
