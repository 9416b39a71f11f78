"""The push service against the real server (`./run serve`: nginx, gunicorn, the push service).

Every change goes through the API as the pages make it, and is read back from
`GET /api/v1/events` as a browser's EventSource reads it: through nginx, with a token or a
session cookie, resuming with Last-Event-ID. Who receives what is checked by what arrives, not
by what the server says it sent.
"""

from __future__ import annotations

import http.client
import json
import queue
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest

from tests.live_server import ServerProcess, api_token, prepared_database, register_device

TAISHAN = (110.15017, 35.24435)  # in 泰山社区 (610524001018), the demo grid member's grid
FAR = (110.18906, 35.33153)  # in 蔡家坡村 (610524108006), another town
GRIDMEMBER_GRID = "610524001018"
WAIT_S = 10.0  # a deadline for arrival, not a speed claim (tests/bench/bench_push.py measures that)
QUEUE = 64  # the push service's per-stream queue here: a stream that does not read is dropped soon


@dataclass
class Event:
    id: int | None
    kind: str
    data: dict


@dataclass
class Stream:
    """An EventSource, as far as the tests need one: events in arrival order, the last id."""

    base: str
    headers: dict
    path: str = "/api/v1/events"
    events: queue.Queue = field(default_factory=queue.Queue)
    last_id: int | None = None
    status: int | None = None
    opened: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        host, port = self.base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.opened.wait(WAIT_S), "the stream did not open"

    def _run(self) -> None:
        try:
            self.conn.request("GET", self.path, headers=self.headers)
            r = self.conn.getresponse()
            self.status = r.status
            self.content_type = r.getheader("content-type", "")
            if r.status != 200:
                self.body = r.read()
                return
            self.opened.set()
            ev_id, kind, data = None, "message", []
            while True:
                line = r.readline()
                if not line:
                    return
                line = line.decode().rstrip("\n")
                if line == "":
                    if ev_id is not None:
                        self.last_id = ev_id
                    if data:
                        self.events.put(Event(ev_id, kind, json.loads("\n".join(data))))
                    ev_id, kind, data = None, "message", []
                elif line.startswith(":"):
                    continue
                else:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "id":
                        ev_id = int(value)
                    elif name == "event":
                        kind = value
                    elif name == "data":
                        data.append(value)
        except (OSError, http.client.HTTPException, ValueError, AttributeError):
            return  # closed (by close(): the read is cut mid-chunk)
        finally:
            self.opened.set()
            self.ended.set()

    def next(self, pred=lambda e: True, timeout: float = WAIT_S) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching event arrived")
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                raise AssertionError("no matching event arrived") from None
            if pred(ev):
                return ev

    def drain(self, settle: float = 1.0) -> list[Event]:
        """Everything that arrives until nothing came for `settle` seconds."""
        out = []
        while True:
            try:
                out.append(self.events.get(timeout=settle))
            except queue.Empty:
                return out

    def close(self) -> None:
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        self.conn.close()
        self.thread.join(5)


def auth(token: str) -> dict:
    return {"Authorization": f"Token {token}"}


@pytest.fixture(scope="module")
def world():
    db = prepared_database("gisgrid_pushtest")
    tokens = {u: api_token(db, u) for u in ("dispatcher", "unitstaff", "gridmember", "planner", "admin")}
    with ServerProcess(db, workers=1, env={"GISGRID_PUSH_QUEUE": str(QUEUE)}) as server:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            yield {"db": db, "server": server, "tokens": tokens, "http": c}


def hotline(world, point=TAISHAN, category="E0501") -> dict:
    r = world["http"].post("/api/v1/cases/hotline", headers=auth(world["tokens"]["dispatcher"]), json={
        "category": category, "caller_name": "赵来电", "caller_phone": "13700001111", "lon": point[0],
        "lat": point[1], "description": "推送测试"})
    assert r.status_code == 201, r.text
    return r.json()


def act(world, who: str, number: str, action: str, **body) -> dict:
    r = world["http"].post(f"/api/v1/cases/{number}/{action}", headers=auth(world["tokens"][who]), json=body)
    assert r.status_code == 200, r.text
    return r.json()


def dispatched(world, point=TAISHAN, category="E0501", lead="D-CGJ") -> dict:
    case = hotline(world, point, category)
    case = act(world, "dispatcher", case["number"], "accept", version=case["version"], lead_unit=lead,
               assisting_units=[])
    return act(world, "dispatcher", case["number"], "dispatch", version=case["version"])


def stream(world, who: str, query: str = "", **headers) -> Stream:
    s = Stream(world["server"].url, {**auth(world["tokens"][who]), **headers}, "/api/v1/events" + query)
    assert s.status == 200 and s.content_type.startswith("text/event-stream"), s.status
    return s


def test_no_stream_without_signing_in(world):
    url = world["server"].url + "/api/v1/events"
    r = httpx.get(url, headers={"Accept": "text/event-stream"})
    assert r.status_code == 401 and r.json()["error"] == "not_authenticated"
    r = httpx.get(url, headers={"Authorization": "Token " + "0" * 40})
    assert r.status_code == 401 and r.json()["error"] == "authentication_failed"
    r = httpx.get(url, headers={**auth(world["tokens"]["dispatcher"]), "Last-Event-ID": "yesterday"})
    assert r.status_code == 400 and "Last-Event-ID" in r.json()["fields"]
    r = httpx.get(url + "?topics=case,weather", headers=auth(world["tokens"]["dispatcher"]))
    assert r.status_code == 400 and "topics" in r.json()["fields"]


def test_the_dispatcher_sees_a_case_change_with_the_session_of_the_page(world):
    base = world["server"].url
    with httpx.Client(base_url=base) as browser:
        form = browser.get("/accounts/login/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        r = browser.post("/accounts/login/", data={"username": "dispatcher", "password": "dispatcher-demo",
                                                   "csrfmiddlewaretoken": csrf}, headers={"Referer": base + "/accounts/login/"})
        assert r.status_code == 302, r.text
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    s = Stream(base, {"Cookie": cookie})
    try:
        assert s.status == 200
        case = hotline(world)
        ev = s.next(lambda e: e.kind == "case" and e.data["number"] == case["number"])
        assert ev.data["action"] == "report" and ev.data["state"] == "reported" and ev.data["clock"] == "green"
        assert ev.data["version"] == case["version"]
        assert ev.data["grid_codes"][1] == GRIDMEMBER_GRID and abs(ev.data["lon"] - TAISHAN[0]) < 1e-4
        assert ev.data["reported_at"].endswith("+08:00")
        assert "赵来电" not in json.dumps(ev.data, ensure_ascii=False) and "13700001111" not in json.dumps(ev.data)
        act(world, "dispatcher", case["number"], "accept", version=case["version"], lead_unit="D-CGJ")
        ev = s.next(lambda e: e.kind == "case" and e.data["number"] == case["number"])
        assert ev.data["action"] == "accept" and ev.data["state"] == "accepted" and ev.data["lead_unit"]
    finally:
        s.close()


def test_a_unit_gets_its_own_work_orders_and_none_of_another_units(world):
    s = stream(world, "unitstaff")
    try:
        other = dispatched(world, category="E0301", lead="D-ZJJ")
        own = dispatched(world, category="E0501", lead="D-CGJ")
        first = s.next(lambda e: e.kind == "case")
        assert first.data["number"] == own["number"] and first.data["action"] == "dispatch"
        act(world, "unitstaff", own["number"], "acknowledge", version=own["version"])
        act(world, "dispatcher", other["number"], "supervise", version=other["version"], reason="督办测试", active=True)
        ev = s.next(lambda e: e.kind == "case")
        assert ev.data["number"] == own["number"] and ev.data["state"] == "acknowledged"
        rest = s.drain()
        assert other["number"] not in {e.data.get("number") for e in rest if e.kind == "case"}
        # Notices come too: the dispatch's work order notice to the unit, none of the other's.
        numbers = {e.data["case"] for e in rest + [first, ev] if e.kind == "notice"}
        assert other["number"] not in numbers
    finally:
        s.close()


def test_a_grid_member_gets_only_their_grids(world):
    s = stream(world, "gridmember", "?topics=case")
    try:
        far = hotline(world, FAR)
        near = hotline(world, TAISHAN)
        ev = s.next()
        assert ev.kind == "case" and ev.data["number"] == near["number"]
        assert far["number"] not in {e.data["number"] for e in s.drain()}
    finally:
        s.close()


def test_a_reconnect_with_last_event_id_loses_nothing(world):
    s = stream(world, "dispatcher", "?topics=case")
    case = hotline(world)
    s.next(lambda e: e.data["number"] == case["number"])
    s.drain(0.5)
    last = s.last_id
    s.close()
    # Changed while nobody listened.
    case = act(world, "dispatcher", case["number"], "accept", version=case["version"], lead_unit="D-CGJ")
    case = act(world, "dispatcher", case["number"], "dispatch", version=case["version"])
    other = hotline(world, FAR)
    s = stream(world, "dispatcher", "?topics=case&last_event_id=1", **{"Last-Event-ID": str(last)})
    try:
        got = [s.next() for _ in range(3)]
        assert [(e.data["number"], e.data["action"]) for e in got] == [
            (case["number"], "accept"), (case["number"], "dispatch"), (other["number"], "report")]
        assert all(e.id > last for e in got) and [e.id for e in got] == sorted(e.id for e in got)
        assert s.drain(0.5) == []
    finally:
        s.close()
    # The polling endpoint gives the same events from the same point.
    r = world["http"].get("/api/v1/events/changes", params={"after": last, "topics": "case"},
                          headers=auth(world["tokens"]["dispatcher"]))
    assert r.status_code == 200, r.text
    assert [e["id"] for e in r.json()["events"]] == [e.id for e in got]


def test_a_stream_from_an_id_no_longer_kept_is_told_to_reset(world):
    with psycopg.connect(world["db"], autocommit=True) as c:
        newest = c.execute("SELECT last_value FROM push_seq").fetchone()[0]
    s = stream(world, "dispatcher", **{"Last-Event-ID": str(newest + 10_000)})
    try:
        assert s.next().kind == "reset"
    finally:
        s.close()


def test_a_client_that_never_reads_is_dropped_while_another_keeps_receiving(world):
    host, port = world["server"].url.removeprefix("http://").split(":")
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect((host, int(port)))
    stalled.sendall(f"GET /api/v1/events?topics=notice HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Authorization: Token {world['tokens']['planner']}\r\n\r\n".encode())
    reader = stream(world, "planner", "?topics=notice")
    try:
        with psycopg.connect(world["db"], autocommit=True) as c:
            planner = c.execute("SELECT id FROM auth_user WHERE username = 'planner'").fetchone()[0]
            big = "网" * 30_000  # 90 kB a notice: the buffers between here and the server fill fast
            for i in range(200):
                c.execute("INSERT INTO push_pushevent (at, kind, data, everyone_signed_in, roles, user_ids, unit_ids,"
                          " grid_codes) VALUES (now(), 'notice', %s, false, '{}', %s, '{}', '{}')",
                          (json.dumps({"id": i, "kind": "flood", "subject": big, "case": None, "created_at": None}),
                           [planner]))
        got = [reader.next(lambda e: e.data.get("kind") == "flood").data["id"] for _ in range(200)]
        assert got == list(range(200))
        # The stalled client's connection was cut: reading what was buffered ends in EOF.
        stalled.settimeout(WAIT_S)
        received = b""
        while True:
            chunk = stalled.recv(1 << 20)
            if not chunk:
                break
            received += chunk
        assert received.count(b"event: notice") < 200
    finally:
        stalled.close()
        reader.close()


def test_an_osmand_fix_moves_the_inspector_live(world):
    ident = f"push-{secrets.token_hex(4)}"
    token = register_device(world["db"], ident, person="inspector")
    s = stream(world, "dispatcher", "?topics=position")
    own = stream(world, "gridmember", "?topics=position")
    try:
        r = world["http"].get("/api/v1/track/osmand", params={"id": ident, "token": token, "lat": TAISHAN[1],
                                                              "lon": TAISHAN[0], "timestamp": int(time.time()),
                                                              "hdop": 5, "speed": 1.2})
        assert r.status_code == 200, r.text
        ev = s.next()
        assert ev.kind == "position" and ev.data["person"] == "inspector" and ev.data["role"] == "inspector"
        assert abs(ev.data["lon"] - TAISHAN[0]) < 1e-4 and ev.data["at"].endswith("+08:00")
        assert ev.data["name"] and ev.data["speed_mps"] == pytest.approx(1.2, abs=0.01)
        assert own.drain(1.0) == []  # a grid member sees only their own position
    finally:
        s.close()
        own.close()
