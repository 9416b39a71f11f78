"""Address gazetteer: a spoken or typed place name -> ranked places with point and grid chain.

Trigram similarity (pg_trgm) on name + aliases finds fragments and names missing a character
("金水苑" for "金水花苑"); a substring match ranks first. pg_trgm treats CJK characters as word
characters only under a Unicode-aware LC_CTYPE (C.UTF-8 or zh_CN.UTF-8); ./run creates its
database that way, and the substring test still answers when a server's locale does not.
"""

from __future__ import annotations

from django.db import connection

from .models import Place

MAX_QUERY_LENGTH = 60
# Trigram similarity alone ties (or inverts) names that share a prefix: for "中央府" it ranks
# 中央苑 above 中央御府. A wider candidate set is therefore re-ranked by how much of the query
# appears, in order, in the name or an alias (longest common subsequence / query length) and,
# less, by how much of that name or alias the query accounts for (closer lengths first).
_CANDIDATES = 200
_COVERAGE_WEIGHT = 0.5
_FIT_WEIGHT = 0.1


def _lcs(a: str, b: str) -> int:
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0]
        for j, cb in enumerate(b):
            cur.append(prev[j] + 1 if ca == cb else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def _coverage(q: str, name: str, aliases: str) -> float:
    texts = [name, *(a for a in aliases.split("|") if a)]
    return max(_COVERAGE_WEIGHT * _lcs(q, t) / len(q) + _FIT_WEIGHT * _lcs(q, t) / len(t) for t in texts if t)


def search_places(q: str, limit: int = 10) -> list[dict]:
    q = " ".join(q.split())
    if not q:
        raise ValueError("empty query")
    sql = """
        SELECT id, name, kind, aliases, ST_X(point), ST_Y(point),
               GREATEST(similarity(search_text, %(q)s), word_similarity(%(q)s, search_text))
               + CASE WHEN name = %(q)s THEN 1.0 WHEN search_text LIKE %(like)s THEN 0.5 ELSE 0 END AS score
        FROM boundaries_place
        WHERE search_text LIKE %(like)s OR %(q)s <%% search_text OR search_text %% %(q)s
        ORDER BY score DESC, length(name), name
        LIMIT %(limit)s
    """
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with connection.cursor() as cur:
        cur.execute("SET LOCAL pg_trgm.word_similarity_threshold = 0.3")
        cur.execute("SET LOCAL pg_trgm.similarity_threshold = 0.2")
        cur.execute(sql, {"q": q, "like": like, "limit": max(limit, _CANDIDATES)})
        rows = cur.fetchall()
    rows = [(*r[:6], float(r[6]) + _coverage(q, r[1], r[3])) for r in rows]
    rows.sort(key=lambda r: (-round(r[6], 6), len(r[1]), r[1]))
    rows = rows[:limit]
    kinds = dict(Place.Kind.choices)
    return [
        {
            "name": name, "kind": kind, "kind_label": str(kinds.get(kind, kind)),
            "aliases": [a for a in aliases.split("|") if a], "point": [round(x, 7), round(y, 7)],
            "score": round(float(score), 3),
        }
        for _id, name, kind, aliases, x, y, score in rows
    ]
