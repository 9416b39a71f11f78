"""Faults survived by the real server: PostgreSQL restarted, a worker killed mid-batch, stalled
clients, a statement past its timeout, overlapping batches in opposite order.

Everything runs against a private PostgreSQL cluster made for this module (initdb in a
temporary directory, its own port), so restarting it disturbs no one else on the machine.
The server is `./run serve`, as `./run demo` runs it. Clients here retry as the phone apps
do: a 503 (or a dropped connection) means "send the same thing again".
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

from tests.live_server import (
    PrivateCluster,
    ServerProcess,
    api_token,
    prepared_database,
    register_devices,
    stored_per_device,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEAT = (110.1449, 35.2385)
RUN = f"{os.getpid()}-{int(time.time())}"
logging.getLogger("httpx").setLevel(logging.WARNING)


@pytest.fixture(scope="module")
def cluster():
    pc = PrivateCluster()
    pc.start()
    try:
        yield pc
    finally:
        pc.destroy()


@pytest.fixture(scope="module")
def db(cluster):
    return prepared_database("gisgrid_faults", server_url=cluster.url)


def fixes(n: int, start: dt.datetime, lon: float, lat: float, step_s: int = 2) -> list[dict]:
    return [{"timestamp": int((start + dt.timedelta(seconds=i * step_s)).timestamp()),
             "lat": round(lat + i * 2e-6, 7), "lon": lon, "accuracy": 5} for i in range(n)]


stored = stored_per_device


class Retrying:
    """A client that sends the same request again on 503 or a dropped connection, and records
    every answer that was neither 2xx nor such a 503."""

    def __init__(self, base_url: str, deadline_s: float = 90):
        self.client = httpx.Client(base_url=base_url, timeout=60)
        self.deadline_s = deadline_s
        self.unavailable = 0   # 503s answered (with JSON and Retry-After)
        self.dropped = 0       # connections that failed outright
        self.bad: list[str] = []

    def send(self, method: str, path: str, **kw) -> httpx.Response | None:
        end = time.monotonic() + self.deadline_s
        while time.monotonic() < end:
            try:
                r = self.client.request(method, path, **kw)
            except httpx.TransportError:
                self.dropped += 1
                time.sleep(0.2)
                continue
            if r.status_code == 503:
                if not r.headers.get("content-type", "").startswith("application/json") or \
                        "retry-after" not in r.headers or "error" not in r.json():
                    self.bad.append(f"{path}: 503 without JSON and Retry-After: {r.text[:200]}")
                self.unavailable += 1
                time.sleep(0.2)
                continue
            if r.status_code >= 300 or not r.headers.get("content-type", "").startswith("application/json"):
                self.bad.append(f"{method} {path}: {r.status_code} {r.headers.get('content-type')} {r.text[:300]}")
            return r
        self.bad.append(f"{method} {path}: no answer but 503s for {self.deadline_s} s")
        return None

    def close(self) -> None:
        self.client.close()


class Phone(threading.Thread):
    """Sends single OsmAnd fixes and 20-fix batches, alternately, each until it is answered."""

    def __init__(self, url: str, ident: str, token: str, index: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.device, self.token, self.halt = ident, token, stop
        self.client = Retrying(url)
        self.t0 = dt.datetime.now(SHANGHAI) - dt.timedelta(hours=3)
        self.lon = SEAT[0] + 0.001 * index
        self.sent = 0
        self.answered_fixes = 0
        self.answering = threading.Event()  # set at the first answer: the server takes this phone's fixes

    def run(self) -> None:
        k = 0
        while not self.halt.is_set():
            batch = fixes(20, self.t0 + dt.timedelta(seconds=2 * self.sent), self.lon, SEAT[1] + 1e-4 * k)
            if k % 2:
                f = batch[0]
                r = self.client.send("GET", "/api/v1/track/osmand", params={
                    "id": self.device, "token": self.token, "timestamp": f["timestamp"], "lat": f["lat"],
                    "lon": f["lon"], "hdop": 5})
                n = 1
            else:
                r = self.client.send("POST", "/api/v1/track/positions",
                                     json={"device_id": self.device, "token": self.token, "positions": batch})
                n = len(batch)
            if r is None:
                return
            body = r.json()
            self.answered_fixes += body.get("accepted", 0) + body.get("duplicates", 0)
            self.sent += n
            self.answering.set()
            k += 1


def test_postgresql_restart_loses_and_duplicates_nothing(cluster, db):
    phones = register_devices(db, [f"pg-{RUN}-{i}" for i in range(4)], person="inspector")
    planner = api_token(db, "planner")
    with ServerProcess(db, workers=2) as server:
        workers = server.worker_pids()
        stop = threading.Event()
        threads = [Phone(server.url, ident, tok, i, stop) for i, (ident, tok) in enumerate(phones.items())]
        for t in threads:
            t.start()
        # A planner makes a draft and publishes it while the database goes away.
        plan = Retrying(server.url)
        headers = {"Authorization": f"Token {planner}"}
        draft = plan.send("POST", "/api/v1/editions", json={"name": f"重启测试 {RUN}"}, headers=headers).json()
        # Every phone is being answered before the database goes: on a slow machine the ingest
        # workers may still be warming up, and requests waiting for them would sail through
        # the outage unseen.
        for t in threads:
            assert t.answering.wait(180), f"{t.device}: no answer before the outage"
        time.sleep(1)

        down = threading.Event()

        def publish() -> None:
            down.wait()
            r = plan.send("POST", f"/api/v1/editions/{draft['id']}/publish", json={}, headers=headers)
            assert r is not None

        publisher = threading.Thread(target=publish)
        publisher.start()
        cluster.stop("fast")
        try:
            down.set()
            time.sleep(3)   # clients meet a database that is not there
            with httpx.Client(base_url=server.url, timeout=30) as c:
                r = c.get("/api/v1/grids/610524001")
                health = c.get("/healthz")
        finally:
            cluster.start()
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/json") and r.headers["retry-after"]
        assert r.json()["error"] == "database_unavailable"
        assert health.status_code == 503 and health.json()["database"]["ok"] is False
        time.sleep(3)   # and then one that is back
        stop.set()
        for t in threads:
            t.join(120)
        publisher.join(120)

        problems = [b for t in threads for b in t.client.bad] + plan.bad
        assert not problems, problems[:10]
        assert sum(t.client.unavailable + t.client.dropped for t in threads) > 0, "no client met the outage"
        counts = stored(db, list(phones))
        for t in threads:
            assert t.sent > 0
            assert counts[t.device] == (t.sent, t.sent), (t.device, counts[t.device], t.sent)
            assert t.answered_fixes == t.sent
        with psycopg.connect(db) as c:
            active = c.execute("SELECT id FROM boundaries_edition WHERE status = 'active'").fetchall()
        assert active == [(draft["id"],)]
        # Recovered with no restart of anything but PostgreSQL.
        with httpx.Client(base_url=server.url, timeout=30) as c:
            assert c.get("/healthz").status_code == 200
            assert c.get("/api/v1/locate", params={"lon": SEAT[0], "lat": SEAT[1]}).status_code == 200
        assert not server.crashes(), server.crashes()
        assert server.worker_pids() == workers


def _busy_backends(db: str, pool: str = "gisgrid-ingest") -> int:
    """Queries running for one process kind (`./run serve` names each kind's sessions with
    PGAPPNAME): the periodic job's passes run at start-up too and must not count."""
    with psycopg.connect(db, autocommit=True) as c:
        return c.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                         "AND state = 'active' AND pid <> pg_backend_pid() AND application_name = %s",
                         [pool]).fetchone()[0]


def test_worker_killed_mid_batch_every_fix_stored_once(db):
    ident = f"kill-{RUN}"
    token = register_devices(db, [ident])[ident]
    batch = fixes(3000, dt.datetime.now(SHANGHAI) - dt.timedelta(hours=5), SEAT[0], SEAT[1])
    body = {"device_id": ident, "token": token, "positions": batch}
    with ServerProcess(db, workers=1) as server:
        # The batch is served by the phones' pool.
        (victim,) = server.worker_pids("ingest")
        answers: list[httpx.Response | Exception] = []

        def post() -> None:
            try:
                answers.append(httpx.post(f"{server.url}/api/v1/track/positions", json=body, timeout=120))
            except httpx.HTTPError as exc:
                answers.append(exc)

        t = threading.Thread(target=post)
        t.start()
        # Kill the worker while the batch is being written: as soon as its query is running.
        end = time.monotonic() + 30
        while time.monotonic() < end and not answers and _busy_backends(db) == 0:
            time.sleep(0.002)
        assert not answers, "the batch finished before the worker could be killed"
        os.kill(victim, signal.SIGKILL)
        t.join(120)
        (first,) = answers
        # nginx answers for the dead worker, in the API's shape.
        assert isinstance(first, httpx.Response) and first.status_code == 503, first
        assert first.json()["error"] == "server_unavailable" and first.headers["retry-after"]

        client = Retrying(server.url)
        r = client.send("POST", "/api/v1/track/positions", json=body)
        assert not client.bad, client.bad
        result = r.json()
        assert result["accepted"] + result["duplicates"] == len(batch)
        assert stored(db, [ident])[ident] == (len(batch), len(batch))
        # The master replaced the worker: that one restart, and no other.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(server.worker_pids("ingest")) != 1:
            time.sleep(0.1)
        (replacement,) = server.worker_pids("ingest")
        assert replacement != victim
        crashes = server.crashes()
        assert any("SIGKILL" in line for line in crashes), crashes
        assert len([c for c in crashes if "Booting worker" in c]) == 1, crashes
        client.close()


def test_stalled_clients_do_not_starve_the_server(db):
    with ServerProcess(db, workers=2) as server:
        host, port = "127.0.0.1", server.port
        stalled = []
        # Five times the server's 8 threads, half dribbling headers, half never ending a body.
        for i in range(40):
            s = socket.create_connection((host, port))
            if i % 2:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            else:
                s.sendall(b"POST /api/v1/locate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 100000\r\n\r\n{\"points\": [")
            stalled.append(s)
        try:
            with httpx.Client(base_url=server.url, timeout=10) as c:
                for _ in range(20):
                    r = c.get("/api/v1/locate", params={"lon": SEAT[0], "lat": SEAT[1]})
                    assert r.status_code == 200, r.text
                    assert c.get("/healthz").status_code == 200
        finally:
            for s in stalled:
                s.close()
        assert not server.crashes(), server.crashes()


def test_statement_past_timeout_is_answered_json_and_connection_kept(db):
    # A report list blocked behind a lock held elsewhere (a long publish, a migration) for longer
    # than the statement timeout, set short here so the test need not wait 30 s.
    reader = api_token(db, "dispatcher")
    headers = {"Authorization": f"Token {reader}"}
    # Only this server's connections: an earlier test's server may still be closing its own.
    with psycopg.connect(db, autocommit=True) as look:
        started = look.execute("SELECT now()").fetchone()[0]
    with ServerProcess(db, workers=1, env={"GISGRID_DB_STATEMENT_TIMEOUT_MS": "1500"}) as server, \
            httpx.Client(base_url=server.url, timeout=60) as c:
        assert c.get("/api/v1/reports", headers=headers).status_code == 200
        with psycopg.connect(db) as locker:
            locker.execute("LOCK TABLE incidents_report IN ACCESS EXCLUSIVE MODE")
            r = c.get("/api/v1/reports", headers=headers)
            with psycopg.connect(db, autocommit=True) as look:
                # People's pool only (PGAPPNAME): the periodic job may be waiting on the lock too.
                waiting = look.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                       "AND datname = current_database() AND application_name = 'gisgrid-app'"
                                       ).fetchone()[0]
            locker.rollback()
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/json") and r.headers["retry-after"]
        assert r.json()["error"] == "statement_timeout"
        assert waiting == 0, "the cancelled statement still waits"
        with psycopg.connect(db, autocommit=True) as look:
            backends = {row[0] for row in look.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name = 'gisgrid-app' AND backend_start >= %s", [started]).fetchall()}
        # The same connections go on serving: the timeout ended a statement, not a session.
        for _ in range(8):
            assert c.get("/api/v1/reports", headers=headers).status_code == 200
        with psycopg.connect(db, autocommit=True) as look:
            after = {row[0] for row in look.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name = 'gisgrid-app' AND backend_start >= %s", [started]).fetchall()}
        assert backends and backends <= after, (backends - after, after - backends)
        assert not server.crashes(), server.crashes()


def test_overlapping_batches_in_opposite_order_never_deadlock(db):
    idents = [f"ovl-{RUN}-{i}" for i in range(4)]
    tokens = register_devices(db, idents)
    with ServerProcess(db, workers=2) as server:
        for attempt in range(4):
            start = dt.datetime.now(SHANGHAI) - dt.timedelta(hours=8, minutes=attempt * 30)
            items = [{**f, "device_id": ident, "token": tokens[ident]}
                     for i, ident in enumerate(idents)
                     for f in fixes(500, start, SEAT[0] + 0.001 * i, SEAT[1])]
            bodies = [{"positions": items}, {"positions": items[::-1]}]
            answers: list = [None, None]
            barrier = threading.Barrier(2)

            def post(k: int, barrier: threading.Barrier = barrier, answers: list = answers,
                     bodies: list = bodies) -> None:
                barrier.wait()
                answers[k] = httpx.post(f"{server.url}/api/v1/track/positions", json=bodies[k], timeout=120)

            threads = [threading.Thread(target=post, args=(k,)) for k in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for r in answers:
                assert r.headers["content-type"].startswith("application/json"), r.text[:300]
                assert r.status_code == 200, (attempt, r.status_code, r.text[:300])
            a, b = (r.json() for r in answers)
            assert a["accepted"] + b["accepted"] == len(items), (a["accepted"], b["accepted"])
            assert a["duplicates"] + b["duplicates"] == len(items)
        counts = stored(db, idents)
        assert all(counts[i] == (2000, 2000) for i in idents), counts
        assert not server.crashes(), server.crashes()
