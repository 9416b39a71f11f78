"""The filter chain: small named predicates over a whole batch, each one a boolean mask.

Shaped like Traccar's FilterHandler (one predicate per configuration key, the names of all that
fired are kept), with two differences Traccar is known for lacking: rejected fixes are kept in
the quarantine with their reasons, and the context filters judge a fix against its neighbours
in time (stored fixes included), not only the last one received, so late and out-of-order
batches from phones are judged fairly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from django.conf import settings

# Bit per reason, in the order they are reported.
REASONS = ("invalid", "zero", "future", "too_old", "accuracy", "duplicate", "min_period", "max_speed")
BIT = {name: np.uint16(1 << i) for i, name in enumerate(REASONS)}
EARTH_RADIUS_M = 6371008.8


@dataclass(frozen=True)
class FilterConfig:
    # Phone clocks drift by seconds; a fix hours ahead is a time zone mistake, not drift.
    future_s: float | None = 300
    max_age_days: float | None = 30
    max_accuracy_m: float | None = 100.0
    min_period_s: float | None = 1.0
    max_speed_mps: float | None = 15.0
    jitter_m: float = 20.0
    gap_s: float = 600

    @classmethod
    def from_settings(cls) -> FilterConfig:
        known = {f.name for f in fields(cls)}
        conf = {k: v for k, v in settings.GISGRID_PATROL_FILTERS.items() if k in known}
        return cls(**conf, gap_s=settings.GISGRID_PATROL_SESSION_GAP_S)


def reasons_of(bits: int) -> list[str]:
    return [name for name in REASONS if bits & int(BIT[name])]


def haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


# --- filters on a fix alone --------------------------------------------------------------------

def filter_invalid(lon: np.ndarray, lat: np.ndarray, valid: np.ndarray) -> np.ndarray:
    finite = np.isfinite(lon) & np.isfinite(lat)
    with np.errstate(invalid="ignore"):
        in_range = (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    return ~(finite & in_range & valid)


def filter_zero(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon == 0) & (lat == 0)


def filter_future(t_us: np.ndarray, now_us: int, cfg: FilterConfig) -> np.ndarray:
    if cfg.future_s is None:
        return np.zeros(len(t_us), dtype=bool)
    return t_us > now_us + int(cfg.future_s * 1e6)


def filter_too_old(t_us: np.ndarray, now_us: int, cfg: FilterConfig) -> np.ndarray:
    if cfg.max_age_days is None:
        return np.zeros(len(t_us), dtype=bool)
    return t_us < now_us - int(cfg.max_age_days * 86400e6)


def filter_accuracy(accuracy: np.ndarray, cfg: FilterConfig) -> np.ndarray:
    if cfg.max_accuracy_m is None:
        return np.zeros(len(accuracy), dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(accuracy, nan=0.0) > cfg.max_accuracy_m


# --- filters against neighbours in time ---------------------------------------------------------

@dataclass
class Track:
    """Candidates and stored fixes of the batch's devices, sorted by (device, time)."""

    dev: np.ndarray
    t_us: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    cand: np.ndarray  # index into the candidate arrays, -1 for a stored fix

    @classmethod
    def merge(cls, cand: tuple, stored: tuple) -> Track:
        dev = np.concatenate([cand[0], stored[0]])
        t = np.concatenate([cand[1], stored[1]])
        lon = np.concatenate([cand[2], stored[2]])
        lat = np.concatenate([cand[3], stored[3]])
        idx = np.concatenate([np.arange(len(cand[0])), np.full(len(stored[0]), -1)])
        order = np.lexsort((idx < 0, t, dev))  # at equal times a stored fix sorts after
        return cls(dev[order], t[order], lon[order], lat[order], idx[order])

    def without(self, drop: np.ndarray) -> Track:
        keep = ~drop
        return Track(self.dev[keep], self.t_us[keep], self.lon[keep], self.lat[keep], self.cand[keep])


def filter_min_period(tr: Track, cfg: FilterConfig) -> np.ndarray:
    """Candidates closer in time than min_period to the fix before them (or to a stored fix
    after them: stored fixes are never taken back). Returns a mask over the merged track."""
    out = np.zeros(len(tr.t_us), dtype=bool)
    if cfg.min_period_s is None or len(out) < 2:
        return out
    lim = int(cfg.min_period_s * 1e6)
    same = tr.dev[1:] == tr.dev[:-1]
    close = same & (np.diff(tr.t_us) < lim)
    is_cand = tr.cand >= 0
    # pair (k, k+1) too close: the later one goes if it is a candidate, else the earlier one.
    later = np.zeros_like(out)
    later[1:] = close & is_cand[1:]
    earlier = np.zeros_like(out)
    earlier[:-1] = close & ~is_cand[1:] & is_cand[:-1]
    return later | earlier


def _pair_speeds(tr: Track, cfg: FilterConfig) -> tuple[np.ndarray, np.ndarray]:
    """Implied speed between consecutive fixes, and whether the pair counts (same device,
    no session gap between them)."""
    if len(tr.t_us) < 2:
        return np.zeros(0), np.zeros(0, dtype=bool)
    d = haversine_m(tr.lon[:-1], tr.lat[:-1], tr.lon[1:], tr.lat[1:])
    dt = np.maximum(np.diff(tr.t_us) / 1e6, 1e-3)
    v = np.maximum(d - cfg.jitter_m, 0) / dt
    ok = (tr.dev[1:] == tr.dev[:-1]) & (dt <= cfg.gap_s)
    return v, ok


def filter_max_speed(tr: Track, cfg: FilterConfig) -> np.ndarray:
    """Jumps: a candidate too fast to reach from the fix before it AND to the fix after it.

    At the end of a run (one neighbour only) a candidate goes when it is too fast from its
    neighbour and that neighbour is consistent with its own other side; a stretch of fixes all
    faster than the limit (a car, not a patrol) goes whole.
    """
    n = len(tr.t_us)
    out = np.zeros(n, dtype=bool)
    if cfg.max_speed_mps is None or n < 2:
        return out
    has_prev, has_next, fast_prev, fast_next, _ = _sides(tr, cfg)
    spikes = (tr.cand >= 0) & has_prev & has_next & fast_prev & fast_next
    out |= spikes
    # Second pass without the spikes: ends of runs, and stretches fast on both sides.
    rest = tr.without(spikes)
    if len(rest.t_us) >= 2:
        hp, hn, fp, fn, next_calm = _sides(rest, cfg)
        cand = rest.cand >= 0
        ends = cand & ((hp & ~hn & fp) | (~hp & hn & fn & next_calm))
        both_fast = cand & hp & hn & fp & fn  # a fast stretch: neither side slows down
        out[np.flatnonzero(~spikes)[ends | both_fast]] = True
    return out


def _sides(tr: Track, cfg: FilterConfig) -> tuple[np.ndarray, ...]:
    """Per fix: has a judged neighbour before / after it, is too fast from it / to it, and
    whether the next fix is calm towards the one after it."""
    n = len(tr.t_us)
    v, ok = _pair_speeds(tr, cfg)
    fast = ok & (v > cfg.max_speed_mps)
    has_prev, has_next, fast_prev, fast_next, next_calm = (np.zeros(n, dtype=bool) for _ in range(5))
    has_prev[1:] = ok
    has_next[:-1] = ok
    fast_prev[1:] = fast
    fast_next[:-1] = fast
    next_calm[:-2] = ok[1:] & ~fast[1:]
    return has_prev, has_next, fast_prev, fast_next, next_calm
