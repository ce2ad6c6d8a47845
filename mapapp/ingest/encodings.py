"""Legacy Vietnamese text encodings → Unicode: TCVN3 (ABC), VNI Windows, Windows-1258.

Old shapefiles, spreadsheets and CSV files from district offices often carry names
typed with the ABC (TCVN3, font ``.VnTime``) or VNI (font ``VNI-Times``) keyboards:
the bytes are one of those encodings while the file claims Latin-1 or says nothing.

* **TCVN3** (TCVN 5712:1993, VN3): one byte per letter; lower-case letters with
  diacritics live in 0xA8-0xFE, seven upper-case letters (Ă Â Ê Ô Ơ Ư Đ) in 0xA1-0xA7.
  Upper-case letters with tones do not exist: ABC users switch to an upper-case font
  (``.VnTimeH``) that draws the same bytes as capitals, so decoded text may be lower case.
* **VNI Windows**: a base letter followed by a byte for its marks ("a" + "ù" = "á");
  ơ ư đ ị ĩ ỉ ì í ỵ have single bytes.
* **cp1258**: Python's codec (base letters + combining tones), composed to NFC.

:func:`decode` converts bytes; :func:`fix_text` converts text that was read as
Latin-1; :func:`detect` picks the encoding that makes the most sense of some texts.
"""
from __future__ import annotations

import unicodedata

ENCODINGS = ("utf-8", "tcvn3", "vni", "cp1258")

# TCVN3 (ABC): byte → character.
_TCVN3_PAIRS = {
    0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}
TCVN3_DECODE = {chr(b): c for b, c in _TCVN3_PAIRS.items()}
TCVN3_ENCODE = {c: chr(b) for b, c in _TCVN3_PAIRS.items()}

# VNI Windows: single bytes that are letters of their own.
_VNI_LETTERS = {
    "ô": "ơ", "Ô": "Ơ", "ö": "ư", "Ö": "Ư", "ñ": "đ", "Ñ": "Đ",
    "í": "í", "Í": "Í", "ì": "ì", "Ì": "Ì", "æ": "ỉ", "Æ": "Ỉ", "ó": "ĩ", "Ó": "Ĩ", "ò": "ị", "Ò": "Ị",
    "î": "ỵ", "Î": "Ỵ",
}
_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT = "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"
_CIRC, _BREVE = "\u0302", "\u0306"
# VNI Windows: mark bytes that follow a vowel (lower-case and upper-case forms).
_VNI_MARKS_LOWER = {
    "ù": _ACUTE, "ø": _GRAVE, "û": _HOOK, "õ": _TILDE, "ï": _DOT,
    "â": _CIRC, "á": _CIRC + _ACUTE, "à": _CIRC + _GRAVE, "å": _CIRC + _HOOK, "ã": _CIRC + _TILDE,
    "ä": _CIRC + _DOT,
    "ê": _BREVE, "é": _BREVE + _ACUTE, "è": _BREVE + _GRAVE, "ú": _BREVE + _HOOK, "ü": _BREVE + _TILDE,
    "ë": _BREVE + _DOT,
}
_VNI_MARKS = {**_VNI_MARKS_LOWER, **{k.upper(): v for k, v in _VNI_MARKS_LOWER.items()}}
_VOWELS = set("aeiouyAEIOUYơưƠƯ")
_TONES = {_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT}


def decode(data: bytes, encoding: str) -> str:
    """Decode ``data`` written in ``encoding`` (one of :data:`ENCODINGS`) to NFC Unicode.

    Raises
    ------
    UnicodeDecodeError
        For ``utf-8`` bytes that are not UTF-8.
    ValueError
        For an unknown encoding name.
    """
    name = normalise_name(encoding)
    if name == "utf-8":
        return unicodedata.normalize("NFC", data.decode("utf-8-sig"))
    if name == "cp1258":
        return unicodedata.normalize("NFC", data.decode("cp1258", errors="replace"))
    return fix_text(data.decode("latin-1"), name)


def normalise_name(encoding: str) -> str:
    """Canonical name of an encoding given as "TCVN3", "abc", "VNI", "utf8", "windows-1258"...

    Raises
    ------
    ValueError
        When the name is none of the supported encodings.
    """
    key = (encoding or "").strip().lower().replace("_", "-")
    aliases = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8", "tcvn3": "tcvn3", "tcvn": "tcvn3",
               "abc": "tcvn3", "tcvn-3": "tcvn3", "vn3": "tcvn3", "vni": "vni", "vni-windows": "vni",
               "cp1258": "cp1258", "windows-1258": "cp1258", "1258": "cp1258"}
    if key not in aliases:
        raise ValueError(f"bảng mã không hỗ trợ / unsupported encoding {encoding!r}; "
                         f"dùng / use one of: {', '.join(ENCODINGS)}")
    return aliases[key]


def fix_text(text: str, encoding: str) -> str:
    """Convert text whose characters are the bytes of a legacy encoding (read as Latin-1).

    Characters above U+00FF are kept: such text was already Unicode.
    """
    name = normalise_name(encoding)
    if name == "utf-8":
        return _redecode(text, "utf-8")
    if name == "cp1258":
        return _redecode(text, "cp1258")
    if name == "tcvn3":
        return unicodedata.normalize("NFC", "".join(TCVN3_DECODE.get(c, c) for c in text))
    return _vni_to_unicode(text)


def _redecode(text: str, codec: str) -> str:
    for carrier in ("latin-1", "cp1252"):
        try:
            return unicodedata.normalize("NFC", text.encode(carrier).decode(codec))
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return unicodedata.normalize("NFC", text)


def _vni_to_unicode(text: str) -> str:
    out: list[str] = []
    for char in text:
        mark = _VNI_MARKS.get(char)
        if mark is not None and out and _accepts(out[-1], mark):
            out[-1] += mark
        else:
            out.append(_VNI_LETTERS.get(char, char))
    return unicodedata.normalize("NFC", "".join(out))


def _accepts(previous: str, mark: str) -> bool:
    """True when a VNI mark byte can attach to the letter before it."""
    base = previous[0]
    if base not in _VOWELS:
        return False
    existing = previous[1:]
    if mark[0] in (_CIRC, _BREVE):
        return not existing and base in "aeoAEO"
    return not any(c in _TONES for c in existing)


def encode_tcvn3(text: str) -> bytes:
    """Encode Unicode text in TCVN3 (ABC); upper-case toned letters become lower case.

    Used to build test inputs and to explain the encoding; unknown characters become "?".
    """
    out = []
    for char in unicodedata.normalize("NFC", text):
        if ord(char) < 0x80:
            out.append(char)
        elif char in TCVN3_ENCODE:
            out.append(TCVN3_ENCODE[char])
        elif char.lower() in TCVN3_ENCODE:
            out.append(TCVN3_ENCODE[char.lower()])
        else:
            out.append("?")
    return "".join(out).encode("latin-1")


def encode_vni(text: str) -> bytes:
    """Encode Unicode text in VNI Windows (base letter + mark bytes); unknown characters become "?".

    Used to build test inputs; the inverse of :func:`decode` with ``"vni"``.
    """
    letters = {v: k for k, v in _VNI_LETTERS.items()}
    marks = {v: k for k, v in _VNI_MARKS_LOWER.items()}
    out = []
    for char in unicodedata.normalize("NFC", text):
        if ord(char) < 0x80 or char in letters:
            out.append(letters.get(char, char))
            continue
        parts = unicodedata.normalize("NFD", char)
        base, rest = parts[0], "".join(sorted(parts[1:], key=lambda c: c not in (_CIRC, _BREVE)))
        if "\u031b" in rest:  # horn: ơ ư are letters of their own
            base, rest = letters[unicodedata.normalize("NFC", base + "\u031b")], rest.replace("\u031b", "")
        mark = marks.get(rest)
        if mark is None or base not in _VOWELS | set(letters.values()):
            out.append("?")
            continue
        out.append(base + (mark.upper() if char.isupper() else mark))
    return "".join(out).encode("latin-1")


def plausibility(text: str) -> float:
    """How Vietnamese a text looks: the share of its words with non-ASCII letters that are
    well-formed (only Vietnamese letters, at most one tone mark).

    Mojibake such as "H­íng" (TCVN3 read as Latin-1) or "Höôùng" (VNI) has characters
    that are not Vietnamese letters, or several tones in one word once wrongly decoded.
    """
    words = [w for w in _words(unicodedata.normalize("NFC", text)) if any(ord(c) > 0x7F for c in w)]
    if not words:
        return 1.0
    return sum(1 for w in words if _plausible_word(w)) / len(words)


def _words(text: str) -> list[str]:
    return "".join(c if (c.isalpha() or ord(c) > 0x7F) and not c.isspace() else " " for c in text).split()


_VIETNAMESE_BASES = set("aăâeêioôơuưyđAĂÂEÊIOÔƠUƯYĐ")


def _plausible_word(word: str) -> bool:
    tones = 0
    for char in word:
        if ord(char) < 0x80:
            continue
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
        if base not in _VIETNAMESE_BASES:
            return False
        tones += sum(1 for c in parts if c in _TONES)
    return tones <= 1


def detect(texts: list[str], known_names=None) -> tuple[str, dict[str, float]]:
    """Guess the encoding of texts read as Latin-1 (or already Unicode).

    Parameters
    ----------
    texts : the attribute values (strings) to look at
    known_names : optional callable ``name -> bool`` telling whether a decoded text is a
        known place name; a decoding that yields known names wins.

    Returns
    -------
    encoding, scores
        The best encoding of :data:`ENCODINGS` and the score of each candidate.
    """
    sample = [t for t in texts if isinstance(t, str) and any(ord(c) > 0x7F for c in t)][:500]
    if not sample:
        return "utf-8", {}
    scores = {}
    for name in ENCODINGS:
        decoded = [fix_text(t, name) for t in sample]
        score = sum(plausibility(t) for t in decoded) / len(decoded)
        if known_names is not None:
            score += 2.0 * sum(1 for t in decoded if known_names(t)) / len(decoded)
        scores[name] = round(score, 4)
    # Ties go to the first candidate (utf-8: leave text alone when in doubt).
    best = max(ENCODINGS, key=lambda n: scores[n])
    return best, scores
