"""Benchmark: the gazetteer against plain pg_trgm similarity, on the phrasings callers use.

    ./run bench geocode
    .venv/bin/python tests/bench/bench_geocode.py [--per-kind 80] [--places 10000]

Runs in a database of its own (`gisgrid_bench_geocode`: created, migrated and loaded with Heyang
on first use, as tests/live_server.prepared_database makes one). The phrasing set comes from
the project's own places (tests/test_geocode_phrasings.phrasings: exact, county in front, full
administrative path, building and unit, a homophone anywhere, a character left out,
traditional characters, pinyin, pinyin initials, landmarks as callers name them, street
crossings), --per-kind of each, seeded.

Two rounds on the same phrasings: Heyang's own places (about 700), then with generated extra
places (compound-like and landmark-like names from the same characters, at random points
inside the county's villages and communities, source `bench-geocode`, removed at the end) to
--places in all. For each round and each kind: top-3 hit rate of the project
(gazetteer.geocode, in process, index warm) and of the baseline (one SQL query: names whose
search_text is trigram-similar to the query, `%` with similarity_threshold 0.1, ordered by
similarity, top 3; it cannot place a crossing), and p50/p99 latency of both.

The last line is ``ratio: X`` = the project's top-3 hit rate / the baseline's, over all
phrasings of the --places round.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gisgrid.settings")

from tests.live_server import prepared_database  # noqa: E402

BENCH_DB = "gisgrid_bench_geocode"
SOURCE = "bench-geocode"
# Characters and endings of generated names: the ones Heyang's own names use most, so that the
# extra places are near neighbours of the real ones (the hard case), not easy noise.
HEADS = list("金阳光华锦绣凤凰泰山和平安康福寿东西南北中新城园林景苑兴盛丰泽龙祥瑞嘉美丽春秋明月星河翠湖")
ENDS = ["家园", "花园", "小区", "苑", "雅居", "华庭", "名都", "新村", "公寓", "佳苑", "嘉园", "雅苑", "丽都", "御府",
        "广场", "商厦", "超市", "诊所", "幼儿园", "药店", "酒店", "宾馆"]


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def add_places(total: int, seed: int = 610524) -> int:
    """Generated places up to `total` in all (source SOURCE)."""
    import shapely
    from django.contrib.gis.geos import Point
    from django.db import connection

    from gisgrid.boundaries.models import Place

    have = Place.objects.count()
    need = max(0, total - have)
    if not need:
        return 0
    rng = random.Random(seed)
    with connection.cursor() as cur:
        cur.execute("SELECT ST_AsBinary(g.geom) FROM boundaries_grid g JOIN boundaries_edition e ON e.id = g.edition_id "
                    "WHERE e.status = 'active' AND g.level = 2 ORDER BY g.code")
        grids = [shapely.from_wkb(bytes(r[0])) for r in cur.fetchall()]
    taken = set(Place.objects.values_list("name", flat=True))
    objs = []
    while len(objs) < need:
        name = rng.choice(HEADS) + rng.choice(HEADS) + (rng.choice(HEADS) if rng.random() < 0.3 else "") + rng.choice(ENDS)
        if name in taken:
            continue
        taken.add(name)
        g = rng.choice(grids)
        minx, miny, maxx, maxy = g.bounds
        while True:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if g.contains(shapely.Point(x, y)):
                break
        kind = "landmark" if name.endswith(("超市", "诊所", "幼儿园", "药店", "酒店", "宾馆", "广场", "商厦")) else "compound"
        aliases = name + "小区" if kind == "compound" and rng.random() < 0.3 else ""
        objs.append(Place(name=name, kind=kind, aliases=aliases, point=Point(x, y, srid=4326), source=SOURCE,
                          search_text=" ".join([name, *([aliases] if aliases else [])])))
    Place.objects.bulk_create(objs, batch_size=1000)
    return len(objs)


def baseline(q: str) -> list[dict]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SET pg_trgm.similarity_threshold = 0.1")
        cur.execute("SELECT name FROM boundaries_place WHERE search_text %% %s "
                    "ORDER BY similarity(search_text, %s) DESC, length(name), name LIMIT 3", [q, q])
        return [{"name": r[0]} for r in cur.fetchall()]


def equal_readings(phrasing, names: list[str], initials: dict[str, list[str]]) -> int:
    """How many places other than the target the phrasing describes exactly as well, by its
    own rule: a name with one character left out, or the same pinyin initials. With three or
    more, no ranking can promise the target a place in the top 3 without knowledge from outside
    the words (which place the caller meant)."""
    q, target = phrasing.query, phrasing.target
    if phrasing.kind == "missing_char":
        return sum(1 for n in names if n != target and len(n) == len(q) + 1
                   and any(n[:i] + n[i + 1:] == q for i in range(len(n))))
    if phrasing.kind == "initials":
        return sum(1 for n in initials.get(q, []) if n != target)
    return 0


def run_round(label: str, phrasing_set, kinds: list[str]) -> float:
    from gisgrid.boundaries.gazetteer import geocode
    from gisgrid.boundaries.place_index import INDEX
    from tests.test_geocode_phrasings import hit

    INDEX.clear()
    t = time.perf_counter()
    index = INDEX.get()
    print(f"\n== {label}: {len(index.places)} places, {len(index.entries)} names and aliases; "
          f"index built in {time.perf_counter() - t:.2f} s")
    for p in phrasing_set[:20]:  # warm both paths (pypinyin and OpenCC caches, pg_trgm functions)
        geocode(p.query, 3)
        baseline(p.query)
    hits = {"project": defaultdict(int), "baseline": defaultdict(int)}
    times: dict[str, list[float]] = {"project": [], "baseline": [], "project_cpu": []}
    counts: dict[str, int] = defaultdict(int)
    misses: dict[str, list[str]] = defaultdict(list)
    hits_by_query: dict[str, bool] = {}
    for p in phrasing_set:
        counts[p.kind] += 1
        t, c = time.perf_counter(), time.thread_time()
        mine = geocode(p.query, 3).places
        times["project"].append((time.perf_counter() - t) * 1000)
        times["project_cpu"].append((time.thread_time() - c) * 1000)
        t = time.perf_counter()
        theirs = baseline(p.query)
        times["baseline"].append((time.perf_counter() - t) * 1000)
        hits["project"][p.kind] += hit(p, mine)
        hits_by_query[p.query] = hit(p, mine)
        if not hit(p, mine):
            misses[p.kind].append(f"{p.query} -> {p.target}: {', '.join(r['name'] for r in mine)}")
        hits["baseline"][p.kind] += hit(p, theirs)
    print(f"{'phrasing kind':<15}{'n':>5}{'project top-3':>15}{'pg_trgm top-3':>15}")
    for k in kinds:
        n = counts[k]
        print(f"{k:<15}{n:>5}{hits['project'][k] / n:>15.1%}{hits['baseline'][k] / n:>15.1%}")
    total = len(phrasing_set)
    mine_rate = sum(hits["project"].values()) / total
    base_rate = sum(hits["baseline"].values()) / total
    print(f"{'all':<15}{total:>5}{mine_rate:>15.1%}{base_rate:>15.1%}")
    for k in kinds:
        for m in misses[k][:3]:
            print(f"  missed ({k}): {m}")
    from pypinyin import lazy_pinyin

    names = sorted({p.name for p in index.places})
    by_initials: dict[str, list[str]] = defaultdict(list)
    for n in names:
        by_initials["".join(s[0] for s in lazy_pinyin(n))].append(n)
    for k in ("missing_char", "initials"):
        mine = [p for p in phrasing_set if p.kind == k]
        tied = {p.query for p in mine if equal_readings(p, names, by_initials) >= 3}
        rest = [p for p in mine if p.query not in tied]
        if mine:
            share = sum(hits_by_query[p.query] for p in rest) / len(rest) if rest else float("nan")
            print(f"  {k}: {len(tied)} of {len(mine)} phrasings read exactly as well as 3 or more other places; "
                  f"top-3 among the other {len(rest)}: {share:.1%}")
    worst = min(hits["project"][k] / counts[k] for k in kinds)
    print(f"worst kind, project: {worst:.1%} (target >= 95 %)")
    for who in ("project", "baseline", "project_cpu"):
        v = times[who]
        print(f"latency {who:<12} p50 {statistics.median(v):6.2f} ms   p99 {percentile(v, 0.99):6.2f} ms   "
              f"max {max(v):6.2f} ms")
    # Wall-clock latency on a shared machine includes time waiting for a core: the load says how much.
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; project_cpu = the search's own "
          "CPU time (thread_time), which other processes do not inflate")
    return mine_rate / base_rate if base_rate else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-kind", type=int, default=80)
    parser.add_argument("--places", type=int, default=10000)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = prepared_database(BENCH_DB)
    import django

    django.setup()
    from gisgrid.boundaries.models import Place
    from gisgrid.boundaries.places_import import import_places_file
    from tests.test_geocode_phrasings import KINDS, index_places, phrasings

    Place.objects.filter(source=SOURCE).delete()  # an aborted run's
    import_places_file(ROOT / "geodata" / "heyang" / "places.geojson", source="heyang/places.geojson")
    try:
        added = add_places(args.places)
        from gisgrid.boundaries.place_index import INDEX

        INDEX.clear()
        every, crossings = index_places()
        generated = {p.name for p in Place.objects.filter(source=SOURCE).only("name")}
        # Targets are the county's own places; the generated names are only avoided as answers.
        real = [p for p in every if p["name"] not in generated]
        phrasing_set = [p for p in phrasings(real, crossings, per_kind=args.per_kind)
                        if p.query not in generated]
        print(f"{len(phrasing_set)} phrasings, {args.per_kind} per kind (fewer where Heyang has fewer)")
        Place.objects.filter(source=SOURCE).delete()
        run_round("Heyang's places", phrasing_set, KINDS)
        add_places(args.places)
        ratio = run_round(f"{args.places} places ({added} generated)", phrasing_set, KINDS)
    finally:
        Place.objects.filter(source=SOURCE).delete()
    print(f"ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
