"""Reports for leaders: daily summary, weekly, monthly and special (any period and filter).

A report is the case figures of the period (reported, accepted, closed, overdue, by channel and
category) plus the assessment rankings, kept as a `ReportFile` with its XLSX, PDF and CSV under
MEDIA_ROOT, and announced in the inbox of the centre and the chiefs. The periodic job makes the
daily, weekly and monthly ones (schedule.periodic_pass); anyone with the right makes a special one.
"""

from __future__ import annotations

from datetime import datetime

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from gisgrid.accounts import roles
from gisgrid.audit.log import record
from gisgrid.boundaries.models import Unit
from gisgrid.cases import notices
from gisgrid.errors import BadRequest, Text

from . import computing, exports, scores
from .models import ReportFile
from .periods import Period

KIND_LABELS = {"day": "日汇总", "week": "周报", "month": "月报", "special": "专报"}

FIGURES = f"""
SELECT
  count(*) FILTER (WHERE c.reported_at >= %(a0)s AND c.reported_at < %(b1)s),
  count(*) FILTER (WHERE c.accepted_at >= %(a0)s AND c.accepted_at < %(b1)s),
  count(*) FILTER (WHERE c.archived_at >= %(a0)s AND c.archived_at < %(b1)s),
  count(*) FILTER (WHERE c.voided_at >= %(a0)s AND c.voided_at < %(b1)s),
  count(*) FILTER (WHERE c.state NOT IN ('archived', 'voided') AND c.reported_at < %(b1)s),
  count(*) FILTER (WHERE c.clock = 'red' AND c.state NOT IN ('archived', 'voided') AND c.reported_at < %(b1)s)
FROM cases_case c JOIN incidents_report r ON r.id = c.report_id
WHERE (c.reported_at < %(b1)s) AND (c.reported_at >= %(a0)s OR c.state NOT IN ('archived', 'voided')
       OR c.archived_at >= %(a0)s OR c.voided_at >= %(a0)s)
  AND (%(unit)s::int IS NULL OR c.lead_unit_id = %(unit)s) AND {computing.CASE_GRID} LIKE %(grid)s
"""

BY = f"""
SELECT {{col}}, count(*) FROM cases_case c JOIN incidents_report r ON r.id = c.report_id
JOIN incidents_category cat ON cat.id = c.category_id
WHERE c.reported_at >= %(a0)s AND c.reported_at < %(b1)s
  AND (%(unit)s::int IS NULL OR c.lead_unit_id = %(unit)s) AND {computing.CASE_GRID} LIKE %(grid)s
GROUP BY 1 ORDER BY 2 DESC LIMIT 20
"""


def parse_filters(raw: dict) -> dict:
    """unit (code), grid (code prefix), role: checked, a 400 naming the field otherwise."""
    out: dict = {}
    unit = (raw.get("unit") or "").strip()
    if unit:
        u = Unit.objects.filter(code=unit).first()
        if u is None:
            raise BadRequest(Text(f"没有单位 {unit}", f"no unit {unit}"), field="unit")
        out["unit"] = u.code
    grid = (raw.get("grid") or "").strip()
    if grid:
        if not grid.isdigit() or len(grid) > 15:
            raise BadRequest(Text("网格编码应为数字", "a grid code is digits"), field="grid")
        out["grid"] = grid
    role = (raw.get("role") or "").strip()
    if role:
        if role not in ("grid_member", "inspector", "grid_chief"):
            raise BadRequest(Text("角色应为 grid_member、inspector 或 grid_chief",
                                  "role: grid_member, inspector or grid_chief"), field="role")
        out["role"] = role
    return out


def build(period: Period, filters: dict | None = None, now: datetime | None = None) -> dict:
    """The report's data (plain JSON)."""
    filters = filters or {}
    p = computing.bounds(period, now)
    unit = Unit.objects.filter(code=filters.get("unit", "")).first()
    q = {**p, "unit": unit.pk if unit else None, "grid": (filters.get("grid") or "") + "%"}
    with connection.cursor() as cur:
        cur.execute(FIGURES, q)
        reported, accepted, archived, voided, open_, red = cur.fetchone()
        cur.execute(BY.format(col="c.channel"), q)
        channels = cur.fetchall()
        cur.execute(BY.format(col="cat.name"), q)
        categories = cur.fetchall()
    people = scores.person_scores(period, role=filters.get("role"), grid_prefix=filters.get("grid", ""))
    units = scores.unit_scores(period, now=now, unit_ids=[unit.pk] if unit else None)
    channel_labels = {"grid_member": "网格员上报", "inspector": "巡查员上报", "hotline": "热线受理", "public": "群众上报",
                      "import": "历史导入"}
    return {
        "kind": period.kind, "start": period.start.isoformat(), "end": period.end.isoformat(),
        "label": period.label, "filters": filters,
        "summary": {"新上报案件": reported, "立案": accepted, "归档办结": archived, "作废": voided, "在办案件": open_,
                    "超时在办": red, "考核人员": len(people), "扣分人员": sum(1 for r in people if r["minus"] < 0),
                    "考核单位": len(units)},
        "channels": [[channel_labels.get(k, k), n] for k, n in channels],
        "categories": [[k, n] for k, n in categories],
        "people": [r for r in people if r["entries"] or r["no_excellent"]],
        "units": units,
        "entries": [],
    }


def title(period: Period, filters: dict) -> str:
    extra = "".join(f"（{v}）" for v in filters.values())
    return f"网格化管理{KIND_LABELS.get(period.kind, '专报')}（{period.label}）{extra}"


def generate(period: Period, *, filters: dict | None = None, actor=None, now: datetime | None = None,
             announce: bool = True) -> ReportFile:
    """Build, render the three files, keep them, tell the inbox. One transaction."""
    now = now or timezone.now()
    filters = filters or {}
    kind = period.kind if period.kind in KIND_LABELS else "special"
    data = build(period, filters, now)
    name = title(period, filters)
    xlsx = exports.xlsx_bytes(name, data)
    pdf = exports.pdf_bytes(name, data, charts=exports.charts_of(data))
    csv_ = exports.csv_bytes(name, data)
    stem = f"{kind}-{period.start:%Y%m%d}-{period.end:%Y%m%d}"
    with transaction.atomic():
        rf = ReportFile(kind=kind, start=period.start, end=period.end, filters=filters, title=name, created_at=now,
                        created_by=actor if getattr(actor, "pk", None) else None, data=data)
        rf.xlsx.save(f"{stem}.xlsx", ContentFile(xlsx), save=False)
        rf.pdf.save(f"{stem}.pdf", ContentFile(pdf), save=False)
        rf.csv.save(f"{stem}.csv", ContentFile(csv_), save=False)
        rf.save()
        record(actor, "assessment.report", rf, kind=kind, start=period.start.isoformat(), end=period.end.isoformat(),
               filters=filters)
        if announce:
            for role in (roles.DISPATCHER, roles.GRID_CHIEF):
                notices.queue("assessment_report", subject=f"报表已生成：{name}",
                              body=f"/assessment/reports/{rf.pk}/", role=role, at=now)
    return rf


def report_dict(rf: ReportFile, *, full: bool = False) -> dict:
    out = {"id": rf.pk, "kind": rf.kind, "kind_label": KIND_LABELS.get(rf.kind, rf.kind), "title": rf.title,
           "start": rf.start.isoformat(), "end": rf.end.isoformat(), "filters": rf.filters,
           "created_at": rf.created_at.isoformat(),
           "downloads": {fmt: f"/api/v1/assessment/reports/{rf.pk}/download?type={fmt}"
                         for fmt in ("xlsx", "pdf", "csv")}}
    if full:
        out["data"] = rf.data
    return out
