"""View state: everything a map view depends on, parsed from (and written back to) the query string.

Every view is a permalink (``/?indicator=poverty_rate&year=2021``); the page, the
API and the exports parse the same parameters with the same rules.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from urllib.parse import urlencode

from . import classify

LANGS = ("vi", "en")


class BadRequest(ValueError):
    """A query parameter is malformed or out of range; the message says which and why."""


@dataclass(frozen=True)
class ViewState:
    """One map view."""

    indicator: str
    year: int
    method: str = classify.DEFAULT_METHOD
    k: int = classify.DEFAULT_K
    palette: str = ""  # '' = the indicator's default palette
    lang: str = "vi"
    projects: bool = True

    def query_string(self) -> str:
        """The canonical query string of this view (defaults left out)."""
        defaults = ViewState(self.indicator, self.year)
        params = {k: v for k, v in asdict(self).items() if k in ("indicator", "year") or v != getattr(defaults, k)}
        if "projects" in params:
            params["projects"] = "1" if self.projects else "0"
        return urlencode(params)


def parse(args, config, indicator_ids) -> ViewState:
    """Parse request arguments into a :class:`ViewState`.

    Parameters
    ----------
    args : Mapping[str, str]
        The query string arguments.
    config : Mapping
        App config (``DEFAULT_INDICATOR``, ``DEFAULT_YEAR``, ``FIRST_YEAR``, ``LAST_YEAR``).
    indicator_ids : Collection[str]
        Known indicator ids.

    Raises
    ------
    BadRequest
        With a message naming the parameter, the value given and what is allowed.
    """
    indicator = args.get("indicator", config["DEFAULT_INDICATOR"])
    if indicator not in indicator_ids:
        raise BadRequest(f"unknown indicator {indicator!r}; use one of: {', '.join(indicator_ids)}")
    year = parse_year(args.get("year"), config, default=config["DEFAULT_YEAR"])
    method = args.get("method", classify.DEFAULT_METHOD)
    if method not in classify.METHODS:
        raise BadRequest(f"unknown classification method {method!r}; use one of: {', '.join(classify.METHODS)}")
    k = _parse_int("k", args.get("k"), classify.DEFAULT_K)
    if not classify.MIN_K <= k <= classify.MAX_K:
        raise BadRequest(f"k={k} is out of range; use {classify.MIN_K} to {classify.MAX_K} classes")
    palette = args.get("palette", "")
    if palette and palette not in classify.PALETTES:
        raise BadRequest(f"unknown palette {palette!r}; use one of: {', '.join(classify.PALETTES)}")
    lang = args.get("lang", "vi")
    if lang not in LANGS:
        raise BadRequest(f"unknown language {lang!r}; use vi or en")
    projects = args.get("projects", "1") not in ("0", "false", "off")
    return ViewState(indicator, year, method, k, palette, lang, projects)


def parse_year(text, config, default=None) -> int:
    """Parse a year and check it against the configured range."""
    if text is None:
        if default is None:
            raise BadRequest("the parameter year is required (e.g. year=2021)")
        return default
    year = _parse_int("year", text, default)
    first, last = config["FIRST_YEAR"], config["LAST_YEAR"]
    if not first <= year <= last:
        raise BadRequest(f"year {year} is out of range; data covers {first} to {last}")
    return year


def _parse_int(name: str, text, default: int) -> int:
    if text is None:
        return default
    try:
        return int(str(text).strip())
    except ValueError:
        raise BadRequest(f"{name}={text!r} is not a whole number") from None


def with_changes(state: ViewState, **changes) -> ViewState:
    """A copy of ``state`` with some fields changed (for links: language switch...)."""
    return replace(state, **changes)
