"""Reports are routed when filed; the routing and the reporter's personal data are guarded by role."""

from __future__ import annotations

from gisgrid.audit.models import AuditEntry
from gisgrid.boundaries.datums import wgs84_to_gcj02
from gisgrid.incidents.models import Report

SEAT = (110.1449, 35.2385)


def _file(client, **over):
    body = {"category": "E0501", "lon": SEAT[0], "lat": SEAT[1], "crs": "wgs84", "reporter_name": "王网格",
            "reporter_phone": "13912345678", "description": "占道经营 <b>水果摊</b>", "address": "凤凰东路"}
    body.update(over)
    return client.post("/api/v1/reports", body, format="json")


def test_grid_member_files_a_gcj02_report_and_it_is_routed(client_as):
    glon, glat = wgs84_to_gcj02(*SEAT)
    r = _file(client_as("gridmember"), lon=float(glon), lat=float(glat), crs="gcj02")
    assert r.status_code == 201, r.content
    body = r.json()
    rep = Report.objects.get(pk=body["id"])
    assert rep.raw_crs == "gcj02" and abs(rep.raw_lon - float(glon)) < 1e-12  # the raw input is kept
    assert abs(rep.point.x - SEAT[0]) < 1e-6 and abs(rep.point.y - SEAT[1]) < 1e-6
    assert body["routing"]["grids"]["level1"] == "610524001"
    assert body["routing"]["lead_unit"]["name"] == "县城市管理执法局"
    assert body["routing"]["limit_working_days"] == 0
    assert "reporter" not in body  # a grid member does not see reporters' personal data
    assert AuditEntry.objects.filter(action="report.create", object_id=str(rep.pk)).exists()


def test_personal_data_only_for_roles_that_need_it(client_as):
    rid = _file(client_as("inspector")).json()["id"]
    for user, sees in (("dispatcher", True), ("admin", True), ("gridchief", True), ("unitstaff", True),
                       ("gridmember", False), ("inspector", False)):
        r = client_as(user).get(f"/api/v1/reports/{rid}")
        assert r.status_code == 200
        assert ("13912345678" in r.content.decode()) is sees, user
        assert ("王网格" in r.content.decode()) is sees, user
    assert client_as(None).get(f"/api/v1/reports/{rid}").status_code == 401
    assert client_as("planner").post("/api/v1/reports", {}, format="json").status_code == 403


def test_bad_reports_are_400_and_store_nothing(client_as):
    c = client_as("dispatcher")
    before = Report.objects.count()
    for over, field in (({"category": "ZZ99"}, "category"), ({"lat": 110.14, "lon": 35.23}, "lat"),
                        ({"crs": "gcj-02"}, "crs"), ({"lon": "east"}, "lon"), ({"reporter_name": ""}, "reporter_name"),
                        ({"reporter_phone": "call me"}, "reporter_phone"), ({"description": "x" * 4001}, "description")):
        r = _file(c, **over)
        assert r.status_code == 400, (over, r.content)
        assert field in r.json()["fields"], (over, r.json())
    assert Report.objects.count() == before


def test_list_filters_by_grid(client_as):
    c = client_as("dispatcher")
    _file(c)
    _file(c, lon=110.25, lat=35.05)
    r = c.get("/api/v1/reports", {"grid": "610524001"})
    assert r.status_code == 200 and len(r.json()) == 1
    assert c.get("/api/v1/reports", {"grid": "61x"}).status_code == 400
    assert c.get("/api/v1/reports", {"status": "weird"}).status_code == 400
