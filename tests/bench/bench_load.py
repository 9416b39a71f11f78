"""Load bench: the real server, as `./run demo` serves it, under phones' single fixes and under a
county's day played 20 times faster.

    ./run bench load [--runs 3] [--seconds 20] [--connections 64] [--day-seconds 60] [--scale 20]
                     [--skip-day] [--skip-baseline] [--no-reports]

Everything runs on loopback against `tests/live_server.ServerProcess` (`./run serve`: nginx in
front of gunicorn, the demo's worker model) and a database of its own (`gisgrid_bench_load`,
Heyang and the demo's simulated week loaded), with 500 phones registered by `register_device`.
Every request loop is bounded in time.

Phase 1, single fixes: the OsmAnd protocol, one fix per GET, each phone's fixes 5 s apart and in
order, from `--connections` concurrent connections for `--seconds`, `--runs` times. The load
tool is wrk (Debian's `wrk`, a Lua script gives every request its own phone and time) and, when
wrk is missing, an aiohttp client. The same runs against the same server with group commit
switched off (`GISGRID_GROUP_COMMIT=0`: one transaction per request) are the baseline. Each
run's figures are wrk's (or the client's): sustained requests/s, p50, p99, errors (non-2xx and
socket errors); afterwards the fixes stored are counted against the answers.

Phase 2, a county's day at 20x (`--scale`), for `--day-seconds`: one county's busiest hour,
rates multiplied by the scale, from one asyncio client (aiohttp). Per second at 1x:

| what | who | 1x |
|---|---|---|
| single fix (GET track/osmand) | 500 phones, one fix per 10 s each | 50 |
| JSON batch of 25 (POST track/positions) | phones syncing what they buffered offline | 0.5 |
| locate GET | hotline and dispatch lookups | 1 |
| locate POST (50 points, GCJ-02) | a gateway's batch | 0.05 |
| report POST | citizens' and grid members' reports | 0.1 |
| grid layers (level 1; level 3 in a bbox) | map pages opening | 0.2 |
| county layer | map pages opening | 0.05 |
| geocode | typed addresses | 0.25 |
| live positions | 10 supervisors, the /patrols/ page's 30 s refresh | 0.33 |
| coverage (today), schedule (this week) | 10 supervisors, a page reload every 10 min | 0.017 each |

Phones and supervisors are closed loops (a phone sends its next fix one interval after the
previous answer was due, as the apps do); the other traffic arrives on a fixed schedule.
Printed per endpoint: requests/s, p50, p99, errors; then worker crashes or restarts from the
server's log (ServerProcess.crashes()).

Last line: ``ratio: X`` = phase 1's sustained single-fix requests/s with group commit (median of
the runs) / 50, i.e. how many counties of 500 phones at one fix per 10 s one box takes.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime as dt
import multiprocessing
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from live_server import ServerProcess, api_token, manage, prepared_database, register_devices  # noqa: E402

DB_NAME = "gisgrid_bench_load"
PREFIX = "load-"
SIMPLIFY_M = {1: 10, 2: 5, 3: 1}  # gisgrid.web.views.SIMPLIFY_M: what the map pages ask for
PHONES = 500
SEAT = (110.1496, 35.2377)  # the county town, WGS-84
COUNTY_RATE = 50.0  # one county: 500 phones, one fix per 10 s


# -- set-up ------------------------------------------------------------------------------------

def phones(db: str) -> dict[str, str]:
    """500 phones registered afresh (register_device), with no fix stored yet: identifier -> token."""
    with psycopg.connect(db, autocommit=True) as c:
        ids = "SELECT id FROM patrols_device WHERE identifier LIKE %s"
        for table in ("patrols_position", "patrols_rejectedposition", "patrols_devicecounter", "patrols_patrolsession"):
            c.execute(f"DELETE FROM {table} WHERE device_id IN ({ids})", [PREFIX + "%"])
        c.execute("DELETE FROM patrols_device WHERE identifier LIKE %s", [PREFIX + "%"])
    return register_devices(db, [f"{PREFIX}{i:04d}" for i in range(PHONES)], person="inspector")


def stored_since(db: str, t0: dt.datetime, t1: dt.datetime) -> int:
    with psycopg.connect(db) as c:
        return c.execute(
            "SELECT count(*) FROM patrols_position p JOIN patrols_device d ON d.id = p.device_id "
            "WHERE d.identifier LIKE %s AND p.fix_time >= %s AND p.fix_time < %s", [PREFIX + "%", t0, t1]).fetchone()[0]


class Windows:
    """Disjoint hours of fix time, oldest first, so every run sends each phone's fixes in order
    and after everything already stored (as phones do)."""

    def __init__(self, hours: int = 20):
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.next = now - dt.timedelta(hours=hours)
        self.now = now

    def take(self) -> tuple[dt.datetime, dt.datetime]:
        t0 = self.next
        self.next += dt.timedelta(hours=1)
        assert self.next <= self.now, "out of fix-time windows"
        return t0, self.next


def osmand_path(ident: str, token: str, t: int, k: int, index: int) -> str:
    lat = SEAT[1] + (index % 50) * 2e-4
    lon = SEAT[0] + (index // 50) * 2e-4 + k * 6.5 / 91_000
    return (f"/api/v1/track/osmand?id={ident}&token={token}&lat={lat:.6f}&lon={lon:.6f}"
            f"&timestamp={t}&speed=1.3&bearing=90&accuracy=8&batt=80")


class ServerCpu:
    """CPU seconds used by the server: its process session (run script, nginx, gunicorn) and
    the PostgreSQL backends of its database. Throughput on a shared machine depends on what
    else runs; CPU per request does much less."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, server: ServerProcess, db: str):
        self.sid = server.proc.pid
        self.db = db

    def _pids(self) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[3]) == self.sid:  # field 6: session id
                pids.append(int(entry))
        with psycopg.connect(self.db, autocommit=True) as c:
            name = c.execute("SELECT current_database()").fetchone()[0]
            pids += [r[0] for r in c.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s "
                                             "AND pid <> pg_backend_pid()", [name])]
        return pids

    def read(self) -> dict[int, float]:
        out = {}
        for pid in self._pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[pid] = (int(fields[11]) + int(fields[12])) / self.TICK  # utime + stime
        return out

    @staticmethod
    def used(before: dict[int, float], after: dict[int, float]) -> float:
        return sum(t - before.get(pid, 0.0) for pid, t in after.items())


# -- phase 1 -----------------------------------------------------------------------------------

@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    stored: int = 0
    cpu_ms: float = 0.0  # server CPU per answered request
    client_cpu_ms: float = 0.0  # the load tool's

    def line(self) -> str:
        return (f"{self.rps:8.0f} req/s  p50 {self.p50_ms:6.1f} ms  p99 {self.p99_ms:7.1f} ms  "
                f"errors {self.errors}  answered {self.requests:,}  stored {self.stored:,}  "
                f"server CPU {self.cpu_ms:.2f} ms/req, load tool {self.client_cpu_ms:.2f}")


WRK_LUA = """
local ids = {%(ids)s}
local tokens = {%(tokens)s}
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  t0 = tonumber(args[1])
  nthreads = tonumber(args[2])
  n = 0
end
function request()
  -- this thread's phones: tid, tid + nthreads, ...; each phone's fixes 5 s apart, in order
  local per = math.floor(#ids / nthreads)
  local k = n %% per
  local step = math.floor(n / per)
  n = n + 1
  local d = tid + k * nthreads
  local lat = %(lat)f + (d %% 50) * 2e-4
  local lon = %(lon)f + math.floor(d / 50) * 2e-4 + step * 6.5 / 91000
  return wrk.format("GET", string.format(
    "/api/v1/track/osmand?id=%%s&token=%%s&lat=%%.6f&lon=%%.6f&timestamp=%%d&speed=1.3&bearing=90&accuracy=8&batt=80",
    ids[d + 1], tokens[d + 1], lat, lon, t0 + step * 5))
end
"""


def wrk_run(url: str, tokens: dict[str, str], t0: dt.datetime, seconds: float, connections: int) -> Run:
    idents = sorted(tokens)
    threads = 2
    script = WRK_LUA % {"ids": ",".join(f'"{i}"' for i in idents), "tokens": ",".join(f'"{tokens[i]}"' for i in idents),
                        "lat": SEAT[1], "lon": SEAT[0]}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "10s",
                              "--latency", "-s", f.name, url, "--", str(int(t0.timestamp())), str(threads)],
                             capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    finally:
        os.unlink(f.name)

    def latency(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return Run(rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
               p50_ms=latency("50"), p99_ms=latency("99"),
               requests=int(re.search(r"(\d+) requests in", out).group(1)),
               errors=(int(non2xx.group(1)) if non2xx else 0) + (sum(int(x) for x in sock.groups()) if sock else 0))


def aiohttp_run(url: str, tokens: dict[str, str], t0: dt.datetime, seconds: float, connections: int) -> Run:
    """The same load from an asyncio client, for machines without wrk."""
    idents = sorted(tokens)
    start = int(t0.timestamp())

    async def main() -> Run:
        lat: list[float] = []
        errors = 0
        counter = iter(range(10**9))
        conn = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(url, connector=conn, timeout=aiohttp.ClientTimeout(total=10)) as s:
            end = time.perf_counter() + seconds

            async def lane() -> None:
                nonlocal errors
                while time.perf_counter() < end:
                    n = next(counter)
                    d, step = n % len(idents), n // len(idents)
                    path = osmand_path(idents[d], tokens[idents[d]], start + 5 * step, step, d)
                    t = time.perf_counter()
                    try:
                        async with s.get(path) as r:
                            await r.read()
                            errors += r.status != 200
                    except (TimeoutError, aiohttp.ClientError):
                        errors += 1
                    lat.append((time.perf_counter() - t) * 1000)

            began = time.perf_counter()
            await asyncio.gather(*(lane() for _ in range(connections)))
            took = time.perf_counter() - began
        q = statistics.quantiles(lat, n=100)
        return Run(len(lat) / took, q[49], q[98], len(lat), errors)

    return asyncio.run(main())


def _client_cpu() -> float:
    """CPU seconds of this process and its finished children (wrk)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def phase1(server: ServerProcess, db: str, tokens: dict[str, str], windows: Windows, args, label: str) -> list[Run]:
    tool = wrk_run if shutil.which("wrk") else aiohttp_run
    # Warm-up, not counted: every worker builds its locate snapshot and per-thread copies and
    # meets every phone once (device cache) before the runs that count.
    answered = 0
    for _ in range(4):
        t0, _ = windows.take()
        answered += tool(server.url, tokens, t0, 5, args.connections).requests
        if answered >= 4 * PHONES:
            break
    runs = []
    cpu = ServerCpu(server, db)
    for r in range(args.runs):
        t0, t1 = windows.take()
        before, client = cpu.read(), _client_cpu()
        run = tool(server.url, tokens, t0, args.seconds, args.connections)
        run.cpu_ms = cpu.used(before, cpu.read()) / max(run.requests, 1) * 1000
        run.client_cpu_ms = (_client_cpu() - client) / max(run.requests, 1) * 1000
        run.stored = stored_since(db, t0, t1)
        runs.append(run)
        print(f"  {label} run {r + 1}: {run.line()}", flush=True)
    return runs


# -- phase 2 -----------------------------------------------------------------------------------

@dataclass
class Endpoint:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    samples: list[str] = field(default_factory=list)

    def record(self, ms: float, ok: bool, what: str = "") -> None:
        self.latencies.append(ms)
        if not ok:
            self.errors += 1
            if len(self.samples) < 3:
                self.samples.append(what)


async def day(url: str, db: str, tokens: dict[str, str], t_fix: dt.datetime, seconds: float,
              scale: float, part: str) -> dict[str, Endpoint]:
    """One part of the day: "phones" (the closed-loop single fixes) or "people" (everything
    else, on its schedule). Each part runs in a process of its own, so that the phones' event
    loop, busy with a thousand answers a second, never delays the reading of a lookup's."""
    sup = {"Authorization": f"Token {api_token(db, 'dispatcher')}"}
    member = {"Authorization": f"Token {api_token(db, 'gridmember')}"}
    stats: dict[str, Endpoint] = {}
    local = dt.timezone(dt.timedelta(hours=8))
    today = dt.datetime.now(local).replace(hour=0, minute=0, second=0, microsecond=0)
    week = {"start": (today - dt.timedelta(days=6)).isoformat(), "end": (today + dt.timedelta(days=1)).isoformat()}
    rng = random.Random(7)
    end = time.perf_counter() + seconds

    async def call(s: aiohttp.ClientSession, name: str, method: str, path: str, **kw) -> None:
        ep = stats.setdefault(name, Endpoint(name))
        t = time.perf_counter()
        try:
            async with s.request(method, path, **kw) as r:
                body = await r.read()
                ok = 200 <= r.status < 300
                ep.record((time.perf_counter() - t) * 1000, ok, f"{r.status} {body[:200]!r}")
        except (TimeoutError, aiohttp.ClientError) as exc:
            ep.record((time.perf_counter() - t) * 1000, False, repr(exc))

    async def phone(s: aiohttp.ClientSession, index: int, ident: str) -> None:
        interval = 10.0 / scale
        await asyncio.sleep(rng.uniform(0, interval))
        k = 0
        due = time.perf_counter()
        while time.perf_counter() < end:
            t = int(t_fix.timestamp()) + 5 * k
            await call(s, "osmand fix", "GET", osmand_path(ident, tokens[ident], t, k, index))
            k += 1
            due += interval
            await asyncio.sleep(max(0.0, due - time.perf_counter()))

    def scheduled(rate_1x: float, name: str, make) -> list:
        """Arrivals at `rate_1x * scale` per second, evenly spaced with a random phase."""
        rate = rate_1x * scale
        n = int(seconds * rate)
        phase = rng.uniform(0, 1 / rate) if rate else 0
        return [(phase + k / rate, name, make) for k in range(n)]

    batch_seq = iter(range(10**9))

    def batch() -> tuple:
        # A phone syncing 25 buffered fixes, an hour before today's live ones.
        k = next(batch_seq)
        ident = f"{PREFIX}{k % PHONES:04d}"
        base = int(t_fix.timestamp()) - 3600 + (k // PHONES) * 125
        fixes = [{"timestamp": base + 5 * j, "lat": SEAT[1] + 0.02 + j * 5e-5, "lon": SEAT[0] + (k % PHONES) * 1e-4,
                  "accuracy": 6} for j in range(25)]
        return ("POST", "/api/v1/track/positions", {"json": {"device_id": ident, "token": tokens[ident],
                                                             "positions": fixes}})

    def locate_get() -> tuple:
        return ("GET", "/api/v1/locate", {"params": {"lon": f"{SEAT[0] + rng.uniform(-0.02, 0.02):.6f}",
                                                     "lat": f"{SEAT[1] + rng.uniform(-0.02, 0.02):.6f}"}})

    def locate_post() -> tuple:
        pts = [[round(SEAT[0] + rng.uniform(-0.05, 0.05), 6), round(SEAT[1] + rng.uniform(-0.05, 0.05), 6)]
               for _ in range(50)]
        return ("POST", "/api/v1/locate", {"headers": sup, "json": {"crs": "gcj02", "points": pts}})

    def report() -> tuple:
        return ("POST", "/api/v1/reports", {"headers": member, "json": {
            "category": "E0501", "lon": SEAT[0] + rng.uniform(-0.01, 0.01), "lat": SEAT[1] + rng.uniform(-0.01, 0.01),
            "crs": "wgs84", "description": "负载测试 路灯不亮", "reporter_name": "王网格",
            "reporter_phone": "13912345678"}})

    def grids() -> tuple:
        # As the map page asks: simplified by level (web.views.SIMPLIFY_M), level 3 in a bbox.
        if rng.random() < 0.5:
            return ("GET", "/api/v1/grids", {"params": {"level": 1, "simplify": SIMPLIFY_M[1]}})
        return ("GET", "/api/v1/grids", {"params": {"level": 3, "bbox": "110.13,35.23,110.16,35.25",
                                                    "simplify": SIMPLIFY_M[3]}})

    def county() -> tuple:
        return ("GET", "/api/v1/county", {})

    def geocode() -> tuple:
        return ("GET", "/api/v1/geocode", {"params": {"q": rng.choice(["泰山社区", "城关", "合阳", "坊镇", "新池"])}})

    def live() -> tuple:
        return ("GET", "/api/v1/patrols/live", {"headers": sup, "params": {"role": "inspector"}})

    def coverage() -> tuple:
        return ("GET", "/api/v1/patrols/coverage", {"headers": sup, "params": {
            "start": today.isoformat(), "end": (today + dt.timedelta(days=1)).isoformat(), "level": 3, "urban": 1}})

    def schedule() -> tuple:
        return ("GET", "/api/v1/patrols/schedule", {"headers": sup, "params": week})

    plan = sorted(
        scheduled(0.5, "JSON batch", batch) + scheduled(1.0, "locate GET", locate_get)
        + scheduled(0.05, "locate POST", locate_post) + scheduled(0.1, "report POST", report)
        + scheduled(0.2, "grid layers", grids) + scheduled(0.05, "county layer", county)
        + scheduled(0.25, "geocode", geocode) + scheduled(1 / 30 * 10, "live positions", live)
        + (scheduled(10 / 600, "coverage", coverage) + scheduled(10 / 600, "schedule", schedule) if not os.environ.get("GISGRID_BENCH_NO_REPORTS") else []),
        key=lambda x: x[0])

    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(url, connector=conn, timeout=aiohttp.ClientTimeout(total=60)) as s:
        began = time.perf_counter()
        pending = set()

        async def others() -> None:
            for at, name, make in plan:
                await asyncio.sleep(max(0.0, began + at - time.perf_counter()))
                method, path, kw = make()
                task = asyncio.create_task(call(s, name, method, path, **kw))
                pending.add(task)
                task.add_done_callback(pending.discard)

        if part == "people":
            await others()
        else:
            await asyncio.gather(*(phone(s, i, ident) for i, ident in enumerate(sorted(tokens))))
        if pending:
            await asyncio.wait(pending, timeout=60)
        took = time.perf_counter() - began
    for ep in stats.values():
        ep.took = took  # type: ignore[attr-defined]
    return stats


def _day_part(args: tuple) -> dict[str, Endpoint]:
    return asyncio.run(day(*args))


def play_day(server: ServerProcess, db: str, tokens: dict[str, str], windows: Windows, seconds: float,
             scale: float) -> dict[str, Endpoint]:
    t_fix, _ = windows.take()
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
        parts = pool.map(_day_part, [(server.url, db, tokens, t_fix, seconds, scale, part)
                                     for part in ("phones", "people")])
        return {name: ep for stats in parts for name, ep in stats.items()}


def proxy_times(server: ServerProcess, since: int, path: str) -> list[float]:
    """The proxy's own time (ms) for the requests on `path` logged after offset `since`: from
    nginx's first byte read to the last byte sent, so without the load tool's own delays."""
    pattern = re.compile(rf'"GET {re.escape(path)}\?[^"]*" 200 \d+ ([0-9.]+)s')
    return [float(m.group(1)) * 1000 for m in pattern.finditer(server.log_text()[since:])]


def print_day(stats: dict[str, Endpoint], seconds: float) -> None:
    print(f"  {'endpoint':16s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>7s}")
    total_err = 0
    for ep in sorted(stats.values(), key=lambda e: -len(e.latencies)):
        lat = sorted(ep.latencies)
        q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else lat * 99
        total_err += ep.errors
        print(f"  {ep.name:16s} {len(lat) / ep.took:8.1f} {q[49]:8.1f} {q[98]:8.1f} {ep.errors:7d}")  # type: ignore[attr-defined]
        for sample in ep.samples:
            print(f"      e.g. {sample}")
    print(f"  errors in all: {total_err}")


# -- main --------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--day-seconds", type=float, default=60)
    ap.add_argument("--scale", type=float, default=20)
    ap.add_argument("--skip-day", action="store_true")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--no-reports", action="store_true",
                    help="leave coverage and schedule out of the day, to see what they cost the lookups")
    a = ap.parse_args()
    if a.no_reports:  # read by the day's client processes, which inherit the environment
        os.environ["GISGRID_BENCH_NO_REPORTS"] = "1"
    assert a.connections >= 8, "phase 1 uses at least 8 connections"
    db = prepared_database(DB_NAME)
    manage(db, "seed_patrol_demo")  # the demo's week of rounds, so coverage and schedule have work
    tokens = phones(db)
    windows = Windows()
    tool = "wrk" if shutil.which("wrk") else "aiohttp (no wrk on this machine)"
    print(f"phase 1: single OsmAnd fixes from {PHONES} phones over {a.connections} connections, "
          f"{a.runs} runs of {a.seconds:g} s, load tool {tool}", flush=True)
    restarts = []
    with ServerProcess(db, workers=2, env={"GISGRID_GROUP_COMMIT": "1"}) as server:
        grouped = phase1(server, db, tokens, windows, a, "group commit")
        if not a.skip_day:
            print(f"phase 2: a county's day at {a.scale:g}x for {a.day_seconds:g} s (aiohttp)", flush=True)
            since = len(server.log_text())
            stats = play_day(server, db, tokens, windows, a.day_seconds, a.scale)
            print_day(stats, a.day_seconds)
            at_proxy = proxy_times(server, since, "/api/v1/locate")
            if len(at_proxy) >= 2:
                q = statistics.quantiles(at_proxy, n=100)
                print(f"  locate GET at the proxy (nginx's request time): p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms")
            locate = stats.get("locate GET")
            if locate:
                print(f"  locate p99: {statistics.quantiles(locate.latencies, n=100)[98]:.1f} ms (target < 20)")
        restarts += server.crashes()
    plain: list[Run] = []
    if not a.skip_baseline:
        with ServerProcess(db, workers=2, env={"GISGRID_GROUP_COMMIT": "0"}) as server:
            plain = phase1(server, db, tokens, windows, a, "one transaction per request")
            restarts += server.crashes()
    print(f"worker crashes or restarts: {len(restarts)}")
    for line in restarts[:5]:
        print(f"  {line}")
    g = statistics.median(r.rps for r in grouped)
    for label, runs in (("group commit", grouped), ("one transaction per request", plain)):
        if runs:
            print(f"single fixes, {label}: median {statistics.median(r.rps for r in runs):,.0f} req/s, "
                  f"p50 {statistics.median(r.p50_ms for r in runs):.1f} ms, "
                  f"p99 {statistics.median(r.p99_ms for r in runs):.1f} ms, errors {sum(r.errors for r in runs)}, "
                  f"server CPU {statistics.median(r.cpu_ms for r in runs):.2f} ms/req")
    if plain:
        print(f"group commit / one transaction per request: {g / statistics.median(r.rps for r in plain):.2f}")
    print(f"ratio: {g / COUNTY_RATE:.1f}")


if __name__ == "__main__":
    main()
