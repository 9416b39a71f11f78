"""Periods of the scale: 旬 (1–10, 11–20, 21–end), week (Monday–Sunday), month, year, or any
[start, end] (special reports). Dates are local (Asia/Shanghai), both ends included."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from gisgrid.errors import BadRequest, Text

KINDS = ("xun", "week", "month", "year", "day", "special")
MAX_DAYS = 400
EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date

    @property
    def label(self) -> str:
        s, e = self.start, self.end
        if self.kind == "month":
            return f"{s.year}年{s.month}月"
        if self.kind == "year":
            return f"{s.year}年"
        if self.kind == "xun":
            return f"{s.year}年{s.month}月" + ("上旬" if s.day == 1 else "中旬" if s.day == 11 else "下旬")
        if self.kind == "day":
            return f"{s:%Y年%m月%d日}"
        return f"{s:%Y-%m-%d}至{e:%Y-%m-%d}"

    def days(self) -> int:
        return (self.end - self.start).days + 1


def today() -> date:
    return timezone.localdate()


def period_of(kind: str, day: date) -> Period:
    """The period of `kind` that holds `day`."""
    if kind == "day":
        return Period(kind, day, day)
    if kind == "week":
        s = day - timedelta(days=day.weekday())
        return Period(kind, s, s + timedelta(days=6))
    if kind == "month":
        return Period(kind, day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1]))
    if kind == "year":
        return Period(kind, date(day.year, 1, 1), date(day.year, 12, 31))
    if kind == "xun":
        last = calendar.monthrange(day.year, day.month)[1]
        if day.day <= 10:
            return Period(kind, day.replace(day=1), day.replace(day=10))
        if day.day <= 20:
            return Period(kind, day.replace(day=11), day.replace(day=20))
        return Period(kind, day.replace(day=21), day.replace(day=last))
    raise BadRequest(Text(f"未知周期类型：{kind}", f"unknown period kind: {kind}"), field="kind")


def previous(kind: str, ref: date | None = None) -> Period:
    """The last whole period of `kind` before the one holding `ref` (default today)."""
    current = period_of(kind, ref or today())
    return period_of(kind, current.start - timedelta(days=1))


def _date(value, field: str) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    text = str(value or "").strip()
    if not text:
        raise BadRequest(Text("必填", "required"), field=field)
    try:
        return date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(text)
    except ValueError:
        raise BadRequest(Text("日期格式应为 YYYY-MM-DD", "a date as YYYY-MM-DD"), field=field) from None


def parse(kind: str | None, start, end=None, *, allow_running: bool = True) -> Period:
    """A period from request values: `kind` (default special) and `start` (and `end` for special;
    other kinds take the period holding `start`). Refused with a 400 naming the field: an end
    before the start, a start in the future, a period longer than MAX_DAYS, and (when
    `allow_running` is False) a period that has not ended yet."""
    kind = (kind or "special").strip()
    if kind not in KINDS:
        raise BadRequest(Text(f"周期类型应为 {'、'.join(KINDS)} 之一", f"kind: one of {', '.join(KINDS)}"),
                         field="kind")
    s = _date(start, "start")
    if kind == "special":
        e = _date(end, "end")
        if e < s:
            raise BadRequest(Text("截止日期早于起始日期", "end is before start"), field="end")
        if (e - s).days + 1 > MAX_DAYS:
            raise BadRequest(Text(f"时段不能超过{MAX_DAYS}天", f"at most {MAX_DAYS} days"), field="end")
        p = Period(kind, s, e)
    else:
        if end not in (None, ""):
            e = _date(end, "end")
            if e < s:
                raise BadRequest(Text("截止日期早于起始日期", "end is before start"), field="end")
        p = period_of(kind, s)
    now = today()
    if p.start < EARLIEST:
        raise BadRequest(Text(f"日期不能早于 {EARLIEST}", f"not before {EARLIEST}"), field="start")
    if p.start > now:
        raise BadRequest(Text("时段在未来", "the period lies in the future"), field="start")
    if not allow_running and p.end >= now:
        raise BadRequest(Text("时段尚未结束，不能发布", "the period has not ended yet"), field="end")
    return p
