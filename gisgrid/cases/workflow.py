"""The case loop as plain functions: one per transition, each one transaction.

Every transition `f(case_or_id, actor, *, version, ...) -> Case`:
1. locks the case (SELECT ... FOR UPDATE), so two people acting at once are serialised;
2. checks, in this order, the actor's role and unit (Forbidden, 403), the version the actor read
   (StaleVersion, 409), the state (Conflict code "wrong_state", 409) and the arguments (BadRequest
   naming the field, 400); nothing is written before all checks pass;
3. changes the case (and its work orders), bumps `version`, recomputes the clock, appends a
   CaseEvent and an audit entry, and queues the notices.

`at` (default now) lets history be replayed (import, demo data, tests with fixed instants).

Who: the centre (dispatcher, admin) accepts, dispatches, verifies, archives, sends back,
supervises, voids, pauses, resumes, merges and decides extensions; a unit's staff act on their
unit's open work order of the current round (acknowledge, arrive, complete, return to the centre,
request an extension). The lead unit's work order drives the case's state; assisting units
record their own steps on their work orders, and those still open are cancelled when the case
closes or goes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from gisgrid.accounts import roles
from gisgrid.audit.log import record
from gisgrid.boundaries.models import Unit
from gisgrid.errors import BadRequest, Conflict, Forbidden, NotFound, StaleVersion, Text
from gisgrid.incidents.models import Category, Report
from gisgrid.incidents.routing import COMMAND_CENTRE_KIND

from . import clocks, notices, push_events
from .models import Case, CaseEvent, Extension, WorkOrder

User = get_user_model()
S = Case.State
WO = WorkOrder.State

CENTRE_ROLES = frozenset({roles.ADMIN, roles.DISPATCHER})
MAX_REASON = 500
MAX_EXTENSION_DAYS = 30
# States in which a case may be paused (挂账): before the work is done.
PAUSABLE = (S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.ACKNOWLEDGED, S.ON_SITE)
OPEN = tuple(s for s in Case.OPEN_STATES)
STATE_LABELS = dict(Case.State.choices)


# -- helpers -------------------------------------------------------------------------------------

def is_centre(user) -> bool:
    return roles.has_any_role(user, CENTRE_ROLES)


def user_unit_ids(user) -> set[int]:
    """The units a unit-staff account works for (empty for other roles)."""
    return set(roles.report_units(user) or ())


def _now(at: datetime | None) -> datetime:
    return at or timezone.now()


def _actor_name(user) -> str:
    if not getattr(user, "is_authenticated", False):
        return "system" if user is None else str(user)
    return user.get_full_name() or user.first_name or user.get_username()


def _lock(case_or_id: Case | int) -> Case:
    pk = case_or_id.pk if isinstance(case_or_id, Case) else case_or_id
    try:
        return Case.objects.select_for_update(of=("self",)).select_related("category").get(pk=pk)
    except (Case.DoesNotExist, ValueError, TypeError):
        raise NotFound(Text("案件不存在", "no such case"), field="case") from None


def _need_centre(user) -> None:
    if not is_centre(user):
        raise Forbidden(Text("仅指挥中心可执行此操作", "only the command centre may do this"))


def _check_version(case: Case, version: int | None) -> None:
    if version is None or int(version) != case.version:
        raise StaleVersion(case.version, version, what="案件")


def _need_state(case: Case, *states: str) -> None:
    if case.state not in states:
        allowed = "、".join(str(STATE_LABELS[s]) for s in states)
        raise Conflict(Text(f"案件当前为“{STATE_LABELS[case.state]}”，此操作只适用于：{allowed}",
                            f"the case is {case.state}; this applies only to: {', '.join(states)}"),
                       code="wrong_state", state=case.state)


def _need_not_paused(case: Case) -> None:
    if case.paused:
        raise Conflict(Text("案件已挂账，请先恢复", "the case is paused; resume it first"), code="wrong_state",
                       state=case.state)


def _reason(reason: str | None, field: str = "reason") -> str:
    text = (reason or "").strip()
    if not text:
        raise BadRequest(Text("请填写原因", "a reason is required"), field=field)
    if len(text) > MAX_REASON:
        raise BadRequest(Text(f"不能超过{MAX_REASON}字", f"at most {MAX_REASON} characters"), field=field)
    return text


def _unit(value: Unit | int | str | None, field: str) -> Unit | None:
    if value is None or value == "":
        return None
    if isinstance(value, Unit):
        return value
    qs = Unit.objects.all()
    unit = (qs.filter(pk=value).first() if isinstance(value, int) or str(value).isdigit() else None) \
        or qs.filter(code=str(value)).first()
    if unit is None:
        raise BadRequest(Text(f"单位不存在：{value}", f"unknown unit: {value}"), field=field)
    return unit


def _open_orders(case: Case) -> list[WorkOrder]:
    return list(case.work_orders.filter(round=case.round, state__in=WorkOrder.OPEN_STATES)
                .select_related("unit").order_by("role", "id").select_for_update())


def _unit_orders(case: Case, user, unit) -> list[WorkOrder]:
    """The actor's work orders on `case` (their units', newest round first), locked; Forbidden
    when the actor is not unit staff, not of `unit`, or none of their units has an order here."""
    if not roles.has_any_role(user, {roles.UNIT_STAFF}):
        raise Forbidden(Text("仅责任单位人员可执行此操作", "only a unit's staff may do this"))
    mine = user_unit_ids(user)
    wanted = _unit(unit, "unit")
    if wanted is not None:
        if wanted.pk not in mine:
            raise Forbidden(Text("您不属于该单位", "you are not staff of that unit"), field="unit")
        mine = {wanted.pk}
    orders = [o for o in case.work_orders.select_for_update().select_related("unit").order_by("-round", "role", "-id")
              if o.unit_id in mine]
    if not orders:
        raise Forbidden(Text("该案件没有派给您的单位", "this case was not dispatched to your unit"))
    return orders


def _pick_order(case: Case, orders: list[WorkOrder], states: Iterable[str]) -> WorkOrder:
    """The actor's open order of the current round in one of `states` (the lead's first), else
    Conflict wrong_state."""
    current = [o for o in orders if o.round == case.round and o.state in WorkOrder.OPEN_STATES]
    for o in current:
        if o.state in states:
            return o
    state = current[0].state if current else orders[0].state
    raise Conflict(Text(f"工单当前状态为“{dict(WO.choices)[state]}”，不能执行此操作",
                        f"your work order is {state}; this does not apply"), code="wrong_state",
                   state=case.state, work_order_state=state)


def _save(case: Case, now: datetime) -> None:
    case.version += 1
    case.clock = clocks.colour(case, now)
    case.save()


def _event(case: Case, actor, action: str, from_state: str, *, at: datetime, reason: str = "", **data: Any
           ) -> CaseEvent:
    user = actor if getattr(actor, "is_authenticated", False) else None
    ev = CaseEvent.objects.create(case=case, at=at, actor=user, actor_name=_actor_name(actor), action=action,
                                  from_state=from_state, to_state=case.state, reason=reason, data=data,
                                  version=case.version)
    record(actor, f"case.{action}", case, number=case.number, from_state=from_state, to_state=case.state,
           reason=reason, version=case.version, **data)
    push_events.publish_case(case, action, at)
    return ev


def _centre_unit() -> Unit | None:
    return Unit.objects.filter(kind=COMMAND_CENTRE_KIND).order_by("code").first()


def _cancel_open_orders(case: Case, now: datetime, *, except_ids: Iterable[int] = ()) -> list[int]:
    ids = [o.pk for o in _open_orders(case) if o.pk not in set(except_ids)]
    if ids:
        WorkOrder.objects.filter(pk__in=ids).update(state=WO.CANCELLED)
    return ids


def _back_to_dispatch_stage(case: Case, now: datetime) -> None:
    """The case waits at the centre again: a fresh dispatch clock from now."""
    limit = clocks.minute_limits()["dispatch"]
    case.dispatch_due = now + timedelta(minutes=limit)
    clocks.set_minute_stage(case, Case.Stage.DISPATCH, now, case.dispatch_due)


def channel_for(user) -> str:
    """The channel of a report filed by `user` in the app: their role decides."""
    user_roles = roles.user_roles(user)
    if roles.INSPECTOR in user_roles:
        return Case.Channel.INSPECTOR
    if roles.GRID_MEMBER in user_roles or roles.GRID_CHIEF in user_roles:
        return Case.Channel.GRID_MEMBER
    if user_roles & CENTRE_ROLES:
        return Case.Channel.HOTLINE
    return Case.Channel.PUBLIC


def next_numbers(day, count: int = 1) -> list[str]:
    """`count` new case numbers of `day` ("HY" + yyyymmdd + "-" + 4 digits), atomically: one upsert
    on the day's counter row, which also serialises concurrent openers of the same day."""
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO cases_casenumber (day, last) VALUES (%s, %s)"
            " ON CONFLICT (day) DO UPDATE SET last = cases_casenumber.last + EXCLUDED.last RETURNING last",
            [day, count])
        last = cur.fetchone()[0]
    return [f"HY{day:%Y%m%d}-{n:04d}" for n in range(last - count + 1, last + 1)]


# -- opening -------------------------------------------------------------------------------------

def open_case(report: Report, channel: str | None, actor, *, at: datetime | None = None) -> Case:
    """The case of a new report: reported, its dispatch clock running, the centre told.

    A location outside the county is accepted as a case flagged `outside` and routed to the
    command centre, which decides who (if anyone) handles it."""
    from .duplicates import suggest_for

    now = _now(at)
    channel = channel or channel_for(actor)
    if channel not in Case.Channel.values:
        raise BadRequest(Text(f"未知来源：{channel}", f"unknown channel: {channel}"), field="channel")
    reported_at = at or report.created_at or now
    local_day = timezone.localtime(reported_at, clocks.tz()).date()
    outside = report.location_status == "outside"
    with transaction.atomic():
        case = Case(
            number=next_numbers(local_day)[0], report=report, category=report.category, channel=channel,
            severity=report.category.severity, reporter_user=report.created_by, reported_at=reported_at,
            outside=outside, lead_unit=_centre_unit() if outside else report.lead_unit,
        )
        limit = clocks.minute_limits()["dispatch"]
        case.dispatch_due = reported_at + timedelta(minutes=limit)
        clocks.set_minute_stage(case, Case.Stage.DISPATCH, reported_at, case.dispatch_due)
        case.clock = clocks.colour(case, now)
        case.save()
        if not outside:
            case.assisting_units.set(report.assisting_units.all())
        suggested = [c.number for c in suggest_for(case, now=reported_at)[:5]]
        _event(case, actor, "open", "", at=reported_at, channel=channel, outside=outside,
               duplicates=suggested, routing_rule=report.routing_rule)
        subject = f"新案件 {case.number}：{case.category.name}" + ("（县外位置）" if outside else "")
        notices.queue("case_reported", case=case, role=roles.DISPATCHER, subject=subject,
                      body=report.address or report.description[:200], at=now)
    return case


_as_of: ContextVar[datetime | None] = ContextVar("cases_as_of", default=None)


@contextmanager
def as_of(at: datetime) -> Iterator[None]:
    """Reports created inside are opened as cases reported at `at` (history: imports, demo
    data, tests with fixed instants); the report's own `created_at` is set to it too."""
    token = _as_of.set(at)
    try:
        yield
    finally:
        _as_of.reset(token)


def on_report_created(sender, report: Report, user, channel: str | None = None, **kwargs) -> None:
    """incidents.report_created: every stored report becomes a case in the same transaction."""
    if Case.objects.filter(report=report).exists():
        return
    at = _as_of.get()
    if at is not None:
        Report.objects.filter(pk=report.pk).update(created_at=at)
        report.created_at = at
    open_case(report, channel, user, at=at)


# -- the centre ------------------------------------------------------------------------------------

def accept(case: Case | int, actor, *, version: int, severity: str | None = None, lead_unit=None,
           assisting_units: Iterable | None = None, at: datetime | None = None) -> Case:
    """立案: the centre classifies the case (severity) and names the lead and assisting units
    (default: the report's routing as it stands now)."""
    now = _now(at)
    with transaction.atomic():
        case = _lock(case)
        _need_centre(actor)
        _check_version(case, version)
        _need_state(case, S.REPORTED)
        if severity is not None and severity not in Category.Severity.values:
            raise BadRequest(Text(f"未知事项等级：{severity}", f"unknown severity: {severity}"), field="severity")
        lead = _unit(lead_unit, "lead_unit")
        if lead is None:
            lead = case.report.lead_unit if not case.outside else None
        if lead is None:
            raise BadRequest(Text("请指定主办单位", "name the lead unit"), field="lead_unit")
        if assisting_units is None:
            assisting = [] if case.outside else list(case.report.assisting_units.all())
        else:
            assisting = [_unit(u, "assisting_units") for u in assisting_units]
        assisting = list({u.pk: u for u in assisting if u is not None and u.pk != lead.pk}.values())
        before = case.state
        case.state = S.ACCEPTED
        case.accepted_at = now
        if severity:
            case.severity = severity
        case.lead_unit = lead
        _save(case, now)
        case.assisting_units.set(assisting)
        _event(case, actor, "accept", before, at=now, severity=case.severity, lead_unit=lead.code,
               assisting_units=[u.code for u in assisting])
        if case.reporter_user_id:
            notices.queue("case_accepted", case=case, user=case.reporter_user, at=now,
                          subject=f"您上报的问题已立案：{case.number}", body=f"主办单位：{lead.name}")
    return case


def reassign(case: Case | int, actor, *, version: int, lead_unit=None, assisting_units: Iterable | None = None,
             severity: str | None = None, at: datetime | None = None) -> Case:
    """改派 before dispatch: the centre changes the lead unit, the assisting units or the
    severity of an accepted case (after a unit returned it, typically)."""
    now = _now(at)
    with transaction.atomic():
        case = _lock(case)
        _need_centre(actor)
        _check_version(case, version)
        _need_state(case, S.ACCEPTED)
        if severity is not None and severity not in Category.Severity.values:
            raise BadRequest(Text(f"未知事项等级：{severity}", f"unknown severity: {severity}"), field="severity")
        lead = _unit(lead_unit, "lead_unit") or case.lead_unit
        if lead is None:
            raise BadRequest(Text("请指定主办单位", "name the lead unit"), field="lead_unit")
        if assisting_units is None:
            assisting = [u for u in case.assisting_units.all() if u.pk != lead.pk]
        else:
            assisting = [u for u in (_unit(v, "assisting_units") for v in assisting_units)
                         if u is not None and u.pk != lead.pk]
            assisting = list({u.pk: u for u in assisting}.values())
        old = {"lead_unit": case.lead_unit.code if case.lead_unit_id else None, "severity": case.severity}
        case.lead_unit = lead
        if severity:
            case.severity = severity
        _save(case, now)
        case.assisting_units.set(assisting)
        _event(case, actor, "reassign", case.state, at=now, before=old, lead_unit=lead.code,
               assisting_units=[u.code for u in assisting], severity=case.severity)
    return case


def dispatch(case: Case | int, actor, *, version: int, at: datetime | None = None) -> Case:
    """派遣: one work order per unit (lead and assisting); the acknowledge and completion clocks start."""
    now = _now(at)
    with transaction.atomic():
        case = _lock(case)
        _need_centre(actor)
        _check_version(case, version)
        _need_state(case, S.ACCEPTED)
        _need_not_paused(case)
        if case.lead_unit_id is None:
            raise BadRequest(Text("请先指定主办单位", "name the lead unit first"), field="lead_unit")
        before = case.state
        _start_round(case, now)
        _event(case, actor, "dispatch", before, at=now, round=case.round,
               units=[case.lead_unit.code] + [u.code for u in case.assisting_units.all()],
               complete_due=case.complete_due.isoformat(), calendar_fallback=case.calendar_fallback)
    return case


def _start_round(case: Case, now: datetime) -> None:
    """Work orders of the current round, acknowledge clock from now, completion clock from now."""
    limits = clocks.minute_limits()
    case.state = S.DISPATCHED
    case.dispatched_at = now
    case.acknowledged_at = case.on_site_at = case.completed_at = None
    clocks.set_completion(case)
    ack_due = now + timedelta(minutes=limits["acknowledge"])
    clocks.set_minute_stage(case, Case.Stage.ACKNOWLEDGE, now, ack_due)
    _save(case, now)
    units = [(case.lead_unit, WorkOrder.Role.LEAD)] + [(u, WorkOrder.Role.ASSIST)
                                                        for u in case.assisting_units.all()
                                                        if u.pk != case.lead_unit_id]
    WorkOrder.objects.bulk_create([
        WorkOrder(case=case, unit=u, role=role, round=case.round, dispatched_at=now, ack_due=ack_due,
                  due=case.complete_due) for u, role in units])
    for u, role in units:
        notices.queue("work_order", case=case, unit=u, at=now,
                      subject=f"新工单 {case.number}：{case.category.name}（{dict(WorkOrder.Role.choices)[role]}）",
                      body=f"请于 {timezone.localtime(ack_due, clocks.tz()):%m-%d %H:%M} 前签收，"
                           f"{timezone.localtime(case.complete_due, clocks.tz()):%Y-%m-%d %H:%M} 前办结")


def verify(case: Case | int, actor, *, version: int, satisfied: bool, reason: str = "",
           at: datetime | None = None) -> Case:
    """核查: the centre's revisit. Satisfied -> verified; not satisfied -> sent back for rework
    (the reason is required then)."""
    if not satisfied:
        return send_back(case, actor, version=version, reason=reason, at=at, action="verify")
    now = _now(at)
    with transaction.atomic():
        case = _lock(case)
        _need_centre(actor)
        _check_version(case, version)
        _need_state(case, S.COMPLETED)
        before = case.state
        case.state, case.verified_at, case.satisfied = S.VERIFIED, now, True
        clocks.stop_clock(case)
        _save(case, now)
        _event(case, actor, "verify", before, at=now, reason=(reason or "").strip()[:MAX_REASON], satisfied=True)
    return case


def archive(case: Case | int, actor, *, version: int, at: datetime | None = None) -> Case:
    """归档: the case closes; assisting work orders still open are cancelled; the reporter is told."""
    now = _now(at)
    with transaction.atomic():
        case = _lock(case)
        _need_centre(actor)
        _check_version(case, version)
        _need_state(case, S.VERIFIED)
        before = case.state
        cancelled = _cancel_open_orders(case, now)
        case.state, case.archived_at = S.ARCHIVED, now
        clocks.stop_clock(case)
        _save(case, now)
        Report.objects.filter(pk=case.report_id).update(status=Report.Status.CLOSED)
        _event(case, actor, "archive", before, at=now, cancelled_work_orders=cancelled)
        if case.reporter_user_id:
            notices.queue("case_closed", case=case, user=case.reporter_user, at=now,
                          subject=f"您上报的问题已办结：{case.number}", body=case.result_text[:500])
    return case


def send_back(case: Case | int, actor, *, version: int, reason: str, at: datetime | None = None,
              action: str = "send_back") -> Case:
    """返工: the result is false or unsatisfactory; a new round is dispatched to the same units at
    once (new work orders, fresh clocks); the old round's orders stay as history."""
    now = _now(at)
    with transaction.atomic():
        case = _lock(case)
        _need_centre(actor)
        _check_version(case, version)
        # A revisit verifies a completed case; a verified one can still be sent back on new evidence.
        _need_state(case, *((S.COMPLETED,) if action == "verify" else (S.COMPLETED, S.VERIFIED)))
        reason = _reason(reason)
        before = case.state
        _cancel_open_orders(case, now)
        case.round += 1
        case.satisfied = False if action == "verify" else case.satisfied
        case.extended_days = 0
        case.complete_shift_seconds = 0
        case.verified_at = None
        case.result_text = ""
        _start_round(case, now)
        _event(case, actor, action, before, at=now, reason=reason, round=case.round, satisfied=False,
               complete_due=case.complete_due.isoformat())
    return case


def supervise(case: Case | int, actor, *, version: int, reason: str, active: bool = True,
              at: datetime | None = None) -> Case:
    """督办: flag the case for the supervision office (or lift the flag with active=False)."""
    now = _now(at)
    with transaction.atomic():
        case = _lock(case)
        _need_centre(actor)
        _check_version(case, version)
        _need_state(case, *[s for s in OPEN])
        reason = _reason(reason) if active else (reason or "").strip()[:MAX_REASON]
        if case.supervised == active:
            raise Conflict(Text("督办状态未改变", "the case is already so flagged"), code="wrong_state",
                           state=case.state)
        before = case.state
        case.supervised, case.supervised_reason = active, reason if active else ""
        _save(case, now)
        _event(case, actor, "supervise" if active else "unsupervise", before, at=now, reason=reason)
        if active and case.lead_unit_id:
            notices.queue("supervised", case=case, unit=case.lead_unit, at=now,
                          subject=f"督办：案件 {case.number}", body=reason)
    return case


def void(case: Case | int, actor, *, version: int, reason: str, at: datetime | None = None) -> Case:
    """作废: a false, unfounded or unrelated report; the case closes with the reason."""
    now = _now(at)
    with transaction.atomic():
        case = _lock(case)
        _need_centre(actor)
        _check_version(case, version)
        _need_state(case, *OPEN)
        reason = _reason(reason)
        _close_void(case, actor, now, reason, action="void")
    return case


def _close_void(case: Case, actor, now: datetime, reason: str, *, action: str, **data: Any) -> None:
    before = case.state
    cancelled = _cancel_open_orders(case, now)
    if case.paused:
        case.paused_seconds += (now - case.paused_since).total_seconds()
        case.paused, case.paused_since = False, None
    case.state, case.voided_at, case.void_reason = S.VOIDED, now, reason
    clocks.stop_clock(case)
    _save(case, now)
    Report.objects.filter(pk=case.report_id).update(status=Report.Status.CLOSED)
    _event(case, actor, action, before, at=now, reason=reason, cancelled_work_orders=cancelled, **data)
    if case.reporter_user_id:
        notices.queue("case_voided", case=case, user=case.reporter_user, at=now,
                      subject=f"您上报的问题已作废：{case.number}", body=reason)


def pause(case: Case | int, actor, *, version: int, reason: str, at: datetime | None = None) -> Case:
    """挂账: a long-term matter; the clocks stop until resumed."""
    now = _now(at)
    with transaction.atomic():
        case = _lock(case)
        _need_centre(actor)
        _check_version(case, version)
        _need_state(case, *PAUSABLE)
        _need_not_paused(case)
        reason = _reason(reason)
        case.paused, case.paused_since, case.pause_reason = True, now, reason
        _save(case, now)
        _event(case, actor, "pause", case.state, at=now, reason=reason)
        if case.lead_unit_id and case.state in (S.DISPATCHED, S.ACKNOWLEDGED, S.ON_SITE):
            notices.queue("paused", case=case, unit=case.lead_unit, at=now, subject=f"挂账：案件 {case.number}",
                          body=reason)
    return case


def resume(case: Case | int, actor, *, version: int, at: datetime | None = None) -> Case:
    """Resume a paused case: minute deadlines move by the wall time paused, the completion
    deadline by the working time paused."""
    now = _now(at)
    with transaction.atomic():
        case = _lock(case)
        _need_centre(actor)
        _check_version(case, version)
        if not case.paused:
            raise Conflict(Text("案件未挂账", "the case is not paused"), code="wrong_state", state=case.state)
        since = case.paused_since
        wall = max((now - since).total_seconds(), 0.0)
        shift = timedelta(seconds=wall)
        case.paused, case.paused_since, case.pause_reason = False, None, ""
        case.paused_seconds += wall
        if case.stage in clocks.MINUTE_STAGES and case.stage_due is not None:
            case.stage_due += shift
            case.stage_warn_at = case.stage_warn_at + shift if case.stage_warn_at else None
            if case.stage == Case.Stage.DISPATCH:
                case.dispatch_due = case.stage_due
        working = 0.0
        if case.dispatched_at is not None and case.state in (S.DISPATCHED, S.ACKNOWLEDGED, S.ON_SITE):
            working = clocks.working_seconds_between(max(since, case.dispatched_at), now)
            case.complete_shift_seconds += working
            clocks.set_completion(case)
            for o in _open_orders(case):
                o.ack_due = o.ack_due + shift if o.ack_due and o.state == WO.DISPATCHED else o.ack_due
                o.on_site_due = o.on_site_due + shift if o.on_site_due and o.state == WO.ACKNOWLEDGED \
                    else o.on_site_due
                o.due = case.complete_due
                o.save(update_fields=["ack_due", "on_site_due", "due"])
        _save(case, now)
        _event(case, actor, "resume", case.state, at=now, paused_seconds=wall, paused_working_seconds=working,
               complete_due=case.complete_due.isoformat() if case.complete_due else None)
    return case


def merge(duplicate: Case | int, into: Case | int, actor, *, version: int, at: datetime | None = None) -> Case:
    """Merge `duplicate` into `into`: the duplicate is voided pointing at it; `into`'s timeline
    records it. `version` is the duplicate's. Returns the duplicate."""
    now = _now(at)
    dup_id = duplicate.pk if isinstance(duplicate, Case) else duplicate
    into_id = into.pk if isinstance(into, Case) else into
    with transaction.atomic():
        # Both rows locked in id order, so two merges of the same pair cannot deadlock.
        locked = {c.pk: c for c in (_lock(pk) for pk in sorted({dup_id, into_id}, key=lambda v: int(v)))}
        dup, target = locked[int(dup_id)], locked[int(into_id)]
        _need_centre(actor)
        _check_version(dup, version)
        if dup.pk == target.pk:
            raise BadRequest(Text("不能与自身合并", "a case cannot be merged into itself"), field="into")
        _need_state(dup, *OPEN)
        if target.state == S.VOIDED:
            raise BadRequest(Text("目标案件已作废", "the target case is voided"), field="into")
        if target.duplicate_of_id == dup.pk:
            raise BadRequest(Text("目标案件已并入本案", "the target was merged into this case"), field="into")
        dup.duplicate_of = target
        _close_void(dup, actor, now, f"重复案件，并入 {target.number}", action="merge", into=target.number)
        CaseEvent.objects.create(case=target, at=now, actor=actor if getattr(actor, "is_authenticated", False)
                                 else None, actor_name=_actor_name(actor), action="merged_in",
                                 from_state=target.state, to_state=target.state, data={"duplicate": dup.number},
                                 version=target.version)
    return dup


def decide_extension(extension: Extension | int, actor, *, version: int, approve: bool, reason: str = "",
                     at: datetime | None = None) -> Case:
    """The centre approves (the completion deadline moves by the days) or rejects (reason
    required) a unit's extension request. `version` is the case's."""
    now = _now(at)
    ext_id = extension.pk if isinstance(extension, Extension) else extension
    with transaction.atomic():
        ext = Extension.objects.filter(pk=ext_id).first()
        if ext is None:
            raise NotFound(Text("延期申请不存在", "no such extension request"), field="extension")
        case = _lock(ext.case_id)
        ext = Extension.objects.select_for_update().get(pk=ext_id)
        _need_centre(actor)
        _check_version(case, version)
        if ext.state != Extension.State.REQUESTED:
            raise Conflict(Text("该延期申请已处理", "this request was already decided"), code="wrong_state",
                           state=case.state)
        _need_state(case, S.DISPATCHED, S.ACKNOWLEDGED, S.ON_SITE)
        reason = (reason or "").strip()[:MAX_REASON] if approve else _reason(reason)
        ext.state = Extension.State.APPROVED if approve else Extension.State.REJECTED
        ext.decided_by = actor if getattr(actor, "is_authenticated", False) else None
        ext.decided_at, ext.decision_reason = now, reason
        ext.save()
        old_due = case.complete_due
        if approve:
            case.extended_days += ext.days
            clocks.set_completion(case)
            WorkOrder.objects.filter(case=case, round=case.round, state__in=WorkOrder.OPEN_STATES).update(
                due=case.complete_due)
        _save(case, now)
        _event(case, actor, "extension_approved" if approve else "extension_rejected", case.state, at=now,
               reason=reason, extension=ext.pk, days=ext.days,
               old_due=old_due.isoformat() if old_due else None,
               complete_due=case.complete_due.isoformat() if case.complete_due else None)
        unit = ext.work_order.unit if ext.work_order_id else case.lead_unit
        if unit is not None:
            notices.queue("extension_decided", case=case, unit=unit, at=now,
                          subject=f"延期申请{'已批准' if approve else '被驳回'}：{case.number}",
                          body=reason or f"办结时限：{timezone.localtime(case.complete_due, clocks.tz()):%Y-%m-%d %H:%M}")
    return case


# -- the units ---------------------------------------------------------------------------------------

def acknowledge(case: Case | int, actor, *, version: int, unit=None, at: datetime | None = None) -> Case:
    """签收: the unit takes its work order; the on-site clock starts (for the lead: the case's)."""
    now = _now(at)
    with transaction.atomic():
        case = _lock(case)
        orders = _unit_orders(case, actor, unit)
        _check_version(case, version)
        order = _pick_order(case, orders, [WO.DISPATCHED])
        _need_not_paused(case)
        before = case.state
        on_site_due = now + timedelta(minutes=clocks.minute_limits()["on_site"])
        order.state, order.acknowledged_at, order.on_site_due = WO.ACKNOWLEDGED, now, on_site_due
        order.save(update_fields=["state", "acknowledged_at", "on_site_due"])
        if order.role == WorkOrder.Role.LEAD:
            case.state, case.acknowledged_at = S.ACKNOWLEDGED, now
            clocks.set_minute_stage(case, Case.Stage.ON_SITE, now, on_site_due)
        _save(case, now)
        _event(case, actor, "acknowledge", before, at=now, unit=order.unit.code, role=order.role)
    return case


def arrive(case: Case | int, actor, *, version: int, unit=None, at: datetime | None = None) -> Case:
    """到场: the unit is on site; for the lead the completion clock becomes the running one."""
    now = _now(at)
    with transaction.atomic():
        case = _lock(case)
        orders = _unit_orders(case, actor, unit)
        _check_version(case, version)
        order = _pick_order(case, orders, [WO.ACKNOWLEDGED])
        _need_not_paused(case)
        before = case.state
        order.state, order.on_site_at = WO.ON_SITE, now
        order.save(update_fields=["state", "on_site_at"])
        if order.role == WorkOrder.Role.LEAD:
            case.state, case.on_site_at = S.ON_SITE, now
            clocks.enter_completion_stage(case)
        _save(case, now)
        _event(case, actor, "arrive", before, at=now, unit=order.unit.code, role=order.role)
    return case


def complete(case: Case | int, actor, *, version: int, result_text: str, unit=None, document=None,
             at: datetime | None = None) -> Case:
    """处置完毕: the unit reports its result (text, optionally the signed and stamped reply as a
    file); the lead's result completes the case and the centre is asked to verify."""
    now = _now(at)
    with transaction.atomic():
        case = _lock(case)
        orders = _unit_orders(case, actor, unit)
        _check_version(case, version)
        order = _pick_order(case, orders, [WO.ON_SITE])
        _need_not_paused(case)
        text = (result_text or "").strip()
        if not text:
            raise BadRequest(Text("请填写处置结果", "describe the result"), field="result_text")
        if len(text) > 4000:
            raise BadRequest(Text("处置结果不能超过4000字", "at most 4000 characters"), field="result_text")
        before = case.state
        order.state, order.completed_at, order.result_text = WO.COMPLETED, now, text
        if document is not None:
            name = getattr(document, "name", "") or f"{case.number}.pdf"
            order.signed_document.save(name.rsplit("/", 1)[-1], document, save=False)
        order.save()
        if order.role == WorkOrder.Role.LEAD:
            case.state, case.completed_at, case.result_text = S.COMPLETED, now, text
            clocks.stop_clock(case)
        _save(case, now)
        _event(case, actor, "complete", before, at=now, unit=order.unit.code, role=order.role,
               document=bool(order.signed_document), on_time=bool(case.complete_due and now <= case.complete_due))
        if order.role == WorkOrder.Role.LEAD:
            notices.queue("case_completed", case=case, role=roles.DISPATCHER, at=now,
                          subject=f"待核查：案件 {case.number}", body=text[:500])
    return case


def return_to_centre(case: Case | int, actor, *, version: int, reason: str, unit=None,
                     at: datetime | None = None) -> Case:
    """退回: not this unit's matter. The lead's return puts the case back to accepted (the
    centre re-dispatches, the same round); an assisting unit's return only closes its order."""
    now = _now(at)
    with transaction.atomic():
        case = _lock(case)
        orders = _unit_orders(case, actor, unit)
        _check_version(case, version)
        order = _pick_order(case, orders, [WO.DISPATCHED, WO.ACKNOWLEDGED, WO.ON_SITE])
        reason = _reason(reason)
        before = case.state
        order.state, order.return_reason = WO.RETURNED, reason
        order.save(update_fields=["state", "return_reason"])
        cancelled = []
        if order.role == WorkOrder.Role.LEAD:
            cancelled = _cancel_open_orders(case, now)
            if case.paused:
                case.paused_seconds += (now - case.paused_since).total_seconds()
                case.paused, case.paused_since, case.pause_reason = False, None, ""
            case.state = S.ACCEPTED
            case.dispatched_at = case.acknowledged_at = case.on_site_at = None
            case.complete_due = None
            case.extended_days, case.complete_shift_seconds = 0, 0
            _back_to_dispatch_stage(case, now)
        _save(case, now)
        _event(case, actor, "return", before, at=now, reason=reason, unit=order.unit.code, role=order.role,
               cancelled_work_orders=cancelled)
        notices.queue("returned", case=case, role=roles.DISPATCHER, at=now,
                      subject=f"退回：案件 {case.number}（{order.unit.name}）", body=reason)
    return case


def request_extension(case: Case | int, actor, *, version: int, days: int, reason: str, unit=None,
                      at: datetime | None = None) -> Extension:
    """延期申请 by the lead unit: the centre decides (decide_extension). Returns the request."""
    now = _now(at)
    with transaction.atomic():
        case = _lock(case)
        orders = _unit_orders(case, actor, unit)
        _check_version(case, version)
        order = _pick_order(case, orders, [WO.DISPATCHED, WO.ACKNOWLEDGED, WO.ON_SITE])
        if order.role != WorkOrder.Role.LEAD:
            raise Forbidden(Text("仅主办单位可申请延期", "only the lead unit may ask for more time"))
        try:
            days = int(days)
        except (TypeError, ValueError):
            raise BadRequest(Text("延期天数须为整数", "days must be a whole number"), field="days") from None
        if not 1 <= days <= MAX_EXTENSION_DAYS:
            raise BadRequest(Text(f"延期天数须在1到{MAX_EXTENSION_DAYS}之间", f"days must be 1 to {MAX_EXTENSION_DAYS}"),
                             field="days")
        reason = _reason(reason)
        if case.extensions.filter(state=Extension.State.REQUESTED).exists():
            raise Conflict(Text("已有待审批的延期申请", "an extension request is already pending"),
                           code="extension_pending", state=case.state)
        ext = Extension.objects.create(case=case, work_order=order, requested_at=now, days=days, reason=reason,
                                       requested_by=actor if getattr(actor, "is_authenticated", False) else None)
        _save(case, now)
        _event(case, actor, "extension_requested", case.state, at=now, reason=reason, days=days,
               extension=ext.pk, unit=order.unit.code)
        notices.queue("extension_requested", case=case, role=roles.DISPATCHER, at=now,
                      subject=f"延期申请：案件 {case.number}（{days}个工作日）", body=reason)
    return ext


# -- what a viewer may do ------------------------------------------------------------------------------

CENTRE_ACTIONS = ("accept", "reassign", "dispatch", "verify", "send_back", "archive", "supervise", "void", "pause",
                  "resume", "merge", "decide_extension")
UNIT_ACTIONS = ("acknowledge", "arrive", "complete", "return_to_centre", "request_extension")


def allowed_actions(case: Case, user) -> list[str]:
    """The transitions `user` may take on `case` now (the same checks as the functions, without
    the version and the arguments), for pages and API answers."""
    out: list[str] = []
    state = case.state
    if is_centre(user):
        running = state in (S.DISPATCHED, S.ACKNOWLEDGED, S.ON_SITE)
        checks = {
            "accept": state == S.REPORTED,
            "reassign": state == S.ACCEPTED,
            "dispatch": state == S.ACCEPTED and not case.paused,
            "verify": state == S.COMPLETED,
            "send_back": state in (S.COMPLETED, S.VERIFIED),
            "archive": state == S.VERIFIED,
            "supervise": state in OPEN,
            "void": state in OPEN,
            "pause": state in PAUSABLE and not case.paused,
            "resume": case.paused,
            "merge": state in OPEN,
            "decide_extension": running and case.extensions.filter(state=Extension.State.REQUESTED).exists(),
        }
        out += [a for a in CENTRE_ACTIONS if checks[a]]
    if roles.has_any_role(user, {roles.UNIT_STAFF}):
        mine = user_unit_ids(user)
        orders = [o for o in case.work_orders.all() if o.round == case.round and o.unit_id in mine
                  and o.state in WorkOrder.OPEN_STATES]
        states = {o.state for o in orders}
        lead_open = any(o.role == WorkOrder.Role.LEAD for o in orders)
        checks = {
            "acknowledge": WO.DISPATCHED in states and not case.paused,
            "arrive": WO.ACKNOWLEDGED in states and not case.paused,
            "complete": WO.ON_SITE in states and not case.paused,
            "return_to_centre": bool(orders),
            "request_extension": lead_open and not case.extensions.filter(state=Extension.State.REQUESTED).exists(),
        }
        out += [a for a in UNIT_ACTIONS if checks[a]]
    return out
