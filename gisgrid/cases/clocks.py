"""The case clocks: deadlines, colours, warnings and escalations.

Two kinds of limit (DOMAIN, "The workflow"):
- minute limits on wall-clock time, from `ClockLimit` (dispatch 30 min from the report,
  acknowledge 30 min from the dispatch, on site 120 min from the acknowledgement);
- the completion limit in working days by severity (incidents' SEVERITY_WORKING_DAYS, 0/3/5/10,
  plus approved extensions), counted from the round's dispatch on the working-day calendar of
  `gisgrid.workdays` with its definition: N=0 ends at 24:00 of the start's working day (or the
  next working day), N>=1 at 24:00 of the N-th working day after the start day.

Yellow at 80 % of the running stage's limit (wall time for minute limits, working time for the
completion limit), red once overdue. Paused time does not count: on resume the minute deadlines
move by the wall time paused and the completion deadline by the working time paused.

Colours are columns: `clock_pass` recomputes every open completion deadline with the calendar's
vectorised functions (a calendar edit, e.g. the admin entering next year's notice, reaches every
clock on the next pass) and sets every open case's colour with one UPDATE, then raises each warning and
escalation once (`ClockAlert` unique per case, stage, level and round; INSERT ... ON CONFLICT DO
NOTHING) with its notices in the same statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from gisgrid import county_time
from gisgrid.incidents.models import SEVERITY_WORKING_DAYS
from gisgrid.workdays.calendar import current as current_calendar
from gisgrid.workdays.calendar import from_utc64, to_utc64

from .models import Case, ClockLimit, WorkOrder

YELLOW_AT = 0.8
DAY = 86400
DEFAULT_MINUTES = {"dispatch": 30, "acknowledge": 30, "on_site": 120}
# Stages with a minute limit; "complete" runs on working days.
MINUTE_STAGES = ("dispatch", "acknowledge", "on_site")


def tz() -> ZoneInfo:
    return county_time.zone()


def minute_limits() -> dict[str, int]:
    """The minute limits in force (the admin edits `ClockLimit`; a missing row takes the default)."""
    limits = dict(DEFAULT_MINUTES)
    limits.update(dict(ClockLimit.objects.values_list("key", "minutes")))
    return limits


def working_days_for(severity: str) -> int:
    return SEVERITY_WORKING_DAYS[severity]


# -- the completion deadline, vectorised on the workdays calendar ----------------------------------

def calendar():
    return current_calendar()


def completion_many(starts: np.ndarray, days: np.ndarray, shifts: np.ndarray, cal=None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Completion deadlines of many rounds at once.

    `starts`: datetime64 UTC instants of the rounds' dispatches; `days`: working days allowed
    (severity + approved extensions); `shifts`: working seconds the clock spent paused.
    Returns (due, warn_at) as datetime64[us] UTC and whether a fallback year was touched."""
    cal = cal or calendar()
    starts = np.asarray(starts).astype("datetime64[us]")
    shifts = np.asarray(shifts, dtype=np.float64)
    base = cal.add_working_days_many(starts, np.asarray(days, dtype=np.int64))
    due = base
    if (shifts > 0).any():
        due = np.where(shifts > 0, cal.add_working_seconds_many(base, shifts), base)
    total = cal.working_seconds_many(starts, due)
    warn = cal.add_working_seconds_many(starts, YELLOW_AT * total)
    fallback = cal.fallback_many(starts, due)
    return due, warn, fallback


@dataclass(frozen=True)
class CompletionClock:
    due: datetime
    warn_at: datetime
    fallback: bool


def completion_clock(start: datetime, days: int, shift_seconds: float = 0.0, cal=None) -> CompletionClock:
    due, warn, fb = completion_many(to_utc64([start]), np.array([days]), np.array([shift_seconds]), cal)
    return CompletionClock(from_utc64(due[0]), from_utc64(warn[0]), bool(fb[0]))


def working_seconds_between(start: datetime, end: datetime, cal=None) -> float:
    return (cal or calendar()).working_seconds(start, end)


def minute_warn_at(started: datetime, due: datetime) -> datetime:
    return started + (due - started) * YELLOW_AT


def colour(case: Case, now: datetime) -> str:
    """The colour of `case` at `now` (the same rule as clock_pass's UPDATE)."""
    if case.paused:
        return Case.Clock.PAUSED
    if case.state in Case.CLOSED_STATES or case.stage == Case.Stage.NONE or case.stage_due is None:
        return Case.Clock.NONE
    if now >= case.stage_due:
        return Case.Clock.RED
    if case.stage_warn_at is not None and now >= case.stage_warn_at:
        return Case.Clock.YELLOW
    return Case.Clock.GREEN


# -- stage bookkeeping for the workflow -----------------------------------------------------------

def set_minute_stage(case: Case, stage: str, started: datetime, due: datetime) -> None:
    case.stage, case.stage_started, case.stage_due = stage, started, due
    case.stage_warn_at = minute_warn_at(started, due)
    case.alert_level = ""


def set_completion(case: Case, cal=None) -> CompletionClock:
    """Recompute `complete_due` of the round dispatched at `case.dispatched_at`."""
    clock = completion_clock(case.dispatched_at, working_days_for(case.severity) + case.extended_days,
                             case.complete_shift_seconds, cal)
    case.complete_due = clock.due
    case.calendar_fallback = clock.fallback
    if case.stage == Case.Stage.COMPLETE:
        case.stage_started, case.stage_due, case.stage_warn_at = case.dispatched_at, clock.due, clock.warn_at
    return clock


def enter_completion_stage(case: Case, cal=None) -> None:
    case.stage, case.alert_level = Case.Stage.COMPLETE, ""
    set_completion(case, cal)


def stop_clock(case: Case) -> None:
    case.stage, case.stage_started, case.stage_due, case.stage_warn_at = Case.Stage.NONE, None, None, None
    case.alert_level = ""


# -- the pass ---------------------------------------------------------------------------------------

RUNNING_STATES = ("dispatched", "acknowledged", "on_site")
OPEN_STATES = [s.value for s in Case.State if s not in Case.CLOSED_STATES]
COLOURS = np.array(["green", "yellow", "red", "paused", "none"], dtype=object)
LEVELS = np.array(["", "yellow", "red"], dtype=object)
LEVEL_RANK = {"": 0, "yellow": 1, "red": 2}
_NAT = np.iinfo(np.int64).min


def _us(value) -> str:
    """SQL for a timestamptz column as integer microseconds since the epoch (NULL -> NULL)."""
    return f"(extract(epoch FROM {value}) * 1e6)::bigint"


def _array(rows: list[tuple], k: int, dtype, none=None) -> np.ndarray:
    return np.fromiter((none if r[k] is None else r[k] for r in rows), dtype=dtype, count=len(rows))


def clock_pass(now: datetime | None = None) -> dict:
    """Bring every open case's clock up to date at `now`; raise each new warning/escalation once.

    One read of the open cases; the running completion deadlines recomputed on the calendar
    in force (vectorised) and every colour decided in numpy; one UPDATE of the rows where
    anything changed (and of their open work orders' deadline); one INSERT of the alerts above
    the level the stage has raised (`alert_level`), with their notices. Safe from several processes at once: alert rows are unique
    (case, stage, level, round), so a concurrent pass inserts nothing twice and queues no
    notice twice. Returns counts.
    """
    from . import push_events
    from .notices import webhook_configured

    now = now or timezone.now()
    now_us = int(now.timestamp() * 1_000_000)
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT id, {_us('dispatched_at')}, severity, extended_days, complete_shift_seconds,"
                f" {_us('complete_due')}, stage, {_us('stage_due')}, {_us('stage_warn_at')}, calendar_fallback,"
                " paused, clock, state = ANY(%s), alert_level, round, number, lead_unit_id"
                # The open states named (not "not closed"): the state index finds a year's 10 %
                # open cases instead of a scan of every case the county ever had.
                " FROM cases_case WHERE state = ANY(%s)",
                [list(RUNNING_STATES), OPEN_STATES])
            rows = cur.fetchall()
        if not rows:
            return {"deadlines_moved": 0, "recoloured": 0, "alerts": 0, "notices": 0}
        ids = _array(rows, 0, np.int64)
        start = _array(rows, 1, np.int64, _NAT)
        old_due = _array(rows, 5, np.int64, _NAT)
        stage = np.array([r[6] for r in rows], dtype=object)
        stage_due = _array(rows, 7, np.int64, _NAT)
        warn = _array(rows, 8, np.int64, _NAT)
        old_fb = _array(rows, 9, bool)
        paused = _array(rows, 10, bool)
        old_clock = np.array([r[11] for r in rows], dtype=object)
        running = _array(rows, 12, bool) & (start != _NAT)
        alerted = np.fromiter((LEVEL_RANK.get(r[13], 0) for r in rows), dtype=np.int64, count=len(rows))
        due, fb = old_due.copy(), old_fb.copy()
        if running.any():
            run = np.nonzero(running)[0]
            days = np.fromiter((SEVERITY_WORKING_DAYS[rows[i][2]] + rows[i][3] for i in run), dtype=np.int64,
                               count=len(run))
            shifts = np.fromiter((rows[i][4] for i in run), dtype=np.float64, count=len(run))
            d64, w64, f = completion_many(start[run].view("datetime64[us]"), days, shifts)
            due[run], fb[run] = d64.view(np.int64), f
            complete = run[stage[run] == "complete"]
            stage_due[complete] = due[complete]
            warn[complete] = w64.view(np.int64)[stage[run] == "complete"]
        moved = running & ((due != old_due) | (fb != old_fb))
        has_due = stage_due != _NAT
        clock = np.where(paused, 3,
                         np.where((stage == "none") | ~has_due, 4,
                                  np.where(now_us >= stage_due, 2,
                                           np.where((warn != _NAT) & (now_us >= warn), 1, 0))))
        new_clock = COLOURS[clock]
        recolour = new_clock != old_clock
        # Yellow (1) and red (2) above what this stage already raised are new alerts.
        rank = np.where((clock == 1) | (clock == 2), clock, 0)
        raise_now = rank > alerted
        level = np.where(raise_now, rank, alerted)
        write = np.nonzero(moved | recolour | raise_now)[0]
        with connection.cursor() as cur:
            if len(write):
                cur.execute(
                    """
                    UPDATE cases_case c
                       SET complete_due = CASE WHEN v.due IS NULL THEN NULL
                                               ELSE timestamptz 'epoch' + v.due * interval '1 microsecond' END,
                           stage_due = CASE WHEN v.sdue IS NULL THEN NULL
                                            ELSE timestamptz 'epoch' + v.sdue * interval '1 microsecond' END,
                           stage_warn_at = CASE WHEN v.warn IS NULL THEN NULL
                                                ELSE timestamptz 'epoch' + v.warn * interval '1 microsecond' END,
                           calendar_fallback = v.fb, clock = v.clock, alert_level = v.alerted
                      FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bool[], %s::text[],
                                  %s::text[]) AS v(id, due, sdue, warn, fb, clock, alerted)
                     WHERE c.id = v.id AND c.id = ANY(%s::bigint[])
                    """,
                    # The ids twice: as `= ANY` they are an index condition, so only the pages of
                    # the rows written are read (a join with the unnest alone was planned as a
                    # hash join over a scan of every case).
                    [ids[write].tolist(), _nullable(due[write]), _nullable(stage_due[write]), _nullable(warn[write]),
                     fb[write].tolist(), new_clock[write].tolist(), LEVELS[level[write]].tolist(), ids[write].tolist()])
            moved_ids = np.nonzero(moved)[0]
            if len(moved_ids):
                # Only the current round's orders are open; earlier rounds' keep their deadlines.
                cur.execute(
                    "UPDATE cases_workorder w SET due = timestamptz 'epoch' + v.due * interval '1 microsecond'"
                    " FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, due)"
                    " WHERE w.case_id = v.id AND w.state = ANY(%s)",
                    [ids[moved_ids].tolist(), due[moved_ids].tolist(), list(WorkOrder.OPEN_STATES)])
            alerts, notices = _raise_alerts(cur, [rows[i] for i in np.nonzero(raise_now)[0]], stage[raise_now],
                                            clock[raise_now], stage_due[raise_now], now, webhook_configured())
        push_events.publish_clock_pass(ids[write], ids[raise_now] if alerts else [], now)
    return {"deadlines_moved": int(moved.sum()), "recoloured": int(recolour.sum()), "alerts": alerts,
            "notices": notices}


def _nullable(values: np.ndarray) -> list:
    return [None if v == _NAT else int(v) for v in values.tolist()]


def _raise_alerts(cur, rows: list[tuple], stage: np.ndarray, clock: np.ndarray, stage_due: np.ndarray,
                  now: datetime, webhook: bool) -> tuple[int, int]:
    """Warnings to the lead unit; escalations to the lead unit and the centre (a dispatch-stage
    alert to the centre only). One notice row per recipient and channel; the alert row, unique,
    makes the whole thing happen once (also against a pass running at the same time, or an
    alert of this stage raised before a return to the centre put the stage back)."""
    if not rows:
        return 0, 0
    channels = ["inbox", "webhook"] if webhook else ["inbox"]
    cur.execute(
        """
        WITH due AS (
            -- The cases' round, number and unit come from the pass's own read: joining the case
            -- table again was a scan of every case.
            SELECT v.case_id, v.stage, v.level, v.round, v.number,
                   timestamptz 'epoch' + v.sdue * interval '1 microsecond' AS stage_due, v.lead_unit_id
              FROM unnest(%(ids)s::bigint[], %(stages)s::text[], %(levels)s::text[], %(rounds)s::int[],
                          %(numbers)s::text[], %(sdues)s::bigint[], %(units)s::bigint[])
                   AS v(case_id, stage, level, round, number, sdue, lead_unit_id)
        ), alert AS (
            INSERT INTO cases_clockalert (case_id, stage, level, round, at)
            SELECT case_id, stage, level, round, %(now)s FROM due
            ON CONFLICT (case_id, stage, level, round) DO NOTHING
            RETURNING id, case_id, stage, level
        ), target AS (
            SELECT a.id AS alert_id, a.case_id, a.stage, a.level, d.number, d.stage_due, d.lead_unit_id AS unit_id,
                   '' AS role
              FROM alert a JOIN due d ON d.case_id = a.case_id AND d.stage = a.stage AND d.level = a.level
             WHERE d.lead_unit_id IS NOT NULL AND a.stage <> 'dispatch'
            UNION ALL
            SELECT a.id, a.case_id, a.stage, a.level, d.number, d.stage_due, NULL, 'dispatcher'
              FROM alert a JOIN due d ON d.case_id = a.case_id AND d.stage = a.stage AND d.level = a.level
             WHERE a.level = 'red' OR a.stage = 'dispatch'
        ), notice AS (
            INSERT INTO cases_notice (kind, case_id, recipient_unit_id, recipient_role, subject, body,
                                      created_at, state, attempts, next_attempt_at, last_error, channel)
            SELECT 'clock_' || t.level, t.case_id, t.unit_id, t.role,
                   CASE WHEN t.level = 'red' THEN '超时：案件 ' ELSE '预警：案件 ' END || t.number,
                   CASE t.stage WHEN 'dispatch' THEN '派遣' WHEN 'acknowledge' THEN '签收'
                                WHEN 'on_site' THEN '到场' ELSE '办结' END
                     || '时限 ' || to_char(t.stage_due AT TIME ZONE %(tz)s, 'YYYY-MM-DD HH24:MI')
                     || CASE WHEN t.level = 'red' THEN '，已超时' ELSE '，即将到期' END,
                   %(now)s, 'pending', 0, %(now)s, '', ch.channel
              FROM target t CROSS JOIN unnest(%(channels)s::text[]) AS ch(channel)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM alert), (SELECT count(*) FROM notice)
        """,
        {"ids": [r[0] for r in rows], "stages": stage.tolist(), "levels": COLOURS[clock].tolist(),
         "rounds": [r[14] for r in rows], "numbers": [r[15] for r in rows], "sdues": _nullable(stage_due),
         "units": [r[16] for r in rows], "now": now, "channels": channels, "tz": settings.TIME_ZONE})
    alerts, notices = cur.fetchone()
    return int(alerts), int(notices)
