"""A year's holiday notice typed by hand: one line per day or range, as the notice reads.

    # 国务院办公厅关于2027年部分节假日安排的通知
    2027-01-01 休 元旦
    2027-02-06 至 2027-02-12 休 春节
    2027-02-20 班 春节调休上班

A line is a date (YYYY-MM-DD, also YYYY/MM/DD or YYYY年M月D日) or a range of two dates joined
by 至, ~, .. or –; then 休 (off; also 假, off, rest) or 班 (worked; also 上班, work); then an
optional name. Blank lines and lines starting with # are skipped. Dates must lie in the
notice's year or in the December before it (make-up days before New Year).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_DATE = r"(\d{4})\s*[-/年]\s*(\d{1,2})\s*[-/月]\s*(\d{1,2})\s*日?"
_LINE = re.compile(
    rf"^{_DATE}(?:\s*(?:至|~|～|\.\.|–|—|-|到)\s*{_DATE})?\s+(\S+)(?:\s+(.*))?$"
)
_OFF = {"休", "假", "休息", "放假", "off", "rest", "holiday"}
_WORK = {"班", "上班", "work", "working", "workday"}


@dataclass(frozen=True)
class NoticeDay:
    date: date
    working: bool
    name: str


class NoticeError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def parse_notice(text: str, year: int) -> list[NoticeDay]:
    """The days a typed notice lists, in date order. Raises NoticeError naming each bad line."""
    days: dict[date, NoticeDay] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            problems.append(f"第{number}行 / line {number}: 无法识别 / not understood: {line}")
            continue
        try:
            first = date(int(m[1]), int(m[2]), int(m[3]))
            last = date(int(m[4]), int(m[5]), int(m[6])) if m[4] else first
        except ValueError as exc:
            problems.append(f"第{number}行 / line {number}: 日期无效 / invalid date ({exc})")
            continue
        kind = m[7].lower()
        if kind not in _OFF | _WORK:
            problems.append(f"第{number}行 / line {number}: 应为“休”或“班” / expected 休 or 班, got {m[7]}")
            continue
        if last < first or (last - first).days > 31:
            problems.append(f"第{number}行 / line {number}: 日期范围无效 / bad date range")
            continue
        if first < date(year - 1, 12, 1) or last > date(year, 12, 31):
            problems.append(
                f"第{number}行 / line {number}: 日期不在{year}年内 / dates must lie in {year} (or December {year - 1})"
            )
            continue
        d = first
        while d <= last:
            if d in days:
                problems.append(f"第{number}行 / line {number}: {d.isoformat()} 重复 / listed twice")
            days[d] = NoticeDay(d, kind in _WORK, (m[8] or "").strip()[:100])
            d += timedelta(days=1)
    if problems:
        raise NoticeError(problems)
    return [days[d] for d in sorted(days)]
