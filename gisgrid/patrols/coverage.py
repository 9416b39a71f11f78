"""Patrol coverage and the inspectors' schedule: the business rules, as plain functions.

Method (docs/patrols.md "Coverage"): the track is a line, not a cloud of points. Consecutive
fixes of one person, split where the phone fell silent for longer than the session gap, form
straight segments; a fix with no neighbour in its session counts as a point. Segments are
clipped against the grid polygons in a metric CRS, so

- distance in a grid = length of the track inside it,
- time in a grid = each segment's duration × the fraction of its length inside (a segment of
  zero length, someone standing still, counts its whole duration where it stands),
- first/last seen = the moment the track enters/leaves the grid, interpolated along the segment,
- a walker who crosses a small grid between two fixes still visits it,
- share = area of the grid within `radius_m` of the track ÷ the grid's area.

Everything is vectorised with shapely 2: one STRtree over the segments is queried with every
grid polygon (GEOS prepares the polygon once per query), most segments lie wholly inside one
grid (a prepared `covers` answers those), and only the segments that cross a boundary are
clipped with a real intersection. The area share, the costly part, buffers short runs of the
track and unions them per block of grids on a small thread pool while the clipping proceeds.

Threads (docs/threads.md): a GridSet is cached per process and read by every request thread and
every pool thread, so it keeps the polygons as WKB and each thread builds its own prepared copy
on first use; a pool task gets WKB and indices from the request, never the request's geometries.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.conf import settings
from django.db import connection

from gisgrid.boundaries import geometry
from gisgrid.boundaries.edition_cache import EditionCache, PerThread
from gisgrid.county_time import iso

from .tracks import Track, split_at_gaps

# ---------------------------------------------------------------------------------------------
# Grids in metres, cached per edition


class GridSet:
    """Grid polygons of one edition in GISGRID_METRIC_SRID, with their attributes.

    Shared by threads: holds the polygons as WKB (`wkb`) and plain arrays. `geoms` is the
    calling thread's own prepared copy, built on the thread's first use and kept on this set
    (freed with it). Sets from `select` and `subset` index the same copies, so no thread builds
    its polygons twice. `geoms` may be given as geometries or as WKB; geometries are copied
    through WKB, the given objects are not kept.
    """

    def __init__(self, edition_id: int, edition_name: str, edition_version: int, codes: list[str],
                 names: list[str], levels: np.ndarray, urban: np.ndarray, geoms: np.ndarray, areas: np.ndarray):
        self.edition_id = edition_id
        self.edition_name = edition_name
        self.edition_version = edition_version
        self.codes = codes
        self.names = names
        self.levels = levels  # int
        self.urban = urban  # bool: the grid or its parent is an urban community (the county town)
        self.areas = areas  # m², from the metric polygons (what share is measured against)
        wkb = np.asarray(geoms, dtype=object)
        if len(wkb) and not isinstance(wkb[0], bytes):
            wkb = shapely.to_wkb(wkb)
        self.wkb: np.ndarray = wkb
        self._copies: PerThread[np.ndarray] = PerThread(lambda: _prepared(wkb))
        self._subsets: dict[tuple, GridSet] = {}

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def geoms(self) -> np.ndarray:
        """This thread's own prepared polygons (metres), one per grid: use on this thread only."""
        return self._copies.get()

    def _view(self, idx: np.ndarray) -> GridSet:
        """The grids at `idx`, their polygons taken from this set's per-thread copies."""
        sub = GridSet.__new__(GridSet)
        sub.edition_id, sub.edition_name, sub.edition_version = (
            self.edition_id, self.edition_name, self.edition_version)
        sub.codes = [self.codes[i] for i in idx]
        sub.names = [self.names[i] for i in idx]
        sub.levels, sub.urban, sub.areas, sub.wkb = self.levels[idx], self.urban[idx], self.areas[idx], self.wkb[idx]
        parent = self._copies
        sub._copies = PerThread(lambda: parent.get()[idx])
        sub._subsets = {}
        return sub

    def select(self, level: int | None = None, urban_only: bool = False) -> GridSet:
        """The grids of one level (None: all), only urban ones if asked; cached on this set."""
        key = (level, bool(urban_only))
        sub = self._subsets.get(key)
        if sub is None:
            keep = np.ones(len(self.codes), dtype=bool)
            if level is not None:
                keep &= self.levels == level
            if urban_only:
                keep &= self.urban
            # Two threads racing here build two equal views; either one is right.
            sub = self._subsets.setdefault(key, self._view(np.flatnonzero(keep)))
        return sub

    def subset(self, codes: Sequence[str]) -> GridSet:
        """The grids whose code is in `codes` (any level), in this set's order."""
        wanted = set(codes)
        return self._view(np.array([i for i, c in enumerate(self.codes) if c in wanted], dtype=int))


def _prepared(wkb: np.ndarray) -> np.ndarray:
    """One thread's polygons from WKB, prepared (GEOS builds each index on first use)."""
    geoms = shapely.from_wkb(wkb) if len(wkb) else np.array([], dtype=object)
    if len(geoms):
        shapely.prepare(geoms)
    return geoms


def _build_grid_set(edition_id: int, name: str, version: int) -> GridSet:
    # Level-3 urban grids carry urban=False themselves: the flag sits on the level-2 community
    # they are drawn over. "Urban" here means the grid's own flag or its parent's.
    with connection.cursor() as cur:
        cur.execute(
            "SELECT g.code, g.name, g.level, g.urban OR coalesce(p.urban, false), ST_AsBinary(g.geom) "
            "FROM boundaries_grid g LEFT JOIN boundaries_grid p ON p.id = g.parent_id "
            "WHERE g.edition_id = %s ORDER BY g.level, g.code", [edition_id])
        rows = cur.fetchall()
    geoms = shapely.from_wkb([bytes(r[4]) for r in rows]) if rows else np.array([], dtype=object)
    if len(geoms):
        geoms = geometry.to_metric(geoms)
        bad = ~shapely.is_valid(geoms)
        if bad.any():  # reprojection can fold a sliver; clipping invalid polygons raises
            geoms[bad] = shapely.make_valid(geoms[bad])
    # The set keeps WKB only: these geometries are this thread's and are dropped here.
    return GridSet(
        edition_id=edition_id, edition_name=name, edition_version=version,
        codes=[r[0] for r in rows], names=[r[1] for r in rows],
        levels=np.array([r[2] for r in rows], dtype=int), urban=np.array([r[3] for r in rows], dtype=bool),
        geoms=shapely.to_wkb(geoms) if len(geoms) else np.array([], dtype=object),
        areas=shapely.area(geoms) if len(geoms) else np.zeros(0),
    )


def grid_set(edition_id: int | None = None, *, level: int | None = None, urban_only: bool = False) -> GridSet:
    """The metric grids of `edition_id` (default: the active edition), cached per (id, version).

    Raises LookupError when there is no such edition. One small query per call reads the
    edition's version, so a draft edited since the last call is rebuilt (locate does the same).
    """
    return _grid_sets.get(edition_id).select(level, urban_only)


_grid_sets: EditionCache[GridSet] = EditionCache(_build_grid_set)


def clear_cache() -> None:
    _grid_sets.clear()


# ---------------------------------------------------------------------------------------------
# Segments


@dataclass
class Segments:
    """All tracks cut into straight pieces between consecutive fixes of one session."""

    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    t0: np.ndarray
    t1: np.ndarray
    owner: np.ndarray  # index into the tracks list
    session: np.ndarray  # global session number
    length: np.ndarray
    sessions: list[tuple[int, int, int]]  # (track index, i, j) per global session number
    _geoms: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.x0)

    @property
    def geoms(self) -> np.ndarray:
        """LineString per segment, or a Point where it has no length (lone fix, standing still).

        Built on first use: share() needs only the coordinates, so it can start on the pool
        while the calling thread builds these for clip().
        """
        if self._geoms is None:
            geoms = np.empty(len(self.x0), dtype=object)
            line = self.length > 0
            geoms[line] = shapely.linestrings(np.stack([
                np.column_stack([self.x0[line], self.y0[line]]),
                np.column_stack([self.x1[line], self.y1[line]])], axis=1))
            geoms[~line] = shapely.points(self.x0[~line], self.y0[~line])
            self._geoms = geoms
        return self._geoms


def segments(tracks: Sequence[Track], gap_s: float) -> Segments:
    parts: list[tuple] = []
    sessions: list[tuple[int, int, int]] = []
    for k, tr in enumerate(tracks):
        for i, j in split_at_gaps(tr.t, gap_s):
            sid = len(sessions)
            sessions.append((k, i, j))
            if j - i == 1:  # a lone fix: a point of no duration
                a = b = slice(i, i + 1)
            else:
                a, b = slice(i, j - 1), slice(i + 1, j)
            n = a.stop - a.start
            parts.append((tr.x[a], tr.y[a], tr.x[b], tr.y[b], tr.t[a], tr.t[b],
                          np.full(n, k), np.full(n, sid)))
    if not parts:
        e = np.zeros(0)
        return Segments(e, e, e, e, e, e, e.astype(int), e.astype(int), e, [])
    x0, y0, x1, y1, t0, t1, owner, session = (np.concatenate(c) for c in zip(*parts, strict=True))
    return Segments(x0, y0, x1, y1, t0, t1, owner, session, np.hypot(x1 - x0, y1 - y0), sessions)


@dataclass
class Clip:
    """(grid, segment) pairs where the track touches the grid, with what lies inside."""

    grid: np.ndarray  # index into the GridSet
    seg: np.ndarray  # index into Segments
    inside_m: np.ndarray  # length of the segment inside the grid
    inside_s: np.ndarray  # time spent inside
    t_in: np.ndarray  # epoch seconds at entry
    t_out: np.ndarray  # epoch seconds at exit


def clip(segs: Segments, grids: GridSet) -> Clip:
    """Clip every segment against every grid it touches (closed polygons: the boundary counts)."""
    if len(segs) == 0 or len(grids) == 0:
        e = np.zeros(0)
        return Clip(e.astype(int), e.astype(int), e, e, e, e)
    tree = shapely.STRtree(segs.geoms)
    # Query the segment tree with the polygons: GEOS prepares each polygon once for all its
    # candidates (querying the polygon tree with segments would prepare every segment instead).
    gi, si = tree.query(grids.geoms, predicate="intersects")
    # Most pieces of a walk lie wholly inside one grid: a prepared covers settles them.
    whole = shapely.covers(grids.geoms[gi], segs.geoms[si])
    f_in = np.zeros(len(gi))
    f_out = np.ones(len(gi))
    inside_m = segs.length[si].copy()
    keep = np.ones(len(gi), dtype=bool)
    part = np.flatnonzero(~whole)
    if len(part):
        pg, ps = gi[part], si[part]
        inter = shapely.intersection(segs.geoms[ps], grids.geoms[pg])
        inside_m[part] = shapely.length(inter)
        coords, which = shapely.get_coordinates(inter, return_index=True)
        # Where along its segment each piece of the clipped line lies (line_locate_point, done
        # by hand: for a straight two-point line the projection is one dot product).
        s = ps[which]
        dx, dy = segs.x1[s] - segs.x0[s], segs.y1[s] - segs.y0[s]
        f = ((coords[:, 0] - segs.x0[s]) * dx + (coords[:, 1] - segs.y0[s]) * dy) / (dx * dx + dy * dy)
        f = np.clip(f, 0.0, 1.0)
        lo = np.full(len(part), np.inf)
        hi = np.full(len(part), -np.inf)
        np.minimum.at(lo, which, f)
        np.maximum.at(hi, which, f)
        # Rounding can make GEOS say "intersects" and then clip to nothing: not a visit.
        empty = ~np.isfinite(lo)
        keep[part[empty]] = False
        f_in[part] = np.where(empty, 0.0, lo)
        f_out[part] = np.where(empty, 0.0, hi)
    dt_ = segs.t1[si] - segs.t0[si]
    length = segs.length[si]
    frac = np.where(length > 0, inside_m / np.where(length > 0, length, 1.0), 1.0)
    t_in = segs.t0[si] + f_in * dt_
    t_out = segs.t0[si] + f_out * dt_
    return Clip(gi[keep], si[keep], inside_m[keep], (dt_ * frac)[keep], t_in[keep], t_out[keep])


# Pieces of track buffered at once when measuring share. GEOS buffers a line by noding all of
# its offset curves together, so the cost climbs with the line's self-crossings: a whole day's
# noisy walk, or all the lines near one grid buffered as one MultiLineString, costs 4-5x more
# than short pieces buffered separately and then unioned (bench day, docs/patrols.md).
RUN_SEGMENTS = 20
# shapely releases the GIL inside GEOS, so share() runs on a few threads: the runs are buffered
# in chunks, then the grids, cut into spatial blocks, are unioned and clipped block by block.
# GISGRID_COVERAGE_THREADS: `./run serve` gives the reports pool one, so reports never take every core.
WORKERS = max(1, int(os.environ.get("GISGRID_COVERAGE_THREADS") or min(4, os.cpu_count() or 1)))
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="coverage")
    return _pool


def _blocks(grids: GridSet, count: int) -> list[np.ndarray]:
    """Grid indices cut into about `count` spatially compact blocks (columns, then rows)."""
    if len(grids) == 0:
        return []
    c = shapely.centroid(grids.geoms)
    cx, cy = shapely.get_x(c), shapely.get_y(c)
    cols = max(1, int(round(np.sqrt(count))))
    rows = max(1, count // cols)
    out = []
    for col in np.array_split(np.argsort(cx, kind="stable"), cols):
        out.extend(part for part in np.array_split(col[np.argsort(cy[col], kind="stable")], rows) if len(part))
    return out


def _run_lines(segs: Segments) -> np.ndarray:
    """The segments joined back into lines of up to RUN_SEGMENTS consecutive pieces of a session."""
    n = len(segs)
    k = np.arange(n)
    new_session = np.r_[True, segs.session[1:] != segs.session[:-1]]
    first = np.flatnonzero(new_session)
    pos = k - first[np.cumsum(new_session) - 1]  # position within its session
    starts_mask = new_session | (pos % RUN_SEGMENTS == 0)
    run = np.cumsum(starts_mask) - 1
    starts = np.flatnonzero(starts_mask)
    ends = np.r_[starts[1:], n]
    m = len(starts)
    # Each run's coordinates: the start of each of its segments, then the end of its last one.
    xs, ys, idx = np.empty(n + m), np.empty(n + m), np.empty(n + m, dtype=int)
    at = k + run
    xs[at], ys[at], idx[at] = segs.x0, segs.y0, run
    at = ends + np.arange(m)
    xs[at], ys[at], idx[at] = segs.x1[ends - 1], segs.y1[ends - 1], np.arange(m)
    return shapely.linestrings(xs, ys, indices=idx)


def share(segs: Segments, grids: GridSet, radius_m: float) -> np.ndarray:
    """Per grid: the fraction of its area within `radius_m` of any track (0..1).

    The track is cut into runs of up to RUN_SEGMENTS consecutive segments of one session (a
    lone fix is a run of no length: its buffer is a disc). Per block of neighbouring grids, the
    runs within `radius_m` of the block are buffered, unioned, and the union clipped to each
    grid. Exact up to GEOS's polygonal arcs (8 segments a quarter circle, as ST_Buffer's).
    """
    return _share_started(segs, grids, radius_m)()


def _share_started(segs: Segments, grids: GridSet, radius_m: float) -> Callable[[], np.ndarray]:
    """Start share() on the worker threads; the returned function waits for it and answers.

    Two steps, each spread over the pool: buffer every run once, then per block of grids union
    the buffers of the runs near it and clip. coverage() clips segments on its own thread
    meanwhile, so every core stays busy.
    """
    out = np.zeros(len(grids))
    if len(segs) == 0 or len(grids) == 0:
        return lambda: out
    lines = _run_lines(segs)
    gi, ri = shapely.STRtree(lines).query(grids.geoms, predicate="dwithin", distance=radius_m)
    serial = WORKERS == 1 or len(lines) < 200  # a pool hop costs more than a small answer
    blocks = _blocks(grids, 1 if serial else 4 * WORKERS)
    block_of = np.empty(len(grids), dtype=int)
    for b, block in enumerate(blocks):
        block_of[block] = b
    near = [np.unique(ri[block_of[gi] == b]) for b in range(len(blocks))]

    def block_share(block: np.ndarray, buffers: np.ndarray) -> np.ndarray:
        # grids.geoms is the calling thread's own copy: the request's here, a pool thread's there.
        seen = shapely.union_all(buffers)
        return shapely.area(shapely.intersection(seen, grids.geoms[block])) / grids.areas[block]

    if serial:
        buffered = shapely.buffer(lines, radius_m)
        for block, runs in zip(blocks, near, strict=True):
            if len(runs):
                out[block] = block_share(block, buffered[runs])
        return lambda: np.clip(out, 0.0, 1.0)

    # The pool threads get the runs and their buffers as WKB, never this thread's geometries
    # (or one another's): each task builds its own from the bytes. Exact, and cheap: ~20 ms of
    # the ~1.3 s CPU a day of ten inspectors (57,600 fixes) costs (docs/threads.md).
    pool = _executor()
    lines_wkb = shapely.to_wkb(lines)
    chunks = np.array_split(np.arange(len(lines)), 2 * WORKERS)
    buffer_futures = [pool.submit(_buffer_wkb, lines_wkb[c], radius_m) for c in chunks]

    def pool_block_share(block: np.ndarray, runs: np.ndarray) -> np.ndarray:
        if len(runs) == 0:
            return np.zeros(len(block))
        # Block tasks wait here for the buffer tasks. Those were queued first and the pool is
        # FIFO, so they are running or done by the time a block task starts: no deadlock.
        buffers_wkb = np.concatenate([f.result() for f in buffer_futures])
        return block_share(block, shapely.from_wkb(buffers_wkb[runs]))

    futures = [pool.submit(pool_block_share, block, runs) for block, runs in zip(blocks, near, strict=True)]

    def finish() -> np.ndarray:
        for block, fut in zip(blocks, futures, strict=True):
            out[block] = fut.result()
        return np.clip(out, 0.0, 1.0)

    return finish


def _buffer_wkb(lines_wkb: np.ndarray, radius_m: float) -> np.ndarray:
    """Buffers of the lines, WKB in and out (a pool task: its geometries stay on its thread)."""
    return shapely.to_wkb(shapely.buffer(shapely.from_wkb(lines_wkb), radius_m))


# ---------------------------------------------------------------------------------------------
# Idle stretches


@dataclass
class Idle:
    start: float
    end: float
    duration_s: float
    lon: float  # the stretch's first fix, the centre the idle radius is measured from
    lat: float


def idle_stretches(track: Track, ranges: Sequence[tuple[int, int]], radius_m: float, min_s: float) -> list[Idle]:
    """Maximal runs within one session that stay within `radius_m` of the run's first fix for
    at least `min_s` seconds; runs do not overlap (the next one starts after the last ended)."""
    n = len(track)
    if n == 0:
        return []
    x, y, t = track.x, track.y, track.t
    session_end = np.empty(n, dtype=int)
    for i, j in ranges:
        session_end[i:j] = j
    # exit[i]: the first index after i that is farther than the radius from fix i (or the
    # session's end). Vectorised over anchors, one step of look-ahead per round: a walker
    # leaves within a few fixes, so the rounds are as many as the longest stay is long.
    exit_ = session_end.copy()
    open_ = np.arange(n)
    r2 = radius_m * radius_m
    d = 1
    while len(open_):
        k = open_ + d
        alive = k < session_end[open_]
        open_, k = open_[alive], k[alive]
        out = (x[k] - x[open_]) ** 2 + (y[k] - y[open_]) ** 2 > r2
        exit_[open_[out]] = k[out]
        open_ = open_[~out]
        d += 1
    last = exit_ - 1
    candidates = np.flatnonzero(t[last] - t >= min_s)
    found: list[Idle] = []
    free_from = 0
    for i in candidates.tolist():  # few: only anchors that begin a long enough stay
        if i < free_from:
            continue
        j = int(last[i])
        found.append(Idle(float(t[i]), float(t[j]), float(t[j] - t[i]), float(track.lon[i]), float(track.lat[i])))
        free_from = j + 1
    return found


# ---------------------------------------------------------------------------------------------
# Coverage


@dataclass
class Visitor:
    person_id: int
    name: str
    role: str
    time_s: float
    distance_m: float
    first_seen: float
    last_seen: float


@dataclass
class GridCoverage:
    code: str
    name: str
    level: int
    visited: bool
    visitors: list[Visitor]
    time_s: float
    distance_m: float
    share: float
    first_seen: float | None
    last_seen: float | None


@dataclass
class PersonCoverage:
    person_id: int
    name: str
    role: str
    grids: list[str]
    distance_m: float
    patrol_s: float
    sessions: int
    fixes: int
    idle: list[Idle]
    # The grids the person serves (grid members: their own grid), whether they walked each.
    own_grids: list[dict] = field(default_factory=list)


@dataclass
class CoverageResult:
    grids: list[GridCoverage]
    unvisited: list[str]
    people: list[PersonCoverage]


def _group_min_max_sum(keys: np.ndarray, *, sums: Sequence[np.ndarray], mins: np.ndarray, maxs: np.ndarray):
    """Per distinct key: the key, sums of each array, min of `mins`, max of `maxs`."""
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    return (k[starts], [np.add.reduceat(s[order], starts) for s in sums],
            np.minimum.reduceat(mins[order], starts), np.maximum.reduceat(maxs[order], starts))


def coverage(
    tracks: Sequence[Track],
    grids: GridSet,
    *,
    radius_m: float | None = None,
    gap_s: float | None = None,
    idle: dict | None = None,
) -> CoverageResult:
    """Who walked where: per grid visits, time, distance, share; blind spots; per person totals."""
    radius_m = float(settings.GISGRID_PATROL_RADIUS_M if radius_m is None else radius_m)
    gap_s = float(settings.GISGRID_PATROL_SESSION_GAP_S if gap_s is None else gap_s)
    idle_cfg = {**settings.GISGRID_PATROL_IDLE, **(idle or {})}
    tracks = [tr for tr in tracks if len(tr)]
    segs = segments(tracks, gap_s)
    shares_done = _share_started(segs, grids, radius_m)
    c = clip(segs, grids)

    owner = segs.owner[c.seg]
    n_people = max(len(tracks), 1)
    visitors: list[list[Visitor]] = [[] for _ in range(len(grids))]
    if len(c.grid):
        keys, (secs, metres), first, last = _group_min_max_sum(
            c.grid * n_people + owner, sums=[c.inside_s, c.inside_m], mins=c.t_in, maxs=c.t_out)
        for key, s, m, a, b in zip(keys.tolist(), secs.tolist(), metres.tolist(), first.tolist(), last.tolist(),
                                   strict=True):
            g, k = divmod(key, n_people)
            tr = tracks[k]
            visitors[g].append(Visitor(tr.person_id, tr.person_name, tr.role, s, m, a, b))

    people = []
    seg_dist = np.bincount(segs.owner, weights=segs.length, minlength=len(tracks)) if len(segs) else np.zeros(len(tracks))
    grids_of: list[set[int]] = [set() for _ in tracks]
    for g, k in set(zip(c.grid.tolist(), owner.tolist(), strict=True)):
        grids_of[k].add(g)
    by_track: list[list[tuple[int, int]]] = [[] for _ in tracks]
    for k, i, j in segs.sessions:
        by_track[k].append((i, j))
    for k, tr in enumerate(tracks):
        ranges = by_track[k]
        people.append(PersonCoverage(
            person_id=tr.person_id, name=tr.person_name, role=tr.role,
            grids=sorted(grids.codes[g] for g in grids_of[k]),
            distance_m=float(seg_dist[k]),
            patrol_s=float(sum(tr.t[j - 1] - tr.t[i] for i, j in ranges)),
            sessions=len(ranges), fixes=len(tr),
            idle=idle_stretches(tr, ranges, float(idle_cfg["radius_m"]), float(idle_cfg["min_s"])),
        ))

    shares = shares_done()  # the area work ran on the pool meanwhile
    grid_rows = []
    for g in range(len(grids)):
        vs = visitors[g]
        grid_rows.append(GridCoverage(
            code=grids.codes[g], name=grids.names[g], level=int(grids.levels[g]), visited=bool(vs),
            visitors=sorted(vs, key=lambda v: (v.first_seen, v.person_id)),
            time_s=float(sum(v.time_s for v in vs)), distance_m=float(sum(v.distance_m for v in vs)),
            share=float(shares[g]),
            first_seen=min((v.first_seen for v in vs), default=None),
            last_seen=max((v.last_seen for v in vs), default=None),
        ))
    return CoverageResult(grids=grid_rows, unvisited=[r.code for r in grid_rows if not r.visited], people=people)


def own_grids(tracks: Sequence[Track], grids: GridSet, serves: dict[int, list[str]], *,
              radius_m: float | None = None, gap_s: float | None = None) -> dict[int, list[dict]]:
    """Per person who serves grids (a grid member's own grid, a chief's): did they walk each?

    One coverage pass over all the grids served, whatever their level; each person's figures
    are their own visitor entry (time, distance, first and last seen), not their colleagues'.
    """
    wanted = sorted({c for codes in serves.values() for c in codes})
    if not wanted:
        return {}
    sub = grids.subset(wanted)
    result = coverage(tracks, sub, radius_m=radius_m, gap_s=gap_s)
    rows = {r.code: r for r in result.grids}
    out: dict[int, list[dict]] = {}
    for pid, codes in serves.items():
        mine = []
        for code in codes:
            r = rows.get(code)
            if r is None:  # served by code but not in this edition (retired or not drawn yet)
                continue
            v = next((v for v in r.visitors if v.person_id == pid), None)
            mine.append({"code": code, "name": r.name, "level": r.level, "visited": v is not None,
                         "time_s": round(v.time_s, 1) if v else 0.0,
                         "distance_m": round(v.distance_m, 1) if v else 0.0,
                         "first_seen": iso(v.first_seen) if v else None,
                         "last_seen": iso(v.last_seen) if v else None})
        out[pid] = mine
    return out


# ---------------------------------------------------------------------------------------------
# Schedule


@dataclass
class Window:
    start: dt.datetime
    end: dt.datetime
    visits: int
    met: bool


@dataclass
class GridSchedule:
    code: str
    name: str
    windows: list[Window]
    met: bool


def windows(start: dt.datetime, end: dt.datetime, every_days: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """[start, end) cut into consecutive windows of `every_days` days; the last may be shorter."""
    step = dt.timedelta(days=every_days)
    out = []
    a = start
    while a < end:
        b = min(a + step, end)
        out.append((a, b))
        a = b
    return out


def schedule(
    tracks: Sequence[Track],
    grids: GridSet,
    start: dt.datetime,
    end: dt.datetime,
    cfg: dict | None = None,
    *,
    gap_s: float | None = None,
) -> list[GridSchedule]:
    """Per grid of the duty (cfg level/urban_only), per window of cfg every_days: how many of the
    duty role's patrol sessions touched it, and whether that reaches cfg min_visits."""
    cfg = {**settings.GISGRID_PATROL_SCHEDULE, **(cfg or {})}
    gap_s = float(settings.GISGRID_PATROL_SESSION_GAP_S if gap_s is None else gap_s)
    grids = grids.select(cfg.get("level"), bool(cfg.get("urban_only")))
    role = cfg.get("role")
    tracks = [tr for tr in tracks if len(tr) and (not role or tr.role == role)]
    wins = windows(start, end, int(cfg["every_days"]))
    min_visits = int(cfg["min_visits"])
    segs = segments(tracks, gap_s)
    c = clip(segs, grids)
    counts = np.zeros((len(grids), len(wins)), dtype=int)
    if len(c.grid) and wins:
        edges = np.array([a.timestamp() for a, _ in wins] + [wins[-1][1].timestamp()])
        # A session counts once per grid and window, in the window where it entered the grid.
        w = np.searchsorted(edges, c.t_in, side="right") - 1
        ok = (w >= 0) & (w < len(wins))
        triples = np.unique(np.column_stack([c.grid[ok], w[ok], segs.session[c.seg[ok]]]), axis=0)
        np.add.at(counts, (triples[:, 0], triples[:, 1]), 1)
    rows = []
    for g in range(len(grids)):
        ws = [Window(a, b, int(counts[g, k]), bool(counts[g, k] >= min_visits)) for k, (a, b) in enumerate(wins)]
        rows.append(GridSchedule(grids.codes[g], grids.names[g], ws, all(x.met for x in ws)))
    return rows


# ---------------------------------------------------------------------------------------------
# Plain-data forms (JSON and CSV renderers start from these)


def grid_dict(r: GridCoverage) -> dict:
    return {
        "code": r.code, "name": r.name, "level": r.level, "visited": r.visited,
        "visitors": [{"person_id": v.person_id, "name": v.name, "role": v.role, "time_s": round(v.time_s, 1),
                      "distance_m": round(v.distance_m, 1), "first_seen": iso(v.first_seen),
                      "last_seen": iso(v.last_seen)} for v in r.visitors],
        "time_s": round(r.time_s, 1), "distance_m": round(r.distance_m, 1), "share": round(r.share, 4),
        "first_seen": iso(r.first_seen), "last_seen": iso(r.last_seen),
    }


def person_dict(p: PersonCoverage) -> dict:
    return {
        "person_id": p.person_id, "name": p.name, "role": p.role,
        "grids_visited": len(p.grids), "grids": p.grids,
        "distance_m": round(p.distance_m, 1), "patrol_s": round(p.patrol_s, 1), "sessions": p.sessions,
        "fixes": p.fixes,
        "idle": [{"start": iso(i.start), "end": iso(i.end), "duration_s": round(i.duration_s, 1),
                  "lon": round(i.lon, 7), "lat": round(i.lat, 7)} for i in p.idle],
        "own_grids": p.own_grids,
    }


def schedule_dict(r: GridSchedule) -> dict:
    return {"code": r.code, "name": r.name, "met": r.met,
            "windows": [{"start": iso(w.start), "end": iso(w.end), "visits": w.visits, "met": w.met}
                        for w in r.windows]}


__all__ = [
    "GridSet", "grid_set", "clear_cache", "segments", "clip", "share", "idle_stretches", "coverage", "schedule",
    "windows", "CoverageResult", "GridCoverage", "PersonCoverage", "Visitor", "Idle", "GridSchedule", "Window",
    "iso", "grid_dict", "person_dict", "schedule_dict",
]
