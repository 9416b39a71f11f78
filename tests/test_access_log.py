"""The served app as nginx fronts it: its access log (nginx's, deploy/nginx.conf.template) never holds a secret: the
value of every token, *_token, password, secret, key or api_key parameter is replaced by ***,
while the rest of the request line stays readable for whoever reads the log."""

from __future__ import annotations

import json
import socket
import time

import httpx

from tests.live_server import ServerProcess, prepared_database


def test_access_log_redacts_secrets_in_queries():
    db = prepared_database("gisgrid_servertest")
    secrets = ["SeCrEt-device-token-1", "SeCrEt-api-key-2", "SeCrEt-x-token-3", "SeCrEt-password-4"]
    with ServerProcess(db, workers=1) as server:
        # Unknown device: refused with 403, but its URL still reaches the log.
        r = httpx.get(f"{server.url}/api/v1/track/osmand",
                      params={"id": "log-probe", "token": secrets[0], "lat": 35.2377, "lon": 110.1496})
        assert r.status_code == 403
        r = httpx.get(f"{server.url}/api/v1/locate",
                      params={"lon": 110.1496, "lat": 35.2377, "api_key": secrets[1], "X_Token": secrets[2]})
        assert r.status_code == 200
        r = httpx.get(f"{server.url}/healthz", params={"password": secrets[3], "tokenish": "kept"})
        assert r.status_code == 200
        # nginx's own refusals are JSON too: a URI over its header buffers (414).
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(f"GET /api/v1/geocode?q={'a' * 40000} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Connection: close\r\n\r\n".encode())
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 414") and b"application/json" in head, head
        assert json.loads(body)["error"] == "too_large"
        deadline = time.monotonic() + 10
        while "/healthz?" not in server.log_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = server.log_text()
    lines = [line for line in log.splitlines() if '"GET /' in line]
    assert any("/api/v1/track/osmand?id=log-probe&token=***&lat=35.2377" in line and '" 403 ' in line
               for line in lines), lines
    assert any("api_key=***" in line and "X_Token=***" in line and "lon=110.1496" in line for line in lines), lines
    assert any("/healthz?password=***&tokenish=kept" in line for line in lines), lines
    for s in secrets:
        assert s not in log
