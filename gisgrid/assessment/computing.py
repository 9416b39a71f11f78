"""Scores of a period, set-based: one SQL statement per rule over every person and unit at once.

`recompute(period)` rebuilds the period's entries in one transaction, under the assessment lock
(bulletins.issue takes the same lock, so a bulletin never sees half a recompute):

1. every rule's facts go into a temporary table (key, subject, day, points, evidence);
2. the period's unfrozen entries become the facts (only the difference is written, so a
   recompute that finds nothing new writes nothing), except where a frozen entry (one an
   issued bulletin holds) has the same key: then only the difference, if any, is inserted as a
   correction booked today, and a frozen entry whose fact is gone gets a reversing correction. A fact of a day an issued
   bulletin already covers is booked today as well. So an issued bulletin never changes, and
   its corrections fall into the next one.

Running it twice gives the same entries (idempotent). Who served a grid on a day comes from
`AssignmentPeriod` (a person who moved mid-period is scored in each grid for their days there).
Unit indicators (rates) depend on the whole period, so they are computed when read
(`indicators`), never stored as entries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import assignments
from .models import Rule
from .periods import Period

# Any fixed 64-bit key: "gisgrid assessment".
LOCK_KEY = 0x6769_7367_6173_7365
TZ = settings.TIME_ZONE

# The case's grid: the finest level its routing found.
CASE_GRID = "COALESCE(NULLIF(r.level3_code, ''), NULLIF(r.level2_code, ''), r.level1_code)"
# Who served the case's grid as a grid member on day `d` (aliases: ap): a member of the level-3
# grid, or of the village/community (level 2) it lies in. The two codes are joined as rows
# ({g3}, {g2}), so PostgreSQL hash-joins on grid_code instead of testing every period per case.
SERVED = ("CROSS JOIN LATERAL (VALUES ({g3}), ({g2})) AS gc(code)"
          " JOIN assessment_assignmentperiod ap ON ap.grid_code = gc.code AND ap.role = 'grid_member'"
          " AND ap.start <= {d} AND (ap.\"end\" IS NULL OR ap.\"end\" >= {d})")
L3, L2 = "NULLIF(r.level3_code, '')", "NULLIF(r.level2_code, '')"
NON_WORKING = ("NOT COALESCE((SELECT cd.working FROM workdays_calendarday cd WHERE cd.date = {d}),"
               " extract(isodow FROM {d}) < 6)")


def local_day(col: str) -> str:
    return f"(({col}) AT TIME ZONE %(tz)s)::date"


def bounds(period: Period, now: datetime | None = None) -> dict:
    """SQL parameters of a period: local midnights, the as-of instant, today."""
    tz = timezone.get_default_timezone()
    now = now or timezone.now()
    a0 = datetime.combine(period.start, time.min, tz)
    b1 = datetime.combine(period.end + timedelta(days=1), time.min, tz)
    return {"a": period.start, "b": period.end, "a0": a0, "b1": b1, "asof": min(now, b1), "tz": TZ,
            "today": timezone.localtime(now).date(), "now": now}


def lock(cur) -> None:
    cur.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def rules() -> dict[str, Rule]:
    return {r.code: r for r in Rule.objects.filter(active=True)}


# -- facts -----------------------------------------------------------------------------------------

FACTS_DDL = """
DROP TABLE IF EXISTS assess_facts, assess_items;
CREATE TEMP TABLE assess_facts (
    rule_id int, key text, person_id int, unit_id int, grid_code text, day date, points numeric,
    case_id int, event_id int, work_order_id int, figure jsonb) ON COMMIT DROP;
CREATE TEMP TABLE assess_items (
    rule text, key text, unit_id int, case_id int, event_id int, work_order_id int, day date,
    grid_code text, figure jsonb, grid3 text, grid2 text) ON COMMIT DROP;
"""

MISSED = f"""
WITH pc AS MATERIALIZED (
    SELECT c.id, c.channel, c.number, {local_day('c.reported_at')} AS d,
           NULLIF(r.level3_code, '') AS l3, NULLIF(r.level2_code, '') AS l2
    FROM cases_case c JOIN incidents_report r ON r.id = c.report_id
    WHERE c.reported_at >= %(a0)s AND c.reported_at < %(b1)s AND c.reported_at < %(asof)s
      AND c.channel IN ('public', 'hotline', 'inspector') AND c.duplicate_of_id IS NULL AND c.state <> 'voided')
INSERT INTO assess_facts
SELECT %(rule)s, 'missed_report:' || ap.person_id || ':' || pc.id, ap.person_id, NULL, ap.grid_code, pc.d, %(points)s,
       pc.id, NULL, NULL, jsonb_build_object('channel', pc.channel, 'number', pc.number)
FROM pc {SERVED.format(g3='pc.l3', g2='pc.l2', d='pc.d')}
"""

HOLIDAY = f"""
WITH pc AS MATERIALIZED (
    SELECT c.id, c.number, c.reporter_user_id, {CASE_GRID} AS g, {local_day('c.reported_at')} AS d
    FROM cases_case c JOIN incidents_report r ON r.id = c.report_id
    WHERE c.reported_at >= %(a0)s AND c.reported_at < %(b1)s AND c.reported_at < %(asof)s
      AND c.channel = 'grid_member' AND c.state <> 'voided' AND c.reporter_user_id IS NOT NULL)
INSERT INTO assess_facts
SELECT %(rule)s, 'holiday_report:' || p.id || ':' || pc.id, p.id, NULL, pc.g, pc.d, %(points)s,
       pc.id, NULL, NULL, jsonb_build_object('number', pc.number, 'weekday', extract(isodow FROM pc.d)::int)
FROM pc JOIN boundaries_person p ON p.user_id = pc.reporter_user_id AND p.role = 'grid_member'
WHERE {NON_WORKING.format(d='pc.d')}
"""

# Complaints about one matter = the case and the duplicates merged into it.
REPEAT = f"""
WITH cl AS (
    SELECT COALESCE(c.duplicate_of_id, c.id) AS root, c.channel, c.reported_at FROM cases_case c
    WHERE c.reported_at < %(b1)s AND c.reported_at >= %(a0)s - interval '90 days'),
comp AS (
    SELECT root, reported_at, row_number() OVER (PARTITION BY root ORDER BY reported_at) AS n
    FROM cl WHERE channel IN ('public', 'hotline')),
nth AS (
    SELECT root, reported_at AS t FROM comp
    WHERE n = %(threshold)s AND reported_at >= %(a0)s AND reported_at < %(b1)s AND reported_at < %(asof)s)
INSERT INTO assess_facts
SELECT %(rule)s, 'repeat_complaints:' || ap.person_id || ':' || c.id, ap.person_id, NULL, ap.grid_code, x.d,
       %(points)s,
       c.id, NULL, NULL, jsonb_build_object('number', c.number, 'complaints', %(threshold)s,
                                            'category', cat.name, 'nth_at', nth.t)
FROM nth JOIN cases_case c ON c.id = nth.root JOIN incidents_report r ON r.id = c.report_id
JOIN incidents_category cat ON cat.id = c.category_id
CROSS JOIN LATERAL (SELECT {local_day('nth.t')} AS d) x
{SERVED.format(g3=L3, g2=L2, d='x.d')}
WHERE cat.standard_class LIKE ANY(%(patterns)s)
  AND NOT EXISTS (SELECT 1 FROM cl WHERE cl.root = nth.root AND cl.channel = 'grid_member'
                  AND cl.reported_at <= nth.t)
"""

# The lead work order a revisit judged: the last one completed before it.
JUDGED = """LEFT JOIN LATERAL (
    SELECT wo.id, wo.unit_id FROM cases_workorder wo
    WHERE wo.case_id = e.case_id AND wo.role = 'lead' AND wo.completed_at IS NOT NULL AND wo.completed_at <= e.at
    ORDER BY wo.completed_at DESC, wo.id DESC LIMIT 1) w ON true"""

FALSE_RESULT = f"""
INSERT INTO assess_items (rule, key, unit_id, case_id, event_id, work_order_id, day, grid_code, figure, grid3, grid2)
SELECT 'false_result', 'false_result:' || e.id, w.unit_id, e.case_id, e.id, w.id, {local_day('e.at')},
       {CASE_GRID}, jsonb_build_object('action', e.action, 'reason', left(e.reason, 200)), {L3}, {L2}
FROM cases_caseevent e JOIN cases_case c ON c.id = e.case_id JOIN incidents_report r ON r.id = c.report_id
{JUDGED}
WHERE e.at >= %(a0)s AND e.at < %(b1)s AND e.at < %(asof)s AND e.action IN ('verify', 'send_back')
  AND e.data ->> 'satisfied' = 'false' AND w.unit_id IS NOT NULL
"""

BUCK = f"""
WITH ret AS (
    SELECT e.id, e.case_id, e.at, e.data ->> 'unit' AS unit_code, e.reason,
           row_number() OVER (PARTITION BY e.case_id ORDER BY e.at, e.id) AS n
    FROM cases_caseevent e
    WHERE e.action = 'return' AND e.case_id IN (
        SELECT case_id FROM cases_caseevent WHERE action = 'return' AND at >= %(a0)s AND at < %(b1)s))
INSERT INTO assess_items (rule, key, unit_id, case_id, event_id, work_order_id, day, grid_code, figure, grid3, grid2)
SELECT 'buck_passing', 'buck_passing:' || ret.id, u.id, ret.case_id, ret.id, w.id, {local_day('ret.at')},
       {CASE_GRID}, jsonb_build_object('returns', ret.n, 'reason', left(ret.reason, 200)), {L3}, {L2}
FROM ret JOIN boundaries_unit u ON u.code = ret.unit_code
JOIN cases_case c ON c.id = ret.case_id JOIN incidents_report r ON r.id = c.report_id
LEFT JOIN LATERAL (
    SELECT wo.id FROM cases_workorder wo WHERE wo.case_id = ret.case_id AND wo.unit_id = u.id
      AND wo.state = 'returned' AND wo.dispatched_at <= ret.at ORDER BY wo.dispatched_at DESC, wo.id DESC LIMIT 1
) w ON true
WHERE ret.n >= %(threshold)s AND ret.at >= %(a0)s AND ret.at < %(b1)s AND ret.at < %(asof)s
"""

SECOND_ROUND = f"""
INSERT INTO assess_items (rule, key, unit_id, case_id, event_id, work_order_id, day, grid_code, figure, grid3, grid2)
SELECT 'second_round', 'second_round:' || wo.id, wo.unit_id, wo.case_id, NULL, wo.id, {local_day('wo.dispatched_at')},
       {CASE_GRID}, jsonb_build_object('round', wo.round), {L3}, {L2}
FROM cases_workorder wo JOIN cases_case c ON c.id = wo.case_id JOIN incidents_report r ON r.id = c.report_id
WHERE wo.round > 1 AND wo.role = 'lead' AND wo.dispatched_at >= %(a0)s AND wo.dispatched_at < %(b1)s
  AND wo.dispatched_at < %(asof)s
"""

OVERDUE = f"""
INSERT INTO assess_items (rule, key, unit_id, case_id, event_id, work_order_id, day, grid_code, figure, grid3, grid2)
SELECT 'overdue', 'overdue:' || wo.id, wo.unit_id, wo.case_id, NULL, wo.id, {local_day('wo.due')},
       {CASE_GRID}, jsonb_build_object('due', wo.due, 'completed_at', wo.completed_at, 'state', wo.state), {L3}, {L2}
FROM cases_workorder wo JOIN cases_case c ON c.id = wo.case_id JOIN incidents_report r ON r.id = c.report_id
WHERE wo.due >= %(a0)s AND wo.due < %(b1)s AND wo.due < %(asof)s AND wo.state NOT IN ('returned', 'cancelled')
  AND (wo.completed_at > wo.due OR (wo.completed_at IS NULL AND wo.state IN ('dispatched', 'acknowledged', 'on_site')))
"""

LATE_RESPONSE = f"""
INSERT INTO assess_items (rule, key, unit_id, case_id, event_id, work_order_id, day, grid_code, figure, grid3, grid2)
SELECT 'late_response', 'late_response:' || wo.id, wo.unit_id, wo.case_id, NULL, wo.id, {local_day('wo.ack_due')},
       {CASE_GRID}, jsonb_build_object('ack_due', wo.ack_due, 'acknowledged_at', wo.acknowledged_at), {L3}, {L2}
FROM cases_workorder wo JOIN cases_case c ON c.id = wo.case_id JOIN incidents_report r ON r.id = c.report_id
WHERE wo.ack_due >= %(a0)s AND wo.ack_due < %(b1)s AND wo.ack_due < %(asof)s
  AND (wo.acknowledged_at > wo.ack_due OR (wo.acknowledged_at IS NULL AND wo.state = 'dispatched'))
"""

UNIT_FACTS = """
INSERT INTO assess_facts
SELECT %(rule)s, i.key, NULL, i.unit_id, '', i.day, %(points)s, i.case_id, i.event_id, i.work_order_id, i.figure
FROM assess_items i WHERE i.rule = %(code)s
"""

# A unit's grid members share its work-order deductions in the grids where the case lies.
MEMBER_FACTS = f"""
INSERT INTO assess_facts
SELECT %(rule)s, i.key || ':p' || ap.person_id, ap.person_id, NULL, ap.grid_code, i.day, %(points)s,
       i.case_id, i.event_id, i.work_order_id, i.figure
FROM assess_items i
{SERVED.format(g3='i.grid3', g2='i.grid2', d='i.day')}
JOIN boundaries_person p ON p.id = ap.person_id AND p.unit_id = i.unit_id
WHERE i.rule = %(code)s
"""

UNIT_RULES = {"false_result": FALSE_RESULT, "buck_passing": BUCK, "second_round": SECOND_ROUND,
              "overdue": OVERDUE, "late_response": LATE_RESPONSE}

# What the period's unfrozen entries should be (facts, corrections against frozen entries), then
# only the difference is written: a steady recompute (nothing changed) touches no row.
APPLY = ["""
DROP TABLE IF EXISTS assess_wanted
""", """
CREATE TEMP TABLE assess_wanted ON COMMIT DROP AS
WITH fz AS (
    SELECT key, sum(points) AS s FROM assessment_scoreentry
    WHERE frozen AND day BETWEEN %(a)s AND %(b)s AND rule_id = ANY(%(rule_ids)s) GROUP BY key),
fzrow AS (
    SELECT DISTINCT ON (key) key, rule_id, person_id, unit_id, grid_code, day, case_id, event_id, work_order_id,
           figure, sum(points) OVER (PARTITION BY key) AS s
    FROM assessment_scoreentry WHERE frozen AND day BETWEEN %(a)s AND %(b)s AND rule_id = ANY(%(rule_ids)s)
    ORDER BY key, id)
SELECT f.rule_id, f.person_id, f.unit_id, COALESCE(f.grid_code, '') AS grid_code, f.day,
       CASE WHEN fz.key IS NOT NULL OR EXISTS (SELECT 1 FROM assessment_bulletin bl
                                               WHERE f.day BETWEEN bl.start AND bl."end")
            THEN GREATEST(%(today)s, f.day) ELSE f.day END AS booked,
       f.points - COALESCE(fz.s, 0) AS points, f.key,
       fz.key IS NOT NULL OR EXISTS (SELECT 1 FROM assessment_bulletin bl WHERE f.day BETWEEN bl.start AND bl."end")
           AS correction,
       f.case_id, f.event_id, f.work_order_id, COALESCE(f.figure, '{}'::jsonb) AS figure
FROM assess_facts f LEFT JOIN fz ON fz.key = f.key
WHERE fz.key IS NULL OR f.points <> fz.s
UNION ALL
SELECT fzrow.rule_id, fzrow.person_id, fzrow.unit_id, fzrow.grid_code, fzrow.day, GREATEST(%(today)s, fzrow.day),
       -fzrow.s, fzrow.key, true, fzrow.case_id, fzrow.event_id, fzrow.work_order_id,
       fzrow.figure || '{"withdrawn": true}'::jsonb
FROM fzrow WHERE fzrow.s <> 0 AND NOT EXISTS (SELECT 1 FROM assess_facts f WHERE f.key = fzrow.key)
""", """
DELETE FROM assessment_scoreentry e
WHERE NOT e.frozen AND e.day BETWEEN %(a)s AND %(b)s AND e.rule_id = ANY(%(rule_ids)s)
  AND NOT EXISTS (SELECT 1 FROM assess_wanted w WHERE w.key = e.key AND w.points = e.points
                  AND w.correction = e.correction AND w.figure = e.figure)
""", """
INSERT INTO assessment_scoreentry (rule_id, person_id, unit_id, grid_code, day, booked, points, key, correction,
                                   frozen, case_id, event_id, work_order_id, figure, computed_at)
SELECT w.rule_id, w.person_id, w.unit_id, w.grid_code, w.day, w.booked, w.points, w.key, w.correction, false,
       w.case_id, w.event_id, w.work_order_id, w.figure, %(now)s
FROM assess_wanted w
WHERE NOT EXISTS (SELECT 1 FROM assessment_scoreentry e
                  WHERE NOT e.frozen AND e.day BETWEEN %(a)s AND %(b)s AND e.key = w.key AND e.points = w.points
                    AND e.correction = w.correction AND e.figure = w.figure)
"""]


def _facts(cur, period: Period, p: dict, active: dict[str, Rule]) -> None:
    """Every rule's facts of the period into assess_facts."""
    for ddl in FACTS_DDL.split(";"):
        if ddl.strip():
            cur.execute(ddl)

    def run(sql: str, rule: Rule, **extra) -> None:
        cur.execute(sql, {**p, "rule": rule.pk, "points": rule.points, "code": rule.code, **extra})

    if "missed_report" in active:
        run(MISSED, active["missed_report"])
    if "holiday_report" in active:
        run(HOLIDAY, active["holiday_report"])
    if "repeat_complaints" in active:
        r = active["repeat_complaints"]
        classes = r.params.get("classes") or ["突发事件", "民生服务"]
        run(REPEAT, r, threshold=int(r.threshold or 3), patterns=[f"%{c}%" for c in classes])
    unit_rules = [(code, sql, active[code]) for code, sql in UNIT_RULES.items() if code in active]
    for code, sql, r in unit_rules:
        extra = {"threshold": int(r.threshold or 2)} if code == "buck_passing" else {}
        cur.execute(sql, {**p, **extra})
    # Temporary tables get no statistics of their own: without them the joins below are planned
    # for a handful of rows.
    # A small sample is enough: the joins need the row count and the rules' share, not a fine
    # histogram; the default target (100) read 30,000 rows of a county's month (85 ms).
    cur.execute("SET LOCAL default_statistics_target = 10")
    cur.execute("ANALYZE assess_items")
    cur.execute("RESET default_statistics_target")
    for _code, _sql, r in unit_rules:
        run(UNIT_FACTS, r)
        if r.params.get("also_grid_members"):
            run(MEMBER_FACTS, r)


@dataclass
class RecomputeResult:
    period: Period
    facts: int
    entries: int
    quota: dict
    patrol: int

    def as_dict(self) -> dict:
        return {"kind": self.period.kind, "start": self.period.start.isoformat(), "end": self.period.end.isoformat(),
                "facts": self.facts, "entries": self.entries, "quota": self.quota, "patrol": self.patrol}


def recompute(period: Period, *, now: datetime | None = None, actor=None, notify: bool = True,
              patrol: bool = True) -> RecomputeResult:
    """Rebuild the period's entries (module docstring); quotas and the patrol duty included."""
    from gisgrid.audit.log import record

    from . import patrol_duty, quota

    p = bounds(period, now)
    active = rules()
    # The patrol duty reads tracks through the patrols functions (seconds for a month): done
    # before the lock, its facts inserted inside.
    duty = patrol_duty.facts(period, p, active.get("patrol_duty")) if patrol else []
    with transaction.atomic():
        with connection.cursor() as cur:
            lock(cur)
            assignments.sync()
            cur.execute("ANALYZE assessment_assignmentperiod")
            _facts(cur, period, p, active)
            q = quota.evaluate(cur, period, p, active.get("quota_warning"), notify=notify)
            if duty:
                cur.executemany(
                    "INSERT INTO assess_facts (rule_id, key, person_id, unit_id, grid_code, day, points, case_id,"
                    " event_id, work_order_id, figure) VALUES (%s, %s, %s, NULL, '', %s, %s, NULL, NULL, NULL, %s)",
                    duty)
            cur.execute("SELECT count(*) FROM assess_facts")
            facts = cur.fetchone()[0]
            # The rules recomputed: all of them, but the patrol duty only when it was measured
            # (its entries are otherwise left as they are, neither deleted nor withdrawn).
            rule_ids = [r.pk for r in Rule.objects.all() if patrol or r.code != "patrol_duty"]
            for sql in APPLY:
                cur.execute(sql, {**p, "rule_ids": rule_ids})
            cur.execute("SELECT count(*) FROM assessment_scoreentry WHERE day BETWEEN %(a)s AND %(b)s", p)
            entries = cur.fetchone()[0]
        if actor is not None:
            record(actor, "assessment.recompute", None, object_type="assessment.period",
                   object_id=f"{period.start}/{period.end}", facts=facts, entries=entries)
    return RecomputeResult(period, facts, entries, q, len(duty))


# -- reading ---------------------------------------------------------------------------------------

INDICATORS = f"""
WITH due AS (
    SELECT wo.unit_id, count(*) AS n_due, count(wo.completed_at) AS n_closed,
           count(*) FILTER (WHERE wo.completed_at <= wo.due) AS n_on_time
    FROM cases_workorder wo
    WHERE wo.due >= %(a0)s AND wo.due < %(b1)s AND wo.due < %(asof)s AND wo.state NOT IN ('returned', 'cancelled')
    GROUP BY wo.unit_id),
disp AS (
    SELECT wo.unit_id, count(*) AS n_disp, count(*) FILTER (WHERE wo.round > 1) AS n_rework
    FROM cases_workorder wo WHERE wo.dispatched_at >= %(a0)s AND wo.dispatched_at < %(b1)s
      AND wo.dispatched_at < %(asof)s GROUP BY wo.unit_id),
sat AS (
    SELECT w.unit_id, count(*) AS n_verified, count(*) FILTER (WHERE e.data ->> 'satisfied' = 'true') AS n_satisfied
    FROM cases_caseevent e {JUDGED}
    WHERE e.action = 'verify' AND e.at >= %(a0)s AND e.at < %(b1)s AND e.at < %(asof)s AND w.unit_id IS NOT NULL
    GROUP BY w.unit_id),
late AS (
    SELECT wo.unit_id, count(*) AS n_late_response FROM cases_workorder wo
    WHERE wo.ack_due >= %(a0)s AND wo.ack_due < %(b1)s AND wo.ack_due < %(asof)s
      AND (wo.acknowledged_at > wo.ack_due OR (wo.acknowledged_at IS NULL AND wo.state = 'dispatched'))
    GROUP BY wo.unit_id),
units AS (SELECT unit_id FROM due UNION SELECT unit_id FROM disp UNION SELECT unit_id FROM sat
           UNION SELECT unit_id FROM late)
SELECT units.unit_id, COALESCE(n_due, 0), COALESCE(n_closed, 0), COALESCE(n_on_time, 0), COALESCE(n_disp, 0),
       COALESCE(n_rework, 0), COALESCE(n_verified, 0), COALESCE(n_satisfied, 0), COALESCE(n_late_response, 0)
FROM units LEFT JOIN due USING (unit_id) LEFT JOIN disp USING (unit_id) LEFT JOIN sat USING (unit_id)
LEFT JOIN late USING (unit_id)
"""

RATE_PARTS = {  # rule code -> (numerator, denominator, figure name)
    "satisfaction_rate": ("n_satisfied", "n_verified"),
    "closure_rate": ("n_closed", "n_due"),
    "on_time_rate": ("n_on_time", "n_due"),
    "rework_rate": ("n_rework", "n_disp"),
}
COUNT_NAMES = ("n_due", "n_closed", "n_on_time", "n_disp", "n_rework", "n_verified", "n_satisfied",
               "n_late_response")
TWO = Decimal("0.01")


def rate_points(rule: Rule, num: int, den: int) -> tuple[Decimal | None, Decimal]:
    """(rate in %, points) of one indicator: points per percentage point beyond the threshold."""
    if den == 0:
        return None, Decimal("0")
    rate = (Decimal(num) * 100 / Decimal(den)).quantize(TWO, ROUND_HALF_UP)
    threshold = Decimal(rule.threshold or 0)
    gap = rate - threshold if rule.params.get("at_most") else threshold - rate
    points = (rule.points * gap).quantize(TWO, ROUND_HALF_UP) if gap > 0 else Decimal("0")
    return rate, points


def indicators(period: Period, now: datetime | None = None) -> dict[int, dict]:
    """Per unit: the GB/T 30428.4 counts and rates of the period, and each rate rule's points."""
    p = bounds(period, now)
    active = rules()
    with connection.cursor() as cur:
        cur.execute(INDICATORS, p)
        rows = cur.fetchall()
    out: dict[int, dict] = {}
    for row in rows:
        counts = dict(zip(COUNT_NAMES, row[1:], strict=True))
        rates = {}
        for code, (num, den) in RATE_PARTS.items():
            rule = active.get(code)
            if rule is None:
                continue
            rate, points = rate_points(rule, counts[num], counts[den])
            rates[code] = {"rule": code, "name": rule.name, "rate": None if rate is None else float(rate),
                           "threshold": float(rule.threshold or 0), "numerator": counts[num],
                           "denominator": counts[den], "points": float(points)}
        out[row[0]] = {"counts": counts, "rates": rates,
                       "points": float(sum(Decimal(str(r["points"])) for r in rates.values()))}
    return out


def week_starts(period: Period, today: date) -> list[date]:
    """Mondays of the whole weeks (Monday–Sunday) whose Sunday lies in the period and is past."""
    first = period.start + timedelta(days=(6 - period.start.weekday()))  # first Sunday in the period
    out = []
    sunday = first
    while sunday <= period.end and sunday < today:
        out.append(sunday - timedelta(days=6))
        sunday += timedelta(days=7)
    return out


def ceil_div(a: int, b: int) -> int:
    return math.ceil(a / b) if b else 0
