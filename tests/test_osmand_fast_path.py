"""The lean WSGI door for OsmAnd GETs (gisgrid/patrols/ingest_fast.py) answers every request
exactly as the DRF view does: the same status, the same JSON, the same headers that matter, and
the same rows stored. Each case is sent once through each door, by two devices registered alike
(so that the second door's fix is not the first one's duplicate)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone

from gisgrid.boundaries.models import Person
from gisgrid.patrols.ingest import auth
from gisgrid.patrols.ingest_fast import OSMAND_PATH, with_osmand_fast_path
from gisgrid.patrols.models import Device, Position, RejectedPosition

LON, LAT = 110.1496, 35.2377


pytestmark = pytest.mark.usefixtures("fresh_partitions")


@pytest.fixture
def phones(heyang_db) -> dict[str, tuple[Device, str]]:
    person = Person.objects.create(name="快速通道巡查员", role=Person.Role.INSPECTOR,
                                   user=User.objects.get(username="inspector"))
    out = {}
    for door in ("view", "fast"):
        d = Device(identifier=f"fast-path-{door}", person=person)
        token = auth.set_token(d)
        d.save()
        out[door] = (d, token)
    return out


def _never_called(environ, start_response):
    raise AssertionError(f"the fast path handed {environ['REQUEST_METHOD']} {environ['PATH_INFO']} to Django")


FAST = with_osmand_fast_path(_never_called)


@contextlib.contextmanager
def _keep_test_connection():
    """As Django's test Client does around a request: the request signals must not close the
    test's connection, which holds the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _via_fast_path(query: str, headers: dict[str, str] | None = None, host: str = "127.0.0.1"):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": OSMAND_PATH, "QUERY_STRING": query,
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": host,
               "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http", **(headers or {})}
    got = {}

    def start_response(status, header_list):
        got["status"] = int(status.split()[0])
        got["headers"] = dict(header_list)

    with _keep_test_connection():
        body = b"".join(FAST(environ, start_response))
    assert int(got["headers"]["Content-Length"]) == len(body)
    return got["status"], json.loads(body), got["headers"]


def _via_view(query: str, headers: dict[str, str] | None = None):
    r = Client().get(f"{OSMAND_PATH}?{query}", **(headers or {}))
    return r.status_code, r.json(), r.headers


def _cases(now: dt.datetime) -> list[tuple[str, dict, dict | None]]:
    t = int((now - dt.timedelta(minutes=3)).timestamp())
    good = {"lat": LAT, "lon": LON, "timestamp": t, "hdop": 5, "speed": 1.2, "bearing": 90}
    return [
        ("good fix", good, None),
        ("replayed fix", good, None),
        ("location=lat,lon and Beijing time without offset",
         {"location": f"{LAT},{LON + 0.001}",
          "timestamp": (now - dt.timedelta(minutes=2)).astimezone(dt.timezone(dt.timedelta(hours=8)))
          .strftime("%Y-%m-%d %H:%M:%S")}, None),
        ("malformed latitude (kept in quarantine: 200)", {**good, "timestamp": t + 10, "lat": "abc"}, None),
        ("ten minutes ahead", {**good, "timestamp": int((now + dt.timedelta(minutes=10)).timestamp())}, None),
        ("year 1 with +14:00", {**good, "timestamp": "0001-01-01T00:00:00+14:00"}, None),
        ("token in a Bearer header", {**good, "timestamp": t + 20}, {"bearer": True}),
        ("wrong token", {**good, "timestamp": t + 30}, {"token": "wrong"}),
        ("no token", {**good, "timestamp": t + 40}, {"token": None}),
        ("unknown device", {**good, "timestamp": t + 50}, {"id": "never-registered"}),
        ("NUL in the device id", {**good, "timestamp": t + 60}, {"id": "bad\x00id"}),
        ("no device id", {**good, "timestamp": t + 70}, {"id": None}),
    ]


def _request(door: str, phones, params: dict, how: dict | None) -> tuple[str, dict[str, str]]:
    device, token = phones[door]
    how = how or {}
    q = {"id": device.identifier, "token": token}
    headers = {}
    if "id" in how:
        q["id"] = how["id"]
    if how.get("bearer"):
        headers["HTTP_AUTHORIZATION"] = f"Bearer {q.pop('token')}"
    elif "token" in how:
        q["token"] = how["token"]
    q = {k: v for k, v in q.items() if v is not None}
    return urlencode({**q, **params}), headers


def _same(a, phones):
    """The answer with the device's own identifier made door-neutral."""
    text = json.dumps(a, ensure_ascii=False)
    for device, _token in phones.values():
        text = text.replace(device.identifier, "DEVICE")
    return json.loads(text)


def test_both_doors_answer_every_case_alike(phones):
    now = timezone.now()
    for name, params, how in _cases(now):
        q_view, h_view = _request("view", phones, params, how)
        q_fast, h_fast = _request("fast", phones, params, how)
        s1, b1, headers1 = _via_view(q_view, h_view)
        s2, b2, headers2 = _via_fast_path(q_fast, h_fast)
        assert (s2, _same(b2, phones)) == (s1, _same(b1, phones)), name
        for h in ("Content-Type", "WWW-Authenticate", "X-Content-Type-Options", "Referrer-Policy"):
            assert headers2.get(h) == headers1.get(h), (name, h)
    # And the same rows: per device, the same fix times stored and the same reasons quarantined.
    def stored(door):
        d = phones[door][0]
        return (sorted(Position.objects.filter(device=d).values_list("fix_time", flat=True)),
                sorted(tuple(r) for r in RejectedPosition.objects.filter(device=d).values_list("reasons", flat=True)))

    view, fast = stored("view"), stored("fast")
    assert len(view[0]) == 3 and view == fast


def test_fast_path_refuses_a_host_not_allowed_as_json(phones):
    q, h = _request("fast", phones, {"lat": LAT, "lon": LON}, None)
    status, body, _headers = _via_fast_path(q, h, host="evil.example")
    assert status == 400 and body["error"] == "bad_host"
    assert not Position.objects.filter(device=phones["fast"][0]).exists()


def test_other_requests_go_to_django():
    seen = []

    def django(environ, start_response):
        seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        start_response("204 No Content", [])
        return [b""]

    app = with_osmand_fast_path(django)
    for method, path in (("POST", OSMAND_PATH), ("GET", OSMAND_PATH + "/"), ("GET", "/api/v1/track/positions"),
                         ("GET", "/healthz")):
        list(app({"REQUEST_METHOD": method, "PATH_INFO": path}, lambda *a: None))
    assert seen == [("POST", OSMAND_PATH), ("GET", OSMAND_PATH + "/"), ("GET", "/api/v1/track/positions"),
                    ("GET", "/healthz")]


def test_served_application_has_the_fast_path(phones):
    from gisgrid import wsgi

    device, token = phones["fast"]
    t = int((timezone.now() - dt.timedelta(minutes=1)).timestamp())
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": OSMAND_PATH, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
               "HTTP_HOST": "127.0.0.1", "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http",
               "QUERY_STRING": urlencode({"id": device.identifier, "token": token, "lat": LAT, "lon": LON,
                                          "timestamp": t})}
    statuses = []
    with _keep_test_connection():
        body = b"".join(wsgi.application(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["200 OK"] and json.loads(body)["accepted"] == 1
    assert Position.objects.filter(device=device).count() == 1
