"""Probes of the assessment's rules for tests/test_permission_matrix.py (which calls
`assessment_probe` for every cell), and a check that a grid member's "own" answer holds only
their own rows."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from gisgrid.accounts import policy
from gisgrid.assessment.models import Bulletin, ReportFile
from tests.test_permission_matrix import Probe, World, _client, _send

API = "/api/v1/assessment/"


def _last_month() -> tuple[date, date]:
    first = timezone.localdate().replace(day=1)
    end = first - timedelta(days=1)
    return end.replace(day=1), end


def _bulletin(w: World) -> Bulletin:
    def make():
        start, end = _last_month()
        return Bulletin.objects.create(kind="month", start=start, end=end, title="矩阵通报", issued_at=timezone.now(),
                                       snapshot={"people": [], "units": [], "entries": []})
    return w._once("assessment-bulletin", make)


def _report(w: World) -> ReportFile:
    def make():
        start, end = _last_month()
        return ReportFile.objects.create(kind="month", start=start, end=end, title="矩阵报表",
                                         created_at=timezone.now(), data={})
    return w._once("assessment-report", make)


def assessment_probe(rule: policy.Rule, w: World, principal: str) -> Probe | None:
    """The probe of one of the assessment's rules (None for any other rule)."""
    key = (rule.name, rule.method)
    start = timezone.localdate().replace(day=1).isoformat()
    if rule.name in ("assessment-scores", "assessment-quota"):
        path = "scores" if rule.name == "assessment-scores" else "quota"
        return Probe("GET", f"{API}{path}?kind=week&start={start}")
    if rule.name == "assessment-entries":
        person = w.person("gridmember") or w.person("inspector")
        return Probe("GET", f"{API}entries?kind=week&start={start}&person={person.pk}")
    if rule.name == "assessment-rules":
        return Probe("GET", API + "rules")
    if rule.name == "assessment-rule":
        return Probe("POST", API + "rules/quota_warning", {"points": "0"}, "json")
    if rule.name == "assessment-recompute":
        return Probe("POST", API + "recompute", {"kind": "day", "start": start}, "json")
    if key == ("assessment-bulletins", "GET"):
        return Probe("GET", API + "bulletins")
    if key == ("assessment-bulletins", "POST"):
        # Issuing recomputes a whole period; a running one is refused past the matrix (400 `end`).
        return Probe("POST", API + "bulletins", {"kind": "month", "start": timezone.localdate().isoformat()}, "json",
                     frozenset({400}), "end")
    if rule.name == "assessment-bulletin":
        return Probe("GET", f"{API}bulletins/{_bulletin(w).pk}")
    if rule.name == "assessment-bulletin-download":
        return Probe("GET", f"{API}bulletins/{_bulletin(w).pk}/download?type=csv")
    if key == ("assessment-reports", "GET"):
        return Probe("GET", API + "reports")
    if key == ("assessment-reports", "POST"):
        # A real report renders a PDF; an unknown unit is refused past the matrix (400 `unit`).
        return Probe("POST", API + "reports", {"kind": "day", "start": start, "unit": "NO-SUCH"}, "json",
                     frozenset({400}), "unit")
    if rule.name == "assessment-report":
        return Probe("GET", f"{API}reports/{_report(w).pk}")
    if rule.name == "assessment-report-download":
        # The matrix row has no files: past the matrix, the view answers 404 for the missing file.
        return Probe("GET", f"{API}reports/{_report(w).pk}/download?type=pdf", ok=frozenset({404}),
                     why="没有该报表")
    if rule.name in ("assessment", "assessment-reports-page"):
        w.person("gridmember")
        w.person("inspector")
        return Probe("GET", "/assessment/" if rule.name == "assessment" else "/assessment/reports/")
    if rule.name == "assessment-bulletin-page":
        return Probe("GET", f"/assessment/bulletins/{_bulletin(w).pk}/")
    return None


def test_a_grid_member_reads_only_their_own_rows(heyang_db):
    w = World()
    me = w.person("gridmember")
    other = w.person("inspector")
    start = timezone.localdate().replace(day=1).isoformat()
    client = _client("grid_member", api=True)
    body = _send(client, Probe("GET", f"{API}scores?kind=month&start={start}")).json()
    assert [p["person_id"] for p in body["people"]] == [me.pk] and body["units"] == []
    body = _send(client, Probe("GET", f"{API}entries?kind=month&start={start}&person={other.pk}")).json()
    assert body["entries"] == []
    assert User.objects.get(username="gridmember").person == me
