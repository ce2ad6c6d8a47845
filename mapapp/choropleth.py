"""The choropleth of one view: values, classes, colours, legend and titles.

The single place where a view's classification is decided; the web map (through
``/api/values``) and the exported images both use :func:`build_view`.
"""
from __future__ import annotations

import sqlalchemy as sa

from . import classify, query
from .i18n import text
from .viewstate import ViewState


def build_view(conn: sa.Connection, state: ViewState) -> dict:
    """Values of ``state.indicator`` for ``state.year``, classified and coloured.

    Returns
    -------
    dict
        JSON-ready: ``indicator``, ``year``, ``version``, ``title``, ``classification``,
        ``legend`` (labels per class plus the no-data label), ``illustrative``
        (True when any value shown is illustrative), ``sources`` and ``records``
        (one per unit: value, formatted value, class, colour, source, illustrative).
    """
    indicator = query.indicator(conn, state.indicator)
    version, records = query.values_for(conn, state.indicator, state.year)
    palette_name = state.palette or classify.default_palette(indicator.higher_is_better)
    classification, classes = classify.build(
        [r["value"] for r in records], state.method, state.k, palette_name)
    for record, cls in zip(records, classes):
        record["class"] = cls
        record["color"] = classification.colors[cls] if cls is not None else classify.NO_DATA_COLOR
        record["value_text"] = classify.format_number(record["value"], indicator.decimals, state.lang)
    shown = [r for r in records if r["value"] is not None]
    return {
        "indicator": {
            "id": indicator.id, "name": indicator.name(state.lang), "unit": indicator.unit(state.lang),
            "decimals": indicator.decimals, "kind": indicator.kind, "higher_is_better": indicator.higher_is_better,
        },
        "year": state.year,
        "version": {"id": version.id, "label": version.label, "unit_count": version.unit_count},
        "title": title(indicator.name(state.lang), state.year, version.unit_count, state.lang),
        "area": area_name(state.year, version.unit_count, state.lang),
        "classification": {**classification.to_json(), "palette": palette_name},
        "legend": {
            "labels": classify.legend_labels(classification, indicator.decimals, state.lang),
            "no_data": classify.no_data_label(state.lang),
        },
        "illustrative": any(r["illustrative"] for r in shown),
        "sources": [{"title": t, "url": u} for t, u in sorted({(r["source"], r["source_url"] or "") for r in shown})],
        "records": records,
    }


def area_name(year: int, unit_count: int, lang: str) -> str:
    """Name of the mapped area: the district until 2024; from 2025 the former district's area."""
    if year >= 2025:
        return text("area_after_2025", lang).format(n=unit_count)
    return text("area_district", lang)


def title(indicator_name: str, year: int, unit_count: int, lang: str) -> str:
    """Map title: indicator, area and year."""
    return f"{indicator_name} — {area_name(year, unit_count, lang)}, {year}"
