"""Benchmark: the dispatcher's workbench /dispatch/ with 5,000 open cases and all grids, in headless
Chromium against the real server (`./run serve`: nginx, gunicorn, the push service).

    ./run bench mappage
    .venv/bin/python tests/bench/bench_mappage.py [--cases 5000] [--repeat 3] [--changes 20]

A database of its own (`gisgrid_bench_mappage`, made like the demo's by
tests/live_server.prepared_database) holds the 5,000 open cases, inserted with set-based SQL by
tests/bench/bench_cases.py's `build` (reported over the last 30 days at random points of the
grids, routed as reports are) and coloured by one clock pass; kept between runs.

Timed, the project way (the page as users get it):
1. Open /dispatch/: from the navigation's start to the last chunk of markers in the cluster
   group (`markersDrawnAt`, performance.now() in the page), with all 5,000 in the store; the
   median of --repeat page loads.
2. A pushed change shown: a case changed through the API (supervise on/off) while the page is
   open; (a) in the page, from the `case` event's arrival to its marker moved and the queue
   redrawn (the next animation frame): the target is < 100 ms; (b) from the API request sent
   to the change shown on the page (the API's own work, the commit, the push and the drawing).
Baseline in the same run: the same cases the plain way, a page (same origin, Leaflet, no
clustering) reading the paginated case list (/api/v1/cases?status=open, 200 a page, four
pages at a time) and adding one default L.marker per case; from the navigation's start to the
last marker added and one frame drawn.

The last line is ``ratio: X`` = baseline ms ÷ project ms (the first time, the snapshot drawn).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from live_server import ServerProcess, api_token, manage, prepared_database  # noqa: E402

DB_NAME = "gisgrid_bench_mappage"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
TIMEOUT_MS = 120_000

SEED = """
import os, sys
import numpy as np
sys.path.insert(0, "tests/bench")
import bench_cases
from django.utils import timezone
from gisgrid.cases import clocks
from gisgrid.cases.models import Case
n = int(os.environ["BENCH_CASES"])
mine = Case.objects.filter(report__reporter_name=bench_cases.MARK).exclude(state__in=Case.CLOSED_STATES)
if mine.count() != n or Case.objects.exclude(state__in=Case.CLOSED_STATES).count() != n:
    bench_cases.cleanup()
    Case.objects.exclude(state__in=Case.CLOSED_STATES).update(state="voided")
    bench_cases.build(n, 1.0, timezone.now(), np.random.default_rng(12))
    clocks.clock_pass()
print(Case.objects.exclude(state__in=Case.CLOSED_STATES).count())
"""

PLAIN = """<!DOCTYPE html><html lang="zh-hans"><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">
<style>html,body,#map{height:100%;margin:0}</style></head><body><div id="map"></div>
<script src="/static/vendor/leaflet/leaflet.js"></script>
<script>
(async function () {
  const map = L.map("map").setView([35.2385, 110.1449], 10);
  const get = (page) => fetch("/api/v1/cases?status=open&page_size=200&page=" + page,
                              {credentials: "same-origin"}).then((r) => r.json());
  const first = await get(1);
  let rows = first.results;
  const pages = Math.ceil(first.count / 200);
  for (let p = 2; p <= pages; p += 4) {
    const batch = [];
    for (let q = p; q < p + 4 && q <= pages; q++) batch.push(get(q));
    (await Promise.all(batch)).forEach((a) => { rows = rows.concat(a.results); });
  }
  rows.forEach((c) => L.marker([c.wgs84[1], c.wgs84[0]]).bindTooltip(c.number).addTo(map));
  requestAnimationFrame(() => {
    document.documentElement.dataset.plainDrawnAt = String(Math.round(performance.now()));
    document.documentElement.dataset.plainCount = String(rows.length);
  });
})();
</script></body></html>"""


def login(page, base: str) -> None:
    page.goto(f"{base}/accounts/login/?next=/dispatch/")
    page.fill("input[name=username]", "dispatcher")
    page.fill("input[name=password]", "dispatcher-demo")
    page.click("button.primary")
    page.wait_for_url(f"{base}/dispatch/")


def project_load(page, base: str, n: int) -> float:
    page.goto(f"{base}/dispatch/")
    page.wait_for_function(f"document.documentElement.dataset.casesLoaded === '{n}' && "
                           "document.documentElement.dataset.markersDrawnAt !== undefined", timeout=TIMEOUT_MS)
    return float(page.evaluate("document.documentElement.dataset.markersDrawnAt"))


def plain_load(page, base: str, n: int) -> float:
    url = f"{base}/bench-plain/"
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=PLAIN))
    page.goto(url)
    page.wait_for_function("document.documentElement.dataset.plainDrawnAt !== undefined", timeout=TIMEOUT_MS)
    count = int(page.evaluate("document.documentElement.dataset.plainCount"))
    assert count == n, f"the plain page read {count} cases, not {n}"
    return float(page.evaluate("document.documentElement.dataset.plainDrawnAt"))


def pushed_changes(page, http: httpx.Client, token: str, changes: int) -> tuple[list[float], list[float]]:
    page.wait_for_function("document.documentElement.dataset.live === 'open'", timeout=TIMEOUT_MS)
    numbers = page.evaluate(f"window.gisgridDispatch.store.sorted().slice(0, {changes}).map((r) => r.number)")
    render, end_to_end = [], []
    for number in numbers:
        case = http.get(f"/api/v1/cases/{number}", headers={"Authorization": f"Token {token}"}).json()
        body = {"version": case["version"], "active": not case["supervised"], "reason": "bench"}
        sent = time.time()
        r = http.post(f"/api/v1/cases/{number}/supervise", json=body, headers={"Authorization": f"Token {token}"})
        r.raise_for_status()
        want = f"{number}:"
        page.wait_for_function(f"(document.documentElement.dataset.lastCaseEvent || '').startsWith('{want}') && "
                               f"window.gisgridDispatch.store.get('{number}').supervised === {str(body['active']).lower()}",
                               timeout=TIMEOUT_MS)
        render.append(float(page.evaluate("document.documentElement.dataset.lastCaseShownMs")))
        shown_at = float(page.evaluate("document.documentElement.dataset.lastCaseShownAt"))
        end_to_end.append(shown_at - sent * 1000)
    return render, end_to_end


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--changes", type=int, default=20)
    args = ap.parse_args()

    db = prepared_database(DB_NAME)
    t = time.perf_counter()
    open_now = int(manage(db, "shell", "-c", SEED, env={"BENCH_CASES": str(args.cases)}).strip().splitlines()[-1])
    print(f"database {DB_NAME}: {open_now} open cases (ready in {time.perf_counter() - t:.1f} s)")
    token = api_token(db, "dispatcher")

    from playwright.sync_api import sync_playwright

    server = ServerProcess(db, workers=2)
    server.start(timeout=600)  # not `with`: its __enter__ would start with the default timeout
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ctx = browser.new_context(locale="zh-CN", viewport={"width": 1600, "height": 1000})
            page = ctx.new_page()
            login(page, server.url)
            project_load(page, server.url, open_now)  # warm: the server's caches, the browser's files
            project = [project_load(page, server.url, open_now) for _ in range(args.repeat)]
            render, end_to_end = pushed_changes(page, http, token, args.changes)
            plain_page = ctx.new_page()
            plain_load(plain_page, server.url, open_now)  # warm
            plain = [plain_load(plain_page, server.url, open_now) for _ in range(args.repeat)]
            browser.close()
    finally:
        server.stop()
    crashes = server.crashes()

    p_med, b_med = statistics.median(project), statistics.median(plain)
    print(f"cases on the map: {open_now}")
    print(f"project: /dispatch/ markers drawn {p_med:.0f} ms after navigation (median of {args.repeat}: "
          f"{', '.join(f'{x:.0f}' for x in project)})  target < 2000 ms")
    print(f"project: pushed change shown, event -> marker and queue: p50 {pct(render, 50):.1f} ms, "
          f"p95 {pct(render, 95):.1f} ms, max {max(render):.1f} ms over {len(render)}  target < 100 ms")
    print(f"project: API request sent -> change shown on the page: p50 {pct(end_to_end, 50):.0f} ms, "
          f"p95 {pct(end_to_end, 95):.0f} ms")
    print(f"baseline: paginated case list + one L.marker each, drawn {b_med:.0f} ms after navigation "
          f"(median of {args.repeat}: {', '.join(f'{x:.0f}' for x in plain)})")
    print(json.dumps({"project_ms": project, "baseline_ms": plain, "render_ms": render, "end_to_end_ms": end_to_end,
                      "crashes": crashes}))
    print(f"ratio: {b_med / p_med:.2f}")


if __name__ == "__main__":
    main()
