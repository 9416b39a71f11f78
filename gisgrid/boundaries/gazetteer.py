"""Address gazetteer: a spoken or typed place -> ranked places with point, score and parsed parts.

The query is normalised (full-width, traditional characters, control characters), parsed
(address.py: the administrative chain narrows the search, numbers, gates and relative words
are kept for the answer, "A街与B路交叉口" is a crossing) and its core matched against every
name and alias in the in-memory index (place_index.py):

- candidates: entries sharing IDF-weighted characters or fuzzy syllables with the query;
- each candidate scored by an alignment in which the same character counts 1, a homophone
  (same toneless reading) 0.8, a fuzzy-pinyin one (z/zh, n/l, -n/-ng) 0.55, and a swapped pair
  1.6 of 2; score = 0.75 x the share of the query matched + 0.25 x the share of the name
  matched, so a fragment, a missing, extra or swapped character all stay high;
- a query of Latin letters is matched as pinyin or pinyin initials (fhjy, fenghuangjiayuan).

One score in [0, 1] says how sure the match is (1 = the exact name); when the next place is
within CLOSE of the first, or the first is below SURE, the answer names the alternatives in
`did_you_mean`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np
from django.utils.translation import gettext_lazy as _

from .address import ParsedAddress, parse
from .models import Place
from .place_index import GENERIC_FACTOR, INDEX, PlaceIndex
from .place_text import compact, fuzzy_readings, has_name_characters, is_pinyin, normalize, readings

MAX_QUERY_LENGTH = 100
_CANDIDATES = 300
CLOSE = 0.05  # two places this close in score are both offered
SURE = 0.8  # below this the first answer is a guess: offer the next ones too
MIN_SCORE = 0.5  # below this a place shares a character or two by chance ("火星基地"): not an answer
_ADMIN_MISMATCH = 0.85  # a place outside the town or village the caller named
_HOMOPHONE, _FUZZY, _SWAP = 0.8, 0.55, 1.6
_ENDS_BONUS = 0.01  # per end (first, last character) of the name that the query's ends match
# Words that end a name but that callers add or leave out ("凤凰家园小区").
_NOISE_SUFFIXES = ("小区", "家属院", "家属楼", "院子")


@dataclass
class GeocodeResult:
    query: str
    parsed: ParsedAddress | None
    places: list[dict] = field(default_factory=list)
    did_you_mean: list[str] = field(default_factory=list)
    outside: dict | None = None
    note: str = ""


def _similarity(index: PlaceIndex, text: str) -> np.ndarray:
    """(len(text), vocabulary + 2): how much each query character is worth against each
    character of the names (1 same, _HOMOPHONE same reading, _FUZZY fuzzy reading, 0)."""
    sim = np.zeros((len(text), index.pad + 2))
    for i, ch in enumerate(text):
        for r in fuzzy_readings(ch):
            ids = index.by_fuzzy.get(r)
            if ids is not None:
                sim[i, ids] = _FUZZY
        for r in readings(ch):
            ids = index.by_reading.get(r)
            if ids is not None:
                sim[i, ids] = _HOMOPHONE
        own = index.char_id.get(ch)
        if own is not None:
            sim[i, own] = 1.0
    sim[:, index.pad:] = 0.0
    return sim


def _align_many(index: PlaceIndex, text: str, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The weighted alignment of `text` with each candidate entry at once: the dynamic programme
    runs over query x name positions, each step a vector over the candidates."""
    lens = index.entry_len[cand].astype(int)
    width = int(lens.max())
    chars = index.chars[cand, :width]  # (C, width)
    qids = [index.char_id.get(ch, index.pad + 1) for ch in text]
    sim = _similarity(index, text)[:, chars]  # (len q, C, width)
    n = len(cand)
    # Where a swapped pair (query i-1, i = name j, j-1) occurs at all; most queries have none.
    swaps = [False] + [bool(((chars[:, :-1] == qids[i]) & (chars[:, 1:] == qids[i - 1])).any()) if width > 1 else False
                       for i in range(1, len(text))]
    prev2 = None
    prev = np.zeros((width + 1, n))
    for i in range(len(text)):
        cur = np.zeros((width + 1, n))
        si = sim[i]
        for j in range(width):
            s = si[:, j]
            best = np.maximum(np.maximum(prev[j + 1], cur[j]), prev[j] + s)
            if swaps[i] and j:
                swap = (chars[:, j - 1] == qids[i]) & (chars[:, j] == qids[i - 1]) & (s == 0)
                if swap.any():
                    best = np.where(swap, np.maximum(best, prev2[j - 1] + _SWAP), best)
            cur[j + 1] = best
        prev2, prev = prev, cur
    # A caller keeps a name's first and last characters (they are what is remembered) and drops
    # or mistypes the middle: among equal matches, one whose ends agree with the query's is likelier
    # ("阳御府" is 阳光御府 rather than 中阳御府).
    rows = np.arange(n)
    ends = (sim[0][rows, 0] > 0).astype(float) + (sim[-1][rows, lens - 1] > 0)
    return prev[width], ends


def _text_scores(index: PlaceIndex, text: str, cand: np.ndarray) -> np.ndarray:
    m, ends = _align_many(index, text, cand)
    lens = index.entry_len[cand]
    score = 0.75 * m / len(text) + 0.25 * np.minimum(m / lens, 1.0) + _ENDS_BONUS * ends
    score = np.minimum(score, 0.97)  # only the exact name is certain
    same = index.by_text.get(text)
    if same:
        score[np.isin(cand, same)] = 1.0
    return score


def _prefixed(keys: list[tuple[str, int]], q: str, cap: int) -> list[int]:
    i = bisect.bisect_left(keys, (q, -1))
    out = []
    while i < len(keys) and len(out) < cap and keys[i][0].startswith(q):
        out.append(keys[i][1])
        i += 1
    return out


def _pinyin_candidates(index: PlaceIndex, q: str) -> list[int]:
    """Entries whose full pinyin or initials start with `q`."""
    return list(dict.fromkeys(_prefixed(index.full_sorted, q, _CANDIDATES) + _prefixed(index.initials_sorted, q, _CANDIDATES)))


def _pinyin_score(q: str, full: str, initials: str) -> float:
    if q == full:
        return 0.95
    if len(q) >= 2 and q == initials:
        return 0.9
    if full.startswith(q) and len(q) >= 3:
        return 0.6 + 0.3 * len(q) / len(full)
    if len(q) >= 2 and initials.startswith(q):
        return 0.55 + 0.3 * len(q) / len(initials)
    return 0.0


def _variants(parsed: ParsedAddress) -> list[tuple[str, bool]]:
    """(text, narrowed by the parsed admin chain) pairs to match."""
    out: list[tuple[str, bool]] = []
    core = parsed.core
    if not core:
        deepest = parsed.admin_name("village") or parsed.admin_name("town")
        if deepest:
            core = deepest
    texts = [core, *parsed.variants]
    for i, t in enumerate(texts):
        for v in (t, *(t.removesuffix(s) for s in _NOISE_SUFFIXES if t.endswith(s) and len(t) > len(s) + 1)):
            if v and all(v != o for o, _ in out):
                out.append((v, i == 0))
    return out


def _score_places(index: PlaceIndex, parsed: ParsedAddress, kinds: set[str] | None = None) -> dict[int, float]:
    """Best score per place (index into index.places) over the query's variants, >= MIN_SCORE."""
    best = np.zeros(len(index.places))
    town, village = parsed.admin_name("town"), parsed.admin_name("village")
    for text, narrowed in _variants(parsed):
        if is_pinyin(text):
            cand = np.array(_pinyin_candidates(index, text), dtype=np.int64)
            if not len(cand):
                continue
            scores = np.array([_pinyin_score(text, index.full_pinyin[k], index.initials[k]) for k in cand.tolist()])
        else:
            if len(text) > index.chars.shape[1] + 4 and not narrowed:
                continue  # longer than any name: the parsed core (first variant) is the reading that counts
            cand = index.candidates(text, _CANDIDATES)
            if not len(cand):
                continue
            scores = _text_scores(index, text, cand)
        scores = np.where(index.generic[cand], scores * GENERIC_FACTOR, scores)
        places = index.entry_place[cand]
        if narrowed and town:
            scores = np.where((index.place_town[places] != index.name_id(town)) & (index.place_town[places] >= 0),
                              scores * _ADMIN_MISMATCH, scores)
        if narrowed and village:
            scores = np.where((index.place_village[places] != index.name_id(village)) & (index.place_village[places] >= 0),
                              scores * _ADMIN_MISMATCH, scores)
        if kinds is not None:
            scores = np.where(np.isin(index.place_kind[places], [index.name_id(k) for k in kinds]), scores, 0.0)
        np.maximum.at(best, places, scores)
    hits = np.flatnonzero(best >= MIN_SCORE)
    return dict(zip(hits.tolist(), best[hits].tolist(), strict=True))


def _place_json(index: PlaceIndex, i: int, score: float, parsed: ParsedAddress | None) -> dict:
    p = index.places[i]
    kinds = dict(Place.Kind.choices)
    categories = dict(Place.Category.choices)
    label = categories.get(p.category) if p.category else None
    return {
        "name": p.name, "kind": p.kind, "kind_label": str(label or kinds.get(p.kind, p.kind)),
        "category": p.category, "aliases": list(p.aliases), "point": [round(p.lon, 7), round(p.lat, 7)],
        "score": round(min(score, 1.0), 3), "parsed": parsed.parts() if parsed else None,
    }


def _ranked(index: PlaceIndex, best: dict[int, float]) -> list[tuple[int, float]]:
    return sorted(best.items(), key=lambda kv: (-round(kv[1], 6), len(index.places[kv[0]].name), index.places[kv[0]].name))


def _intersection(index: PlaceIndex, parsed: ParsedAddress, limit: int) -> GeocodeResult | None:
    """The crossing of the two streets the caller named, or None when they are not both streets."""
    a, b = parsed.intersection
    picks = []
    for text in (a, b):
        sub = ParsedAddress(text=text, core=text, variants=[text])
        ranked = _ranked(index, _score_places(index, sub, {"street"}))
        if not ranked or ranked[0][1] < 0.6:
            return None
        picks.append(ranked[0])
    (ia, sa), (ib, sb) = picks
    names = (index.places[ia].name, index.places[ib].name)
    meet = index.crossings.get((ia, ib))
    result = GeocodeResult(parsed.text, parsed)
    if meet is None or ia == ib:
        result.places = [_place_json(index, i, s, parsed) for i, s in picks][:limit]
        result.did_you_mean = list(names)
        result.note = f"{names[0]}与{names[1]}不相交，无法定位路口 ({names[0]} and {names[1]} do not meet: the crossing cannot be placed)"
        return result
    result.places = [{
        "name": f"{names[0]}与{names[1]}交叉口", "kind": "intersection", "kind_label": str(_("路口")),
        "category": "", "aliases": [], "point": [round(meet[0], 7), round(meet[1], 7)],
        "score": round(min(sa, sb), 3), "parsed": parsed.parts(), "streets": list(names),
    }][:limit]
    return result


def geocode(q: str, limit: int = 10, index: PlaceIndex | None = None) -> GeocodeResult:
    """Parse and match `q`; ValueError when it is empty. Never raises on odd text: a query of
    only digits or punctuation, or a place outside the county, is an answer with a note."""
    text = normalize(q)
    if not text:
        raise ValueError("empty query")
    if not has_name_characters(text):
        return GeocodeResult(q, None, note="查询中没有地名，只有数字或符号 (the query holds no place name, only digits or punctuation)")
    index = index or INDEX.get()
    parsed = parse(text, index.admin)
    parsed.text = q
    if parsed.intersection:
        answer = _intersection(index, parsed, limit)
        if answer is not None:
            return answer
    if not compact(parsed.core) and not parsed.admin_name("village") and not parsed.admin_name("town"):
        if not parsed.admin:
            return GeocodeResult(q, parsed, note="只有门牌、方位等，没有地名 (numbers or directions without a place name)")
    ranked = _ranked(index, _score_places(index, parsed))
    if parsed.outside and (not ranked or ranked[0][1] < 0.9):
        out = parsed.outside
        where = out["province"] + (out["city"] if out["city"] not in (out["name"], out["province"]) else "")
        return GeocodeResult(q, parsed, outside=dict(out),
                             note=f"{out['name']}不在本县，属{where} ({out['name']} is outside the county, in {where})")
    top = ranked[:limit]
    result = GeocodeResult(q, parsed, [_place_json(index, i, s, parsed) for i, s in top])
    if len(ranked) >= 2:
        first = ranked[0][1]
        close = [index.places[i].name for i, s in ranked[1:4] if s >= first - CLOSE or first < SURE]
        result.did_you_mean = list(dict.fromkeys(n for n in close if n != index.places[ranked[0][0]].name))
    if not top:
        result.note = "没有找到匹配的地名 (no place matches)"
    return result


def search_places(q: str, limit: int = 10) -> list[dict]:
    """The ranked places for `q` (geocode().places): what routing, the hotline and Open311 use."""
    q = " ".join(q.split())
    if not q:
        raise ValueError("empty query")
    return geocode(q, limit).places
