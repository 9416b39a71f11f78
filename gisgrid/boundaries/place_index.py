"""The gazetteer's in-memory index: every place name and alias, its readings and pinyin keys,
its grid chain, and where the streets meet. Built once per places version and active edition,
shared by every thread of the process: plain data only (strings, tuples, numpy arrays; the
street crossings are computed at build time and kept as coordinates), see docs/threads.md.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import shapely
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import locate
from .address import AdminNames, admin_names_for
from .models import Place
from .place_text import compact, fuzzy_readings, normalize, pinyin_keys, readings

# Generic words a caller uses for a landmark's kind ("医院", "学校"): entries of their own,
# scored below any real name so that "县医院" still prefers the hospital called so.
CATEGORY_WORDS = {
    "school": ("学校", "中学", "小学", "幼儿园"),
    "hospital": ("医院",),
    "clinic": ("卫生院", "诊所", "卫生室", "医院"),
    "market": ("市场", "菜市场", "农贸市场", "集市"),
    "square": ("广场",),
    "government": ("政府", "机关"),
    "bus_station": ("汽车站", "车站", "客运站"),
    "scenic": ("景点", "景区", "风景区"),
}
GENERIC_FACTOR = 0.85


@dataclass(frozen=True)
class PlaceRec:
    id: int
    name: str
    kind: str
    category: str
    aliases: tuple[str, ...]
    lon: float
    lat: float
    town: str  # level-1 grid name ("" outside every grid)
    village: str  # level-2 grid name


@dataclass(frozen=True)
class Entry:
    place: int  # index into PlaceIndex.places
    text: str  # compact normal form
    chars: tuple[str, ...]
    fuzzy: tuple[frozenset, ...]  # fuzzy readings per character
    exact: tuple[frozenset, ...]  # readings per character
    generic: bool  # a category word, not a name


class PlaceIndex:
    """Postings from characters and fuzzy syllables to entries; pinyin keys; street crossings."""

    def __init__(self, places: list[PlaceRec], street_wkb: dict[int, bytes], edition_id: int | None,
                 admin: AdminNames):
        self.places = places
        self.edition_id = edition_id
        self.admin = admin
        entries: list[Entry] = []
        for i, p in enumerate(places):
            texts = [p.name, *p.aliases]
            seen: set[str] = set()
            for t in texts:
                c = compact(normalize(t))
                if c and c not in seen:
                    seen.add(c)
                    entries.append(_entry(i, c, False))
            for word in CATEGORY_WORDS.get(p.category, ()):
                if word not in seen:
                    seen.add(word)
                    entries.append(_entry(i, word, True))
        self.entries = entries
        self.entry_len = np.array([len(e.text) for e in entries], dtype=float)
        # Inverse document frequency weights rare characters above 社区/村/路.
        char_post: dict[str, list[int]] = defaultdict(list)
        syl_post: dict[str, list[int]] = defaultdict(list)
        for k, e in enumerate(entries):
            for ch in set(e.chars):
                char_post[ch].append(k)
            for syl in set().union(*e.fuzzy) if e.fuzzy else ():
                syl_post[syl].append(k)
        n = max(len(entries), 1)
        self.char_post = {k: (np.array(v, dtype=np.int32), math.log(1 + n / len(v))) for k, v in char_post.items()}
        self.syl_post = {k: (np.array(v, dtype=np.int32), math.log(1 + n / len(v))) for k, v in syl_post.items()}
        self.full_pinyin: list[str] = []
        self.initials: list[str] = []
        for e in entries:
            full, ini = pinyin_keys(e.text)
            self.full_pinyin.append(full)
            self.initials.append(ini)
        # Sorted keys for prefix look-ups by bisection (pinyin typed without choosing characters).
        self.full_sorted = sorted((f, k) for k, f in enumerate(self.full_pinyin))
        self.initials_sorted = sorted((f, k) for k, f in enumerate(self.initials))
        # Characters as ids for the vectorised alignment (gazetteer._align_many): the vocabulary,
        # each entry's characters padded with PAD, and for every reading the characters that have it.
        vocab = sorted({c for e in entries for c in e.chars})
        self.char_id = {c: i for i, c in enumerate(vocab)}
        self.pad = len(vocab)  # the padding id; UNKNOWN = pad + 1 for query characters not in any name
        width = max((len(e.chars) for e in entries), default=1)
        self.chars = np.full((len(entries), width), self.pad, dtype=np.int32)
        for k, e in enumerate(entries):
            self.chars[k, : len(e.chars)] = [self.char_id[c] for c in e.chars]
        by_reading: dict[str, list[int]] = defaultdict(list)
        by_fuzzy: dict[str, list[int]] = defaultdict(list)
        for c, i in self.char_id.items():
            for r in readings(c):
                by_reading[r].append(i)
            for r in fuzzy_readings(c):
                by_fuzzy[r].append(i)
        self.by_reading = {r: np.array(v, dtype=np.int32) for r, v in by_reading.items()}
        self.by_fuzzy = {r: np.array(v, dtype=np.int32) for r, v in by_fuzzy.items()}
        self.texts = [e.text for e in entries]
        by_text: dict[str, list[int]] = defaultdict(list)
        for k, e in enumerate(entries):
            by_text[e.text].append(k)
        self.by_text = dict(by_text)
        self.generic = np.array([e.generic for e in entries], dtype=bool)
        self.entry_place = np.array([e.place for e in entries], dtype=np.int32)
        # Town, village and kind of each place as ids of one name table (-1: not in any grid).
        self._names: dict[str, int] = {}
        self.place_town = np.array([self.name_id(p.town) if p.town else -1 for p in places], dtype=np.int32)
        self.place_village = np.array([self.name_id(p.village) if p.village else -1 for p in places], dtype=np.int32)
        self.place_kind = np.array([self.name_id(p.kind) for p in places], dtype=np.int32)
        self.streets = {i: p.name for i, p in enumerate(places) if p.kind == "street"}
        self.crossings = _crossings(street_wkb, {p.id: i for i, p in enumerate(places)})

    def name_id(self, name: str) -> int:
        """The id of a town, village or kind name; a name no place has gets a fresh id (built
        while the index is built; afterwards unknown names map to -2, which matches no place)."""
        if name not in self._names:
            if getattr(self, "place_kind", None) is not None:
                return -2
            self._names[name] = len(self._names)
        return self._names[name]

    def candidates(self, text: str, k: int) -> np.ndarray:
        """Indices of the `k` entries sharing the most (IDF-weighted) characters and syllables."""
        n = len(self.entries)
        if not n:
            return np.zeros(0, dtype=np.int32)
        score = np.zeros(n)
        for ch in set(text):
            hit = self.char_post.get(ch)
            if hit is not None:
                score[hit[0]] += hit[1]
            for syl in fuzzy_readings(ch):
                hit = self.syl_post.get(syl)
                if hit is not None:
                    score[hit[0]] += hit[1]
        score -= 0.01 * self.entry_len  # shorter first among equals
        nonzero = np.flatnonzero(score > 0)
        if len(nonzero) <= k:
            return nonzero
        top = np.argpartition(-score[nonzero], k)[:k]
        return nonzero[top]


def _entry(place: int, text: str, generic: bool) -> Entry:
    chars = tuple(text)
    return Entry(place, text, chars, tuple(fuzzy_readings(c) for c in chars), tuple(readings(c) for c in chars),
                 generic)


def _crossings(street_wkb: dict[int, bytes], place_at: dict[int, int]) -> dict[tuple[int, int], tuple[float, float]]:
    """Where each pair of streets meets (the point nearest their midpoint when they meet more
    than once), keyed by (place index, place index) both ways. Built here, on the building
    thread, from WKB; only coordinates are kept."""
    ids = [i for i in street_wkb if i in place_at]
    if len(ids) < 2:
        return {}
    geoms = shapely.from_wkb([street_wkb[i] for i in ids])
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    out: dict[tuple[int, int], tuple[float, float]] = {}
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a >= b:
            continue
        meet = shapely.intersection(geoms[a], geoms[b])
        if meet.is_empty:
            continue
        pts = shapely.get_coordinates(meet)
        mid = np.array(shapely.get_coordinates(shapely.centroid(meet)))[0]
        best = pts[np.argmin(((pts - mid) ** 2).sum(axis=1))]
        pa, pb = place_at[ids[a]], place_at[ids[b]]
        out[(pa, pb)] = out[(pb, pa)] = (float(best[0]), float(best[1]))
    return out


def places_version() -> tuple:
    """What the index depends on: the places table's newest change and the active edition."""
    with connection.cursor() as cur:
        cur.execute("""
            SELECT (SELECT count(*) FROM boundaries_place), (SELECT max(id) FROM boundaries_place),
                   (SELECT max(updated) FROM boundaries_place),
                   (SELECT id FROM boundaries_edition WHERE status = 'active' LIMIT 1),
                   (SELECT version FROM boundaries_edition WHERE status = 'active' LIMIT 1)
        """)
        return tuple(cur.fetchone())


def build_index(edition_id: int | None) -> PlaceIndex:
    with connection.cursor() as cur:
        cur.execute("""
            SELECT id, name, kind, category, aliases, ST_X(point), ST_Y(point),
                   CASE WHEN kind = 'street' AND geom IS NOT NULL THEN ST_AsBinary(geom) END
            FROM boundaries_place ORDER BY id
        """)
        rows = cur.fetchall()
        towns: list[str] = []
        villages: list[str] = []
        if edition_id is not None:
            cur.execute("SELECT name, level FROM boundaries_grid WHERE edition_id = %s AND level IN (1, 2)", [edition_id])
            for name, level in cur.fetchall():
                (towns if level == 1 else villages).append(name)
    chains: list[tuple[str, str]] = [("", "")] * len(rows)
    if rows and edition_id is not None:
        lons = [r[5] for r in rows]
        lats = [r[6] for r in rows]
        _, answers = locate.locate_points(lons, lats, "wgs84", edition_id=edition_id, details=False)
        chains = [(_grid_name(a, 1), _grid_name(a, 2)) for a in answers]
    places = [PlaceRec(r[0], r[1], r[2], r[3] or "", tuple(a for a in (r[4] or "").split("|") if a),
                       float(r[5]), float(r[6]), *chain) for r, chain in zip(rows, chains, strict=True)]
    street_wkb = {r[0]: bytes(r[7]) for r in rows if r[7] is not None}
    return PlaceIndex(places, street_wkb, edition_id, admin_names_for(towns, villages))


def _grid_name(answer, level: int) -> str:
    g = answer.grid(level) if answer.status != "outside" else None
    return g.name if g is not None else ""


class IndexCache:
    """The current index, rebuilt when places_version() moves; one build at a time.

    The version is read from the database at most every RECHECK_S seconds: on a loaded server
    that query costs as much as the search itself. This process's own writes (import_places,
    the admin) call clear(); another process's show within RECHECK_S.
    """

    RECHECK_S = 1.0

    def __init__(self):
        self._lock = threading.Lock()
        # (version, checked at (monotonic), index), swapped as one tuple.
        self._current: tuple[tuple, float, PlaceIndex] | None = None

    def get(self) -> PlaceIndex:
        current = self._current
        now = time.monotonic()
        if current is not None and now - current[1] < self.RECHECK_S:
            return current[2]
        key = places_version()
        if current is not None and current[0] == key:
            self._current = (key, now, current[2])
            return current[2]
        with self._lock:
            current = self._current
            if current is None or current[0] != key:
                current = (key, now, build_index(key[3]))
            else:
                current = (key, now, current[2])
            self._current = current
            return current[2]

    def clear(self) -> None:
        with self._lock:
            self._current = None


INDEX = IndexCache()


@receiver([post_save, post_delete], sender=Place)
def _place_changed(sender, **kwargs) -> None:
    # An admin edit: this process answers with it at once (others within RECHECK_S).
    transaction.on_commit(INDEX.clear)
