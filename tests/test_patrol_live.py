"""Last known positions, track replay and sessions over the API, with who may see what."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from gisgrid.boundaries.models import Person
from gisgrid.patrols.ingest import auth, pipeline
from gisgrid.patrols.ingest.records import Fix
from gisgrid.patrols.models import Device

TOWN = (110.1496, 35.2377)


@pytest.fixture
def people(heyang_db):
    """The demo inspector and grid member linked to people, each with a phone and a walk."""
    inspector = Person.objects.filter(role="inspector").order_by("pk").first()
    member = Person.objects.filter(role="grid_member").order_by("pk").first()
    inspector.user = User.objects.get(username="inspector")
    inspector.save()
    member.user = User.objects.get(username="gridmember")
    member.save()
    start = timezone.now() - dt.timedelta(hours=1)
    for person, ident, offset in ((inspector, "insp-phone", 0.0), (member, "member-phone", 0.003)):
        dev = Device(identifier=ident, person=person)
        auth.set_token(dev)
        dev.save()
        # two runs of 2 minutes 30 minutes apart
        fixes = [Fix(ident, TOWN[1] + offset, TOWN[0] + i * 1e-4, start + dt.timedelta(seconds=10 * i), battery=60)
                 for i in range(12)]
        fixes += [Fix(ident, TOWN[1] + offset, TOWN[0] + 0.002 + i * 1e-4,
                      start + dt.timedelta(minutes=30, seconds=10 * i), battery=55) for i in range(12)]
        pipeline.ingest(fixes, {ident: dev}, source="batch")
    return {"inspector": inspector, "member": member, "start": start}


def period(p, hours=2):
    return {"start": (p["start"] - dt.timedelta(minutes=5)).isoformat(),
            "end": (p["start"] + dt.timedelta(hours=hours)).isoformat()}


def test_live_lists_last_position_per_person(people, client_as):
    r = client_as("dispatcher").get("/api/v1/patrols/live")
    assert r.status_code == 200
    by_name = {p["person"]["name"]: p for p in r.json()["people"]}
    me = by_name[people["inspector"].name]
    assert me["device"] == "insp-phone" and me["battery"] == 55
    assert me["lon"] == pytest.approx(TOWN[0] + 0.002 + 11e-4)
    assert me["grids"][0]["code"] == "610524001" and me["grids"][0]["name"] == "城关街道"
    assert 25 * 60 < me["age_s"] < 35 * 60  # last fix: 31 min 50 s after a start 1 h ago
    r = client_as("dispatcher").get("/api/v1/patrols/live", {"role": "grid_member"})
    assert [p["person"]["name"] for p in r.json()["people"]] == [people["member"].name]


def test_grid_member_sees_only_themself(people, client_as):
    r = client_as("gridmember").get("/api/v1/patrols/live")
    assert [p["person"]["name"] for p in r.json()["people"]] == [people["member"].name]
    r = client_as("gridmember").get("/api/v1/patrols/track", {"person": "inspector", **period(people)})
    assert r.status_code == 403
    r = client_as("gridmember").get("/api/v1/patrols/track", {"person": "gridmember", **period(people)})
    assert r.status_code == 200


@pytest.mark.parametrize("who,status", [(None, 401), ("planner", 403), ("unitstaff", 403)])
def test_live_refuses_roles_without_business(people, client_as, anon_client, who, status):
    client = anon_client if who is None else client_as(who)
    assert client.get("/api/v1/patrols/live").status_code == status


def test_track_replay_has_a_time_per_vertex_and_splits_at_the_pause(people, client_as):
    r = client_as("gridchief").get("/api/v1/patrols/track", {"person": people["inspector"].pk, **period(people)})
    assert r.status_code == 200
    body = r.json()
    assert body["person"]["name"] == people["inspector"].name
    assert len(body["features"]) == 2
    f = body["features"][0]
    assert f["geometry"]["type"] == "LineString" and len(f["geometry"]["coordinates"]) == 12
    assert len(f["properties"]["times"]) == 12
    assert f["properties"]["times"][1] - f["properties"]["times"][0] == 10_000
    assert f["properties"]["duration_s"] == 110
    assert f["properties"]["distance_m"] == pytest.approx(11 * 1e-4 * 111_320 * 0.8166, rel=0.01)


def test_sessions_endpoint_rebuilds_and_lists(people, client_as):
    r = client_as("inspector").get("/api/v1/patrols/sessions", {"person": "inspector", **period(people)})
    assert r.status_code == 200
    s = r.json()["sessions"]
    assert [x["fixes"] for x in s] == [12, 12]
    assert s[0]["line"]["type"] == "LineString"
    assert s[0]["person"]["name"] == people["inspector"].name


@pytest.mark.parametrize("params,field", [
    ({"person": "inspector", "start": "yesterday", "end": "2026-11-29T10:00:00"}, "start"),
    ({"person": "inspector", "start": "2026-11-29T10:00:00", "end": "2026-11-29T09:00:00"}, "end"),
    ({"person": "inspector", "start": "2026-11-01", "end": "2026-11-20"}, "end"),
    ({"person": "nobody-at-all", "start": "2026-11-29", "end": "2026-11-30"}, "person"),
    ({"start": "2026-11-29", "end": "2026-11-30"}, "person"),
])
def test_track_bad_parameters_name_the_field(people, client_as, params, field):
    r = client_as("dispatcher").get("/api/v1/patrols/track", params)
    assert r.status_code == 400
    assert field in r.json()["fields"]


def test_admin_lists_patrol_data_and_issues_a_token_once(people):
    from django.test import Client

    from gisgrid.audit.models import AuditEntry
    from gisgrid.patrols.models import Position

    c = Client()
    c.force_login(User.objects.get(username="admin"))
    for url in ("/admin/patrols/device/", "/admin/patrols/position/", "/admin/patrols/rejectedposition/",
                "/admin/patrols/patrolsession/"):
        assert c.get(url).status_code == 200, url
    pos = Position.objects.first()
    assert c.get(f"/admin/patrols/position/{pos.pk}/change/").status_code == 200
    dev = Device.objects.get(identifier="insp-phone")
    old = dev.token_hash
    r = c.post("/admin/patrols/device/", {"action": "issue_token", "_selected_action": [dev.pk]}, follow=True)
    token = next(str(m).split(": ", 1)[1] for m in r.context["messages"] if str(m).startswith("insp-phone"))
    dev.refresh_from_db()
    assert dev.token_hash != old and auth.authenticate(["insp-phone"], token)["insp-phone"] == dev
    assert dev.token_hash == auth.hash_token(token) != token  # only the hash is kept
    assert AuditEntry.objects.filter(action="device.token_rotated", object_id=str(dev.pk)).exists()
