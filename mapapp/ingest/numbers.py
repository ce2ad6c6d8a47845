"""Numbers as written in Vietnamese annexes: 1.234,5 and 1,234.5, percent signs, dashes for nothing."""
from __future__ import annotations

import math
import re


class NotANumber(ValueError):
    """A cell that should hold a number does not."""


_EMPTY = {"", "-", "–", "—", "..", "...", "…"}


def parse_number(value, text: str) -> float | None:
    """A number written the Vietnamese way ("1.234", "12,5", "12,5%") or stored as a number.

    Returns ``None`` for an empty cell or a dash. Both separators: the last one is the
    decimal mark ("1.234,5"); dots alone in groups of three are thousands ("1.234.567");
    a comma alone is the decimal mark ("12,5").

    Raises
    ------
    NotANumber
        When the text is not a number.
    """
    if isinstance(value, bool):
        raise NotANumber(text)
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise NotANumber(text)
        return float(value)
    clean = str(text).replace("\u00a0", " ").strip()
    if clean in _EMPTY:
        return None
    clean = re.sub(r"(?<=\d)[ '](?=\d{3}\b)", "", clean.rstrip("%").strip())
    if not re.fullmatch(r"[+-]?(\d[\d.,]*|[.,]\d+)", clean):
        raise NotANumber(text)
    return float(_normalise_separators(clean, text))


def _normalise_separators(clean: str, text: str) -> str:
    dots, commas = clean.count("."), clean.count(",")
    if dots and commas:
        decimal = "." if clean.rfind(".") > clean.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        whole, _, frac = clean.rpartition(decimal)
        if not re.fullmatch(r"[+-]?[1-9]\d{0,2}(\%s\d{3})*" % thousands, whole):
            raise NotANumber(text)
        return whole.replace(thousands, "") + "." + frac
    if dots:
        if re.fullmatch(r"[+-]?[1-9]\d{0,2}(\.\d{3})+", clean):
            return clean.replace(".", "")  # "1.234", "1.234.567": Vietnamese thousands
        if dots > 1:
            raise NotANumber(text)
        return clean  # "12.5", "0.125"
    if commas > 1:
        if not re.fullmatch(r"[+-]?[1-9]\d{0,2}(,\d{3})+", clean):
            raise NotANumber(text)
        return clean.replace(",", "")
    return clean.replace(",", ".")  # "12,5": Vietnamese decimal comma


def nice(value: float, decimals: int = 4) -> str:
    """A number written the Vietnamese way ("12,5", "1.234")."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{round(value, decimals)}".replace(".", ",")
