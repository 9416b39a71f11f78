"""Single-point GET /api/v1/locate through the real HTTP stack on loopback.

Starts the server the way `./run demo` does (gunicorn gthread, gisgrid.wsgi), one worker, against the
database in DATABASE_URL (the dataset must be loaded), then sends sequential keep-alive
requests and reports the median and p99 latency.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(requests: int = 2000, seed: int = 7) -> dict:
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "gisgrid.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--worker-class", "gthread", "--threads", "4", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    try:
        conn = None
        for _ in range(200):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        rng = np.random.default_rng(seed)
        lons = rng.uniform(110.02, 110.40, requests + 50)
        lats = rng.uniform(35.00, 35.40, requests + 50)
        times = []
        for i in range(requests + 50):
            t0 = time.perf_counter()
            conn.request("GET", f"/api/v1/locate?lon={lons[i]:.6f}&lat={lats[i]:.6f}")
            resp = conn.getresponse()
            body = resp.read()
            elapsed = time.perf_counter() - t0
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}: {body[:200]!r}")
            if i >= 50:  # the first requests build the index and warm the connection
                times.append(elapsed * 1000)
        times.sort()
        return {"requests": requests, "median_ms": statistics.median(times),
                "p99_ms": times[int(0.99 * len(times)) - 1], "mean_ms": statistics.fmean(times)}
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    r = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
    print(f"HTTP GET /api/v1/locate: {r['requests']} requests, median {r['median_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms")
