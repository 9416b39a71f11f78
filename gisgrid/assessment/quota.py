"""The weekly quota: each grid member finds at least N matters a week on their own.

A week is Monday–Sunday; its quota is N for a week of 5 working days (the rule's
`weekly_working_days`), prorated (rounded up) for a week with fewer by the working-day
calendar; a week without working days has none. A member with no matter found in a week is
warned (a notice to them and to their grid chief); two such weeks running is a recommendation
to replace them: no "excellent" rating that year, and their name in the weekly and monthly
bulletins. Found = cases they reported from the app (channel grid_member), false reports
(voided, not merged) not counted.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from gisgrid.cases import notices

from .computing import NON_WORKING, ceil_div, week_starts
from .models import QuotaWeek, Rule
from .periods import Period

DEFAULT_N = 2
WARN_WITHIN_DAYS = 21

WEEK_SQL = f"""
WITH weeks AS (SELECT unnest(%(weeks)s::date[]) AS w),
wd AS (SELECT w, count(*) FILTER (WHERE NOT ({NON_WORKING.format(d='d::date')})) AS n
       FROM weeks CROSS JOIN generate_series(w, w + 6, interval '1 day') d GROUP BY w),
members AS (
    SELECT DISTINCT weeks.w, ap.person_id FROM weeks
    JOIN assessment_assignmentperiod ap ON ap.role = 'grid_member' AND ap.start <= weeks.w + 6
         AND (ap."end" IS NULL OR ap."end" >= weeks.w)
    JOIN boundaries_person p ON p.id = ap.person_id AND p.active),
found AS (
    SELECT m.w, m.person_id,
           count(c.id) FILTER (WHERE c.reported_at >= (m.w::timestamp AT TIME ZONE %(tz)s)
                                 AND c.reported_at < ((m.w + 7)::timestamp AT TIME ZONE %(tz)s)) AS n,
           count(c.id) FILTER (WHERE c.reported_at < (m.w::timestamp AT TIME ZONE %(tz)s)) AS n_prev
    FROM members m JOIN boundaries_person p ON p.id = m.person_id
    LEFT JOIN cases_case c ON c.reporter_user_id = p.user_id AND c.channel = 'grid_member'
         AND c.reported_at >= ((m.w - 7)::timestamp AT TIME ZONE %(tz)s)
         AND c.reported_at < ((m.w + 7)::timestamp AT TIME ZONE %(tz)s)
         AND (c.state <> 'voided' OR c.duplicate_of_id IS NOT NULL)
    GROUP BY m.w, m.person_id)
SELECT f.w, f.person_id, f.n, f.n_prev, wd.n, prev_wd.n,
       (SELECT array_agg(DISTINCT ap.grid_code) FROM assessment_assignmentperiod ap
        WHERE ap.person_id = f.person_id AND ap.role = 'grid_member' AND ap.start <= f.w + 6
          AND (ap."end" IS NULL OR ap."end" >= f.w))
FROM found f JOIN wd ON wd.w = f.w
LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE NOT ({NON_WORKING.format(d='d::date')})) AS n
                   FROM generate_series(f.w - 7, f.w - 1, interval '1 day') d) prev_wd ON true
"""


def required(n: int, working_days: int, full: int) -> int:
    return ceil_div(n * min(working_days, full), full) if full else n


def status(found: int, need: int, prev_found: int, prev_working: int) -> str:
    if found == 0:
        return QuotaWeek.Status.REPLACE if prev_found == 0 and prev_working > 0 else QuotaWeek.Status.NONE
    return QuotaWeek.Status.MET if found >= need else QuotaWeek.Status.SHORT


def evaluate(cur, period: Period, p: dict, rule: Rule | None, *, notify: bool = True) -> dict:
    """Quota weeks of the period (whole weeks ending in it, already over): rows upserted,
    warnings queued once per member and week, facts for the quota rule."""
    weeks = week_starts(period, p["today"])
    if not weeks:
        return {"weeks": 0, "none": 0, "replace": 0}
    n = int(rule.threshold) if rule is not None and rule.threshold is not None else DEFAULT_N
    full = int((rule.params if rule is not None else {}).get("weekly_working_days", 5)) or 5
    cur.execute(WEEK_SQL, {**p, "weeks": weeks})
    rows = cur.fetchall()
    counts = {"weeks": len(weeks), "none": 0, "replace": 0}
    existing = {(q.person_id, q.week_start): q for q in QuotaWeek.objects.filter(week_start__in=weeks)}
    new, changed, facts = [], [], []
    for w, person_id, found, prev_found, wd, prev_wd, grids in rows:
        if wd == 0:
            continue
        need = required(n, wd, full)
        st = status(found, need, prev_found, prev_wd or 0)
        q = existing.get((person_id, w))
        if q is None:
            new.append(QuotaWeek(person_id=person_id, week_start=w, found=found, required=need, working_days=wd,
                                 status=st, grid_codes=sorted(grids or [])))
        elif (q.found, q.required, q.status, q.working_days) != (found, need, st, wd):
            q.found, q.required, q.status, q.working_days = found, need, st, wd
            q.grid_codes = sorted(grids or [])
            changed.append(q)
        if st in (QuotaWeek.Status.NONE, QuotaWeek.Status.REPLACE):
            counts["none" if st == QuotaWeek.Status.NONE else "replace"] += 1
            if rule is not None:
                facts.append((f"quota:{person_id}:{w}", person_id, (grids or [""])[0], w + timedelta(days=6),
                              w.isoformat(), found, need, st))
    if facts:
        cols = list(zip(*facts, strict=True))
        cur.execute(
            "INSERT INTO assess_facts (rule_id, key, person_id, unit_id, grid_code, day, points, case_id, event_id,"
            " work_order_id, figure) SELECT %s, k, p, NULL, g, d, %s, NULL, NULL, NULL,"
            " jsonb_build_object('week_start', w, 'found', f, 'required', r, 'status', s)"
            " FROM unnest(%s::text[], %s::int[], %s::text[], %s::date[], %s::text[], %s::int[], %s::int[], %s::text[])"
            " AS u(k, p, g, d, w, f, r, s)", [rule.pk, rule.points, *map(list, cols)])
    QuotaWeek.objects.bulk_create(new)
    QuotaWeek.objects.bulk_update(changed, ["found", "required", "status", "working_days", "grid_codes"])
    if notify:
        warn(p["now"])
    return counts


def warn(now) -> int:
    """Notices for the warning and replacement weeks not yet told (weeks of the last
    WARN_WITHIN_DAYS only: recomputing an old period does not send stale warnings): the member
    and the chiefs of their grids. Chiefs are looked up once for all rows."""
    from .models import AssignmentPeriod

    User = get_user_model()
    since = timezone.localtime(now).date() - timedelta(days=WARN_WITHIN_DAYS)
    todo = list(QuotaWeek.objects.filter(notified_at__isnull=True, week_start__gte=since,
                                         status__in=[QuotaWeek.Status.NONE, QuotaWeek.Status.REPLACE])
                .select_related("person"))
    if not todo:
        return 0
    codes = {c for q in todo for c in q.grid_codes}
    chiefs: dict[str, list[tuple]] = {}
    for code, start, end, uid in (AssignmentPeriod.objects.filter(grid_code__in=codes, role="grid_chief",
                                                                  person__user__isnull=False)
                                  .values_list("grid_code", "start", "end", "person__user_id")):
        chiefs.setdefault(code, []).append((start, end, uid))
    for q in todo:
        end = q.week_start + timedelta(days=6)
        who = q.person.name
        if q.status == QuotaWeek.Status.REPLACE:
            subject = f"建议替换：网格员{who}连续两周未主动发现问题（{q.week_start:%m-%d}至{end:%m-%d}）"
        else:
            subject = f"预警：网格员{who}本周未主动发现问题（{q.week_start:%m-%d}至{end:%m-%d}）"
        body = f"应发现{q.required}件，实际{q.found}件。网格：{'、'.join(q.grid_codes)}"
        users = {q.person.user_id} if q.person.user_id else set()
        for code in q.grid_codes:
            users |= {uid for s, e, uid in chiefs.get(code, ()) if s <= end and (e is None or e >= q.week_start)}
        for uid in sorted(users):
            notices.queue("assessment_quota", subject=subject, body=body, user=User(pk=uid), at=now)
        q.notified_at = now
    QuotaWeek.objects.bulk_update(todo, ["notified_at"])
    return len(todo)


def barred_from_excellent(person_ids: list[int], year: int) -> set[int]:
    """People recommended for replacement in `year`: no "excellent" rating that year."""
    return set(QuotaWeek.objects.filter(person_id__in=person_ids, status=QuotaWeek.Status.REPLACE,
                                        week_start__gte=date(year, 1, 1) - timedelta(days=6),
                                        week_start__lte=date(year, 12, 31))
               .values_list("person_id", flat=True))


def replacements(period: Period) -> list[QuotaWeek]:
    """Replacement recommendations of weeks ending in the period (named in the bulletins)."""
    return list(QuotaWeek.objects.filter(status=QuotaWeek.Status.REPLACE,
                                         week_start__gte=period.start - timedelta(days=6),
                                         week_start__lte=period.end - timedelta(days=6))
                .select_related("person", "person__unit").order_by("week_start", "person__name"))


def live_week(person, monday: date) -> QuotaWeek:
    """A member's week so far (not stored): found, quota, status as it stands now."""
    from datetime import datetime, time

    from django.utils import timezone

    from gisgrid.cases.models import Case
    from gisgrid.workdays import calendar as workdays_calendar

    from .models import AssignmentPeriod

    rule = Rule.objects.filter(code="quota_warning").first()
    n = int(rule.threshold) if rule is not None and rule.threshold is not None else DEFAULT_N
    full = int((rule.params if rule is not None else {}).get("weekly_working_days", 5)) or 5
    cal = workdays_calendar.current()
    wd = sum(1 for i in range(7) if cal.is_working_day(monday + timedelta(days=i)))
    tz = timezone.get_default_timezone()
    start = datetime.combine(monday, time.min, tz)
    found = 0
    if person.user_id:
        found = (Case.objects.filter(reporter_user_id=person.user_id, channel=Case.Channel.GRID_MEMBER,
                                     reported_at__gte=start, reported_at__lt=start + timedelta(days=7))
                 .exclude(state=Case.State.VOIDED, duplicate_of__isnull=True).count())
    need = required(n, wd, full)
    grids = sorted(set(AssignmentPeriod.objects.filter(person=person, role="grid_member", start__lte=monday
                                                       + timedelta(days=6)).exclude(end__lt=monday)
                       .values_list("grid_code", flat=True)))
    st = QuotaWeek.Status.MET if found >= need else QuotaWeek.Status.SHORT if found else QuotaWeek.Status.NONE
    return QuotaWeek(person=person, week_start=monday, found=found, required=need, working_days=wd, status=st,
                     grid_codes=grids)
