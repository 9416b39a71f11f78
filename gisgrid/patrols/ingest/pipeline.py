"""The ingest pipeline for a batch of decoded fixes: normalise -> filter -> tag -> store.

Everything is done for the whole batch at once (numpy masks, one locate call, one COPY), in one
transaction: a batch is stored whole or not at all, and a replayed batch changes nothing but
the counters. `ingest_many` runs the fixes of several requests as one batch (the group
committer merges concurrent single-fix requests this way) and hands each request its own
outcomes.

Concurrency: the transaction first locks the rows of every device it names, in id order
(`FOR NO KEY UPDATE`), and only then reads their stored neighbours. So two writers of the same
device take turns and each judges its fixes against what the other stored, and since every
writer takes its locks in the same order, overlapping batches cannot deadlock on them; rows are
also written sorted by (device, time). Should PostgreSQL still report a deadlock or a
serialisation failure (another writer that locks differently), the whole batch is run again,
a few times, after a short random pause.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import random
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from django.db import connection, transaction
from django.utils import timezone

from gisgrid.boundaries import locate
from gisgrid.boundaries.datums import to_wgs84

from .. import partitions, push_events
from ..models import Device
from . import filters as F
from .auth import DeviceAuthError, check
from .records import BadFix, Fix

log = logging.getLogger(__name__)

SPEED_FACTORS = {"mps": 1.0, "kn": 0.514444, "kmh": 1 / 3.6}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Neighbours older/newer than this are not looked up: beyond a session gap nothing is judged.
_CONTEXT = dt.timedelta(hours=1)
# Deadlock (40P01) and serialisation failure (40001): the transaction was rolled back whole
# and running it again is safe. A few tries, each after a random pause that grows.
RETRY_SQLSTATES = frozenset({"40P01", "40001"})
RETRIES = 5
RETRY_PAUSE_S = 0.01
# Grid tagging reuses a thread's locate snapshot this long before asking which edition is
# active again (a query per batch otherwise): a fix stored within a second of a publish may be
# tagged with the edition before it. Coverage is computed from geometry, not from these tags.
SNAPSHOT_REUSE_S = 1.0
_held = threading.local()


@dataclass
class Outcome:
    index: int
    status: str  # accepted | duplicate | rejected
    reasons: list[str] = field(default_factory=list)
    detail: str = ""

    def as_dict(self) -> dict:
        d = {"index": self.index, "status": self.status}
        if self.reasons:
            d["reasons"] = self.reasons
        if self.detail:
            d["detail"] = self.detail
        return d


@dataclass
class IngestResult:
    outcomes: list[Outcome]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def accepted(self) -> int:
        return self.count("accepted")

    def as_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "duplicates": self.count("duplicate"),
            "rejected": self.count("rejected"),
            "items": [o.as_dict() for o in self.outcomes],
        }


@dataclass
class Submission:
    """One request's decoded items, its authenticated devices, and when it was received."""

    items: Sequence[Fix | BadFix]
    devices: Mapping[str, Device]
    source: str
    now: dt.datetime
    datum: str | None = None  # overrides the devices' own datum (GPX uploads say theirs)
    # Identifier -> digest of the token the request presented, when its devices came from a
    # cache: checked again against the locked device rows before anything is stored.
    credentials: Mapping[str, str] | None = None


def to_us(t: dt.datetime) -> int:
    return (t - _EPOCH) // dt.timedelta(microseconds=1)


def _iso(t_us: np.ndarray) -> np.ndarray:
    return np.char.add(np.datetime_as_string(t_us.astype("datetime64[us]"), unit="us"), "+00:00")


def _num(v) -> float:
    return np.nan if v is None else float(v)


def ingest(items: Sequence[Fix | BadFix], devices: Mapping[str, Device], *, source: str,
           now: dt.datetime | None = None, datum: str | None = None,
           cfg: F.FilterConfig | None = None) -> IngestResult:
    """Run a batch through the chain and store it; one Outcome per item, in order.

    `devices` maps each identifier in the batch to its (authenticated) Device; `datum`
    overrides the devices' own (GPX uploads say theirs).
    """
    sub = Submission(items, devices, source, now or timezone.now(), datum)
    result = ingest_many([sub], cfg=cfg)[0]
    if isinstance(result, DeviceAuthError):
        raise result
    return result


def ingest_many(subs: Sequence[Submission], cfg: F.FilterConfig | None = None) -> list[IngestResult | DeviceAuthError]:
    """Several requests' items as one batch in one transaction; one IngestResult per request.

    The fixes are judged together (a fix's neighbours in time include the other requests'
    fixes), the first copy of a (device, time) in arrival order is the one stored, and each
    request's outcomes are indexed as its own items. A request whose `credentials` no longer
    match its locked device rows gets a DeviceAuthError instead, and the others are run
    without it. A deadlock or serialisation failure runs the batch again (RETRIES times at most,
    after a random pause); any other error is raised, and then nothing is stored.
    """
    cfg = cfg or F.FilterConfig.from_settings()
    out: list[IngestResult | DeviceAuthError | None] = [None] * len(subs)
    live = list(range(len(subs)))
    safe = False
    attempt = 0
    while live:
        try:
            results = _ingest_once([subs[i] for i in live], cfg, on_conflict=safe)
        except _Refused as exc:
            for j, err in exc.errors.items():
                out[live[j]] = err
            live = [i for j, i in enumerate(live) if j not in exc.errors]
            continue
        except Exception as exc:
            state = sqlstate(exc)
            if state == "23505" and not safe:
                # A position stored by a writer that did not lock the device (not this pipeline):
                # the next run goes through the staging table and ON CONFLICT DO NOTHING.
                safe = True
                continue
            if state not in RETRY_SQLSTATES or attempt == RETRIES:
                raise
            attempt += 1
            pause = random.uniform(0, RETRY_PAUSE_S * 2 ** attempt)
            log.warning("ingest: %s (sqlstate %s), try %d of %d after %.0f ms",
                        type(exc).__name__, state, attempt + 1, RETRIES + 1, pause * 1000)
            time.sleep(pause)
            continue
        for i, r in zip(live, results, strict=True):
            out[i] = r
        break
    return out  # type: ignore[return-value]


class _Refused(Exception):
    """Requests (by position in the batch) whose devices failed the check under lock."""

    def __init__(self, errors: dict[int, DeviceAuthError]):
        super().__init__(f"{len(errors)} request(s) refused")
        self.errors = errors


def sqlstate(exc: BaseException) -> str | None:
    """PostgreSQL's SQLSTATE of an error, whether psycopg's own or Django's wrapper of it."""
    seen = 0
    e: BaseException | None = exc
    while e is not None and seen < 5:
        state = getattr(e, "sqlstate", None)
        if state:
            return state
        e, seen = e.__cause__ or e.__context__, seen + 1
    return None


def _ingest_once(subs: Sequence[Submission], cfg: F.FilterConfig, on_conflict: bool) -> list[IngestResult]:
    items: list[Fix | BadFix] = []
    owner: list[int] = []  # per item: which submission it came from
    devices: dict[str, Device] = {}
    for s_i, s in enumerate(subs):
        items.extend(s.items)
        owner.extend([s_i] * len(s.items))
        devices.update(s.devices)
    nows = [subs[o].now for o in owner]
    sources = [subs[o].source for o in owner]
    datums = [subs[o].datum for o in owner]
    outcomes: list[Outcome | None] = [None] * len(items)
    fixes = [(i, it) for i, it in enumerate(items) if isinstance(it, Fix)]
    batch = _Batch.from_fixes(fixes, devices, [nows[i] for i, _f in fixes], [sources[i] for i, _f in fixes],
                              [datums[i] for i, _f in fixes])
    bits = batch.point_filters(cfg)
    # Partitions before the transaction: creating one locks the parent table. Whole hours keep
    # the county's month (its offset is whole hours) while leaving few distinct values.
    hour = 3_600_000_000
    partitions.ensure_for_times(dt.datetime.fromtimestamp(t / 1e6, dt.UTC)
                                for t in np.unique(batch.t_us[bits == 0] // hour * hour))
    bad = [(i, it) for i, it in enumerate(items) if isinstance(it, BadFix)]
    named = sorted({devices[it.device].pk for it in items})
    with transaction.atomic():
        rows = _lock_devices(named)
        _recheck(subs, rows)
        last = {d: r[:3] for d, r in rows.items()}
        batch.load_context(bits == 0, last)
        dup_status = batch.duplicates(bits)
        bits |= batch.context_filters(bits, cfg)
        accepted = bits == 0
        stored = _store_positions(batch, accepted, on_conflict)
        # Lost a race with a concurrent copy of the same fix: that one is a duplicate replay.
        raced = accepted & ~stored
        dup_status[raced] = True
        accepted &= stored
        for k, (i, _fix) in enumerate(fixes):
            if accepted[k]:
                outcomes[i] = Outcome(i, "accepted")
            elif dup_status[k] and bits[k] in (0, F.BIT["duplicate"]):
                outcomes[i] = Outcome(i, "duplicate")
            else:
                outcomes[i] = Outcome(i, "rejected", F.reasons_of(int(bits[k])))
        quarantine = [(k, i) for k, (i, _f) in enumerate(fixes) if outcomes[i].status == "rejected"]
        for i, it in bad:
            outcomes[i] = Outcome(i, "rejected", ["invalid"], f"{it.field}: {it.reason}")
        _store_quarantine(batch, bits, quarantine, bad, devices, nows, sources)
        _count(outcomes, items, devices)
        _touch_devices(batch, accepted)
    # Back to each request's own numbering.
    results = [IngestResult([]) for _ in subs]
    base = 0
    for s_i, s in enumerate(subs):
        mine = outcomes[base:base + len(s.items)]
        for o in mine:
            o.index -= base
        results[s_i].outcomes = mine  # type: ignore[assignment]
        base += len(s.items)
    return results


def _lock_devices(ids: list[int]) -> dict[int, tuple]:
    """Lock the batch's device rows in id order, and read each one's last stored fix (epoch µs,
    lon, lat), token digest and `active`: every writer locks in the same order, so none waits
    in a cycle."""
    if not ids:
        return {}
    with connection.cursor() as cur:
        cur.execute("SELECT id, (extract(epoch from last_fix_time) * 1000000)::bigint, "
                    "ST_X(last_point), ST_Y(last_point), token_hash, active FROM patrols_device "
                    "WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE", [ids])
        return {r[0]: r[1:] for r in cur.fetchall()}


def _recheck(subs: Sequence[Submission], rows: Mapping[int, tuple]) -> None:
    """Raise _Refused for the requests whose devices were authenticated from a cache and have
    since been deleted, disabled or given a new token (as the locked rows say)."""
    errors = {}
    for s_i, s in enumerate(subs):
        for ident, digest in (s.credentials or {}).items():
            dev = s.devices.get(ident)
            row = rows.get(dev.pk) if dev is not None else None
            try:
                check(dev if row is not None else None, digest, ident,
                      active=row[4] if row else None, token_hash=row[3] if row else None)
            except DeviceAuthError as exc:
                errors[s_i] = exc
                break
    if errors:
        raise _Refused(errors)


@dataclass
class _Batch:
    fixes: list[tuple[int, Fix]]
    dev: np.ndarray
    t_us: np.ndarray
    raw_lon: np.ndarray
    raw_lat: np.ndarray
    crs: list[str]
    lon: np.ndarray
    lat: np.ndarray
    accuracy: np.ndarray
    speed: np.ndarray
    valid: np.ndarray
    now_us: np.ndarray  # per fix: when its request was received
    received: list[str]  # the same, as ISO text for COPY
    source: list[str]
    context: tuple = ()
    # Grid chains of the accepted fixes, by fix index: tagged once, used for the rows and for
    # the devices' last positions.
    chains: dict[int, str] = field(default_factory=dict)

    @classmethod
    def from_fixes(cls, fixes: list[tuple[int, Fix]], devices: Mapping[str, Device],
                   nows: list[dt.datetime], sources: list[str], datums: list[str | None]) -> _Batch:
        devs = [devices[f.device] for _i, f in fixes]
        raw_lon = np.array([_num(f.lon) for _i, f in fixes], dtype=float)
        raw_lat = np.array([_num(f.lat) for _i, f in fixes], dtype=float)
        crs = [datum or d.datum for datum, d in zip(datums, devs, strict=True)]
        lon, lat = raw_lon.copy(), raw_lat.copy()
        for c in set(crs) - {"wgs84", "cgcs2000"}:
            m = np.array([x == c for x in crs]) & np.isfinite(raw_lon) & np.isfinite(raw_lat)
            if m.any():
                lon[m], lat[m] = to_wgs84(raw_lon[m], raw_lat[m], c)
        factors = np.array([SPEED_FACTORS[f.speed_unit or d.speed_unit] for (_i, f), d in zip(fixes, devs, strict=True)])
        speed = np.array([_num(f.speed) for _i, f in fixes], dtype=float) * factors
        return cls(
            fixes=fixes,
            dev=np.array([d.pk for d in devs], dtype=np.int64),
            t_us=np.array([to_us(f.time) for _i, f in fixes], dtype=np.int64),
            raw_lon=raw_lon, raw_lat=raw_lat, crs=crs, lon=lon, lat=lat,
            accuracy=np.array([_num(f.accuracy) for _i, f in fixes], dtype=float),
            speed=speed,
            valid=np.array([bool(f.valid) for _i, f in fixes], dtype=bool),
            now_us=np.array([to_us(t) for t in nows], dtype=np.int64),
            received=[t.isoformat() for t in nows],
            source=list(sources),
        )

    def point_filters(self, cfg: F.FilterConfig) -> np.ndarray:
        bits = np.zeros(len(self.dev), dtype=np.uint16)
        for name, mask in (
            ("invalid", F.filter_invalid(self.raw_lon, self.raw_lat, self.valid)),
            ("zero", F.filter_zero(self.raw_lon, self.raw_lat)),
            ("future", F.filter_future(self.t_us, self.now_us, cfg)),
            ("too_old", F.filter_too_old(self.t_us, self.now_us, cfg)),
            ("accuracy", F.filter_accuracy(self.accuracy, cfg)),
        ):
            bits[mask] |= F.BIT[name]
        return bits

    def load_context(self, mask: np.ndarray, last: Mapping[int, tuple],
                     window: dt.timedelta = _CONTEXT) -> None:
        """Stored fixes the filters judge the batch against: per device, those inside the
        batch's time range plus the one just before and just after it (within `window`), as
        (dev, t_us, lon, lat, raw_lon, raw_lat). `last` is each device's last stored fix, read
        with its lock (_lock_devices).

        Phones mostly send in order: when a device's last stored fix is older than everything
        in the batch, that fix (kept on the device row) is the whole context and the position
        table is not read at all.
        """
        empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), *(np.zeros(0) for _ in range(4)))
        self.context = empty
        if not mask.any():
            return
        devs, inv = np.unique(self.dev[mask], return_inverse=True)
        lo = np.full(len(devs), np.iinfo(np.int64).max)
        hi = np.full(len(devs), np.iinfo(np.int64).min)
        np.minimum.at(lo, inv, self.t_us[mask])
        np.maximum.at(hi, inv, self.t_us[mask])
        w = int(window / dt.timedelta(microseconds=1))
        rows = []
        late = []
        for j, d in enumerate(devs.tolist()):
            t_last = last.get(d, (None,))[0]
            if t_last is None:
                continue
            if t_last < lo[j]:
                if t_last >= lo[j] - w:
                    rows.append((d, t_last, last[d][1], last[d][2], np.nan, np.nan))
            else:
                late.append(j)
        if late:
            with connection.cursor() as cur:
                rows += self._stored_around(cur, devs[late], lo[late], hi[late], w)
        if rows:
            cols = list(zip(*rows, strict=True))
            self.context = (np.array(cols[0], dtype=np.int64), np.array(cols[1], dtype=np.int64),
                            *(np.array(c, dtype=float) for c in cols[2:]))

    @staticmethod
    def _stored_around(cur, devs: np.ndarray, lo: np.ndarray, hi: np.ndarray, w: int) -> list[tuple]:
        cols = ("p.device_id, (extract(epoch from p.fix_time) * 1000000)::bigint, "
                "ST_X(p.point), ST_Y(p.point), p.raw_lon, p.raw_lat")
        sql = f"""
            WITH r(device_id, lo, hi) AS (
                SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]))
            SELECT {cols} FROM r JOIN patrols_position p
                ON p.device_id = r.device_id AND p.fix_time BETWEEN r.lo AND r.hi
            UNION ALL
            SELECT b.* FROM r CROSS JOIN LATERAL (
                SELECT {cols} FROM patrols_position p WHERE p.device_id = r.device_id
                AND p.fix_time < r.lo AND p.fix_time >= r.lo - %s::interval
                ORDER BY p.fix_time DESC LIMIT 1) b
            UNION ALL
            SELECT a.* FROM r CROSS JOIN LATERAL (
                SELECT {cols} FROM patrols_position p WHERE p.device_id = r.device_id
                AND p.fix_time > r.hi AND p.fix_time <= r.hi + %s::interval
                ORDER BY p.fix_time LIMIT 1) a
        """
        cur.execute(sql, [devs.tolist(), list(_iso(lo)), list(_iso(hi)),
                          f"{w} microseconds", f"{w} microseconds"])
        return cur.fetchall()

    def duplicates(self, bits: np.ndarray) -> np.ndarray:
        """Mark `duplicate` on fixes whose (device, time) is already stored or came earlier in
        the batch; returns which of them are exact replays (same coordinates: not quarantined)."""
        n = len(self.dev)
        replay = np.zeros(n, dtype=bool)
        ok = np.flatnonzero(bits == 0)
        if not len(ok):
            return replay
        s_dev, s_t, _slon, _slat, s_rlon, s_rlat = self.context
        # Against the store.
        if len(s_dev):
            key_s = {(int(d), int(t)): (x, y) for d, t, x, y in zip(s_dev, s_t, s_rlon, s_rlat, strict=True)}
            for k in ok:
                hit = key_s.get((int(self.dev[k]), int(self.t_us[k])))
                if hit is not None:
                    bits[k] |= F.BIT["duplicate"]
                    replay[k] = hit[0] == self.raw_lon[k] and hit[1] == self.raw_lat[k]
        # Within the batch: the first copy wins.
        ok = ok[bits[ok] == 0]
        order = ok[np.lexsort((ok, self.t_us[ok], self.dev[ok]))]
        if len(order) > 1:
            same = (self.dev[order][1:] == self.dev[order][:-1]) & (self.t_us[order][1:] == self.t_us[order][:-1])
            for j in np.flatnonzero(same):
                k, first = order[j + 1], order[j]
                while bits[first] & F.BIT["duplicate"]:  # chains of copies: compare to the first
                    j -= 1
                    first = order[j]
                bits[k] |= F.BIT["duplicate"]
                replay[k] = self.raw_lon[k] == self.raw_lon[first] and self.raw_lat[k] == self.raw_lat[first]
        return replay

    def context_filters(self, bits: np.ndarray, cfg: F.FilterConfig) -> np.ndarray:
        out = np.zeros(len(self.dev), dtype=np.uint16)
        ok = np.flatnonzero(bits == 0)
        if not len(ok):
            return out
        s_dev, s_t, s_lon, s_lat, _rl, _ra = self.context
        cand = (self.dev[ok], self.t_us[ok], self.lon[ok], self.lat[ok])
        track = F.Track.merge(cand, (s_dev, s_t, s_lon, s_lat))
        close = F.filter_min_period(track, cfg)
        out[ok[track.cand[close]]] |= F.BIT["min_period"]
        track = track.without(close)
        fast = F.filter_max_speed(track, cfg)
        out[ok[track.cand[fast]]] |= F.BIT["max_speed"]
        return out


_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS patrols_position_in (
    device_id bigint, fix_time timestamptz, received_at timestamptz, source varchar(10),
    raw_lon double precision, raw_lat double precision, raw_crs varchar(10), point geometry(Point, 4326),
    accuracy_m double precision, speed_mps double precision, bearing double precision,
    altitude double precision, battery double precision, edition_id bigint,
    location_status varchar(12), level1_code varchar(15), level2_code varchar(15),
    level3_code varchar(15))
"""
_COLUMNS = ("device_id, fix_time, received_at, source, raw_lon, raw_lat, raw_crs, point, accuracy_m, "
            "speed_mps, bearing, altitude, battery, edition_id, location_status, "
            "level1_code, level2_code, level3_code")


def _tags(lon: np.ndarray, lat: np.ndarray) -> tuple[int | None, list[str], list[list[str]]]:
    """Edition, status and level codes per point, from locate's batch path."""
    try:
        snap = _snapshot()
    except LookupError:  # no grids loaded yet: store the fixes untagged
        return None, [""] * len(lon), [[""] * len(lon) for _ in range(3)]
    res = snap.index.locate_many(lon, lat)
    codes = np.array([r.code for r in snap.index.records] + [""], dtype=object)
    levels = [codes[np.where(a >= 0, a, -1)].tolist() for a in (res.level1, res.level2, res.level3)]
    status = np.array(locate.STATUS_NAMES, dtype=object)[res.status].tolist()
    return snap.edition_id, status, levels


def _snapshot() -> locate.Snapshot:
    now = time.monotonic()
    held = getattr(_held, "snapshot", None)
    if held is not None and now - held[1] < SNAPSHOT_REUSE_S:
        return held[0]
    snap = locate.snapshot()
    _held.snapshot = (snap, now)
    return snap


def _store_positions(b: _Batch, accepted: np.ndarray, on_conflict: bool) -> np.ndarray:
    """Store the accepted fixes, sorted by (device, time); returns, per fix, whether this call
    stored it.

    The filters already dropped fixes that are stored (read under the devices' locks), so the
    batch goes straight in with one COPY. Only a writer that does not take those locks can have
    stored some of them meanwhile: then the COPY fails, the transaction is run again
    (ingest_many) with `on_conflict`, and the batch goes through a staging table and
    INSERT .. ON CONFLICT DO NOTHING.
    """
    stored = np.zeros(len(b.dev), dtype=bool)
    idx = np.flatnonzero(accepted)
    if not len(idx):
        return stored
    idx = idx[np.lexsort((b.t_us[idx], b.dev[idx]))]
    rows = _position_rows(b, idx)
    if not on_conflict:
        with connection.cursor() as cur:
            _copy(cur, "patrols_position", rows)
        stored[idx] = True
        return stored
    with connection.cursor() as cur:
        cur.execute(_STAGING)
        cur.execute("TRUNCATE patrols_position_in")
        _copy(cur, "patrols_position_in", rows)
        cur.execute(
            f"INSERT INTO patrols_position ({_COLUMNS}) SELECT {_COLUMNS} FROM patrols_position_in "
            f"ON CONFLICT (device_id, fix_time) DO NOTHING "
            f"RETURNING device_id, (extract(epoch from fix_time) * 1000000)::bigint")
        mine = set(cur.fetchall())
        cur.execute("TRUNCATE patrols_position_in")
    for k in idx:
        stored[k] = (int(b.dev[k]), int(b.t_us[k])) in mine
    return stored


def _position_rows(b: _Batch, idx: np.ndarray) -> list[tuple]:
    lon, lat = b.lon[idx], b.lat[idx]
    edition, status, (l1, l2, l3) = _tags(lon, lat)
    n = len(idx)
    ks = idx.tolist()
    b.chains = {k: "{" + ",".join(c for c in (l1[j], l2[j], l3[j]) if c) + "}" for j, k in enumerate(ks)}
    fixes = [b.fixes[k][1] for k in ks]
    # Whole columns at once (tolist() is C); NaN becomes NULL.
    columns = [
        b.dev[idx].tolist(), _iso(b.t_us[idx]).tolist(), [b.received[k] for k in ks], [b.source[k] for k in ks],
        b.raw_lon[idx].tolist(), b.raw_lat[idx].tolist(), [b.crs[k] for k in ks],
        shapely.to_wkb(shapely.set_srid(shapely.points(lon, lat), 4326), hex=True, include_srid=True).tolist(),
        _nullable(b.accuracy[idx]), _nullable(b.speed[idx]),
        [f.bearing for f in fixes], [f.altitude for f in fixes], [f.battery for f in fixes],
        [edition] * n, status, l1, l2, l3,
    ]
    return list(zip(*columns, strict=True))


def _nullable(a: np.ndarray) -> list:
    return np.where(np.isfinite(a), a, None).tolist()


def _copy(cur, table: str, rows: list[tuple]) -> None:
    # psycopg's own COPY, its errors wrapped as Django's like every other statement's (so a
    # lost connection is noticed, and callers tell failures apart the usual way).
    with connection.wrap_database_errors, cur.cursor.copy(f"COPY {table} ({_COLUMNS}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


def _store_quarantine(b: _Batch, bits: np.ndarray, rejected: list[tuple[int, int]], bad: list[tuple[int, BadFix]],
                      devices: Mapping[str, Device], nows: list[dt.datetime], sources: list[str]) -> None:
    rows = []
    for k, i in rejected:
        f = b.fixes[k][1]
        rows.append((int(b.dev[k]), nows[i], sources[i], f.time, _finite(b.raw_lon[k]), _finite(b.raw_lat[k]),
                     _finite(b.accuracy[k]), F.reasons_of(int(bits[k])), "", _payload(f.raw)))
    for i, it in bad:
        rows.append((devices[it.device].pk, nows[i], sources[i], it.time, it.lon, it.lat, None, ["invalid"],
                     _no_nul(f"{it.field}: {it.reason}"), _payload(it.raw)))
    if not rows:
        return
    rows.sort(key=lambda r: r[0])  # device order, like every other write
    with connection.cursor() as cur:
        cur.executemany(
            "INSERT INTO patrols_rejectedposition (device_id, received_at, source, fix_time, raw_lon, raw_lat, "
            "accuracy_m, reasons, detail, payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb) "
            "ON CONFLICT DO NOTHING", rows)


def _finite(v) -> float | None:
    return float(v) if v is not None and np.isfinite(v) else None


def _payload(raw: dict) -> str:
    return json.dumps(_no_nul(raw), ensure_ascii=False, default=str)


def _no_nul(value):
    """PostgreSQL text and jsonb cannot hold NUL, nor jsonb NaN or ±Infinity (a JSON body may
    carry them, or a number too big for a float); a payload keeps everything else it carried,
    a non-finite number as its text."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {_no_nul(str(k)): _no_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_nul(v) for v in value]
    return value


def _count(outcomes: list[Outcome | None], items: Sequence[Fix | BadFix], devices: Mapping[str, Device]) -> None:
    """Held-back fixes per device and reason (accepted ones are counted on the device row)."""
    counts: dict[tuple[int, str], int] = {}
    for o, it in zip(outcomes, items, strict=True):
        if o.status == "accepted":
            continue
        dev = devices[it.device].pk
        for name in (["duplicate"] if o.status == "duplicate" else o.reasons):
            counts[(dev, name)] = counts.get((dev, name), 0) + 1
    if not counts:
        return
    keys = sorted(counts)  # device order, like every other write
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO patrols_devicecounter (device_id, name, count) "
            "SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::bigint[]) "
            "ON CONFLICT (device_id, name) DO UPDATE SET count = patrols_devicecounter.count + EXCLUDED.count",
            [[k[0] for k in keys], [k[1] for k in keys], [counts[k] for k in keys]])


def _touch_devices(b: _Batch, accepted: np.ndarray) -> None:
    """Per device in one statement: the last known position (only a newer fix moves it), the
    accepted count, the last time one of its requests came in, and the span whose patrol
    sessions must be rebuilt."""
    idx = np.flatnonzero(accepted)
    if not len(idx):
        return
    order = idx[np.lexsort((b.t_us[idx], b.dev[idx]))]
    devs = b.dev[order]
    starts = np.flatnonzero(np.r_[True, devs[1:] != devs[:-1]])
    ends = np.r_[starts[1:], len(order)] - 1
    firsts, lasts = order[starts], order[ends]
    ids = devs[starts].tolist()
    codes = [b.chains.get(k, "{}") for k in lasts.tolist()]
    received = np.maximum.reduceat(b.now_us[order], starts)
    newer = "d.last_fix_time IS NULL OR d.last_fix_time < v.t"
    # One JSON document rather than ten array parameters: adapting arrays element by element
    # cost more than the statement itself for the small batches of group commit.
    values = json.dumps([
        {"id": i, "t0": t0, "t": t, "lon": x, "lat": y, "speed": v, "batt": bt, "codes": c, "n": n, "received": r}
        for i, t0, t, x, y, v, bt, c, n, r in zip(
            ids, _iso(b.t_us[firsts]).tolist(), _iso(b.t_us[lasts]).tolist(), b.lon[lasts].tolist(),
            b.lat[lasts].tolist(), [_finite(b.speed[k]) for k in lasts], [b.fixes[k][1].battery for k in lasts],
            codes, (ends - starts + 1).tolist(), _iso(received).tolist(), strict=True)])
    with connection.cursor() as cur:
        cur.execute(
            f"""UPDATE patrols_device d SET
                   last_fix_time = CASE WHEN {newer} THEN v.t ELSE d.last_fix_time END,
                   last_point = CASE WHEN {newer} THEN ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326)
                                ELSE d.last_point END,
                   last_speed_mps = CASE WHEN {newer} THEN v.speed ELSE d.last_speed_mps END,
                   last_battery = CASE WHEN {newer} THEN v.batt ELSE d.last_battery END,
                   last_codes = CASE WHEN {newer} THEN v.codes::varchar[] ELSE d.last_codes END,
                   last_received_at = GREATEST(d.last_received_at, v.received),
                   accepted_count = d.accepted_count + v.n,
                   dirty_start = LEAST(d.dirty_start, v.t0),
                   dirty_end = GREATEST(d.dirty_end, v.t)
               FROM json_to_recordset(%s::json) AS v(id bigint, t0 timestamptz, t timestamptz, lon float8,
                    lat float8, speed float8, batt float8, codes text, n int, received timestamptz)
               WHERE d.id = v.id""",
            [values])
    push_events.publish_newest(ids, b.t_us[lasts].tolist(), b.lon[lasts].tolist(), b.lat[lasts].tolist(),
                               b.accuracy[lasts].tolist(), b.speed[lasts].tolist())
