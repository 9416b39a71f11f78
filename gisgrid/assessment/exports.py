"""A report or bulletin as files: XLSX (openpyxl), PDF (reportlab, the Chinese font embedded) and
CSV (UTF-8 with a BOM, so Excel reads the Chinese). All three start from the same plain data:
`tables(data)` -> [(sheet title, header, rows)].
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from gisgrid.errors import Text, Unavailable

FONT_PATHS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",)
FONT_NAME = "WenQuanYiMicroHei"


@lru_cache(maxsize=1)
def font_path() -> str:
    """The Chinese font's file: fc-match first, then Debian's fonts-wqy-microhei path."""
    found = ""
    if shutil.which("fc-match"):
        try:
            found = subprocess.run(["fc-match", "-f", "%{file}", "WenQuanYi Micro Hei"], capture_output=True,
                                   text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ""
    for path in ([found] if found and "wqy" in found.lower() else []) + list(FONT_PATHS):
        if path and Path(path).is_file():
            return path
    raise Unavailable(Text("缺少中文字体 fonts-wqy-microhei（/usr/share/fonts/truetype/wqy/wqy-microhei.ttc），"
                           "请安装后重试", "the Chinese font fonts-wqy-microhei is missing: install it"))


def _fmt(v) -> str | float | int:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else ""
    if isinstance(v, (int, float)):
        return v
    return str(v)


def tables(data: dict) -> list[tuple[str, list[str], list[list]]]:
    """The sheets of a report or bulletin snapshot (people, units, entries, replacements)."""
    out = []
    people = data.get("people") or []
    out.append(("人员排名", ["名次", "姓名", "角色", "单位", "得分", "加分", "扣分", "记分条数", "不能评优"],
                [[p["rank"], p["name"], p.get("role_label", p["role"]), p["unit"], p["score"], p["plus"], p["minus"],
                  p["entries"], p["no_excellent"]] for p in people]))
    units = data.get("units") or []
    out.append(("单位排名", ["名次", "单位", "得分", "记分", "指标扣分", "到期工单", "结案率%", "按时结案率%", "满意率%",
                         "返工率%", "超时响应"],
                [[u["rank"], u["name"], u["score"], u["entry_points"], u["indicator_points"],
                  u["counts"].get("n_due", 0),
                  *(u["rates"].get(k, {}).get("rate") for k in ("closure_rate", "on_time_rate", "satisfaction_rate",
                                                                "rework_rate")),
                  u["counts"].get("n_late_response", 0)] for u in units]))
    entries = data.get("entries") or []
    out.append(("记分明细", ["日期", "计入", "规则", "分值", "人员", "单位", "网格", "案件", "工单", "更正"],
                [[e["day"], e["booked"], e["rule_name"], e["points"], e["person"], e["unit"], e["grid_code"],
                  e["case"] or "", (e["work_order"] or {}).get("id", ""), e["correction"]] for e in entries]))
    if data.get("replacements"):
        out.append(("建议替换", ["姓名", "单位", "周起始", "网格"],
                    [[r["name"], r["unit"], r["week_start"], "、".join(r["grids"])] for r in data["replacements"]]))
    if data.get("summary"):
        out.insert(0, ("汇总", ["指标", "数值"], [[k, v] for k, v in data["summary"].items()]))
    return out


def xlsx_bytes(title: str, data: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for name, header, rows in tables(data):
        ws = wb.create_sheet(name)
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append(header)
        for cell in ws[2]:
            cell.font = Font(bold=True)
        for r in rows:
            ws.append([_fmt(v) for v in r])
        ws.freeze_panes = "A3"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(title: str, data: dict) -> bytes:
    """UTF-8 with a BOM; the sheets one after the other, each under its name."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([title])
    for name, header, rows in tables(data):
        w.writerow([])
        w.writerow([name])
        w.writerow(header)
        for r in rows:
            w.writerow([_fmt(v) for v in r])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, font_path(), subfontIndex=0))


def pdf_bytes(title: str, data: dict, *, charts: list[tuple[str, list[tuple[str, float]]]] | None = None,
              max_rows: int = 300) -> bytes:
    """A4 landscape: title, bar charts (label, value), then each table (the entries' first
    `max_rows`; the XLSX and CSV have them all)."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _register_font()
    h1 = ParagraphStyle("h1", fontName=FONT_NAME, fontSize=16, leading=22, spaceAfter=8)
    h2 = ParagraphStyle("h2", fontName=FONT_NAME, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4)
    story = [Paragraph(title, h1)]
    for name, points in charts or []:
        if not points:
            continue
        points = points[:15]
        d = Drawing(700, 30 + 16 * len(points))
        chart = HorizontalBarChart()
        chart.x, chart.y, chart.width, chart.height = 160, 10, 500, 14 * len(points)
        chart.data = [[v for _, v in reversed(points)]]
        chart.categoryAxis.categoryNames = [lbl for lbl, _ in reversed(points)]
        chart.categoryAxis.labels.fontName = FONT_NAME
        chart.categoryAxis.labels.fontSize = 7
        chart.valueAxis.labels.fontName = FONT_NAME
        chart.valueAxis.labels.fontSize = 7
        chart.bars[0].fillColor = colors.HexColor("#3b82f6")
        d.add(chart)
        d.add(String(160, 20 + 14 * len(points), name, fontName=FONT_NAME, fontSize=9))
        story += [Paragraph(name, h2), d]
    for name, header, rows in tables(data):
        limit = max_rows if name == "记分明细" else 2000
        story.append(Paragraph(f"{name}（{len(rows)}）" + (f"，前{limit}行" if len(rows) > limit else ""), h2))
        # Plain strings in the embedded font (a Paragraph per cell is ten times slower).
        cells = [[str(h) for h in header]] + [[str(_fmt(v))[:40] for v in r] for r in rows[:limit]]
        tbl = Table(cells, repeatRows=1)
        tbl.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT_NAME), ("FONTSIZE", (0, 0), (-1, -1), 7),
                                 ("LEADING", (0, 0), (-1, -1), 8),
                                 ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                                 ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e5e7eb")),
                                 ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story += [tbl, Spacer(1, 6)]
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), title=title, leftMargin=24, rightMargin=24, topMargin=24,
                            bottomMargin=24)
    doc.build(story)
    return buf.getvalue()


def charts_of(data: dict) -> list[tuple[str, list[tuple[str, float]]]]:
    """The PDF's charts: lowest-scoring people and units, points by rule."""
    people = sorted(data.get("people") or [], key=lambda p: p["score"])[:15]
    units = sorted(data.get("units") or [], key=lambda u: u["score"])[:15]
    out = [("得分最低的人员", [(p["name"], p["score"]) for p in people]),
           ("单位得分", [(u["name"], u["score"]) for u in units])]
    if data.get("by_rule"):
        out.append(("各规则记分合计", [(k, abs(v)) for k, v in data["by_rule"].items()]))
    return out
