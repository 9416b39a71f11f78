"""No published secrets in production (docs/operations.md, "Production start").

The secret key is made once per installation by `./run`, kept out of the repo with mode 0600;
`check_production` (which `./run serve` runs first) refuses a missing, published or weak key and
accounts that still have their demo password; production mode passes Django's deployment checks,
and `./run serve` with a certificate terminates TLS in front of the app, redirects plain HTTP and
sets secure cookies and HSTS, while without it the demo still works over plain HTTP.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import ssl
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from tests.live_server import ROOT, free_port, prepared_database

DEMO_NAMES = ("admin", "dispatcher", "unitstaff", "gridmember", "inspector", "gridchief", "planner")
# Settings printed by a fresh interpreter, so each run sees only the environment it is given.
PRINT_KEY = ("import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'gisgrid.settings'); "
             "django.setup(); from django.conf import settings; "
             "print(settings.SECRET_KEY, settings.GISGRID_SECRET_KEY_SOURCE)")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the settings these tests control, nor the browser
    fixture's DJANGO_ALLOW_ASYNC_UNSAFE (set for the whole session once a browser test ran;
    `check --deploy` rightly refuses it)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("GISGRID_SECRET_KEY", "GISGRID_SECRET_KEY_FILE", "GISGRID_PRODUCTION",
                        "GISGRID_ALLOW_DEMO", "GISGRID_TLS_CERT", "GISGRID_TLS_KEY", "GISGRID_DEBUG",
                        "GISGRID_ALLOWED_HOSTS", "HTTP_PORT", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    return {**env, **extra}


def make_key(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "run"), "secret-key"], cwd=ROOT, capture_output=True, text=True,
                          env=clean_env(GISGRID_SECRET_KEY_FILE=str(path)), timeout=60)


def settings_key(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PRINT_KEY], cwd=ROOT, capture_output=True, text=True,
                          env=clean_env(**env), timeout=60)


# --- the key -------------------------------------------------------------------------------

def test_key_is_made_once_private_and_reused(tmp_path):
    path = tmp_path / "etc" / "secret_key"
    first = make_key(path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == str(path)
    key = path.read_text().strip()
    assert len(key) >= 50 and len(set(key)) >= 5
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert make_key(path).returncode == 0
    assert path.read_text().strip() == key, "a second ./run made a new key"
    # Django reads that file when the environment names no key; the environment's key wins.
    shown = settings_key(GISGRID_SECRET_KEY_FILE=str(path))
    assert shown.stdout.split() == [key, "file"], shown.stderr
    assert settings_key(GISGRID_SECRET_KEY_FILE=str(path), GISGRID_SECRET_KEY="k" * 60).stdout.split() \
        == ["k" * 60, "env"]


def test_concurrent_first_runs_agree_on_one_key(tmp_path):
    path = tmp_path / "secret_key"
    with ThreadPoolExecutor(6) as pool:
        runs = list(pool.map(lambda _: make_key(path), range(6)))
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"], "a temporary key file was left"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Every run's server would have signed with the same key.
    assert len(path.read_text().strip()) >= 50


def test_installation_key_is_never_tracked():
    ignored = subprocess.run(["git", "check-ignore", "-q", "var/secret_key"], cwd=ROOT)
    assert ignored.returncode == 0, "var/secret_key is not ignored by git"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert not [p for p in tracked.splitlines() if p.endswith("secret_key")]
    key_file = ROOT / "var" / "secret_key"
    if key_file.exists():  # made by ./run on this machine: its value is in no tracked file
        found = subprocess.run(["git", "grep", "-qF", "-e", key_file.read_text().strip()], cwd=ROOT)
        assert found.returncode == 1


def test_no_fixed_default_key(tmp_path):
    """Outside ./run with no key anywhere, each process has its own random key (tests, one-off
    commands); production mode refuses to start without one."""
    missing = str(tmp_path / "none")
    one, two = settings_key(GISGRID_SECRET_KEY_FILE=missing), settings_key(GISGRID_SECRET_KEY_FILE=missing)
    assert one.returncode == 0 and two.returncode == 0, one.stderr
    assert one.stdout.split()[1] == "ephemeral"
    assert one.stdout.split()[0] != two.stdout.split()[0]
    prod = settings_key(GISGRID_SECRET_KEY_FILE=missing, GISGRID_PRODUCTION="1")
    assert prod.returncode != 0
    assert "no secret key" in prod.stderr


# --- check_production ----------------------------------------------------------------------

GOOD_KEY = secrets.token_urlsafe(50)


def check_production(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("check_production", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args: str) -> str:
    err = StringIO()
    with pytest.raises(CommandError, match="not fit to serve"):
        call_command("check_production", *args, stdout=StringIO(), stderr=err)
    return err.getvalue()


@pytest.mark.django_db
@override_settings(SECRET_KEY=GOOD_KEY, GISGRID_SECRET_KEY_SOURCE="env")
def test_check_production_refuses_demo_passwords_until_changed():
    call_command("create_demo_users", "--quiet")
    problems = refused()
    for name in DEMO_NAMES:
        assert f"account {name} still has a published demo password" in problems
    # ./run demo accepts them; the key is still checked.
    assert "fit to serve" in check_production("--allow-demo")[0]
    for user in User.objects.filter(username__in=DEMO_NAMES):
        if user.username == "inspector":
            user.is_active = False  # a switched-off account cannot sign in: no problem
        else:
            user.set_password(secrets.token_urlsafe(16))
        user.save()
    assert "fit to serve" in check_production()[0]
    # Another staff account given a demo password is found too.
    User.objects.create_user("zhangwei", password="admin-demo", is_staff=True)
    assert "account zhangwei still has" in refused()


@pytest.mark.parametrize(("key", "reason"), [
    ("dev-only-insecure-key-change-me", "published default"),
    ("django-insecure-" + "x1y2z3" * 10, "published default"),
    ("short-key", "too weak"),
    ("ab" * 40, "too weak"),
])
def test_check_production_refuses_weak_keys(key, reason):
    with override_settings(SECRET_KEY=key, GISGRID_SECRET_KEY_SOURCE="env"):
        assert reason in refused("--allow-demo")


def test_check_production_refuses_a_per_process_key_and_a_readable_key_file(tmp_path):
    with override_settings(SECRET_KEY=GOOD_KEY, GISGRID_SECRET_KEY_SOURCE="ephemeral"):
        assert "no secret key for this installation" in refused("--allow-demo")
    key_file = tmp_path / "secret_key"
    key_file.write_text(GOOD_KEY)
    with override_settings(SECRET_KEY=GOOD_KEY, GISGRID_SECRET_KEY_SOURCE="file", GISGRID_SECRET_KEY_FILE=key_file):
        key_file.chmod(0o644)
        assert "chmod 600" in refused("--allow-demo")
        key_file.chmod(0o600)
        assert "fit to serve" in check_production("--allow-demo")[0]


# --- production mode and plain-HTTP demo ------------------------------------------------------

def manage_check_deploy(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=clean_env(GISGRID_SECRET_KEY=secrets.token_urlsafe(50),
                                        GISGRID_ALLOWED_HOSTS="grid.heyang.example", **env))


def test_check_deploy_passes_in_production_mode_only():
    # The security checks (what check_production asks of `./run serve`), then every check.
    for args in (("--tag", "security"), ()):
        prod = manage_check_deploy(*args, GISGRID_PRODUCTION="1")
        assert prod.returncode == 0, prod.stdout + prod.stderr
        assert "no issues" in prod.stdout
    plain = manage_check_deploy("--tag", "security")
    assert plain.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in plain.stdout + plain.stderr


@pytest.mark.django_db
def test_demo_signs_in_over_plain_http():
    """Without production mode (./run demo on 127.0.0.1) nothing redirects to HTTPS and the
    cookies are sent over plain HTTP, CSRF check included."""
    call_command("create_demo_users", "--quiet")
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert not page.cookies["csrftoken"]["secure"]
    signed_in = client.post("/accounts/login/", {"username": "dispatcher", "password": "dispatcher-demo",
                                                 "csrfmiddlewaretoken": page.cookies["csrftoken"].value})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/map/"
    assert not signed_in.cookies["sessionid"]["secure"]
    assert "Strict-Transport-Security" not in signed_in


# --- ./run serve ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served_db() -> str:
    return prepared_database("gisgrid_servertest")


def test_run_serve_refuses_demo_passwords(served_db, tmp_path):
    port = free_port()
    run = subprocess.run([str(ROOT / "run"), "serve"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=clean_env(DATABASE_URL=served_db, HOST="127.0.0.1", PORT=str(port),
                                       GISGRID_SECRET_KEY_FILE=str(tmp_path / "secret_key")))
    assert run.returncode != 0
    assert "account admin still has a published demo password" in run.stderr
    assert "not serving" in run.stderr
    assert "serving on" not in run.stderr
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    # Production mode redirects plain HTTP to HTTPS: without a certificate nothing would answer.
    no_tls = subprocess.run([str(ROOT / "run"), "serve"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env=clean_env(DATABASE_URL=served_db, PORT=str(port), GISGRID_PRODUCTION="1",
                                          GISGRID_ALLOW_DEMO="1", GISGRID_SECRET_KEY_FILE=str(tmp_path / "secret_key")))
    assert no_tls.returncode != 0
    assert "GISGRID_PRODUCTION=1 needs GISGRID_TLS_CERT" in no_tls.stderr


@pytest.fixture
def tls_server(served_db, tmp_path):
    """`./run serve` with a self-signed certificate for 127.0.0.1: TLS on one port, the HTTP
    redirect on another. Demo accounts are accepted (the prepared database has them)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    https_port, http_port = free_port(), free_port()
    log = tmp_path / "server.log"
    env = clean_env(DATABASE_URL=served_db, HOST="127.0.0.1", PORT=str(https_port), HTTP_PORT=str(http_port),
                    WORKERS="1", GISGRID_TLS_CERT=str(cert), GISGRID_TLS_KEY=str(key), GISGRID_ALLOW_DEMO="1",
                    GISGRID_SECRET_KEY_FILE=str(tmp_path / "secret_key"))
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(ROOT / "run"), "serve"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    tls = ssl.create_default_context(cafile=str(cert))
    base = f"https://127.0.0.1:{https_port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", verify=tls, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base, f"http://127.0.0.1:{http_port}", tls, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_run_serve_with_a_certificate_is_production(tls_server):
    base, plain, tls, log = tls_server
    health = httpx.get(f"{base}/healthz", verify=tls)
    assert health.status_code == 200
    assert health.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"

    # Plain HTTP only redirects, token and all, to the same URL over HTTPS; nothing reaches the app.
    moved = httpx.get(f"{plain}/api/v1/track/osmand?id=p1&token=s3cr3t-tok&lat=35.2&lon=110.1")
    assert moved.status_code == 301
    assert moved.headers["Location"] == f"{base}/api/v1/track/osmand?id=p1&token=s3cr3t-tok&lat=35.2&lon=110.1"

    # Signing in over HTTPS: the app sees the request as secure (X-Forwarded-Proto from nginx),
    # so its CSRF check accepts the HTTPS referer and both cookies are marked Secure.
    with httpx.Client(base_url=base, verify=tls) as browser:
        form = browser.get("/accounts/login/")
        assert form.status_code == 200
        assert re.search(r"csrftoken=[^;]+;.*\bSecure\b", form.headers["Set-Cookie"], re.I)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        signed_in = browser.post("/accounts/login/", headers={"Referer": f"{base}/accounts/login/"},
                                 data={"csrfmiddlewaretoken": token, "username": "dispatcher",
                                       "password": "dispatcher-demo"})
        assert signed_in.status_code == 302, signed_in.text[:500]
        assert signed_in.headers["Location"] == "/map/"
        assert re.search(r"sessionid=[^;]+;.*\bSecure\b", signed_in.headers["Set-Cookie"], re.I)
        assert browser.get("/map/").status_code == 200
    text = log.read_text()
    assert "s3cr3t-tok" not in text, "the redirect server logged a device token"
    assert f"serving on {base}/map/" in text
