"""Every year's values of an indicator, read once per data generation (for what is shared across years).

Shared classes are computed from the values of all the years of an indicator, so
that one colour means one range in every year, and circles are drawn to the largest
count of those years, so that a circle means the same count in every year. Building
them for each request would read every year again; the values are kept in the answer
cache (:mod:`mapapp.query.answers`) under the answers' generation (data and code), so a
year change (the time slider, ▶ play) only reads its own year.
"""
from __future__ import annotations

import sqlalchemy as sa

from mapapp.query import aggregate
from mapapp.query import read as query
from mapapp.query.answers import cached


def year_kinds(conn: sa.Connection, indicator_id: str) -> dict[int, bool]:
    """The years of ``indicator_id`` that have data, each with whether it is illustrative.

    A year is illustrative when any of its values is (as ``/api/indicators`` says).

    Returns
    -------
    dict
        ``{year: illustrative}`` in year order.
    """
    def compute() -> dict[int, bool]:
        info = query.indicator_years(conn).get(indicator_id, {"years": [], "illustrative_years": []})
        illustrative = set(info["illustrative_years"])
        return {year: year in illustrative for year in info["years"]}

    # Kept with the values (a country's store is large: not one scan of it per request).
    return cached(conn, "series-kinds", indicator_id, compute)


def all_years(conn: sa.Connection, indicator_id: str, units_year: int | None = None) -> dict[int, list[float]]:
    """The values of every year with data, each year on its own units (or all on ``units_year``'s).

    Parameters
    ----------
    conn : Connection
    indicator_id : str
    units_year : int, optional
        Aggregate every year onto this year's units; years after it are left out
        (their units cannot be split back).

    Returns
    -------
    dict
        ``{year: [value, ...]}`` (missing values left out), in year order.
    """
    return {year: summary["values"] for year, summary in _summaries(conn, indicator_id, units_year).items()}


def largest(conn: sa.Connection, indicator_id: str, field: str, units_year: int | None = None) -> dict[int, float]:
    """The largest positive ``field`` (``"value"`` or ``"numerator"``) of every year with data.

    What a circle scale shared across years is drawn to (:mod:`mapapp.present.circles`).

    Parameters
    ----------
    conn : Connection
    indicator_id : str
    field : str
        ``"value"`` (a count drawn as circles) or ``"numerator"`` (a rate's count).
    units_year : int, optional
        As :func:`all_years`.

    Returns
    -------
    dict
        ``{year: largest}`` (years with no positive ``field`` left out), in year order.
    """
    summaries = _summaries(conn, indicator_id, units_year)
    return {year: summary["largest"][field] for year, summary in summaries.items() if summary["largest"][field]}


def _summaries(conn: sa.Connection, indicator_id: str, units_year: int | None) -> dict[int, dict]:
    """Per year with data: its values (missing left out) and the largest value and numerator.

    One read of every year serves both the shared classes and the shared circle scale.
    """
    def compute() -> dict[int, dict]:
        out = {}
        for year in year_kinds(conn, indicator_id):
            if units_year is not None and year > units_year:
                continue
            try:
                _, records = aggregate.values_on(conn, indicator_id, year, units_year)
            except query.NotFound:
                continue  # no boundary version for the year, or its units are newer than units_year's
            out[year] = {"values": [r["value"] for r in records if r["value"] is not None],
                         "largest": {field: largest_positive(r.get(field) for r in records)
                                     for field in ("value", "numerator")}}
        return out

    return cached(conn, "series", f"{indicator_id}|{units_year or ''}", compute)


def largest_positive(values) -> float:
    """The largest of ``values`` above 0 (None left out), or 0.0: what the largest circle is drawn for."""
    return max((v for v in values if v is not None and v > 0), default=0.0)


def all_changes(conn: sa.Connection, indicator_id: str, base_year: int,
                units_year: int | None = None) -> dict[int, list[float]]:
    """The changes since ``base_year`` of every other year with data, each pair on its common geography.

    Parameters
    ----------
    conn : Connection
    indicator_id : str
    base_year : int
        The base year of the change views.
    units_year : int, optional
        Draw every pair on this year's units; pairs with a later year are left out.

    Returns
    -------
    dict
        ``{year: [change, ...]}`` (units where either level is missing left out), in year order.
    """
    def compute() -> dict[int, list[float]]:
        out = {}
        for year in year_kinds(conn, indicator_id):
            if year == base_year or (units_year is not None and max(year, base_year) > units_year):
                continue
            try:
                _, now, before = aggregate.paired(conn, indicator_id, year, base_year, units_year)
            except query.NotFound:
                continue
            # Rounded as the change view rounds its changes (no float noise).
            out[year] = [round(a["value"] - b["value"], 9) for a, b in zip(now, before)
                         if a["value"] is not None and b["value"] is not None]
        return out

    return cached(conn, "series", f"{indicator_id}|{units_year or ''}|change-{base_year}", compute)
