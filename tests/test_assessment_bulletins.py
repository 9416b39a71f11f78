"""Bulletins and downloads over the scripted month (tests/test_assessment_scores.py): an issued
bulletin is a frozen snapshot a later correction leaves unchanged (the correction goes into the
next one); issuing waits for a running recompute; the PDF's text (pdftotext) holds the Chinese
titles and the numbers; the XLSX reads back with openpyxl; the CSV has its BOM; bad input is a
4xx naming the field."""

from __future__ import annotations

import io
import subprocess
import threading
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from openpyxl import load_workbook
from rest_framework.test import APIClient

from gisgrid.assessment import bulletins, computing, reports, scores
from gisgrid.assessment.models import Bulletin, Rule, ScoreEntry
from gisgrid.assessment.periods import Period
from tests.test_assessment_scores import NOV, NOW, Month, t

DEC = Period("month", date(2026, 12, 1), date(2026, 12, 31))
LATER = NOW.replace(day=2)


@pytest.fixture
def month(heyang_db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Month()


def api(username: str) -> APIClient:
    c = APIClient()
    c.force_authenticate(User.objects.get(username=username))
    return c


def score_of(rows: list[dict], person_id: int) -> float:
    return next(r["score"] for r in rows if r["person_id"] == person_id)


def test_a_frozen_bulletin_is_unchanged_by_a_later_correction(month):
    m = month
    admin = User.objects.get(username="admin")
    b = bulletins.issue(NOV, admin, now=NOW)
    issued = Bulletin.objects.get(pk=b.pk).snapshot
    assert b.title == "网格化管理考核月通报（2026年11月）"
    assert score_of(issued["people"], m.a.pk) == 91
    assert ScoreEntry.objects.filter(booked__lte=NOV.end, frozen=False).count() == 0
    # Corrections after the issue: the weight of a missed report doubles, and a complaint of
    # 28 November in A's grid is entered late.
    Rule.objects.filter(code="missed_report").update(points=Decimal("-2"))
    m.case("E0103", m.g1, t(11, 28, 9), "public")
    computing.recompute(NOV, now=LATER, patrol=False)
    # The issued bulletin and November's scores are as issued ...
    assert Bulletin.objects.get(pk=b.pk).snapshot == issued
    assert score_of(scores.person_scores(NOV, person_ids=[m.a.pk]), m.a.pk) == 91
    # ... the corrections are booked on 2 December, so the next bulletin carries them:
    # A's earlier missed report −1 more, the late one −2.
    corr = ScoreEntry.objects.filter(person=m.a, correction=True)
    assert sorted(float(e.points) for e in corr) == [-2.0, -1.0]
    assert {e.booked for e in corr} == {date(2026, 12, 2)}
    assert score_of(scores.person_scores(DEC, person_ids=[m.a.pk]), m.a.pk) == 97
    nxt = bulletins.snapshot(DEC, LATER)
    assert {e["rule"] for e in nxt["corrections"] if e["person_id"] == m.a.pk} == {"missed_report"}
    # A second recompute changes nothing, and the bulletin cannot be issued again.
    before = sorted(ScoreEntry.objects.values_list("key", "points", "booked", "frozen"))
    computing.recompute(NOV, now=LATER, patrol=False)
    assert sorted(ScoreEntry.objects.values_list("key", "points", "booked", "frozen")) == before
    r = api("dispatcher").post("/api/v1/assessment/bulletins", {"kind": "month", "start": "2026-11-05"},
                               format="json")
    assert r.status_code == 409 and r.json()["error"] == "already_issued"


def test_issuing_waits_for_a_running_recompute(month):
    """A recompute holds the assessment lock for its whole transaction; the bulletin's snapshot
    is taken only once it has the lock, so it sees all of a recompute or none of it. (The lock
    is a transaction's: this test's connection must not take it before the other one does.)"""
    order: list[str] = []
    held, release = threading.Event(), threading.Event()
    db = connection.settings_dict

    def recompute_elsewhere():
        import psycopg

        with psycopg.connect(dbname=db["NAME"], host=db["HOST"] or None, port=db["PORT"] or None,
                             user=db["USER"] or None, password=db["PASSWORD"] or None, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(%s)", [computing.LOCK_KEY])
            held.set()
            release.wait(30)
            order.append("recompute done")
            other.execute("SELECT pg_advisory_unlock(%s)", [computing.LOCK_KEY])

    th = threading.Thread(target=recompute_elsewhere)
    th.start()
    assert held.wait(30)
    issuing = threading.Timer(0.5, release.set)
    issuing.start()
    b = bulletins.issue(NOV, User.objects.get(username="admin"), now=NOW, recompute=False)
    order.append("issued")
    th.join(30)
    issuing.join()
    assert order == ["recompute done", "issued"]
    assert b.snapshot["people_total"] > 0


def test_downloads_pdf_xlsx_csv(month, tmp_path):
    m = month
    b = bulletins.issue(NOV, User.objects.get(username="admin"), now=NOW)
    c = api("dispatcher")
    r = c.get(f"/api/v1/assessment/bulletins/{b.pk}/download?type=pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    pdf = tmp_path / "b.pdf"
    pdf.write_bytes(r.content)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "网格化管理考核月通报" in text and "人员排名" in text and "单位排名" in text
    line = next(ln for ln in text.splitlines() if "甲网格员" in ln)
    assert "91" in line
    unit_line = next(ln for ln in text.splitlines() if "县城市管理执法局" in ln and "39.83" in ln)
    assert unit_line
    r = c.get(f"/api/v1/assessment/bulletins/{b.pk}/download?type=xlsx")
    wb = load_workbook(io.BytesIO(r.content))
    ws = wb["人员排名"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == b.title and rows[1][1] == "姓名"
    mine = next(row for row in rows if row[1] == "甲网格员")
    assert mine[4] == 91 and mine[6] == -10
    units = {row[1]: row[2] for row in wb["单位排名"].iter_rows(min_row=3, values_only=True)}
    assert units["县住房和城乡建设局"] == 95 and units["县水务局"] == 99
    r = c.get(f"/api/v1/assessment/bulletins/{b.pk}/download?type=csv")
    raw = r.content
    assert raw.startswith(b"\xef\xbb\xbf") and "甲网格员".encode() in raw
    # A report of the month: kept with its three files, announced in the inbox, downloadable.
    rf = reports.generate(NOV, now=NOW)
    assert rf.data["summary"]["新上报案件"] >= 7
    r = c.get(f"/api/v1/assessment/reports/{rf.pk}/download?type=pdf")
    pdf.write_bytes(r.content)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "网格化管理月报（2026年11月）" in text and "新上报案件" in text
    assert m.a.name in text
    from gisgrid.cases.models import Notice

    assert Notice.objects.filter(kind="assessment_report", recipient_role="dispatcher").exists()


@pytest.mark.parametrize(("url", "data", "field"), [
    ("/api/v1/assessment/scores?kind=special&start=2026-11-10&end=2026-11-01", None, "end"),
    ("/api/v1/assessment/scores?kind=month&start=2099-01-01", None, "start"),
    ("/api/v1/assessment/scores?kind=fortnight&start=2026-11-01", None, "kind"),
    ("/api/v1/assessment/scores?kind=month&start=11/2026", None, "start"),
    ("/api/v1/assessment/entries?kind=month&start=2026-11-01&person=abc", None, "person"),
    ("/api/v1/assessment/rules/missed_report", {"points": "abc"}, "points"),
    ("/api/v1/assessment/rules/missed_report", {"points": "NaN"}, "points"),
    ("/api/v1/assessment/rules/missed_report", {"points": 1000}, "points"),
    ("/api/v1/assessment/rules/closure_rate", {"threshold": "ninety"}, "threshold"),
    ("/api/v1/assessment/recompute", {"kind": "month", "start": "2026-11-30", "end": "2026-01-01"}, "end"),
    ("/api/v1/assessment/recompute", {"kind": "special", "start": "2026-11-30", "end": "2026-11-01"}, "end"),
    ("/api/v1/assessment/bulletins", {"kind": "month", "start": "2099-01-01"}, "start"),
    ("/api/v1/assessment/reports", {"kind": "special", "start": "2026-11-01", "end": "2026-11-30", "grid": "x"},
     "grid"),
])
def test_bad_input_is_a_400_naming_the_field(url, data, field, heyang_db):
    c = api("admin")
    r = c.get(url) if data is None else c.post(url, data, format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()["fields"], r.json()


def test_rule_weight_changes_through_the_api(heyang_db):
    r = api("admin").post("/api/v1/assessment/rules/holiday_report", {"points": "2"}, format="json")
    assert r.status_code == 200 and r.json()["points"] == 2
    assert Rule.objects.get(code="holiday_report").points == 2
    assert api("dispatcher").post("/api/v1/assessment/rules/holiday_report", {"points": "3"},
                                  format="json").status_code == 403
