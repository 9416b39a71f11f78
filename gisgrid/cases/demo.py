"""A believable month of Heyang cases for `./run demo`, made through the real workflow.

Each case gets a planned life (accept, dispatch, acknowledge, on site, complete, verify, archive,
with the county's usual detours: rework, return to the centre, extension, pause, void, merge,
supervision) with times drawn around the county's limits; the steps whose time has come are
played through the workflow functions at their times, the rest are left to come. So the month
ends with every state, the recent cases' clocks running green, yellow or red, and the timeline,
audit trail and notices of each one as real use leaves them. The National Day week of 2026
(1–7 October off, Sunday 20 September and Saturday 10 October make-up working days) is played
too, whatever today's date.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from gisgrid.boundaries.models import Edition, GridAssignment, Person, Unit
from gisgrid.incidents.models import Category

from . import clocks, notices
from . import workflow as wf
from .factories import reported_case, unit_staff
from .importing import import_rows
from .models import Case

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红梅玉兰志强海燕晓东春"
STREETS = ["人民路", "新华路", "凤凰路", "府前街", "文化路", "东环路", "西环路", "北顺路", "南街", "莘城路",
           "金水路", "泰山路", "黄河路", "和阳路", "莘野路"]
DETAILS = {
    "on_the_spot": ["路边有垃圾散落，影响通行", "商户门前占道摆摊", "小广告贴满电线杆", "车辆乱停占用人行道"],
    "general": ["路灯连续几晚不亮", "井盖松动有响声", "人行道砖破损翘起", "垃圾箱损坏无法使用", "楼道堆放杂物"],
    "major": ["路面出现塌陷坑", "自来水管破裂路面积水", "疑似违章搭建彩钢房", "施工围挡倒塌"],
    "complex": ["耕地上新建砖房疑似违法占地", "多名工人反映工资被拖欠", "河道排污口黑水直排"],
}
VOID_REASONS = ["经核实不属实", "已由群众自行解决", "不属于本县管辖范围"]
PAUSE_REASONS = ["需纳入年度整治计划统一处理", "涉及产权纠纷，待法院判决", "等待上级资金批复"]
RETURN_REASONS = ["该路段不属本单位管养，请改派属地街道", "非本单位职责，应由属地处理"]


@dataclass
class Plan:
    reported_at: datetime
    category: Category
    lon: float
    lat: float
    channel: str
    user: User | None
    name: str
    phone: str
    description: str
    address: str
    fate: str = "normal"
    round: int = 1
    void_reason: str = ""
    # The step times of the last round, by import column (for the history stored in bulk).
    times: dict[str, datetime] = field(default_factory=dict)
    steps: list[tuple[datetime, Callable[[Case, datetime], Case]]] = field(default_factory=list)


class Demo:
    def __init__(self, now: datetime, seed: int = 11):
        self.now = now
        self.rnd = random.Random(seed)
        self.dispatcher = User.objects.get(username="dispatcher")
        self.hotline = self.dispatcher
        self.gridmember = User.objects.filter(username="gridmember").first()
        self.inspector = User.objects.filter(username="inspector").first()
        self.staff: dict[int, User] = {}
        for m in User.objects.filter(username="unitstaff").prefetch_related("unit_memberships"):
            for um in m.unit_memberships.all():
                self.staff[um.unit_id] = m
        self.members = list(Person.objects.filter(role="grid_member", active=True).values_list("name", "phone"))
        self.inspectors = list(Person.objects.filter(role="inspector", active=True).values_list("name", "phone"))
        weights = {"on_the_spot": 5, "general": 4, "major": 1.2, "complex": 0.4}
        self.categories = [c for c in Category.objects.filter(active=True, parent__isnull=False)
                           .select_related("lead_unit")]
        self.weights = [weights[c.severity] for c in self.categories]
        self.points = self._points()
        own = set()
        if self.gridmember is not None:
            person = Person.objects.filter(user=self.gridmember).first()
            if person:
                own = set(GridAssignment.objects.filter(person=person).values_list("grid_code", flat=True))
        self.own_points = self._points(codes=own, n=60) if own else []
        self.counts: dict[str, int] = {}

    # -- material --------------------------------------------------------------------------------
    def _points(self, codes: set[str] | None = None, n: int = 1600) -> list[tuple[float, float]]:
        """Random points inside the grids: three in four in the county town's urban grids."""
        edition = Edition.objects.filter(status="active").first()
        if edition is None:
            raise RuntimeError("no active edition: run load_heyang first")
        with connection.cursor() as cur:
            if codes:
                cur.execute("SELECT ST_X(p.geom), ST_Y(p.geom) FROM (SELECT (ST_Dump(ST_GeneratePoints("
                            "ST_Union(geom), %s, 7))).geom FROM boundaries_grid WHERE edition_id = %s"
                            " AND code = ANY(%s)) p", [n, edition.pk, sorted(codes)])
                return cur.fetchall()
            cur.execute("SELECT ST_X(p.geom), ST_Y(p.geom) FROM (SELECT (ST_Dump(ST_GeneratePoints("
                        "ST_Union(geom), %s, 11))).geom FROM boundaries_grid WHERE edition_id = %s AND level = 3) p",
                        [n * 3 // 4, edition.pk])
            urban = cur.fetchall()
            cur.execute("SELECT ST_X(p.geom), ST_Y(p.geom) FROM (SELECT (ST_Dump(ST_GeneratePoints("
                        "ST_Union(geom), %s, 13))).geom FROM boundaries_grid WHERE edition_id = %s"
                        " AND level = 2 AND NOT urban) p", [n // 4, edition.pk])
            return urban + cur.fetchall()

    def _name(self) -> str:
        r = self.rnd
        return r.choice(SURNAMES) + r.choice(GIVEN) + (r.choice(GIVEN) if r.random() < 0.6 else "")

    def _phone(self) -> str:
        return "1" + self.rnd.choice("35789") + "".join(self.rnd.choice("0123456789") for _ in range(9))

    def staff_for(self, unit: Unit) -> User:
        user = self.staff.get(unit.pk)
        if user is None:
            # Demo duty accounts: no password (unusable), so check_production has nothing to refuse.
            user = unit_staff(unit, username=f"duty-{unit.code.lower()}")
            if user.has_usable_password():
                user.set_unusable_password()
                user.save(update_fields=["password"])
            self.staff[unit.pk] = user
        return user

    # -- a case's planned life ----------------------------------------------------------------------
    def plan(self, reported_at: datetime, *, fate: str | None = None) -> Plan:
        r = self.rnd
        category = r.choices(self.categories, self.weights)[0]
        pool = self.own_points if self.own_points and r.random() < 0.06 else self.points
        lon, lat = r.choice(pool)
        roll = r.random()
        if roll < 0.45:
            channel, user = "grid_member", (self.gridmember if self.gridmember and r.random() < 0.15 else None)
            name, phone = r.choice(self.members) if self.members else (self._name(), self._phone())
        elif roll < 0.65:
            channel, user = "inspector", (self.inspector if self.inspector and r.random() < 0.3 else None)
            name, phone = r.choice(self.inspectors) if self.inspectors else (self._name(), self._phone())
        elif roll < 0.85:
            channel, user, name, phone = "hotline", self.hotline, self._name(), self._phone()
        else:
            channel, user, name, phone = "public", None, self._name(), self._phone()
        if user is not None and channel in ("grid_member", "inspector"):
            name = user.get_full_name() or name
        p = Plan(reported_at, category, lon, lat, channel, user, name, phone,
                 r.choice(DETAILS[category.severity]), f"{r.choice(STREETS)}{r.randint(1, 300)}号附近")
        self._life(p, fate or self._fate())
        return p

    def _fate(self) -> str:
        return self.rnd.choices(
            ["normal", "void", "rework", "return", "extension", "late", "stall_ack", "stall_site", "pause",
             "pause_resume", "merge"],
            [70, 4, 8, 3, 4, 6, 2, 3, 2, 2, 0])[0]

    def _life(self, p: Plan, fate: str) -> None:
        r, d = self.rnd, self.dispatcher
        add = p.steps.append
        p.fate = fate
        t = p.reported_at + timedelta(minutes=r.uniform(3, 28))
        if fate == "void":
            reason = p.void_reason = r.choice(VOID_REASONS)
            p.times["voided_at"] = t
            add((t, lambda c, at: wf.void(c, d, version=c.version, reason=reason, at=at)))
            return
        if fate == "merge":
            return  # aimed at an open case when played (aim_merge)
        p.times["accepted_at"] = t
        add((t, lambda c, at: wf.accept(c, d, version=c.version, at=at)))
        if fate in ("pause", "pause_resume"):
            reason = r.choice(PAUSE_REASONS)
            add((t + timedelta(minutes=5), lambda c, at: wf.pause(c, d, version=c.version, reason=reason, at=at)))
            if fate == "pause":
                return
            t += timedelta(days=r.uniform(1, 4))
            add((t, lambda c, at: wf.resume(c, d, version=c.version, at=at)))
        t += timedelta(minutes=r.uniform(2, 12))
        p.times["dispatched_at"] = t
        add((t, lambda c, at: wf.dispatch(c, d, version=c.version, at=at)))
        self._round(p, t, fate, first=True)

    def _round(self, p: Plan, dispatched: datetime, fate: str, *, first: bool) -> None:
        r, d = self.rnd, self.dispatcher
        add = p.steps.append
        t = dispatched + timedelta(minutes=r.uniform(3, 35))
        if fate == "stall_ack" and first:
            return
        if fate == "return" and first:
            reason = r.choice(RETURN_REASONS)
            add((t, lambda c, at: wf.return_to_centre(c, self.staff_for(c.lead_unit), version=c.version,
                                                      reason=reason, at=at)))
            t += timedelta(minutes=r.uniform(5, 20))
            add((t, self._reassign))
            t += timedelta(minutes=2)
            add((t, lambda c, at: wf.dispatch(c, d, version=c.version, at=at)))
            self._round(p, t, "normal", first=False)
            return
        p.times["acknowledged_at"] = t
        add((t, self._acknowledge_all))
        t += timedelta(minutes=r.uniform(15, 140))
        p.times["on_site_at"] = t
        add((t, self._arrive_all))
        if fate == "stall_site" and first:
            return
        due = clocks.completion_clock(dispatched, clocks.working_days_for(p.category.severity)).due
        span = (due - dispatched).total_seconds()
        if fate == "extension" and first and p.category.severity != "on_the_spot":
            ask = t + timedelta(hours=r.uniform(2, 20))
            add((ask, lambda c, at: self._ask_extension(c, 2, at)))
            add((ask + timedelta(hours=1), lambda c, at: wf.decide_extension(
                c.extensions.filter(state="requested").latest("id"), d, version=c.version, approve=True,
                reason="同意延期", at=at)))
            span *= 1.3
        share = r.uniform(1.02, 1.5) if fate == "late" and first else r.uniform(0.1, 0.85)
        done = max(dispatched + timedelta(seconds=span * share), t + timedelta(minutes=20))
        p.times["completed_at"] = done
        add((done, self._complete_all))
        verify_at = done + timedelta(hours=r.uniform(2, 30))
        if fate == "rework" and first:
            p.round, p.times["dispatched_at"] = 2, verify_at
            add((verify_at, lambda c, at: wf.verify(c, d, version=c.version, satisfied=False,
                                                    reason="回访群众不满意，现场仍未整改到位", at=at)))
            self._round(p, verify_at, "normal", first=False)
            return
        archive_at = verify_at + timedelta(minutes=r.uniform(10, 180))
        p.times["verified_at"], p.times["archived_at"] = verify_at, archive_at
        add((verify_at, lambda c, at: wf.verify(c, d, version=c.version, satisfied=True, reason="电话回访满意",
                                                at=at)))
        add((archive_at, lambda c, at: wf.archive(c, d, version=c.version, at=at)))

    def aim_merge(self, p: Plan, into: Case) -> None:
        """Make `p` a second report of `into`'s problem (a few metres off), merged by the centre."""
        r, d = self.rnd, self.dispatcher
        p.category = into.category
        p.lon = into.report.point.x + r.uniform(-0.0003, 0.0003)
        p.lat = into.report.point.y + r.uniform(-0.0003, 0.0003)
        p.description = into.report.description
        t = p.reported_at + timedelta(minutes=r.uniform(3, 28))
        p.steps = [(t, lambda c, at: wf.merge(c, into, d, version=c.version, at=at))]

    # steps acting for the units --------------------------------------------------------------------
    def _orders(self, c: Case, state: str):
        return [o for o in c.work_orders.filter(round=c.round, state=state).select_related("unit").order_by("role")]

    def _acknowledge_all(self, c: Case, at: datetime) -> Case:
        for o in self._orders(c, "dispatched"):
            c = wf.acknowledge(c, self.staff_for(o.unit), version=c.version, unit=o.unit, at=at)
        return c

    def _arrive_all(self, c: Case, at: datetime) -> Case:
        for o in self._orders(c, "acknowledged"):
            c = wf.arrive(c, self.staff_for(o.unit), version=c.version, unit=o.unit, at=at)
        return c

    def _complete_all(self, c: Case, at: datetime) -> Case:
        # Assisting units report first; the lead's result completes the case.
        for o in reversed(self._orders(c, "on_site")):
            text = "已会同协办单位现场处置完毕，群众认可" if o.role == "lead" else "已配合主办单位完成处置"
            c = wf.complete(c, self.staff_for(o.unit), version=c.version, unit=o.unit, at=at, result_text=text)
        return c

    def _ask_extension(self, c: Case, days: int, at: datetime) -> Case:
        wf.request_extension(c, self.staff_for(c.lead_unit), version=c.version, days=days,
                             reason="需协调多个部门，申请延期", at=at)
        return Case.objects.get(pk=c.pk)

    def _reassign(self, c: Case, at: datetime) -> Case:
        town = self._town_of(c)
        return wf.reassign(c, self.dispatcher, version=c.version, lead_unit=town or c.lead_unit, at=at)

    @staticmethod
    def _town_of(c: Case) -> Unit | None:
        from gisgrid.boundaries.models import Grid

        grid = Grid.objects.filter(edition_id=c.report.edition_id, code=c.report.level1_code).select_related(
            "unit").first()
        return grid.unit if grid and grid.unit_id != c.lead_unit_id else None

    # -- playing ----------------------------------------------------------------------------------------
    def play(self, p: Plan) -> Case | None:
        """Report the case at its time and take the steps whose time has come."""
        if p.reported_at > self.now:
            return None
        case = reported_case(p.category, user=p.user, lon=p.lon, lat=p.lat, at=p.reported_at, channel=p.channel,
                             reporter_name=p.name[:50], reporter_phone=p.phone, description=p.description,
                             address=p.address)
        for at, step in p.steps:
            if at > self.now:
                break
            case = step(case, at)
        self.counts[case.state] = self.counts.get(case.state, 0) + 1
        return case


# Fates whose detours only the workflow records (a pause, an extension, a return, a merge):
# always played, however old.
PLAYED_FATES = ("pause", "pause_resume", "extension", "return", "merge")
STATE_OF = {"accepted_at": "accepted", "dispatched_at": "dispatched", "acknowledged_at": "acknowledged",
            "on_site_at": "on_site", "completed_at": "completed", "verified_at": "verified", "archived_at": "archived"}


def as_row(p: Plan, now: datetime) -> dict:
    """A planned case as an import row: its steps up to `now`, the state they reach."""
    row = {"reported_at": p.reported_at.isoformat(), "category": p.category.code, "lon": f"{p.lon:.7f}",
           "lat": f"{p.lat:.7f}", "reporter_name": p.name[:50], "reporter_phone": p.phone, "channel": p.channel,
           "description": p.description, "address": p.address, "round": str(p.round), "state": "reported"}
    if p.fate == "void":
        row.update(state="voided", voided_at=p.times["voided_at"].isoformat(), void_reason=p.void_reason)
        return row
    for col, state in STATE_OF.items():
        at = p.times.get(col)
        if at is None or at > now:
            break
        row[col], row["state"] = at.isoformat(), state
    if row["state"] in ("completed", "verified", "archived"):
        row["result_text"] = "已会同协办单位现场处置完毕，群众认可"
    if row["state"] in ("verified", "archived"):
        row["satisfied"] = "1"
    return row


def _day_times(rnd: random.Random, day: datetime, n: int) -> list[datetime]:
    """`n` report times on `day`, mostly in working hours."""
    out = []
    for _ in range(n):
        hour = rnd.choices(range(24), [1, 0, 0, 0, 0, 1, 2, 5, 9, 10, 10, 9, 6, 6, 9, 10, 9, 8, 6, 5, 4, 3, 2, 1])[0]
        out.append(day + timedelta(hours=hour, minutes=rnd.uniform(0, 59)))
    return sorted(out)


def seed_demo(now: datetime | None = None, *, days: int = 30, per_day: int = 22, national_day: bool = True,
              seed: int = 11, played_days: int = 5) -> dict:
    """A month of cases ending `now` (and the 2026 National Day week). The last `played_days`
    and every case with a detour are played through the workflow (timeline, audit, notices as
    real use leaves them); the older plain history is stored in bulk through the importer (its
    timeline events come from "demo history"), which keeps `./run demo` quick. Returns counts."""
    now = now or timezone.now()
    demo = Demo(now, seed)
    tz = clocks.tz()
    rnd = demo.rnd
    starts = []
    today = timezone.localtime(now, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    for k in range(days, -1, -1):
        day = today - timedelta(days=k)
        weekend = day.weekday() >= 5
        n = max(1, int(rnd.gauss(per_day * (0.6 if weekend else 1.0), per_day * 0.2)))
        starts += _day_times(rnd, day, n)
    if national_day:
        nd = datetime(2026, 9, 26, tzinfo=tz)
        for k in range(16):  # 26 September – 11 October 2026
            day = nd + timedelta(days=k)
            holiday = datetime(2026, 10, 1, tzinfo=tz) <= day <= datetime(2026, 10, 7, tzinfo=tz)
            starts += _day_times(rnd, day, max(1, int(per_day * (0.45 if holiday else 0.8))))
    starts = sorted(t for t in set(starts) if t <= now)
    plans = [demo.plan(at, fate="merge" if rnd.random() < 0.03 else None) for at in starts]
    history = [as_row(p, now) for p in plans
               if p.fate not in PLAYED_FATES and p.reported_at < now - timedelta(days=played_days)]
    stored = import_rows(history, source="demo history", actor_name="演示历史 (demo history)")["cases"] \
        if history else 0
    played: list[Case] = []
    for plan in plans:
        if plan.fate not in PLAYED_FATES and plan.reported_at < now - timedelta(days=played_days):
            continue
        if plan.fate == "merge":
            recent = [c for c in played[-40:] if c.is_open and c.reported_at > plan.reported_at - timedelta(days=2)]
            if not recent:
                continue
            demo.aim_merge(plan, Case.objects.select_related("report", "category").get(pk=rnd.choice(recent).pk))
        with transaction.atomic():
            case = demo.play(plan)
        if case is not None:
            played.append(case)
    # Cases coming in right now: a clock of each colour whatever the draw above gave.
    showcase = [
        (now - timedelta(minutes=6), "new"),  # dispatch clock green
        (now - timedelta(minutes=26), "new"),  # dispatch clock yellow (87 %)
        (now - timedelta(hours=3), "stall_ack"),  # acknowledge clock red
        (now - timedelta(hours=5), "pause"),
    ]
    for at, fate in showcase:
        with transaction.atomic():
            p = demo.plan(at, fate="normal" if fate == "new" else fate)
            if fate == "new":
                p.steps = []
            played.append(demo.play(p))
    # Two overdue cases go to the supervision office.
    reds = list(Case.objects.filter(state__in=["dispatched", "acknowledged", "on_site"], paused=False,
                                    stage_due__lt=now).order_by("stage_due")[:2])
    for c in reds:
        wf.supervise(c, demo.dispatcher, version=c.version, reason="超时未办结，转两办督查室督办", at=now)
    imported = import_rows(import_channel_rows(now), source="demo: last year's cases")["cases"]
    result = clocks.clock_pass(now)
    notices.deliver_pending(now)
    colours = dict.fromkeys(Case.Clock.values, 0)
    for colour in Case.objects.values_list("clock", flat=True):
        colours[colour] += 1
    channels = dict.fromkeys(Case.Channel.values, 0)
    for ch in Case.objects.values_list("channel", flat=True):
        channels[ch] += 1
    states = dict.fromkeys(Case.State.values, 0)
    for st in Case.objects.values_list("state", flat=True):
        states[st] += 1
    return {"cases": len(played) + stored + imported, "states": states, "clocks": colours, "channels": channels,
            "alerts": result["alerts"]}


def import_channel_rows(now: datetime, n: int = 12, seed: int = 5) -> list[dict]:
    """CSV-like rows of last year's closed cases (the `import` channel), for the demo's import."""
    rnd = random.Random(seed)
    demo_points = [(110.1449 + rnd.uniform(-0.01, 0.01), 35.2385 + rnd.uniform(-0.01, 0.01)) for _ in range(n)]
    codes = ["E0102", "E0103", "C0102", "C0201", "E0501", "S0101"]
    rows = []
    base = timezone.localtime(now, clocks.tz()) - timedelta(days=365)
    for i, (lon, lat) in enumerate(demo_points):
        t0 = (base + timedelta(days=i * 3)).replace(hour=9, minute=rnd.randint(0, 59), second=0, microsecond=0)
        steps = [t0 + timedelta(minutes=m) for m in (10, 20, 45, 120)] + [t0 + timedelta(days=1, hours=2),
                                                                          t0 + timedelta(days=2),
                                                                          t0 + timedelta(days=2, hours=1)]
        fmt = "%Y-%m-%d %H:%M"
        rows.append({"reported_at": t0.strftime(fmt), "category": codes[i % len(codes)], "lon": f"{lon:.6f}",
                     "lat": f"{lat:.6f}", "reporter_name": SURNAMES[i] + "先生", "state": "archived",
                     "accepted_at": steps[0].strftime(fmt), "dispatched_at": steps[1].strftime(fmt),
                     "acknowledged_at": steps[2].strftime(fmt), "on_site_at": steps[3].strftime(fmt),
                     "completed_at": steps[4].strftime(fmt), "verified_at": steps[5].strftime(fmt),
                     "archived_at": steps[6].strftime(fmt), "result_text": "已处置（历史案件导入）", "satisfied": "1"})
    return rows

