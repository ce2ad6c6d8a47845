"""The choropleth of one view: values, classes, colours, legend and titles.

The single place where a view's classification is decided; the web map (through
``/api/values``) and the exported images both use :func:`build_view`.

A view shows either the year's values (on the data year's units or, with
``units_year``, aggregated onto a later year's units) or, with ``compare``, the
change since a base year on a common geography, coloured with a diverging palette
centred on zero (percentage points for rates).
"""
from __future__ import annotations

import sqlalchemy as sa

from mapapp.core.i18n import text
from mapapp.present import circles as proportional
from mapapp.present import classes as shared_classes
from mapapp.present import classify
from mapapp.present.viewstate import ViewState
from mapapp.query import aggregate
from mapapp.query import read as query
from mapapp.store.catalogue import Indicator


def build_view(conn: sa.Connection, state: ViewState) -> dict:
    """Values of ``state.indicator`` for ``state.year``, classified and coloured.

    Returns
    -------
    dict
        JSON-ready: ``indicator``, ``year``, ``version``, ``title``, ``classification``,
        ``legend`` (labels per class plus the no-data label), ``illustrative``
        (True when any value shown is illustrative), ``sources`` and ``records``
        (one per unit: value, formatted value, class, colour, source, illustrative,
        the units it was built from and why it is missing). Also ``compare``,
        ``units_year``, ``change`` (True for a change view) and ``threshold``
        (records then carry ``highlight``).
    """
    indicator = query.indicator(conn, state.indicator)
    if state.compare is not None:
        return _change_view(conn, state, indicator)
    version, records = aggregate.values_on(conn, state.indicator, state.year, state.units_year)
    palette_name = state.palette or classify.default_palette(indicator.higher_is_better)
    classification, classes, scale = shared_classes.choose(
        conn, state, indicator, [r["value"] for r in records], palette_name)
    _paint(records, classification, classes)
    for record in records:
        record["value_text"] = classify.format_number(record["value"], indicator.decimals, state.lang)
    _annotate(records, [r["value"] for r in records], state)
    circles = proportional.circles_for(conn, indicator, state, version, records)
    return {
        **_header(conn, indicator, state, version, indicator.unit(state.lang)),
        "title": title(indicator.name(state.lang), state.year, version.unit_count, state.lang, conn)
                 + _geography_note(conn, state, version),
        "classification": {**classification.to_json(), "palette": palette_name,
                           "mode": scale["mode"], "years": scale["years"]},
        "legend": {
            "labels": classify.legend_labels(classification, indicator.decimals, state.lang),
            "no_data": classify.no_data_label(state.lang),
            "note": scale["note"],
        },
        **_provenance(records),
        "circles": circles,
        "records": records,
    }


#: Record keys the column form leaves out: the colour follows from the class, the
#: members are summarised in ``members_text``, the source is an index into ``record_sources``.
_NOT_IN_COLUMNS = ("color", "members", "source", "source_url")


def columns(conn: sa.Connection, view: dict) -> dict:
    """The view of :func:`build_view` with its records as columns (for maps of thousands of units).

    ``columns`` maps each record key to a list (one item per unit, in ``columns.code``
    order) or, when every unit has the same value, to ``{"all": value}``. ``source`` is
    an index into ``record_sources``; a unit's colour is ``classification.colors[class]``,
    or ``no_data_color`` when its class is null. Whole numbers are written without ``.0``.
    While the view's geometry pack holds the same codes and names (see
    :func:`mapapp.packs.names_digest`), names are left out (``"names": "geometry"``).
    """
    from mapapp.geo.packs import names_digest

    geometry_names = query.pack_names_digest(conn, view["version"]["id"])
    records = view["records"]
    table = sorted({(r["source"] or "", r["source_url"] or "") for r in records})
    index = {key: i for i, key in enumerate(table)}
    same_names = bool(geometry_names) and geometry_names == names_digest(
        [r["code"] for r in records], [r["name"] for r in records])
    skipped = _NOT_IN_COLUMNS + (("name",) if same_names else ())
    keys = [k for k in (records[0] if records else {}) if k not in skipped]
    cols = {k: _column([r.get(k) for r in records]) for k in keys}
    cols["source"] = _column([index[(r["source"] or "", r["source_url"] or "")] for r in records])
    return {
        **{k: v for k, v in view.items() if k != "records"},
        "format": "columns", "count": len(records), "no_data_color": classify.NO_DATA_COLOR,
        "names": "geometry" if same_names else "columns",
        "record_sources": [{"title": t, "url": u} for t, u in table], "columns": cols,
    }


def _column(values: list):
    first = values[0] if values else None
    if values and all(v == first for v in values):
        return {"all": _whole(first)}
    if any(isinstance(v, float) for v in values):
        return [_whole(v) for v in values]
    return values


def _whole(value):
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _header(conn: sa.Connection, indicator: Indicator, state: ViewState, version: query.Version, unit: str) -> dict:
    """The keys every view starts with: indicator, years, version, area, and the planner state."""
    return {
        "indicator": {
            "id": indicator.id, "name": indicator.name(state.lang), "unit": unit,
            "decimals": indicator.decimals, "kind": indicator.kind, "higher_is_better": indicator.higher_is_better,
        },
        "year": state.year,
        "version": {"id": version.id, "label": version.label_in(state.lang), "unit_count": version.unit_count},
        "area": area_name(state.year, version.unit_count, state.lang, conn),
        "compare": state.compare,
        "units_year": state.units_year,
        "change": state.compare is not None,
        "threshold": {"min": state.min, "max": state.max, "active": state.has_threshold,
                      "text": threshold_text(state.min, state.max, state.lang)},
    }


def _provenance(records: list[dict]) -> dict:
    shown = [r for r in records if r["value"] is not None]
    return {
        "illustrative": any(r["illustrative"] for r in shown),
        "sources": [{"title": t, "url": u} for t, u in sorted({(r["source"], r["source_url"] or "") for r in shown})],
    }


def _paint(records: list[dict], classification: classify.Classification, classes: list) -> None:
    for record, cls in zip(records, classes):
        record["class"] = cls
        record["color"] = classification.colors[cls] if cls is not None else classify.NO_DATA_COLOR


def _annotate(records: list[dict], levels: list, state: ViewState) -> None:
    """Add the missing-value reason text, the members' names and the threshold highlight."""
    for record, level in zip(records, levels):
        record["no_data_reason"] = aggregate.describe(record.get("no_data_reason"), state.lang) \
            if isinstance(record.get("no_data_reason"), dict) else record.get("no_data_reason")
        record["members_text"] = aggregate.members_text(record)
        record["highlight"] = state.has_threshold and matches(level, state.min, state.max)


def matches(value, low: float | None, high: float | None) -> bool:
    """True when ``value`` passes the threshold filter (``low <= value <= high``; None = open).

    A missing value never matches.
    """
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def threshold_text(low: float | None, high: float | None, lang: str) -> str:
    """The filter as text: ``"≥ 30"``, ``"≤ 10"``, ``"≥ 10 và ≤ 20"`` ('' when there is none)."""
    parts = []
    if low is not None:
        parts.append("≥ " + _short_number(low, lang))
    if high is not None:
        parts.append("≤ " + _short_number(high, lang))
    return (" và " if lang == "vi" else " and ").join(parts)


def _short_number(value: float, lang: str) -> str:
    decimals = 0 if float(value).is_integer() else min(4, len(repr(float(value)).split(".")[1]))
    return classify.format_number(value, decimals, lang)


def _geography_note(conn: sa.Connection, state: ViewState, version: query.Version) -> str:
    """Title suffix naming the boundaries when they are not the data year's own."""
    if state.units_year is None or query.version_for_year(conn, state.year).id == version.id:
        return ""
    return f" ({text('boundaries_of', state.lang).format(year=state.units_year, n=version.unit_count)})"


# --------------------------------------------------------------------------
# Change view
# --------------------------------------------------------------------------

def change_unit(indicator: Indicator, lang: str) -> str:
    """Unit of a change: percentage points for rates, the indicator's unit otherwise."""
    return text("percentage_points", lang) if indicator.kind == "rate" else indicator.unit(lang)


def signed(value, decimals: int, lang: str) -> str:
    """A change formatted with its sign: ``+2,5``, ``-1,0``, ``0,0``."""
    formatted = classify.format_number(value, decimals, lang)
    if value is not None and formatted.strip("0,.") and not formatted.startswith("-"):
        return "+" + formatted
    return formatted


def change_records(indicator: Indicator, year: int, base_year: int, now: list[dict], before: list[dict],
                   lang: str) -> list[dict]:
    """Pair two years' records (same units, same order) into change records.

    ``value`` is the change (``year`` minus ``base_year``); ``value_year`` and
    ``value_base`` keep the two levels. A change is missing when either level is,
    with the reason of the missing one.
    """
    out = []
    for rec, base in zip(now, before):
        change = None
        if rec["value"] is not None and base["value"] is not None:
            change = round(rec["value"] - base["value"], 9)  # no float noise (-2.8999999999999995)
        reason = None
        if change is None:
            reason = _change_reason(rec, year, lang) or _change_reason(base, base_year, lang)
        out.append({
            **rec,
            "value": change,
            "value_year": rec["value"], "value_base": base["value"],
            "value_year_text": classify.format_number(rec["value"], indicator.decimals, lang),
            "value_base_text": classify.format_number(base["value"], indicator.decimals, lang),
            "base_numerator": base["numerator"], "base_denominator": base["denominator"],
            "value_text": signed(change, indicator.decimals, lang),
            "illustrative": rec["illustrative"] or base["illustrative"],
            "base_source": base["source"], "base_source_url": base["source_url"],
            "members": _union_members(rec["members"], base["members"]),
            "aggregated": rec["aggregated"] or base["aggregated"],
            "no_data_reason": reason,
        })
    return out


def _change_reason(record: dict, year: int, lang: str) -> str | None:
    if record["value"] is not None:
        return None
    reason = aggregate.describe(record.get("no_data_reason"), lang)
    return f"{year}: {reason}" if reason else text("reason_no_base", lang).format(year=year)


def _union_members(first: list[dict], second: list[dict]) -> list[dict]:
    seen, out = set(), []
    for member in first + second:
        key = (member["code"], member["valid_from"])
        if key not in seen:
            seen.add(key)
            out.append(member)
    return out


def _change_view(conn: sa.Connection, state: ViewState, indicator: Indicator) -> dict:
    version, now, before = aggregate.paired(conn, state.indicator, state.year, state.compare, state.units_year)
    records = change_records(indicator, state.year, state.compare, now, before, state.lang)
    palette_name = state.palette if state.palette in classify.DIVERGING else "RdBu"
    # Red = worse: for an indicator where higher is worse, an increase is red.
    reverse = indicator.higher_is_better is False
    if indicator.higher_is_better is None and not state.palette:
        palette_name = "BrBG"
    extent, years = shared_classes.change_extent(conn, state)
    classification, classes = diverging(
        [r["value"] for r in records], state.k, palette_name, reverse, extent)
    _paint(records, classification, classes)
    _annotate(records, [r["value_year"] for r in records], state)
    unit = change_unit(indicator, state.lang)
    name = indicator.name(state.lang)
    heading = text("change_title", state.lang).format(name=name, base=state.compare, year=state.year)
    return {
        **_header(conn, indicator, state, version, unit),
        "title": f"{heading} — {area_name(state.year, version.unit_count, state.lang, conn)}"
                 f" ({text('boundaries_of', state.lang).format(year=state.geography_year, n=version.unit_count)})",
        "classification": {**classification.to_json(), "palette": palette_name, "diverging": True,
                           "mode": "diverging", "years": years},
        "legend": {
            "labels": signed_labels(classification, indicator.decimals, state.lang),
            "no_data": classify.no_data_label(state.lang),
            "unit": unit,
            "note": text("note_diverging_shared", state.lang).format(
                base=state.compare, years=shared_classes.years_text(years)) if years
            else text("note_diverging", state.lang),
        },
        **_provenance(records),
        "circles": None,  # a change is never drawn as circles
        "records": records,
    }


def diverging(values: list, k: int, palette_name: str, reverse: bool = False, extent: float | None = None
              ) -> tuple[classify.Classification, list[int | None]]:
    """Classes symmetric around zero: ``k`` equal classes over ``[-m, m]``, ``m`` = largest absolute change.

    ``extent`` widens ``m`` to the largest change of other years too (classes shared by
    the years of a change map); it never narrows it.

    With an odd ``k`` the middle class straddles zero (the palette's neutral colour);
    with an even ``k`` zero is a class bound.

    Returns
    -------
    tuple of (Classification, list of int or None)
        As :func:`classify.build`.
    """
    finite = [float(v) for v in values if v is not None]
    if not finite:
        empty = classify.Classification("diverging", k, [], [], [], len(values), None, None)
        return empty, [None] * len(values)
    shared = extent is not None
    extent = max([abs(v) for v in finite] + ([abs(extent)] if shared else []))
    if extent == 0:
        bounds, colors = [0.0], [classify.palette(palette_name, 3, reverse)[1]]
    else:
        step = 2 * extent / k
        bounds = [-extent + step * i for i in range(1, k)] + [extent]
        colors = classify.palette(palette_name, k, reverse)
    indexes = classify.classify(values, bounds)
    counts = [sum(1 for i in indexes if i == c) for c in range(len(bounds))]
    # Shared classes read the same every year: the legend starts at -m, not at this year's minimum.
    low, high = (-extent, extent) if shared else (min(finite), max(finite))
    result = classify.Classification("diverging", k, bounds, colors, counts,
                                     sum(i is None for i in indexes), low, high)
    return result, indexes


def signed_labels(classification: classify.Classification, decimals: int, lang: str) -> list[str]:
    """Legend labels of a change classification, with signs (``-5,0 – -2,5``, ``> -2,5 – +0,0``...)."""
    return classify.legend_labels(classification, decimals, lang, formatter=signed)


def area_name(year: int, unit_count: int, lang: str, conn: sa.Connection | None = None) -> str:
    """Name of the mapped area: the configured atlas's; for the district map, the district
    until 2024 and the former district's area from 2025."""
    configured = query.area_name(conn, lang) if conn is not None else None
    if configured:
        return configured
    if year >= 2025:
        return text("area_after_2025", lang).format(n=unit_count)
    return text("area_district", lang)


def title(indicator_name: str, year: int, unit_count: int, lang: str, conn: sa.Connection | None = None) -> str:
    """Map title: indicator, area and year."""
    return f"{indicator_name} — {area_name(year, unit_count, lang, conn)}, {year}"


def build_pair(conn: sa.Connection, state: ViewState, other_year: int) -> dict:
    """Two years of one indicator with one legend, for side-by-side maps.

    Each year is built by :func:`build_view` (its own units, or ``state.units_year``'s
    for both), so with shared, preset or manual classes both maps already have the same
    classes as the map page. When they differ (``classes=year``, or one year real and the
    other illustrative) the values of both are classified together with one
    :func:`classify.build` call, so a colour still means the same on both maps.

    Returns
    -------
    dict
        ``left`` and ``right`` (:func:`build_view` payloads, recoloured when needed), and
        the shared ``classification`` and ``legend``; when counts are drawn as circles,
        both views' ``circles`` have one scale (:func:`circles.shared_scale`).
    """
    from dataclasses import replace

    indicator = query.indicator(conn, state.indicator)
    plain = replace(state, compare=None)
    left, right = build_view(conn, plain), build_view(conn, replace(plain, year=other_year))
    records = left["records"] + right["records"]
    palette_name = left["classification"]["palette"]
    if same_classes(left["classification"], right["classification"]):
        shared = {**left["classification"],
                  "counts": [a + b for a, b in zip(left["classification"]["counts"],
                                                   right["classification"]["counts"])],
                  "no_data_count": left["classification"]["no_data_count"]
                  + right["classification"]["no_data_count"]}
        legend = left["legend"]
    else:
        classification, classes = classify.build([r["value"] for r in records], state.method, state.k, palette_name)
        _paint(records, classification, classes)
        shared = {**classification.to_json(), "palette": palette_name, "mode": "pair",
                  "years": sorted({state.year, other_year})}
        legend = {"labels": classify.legend_labels(classification, indicator.decimals, state.lang),
                  "no_data": classify.no_data_label(state.lang),
                  "note": text("note_pair", state.lang).format(
                      years=shared_classes.years_text(shared["years"]))}
    circles = proportional.shared_scale(left["circles"], right["circles"],
                                        indicator.decimals if (left["circles"] or {}).get("mode") == "count" else 0,
                                        state.lang, [state.year, other_year])
    for view in (left, right):
        view["classification"], view["legend"] = shared, legend
        if view["circles"]:
            view["circles"] = circles
    return {"indicator": left["indicator"], "years": [state.year, other_year], "left": left, "right": right,
            "classification": shared, "legend": legend,
            "illustrative": left["illustrative"] or right["illustrative"],
            "sources": [{"title": t, "url": u} for t, u in
                        sorted({(s["title"], s["url"]) for v in (left, right) for s in v["sources"]})]}


def same_classes(first: dict, second: dict) -> bool:
    """True when two views' classifications (JSON form) colour every value alike.

    Manual and preset classes are the same whatever the data, and shared classes when
    computed from the same years; per-year classes are compared by their bounds.
    """
    if first.get("mode") == "year" or second.get("mode") == "year":
        return False
    return first["breaks"] == second["breaks"] and first["colors"] == second["colors"]
