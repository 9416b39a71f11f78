"""Schemathesis over every operation of /api/schema/, as anonymous and as each role.

The operations come from the schema itself, so a new endpoint is fuzzed without anyone adding
it here. Each operation and caller gets a few seeded cases (Hypothesis `derandomize`), valid
and invalid ones, sent through the WSGI application in this process (no server) inside the
test's transaction, so whatever the cases write (drafts, reports, a publish) is rolled back.
Two checks: no 5xx, and every answer matches the schema for its status (200s their typed
bodies, errors the shared ApiError). Whatever the fuzzer once found is below as a plain test.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from gisgrid.boundaries import editions
from gisgrid.boundaries.models import Grid, Person
from gisgrid.incidents.models import Category
from gisgrid.incidents.reports import create_report
from gisgrid.patrols.ingest import auth
from gisgrid.patrols.models import Device
from gisgrid.wsgi import application

ROLES = ("admin", "dispatcher", "unitstaff", "gridmember", "inspector", "gridchief", "planner")
# "device": a registered phone's token (X-Device-Token), the caller the track endpoints expect.
PRINCIPALS = ("anonymous", *ROLES, "device")
DEVICE = "fuzz-phone"
# Small enough that the module runs in a few minutes on two cores; seeded, so every run sends
# the same cases and a failure is reproduced by running the test again.
EXAMPLES = 15

SCHEMA = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
SCHEMA.app = application
OPERATIONS = sorted((op.ok().path, op.ok().method.upper()) for op in SCHEMA.get_all_operations())


@pytest.fixture
def wsgi_in_test_transaction(heyang_db):
    """Django closes a connection in a transaction at each request's start and end (it looks
    unusable to it); the test client unhooks that, and so do we for the WSGI app."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _known_path_parameters(path: str, method: str) -> dict | None:
    """Real ids for the path, so that cases reach past the 404 of a random id: the active
    edition (a fresh draft for edits), a level-3 grid, a report filed here."""
    active = editions.active_edition()
    grid = Grid.objects.filter(edition=active, level=3).order_by("code").first()
    if "{code}" in path:
        return {"code": grid.code}
    if path.startswith("/api/v1/editions/{id}"):
        return {"id": editions.create_draft("fuzz").pk if method == "POST" else active.pk}
    if path.startswith("/api/v1/reports/{id}"):
        spot = grid.geom.point_on_surface
        report = create_report(user=None, category=Category.objects.get(code="E0501"), lon=spot.x, lat=spot.y,
                               crs="wgs84", reporter_name="模糊测试", reporter_phone="13900000000")
        return {"id": report.pk}
    return None


def _known_query(path: str, principal: str) -> dict | None:
    """Query parameters that get a case past the first 400 (a period, a matter, a device id)."""
    now = timezone.localtime().replace(microsecond=0)
    period = {"start": (now - dt.timedelta(days=2)).isoformat(), "end": now.isoformat()}
    return {
        "/api/v1/patrols/coverage": period,
        "/api/v1/patrols/schedule": period,
        "/api/v1/patrols/sessions": period,
        "/api/v1/patrols/track": {**period, "person": "inspector"},
        "/api/v1/route": {"category": "E0501"},
        "/api/v1/geocode": {"q": "泰山社区"},
        "/api/v1/track/osmand": {"id": DEVICE} if principal == "device" else None,
    }.get(path)


def _headers(principal: str) -> dict[str, str]:
    if principal == "anonymous":
        return {}
    if principal == "device":
        device = Device(identifier=DEVICE, person=Person.objects.filter(role="inspector").order_by("pk").first())
        token = auth.set_token(device)
        device.save()
        return {"X-Device-Token": token}
    token, _ = Token.objects.get_or_create(user=User.objects.get(username=principal))
    return {"Authorization": f"Token {token.key}"}


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_fuzz(path: str, method: str, principal: str, wsgi_in_test_transaction):
    operation = SCHEMA[path][method]
    headers = _headers(principal)
    strategies = [operation.as_strategy(generation_mode=mode) for mode in GenerationMode]
    known, query = _known_path_parameters(path, method), _known_query(path, principal)
    if known or query:
        strategies.append(operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=known,
                                                query=query))
    cases = st.one_of(strategies)

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def run(case):
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance],
                               headers=headers)

    run()


# -- what the fuzzer found: plain regression tests ----------------------------------------------


def _json(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return json.loads(response.content)


def test_harness_sends_each_callers_token(wsgi_in_test_transaction):
    """The fuzzer's calls carry the role's token: a supervisor reads the devices, others are refused."""
    operation = SCHEMA["/api/v1/track/devices"]["GET"]
    assert operation.Case().call(headers=_headers("dispatcher")).status_code == 200
    assert operation.Case().call(headers=_headers("planner")).status_code == 403
    assert operation.Case().call(headers=_headers("anonymous")).status_code == 401


def _admin() -> Client:
    client = Client()
    client.force_login(User.objects.get(username="admin"))
    return client


def _deep(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


NUL_QUERIES = [
    pytest.param("/api/v1/grids/6105%00", id="grid-code"),
    pytest.param("/api/v1/geocode?q=%E6%B3%B0%00", id="geocode-q"),
    pytest.param("/api/v1/route?lon=110.15&lat=35.24&category=E05%0001", id="route-category"),
    pytest.param("/api/v1/track/rejected?device=a%00b", id="rejected-device"),
    pytest.param("/api/v1/reports?grid=6105%00", id="reports-grid"),
    pytest.param("/api/v1/patrols/coverage?start=2026-01-01%00&end=2026-01-02", id="coverage-start"),
    pytest.param("/api/v1/patrols/track?person=a%00&start=2026-01-01&end=2026-01-02", id="track-person"),
]


@pytest.mark.parametrize("url", NUL_QUERIES)
def test_nul_byte_in_a_parameter_is_a_4xx(url: str, heyang_db):
    # PostgreSQL refuses NUL in text; the value must be refused before it reaches a query.
    response = _admin().get(url)
    assert 400 <= response.status_code < 500, (url, response.status_code)
    assert _json(response)["error"]


DEEP_BODIES = [
    pytest.param("/api/v1/locate", True, id="locate"),
    pytest.param("/api/v1/reports", True, id="reports"),
    pytest.param("/api/v1/editions", True, id="editions"),
    pytest.param("/api/v1/track/positions", False, id="positions"),
    pytest.param("/api/v1/track/osmand", False, id="osmand-json"),
]


@pytest.mark.parametrize(("url", "signed_in"), DEEP_BODIES)
def test_deeply_nested_json_is_a_4xx(url: str, signed_in: bool, heyang_db):
    client = _admin() if signed_in else Client()
    response = client.post(url, _deep(), content_type="application/json")
    assert 400 <= response.status_code < 500, (url, response.status_code)
    assert _json(response)["error"]


@pytest.mark.parametrize("url", ["/api/v1/locate", "/api/v1/track/positions"])
def test_integer_beyond_a_float_is_a_4xx(url: str, heyang_db):
    huge = "1" + "0" * 400
    body = (f'{{"points": [[{huge}, 35.2]]}}' if url.endswith("locate") else
            f'{{"device_id": "x", "token": "y", "positions": [{{"time": 1, "lat": {huge}, "lon": 110}}]}}')
    response = _admin().post(url, body, content_type="application/json")
    assert 400 <= response.status_code < 500, (url, response.status_code)
    assert _json(response)["error"]


def test_float_overflow_literal_is_a_4xx(heyang_db):
    response = _admin().post("/api/v1/locate", '{"points": [[1e400, 35.2]]}', content_type="application/json")
    assert response.status_code == 400
    assert "points" in _json(response)["fields"]


def test_far_away_point_answers_outside(heyang_db):
    # The county's metric projection gives infinity this far out: the distance is measured on
    # the ellipsoid instead (boundaries/proximity.py), about 10,466 km to the nearest grid.
    response = Client().get("/api/v1/locate?lon=15&lat=0")
    assert response.status_code == 200
    body = _json(response)
    assert body["status"] == "outside"
    assert 10_000_000 < body["nearest"]["distance_m"] < 11_000_000


def test_import_with_level_abc_is_a_400(heyang_db):
    draft = editions.create_draft("fuzz import")
    layer = b'{"type": "FeatureCollection", "features": []}'
    response = _admin().post(f"/api/v1/editions/{draft.pk}/import",
                             {"file": SimpleUploadedFile("l.geojson", layer), "version": draft.version, "level": "abc"})
    assert response.status_code == 400
    assert "level" in _json(response)["fields"]


def test_nul_byte_in_a_multipart_report_category_is_a_400(heyang_db):
    response = _admin().post("/api/v1/reports", {"category": "E05\x0001", "lon": "110.15", "lat": "35.24",
                                                 "reporter_name": "张三"})
    assert response.status_code == 400
    assert "category" in _json(response)["fields"]


@pytest.mark.parametrize("field", ["device", "person"])
def test_nul_byte_in_a_gpx_upload_field_is_a_400(field: str, heyang_db):
    gpx = SimpleUploadedFile("t.gpx", b"<gpx></gpx>", content_type="application/gpx+xml")
    response = _admin().post("/api/v1/track/gpx", {"file": gpx, field: "a\x00b"})
    assert response.status_code == 400
    assert field in _json(response)["fields"]


def test_deeply_nested_geometry_string_in_an_edit_is_a_400(heyang_db):
    draft = editions.create_draft("fuzz edit")
    body = {"code": "610524001027004", "geometry": _deep(), "version": draft.version}
    response = _admin().post(f"/api/v1/editions/{draft.pk}/assign", body, content_type="application/json")
    assert response.status_code == 400
    assert "geometry" in _json(response)["fields"]


def test_overlong_api_url_answers_json(heyang_db):
    response = Client().get("/api/v1/geocode?q=" + "泰" * 20_000)
    assert 400 <= response.status_code < 500
    assert _json(response)["error"]
