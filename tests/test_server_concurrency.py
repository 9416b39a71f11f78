"""Every API family under concurrent clients, against the real server `./run demo` runs.

The server is `./run serve` (nginx in front of gunicorn gthread workers) on a prepared copy of
the demo's database. Reads are answered once serially, then again by many clients at once,
mixed with phones sending fixes and batches, reports filed and GPX uploaded. No worker may
crash or be replaced, nothing may answer 5xx, every concurrent read must equal its serial
answer, and every fix sent must be stored exactly once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import random
import re
import threading
import time
from collections import Counter
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.live_server import (
    ServerProcess,
    api_token,
    manage,
    prepared_database,
    register_devices,
    stored_per_device,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLIENTS = 10
ROUNDS = 6
DEADLINE_S = 150  # the whole concurrent phase; rounds left when it passes are not started
SEAT = (110.1449, 35.2385)  # the county seat, inside 城关街道
# Fields that differ between two identical requests by design (how old a fix is *now*).
VOLATILE = {"age_s"}
RUN = f"{os.getpid()}-{int(time.time())}"
logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise


def day_window() -> tuple[dt.datetime, dt.datetime]:
    """Yesterday, local time: the read side's own walks lie in it, the write side's never do."""
    today = dt.datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - dt.timedelta(days=1), today


def week_window() -> tuple[dt.datetime, dt.datetime]:
    """The last seven days up to this minute: the demo's simulated rounds (inspectors) and the
    read side's walks. The write side's phones belong to a grid member, so the inspectors'
    coverage and duty do not move while it sends."""
    now = dt.datetime.now(SHANGHAI).replace(second=0, microsecond=0)
    return now - dt.timedelta(days=7), now


def walk(start: dt.datetime, n: int, lon: float, lat: float, step_s: int = 10) -> list[dict]:
    """A walk at ~1.2 m/s heading north-east, one fix every `step_s` seconds."""
    return [{"timestamp": (start + dt.timedelta(seconds=i * step_s)).isoformat(),
             "lat": round(lat + i * 0.00008, 7), "lon": round(lon + i * 0.00008, 7), "accuracy": 8}
            for i in range(n)]


def normal(value):
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [normal(v) for v in value]
    return value


def answer(r: httpx.Response, name: str = ""):
    if name == "devices" and r.status_code == 200:
        # The list holds every phone; the write side's counters move while this runs.
        body = r.json()
        return normal([d for d in body["results"] if d["identifier"].startswith(f"cr-{RUN}-")])
    if r.headers.get("content-type", "").startswith("application/json") or \
            r.headers.get("content-type", "").startswith("application/geo+json"):
        return normal(r.json())
    title = re.search(r"<title>(.*?)</title>", r.text, re.S)
    return {"html_title": title.group(1).strip() if title else None, "location": r.headers.get("location")}


@pytest.fixture(scope="module")
def world():
    db = prepared_database("gisgrid_servertest")
    tokens = {u: api_token(db, u) for u in ("dispatcher", "planner", "gridmember", "inspector", "admin")}
    read_phones = [f"cr-{RUN}-{i}" for i in range(2)]
    write_phones = [f"cw-{RUN}-{i}" for i in range(CLIENTS)]
    phones = register_devices(db, read_phones, person="inspector")
    phones |= register_devices(db, write_phones, person="gridmember")
    # The demo's simulated week of rounds (idempotent: a second run stores duplicates only), so
    # coverage and schedule do the work a supervisor's page asks for.
    manage(db, "seed_patrol_demo")
    with ServerProcess(db, workers=2) as server:
        yield {"db": db, "server": server, "tokens": tokens, "phones": phones,
               "read_phones": read_phones, "write_phones": write_phones}


def seed(world) -> dict:
    """Data the reads look at: yesterday's walks for the inspector, reports in another street,
    a draft edition to diff."""
    url, tok = world["server"].url, world["tokens"]
    start, end = day_window()
    with httpx.Client(base_url=url, timeout=60) as c:
        for i, ident in enumerate(world["read_phones"]):
            fixes = walk(start + dt.timedelta(hours=9 + i), 240, SEAT[0] - 0.004 * i, SEAT[1] - 0.004)
            r = c.post("/api/v1/track/positions", json={"device_id": ident, "token": world["phones"][ident],
                                                        "positions": fixes})
            assert r.status_code == 200 and r.json()["accepted"] == len(fixes), r.text
        editions = c.get("/api/v1/editions", headers=auth(tok["planner"])).json()
        draft = next((e for e in editions if e["status"] == "draft" and e["name"] == "并发测试草稿"), None)
        if draft is None:
            r = c.post("/api/v1/editions", json={"name": "并发测试草稿"}, headers=auth(tok["planner"]))
            assert r.status_code == 201, r.text
            draft = r.json()
        county = c.get("/api/v1/county").json()
        assert county, "no county"
    week_start, week_end = week_window()
    return {"start": start.isoformat(), "end": end.isoformat(), "draft": draft["id"],
            "week_start": week_start.isoformat(), "week_end": week_end.isoformat()}


def auth(token: str) -> dict:
    return {"Authorization": f"Token {token}"}


def read_requests(world, s: dict) -> list[tuple[str, str, str, dict, dict | None]]:
    """(name, method, path, params, headers) of every read; POST /locate is a read too."""
    tok = world["tokens"]
    sup, plan, insp = auth(tok["dispatcher"]), auth(tok["planner"]), auth(tok["inspector"])
    period = {"start": s["start"], "end": s["end"]}
    week = {"start": s["week_start"], "end": s["week_end"]}
    return [
        ("healthz", "GET", "/healthz", {}, None),
        ("grids-l1", "GET", "/api/v1/grids", {"level": 1}, None),
        ("grids-l3-bbox", "GET", "/api/v1/grids", {"level": 3, "bbox": "110.13,35.23,110.16,35.25", "simplify": 5}, None),
        ("grid-detail", "GET", "/api/v1/grids/610524001", {}, None),
        ("grid-detail-404", "GET", "/api/v1/grids/610524999999", {}, None),
        ("county", "GET", "/api/v1/county", {}, None),
        ("locate", "GET", "/api/v1/locate", {"lon": SEAT[0], "lat": SEAT[1]}, None),
        ("locate-edge", "GET", "/api/v1/locate", {"lon": 110.1502, "lat": 35.2411, "nearest": 1}, None),
        ("locate-post", "POST", "/api/v1/locate",
         {"json": {"points": [[SEAT[0] + i * 0.002, SEAT[1] + i * 0.0015] for i in range(200)]}}, sup),
        ("geocode", "GET", "/api/v1/geocode", {"q": "泰山社区"}, None),
        ("route", "GET", "/api/v1/route", {"lon": SEAT[0], "lat": SEAT[1], "category": "E0501"}, None),
        ("categories", "GET", "/api/v1/categories", {}, None),
        ("reports", "GET", "/api/v1/reports", {"grid": "610524002"}, sup),
        ("editions", "GET", "/api/v1/editions", {"status": "active"}, plan),
        ("edition-diff", "GET", f"/api/v1/editions/{s['draft']}/diff", {}, plan),
        ("blind-spots", "GET", "/api/v1/blind-spots", {}, None),
        ("coverage", "GET", "/api/v1/patrols/coverage", {**period, "person": "inspector"}, sup),
        ("coverage-all", "GET", "/api/v1/patrols/coverage", {**week, "role": "inspector"}, sup),
        ("schedule", "GET", "/api/v1/patrols/schedule", week, sup),
        ("live", "GET", "/api/v1/patrols/live", {"role": "inspector", "since": s["start"]}, sup),
        ("track", "GET", "/api/v1/patrols/track", {**period, "person": "inspector"}, sup),
        ("sessions", "GET", "/api/v1/patrols/sessions", {**period, "person": "inspector"}, insp),
        ("devices", "GET", "/api/v1/track/devices", {"person": "inspector"}, sup),
        ("rejected", "GET", "/api/v1/track/rejected", {"device": world["read_phones"][0]}, sup),
        ("page-map", "GET", "/map/", {}, None),
        ("page-planner", "GET", "/planner/", {}, None),
        ("page-patrols", "GET", "/patrols/", {}, None),
    ]


def send(c: httpx.Client, method: str, path: str, params: dict, headers: dict | None) -> httpx.Response:
    if method == "POST":
        return c.post(path, headers=headers, **params)
    return c.get(path, params=params, headers=headers)


class Writer:
    """One phone per client: single OsmAnd fixes and JSON batches, times never repeated;
    plus a report and a GPX upload by the grid member."""

    def __init__(self, world, index: int):
        self.ident = world["write_phones"][index]
        self.token = world["phones"][self.ident]
        self.member = auth(world["tokens"]["gridmember"])
        self.index = index
        # Two hours ago onwards, 2 s apart: inside the filters, outside the read side's day.
        self.t0 = dt.datetime.now(SHANGHAI) - dt.timedelta(hours=2)
        self.seq = itertools.count()
        self.sent = 0

    def fix(self) -> tuple[str, float, float]:
        k = next(self.seq)
        when = self.t0 + dt.timedelta(seconds=2 * k)
        return str(int(when.timestamp())), SEAT[1] + 0.01 + k * 2e-6, SEAT[0] + 0.001 * self.index

    def single(self, c: httpx.Client) -> tuple[str, httpx.Response, int]:
        ts, lat, lon = self.fix()
        r = c.get("/api/v1/track/osmand", params={"id": self.ident, "token": self.token, "timestamp": ts,
                                                  "lat": lat, "lon": lon, "hdop": 5})
        self.sent += 1
        return "osmand", r, 1

    def batch(self, c: httpx.Client) -> tuple[str, httpx.Response, int]:
        fixes = []
        for _ in range(25):
            ts, lat, lon = self.fix()
            fixes.append({"timestamp": int(ts), "lat": lat, "lon": lon, "accuracy": 5})
        r = c.post("/api/v1/track/positions", json={"device_id": self.ident, "token": self.token, "positions": fixes})
        self.sent += len(fixes)
        return "positions", r, len(fixes)

    def report(self, c: httpx.Client) -> tuple[str, httpx.Response, int]:
        r = c.post("/api/v1/reports", headers=self.member, json={
            "category": "E0501", "lon": SEAT[0], "lat": SEAT[1], "crs": "wgs84", "description": f"并发测试 {RUN}",
            "reporter_name": "王网格", "reporter_phone": "13912345678"})
        return "report", r, 0

    def gpx(self, c: httpx.Client) -> tuple[str, httpx.Response, int]:
        # A distinct minute per upload and writer, days away from the phones' times.
        base = dt.datetime.now(dt.UTC) - dt.timedelta(days=3, minutes=self.index * 1000 + next(self.seq))
        pts = "".join(f'<trkpt lat="{SEAT[1] + 0.02 + i * 1e-5}" lon="{SEAT[0]}"><time>'
                      f"{(base + dt.timedelta(seconds=5 * i)).strftime('%Y-%m-%dT%H:%M:%SZ')}</time></trkpt>"
                      for i in range(3))
        body = f'<?xml version="1.0"?><gpx version="1.1" creator="t"><trk><trkseg>{pts}</trkseg></trk></gpx>'
        r = c.post("/api/v1/track/gpx", headers=self.member, files={"file": ("walk.gpx", body, "application/gpx+xml")})
        return "gpx", r, 0


stored = stored_per_device


def test_every_api_family_under_concurrent_clients(world):
    server: ServerProcess = world["server"]
    workers_before = server.worker_pids()
    # 2 for people, 2 for phones, 1 for patrol reports (coverage and schedule go there).
    assert len(workers_before) == server.total_workers == 5
    assert len(server.worker_pids("reports")) == 1
    s = seed(world)
    reads = read_requests(world, s)

    serial = {}
    with httpx.Client(base_url=server.url, timeout=120) as c:
        for name, method, path, params, headers in reads:
            r = send(c, method, path, params, headers)
            assert r.status_code < 500, (name, r.status_code, r.text[:500])
            serial[name] = (r.status_code, answer(r, name))
    assert serial["locate"][0] == 200 and serial["coverage"][0] == 200 and serial["grid-detail-404"][0] == 404
    assert serial["coverage"][1]["people"], "the read side's walks should show in coverage"

    writers = [Writer(world, i) for i in range(CLIENTS)]
    failures: list[str] = []
    writes: Counter = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + DEADLINE_S
    rounds_done = 0
    clients = [httpx.Client(base_url=server.url, timeout=120) for _ in range(CLIENTS)]
    try:
        for rnd in range(ROUNDS):
            if time.monotonic() > deadline:
                break
            # Coverage and schedule several times per round: two at once is what crashed.
            tasks = [("read", r) for r in reads] + [("read", r) for r in reads if r[0] in ("coverage-all", "schedule")] * 3
            random.Random(rnd).shuffle(tasks)
            queues = [tasks[i::CLIENTS] for i in range(CLIENTS)]
            for i, w in enumerate(writers):
                kinds = [w.single, w.single, w.batch] + ([w.report] if i % 3 == 0 else []) + ([w.gpx] if i % 5 == 0 else [])
                queues[i] += [("write", k) for k in kinds]
                random.Random(rnd * 100 + i).shuffle(queues[i])
            barrier = threading.Barrier(CLIENTS)

            def client(i: int, queue: list, barrier: threading.Barrier = barrier, rnd: int = rnd) -> None:
                c = clients[i]
                barrier.wait()
                for kind, item in queue:
                    try:
                        if kind == "read":
                            name, method, path, params, headers = item
                            r = send(c, method, path, params, headers)
                            got = (r.status_code, answer(r, name) if r.status_code < 500 else r.text[:300])
                            if got != serial[name]:
                                with lock:
                                    failures.append(f"round {rnd} {name}: {got[0]} differs from serial {serial[name][0]}: "
                                                    f"{str(got[1])[:300]}")
                        else:
                            name, r, n = item(c)
                            ok = r.status_code in (200, 201) and (
                                n == 0 or (r.json()["accepted"] == n and r.json()["duplicates"] == 0))
                            with lock:
                                writes[name] += 1
                                if not ok:
                                    failures.append(f"round {rnd} {name}: {r.status_code} {r.text[:300]}")
                    except httpx.HTTPError as exc:
                        with lock:
                            failures.append(f"round {rnd} {kind} {item if kind == 'read' else item.__name__}: "
                                            f"{type(exc).__name__} {exc}")

            threads = [threading.Thread(target=client, args=(i, q)) for i, q in enumerate(queues)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rounds_done += 1
    finally:
        for c in clients:
            c.close()

    assert rounds_done >= 2, "the machine is too slow to finish two rounds in time"
    assert not server.crashes(), server.crashes()
    assert server.worker_pids() == workers_before, "a worker was replaced"
    assert not failures, f"{len(failures)} failures, first: " + "\n".join(failures[:10])
    assert writes["osmand"] == 2 * CLIENTS * rounds_done and writes["positions"] == CLIENTS * rounds_done
    # Every fix sent is stored exactly once.
    counts = stored(world["db"], world["write_phones"])
    for w in writers:
        assert counts[w.ident] == (w.sent, w.sent), (w.ident, counts[w.ident], w.sent)
    assert not re.findall(r'" 5\d\d \d', server.log_text()), "the access log shows a 5xx"
    # Each family went to its own pool: reports to reports.sock, fixes to ingest.sock, lookups
    # to people's gunicorn.sock (the access log's last field).
    pools = {}
    for line in server.log_text().splitlines():
        m = re.search(r'"(?:GET|POST) (/api/v1/(?:patrols/coverage|patrols/schedule|track/osmand|locate))\b.*'
                      r' unix:\S*/(\w+)\.sock$', line)
        if m:
            pools.setdefault(m.group(1), set()).add(m.group(2))
    assert pools == {"/api/v1/patrols/coverage": {"reports"}, "/api/v1/patrols/schedule": {"reports"},
                     "/api/v1/track/osmand": {"ingest"}, "/api/v1/locate": {"gunicorn"}}, pools
