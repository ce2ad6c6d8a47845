"""Vietnamese place names: normalisation for matching, and collation for sorting.

Handles NFC/NFD, old and new tone-mark placement ("Hoá"/"Hóa", "Thuỵ"/"Thụy"),
any case, and the administrative prefixes "Xã", "Thị trấn", "TT", "Phường".
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_PREFIX = re.compile(r"^(xã|xa|thị trấn|thi tran|tt\.?|phường|phuong|p\.)\s+", re.IGNORECASE)
_TONES = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook, dot below
# Old-style placement puts the tone on the last vowel of "oa", "oe", "uy";
# the modern style puts it on the first. Normalise to the modern style.
_OLD_STYLE = re.compile(r"(?i)([ou])([ae]|y)([" + _TONES + r"])(?![a-zđ])")


def nfc(text: str) -> str:
    """Return ``text`` in Unicode NFC with surrounding and repeated spaces collapsed."""
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def strip_prefix(name: str) -> str:
    """Drop a leading "Xã", "Thị trấn", "TT" or "Phường" from a commune name."""
    return _PREFIX.sub("", nfc(name)).strip()


def short_name(name: str) -> str:
    """The label of a commune on a map: ``Xã A Dơi`` → ``A Dơi``, ``Thị trấn Khe Sanh`` → ``TT. Khe Sanh``.

    Shared by the exports and the web map (sent with the label points), so both read the same.
    """
    name = nfc(name)
    if name.startswith("Xã "):
        return name[3:]
    if name.startswith("Thị trấn "):
        return "TT. " + name[len("Thị trấn "):]
    return name


def search_key(name: str) -> str:
    """The key the map's search box compares typed text against: no prefix, no diacritics, lower case.

    The page folds what is typed the same way (static/map/search.js), so "huong lap",
    "Hướng Lập", "xa huong lap" and "TT Khe Sanh" all find their commune.

    Examples
    --------
    >>> search_key("Xã Hướng Lập"), search_key("Thị trấn Khe Sanh")
    ('huong lap', 'khe sanh')
    """
    return ascii_key(name)


def match_key(name: str) -> str:
    """Return a key under which spellings of the same commune name compare equal.

    Examples
    --------
    >>> match_key("Thị trấn Khe Sanh") == match_key("khe sanh")
    True
    >>> match_key("Hướng Hoá") == match_key("HƯỚNG HÓA")
    True
    """
    decomposed = unicodedata.normalize("NFD", strip_prefix(name).lower())
    decomposed = _OLD_STYLE.sub(lambda m: m.group(1) + m.group(3) + m.group(2), decomposed)
    return unicodedata.normalize("NFC", decomposed)


def ascii_key(name: str) -> str:
    """Return the match key without diacritics (đ → d), for unambiguous loose matching."""
    decomposed = unicodedata.normalize("NFD", match_key(name)).replace("đ", "d")
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_ALPHABET = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
_TONE_ORDER = {"": 0, "\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}


@lru_cache(maxsize=65536)  # a country's 11,163 names are sorted on every ranking
def sort_key(name: str) -> tuple:
    """Collation key following the Vietnamese alphabet (a < ă < â < b ... đ after d).

    Base letters compare first, tones only break ties, prefixes are ignored.
    """
    letters, tones = [], []
    for char in unicodedata.normalize("NFC", strip_prefix(name).lower()):
        base, tone = _split_tone(char)
        letters.append(_ALPHABET.index(base) if base in _ALPHABET else 100 + ord(base))
        tones.append(tone)
    return tuple(letters), tuple(tones)


@lru_cache(maxsize=4096)
def _split_tone(char: str) -> tuple[str, int]:
    parts = unicodedata.normalize("NFD", char)
    tone = next((c for c in parts if c in _TONES), "")
    base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
    return base, _TONE_ORDER[tone]
