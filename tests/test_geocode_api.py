"""GET /api/v1/geocode as the hotline desk uses it: the answer shape, landmarks, crossings,
did-you-mean, the datum asked for, personal data by role, and the bad-input list of issue 14.

Queries are built from the committed Heyang files (compounds, streets, landmarks, grids), so
the expected place is the one the data says, never a hard-coded answer.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import shapely

HEYANG = Path(__file__).resolve().parent.parent / "geodata" / "heyang"
URL = "/api/v1/geocode"


@cache
def features(name: str) -> list[dict]:
    return json.loads((HEYANG / f"{name}.geojson").read_text(encoding="utf-8"))["features"]


@cache
def grids_by_code() -> dict[str, dict]:
    return {f["properties"]["code"]: f["properties"] for f in features("grids")}


def chain_names(code: str) -> list[str]:
    """Level-1 .. deepest grid names of a grid code (parents by code)."""
    by = grids_by_code()
    out = []
    while code in by:
        out.insert(0, by[code]["name"])
        code = by[code]["parent_code"]
    return out


def get(client, q, **extra) -> dict:
    r = client.get(URL, {"q": q, **extra})
    assert r.status_code == 200, r.content
    return r.json()


def a_compound() -> dict:
    """A compound with a grid code and a name of 4+ characters."""
    return next(f["properties"] for f in features("compounds")
                if f["properties"].get("grid_code") and len(f["properties"]["name"]) >= 4)


def test_full_hotline_address_answer_shape(anon_client) -> None:
    c = a_compound()
    town, village = chain_names(c["grid_code"])[:2]
    q = f"陕西省渭南市合阳县{town}{village}{c['name']}3号楼2单元301室东门附近"
    body = get(anon_client, q)
    assert set(body) >= {"query", "crs", "count", "results", "parsed", "did_you_mean", "outside", "note"}
    assert body["query"] == q and body["crs"] == "wgs84" and body["outside"] is None
    parsed = body["parsed"]
    assert [a["level"] for a in parsed["admin"]] == ["province", "city", "county", "town", "village"]
    assert [a["name"] for a in parsed["admin"]][3:] == [town, village]
    assert parsed["core"] == c["name"]
    assert parsed["number"] == {"building": 3, "unit": 2, "room": 301}
    assert parsed["gate"] == "东门" and parsed["relative"] == ["附近"]
    top = body["results"][0]
    assert top["name"] == c["name"] and top["kind"] == "compound"
    assert set(top) >= {"name", "kind", "kind_label", "category", "aliases", "point", "point_crs", "score",
                        "parsed", "status", "grids", "unit", "staff"}
    assert 0 < top["score"] <= 1
    assert top["parsed"] == parsed  # every place carries the parsed parts (routing keeps only the place)
    assert top["grids"][-1]["code"] == c["grid_code"]
    assert top["point_crs"] == top["point"]
    assert top["unit"] and top["unit"]["name"]


def test_point_in_the_asked_datum(anon_client) -> None:
    from gisgrid.boundaries.datums import wgs84_to_bd09, wgs84_to_gcj02

    name = a_compound()["name"]
    for crs, conv in (("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)):
        body = get(anon_client, name, crs=crs)
        top = body["results"][0]
        assert body["crs"] == crs
        x, y = conv(np.array([top["point"][0]]), np.array([top["point"][1]]))
        assert top["point_crs"] == pytest.approx([float(x[0]), float(y[0])], abs=2e-7)
        assert top["point_crs"] != top["point"]


def test_staff_phones_only_for_roles_that_need_them(anon_client, client_as) -> None:
    name = a_compound()["name"]
    anon = get(anon_client, name)["results"][0]
    assert anon["staff"], "the compound's grid has staff in the demo data"
    assert all("phone" not in s for s in anon["staff"]) and "phone" not in (anon["unit"] or {})
    disp = get(client_as("dispatcher"), name)["results"][0]
    assert all(s.get("phone") for s in disp["staff"])


def landmarks() -> list[dict]:
    return [f["properties"] | {"point": f["geometry"]["coordinates"]} for f in features("places")]


def test_landmark_by_alias_with_relative_words(anon_client) -> None:
    from gisgrid.boundaries.models import Place

    labels = dict(Place.Category.choices)
    for lm in [p for p in landmarks() if p["aliases"]][:25]:
        alias = lm["aliases"][0]
        body = get(anon_client, f"{alias}对面", limit=3)
        names = [r["name"] for r in body["results"]]
        assert lm["name"] in names, (alias, names)
        hit = body["results"][names.index(lm["name"])]
        assert hit["kind"] == "landmark" and hit["category"] == lm["category"]
        assert hit["kind_label"] == str(labels[lm["category"]])
        assert hit["point"] == pytest.approx(lm["point"], abs=1e-7)
        assert body["parsed"]["relative"] == ["对面"]


@pytest.mark.parametrize("word,category", [("医院", "hospital"), ("学校", "school"), ("广场", "square"),
                                           ("市场", "market"), ("汽车站", "bus_station"), ("卫生院", "clinic")])
def test_generic_words_find_landmarks(anon_client, word, category) -> None:
    body = get(anon_client, word, limit=3)
    assert any(r["kind"] == "landmark" and r["category"] == category for r in body["results"]), body["results"]
    # Many places answer a generic word: the answer offers the others, unless one is called so.
    assert body["did_you_mean"] or body["results"][0]["score"] == 1.0


def test_pinyin_and_initials(anon_client) -> None:
    from pypinyin import lazy_pinyin

    for f in features("compounds")[:20]:
        name = f["properties"]["name"]
        syl = lazy_pinyin(name)
        for q in ("".join(syl), "".join(s[0] for s in syl)):
            names = [r["name"] for r in get(anon_client, q, limit=3)["results"]]
            assert name in names, (q, names)


@cache
def streets() -> dict[str, shapely.Geometry]:
    return {f["properties"]["name"]: shapely.geometry.shape(f["geometry"]) for f in features("streets")}


def street_pairs(meeting: bool) -> list[tuple[str, str]]:
    s = streets()
    names = sorted(s)
    out = [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if s[a].intersects(s[b]) == meeting]
    return out[:: max(1, len(out) // 12)][:12]


@pytest.mark.parametrize("form", ["{a}与{b}交叉口", "{a}和{b}十字", "{a}{b}十字路口"])
def test_crossing_of_two_streets(anon_client, form) -> None:
    s = streets()
    for a, b in street_pairs(meeting=True):
        body = get(anon_client, form.format(a=a, b=b))
        top = body["results"][0]
        assert top["kind"] == "intersection" and set(top["streets"]) == {a, b}
        pt = shapely.Point(top["point"])
        assert s[a].distance(pt) < 1e-6 and s[b].distance(pt) < 1e-6
        assert body["parsed"]["intersection"] == [a, b]
        assert top["grids"], "a crossing in the county town has its grid chain"


def test_streets_that_do_not_meet_are_said_so(anon_client) -> None:
    for a, b in street_pairs(meeting=False)[:5]:
        body = get(anon_client, f"{a}与{b}交叉口")
        assert "不相交" in body["note"] and "do not meet" in body["note"]
        assert {r["name"] for r in body["results"]} == {a, b}
        assert all(r["kind"] == "street" for r in body["results"])


def test_did_you_mean_when_two_places_are_close(anon_client) -> None:
    """Two compounds sharing all but their last character: the shared part alone is as close to both."""
    names = sorted(f["properties"]["name"] for f in features("compounds"))
    pairs = [(a, b) for a, b in zip(names, names[1:], strict=False) if len(a) == len(b) >= 4 and a[:-1] == b[:-1]]
    assert pairs, "the demo has compounds differing only in their last character"
    a, b = pairs[0]
    body = get(anon_client, a[:-1], limit=3)
    top = [r["name"] for r in body["results"]]
    assert a in top and b in top
    assert body["results"][0]["score"] < 1 and body["did_you_mean"]
    assert {top[0], *body["did_you_mean"]} >= {a, b}


def test_traditional_and_full_width(anon_client) -> None:
    import opencc

    s2t = opencc.OpenCC("s2t")
    changed = [f["properties"]["name"] for f in features("compounds") if s2t.convert(f["properties"]["name"]) !=
               f["properties"]["name"]][:15]
    assert changed
    for name in changed:
        assert get(anon_client, s2t.convert(name))["results"][0]["name"] == name
    c = a_compound()
    body = get(anon_client, c["name"] + "３号楼２单元")  # full-width digits
    assert body["results"][0]["name"] == c["name"]
    assert body["parsed"]["number"] == {"building": 3, "unit": 2}


# --- bad input (issue 14): a clear answer, never a 500 ------------------------------------------


@pytest.mark.parametrize("q", ["", "   ", "\t\n", "\u3000\u3000"])
def test_empty_or_whitespace_is_a_400_naming_q(anon_client, q) -> None:
    r = anon_client.get(URL, {"q": q})
    assert r.status_code == 400 and "q" in r.json()["fields"]


def test_two_thousand_characters_is_a_400_naming_q(anon_client) -> None:
    r = anon_client.get(URL, {"q": "合阳" * 1000})
    assert r.status_code == 400 and "q" in r.json()["fields"]


def test_nul_is_a_400_naming_q(anon_client) -> None:
    r = anon_client.get(URL, {"q": "泰山\x00社区"})
    assert r.status_code == 400 and "q" in r.json()["fields"]


@pytest.mark.parametrize("q", ["！？。，", "...", "%%%", "12345", "１２３４５", "3号楼2单元", "---"])
def test_no_place_name_is_said_so(anon_client, q) -> None:
    body = get(anon_client, q)
    assert body["count"] == 0 and body["results"] == []
    assert body["note"]


def test_control_characters_are_dropped(anon_client) -> None:
    body = get(anon_client, "\x01泰山\x7f社区\x1b")
    assert body["results"][0]["name"] == "泰山社区"


@pytest.mark.parametrize("q,name,province", [("大荔县城关镇", "大荔县", "陕西省"), ("西安市钟楼", "西安市", "陕西省"),
                                             ("北京天安门", "北京市", "北京市"), ("山西省运城市盐湖区", "山西省", "山西省")])
def test_a_place_outside_the_county_says_where_it_is(anon_client, q, name, province) -> None:
    body = get(anon_client, q)
    assert body["results"] == []
    assert body["outside"]["name"] == name and body["outside"]["province"] == province
    assert "不在本县" in body["note"] and "outside the county" in body["note"]


def test_nothing_similar_is_an_empty_answer(anon_client) -> None:
    body = get(anon_client, "火星基地")
    assert body["results"] == [] and body["note"]


def test_bad_crs_is_a_400(anon_client) -> None:
    r = anon_client.get(URL, {"q": "泰山社区", "crs": "mars"})
    assert r.status_code == 400 and "crs" in r.json()["fields"]
