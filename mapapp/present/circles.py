"""Proportional circles: counts drawn as circles whose area is proportional to the value.

A choropleth of a count misleads (a big commune looks worse because it is big), so a
count indicator (projects, population, households) is drawn as circles by default; a
rate with numerators (poor households...) can add its count as circles over its colours
("tỷ lệ và số hộ"). The web map and every export use :func:`circles_for` and
:func:`radius`: one scale, one legend.

The circle of the largest value has ``MAX_RADIUS_PX`` (web) or ``MAX_RADIUS_MM``
(print); any other is ``max_radius × √(value / max)``, so areas are proportional to the
values. As the colours' classes are, the largest value is taken over every year of the
same kind (real or illustrative) unless the view asks for classes of its year alone
(``classes=year``): a circle means the same count in every year ▶ play shows.
Circles sit at each unit's inner point (:mod:`mapapp.query.anchors`).
"""
from __future__ import annotations

import math

import sqlalchemy as sa

from mapapp.core.i18n import text
from mapapp.present import classes as shared_classes
from mapapp.present import classify
from mapapp.query import series
from mapapp.query.anchors import anchors
from mapapp.store.catalogue import Indicator

MAX_RADIUS_PX = 28.0
MAX_RADIUS_MM = 7.0
FULL_SIZE_UNITS = 300  # up to this many units the largest circle has the full radius
MIN_SHARE = 0.22  # ... and never less than this share of it (a country's 11,163 communes)
COUNT_FILL = "#efeee8"  # the units under count circles: neutral, the circles carry the value
CIRCLE_COLOR = "#1f3b57"


def mode_for(indicator: Indicator, circles: bool | None, compare: int | None, records: list[dict]) -> str | None:
    """``"count"`` (a count as circles), ``"numerator"`` (a rate's count over its colours) or None.

    Parameters
    ----------
    indicator : the view's indicator
    circles : the view state's switch (None: the indicator's default, circles for counts)
    compare : the base year of a change view (changes are never circles)
    records : the view's records (a rate offers circles only when they carry numerators)
    """
    if compare is not None:
        return None
    if indicator.kind == "count":
        return None if circles is False else "count"
    if indicator.kind == "rate" and circles and any(r.get("numerator") is not None for r in records):
        return "numerator"
    return None


def offered(indicator: Indicator) -> bool:
    """True when the view can switch circles on or off for this indicator (counts, rates)."""
    return indicator.kind in ("count", "rate")


def size_share(unit_count: int) -> float:
    """The largest circle's radius as a share of the full one: smaller as units get denser
    (∝ 1/√n above ``FULL_SIZE_UNITS``), so a province or a country is not one blot of circles."""
    if unit_count <= FULL_SIZE_UNITS:
        return 1.0
    return max(MIN_SHARE, math.sqrt(FULL_SIZE_UNITS / unit_count))


def radius(value, max_value: float, max_radius: float) -> float:
    """The radius of ``value``'s circle: ``max_radius × √(value / max_value)`` (0 for none or ≤ 0)."""
    if value is None or value <= 0 or not max_value:
        return 0.0
    return max_radius * math.sqrt(value / max_value)


def reference_values(max_value: float) -> list[float]:
    """Two or three round values for the circle legend, largest first (≤ ``max_value``)."""
    if not max_value or max_value <= 0:
        return []
    out = []
    for share in (1.0, 0.25, 0.05):
        nice = _nice_below(max_value * share)
        if nice > 0 and nice not in out and (not out or nice < out[-1] * 0.6):
            out.append(nice)
    return out


def _nice_below(value: float) -> float:
    """The largest of 1, 2, 2.5, 5 × 10^k not above ``value``."""
    if value < 1:
        return 0.0
    power = 10 ** math.floor(math.log10(value))
    for step in (5, 2.5, 2, 1):
        if step * power <= value:
            return float(step * power)
    return float(power)


def circles_for(conn: sa.Connection, indicator: Indicator, state, version, records: list[dict]) -> dict | None:
    """The circles of a view: mode, the field drawn, the scale and the legend; records get ``anchor``.

    Parameters
    ----------
    conn, indicator, state : the store, the view's indicator and view state
    version : the boundary version the records are on (its inner points anchor the circles)
    records : the view's records; each gets ``anchor`` ([lon, lat] or None) and ``circle`` (the value drawn)

    Returns
    -------
    dict or None (no circles): ``mode``, ``field``, ``max_value`` (the value of the largest
    circle), ``years`` (the years it is the largest of), ``year_max_value`` (the view's own
    largest), ``max_radius_px``, ``size_share``, ``color``, ``count_fill``, ``title``,
    ``legend`` (``value``, ``text``) and ``note``.
    """
    mode = mode_for(indicator, state.circles, state.compare, records)
    if mode is None:
        return None
    field = "value" if mode == "count" else "numerator"
    points = anchors(conn, version.id, version.checksum)
    for record in records:
        point = points.get((record["code"], record["valid_from"] or ""))
        record["anchor"] = list(point) if point else None
        record["circle"] = record.get(field)
    year_max = series.largest_positive(r["circle"] for r in records)  # as series.largest counts every year's
    max_value, years = _scale_max(conn, state, field, year_max)
    decimals = indicator.decimals if mode == "count" else 0
    return {
        "mode": mode, "field": field, "year_max_value": year_max,
        "max_radius_px": round(MAX_RADIUS_PX * size_share(len(records)), 2), "size_share": size_share(len(records)),
        "color": CIRCLE_COLOR, "count_fill": COUNT_FILL,
        "title": circle_title(indicator, mode, state.lang),
        **_scale(max_value, years, decimals, state.lang),
    }


def _scale(max_value: float, years: list[int], decimals: int, lang: str) -> dict:
    """The scale's keys: ``max_value``, ``years``, the ``legend``'s reference circles and the ``note``."""
    note = text("circles_legend", lang)
    if len(years) > 1:
        note += " · " + text("circles_shared", lang).format(years=shared_classes.years_text(years))
    return {"max_value": max_value, "years": years, "note": note,
            "legend": [{"value": v, "text": classify.format_number(v, decimals, lang)}
                       for v in reference_values(max_value)]}


def _scale_max(conn: sa.Connection, state, field: str, year_max: float) -> tuple[float, list[int]]:
    """The value the largest circle is drawn for, and the years it is taken over.

    The year's own largest with ``classes=year``; otherwise the largest of the years
    whose classes are shared with it (:func:`mapapp.present.classes.pooled_years`).
    """
    if state.classes == "year":
        return year_max, [state.year]
    pooled, _ = shared_classes.pooled_years(conn, state)
    by_year = series.largest(conn, state.indicator, field, state.units_year)
    years = [y for y in pooled if y in by_year]
    return max([year_max] + [by_year[y] for y in years]), years or [state.year]


def shared_scale(first: dict | None, second: dict | None, decimals: int, lang: str,
                 view_years: list[int]) -> dict | None:
    """One circle scale for two views shown together (side-by-side years): a radius means
    the same count on both maps. The largest value of either scale gets the full radius;
    the legend's reference values are taken from that largest value.

    Parameters
    ----------
    first, second : the views' circles (:func:`circles_for`), or None
    decimals : the legend values' decimals (the indicator's for a count, 0 for a numerator)
    lang : the legend's language
    view_years : the two views' years. When the two scales were taken over different years
        (a real year beside an illustrative one, or ``classes=year``), the circles are drawn
        to those two years' own largest values: a real map's never depends on invented numbers.
    """
    if not first or not second:
        return first or second
    if first["years"] != second["years"]:
        max_value, years = max(first["year_max_value"], second["year_max_value"]), sorted(set(view_years))
    else:
        max_value, years = max(first["max_value"], second["max_value"]), first["years"]
    return {**first, "max_radius_px": max(first["max_radius_px"], second["max_radius_px"]),
            "year_max_value": max(first["year_max_value"], second["year_max_value"]),
            **_scale(max_value, years, decimals, lang)}


def circle_title(indicator: Indicator, mode: str, lang: str) -> str:
    """What the circles count: the indicator itself, or its numerator (``Số hộ nghèo``)."""
    if mode == "count":
        return f"{indicator.name(lang)} ({indicator.unit(lang)})"
    key = f"numerator.{indicator.id}"
    return text(key, lang) if key in _numerator_keys() else text("numerator", lang)


def _numerator_keys() -> set[str]:
    from mapapp.core.i18n import STRINGS

    return {k for k in STRINGS if k.startswith("numerator.")}
