"""View state: everything a map view depends on, parsed from (and written back to) the query string.

Every view is a permalink (``/?indicator=poverty_rate&year=2021``); the page, the
API and the exports parse the same parameters with the same rules.

Planner parameters (all optional):

``units_year``
    Show the year's data on the boundaries of a later year (``units_year=2025``: the
    7 communes of 2025), aggregated along the registry's successor links.
``compare``
    Base year of a change view (``year=2024&compare=2016``: the change 2016 → 2024,
    in percentage points for rates), on a common geography.
``min`` / ``max``
    Threshold filter on the year's value (``min=30``: "≥ 30"), highlighted on the map
    and applied to the ranking and its downloads.
``focus``
    Code of the commune focused on the map (and in the ranking beside it).

Classes (see :mod:`mapapp.present.classes`):

``classes``
    ``shared`` — computed once over all years of the indicator, so a colour means the
    same range every year; ``year`` — computed for each year on its own. Absent: the
    indicator's preset bands when it has them (and ``method``/``k`` are left at their
    defaults), else ``shared``.
``breaks``
    Manual class bounds, increasing (``breaks=10,20,30,40``: five classes, the last
    one "> 40"); they override ``classes``, ``method`` and ``k``.
``circles``
    Proportional circles (area ∝ value): ``circles=0`` draws a count indicator
    (projects, population, households) as colours instead of its default circles;
    ``circles=1`` adds the count of a rate's numerator (poor households...) as
    circles over the rate's colours ("tỷ lệ và số hộ").
``labels`` / ``label_values``
    Commune names on the web map (``labels=0`` hides them) and the value under each
    name (``label_values=1``); page-only, like ``projects`` and ``focus``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from urllib.parse import urlencode

from mapapp.core import parsing
from mapapp.present import classify

LANGS = ("vi", "en")
CLASSES = ("auto", "shared", "year")
#: Manual breaks: at most MAX_K - 1 bounds (MAX_K classes), each of at most this size.
MAX_BREAK = 1e12
INT_LIMIT = 10 ** 9  # any whole-number parameter; ranges are checked by each parameter


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
    units_year: int | None = None  # None = boundaries as of the data year
    compare: int | None = None  # base year of a change view
    min: float | None = None  # threshold: value >= min
    max: float | None = None  # threshold: value <= max
    focus: str = ""  # code of the focused commune
    classes: str = "auto"  # auto | shared | year (see the module docstring)
    breaks: tuple[float, ...] = ()  # manual class bounds (empty = computed)
    circles: bool | None = None  # None = the indicator's default (circles for counts)
    labels: bool = True  # commune names on the web map
    label_values: bool = False  # the value under each name

    @property
    def geography_year(self) -> int:
        """The year whose boundaries the view is drawn on.

        Returns
        -------
        int
            ``units_year`` when given; otherwise the data year, or the later of the
            two years of a change view (values are brought onto the later units).
        """
        if self.units_year is not None:
            return self.units_year
        return max(self.year, self.compare) if self.compare is not None else self.year

    @property
    def has_threshold(self) -> bool:
        """True when a threshold filter (``min`` and/or ``max``) is set."""
        return self.min is not None or self.max is not None

    def query_string(self) -> str:
        """The canonical query string of this view (defaults left out)."""
        defaults = ViewState(self.indicator, self.year)
        params = {k: v for k, v in asdict(self).items() if k in ("indicator", "year") or v != getattr(defaults, k)}
        for key in ("projects", "circles", "labels", "label_values"):
            if key in params:
                params[key] = "1" if params[key] else "0"
        for key in ("min", "max"):
            if key in params:
                params[key] = format_threshold(params[key])
        if "breaks" in params:
            params["breaks"] = ",".join(format_threshold(b) for b in self.breaks)
        return urlencode(params)


def format_threshold(value: float | None) -> str:
    """A threshold as written in a query string (``30.0`` → ``"30"``, ``12.5`` → ``"12.5"``, None → ``""``).

    Written like JavaScript's ``String(number)`` so the page script and the server
    produce the same permalinks.
    """
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e21 else repr(float(value))


def parse(args, config, indicator_ids, data_years=None) -> ViewState:
    """Parse request arguments into a :class:`ViewState`.

    Parameters
    ----------
    args : Mapping[str, str]
        The query string arguments.
    config : Mapping
        App config (``DEFAULT_INDICATOR``, ``DEFAULT_YEAR``, ``FIRST_YEAR``, ``LAST_YEAR``).
    indicator_ids : Collection[str]
        Known indicator ids.
    data_years : Mapping[str, Sequence[int]], optional
        The years with data of each indicator: without ``year``, the view shows the
        latest of them (within the configured range); ``DEFAULT_YEAR`` when there is none.

    Raises
    ------
    BadRequest
        With a message naming the parameter, the value given and what is allowed.
    """
    indicator = args.get("indicator", config["DEFAULT_INDICATOR"])
    if indicator not in indicator_ids:
        raise BadRequest(f"unknown indicator {indicator!r}; use one of: {', '.join(indicator_ids)}")
    year = parse_year(args.get("year"), config, default=default_year(indicator, config, data_years))
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
    compare = parse_optional_year("compare", args.get("compare"), config)
    units_year = parse_units_year(args.get("units_year"), config, max(year, compare or year))
    low, high = parse_threshold(args)
    focus = str(args.get("focus", "")).strip()[:16]
    classes = args.get("classes") or "auto"
    if classes not in CLASSES:
        raise BadRequest(f"unknown classes {classes!r}; use shared (one scale for all years) or year (each year "
                         f"on its own)")
    circles = parse_switch("circles", args.get("circles"))
    return ViewState(indicator, year, method, k, palette, lang, projects, units_year, compare, low, high, focus,
                     classes, parse_breaks(args.get("breaks")), circles,
                     labels=_parse_flag(args.get("labels"), True),
                     label_values=_parse_flag(args.get("label_values"), False))


def parse_breaks(text) -> tuple[float, ...]:
    """Parse manual class bounds: ``"10,20,30,40"`` (or ``;``/space separated, decimal point).

    Returns
    -------
    tuple of float
        Strictly increasing finite bounds, 1 to ``MAX_K - 1`` of them; empty when absent.

    Raises
    ------
    BadRequest
        For a part that is not a number, a NaN or infinite or huge number, bounds not
        strictly increasing, or too many bounds.
    """
    if text is None or not str(text).strip():
        return ()
    parts = [p for p in str(text).replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    limit = classify.MAX_K - 1
    if len(parts) > limit:
        raise BadRequest(f"breaks={text!r} has {len(parts)} bounds; use at most {limit} "
                         f"(they make at most {classify.MAX_K} classes)")
    bounds = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise BadRequest(f"breaks={text!r}: {part!r} is not a number (e.g. breaks=10,20,30,40)") from None
        if value != value or abs(value) == float("inf"):
            raise BadRequest(f"breaks={text!r}: {part!r} is not a finite number")
        if abs(value) > MAX_BREAK:
            raise BadRequest(f"breaks={text!r}: {part!r} is too large (at most {MAX_BREAK:.0e} in size)")
        bounds.append(value)
    if any(b >= a for a, b in zip(bounds[1:], bounds)):
        raise BadRequest(f"breaks={text!r} must be strictly increasing (e.g. breaks=10,20,30,40)")
    return tuple(bounds)


def default_year(indicator: str, config, data_years=None) -> int:
    """The year a view shows when none is asked: the latest with data of ``indicator``.

    Returns
    -------
    int
        The latest year with data within ``FIRST_YEAR``..``LAST_YEAR``, else ``DEFAULT_YEAR``.
    """
    years = [y for y in (data_years or {}).get(indicator, ()) if config["FIRST_YEAR"] <= y <= config["LAST_YEAR"]]
    return max(years) if years else config["DEFAULT_YEAR"]


_SWITCH_WORDS = {"1": True, "true": True, "on": True, "0": False, "false": False, "off": False}


def _switch_word(text) -> bool | None:
    """True/False for an on/off word (``1/true/on``, ``0/false/off``), else None."""
    return _SWITCH_WORDS.get(str(text or "").strip().lower())


def parse_switch(name: str, text) -> bool | None:
    """An optional on/off parameter: ``1``/``true``/``on`` → True, ``0``/``false``/``off`` → False, absent → None.

    Raises
    ------
    BadRequest
        For any other value.
    """
    if text is None or not str(text).strip():
        return None
    value = _switch_word(text)
    if value is None:
        raise BadRequest(f"{name}={text!r}: use {name}=1 (on) or {name}=0 (off)")
    return value


def _parse_flag(text, default: bool) -> bool:
    """An on/off parameter: ``1/true/on`` or ``0/false/off``; anything else (or absent) is the default."""
    value = _switch_word(text)
    return default if value is None else value


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


def parse_optional_year(name: str, text, config) -> int | None:
    """Parse an optional year parameter (absent or empty = None) within the configured range."""
    if text is None or not str(text).strip():
        return None
    year = _parse_int(name, text, 0)
    first, last = config["FIRST_YEAR"], config["LAST_YEAR"]
    if not first <= year <= last:
        raise BadRequest(f"{name}={year} is out of range; use a year from {first} to {last}")
    return year


def parse_units_year(text, config, data_year: int) -> int | None:
    """Parse ``units_year``: boundaries of a year not earlier than the data.

    Units can be merged forward in time (their successors are known) but never split
    back, so ``units_year`` must not be earlier than ``data_year`` (the later year of
    a change view).
    """
    units_year = parse_optional_year("units_year", text, config)
    if units_year is not None and units_year < data_year:
        raise BadRequest(f"units_year={units_year} is earlier than the data ({data_year}): merged units "
                         f"cannot be split; use units_year {data_year} to {config['LAST_YEAR']} or leave it out")
    return units_year


def parse_threshold(args) -> tuple[float | None, float | None]:
    """Parse ``min`` and ``max`` (decimal point or comma); ``min`` must not exceed ``max``."""
    low, high = _parse_float("min", args.get("min")), _parse_float("max", args.get("max"))
    if low is not None and high is not None and low > high:
        raise BadRequest(f"min={format_threshold(low)} is above max={format_threshold(high)}")
    return low, high


def _parse_float(name: str, text) -> float | None:
    if text is None or not str(text).strip():
        return None
    try:
        value = float(str(text).strip().replace(",", "."))
    except ValueError:
        raise BadRequest(f"{name}={text!r} is not a number (e.g. {name}=30 or {name}=12,5)") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise BadRequest(f"{name}={text!r} is not a finite number")
    return value


def parse_count(name: str, text, default):
    """A whole number, zero or more, from the query string (``default`` when absent or empty).

    Raises
    ------
    BadRequest
        When it is not a whole number or is negative.
    """
    if text in (None, ""):
        return default
    value = _parse_int(name, text, 0)
    if value < 0:
        raise BadRequest(f"{name}={text!r} must not be negative")
    return value


def _parse_int(name: str, text, default: int) -> int:
    if text is None:
        return default
    try:
        return parsing.parse_int(text, -INT_LIMIT, INT_LIMIT, name)
    except parsing.ParseError as error:
        raise BadRequest(str(error)) from None


def with_changes(state: ViewState, **changes) -> ViewState:
    """A copy of ``state`` with some fields changed (for links: language switch...)."""
    return replace(state, **changes)
