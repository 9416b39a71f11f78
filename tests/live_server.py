"""The real server in a subprocess, for the concurrency and fault tests and the load bench.

`ServerProcess` starts `./run serve`, the same command and worker model `./run demo` ends in,
against a database of the caller's choosing, and reads the server's log and process list to
tell whether a worker crashed or was replaced. `prepared_database` makes a database that
looks like the demo's (Heyang loaded, demo accounts) on any PostgreSQL server.

Nothing here imports Django: the tests talk to the server over HTTP and to PostgreSQL with
psycopg, exactly as clients and operators do.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DEMO_USERS = ("admin", "dispatcher", "unitstaff", "gridmember", "inspector", "gridchief", "planner")

# Log lines that mean a worker died or was replaced while serving (gunicorn's own wording, the
# C library's and CPython's). "Worker exiting" is also printed at an orderly shutdown, which is
# why lines after the master's shutdown signal are not read.
CRASH_PATTERNS = re.compile(
    r"was sent SIG|exited with code|WORKER TIMEOUT|Worker exiting|Segmentation fault|"
    r"Fatal Python error|double free|corrupted|malloc\(\)|free\(\): |Aborted|core dumped|"
    r"Reason: Worker failed to boot|exited on signal"
)
SHUTDOWN = re.compile(r"Handling signal: (term|int|quit)")
BOOTING = re.compile(r"Booting worker with pid: (\d+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(server_url: str, name: str) -> str:
    return urlunparse(urlparse(server_url)._replace(path=f"/{name}"))


def default_server() -> str:
    """The PostgreSQL server the project uses here: DATABASE_URL's, else the machine's."""
    url = os.environ.get("DATABASE_URL")
    return database_url(url, "postgres") if url else DEFAULT_SERVER


def manage(db_url: str, *args: str, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    """Run a management command against `db_url`; its stdout, or CalledProcessError."""
    full_env = {**os.environ, **(env or {}), "DATABASE_URL": db_url}
    done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    if done.returncode:
        raise subprocess.CalledProcessError(done.returncode, ["manage.py", *args], done.stdout, done.stderr)
    return done.stdout


def prepared_database(name: str, server_url: str | None = None) -> str:
    """Create (if needed) database `name` with postgis and pg_trgm, migrated, Heyang loaded, the
    demo users made and linked to grid people as `./run demo` links them; return its URL. Safe to call from several processes at once."""
    server = server_url or default_server()
    url = database_url(server, name)
    lock_path = Path(tempfile.gettempdir()) / f"gisgrid-prepare-{urlparse(server).port or 5432}-{name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with psycopg.connect(server, autocommit=True) as c:
            if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                c.execute(f'CREATE DATABASE "{name}"')
        with psycopg.connect(url, autocommit=True) as c:
            for ext in ("postgis", "pg_trgm"):
                c.execute(f"CREATE EXTENSION IF NOT EXISTS {ext}")
        manage(url, "migrate", "--noinput", "-v", "0")
        with psycopg.connect(url, autocommit=True) as c:
            loaded = c.execute("SELECT 1 FROM boundaries_edition WHERE status = 'active'").fetchone()
            users = c.execute("SELECT count(*) FROM auth_user WHERE username = ANY(%s)", (list(DEMO_USERS),)).fetchone()[0]
            linked = c.execute("SELECT 1 FROM boundaries_person p JOIN auth_user u ON u.id = p.user_id "
                               "WHERE u.username = 'inspector'").fetchone()
        if not loaded:
            manage(url, "load_heyang")
        if users < len(DEMO_USERS):
            manage(url, "create_demo_users", "--quiet")
        if not linked:
            # The demo's links from accounts to grid people (and its phone), without its
            # simulated week: callers send their own fixes.
            manage(url, "seed_patrol_demo", "--no-simulate")
    return url


def api_token(db_url: str, username: str) -> str:
    """The DRF token of `username` (made if missing), as `drf_create_token` would."""
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute(
            "INSERT INTO authtoken_token (key, created, user_id) SELECT %s, now(), id FROM auth_user "
            "WHERE username = %s ON CONFLICT (user_id) DO NOTHING",
            (secrets.token_hex(20), username),
        )
        row = c.execute("SELECT t.key FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id "
                        "WHERE u.username = %s", (username,)).fetchone()
    if not row:
        raise LookupError(f"no user {username!r} in {db_url}")
    return row[0]


def register_device(db_url: str, identifier: str, person: str = "inspector") -> str:
    """Register phone `identifier` for `person` (username or id); its token."""
    return manage(db_url, "register_device", identifier, "--person", person, "--quiet").strip()


_REGISTER = """
import json, os
from io import StringIO
from django.core.management import call_command
tokens = {}
for ident in json.loads(os.environ["GISGRID_REGISTER"]):
    out = StringIO()
    call_command("register_device", ident, person=os.environ["GISGRID_REGISTER_PERSON"], quiet=True, stdout=out)
    tokens[ident] = out.getvalue().strip()
print(json.dumps(tokens))
"""


def register_devices(db_url: str, identifiers: list[str], person: str = "inspector") -> dict[str, str]:
    """Register many phones in one Django start-up (each start costs seconds); identifier -> token."""
    out = manage(db_url, "shell", "-c", _REGISTER,
                 env={"GISGRID_REGISTER": json.dumps(identifiers), "GISGRID_REGISTER_PERSON": person})
    return json.loads(out.strip().splitlines()[-1])


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) for every process we can read."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # The command name in stat may hold spaces and parentheses: split after the last ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z":
            continue
        table[int(entry)] = (int(fields[1]), cmd)
    return table


class ServerProcess:
    """`./run serve` on a free (or given) port against `database_url`."""

    def __init__(self, database_url: str, port: int | None = None, workers: int = 2,
                 env: dict[str, str] | None = None):
        self.database_url = database_url
        self.port = port or free_port()
        self.workers = workers
        self.env = dict(env or {})
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._stopped_at: int | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="gisgrid-server-"))
        self.log_path = self._dir / "server.log"

    def start(self, timeout: float = 120) -> None:
        # The prepared databases hold the demo accounts: accepted as `./run demo` accepts them.
        # Not the browser fixture's DJANGO_ALLOW_ASYNC_UNSAFE: the server runs as in production.
        inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
        env = {"GISGRID_ALLOW_DEMO": "1", **inherited, **self.env, "DATABASE_URL": self.database_url, "HOST": "127.0.0.1",
               "PORT": str(self.port), "WORKERS": str(self.workers), "PYTHONUNBUFFERED": "1"}
        log = open(self.log_path, "ab")
        # A session of its own: stop() signals the whole group (run script, proxy, gunicorn).
        self.proc = subprocess.Popen([str(ROOT / "run"), "serve"], cwd=ROOT, env=env, stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_text()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200 and \
                        len(self.worker_pids()) == self.total_workers:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not answer /healthz within {timeout} s:\n{self.log_text()[-4000:]}")

    def stop(self, timeout: float = 30) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        # Workers print "Worker exiting" at an orderly shutdown too, sometimes before the
        # master logs the signal: crashes() reads the log only up to here.
        self._stopped_at = len(self.log_text())
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def crashes(self) -> list[str]:
        """Log lines showing a worker crash or restart, up to the master's shutdown signal."""
        found, booted = [], set()
        for line in self.log_text()[:self._stopped_at].splitlines():
            if SHUTDOWN.search(line):
                break
            if CRASH_PATTERNS.search(line):
                found.append(line)
            m = BOOTING.search(line)
            if m:
                booted.add(int(m.group(1)))
                if len(booted) > self.total_workers:
                    found.append(line)
        return found

    @property
    def total_workers(self) -> int:
        """Workers of every pool: `./run serve` starts WORKERS for people, as many for phones,
        and REPORTS_WORKERS (default 1) for patrol reports."""
        return 2 * self.workers + int(self.env.get("REPORTS_WORKERS", os.environ.get("REPORTS_WORKERS", "1")))

    def master_pids(self) -> dict[str, int]:
        """The gunicorn masters among the processes this server started, by pool: "app" for
        people's requests, "ingest" for phones' fixes (its socket is ingest.sock), "reports"
        for patrol reports (reports.sock)."""
        if not self.proc:
            return {}
        table = _proc_table()
        ours = {self.proc.pid}
        grew = True
        while grew:
            kids = {pid for pid, (ppid, _) in table.items() if ppid in ours} - ours
            grew = bool(kids)
            ours |= kids
        masters = {}
        for pid in sorted(ours):
            ppid, cmd = table.get(pid, (0, ""))
            if "gunicorn" in cmd and "gunicorn" not in table.get(ppid, (0, ""))[1]:
                masters["ingest" if "ingest.sock" in cmd else "reports" if "reports.sock" in cmd else "app"] = pid
        return masters

    def push_pids(self) -> set[int]:
        """The push service's processes (uvicorn running gisgrid.push.server, and its workers)."""
        if not self.proc:
            return set()
        table = _proc_table()
        ours, grew = {self.proc.pid}, True
        while grew:
            kids = {pid for pid, (ppid, _) in table.items() if ppid in ours} - ours
            grew = bool(kids)
            ours |= kids
        return {pid for pid in ours if "gisgrid.push.server" in table[pid][1]
                or "gisgrid.push.server" in table.get(table[pid][0], (0, ""))[1]}

    def master_pid(self, pool: str = "app") -> int | None:
        return self.master_pids().get(pool)

    def worker_pids(self, pool: str | None = None) -> set[int]:
        """Worker processes of one pool ("app", "ingest", "reports"), or of all."""
        masters = self.master_pids()
        wanted = {masters[pool]} if pool in masters else set() if pool else set(masters.values())
        return {pid for pid, (ppid, _) in _proc_table().items() if ppid in wanted}


class PrivateCluster:
    """A throw-away PostgreSQL cluster (initdb in a temporary directory, its own port) that a
    test may stop and restart without touching the machine's shared server."""

    def __init__(self, port: int | None = None):
        bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not bindirs:
            raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql")
        self.bin = bindirs[-1]
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="gisgrid-pg-"))
        self.data = self.dir / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_pg(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *cmd], capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            if os.geteuid() == 0:
                subprocess.run(["chown", "-R", "postgres", str(self.dir)], check=True)
            # C.UTF-8 so pg_trgm treats Chinese characters as word characters, as ./run does.
            self._as_pg(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                        "--locale=C.UTF-8", "-E", "UTF8")
        self._as_pg(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w",
                    "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_pg(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        # Not `pg_ctl restart`: it would start the server without the log file, writing to our
        # pipes, which then never close.
        self.stop("fast")
        self.start()

    def destroy(self) -> None:
        self.stop("immediate")
        subprocess.run(["rm", "-rf", str(self.dir)], check=False)

    def __enter__(self) -> PrivateCluster:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.destroy()


def stored_per_device(db_url: str, identifiers: list[str]) -> dict[str, tuple[int, int]]:
    """identifier -> (position rows, distinct fix times): equal when nothing was stored twice."""
    with psycopg.connect(db_url) as c:
        rows = c.execute(
            "SELECT d.identifier, count(p.id), count(DISTINCT p.fix_time) FROM patrols_device d "
            "LEFT JOIN patrols_position p ON p.device_id = d.id WHERE d.identifier = ANY(%s) GROUP BY d.identifier",
            (identifiers,)).fetchall()
    return {ident: (n, distinct) for ident, n, distinct in rows}
