"""Parse a spoken or typed address into what narrows the search and what is kept for the answer.

"陕西省渭南市合阳县城关街道泰山社区凤凰家园3号楼2单元301室东门附近" ->
admin chain (陕西省 渭南市 合阳县 城关街道 泰山社区), core "凤凰家园", number (building 3,
unit 2, room 301), gate 东门, relative words [附近]. "东风街与书院街交叉口" -> an intersection
of 东风街 and 书院街.

Hand-written rules rather than a general parser: jionlp (the maintained Chinese address parser)
was measured for this (docs/geocoding.md): 70 MB installed, +72 MB resident after its first
parse, 370 ms for that first parse and 4-5 ms for each later one, and it only splits off
province/city/county - reading "合阳县医院" as county 合阳县 + "医院". The county's own town and
village names, which it does not know, narrow the search far more, and the trailing parts
(楼/单元/室, gates, 对面, 往东200米) are a short list of patterns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .place_text import chinese_number, compact

# The county's own chain above the towns (the demo is Heyang; another county sets its own in
# settings.GISGRID_ADDRESS_PREFIXES). Short forms are what callers say.
DEFAULT_PREFIXES = (("province", ("陕西省", "陕西")), ("city", ("渭南市", "渭南")), ("county", ("合阳县", "合阳")))

# Places a caller may name that are not in the county: its neighbours (the rest of Weinan and
# the counties across the Yellow River in Shanxi), Shaanxi's cities and the provinces. A query
# starting with one of them is answered "outside the county, in X".
_WEINAN = ("临渭区", "华州区", "潼关县", "大荔县", "澄城县", "蒲城县", "白水县", "富平县", "韩城市", "华阴市")
_SHANXI_ACROSS = ("临猗县", "万荣县", "河津市", "永济市", "运城市")
_SHAANXI_CITIES = ("西安市", "铜川市", "宝鸡市", "咸阳市", "延安市", "汉中市", "榆林市", "安康市", "商洛市")
_PROVINCES = ("北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省",
              "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省",
              "四川省", "贵州省", "云南省", "甘肃省", "青海省", "台湾省", "内蒙古自治区", "广西壮族自治区",
              "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区")


def _outside_table() -> dict[str, dict]:
    table: dict[str, dict] = {}
    for name in _WEINAN:
        table[name] = {"name": name, "city": "渭南市", "province": "陕西省"}
    for name in _SHANXI_ACROSS:
        table[name] = {"name": name, "city": "运城市", "province": "山西省"}
    for name in _SHAANXI_CITIES:
        table[name] = {"name": name, "city": name, "province": "陕西省"}
    for name in _PROVINCES:
        table[name] = {"name": name, "city": "", "province": name}
    # Short forms (大荔, 韩城, 西安, 山西...) too, longest first when matched.
    for name, where in list(table.items()):
        short = re.sub(r"(维吾尔|壮族|回族)?(特别行政区|自治区|省|市|县|区)$", "", name)
        if len(short) >= 2:
            table.setdefault(short, where)
    return table


OUTSIDE = _outside_table()

_NUM = r"(\d+|[零〇一二两三四五六七八九十百]+|[a-z])"
# Trailing parts, matched repeatedly from the end of the text (a caller says them last).
_TAIL_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("relative", re.compile(r"(?:往|向|朝)?[东南西北]{1,2}(?:方向)?(?:走)?(?:大约|约)?\d+(?:米|公里|千米|m|km)(?:处|左右|远)?$")),
    ("relative", re.compile(r"(?:附近|周边|周围|旁边|旁|边上|隔壁|斜对面|对面|对过|跟前|后面|后边|前面|前边|里面|里边|"
                            r"院内|院里|内|外|这边|那边|[东南西北]侧|[东南西北]边|以[东南西北])$")),
    ("gate", re.compile(r"(?:[东南西北](?:大)?门|正门|大门|后门|侧门|东北门|西北门|东南门|西南门)(?:口)?$")),
    ("room", re.compile(_NUM + r"(?:室|户)$")),
    ("floor", re.compile(_NUM + r"(?:层|楼)$")),
    ("unit", re.compile(_NUM + r"单元$")),
    ("building", re.compile(_NUM + r"(?:号楼|栋楼|栋|幢|座|号院)$")),
    ("house", re.compile(_NUM + r"号$")),
    ("group", re.compile(_NUM + r"(?:组|队|村民小组)$")),
    ("room", re.compile(r"(\d{3,4})$")),  # "3号楼2单元301": the bare number after a unit is a room
]
_LEADING = re.compile(r"^(?:我在|我家在|我们在|住在|就在|在|位于|靠近|挨着|地址是|地址|地点是|地点)")
_ROAD = r"(?:路|街|大街|大道|巷|道)"
_CROSS = r"(?:的)?(?:交叉路口|交叉口|交汇处|交口|十字路口|丁字路口|十字口|十字|路口)(?:附近|处)?$"
_INTERSECTION_LINKED = re.compile(r"^(.+?)(?:与|和|跟|同|、|/|&|\+|-)(.+?)" + _CROSS)
_INTERSECTION_BARE = re.compile(r"^(.+?" + _ROAD + r")(.+?" + _ROAD + r")" + _CROSS)


@dataclass
class ParsedAddress:
    """What the parser read. `core` is the text the place names are matched against; `variants`
    are the other readings of it worth trying (a prefix that may belong to the name itself)."""

    text: str
    core: str
    variants: list[str] = field(default_factory=list)
    admin: list[dict] = field(default_factory=list)  # [{"level": "county", "name": "合阳县"}, ...]
    number: dict = field(default_factory=dict)  # {"building": 3, "unit": 2, "room": 301, "house": 88}
    gate: str = ""
    relative: list[str] = field(default_factory=list)
    intersection: tuple[str, str] | None = None
    outside: dict | None = None

    def admin_name(self, level: str) -> str | None:
        return next((a["name"] for a in self.admin if a["level"] == level), None)

    def parts(self) -> dict:
        """The parsed parts as the API gives them (docs/api.md, geocode)."""
        return {
            "admin": list(self.admin), "core": self.core, "number": dict(self.number), "gate": self.gate,
            "relative": list(self.relative),
            "intersection": list(self.intersection) if self.intersection else None,
        }


@dataclass(frozen=True)
class AdminNames:
    """The county's own names by level, from the active edition: level-1 towns, level-2
    villages and communities, each full name mapped to itself and its short form."""

    towns: dict[str, str]  # name or short form -> full name
    villages: dict[str, str]
    prefixes: tuple[tuple[str, tuple[str, ...]], ...] = DEFAULT_PREFIXES


_LONGEST_ADMIN = 12  # no town, village or other county's name is longer


def _strip_prefix(text: str, names) -> tuple[str, str] | None:
    """The longest of `names` (a dict or tuple) that `text` starts with, and the rest."""
    for n in range(min(len(text), _LONGEST_ADMIN), 1, -1):
        head = text[:n]
        if head in names:
            return head, text[n:]
    return None


def _strip_tail(text: str, parsed: ParsedAddress) -> str:
    changed = True
    while changed and text:
        changed = False
        for kind, pattern in _TAIL_PATTERNS:
            m = pattern.search(text)
            if not m or m.start() == 0 and kind in ("house", "room", "floor", "group"):
                continue  # a bare "3号" is not an address part of nothing
            part = m.group(0)
            if kind == "relative":
                parsed.relative.insert(0, part)
            elif kind == "gate":
                if not parsed.gate:
                    parsed.gate = part
            elif kind not in parsed.number:
                raw = m.group(1)
                value = chinese_number(raw)
                parsed.number[kind] = value if value is not None else raw.upper()
            else:
                continue
            text = text[: m.start()]
            changed = True
            break
    return text


def parse(text: str, names: AdminNames) -> ParsedAddress:
    """Parse normalised text (place_text.normalize) into a ParsedAddress."""
    t = compact(text)
    parsed = ParsedAddress(text=text, core=t)
    t = _LEADING.sub("", t)
    # The administrative chain, in order, each level optional: 省 市 县 镇/街道 村/社区 组.
    rest = t
    for level, forms in names.prefixes:
        hit = _strip_prefix(rest, forms)
        if hit:
            parsed.admin.append({"level": level, "name": forms[0]})
            rest = hit[1]
    if not any(a["level"] == "county" for a in parsed.admin):
        hit = _strip_prefix(rest, OUTSIDE)
        if hit and (hit[1] or len(hit[0]) > 2 or hit[0] == rest):
            parsed.outside = OUTSIDE[hit[0]]
    for level, table in (("town", names.towns), ("village", names.villages)):
        hit = _strip_prefix(rest, table)
        if hit and (hit[0] == table[hit[0]] or hit[1]):  # a short form only when more follows
            parsed.admin.append({"level": level, "name": table[hit[0]]})
            rest = hit[1]
    group = re.match(_NUM + r"(?:组|队|村民小组)", rest)
    if group and parsed.admin_name("village"):
        value = chinese_number(group.group(1))
        parsed.number["group"] = value if value is not None else group.group(1)
        rest = rest[group.end():]
    core = _strip_tail(rest, parsed)
    parsed.core = core
    # The unstripped readings stay candidates: "合阳县医院" is a hospital, not 医院 in 合阳县.
    variants = []
    for v in (core, _strip_tail(t, ParsedAddress(text, t))):
        if v and v not in variants:
            variants.append(v)
    for _level, forms in names.prefixes:
        for form in forms:
            if form in t and t.index(form) == 0:
                v = _strip_tail(t[len(form):], ParsedAddress(text, t))
                if v and v not in variants:
                    variants.append(v)
    parsed.variants = variants
    m = _INTERSECTION_LINKED.match(core) or _INTERSECTION_BARE.match(core)
    if m and m.group(1) and m.group(2):
        parsed.intersection = (m.group(1), m.group(2))
    return parsed


def admin_names_for(towns: Iterable[str], villages: Iterable[str], prefixes=DEFAULT_PREFIXES) -> AdminNames:
    """AdminNames from the full level-1 and level-2 grid names (short forms derived)."""

    def table(full_names: Iterable[str], suffixes: tuple[str, ...]) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in full_names:
            out[name] = name
            for suffix in suffixes:
                short = name.removesuffix(suffix)
                if short != name and len(short) >= 2:
                    out.setdefault(short, name)
        return out

    return AdminNames(table(towns, ("街道办事处", "街道", "镇", "乡")), table(villages, ("社区", "村")), tuple(prefixes))
