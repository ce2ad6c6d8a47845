"""Strict parsing of whole numbers from user text (query strings, forms, files).

One parser for every layer: ASCII digits only (``str.isdigit`` and ``int`` also accept
"²", "١٢", "1_000" and thousands of digits), an optional leading minus, and a range,
so no huge number ever reaches SQLite or numpy.
"""
from __future__ import annotations

import re

_WHOLE = re.compile(r"-?[0-9]{1,18}")


class ParseError(ValueError):
    """The text is not a whole number in the allowed range; the message says what is allowed."""


def parse_int(text, low: int, high: int, name: str = "value") -> int:
    """Parse a whole number written in ASCII digits and check ``low <= n <= high``.

    Parameters
    ----------
    text : str or int
        The text (surrounding spaces are ignored). An ``int`` (not ``bool``) is checked as is.
    low, high : int
        The allowed range, both included.
    name : str
        The parameter's name, for the message.

    Returns
    -------
    int

    Raises
    ------
    ParseError
        When the text is not ASCII digits (with an optional ``-``) or is out of range.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        stripped = str(text if text is not None else "").strip()
        if not _WHOLE.fullmatch(stripped):
            shown = stripped if len(stripped) <= 40 else stripped[:40] + "…"
            raise ParseError(f"{name}={shown!r} is not a whole number (digits 0-9, {low} to {high})")
        value = int(stripped)
    if not low <= value <= high:
        raise ParseError(f"{name}={value} is out of range; use {low} to {high}")
    return value


def is_whole(text) -> bool:
    """True when ``text`` is ASCII digits (optionally ``-``), at most 18 of them."""
    return bool(_WHOLE.fullmatch(str(text if text is not None else "").strip()))
