"""Which classes a view is coloured with: shared across years, per year, preset or manual.

The one rule used by ``/api/values``, the map page, ``/compare`` and every export
(through :func:`mapapp.present.choropleth.build_view`):

* ``breaks=`` given — those bounds (``manual``), the same every year;
* ``classes=year`` — computed from the shown year's values alone;
* the indicator has preset bands (``legend_breaks`` in ``indicators.csv``) and the view
  leaves ``classes``, ``method`` and ``k`` at their defaults — the preset bands;
* otherwise (``shared``) — computed once, with the view's method and k, over the values
  of every year of the indicator (each year on its own units, or all on ``units_year``'s),
  so that one colour means one range in every year and ▶ play shows the trend.

Real and illustrative years are never pooled together: the shared classes of a year
with real figures come from the real years only, so a real map's colours never
depend on invented numbers (and an illustrative year's from the illustrative years).
"""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa

from mapapp.core.i18n import text
from mapapp.present import classify
from mapapp.present.viewstate import ViewState
from mapapp.query import series
from mapapp.store.catalogue import Indicator


def mode(state: ViewState, indicator: Indicator) -> str:
    """The kind of classes the view uses.

    Returns
    -------
    str
        ``"manual"``, ``"year"``, ``"preset"`` or ``"shared"``.
    """
    if state.breaks:
        return "manual"
    if state.classes == "year":
        return "year"
    untouched = state.method == classify.DEFAULT_METHOD and state.k == classify.DEFAULT_K
    if state.classes == "auto" and untouched and indicator.preset_breaks():
        return "preset"
    return "shared"


def pooled_years(conn: sa.Connection, state: ViewState) -> tuple[list[int], bool]:
    """The years whose values the shared classes of ``state`` are computed from.

    Returns
    -------
    years, illustrative
        The years with data of the same kind (real or illustrative) as ``state.year``
        (a year without data counts as real), and that kind.
    """
    kinds = series.year_kinds(conn, state.indicator)
    kind = kinds.get(state.year, False)
    return [y for y, illustrative in kinds.items() if illustrative == kind], kind


def choose(conn: sa.Connection, state: ViewState, indicator: Indicator, values: Sequence[object],
           palette_name: str) -> tuple[classify.Classification, list[int | None], dict]:
    """Classify ``values`` (the shown year's, one per unit) by the view's rule.

    Parameters
    ----------
    conn : Connection
    state : ViewState
        The view (indicator, year, units_year, method, k, classes, breaks).
    indicator : Indicator
    values : sequence of number or None
    palette_name : str

    Returns
    -------
    classification, classes, scale
        As :func:`classify.build`, and ``scale``: ``{"mode", "years", "note"}`` — the
        rule applied, the years pooled (shared classes) and the legend's note.
    """
    which = mode(state, indicator)
    years: list[int] = []
    if which in ("manual", "preset"):
        bounds = state.breaks or indicator.preset_breaks()
        classification, classes = classify.build(values, state.method, state.k, palette_name, manual=bounds)
        note = text("note_" + which, state.lang)
    elif which == "year":
        classification, classes = classify.build(values, state.method, state.k, palette_name)
        note = text("note_year", state.lang).format(year=state.year)
    else:
        years, illustrative = pooled_years(conn, state)
        by_year = series.all_years(conn, state.indicator, state.units_year)
        years = [y for y in years if y in by_year]
        pool = [v for y in years for v in by_year[y]]
        classification, classes = classify.build(values, state.method, state.k, palette_name, pool=pool)
        key = "note_shared_illustrative" if illustrative else "note_shared"
        note = text(key, state.lang).format(years=years_text(years or [state.year]))
    return classification, classes, {"mode": which, "years": years, "note": note}


def change_extent(conn: sa.Connection, state: ViewState) -> tuple[float | None, list[int]]:
    """The largest absolute change since ``state.compare`` over the years pooled for a change view.

    With ``classes=year`` only the shown year counts (None: the view's own extent). Otherwise
    every year whose change is of the same kind (real, or involving illustrative figures) as
    the shown year's, so the zero-centred classes of a change map are the same for every year.

    Returns
    -------
    extent, years
        The extent (None when there is no change to pool) and the years pooled.
    """
    if state.classes == "year" or state.breaks:
        return None, []
    kinds = series.year_kinds(conn, state.indicator)
    base_kind = kinds.get(state.compare, False)
    kind = kinds.get(state.year, False) or base_kind
    by_year = series.all_changes(conn, state.indicator, state.compare, state.units_year)
    years = [y for y in by_year if (kinds.get(y, False) or base_kind) == kind]
    pool = [abs(v) for y in years for v in by_year[y]]
    return (max(pool) if pool else None), years


def years_text(years: Sequence[int]) -> str:
    """Years as a short text: ``2016–2025`` for a run, ``2016, 2018, 2020`` otherwise."""
    years = sorted(years)
    if len(years) >= 2 and list(years) == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}\u2013{years[-1]}"
    return ", ".join(map(str, years))
