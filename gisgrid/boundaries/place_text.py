"""Chinese text as the gazetteer compares it: normal form, character readings, pinyin keys.

A caller's words reach the desk through an input method (homophones: 凤皇 for 凤凰), a phone
set to traditional characters (鳳凰), full-width digits (３号楼) or pinyin typed without
choosing characters (fhjy, fenghuangjiayuan). Everything here turns both the query and the
place names into the same comparable form. All values are plain data (strings, tuples,
frozensets), safe to share between threads (docs/threads.md).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import opencc
from pypinyin import Style, pinyin
from pypinyin.phrases_dict import phrases_dict as PHRASES

# Syllables an input method with "fuzzy pinyin" (模糊音) on, or a dialect speaker, confuses:
# z/zh, c/ch, s/sh, n/l, f/h, and the final -n/-ng pairs. Mapped to one canonical key.
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("h", "f"))
_FUZZY_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))

_local = threading.local()
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff]")
_LETTER = re.compile(r"[a-z]")


def _t2s() -> opencc.OpenCC:
    # One converter per thread: the binding documents no thread safety for a shared instance.
    conv = getattr(_local, "t2s", None)
    if conv is None:
        conv = _local.t2s = opencc.OpenCC("t2s")
    return conv


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC), control characters dropped, traditional to simplified,
    lower case, whitespace collapsed. Punctuation is kept: the parser reads 与/、/- as links."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\t\n ")
    text = _t2s().convert(text)
    return " ".join(text.lower().split())


def compact(text: str) -> str:
    """Only letters, digits and CJK characters: the form names are compared in."""
    return _PUNCT.sub("", text)


def has_name_characters(text: str) -> bool:
    """Does the text hold anything a place name could be made of (CJK or Latin letters)?"""
    return bool(_CJK.search(text) or _LETTER.search(text))


def is_pinyin(text: str) -> bool:
    return bool(text) and text.isascii() and text.isalpha()


def fuzzy_syllable(s: str) -> str:
    for a, b in _FUZZY_INITIALS:
        if s.startswith(a):
            s = b + s[len(a):]
            break
    for a, b in _FUZZY_FINALS:
        if s.endswith(a):
            s = s[: -len(a)] + b
            break
    return s


@lru_cache(maxsize=65536)
def readings(ch: str) -> frozenset[str]:
    """Toneless readings of one character (every reading of a heteronym: 莘 xin/shen); a
    non-Chinese character reads as itself."""
    if not _CJK.match(ch):
        return frozenset([ch])
    return frozenset(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])


@lru_cache(maxsize=65536)
def fuzzy_readings(ch: str) -> frozenset[str]:
    return frozenset(fuzzy_syllable(r) for r in readings(ch))


@lru_cache(maxsize=65536)
def _reading(ch: str) -> str:
    return pinyin(ch, style=Style.NORMAL, errors=lambda x: list(x))[0][0]


def _has_phrase(text: str) -> bool:
    """Does pypinyin know a phrase (2-4 characters) inside `text`, which may change a reading?"""
    return any(text[i:i + n] in PHRASES for n in (2, 3, 4) for i in range(len(text) - n + 1))


def pinyin_keys(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of a name in its most common reading: 凤凰家园 -> (fenghuangjiayuan, fhjy).
    Character by character (cached) unless a character with several readings sits in a phrase
    pypinyin knows; then pypinyin reads the phrase (长乐 chang, 重庆 chong), ten times the cost."""
    if any(len(readings(c)) > 1 for c in text) and _has_phrase(text):
        syl = [s[0] for s in pinyin(text, style=Style.NORMAL, errors=lambda x: list(x))]
    else:
        syl = [_reading(c) for c in text]
    return "".join(syl), "".join(s[0] for s in syl if s)


_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def chinese_number(text: str) -> int | None:
    """'3' -> 3, '十二' -> 12, '二十' -> 20, '三百零五' -> 305; None when it is not a number."""
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return None
    return total + current
