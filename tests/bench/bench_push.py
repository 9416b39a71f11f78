"""Push bench: 1,000 open event streams against polling, on the real server.

    ./run bench push [--clients 1000] [--seconds 60] [--case-rate 50] [--fix-rate 100] [--poll-s 2]

Everything runs on loopback against `tests/live_server.ServerProcess` (`./run serve`: nginx in
front of gunicorn and the push service) and a database of its own (`gisgrid_bench_push`, Heyang
and the demo accounts).

Load, the same in both modes, for --seconds:
- case changes at --case-rate per second, made by the workflow functions in this process (one
  transaction each, as the API makes them): one in ten a new report (its case opened), the
  others a supervision flag set or lifted on one of 200 open cases. The writer notes each commit
  time (time.time(), after COMMIT returned) by (case number, version);
- fixes at --fix-rate per second through the OsmAnd endpoint, from 200 phones;
- a locate GET every 0.2 s, timed (its p50 is also taken before any load).

Push: --clients streams (`GET /api/v1/events`, through nginx, HTTP/1.0 so the body is the raw
stream) from a separate process (asyncio, raw sockets): dispatchers, chiefs, inspectors, admins,
unit staff and grid members, each with its own token. One stream in ten parses every case event
and notes its arrival time: latency = arrival - commit (same machine, same clock). Dropped =
streams that ended before the bench closed them.

Polling (the baseline): the same clients each ask `GET /api/v1/events/changes?after=N` every
--poll-s seconds (staggered), as a page without push would.

Delivered updates = events received by clients (case and position events; pings not counted).
Two CPU figures per mode (user + system seconds from /proc):
- whole server: every process of the server's session (run script, nginx, both gunicorn pools,
  the push service, the clock job) and every PostgreSQL backend of the bench database except
  this process's own (the writer's work is the same in both modes and not the server's);
- delivery: what carries the updates to the clients in that mode: nginx, and the push service
  (push) or gunicorn's people pool, which answers the polls (poll), with their PostgreSQL
  sessions (named by PGAPPNAME in `./run serve`). Ingest, the clock job and the writer do the same
  work in both modes and would only dilute the comparison.

Last line: ``ratio: X`` = delivery CPU seconds per 1,000 delivered updates, polling / push (the
whole-server ratio is printed on the line before).
Targets (issue 12): p95 <= 1 s, 0 dropped, locate p50 during the run <= 2x without, ratio >= 10.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "bench"))
sys.path.insert(0, str(ROOT))

from bench_load import ServerCpu  # noqa: E402
from live_server import (  # noqa: E402
    ServerProcess,
    _proc_table,
    api_token,
    manage,
    prepared_database,
    register_devices,
)

DB_NAME = "gisgrid_bench_push"
PREFIX = "push-bench-"
PHONES = 200
OPEN_CASES = 200
SEAT = (110.1496, 35.2377)
TAISHAN = (110.15017, 35.24435)
# Who holds the streams: mostly the centre's and the chiefs' screens, some units and grid members.
ROLE_MIX = (("dispatcher", 0.4), ("gridchief", 0.2), ("inspector", 0.2), ("admin", 0.05), ("unitstaff", 0.1),
            ("gridmember", 0.05))
SAMPLE_EVERY = 10
WRITER_APP = "gisgrid-bench-writer"


# -- the clients (a process of their own) -----------------------------------------------------------

async def _stream_client(i: int, port: int, token: str, stop: asyncio.Event, out: dict) -> None:
    sample = i % SAMPLE_EVERY == 0
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        out["connect_failed"] += 1
        return
    writer.write(f"GET /api/v1/events?topics=case,position HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n"
                 f"Authorization: Token {token}\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
        out["connect_failed"] += 1
        writer.close()
        return
    out["open"] += 1
    buf = b""
    reading = asyncio.ensure_future(reader.read(1 << 16))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while True:
            done, _ = await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stopping in done:
                break
            chunk = reading.result()
            if not chunk:
                out["dropped"] += 1
                break
            now = time.time()
            buf += chunk
            blocks = buf.split(b"\n\n")
            buf = blocks.pop()
            for b in blocks:
                if b.startswith(b"id: ") and b"\nevent: " in b:
                    out["delivered"] += 1
                    if sample and b"\nevent: case\n" in b:
                        data = json.loads(b[b.index(b"\ndata: ") + 7:])
                        out["arrivals"].append((data["number"], data["version"], now))
            reading = asyncio.ensure_future(reader.read(1 << 16))
    finally:
        reading.cancel()
        stopping.cancel()
        writer.close()


async def _poll_client(i: int, port: int, token: str, every: float, stop: asyncio.Event, out: dict,
                       session) -> None:
    sample = i % SAMPLE_EVERY == 0
    headers = {"Authorization": f"Token {token}"}
    url = f"http://127.0.0.1:{port}/api/v1/events/changes"
    after = None
    await asyncio.sleep(random.Random(i).random() * every)
    out["open"] += 1
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            params = {"topics": "case,position", **({"after": str(after)} if after is not None else {})}
            async with session.get(url, params=params, headers=headers) as r:
                if r.status != 200:
                    out["errors"] += 1
                else:
                    body = await r.json()
                    now = time.time()
                    after = body["last"]
                    out["delivered"] += len(body["events"])
                    if sample:
                        out["arrivals"] += [(e["data"]["number"], e["data"]["version"], now)
                                            for e in body["events"] if e["event"] == "case"]
        except Exception:  # noqa: BLE001 - a failed poll is counted, the client goes on
            out["errors"] += 1
        try:
            await asyncio.wait_for(stop.wait(), max(0.0, every - (time.monotonic() - t0)))
        except TimeoutError:
            pass


def clients_process(mode: str, port: int, tokens: list[str], every: float, ready, go, done, results) -> None:
    """The clients: open (or start polling), say ready, run until `done` is set, report."""
    import resource

    import aiohttp

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    out = {"open": 0, "dropped": 0, "connect_failed": 0, "delivered": 0, "errors": 0, "arrivals": []}

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        if mode == "push":
            tasks = []
            for i, tok in enumerate(tokens):
                tasks.append(asyncio.ensure_future(_stream_client(i, port, tok, stop, out)))
                if i % 50 == 49:
                    await asyncio.sleep(0.05)  # a ramp, as pages open over time
            while out["open"] + out["connect_failed"] < len(tokens):
                await asyncio.sleep(0.1)
            session = None
        else:
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                            timeout=aiohttp.ClientTimeout(total=30))
            tasks = None
        ready.set()
        await loop.run_in_executor(None, go.wait)
        out["delivered"] = 0
        out["arrivals"].clear()
        if mode == "poll":
            tasks = [asyncio.ensure_future(_poll_client(i, port, tok, every, stop, out, session))
                     for i, tok in enumerate(tokens)]
        await loop.run_in_executor(None, done.wait)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        if session is not None:
            await session.close()

    asyncio.run(main())
    results.put(out)


# -- the load (this process) ---------------------------------------------------------------------------

class Writer:
    """Case changes through the workflow functions, each committed on its own; commit times noted."""

    def __init__(self):
        from django.contrib.auth.models import User

        from gisgrid.cases.models import Case

        self.dispatcher = User.objects.get(username="dispatcher")
        self.open = list(Case.objects.filter(state="reported", report__description="push-bench")
                         .values_list("pk", flat=True)[:OPEN_CASES])
        while len(self.open) < OPEN_CASES:
            self.open.append(self.report().pk)
        self.commits: dict[tuple[str, int], float] = {}

    def report(self):
        from gisgrid.incidents.models import Category
        from gisgrid.incidents.reports import create_report

        rnd = random.random
        cat = Category.objects.get(code="E0501" if rnd() < 0.7 else "E0301")
        point = (TAISHAN if rnd() < 0.3 else SEAT)
        return create_report(user=None, category=cat, lon=point[0] + (rnd() - 0.5) * 2e-3,
                             lat=point[1] + (rnd() - 0.5) * 2e-3, crs="wgs84", reporter_name="压测",
                             reporter_phone="13700000000", description="push-bench").case

    def change(self, k: int = 0, of: int = 1) -> None:
        """One change; thread k of `of` flags only its own share of the open cases."""
        from gisgrid.cases import workflow
        from gisgrid.cases.models import Case

        if random.random() < 0.1:
            case = self.report()
        else:
            pk = random.choice(self.open[k::of])
            c = Case.objects.only("version", "supervised").get(pk=pk)
            case = workflow.supervise(pk, self.dispatcher, version=c.version, reason="压测督办",
                                      active=not c.supervised)
        self.commits[(case.number, case.version)] = time.time()

    def run(self, rate: float, seconds: float, threads: int = 4) -> None:
        """`rate` changes/s from `threads` threads (each its own connection, as the API's
        workers), for `seconds`: bounded in time, so a loaded box makes fewer (printed)."""
        from django.db import connection

        def loop(k: int) -> None:
            start = time.monotonic()
            n = 0
            try:
                while time.monotonic() - start < seconds:
                    delay = start + n * threads / rate + k / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    self.change(k, threads)
                    n += 1
            finally:
                connection.close()

        workers = [threading.Thread(target=loop, args=(k,)) for k in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()


def fixes(url: str, tokens: dict[str, str], rate: float, seconds: float, sent: list) -> None:
    """OsmAnd fixes at `rate`/s, round-robin over the phones, each phone's fixes in time order."""
    idents = sorted(tokens)
    start = time.monotonic()
    n = 0
    with httpx.Client(base_url=url, timeout=30) as c:
        while time.monotonic() - start < seconds:
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            k = n % len(idents)
            ident = idents[k]
            lat = SEAT[1] + (k % 20) * 3e-4
            lon = SEAT[0] + (k // 20) * 3e-4 + (n // len(idents)) * 1e-5
            try:
                r = c.get("/api/v1/track/osmand", params={"id": ident, "token": tokens[ident], "lat": f"{lat:.6f}",
                                                          "lon": f"{lon:.6f}", "timestamp": int(time.time()) - 1,
                                                          "speed": 1.3, "hdop": 3})
                sent.append(r.status_code)
            except httpx.HTTPError:
                sent.append(0)
            n += 1


def locate_probe(url: str, seconds: float, every: float = 0.2) -> list[float]:
    times = []
    end = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=30) as c:
        while time.monotonic() < end:
            t0 = time.perf_counter()
            r = c.get("/api/v1/locate", params={"lon": SEAT[0], "lat": SEAT[1]})
            if r.status_code == 200:
                times.append((time.perf_counter() - t0) * 1000)
            time.sleep(every)
    return times


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


class Cpu(ServerCpu):
    """The whole server's CPU, without this process's database sessions (the writer's)."""

    def _pids(self) -> list[int]:
        with psycopg.connect(self.db, autocommit=True) as c:
            writer = {r[0] for r in c.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                                              [WRITER_APP])}
        return [pid for pid in super()._pids() if pid not in writer]


class DeliveryCpu(ServerCpu):
    """The CPU of what delivers the updates in one mode: nginx, and either the push service
    (push) or gunicorn's people pool, which answers the polls (poll), each with its PostgreSQL
    sessions (named by PGAPPNAME in `./run serve`). The writer, ingest and the clock job do the
    same work in both modes and are left out here (they are in the whole-server figure)."""

    def __init__(self, server, db: str, mode: str):
        super().__init__(server, db)
        self.server, self.mode = server, mode

    def _pids(self) -> list[int]:
        table = _proc_table()
        if self.mode == "push":
            procs = self.server.push_pids()
            app = "gisgrid-push"
        else:
            master = self.server.master_pid("app")
            procs = {master} | {pid for pid, (ppid, _) in table.items() if ppid == master}
            app = "gisgrid-app"
        session = set(super()._pids())
        procs |= {pid for pid in session if "nginx" in table.get(pid, (0, ""))[1]}
        with psycopg.connect(self.db, autocommit=True) as c:
            procs |= {r[0] for r in c.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                                              " AND application_name = %s", [app])}
        return sorted(procs)


def run_mode(mode: str, server: ServerProcess, db: str, tokens: list[str], phones: dict[str, str], writer: Writer,
             args) -> dict:
    ctx = mp.get_context("spawn")
    ready, go, done, results = ctx.Event(), ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=clients_process, args=(mode, server.port, tokens, args.poll_s, ready, go, done, results))
    proc.start()
    if not ready.wait(300):
        raise RuntimeError("clients did not get ready")
    time.sleep(2)
    cpu = Cpu(server, db)
    delivery = DeliveryCpu(server, db, mode)
    writer.commits.clear()
    sent: list[int] = []
    located: list[float] = []
    shares = [dict(sorted(phones.items())[k::4]) for k in range(4)]  # 4 senders, each its own phones
    threads = [threading.Thread(target=fixes, args=(server.url, share, args.fix_rate / 4, args.seconds, sent))
               for share in shares]
    threads.append(threading.Thread(target=lambda: located.extend(locate_probe(server.url, args.seconds))))
    before, before_d = cpu.read(), delivery.read()
    go.set()
    for t in threads:
        t.start()
    writer.run(args.case_rate, args.seconds)
    for t in threads:
        t.join()
    time.sleep(max(args.poll_s, 1.0) + 0.5)  # the last changes reach the clients
    after, after_d = cpu.read(), delivery.read()
    done.set()
    out = results.get(timeout=120)
    proc.join(30)
    latencies = [(now - writer.commits[(num, ver)]) * 1000 for num, ver, now in out["arrivals"]
                 if (num, ver) in writer.commits]
    used = Cpu.used(before, after)
    return {"mode": mode, "cpu_s": used, "delivery_cpu_s": Cpu.used(before_d, after_d), "delivered": out["delivered"], "open": out["open"], "dropped": out["dropped"],
            "connect_failed": out["connect_failed"], "errors": out["errors"], "latencies": latencies,
            "changes": len(writer.commits), "fixes_ok": sum(1 for s in sent if s == 200), "fixes": len(sent),
            "locate": located}


def report(r: dict) -> None:
    lat = r["latencies"]
    per_k = r["delivery_cpu_s"] / max(r["delivered"], 1) * 1000
    print(f"{r['mode']:>5}: clients {r['open']} (failed {r['connect_failed']}), dropped {r['dropped']}, "
          f"errors {r['errors']}; case changes {r['changes']}, fixes {r['fixes_ok']}/{r['fixes']}; "
          f"delivered {r['delivered']:,}; latency p50 {pct(lat, 0.5):.0f} ms p95 {pct(lat, 0.95):.0f} ms "
          f"(n={len(lat):,}); locate p50 {pct(r['locate'], 0.5):.1f} ms; whole server CPU {r['cpu_s']:.1f} s, "
          f"delivery CPU {r['delivery_cpu_s']:.1f} s = {per_k:.3f} s per 1,000 updates")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--case-rate", type=float, default=50)
    ap.add_argument("--fix-rate", type=float, default=100)
    ap.add_argument("--poll-s", type=float, default=2.0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    db = prepared_database(DB_NAME)
    os.environ["DATABASE_URL"] = db
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gisgrid.settings")
    import django

    django.setup()
    from django.conf import settings

    # The writer's sessions are named, so the server's CPU leaves them out (the writer plays the
    # API's part, the same in both modes).
    settings.DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = WRITER_APP
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    people = [u for u, _ in ROLE_MIX]
    token_of = {u: api_token(db, u) for u in people}
    # Each client its own account and token, as each screen is someone's.
    manage(db, "shell", "-c", _MAKE_USERS, env={"GISGRID_BENCH_USERS": json.dumps(
        {u: max(1, round(share * args.clients)) for u, share in ROLE_MIX})})
    with psycopg.connect(db, autocommit=True) as c:
        rows = c.execute("SELECT u.username, t.key FROM auth_user u JOIN authtoken_token t ON t.user_id = u.id "
                         "WHERE u.username LIKE 'pushbench-%%' ORDER BY u.username").fetchall()
    tokens = [k for _u, k in rows][:args.clients] or list(token_of.values())
    with psycopg.connect(db, autocommit=True) as c:
        ids = "SELECT id FROM patrols_device WHERE identifier LIKE %s"
        for table in ("patrols_position", "patrols_rejectedposition", "patrols_devicecounter", "patrols_patrolsession"):
            c.execute(f"DELETE FROM {table} WHERE device_id IN ({ids})", [PREFIX + "%"])
        c.execute("DELETE FROM patrols_device WHERE identifier LIKE %s", [PREFIX + "%"])
    phones = register_devices(db, [f"{PREFIX}{i:03d}" for i in range(PHONES)], person="inspector")
    writer = Writer()
    print(f"{len(tokens)} clients ({', '.join(f'{u} {round(s * 100)}%' for u, s in ROLE_MIX)}), "
          f"{args.case_rate:g} case changes/s, {args.fix_rate:g} fixes/s, {args.seconds:g} s per mode")
    server = ServerProcess(db, workers=args.workers)
    server.start(timeout=600)  # a loaded box warms the workers slowly
    try:
        quiet = locate_probe(server.url, min(10.0, args.seconds))
        print(f"locate p50 without load: {pct(quiet, 0.5):.1f} ms")
        push = run_mode("push", server, db, tokens, phones, writer, args)
        report(push)
        poll = run_mode("poll", server, db, tokens, phones, writer, args)
        report(poll)
        crashes = server.crashes()
    finally:
        server.stop()
    p95 = pct(push["latencies"], 0.95)
    slow = pct(push["locate"], 0.5) / pct(quiet, 0.5)
    print(f"push: p95 {p95:.0f} ms (target <= 1000), dropped {push['dropped']} (target 0), locate p50 x{slow:.2f} "
          f"(target <= 2); server crashes/restarts: {len(crashes)}")
    whole = (poll["cpu_s"] / max(poll["delivered"], 1)) / (push["cpu_s"] / max(push["delivered"], 1))
    print(f"whole-server CPU per 1,000 updates, polling / push: {whole:.1f}")
    push_k = push["delivery_cpu_s"] / max(push["delivered"], 1)
    poll_k = poll["delivery_cpu_s"] / max(poll["delivered"], 1)
    print(f"ratio: {poll_k / push_k:.1f}")


_MAKE_USERS = """
import json, os
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from gisgrid.accounts.models import UnitMembership
from gisgrid.boundaries.models import Person
wanted = json.loads(os.environ["GISGRID_BENCH_USERS"])
for model, n in wanted.items():
    template = User.objects.get(username=model)
    groups = list(template.groups.all())
    units = list(UnitMembership.objects.filter(user=template).values_list("unit_id", flat=True))
    for i in range(n):
        user, made = User.objects.get_or_create(username=f"pushbench-{model}-{i:04d}")
        if made:
            user.groups.set(groups)
            for unit in units:
                UnitMembership.objects.get_or_create(user=user, unit_id=unit)
        Token.objects.get_or_create(user=user)
print("ok")
"""


if __name__ == "__main__":
    main()
