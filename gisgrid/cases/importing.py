"""Bring past cases in from a CSV file (docs/cases.md, "Importing past cases").

Every row is validated before anything is stored; a file with any bad row stores nothing and
the answer lists each bad row (line, column, reason). A good file is stored in one transaction
with bulk inserts: reports (routed by their location as a new report would be, one vectorised
locate for the whole file), cases with their timeline, work orders for the dispatched ones.
Open cases get their clocks computed as the workflow would; the next clock pass colours them
and raises whatever is overdue.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gisgrid.audit.log import record
from gisgrid.boundaries import locate
from gisgrid.boundaries.datums import CRS_CHOICES
from gisgrid.boundaries.models import Unit
from gisgrid.incidents.models import Category, Report
from gisgrid.incidents.routing import COMMAND_CENTRE_KIND, route
from gisgrid.workdays.calendar import from_utc64, to_utc64

from . import clocks
from .models import Case, CaseEvent, WorkOrder
from .workflow import next_numbers

REQUIRED = ("reported_at", "category", "lon", "lat", "reporter_name", "state")
OPTIONAL = ("number", "crs", "channel", "reporter_phone", "address", "description", "severity", "lead_unit",
            "assisting_units", "accepted_at", "dispatched_at", "acknowledged_at", "on_site_at", "completed_at",
            "verified_at", "archived_at", "voided_at", "void_reason", "result_text", "satisfied", "supervised",
            "supervised_reason", "round")
COLUMNS = REQUIRED + OPTIONAL
# The loop's steps in order, each with the column of its time.
STEPS = (("accepted", "accepted_at"), ("dispatched", "dispatched_at"), ("acknowledged", "acknowledged_at"),
         ("on_site", "on_site_at"), ("completed", "completed_at"), ("verified", "verified_at"),
         ("archived", "archived_at"))
STEP_STATES = [s for s, _ in STEPS]
NUMBER_RE = re.compile(r"^HY\d{8}-\d{4,6}$")
TRUE, FALSE = {"1", "true", "yes", "y", "是", "满意"}, {"0", "false", "no", "n", "否", "不满意"}
WO_STATE = {"dispatched": "dispatched", "acknowledged": "acknowledged", "on_site": "on_site",
            "completed": "completed", "verified": "completed", "archived": "completed"}


@dataclass
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


@dataclass
class Row:
    line: int
    values: dict
    times: dict = field(default_factory=dict)


class ImportFailed(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors


def _parse_time(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    value = parse_datetime(text.replace("/", "-"))
    if value is None:
        raise ValueError("not a date and time (e.g. 2026-03-01 09:30 or 2026-03-01T09:30+08:00)")
    if timezone.is_naive(value):
        value = timezone.make_aware(value, clocks.tz())
    return value


def validate(rows: list[tuple[int, dict]]) -> tuple[list[Row], list[RowError]]:
    """Check every row; returns the parsed rows and every problem found."""
    errors: list[RowError] = []
    categories = {c.code: c for c in Category.objects.all()}
    units = {u.code: u for u in Unit.objects.all()}
    seen_numbers: dict[str, int] = {}
    given_numbers = [r.get("number", "").strip() for _, r in rows if r.get("number", "").strip()]
    taken = set(Case.objects.filter(number__in=given_numbers).values_list("number", flat=True))
    now = timezone.now()
    parsed = []
    for line, raw in rows:
        v = {k: (raw.get(k) or "").strip() for k in COLUMNS}
        row = Row(line, v)
        bad = len(errors)

        def err(column: str, reason: str, _line=line) -> None:
            errors.append(RowError(_line, column, reason))

        for col in REQUIRED:
            if not v[col]:
                err(col, "required")
        for col in ("reported_at", "voided_at") + tuple(c for _, c in STEPS):
            try:
                row.times[col] = _parse_time(v[col])
            except ValueError as exc:
                err(col, str(exc))
        if v["category"] and v["category"] not in categories:
            err("category", f"unknown category code {v['category']!r}")
        for col, lo, hi in (("lon", -180, 180), ("lat", -90, 90)):
            if v[col]:
                try:
                    x = float(v[col])
                    if not lo <= x <= hi or x != x:
                        raise ValueError
                except ValueError:
                    err(col, f"a number from {lo} to {hi} is required")
        if v["crs"] and v["crs"] not in CRS_CHOICES:
            err("crs", f"one of {', '.join(CRS_CHOICES)}")
        if v["channel"] and v["channel"] not in Case.Channel.values:
            err("channel", f"one of {', '.join(Case.Channel.values)}")
        if v["severity"] and v["severity"] not in Category.Severity.values:
            err("severity", f"one of {', '.join(Category.Severity.values)}")
        if v["lead_unit"] and v["lead_unit"] not in units:
            err("lead_unit", f"unknown unit code {v['lead_unit']!r}")
        for code in filter(None, (c.strip() for c in v["assisting_units"].split("|"))):
            if code not in units:
                err("assisting_units", f"unknown unit code {code!r}")
        for col in ("satisfied", "supervised"):
            if v[col] and v[col].lower() not in TRUE | FALSE:
                err(col, "yes/no (1/0) or empty")
        if v["round"]:
            if not v["round"].isdigit() or not 1 <= int(v["round"]) <= 20:
                err("round", "a whole number from 1 to 20")
        if len(v["reporter_name"]) > 50:
            err("reporter_name", "at most 50 characters")
        if len(v["reporter_phone"]) > 20:
            err("reporter_phone", "at most 20 characters")
        if len(v["address"]) > 200:
            err("address", "at most 200 characters")
        for col in ("void_reason", "supervised_reason"):
            if len(v[col]) > 500:
                err(col, "at most 500 characters")
        if v["number"]:
            if not NUMBER_RE.match(v["number"]):
                err("number", "HY + yyyymmdd + '-' + 4 to 6 digits, e.g. HY20260301-0001")
            elif v["number"] in taken:
                err("number", f"{v['number']} already exists")
            elif v["number"] in seen_numbers:
                err("number", f"{v['number']} also on line {seen_numbers[v['number']]}")
            else:
                seen_numbers[v["number"]] = line
        state = v["state"]
        if state and state not in Case.State.values:
            err("state", f"one of {', '.join(Case.State.values)}")
        elif state and len(errors) == bad:
            _check_timeline(row, state, now, err)
        if len(errors) == bad:
            parsed.append(row)
    return parsed, errors


def _check_timeline(row: Row, state: str, now: datetime, err) -> None:
    times, v = row.times, row.values
    reported = times["reported_at"]
    if reported > now:
        err("reported_at", "in the future")
    reached = STEP_STATES.index(state) + 1 if state in STEP_STATES else 0
    previous, previous_col = reported, "reported_at"
    for i, (_, col) in enumerate(STEPS):
        value = times[col]
        if state == "voided":
            if value is None:
                # A voided case may have stopped anywhere: the times it has must be a prefix.
                for _, later in STEPS[i + 1:]:
                    if times[later] is not None:
                        err(later, f"given without {col}")
                break
        elif i < reached and value is None:
            err(col, f"required for state {state}")
            return
        elif i >= reached and value is not None:
            err(col, f"must be empty for state {state}")
            return
        if value is not None:
            if value < previous:
                err(col, f"before {previous_col}")
                return
            if value > now:
                err(col, "in the future")
            previous, previous_col = value, col
    if state == "voided":
        if times["voided_at"] is None:
            err("voided_at", "required for state voided")
        elif times["voided_at"] < previous:
            err("voided_at", f"before {previous_col}")
        if not v["void_reason"]:
            err("void_reason", "required for state voided")
    elif times["voided_at"] is not None:
        err("voided_at", "only for state voided")
    if state in ("completed", "verified", "archived") and not v["result_text"]:
        err("result_text", f"required for state {state}")
    if v["supervised"].lower() in TRUE and not v["supervised_reason"]:
        err("supervised_reason", "required when supervised")


def read_csv(path: str | Path) -> list[tuple[int, dict]]:
    """Rows with their line numbers (the header is line 1); UTF-8, with or without BOM."""
    text = Path(path).read_bytes().decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportFailed([RowError(1, c, "column missing from the header") for c in missing])
    unknown = [c for c in reader.fieldnames if c not in COLUMNS]
    if unknown:
        raise ImportFailed([RowError(1, c, "unknown column") for c in unknown])
    return [(reader.line_num, row) for row in reader]


def import_cases(path: str | Path, *, user=None) -> dict:
    """Validate then store every row of `path`; raises ImportFailed (storing nothing) on any bad row."""
    rows, errors = validate(read_csv(path))
    if errors:
        raise ImportFailed(errors)
    if not rows:
        return {"cases": 0}
    return _store(rows, user=user, source=str(path))


def import_rows(rows: list[dict], *, user=None, source: str = "rows", actor_name: str = "import") -> dict:
    """`import_cases` for rows already in memory (dicts keyed by the CSV's columns);
    `actor_name` names who the timeline events are from."""
    parsed, errors = validate([(i + 2, r) for i, r in enumerate(rows)])
    if errors:
        raise ImportFailed(errors)
    return _store(parsed, user=user, source=source, actor_name=actor_name) if parsed else {"cases": 0}


def _locate(rows: list[Row]) -> list[dict]:
    """One locate call per datum for the whole file."""
    answers: list[dict | None] = [None] * len(rows)
    by_crs: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_crs[r.values["crs"] or "wgs84"].append(i)
    for crs, idx in by_crs.items():
        _, located = locate.locate([float(rows[i].values["lon"]) for i in idx],
                                   [float(rows[i].values["lat"]) for i in idx], crs, details=False)
        for i, a in zip(idx, located, strict=True):
            answers[i] = a
    return answers


def _store(rows: list[Row], *, user, source: str, actor_name: str = "import") -> dict:
    categories = {c.code: c for c in Category.objects.prefetch_related("assisting_units")}
    units = {u.code: u for u in Unit.objects.all()}
    centre = Unit.objects.filter(kind=COMMAND_CENTRE_KIND).order_by("code").first()
    answers = _locate(rows)
    routes: dict[tuple, object] = {}
    limits = clocks.minute_limits()
    now = timezone.now()
    with transaction.atomic():
        reports = []
        routings = []
        for r, loc in zip(rows, answers, strict=True):
            v = r.values
            category = categories[v["category"]]
            level1 = next((g["code"] for g in loc.get("grids", []) if g["level"] == 1), "")
            key = (category.pk, loc["status"] == "outside", level1)
            if key not in routes:
                routes[key] = route(loc, category)
            decision = routes[key]
            routings.append(decision)
            codes = {f"level{g['level']}_code": g["code"] for g in loc.get("grids", [])}
            reports.append(Report(
                created_by=None, reporter_name=v["reporter_name"], reporter_phone=v["reporter_phone"],
                category=category, description=v["description"], address=v["address"],
                status=Report.Status.CLOSED if v["state"] in Case.CLOSED_STATES else Report.Status.OPEN,
                raw_lon=float(v["lon"]), raw_lat=float(v["lat"]), raw_crs=v["crs"] or "wgs84",
                point=Point(*loc["wgs84"], srid=4326), edition_id=(loc.get("edition") or {}).get("id"),
                location_status=loc["status"], lead_unit=decision.lead_unit, routing_rule=decision.reason,
                limit_working_days=decision.limit_working_days, **codes))
        Report.objects.bulk_create(reports, batch_size=2000)
        # auto_now_add stamped the import's time: the report's time is the case's.
        with connection.cursor() as cur:
            cur.execute("UPDATE incidents_report r SET created_at = v.at FROM unnest(%s::bigint[], %s::timestamptz[])"
                        " AS v(id, at) WHERE r.id = v.id",
                        [[rep.pk for rep in reports], [r.times["reported_at"] for r in rows]])
        through = Report.assisting_units.through
        through.objects.bulk_create([through(report_id=rep.pk, unit_id=u.pk) for rep, d in zip(reports, routings,
                                                                                                strict=True)
                                     for u in d.assisting_units], batch_size=5000)
        numbers = _numbers(rows)
        cases = []
        assisting_of = []
        for r, rep, decision, number in zip(rows, reports, routings, numbers, strict=True):
            v, tm = r.values, r.times
            category = categories[v["category"]]
            outside = rep.location_status == "outside"
            lead = units[v["lead_unit"]] if v["lead_unit"] else (centre if outside else decision.lead_unit)
            if v["assisting_units"]:
                assisting = [units[c.strip()] for c in v["assisting_units"].split("|") if c.strip()]
            else:
                assisting = [] if outside else list(decision.assisting_units)
            assisting = [u for u in assisting if lead is None or u.pk != lead.pk]
            assisting_of.append(assisting)
            state = v["state"]
            satisfied = None
            if v["satisfied"]:
                satisfied = v["satisfied"].lower() in TRUE
            elif state in ("verified", "archived"):
                satisfied = True
            case = Case(
                number=number, report=rep, category=category, channel=v["channel"] or Case.Channel.IMPORT,
                state=state, severity=v["severity"] or category.severity, round=int(v["round"] or 1),
                lead_unit=lead, outside=outside, reported_at=tm["reported_at"],
                accepted_at=tm["accepted_at"], dispatched_at=tm["dispatched_at"],
                acknowledged_at=tm["acknowledged_at"], on_site_at=tm["on_site_at"],
                completed_at=tm["completed_at"], verified_at=tm["verified_at"], archived_at=tm["archived_at"],
                voided_at=tm["voided_at"], void_reason=v["void_reason"], result_text=v["result_text"],
                satisfied=satisfied, supervised=v["supervised"].lower() in TRUE,
                supervised_reason=v["supervised_reason"],
                dispatch_due=tm["reported_at"] + timedelta(minutes=limits["dispatch"]),
            )
            _set_stage(case, limits)
            cases.append(case)
        _completion(cases)
        events = []
        for case in cases:
            case.clock = clocks.colour(case, now)
            # Built before the cases are stored (they set each case's version); Django fills
            # in the case ids at the events' insert.
            events.extend(_events(case, source, actor_name))
        Case.objects.bulk_create(cases, batch_size=2000)
        case_through = Case.assisting_units.through
        case_through.objects.bulk_create([case_through(case_id=c.pk, unit_id=u.pk)
                                          for c, us in zip(cases, assisting_of, strict=True) for u in us],
                                         batch_size=5000)
        orders = []
        for case, assisting in zip(cases, assisting_of, strict=True):
            if case.dispatched_at is None or case.lead_unit is None:
                continue
            wo_state = WO_STATE.get(case.state, "cancelled")
            for unit, role in [(case.lead_unit, "lead")] + [(u, "assist") for u in assisting]:
                orders.append(WorkOrder(
                    case=case, unit=unit, role=role, round=case.round, state=wo_state,
                    dispatched_at=case.dispatched_at,
                    ack_due=case.dispatched_at + timedelta(minutes=limits["acknowledge"]),
                    acknowledged_at=case.acknowledged_at, on_site_at=case.on_site_at,
                    on_site_due=(case.acknowledged_at + timedelta(minutes=limits["on_site"])
                                 if case.acknowledged_at else None),
                    completed_at=case.completed_at if wo_state == "completed" else None, due=case.complete_due,
                    result_text=case.result_text if wo_state == "completed" else ""))
        WorkOrder.objects.bulk_create(orders, batch_size=5000)
        CaseEvent.objects.bulk_create(events, batch_size=5000)
        record(user, "cases.import", object_type="cases.import", object_id=Path(source).name, file=source,
               cases=len(cases), first=cases[0].number, last=cases[-1].number)
    return {"cases": len(cases), "work_orders": len(orders), "events": len(events),
            "open": sum(1 for c in cases if c.is_open)}


def _numbers(rows: list[Row]) -> list[str]:
    """The given numbers, and new ones (per local day of the report) for the rest."""
    wanted: dict = defaultdict(list)
    for i, r in enumerate(rows):
        if not r.values["number"]:
            wanted[timezone.localtime(r.times["reported_at"], clocks.tz()).date()].append(i)
    out = [r.values["number"] for r in rows]
    for day, idx in sorted(wanted.items()):
        for i, number in zip(idx, next_numbers(day, len(idx)), strict=True):
            out[i] = number
    # Counters must stay ahead of imported numbers too, or a new case could reuse one.
    given = [r.values["number"] for r in rows if r.values["number"]]
    if given:
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO cases_casenumber (day, last)"
                " SELECT to_date(substr(n, 3, 8), 'YYYYMMDD'), max(substr(n, 12)::int) FROM unnest(%s::text[]) n"
                " GROUP BY 1 ON CONFLICT (day) DO UPDATE SET last = greatest(cases_casenumber.last, EXCLUDED.last)",
                [given])
    return out


def _set_stage(case: Case, limits: dict) -> None:
    """The running clock of an imported open case, as the workflow would have left it."""
    s = case.state
    if s in ("reported", "accepted"):
        clocks.set_minute_stage(case, Case.Stage.DISPATCH, case.reported_at, case.dispatch_due)
    elif s == "dispatched":
        clocks.set_minute_stage(case, Case.Stage.ACKNOWLEDGE, case.dispatched_at,
                                case.dispatched_at + timedelta(minutes=limits["acknowledge"]))
    elif s == "acknowledged":
        clocks.set_minute_stage(case, Case.Stage.ON_SITE, case.acknowledged_at,
                                case.acknowledged_at + timedelta(minutes=limits["on_site"]))
    elif s == "on_site":
        case.stage = Case.Stage.COMPLETE
    else:
        clocks.stop_clock(case)


def _completion(cases: list[Case]) -> None:
    """Completion deadlines of every dispatched case, in one vectorised call."""
    idx = [i for i, c in enumerate(cases) if c.dispatched_at is not None]
    if not idx:
        return
    starts = to_utc64([cases[i].dispatched_at for i in idx])
    days = np.array([clocks.working_days_for(cases[i].severity) for i in idx])
    due, warn, fb = clocks.completion_many(starts, days, np.zeros(len(idx)))
    for k, i in enumerate(idx):
        c = cases[i]
        c.complete_due, c.calendar_fallback = from_utc64(due[k]), bool(fb[k])
        if c.stage == Case.Stage.COMPLETE:
            c.stage_started, c.stage_due, c.stage_warn_at = c.dispatched_at, c.complete_due, from_utc64(warn[k])


def _events(case: Case, source: str, actor_name: str = "import") -> list[CaseEvent]:
    """The imported timeline: one event per step the row gives a time for."""
    out = [CaseEvent(case=case, at=case.reported_at, actor_name=actor_name, action="open", from_state="",
                     to_state="reported", data={"channel": case.channel, "imported_from": Path(source).name},
                     version=1)]
    state, version = "reported", 1
    steps = [(s, getattr(case, col)) for s, col in STEPS] + [("voided", case.voided_at)]
    for to_state, at in steps:
        if at is None:
            continue
        version += 1
        action = {"accepted": "accept", "dispatched": "dispatch", "acknowledged": "acknowledge",
                  "on_site": "arrive", "completed": "complete", "verified": "verify", "archived": "archive",
                  "voided": "void"}[to_state]
        out.append(CaseEvent(case=case, at=at, actor_name=actor_name, action=action, from_state=state,
                             to_state=to_state, reason=case.void_reason if to_state == "voided" else "",
                             data={"imported": True}, version=version))
        state = to_state
    case.version = version
    return out
