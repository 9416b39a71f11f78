"""GET /reports filters (django-filter): each narrows what the caller may read, never widens it.

The malformed values (unknown category or unit, bad dates, years out of range, NUL, end before
start) are in the catalogue (test_bad_input_catalogue.py); here the filters' meaning, the
permission scoping under them, who may search by a reporter's name, and the schema.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from drf_spectacular.generators import SchemaGenerator

from gisgrid.incidents.models import Category, Report
from gisgrid.incidents.report_api import in_category, matching_text, routed_to, searches_reporters
from gisgrid.incidents.reports import create_report

TZ = ZoneInfo("Asia/Shanghai")
SEAT = (110.1449, 35.2385)  # 城关街道 610524001
ELSEWHERE = (110.25, 35.05)


def _file(category: str, point=SEAT, *, name: str = "赵举报", phone: str = "13700001111", description: str = "",
          address: str = "", at: dt.datetime | None = None) -> Report:
    r = create_report(user=None, category=Category.objects.get(code=category), lon=point[0], lat=point[1],
                      crs="wgs84", reporter_name=name, reporter_phone=phone, description=description, address=address)
    if at is not None:  # created_at is auto_now_add: set the time the test needs afterwards
        Report.objects.filter(pk=r.pk).update(created_at=at)
    return r


@pytest.fixture
def filed(heyang_db) -> dict[str, Report]:
    return {
        # lead 县城市管理执法局 (D-CGJ, the demo unit staff's unit)
        "stall": _file("E0501", description="占道经营水果摊", address="凤凰东路",
                       at=dt.datetime(2026, 5, 1, 9, 0, tzinfo=TZ)),
        # lead 县住房和城乡建设局 (D-ZJJ), assisted by 渭南市生态环境局合阳分局
        "noise": _file("E0301", ELSEWHERE, name="孙群众", phone="13600002222", description="夜间施工",
                       at=dt.datetime(2026, 5, 2, 23, 30, tzinfo=TZ)),
        # lead D-CGJ, assisted by D-ZJJ and 县自然资源局
        "shed": _file("E0101", description="私搭棚屋", at=dt.datetime(2026, 5, 3, 8, 0, tzinfo=TZ)),
    }


def _ids(client, **params) -> set[int]:
    r = client.get("/api/v1/reports", params)
    assert r.status_code == 200, r.content
    return {x["id"] for x in r.json()}


def test_each_filter_narrows(filed, client_as):
    c = client_as("dispatcher")
    stall, noise, shed = filed["stall"].pk, filed["noise"].pk, filed["shed"].pk
    assert {stall, noise, shed} <= _ids(c)
    Report.objects.filter(pk=shed).update(status=Report.Status.CLOSED)
    assert {stall, noise, shed} & _ids(c, status="closed") == {shed}
    assert {stall, noise, shed} & _ids(c, status="open") == {stall, noise}
    assert _ids(c, category="E0301") == {noise}
    assert _ids(c, category="E01") == {shed}  # a class includes its sub-categories
    assert _ids(c, grid="610524001") == {stall, shed}
    level3 = Report.objects.get(pk=stall).level3_code
    assert level3 and stall in _ids(c, grid=level3) and noise not in _ids(c, grid=level3)
    assert _ids(c, unit="D-CGJ") == {stall, shed}
    assert _ids(c, unit="D-ZJJ") == {noise, shed}  # lead or assisting
    # Naive times are Asia/Shanghai: 2026-05-02T23:30 there is 15:30 UTC.
    assert _ids(c, created_after="2026-05-02T23:30") == {noise, shed}
    assert _ids(c, created_after="2026-05-02T15:30:00Z", created_before="2026-05-03T08:00") == {noise}
    assert _ids(c, created_before="2026-05-02") == {stall}
    assert _ids(c, text="水果") == {stall}
    assert _ids(c, text="凤凰东路") == {stall}
    assert _ids(c, text="施工扰民") == {noise}  # the category's name
    assert _ids(c, unit="D-CGJ", category="E0101", created_after="2026-05-03") == {shed}


def test_filters_never_widen_what_unit_staff_read(filed, client_as):
    c = client_as("unitstaff")  # 县城市管理执法局: reads stall and shed, never noise
    stall, noise, shed = filed["stall"].pk, filed["noise"].pk, filed["shed"].pk
    assert _ids(c) == {stall, shed}
    assert _ids(c, unit="D-ZJJ") == {shed}
    assert _ids(c, category="E0301") == set()
    assert noise not in _ids(c) and _ids(c, text="夜间施工") == set()
    assert _ids(c, text="孙群众") == set()
    listing = c.get("/api/v1/reports", {"unit": "D-ZJJ"}).json()
    assert listing[0]["reporter"]["phone"] == "13700001111"  # their unit's report: the reporter shown


def test_only_roles_that_see_reporters_search_by_them(filed, client_as):
    stall = filed["stall"].pk
    assert _ids(client_as("dispatcher"), text="赵举报") >= {stall}
    assert _ids(client_as("dispatcher"), text="13700001111") >= {stall}
    assert stall in _ids(client_as("unitstaff"), text="赵举报")
    for who in ("gridmember", "inspector"):
        c = client_as(who)
        # A grid member reads the report but may not learn who filed it, not even by searching.
        assert stall in _ids(c)
        assert _ids(c, text="赵举报") == set()
        assert _ids(c, text="13700001111") == set()
        assert _ids(c, text="水果摊") == {stall}
    users = {u: User.objects.get(username=u) for u in ("admin", "dispatcher", "gridchief", "unitstaff",
                                                       "gridmember", "inspector", "planner")}
    assert {u for u, user in users.items() if searches_reporters(user)} == {"admin", "dispatcher", "gridchief",
                                                                           "unitstaff"}


def test_the_rules_as_plain_functions(filed, heyang_db):
    stall, noise, shed = filed["stall"], filed["noise"], filed["shed"]
    qs = Report.objects.all()
    assert set(in_category(qs, Category.objects.get(code="E05"))) >= {stall}
    assert noise not in set(in_category(qs, Category.objects.get(code="E05")))
    zjj = noise.lead_unit
    assert set(routed_to(qs, zjj)) >= {noise, shed} and stall not in set(routed_to(qs, zjj))
    # A report assisted by a unit and led by it would not come twice (subquery, not a join).
    assert list(routed_to(qs, shed.lead_unit)).count(shed) == 1
    grid_member = User.objects.get(username="gridmember")
    assert set(matching_text(qs, "赵举报", User.objects.get(username="dispatcher"))) >= {stall, shed}
    assert set(matching_text(qs, "赵举报", grid_member)) == set()


def test_undeclared_method_is_405_and_html_asked_gets_json(filed, client_as):
    c = client_as("admin")
    r = c.put("/api/v1/reports", {}, format="json")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    assert client_as(None).delete(f"/api/v1/reports/{filed['stall'].pk}").status_code == 405
    r = c.get("/api/v1/reports", HTTP_ACCEPT="text/html")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/json")


def test_the_schema_lists_the_filters():
    op = SchemaGenerator().get_schema(request=None, public=True)["paths"]["/api/v1/reports"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert {"status", "category", "grid", "unit", "created_after", "created_before", "text"} <= set(params)
    assert params["status"]["schema"]["enum"] == ["closed", "open"]
    assert params["created_after"]["schema"]["format"] == "date-time"
    assert all(params[n].get("description") for n in ("category", "grid", "unit", "text"))
