"""District-level figures: the real series of ``../shared/data`` and the 2016-2020 report figures.

Loaded into the store at seed time (:func:`store`), read by the presentation from
there (:func:`summary`); nothing here is read from files at request time. Sources
sometimes disagree (the 2018 poverty rate is 31.17% in one and 18.7% in another):
both figures are kept and shown side by side, never reconciled.
"""
from __future__ import annotations

import sqlalchemy as sa

from mapapp.core.i18n import text
from mapapp.present import charts, classify
from mapapp.store import db

DISTRICT = "Huyện Hướng Hóa"
REPORT_FILE = "context/bao-cao-so-ket-de-an-161-huong-hoa-2020.txt"  # where the report's text is

#: Names of the district indicators shown first (others are shown by their id, humanised).
LABELS = {
    "poverty_rate": ("Tỷ lệ hộ nghèo", "Poverty rate"),
    "population_total": ("Dân số", "Population"),
    "households_total": ("Số hộ", "Households"),
    "population_urban": ("Dân số thành thị", "Urban population"),
    "population_rural": ("Dân số nông thôn", "Rural population"),
    "population_growth_rate": ("Tỷ lệ tăng dân số", "Population growth rate"),
    "area": ("Diện tích", "Area"),
    "poor_households": ("Số hộ nghèo", "Poor households"),
    "poverty_rate_reduction_vs_2017": ("Giảm tỷ lệ hộ nghèo so với 2017", "Poverty rate reduction vs 2017"),
    "poverty_rate_target": ("Mục tiêu tỷ lệ hộ nghèo", "Poverty rate target"),
    "ethnic_minority_households": ("Số hộ dân tộc thiểu số", "Ethnic-minority households"),
    "ethnic_minority_household_share": ("Tỷ lệ hộ dân tộc thiểu số", "Ethnic-minority household share"),
    "ethnic_minority_population_share": ("Tỷ lệ dân số dân tộc thiểu số", "Ethnic-minority population share"),
    "poverty_rate_reduction_since_early_2016": ("Giảm tỷ lệ hộ nghèo so với đầu năm 2016",
                                                "Poverty rate reduction since early 2016"),
    "poor_and_near_poor_household_rate": ("Tỷ lệ hộ nghèo và cận nghèo", "Poor and near-poor household rate"),
    "cultural_families_recognised": ("Gia đình được công nhận văn hóa", "Cultural families recognised"),
    "cultural_villages_recognised": ("Làng được công nhận văn hóa", "Cultural villages recognised"),
    "ngo_project_funding": ("Vốn dự án phi chính phủ (NGO)", "NGO project funding"),
}


def load(conn: sa.Connection) -> list[dict]:
    """Every stored district figure, in source order ([] when the store predates the table)."""
    if not sa.inspect(conn).has_table(db.district_facts.name):
        return []
    c = db.district_facts.c
    rows = conn.execute(sa.select(db.district_facts).order_by(c.dataset, c.position))
    return [dict(r._mapping) for r in rows]


def label(indicator: str, lang: str) -> str:
    """Display name of a district indicator id."""
    names = LABELS.get(indicator)
    if names:
        return names[1] if lang == "en" else names[0]
    return indicator.replace("_", " ").capitalize()


def value_text(row: dict, lang: str) -> str:
    """The figure as written in the source, numbers in the language's format (``31,17``)."""
    if row["value"] is None:
        return row["value_text"]
    decimals = len(row["value_text"].split(".")[1]) if "." in row["value_text"] else 0
    return classify.format_number(row["value"], decimals, lang)


def group(rows: list[dict]) -> list[dict]:
    """Figures grouped per (scope, period, indicator); ``conflict`` when the sources give different values."""
    groups: dict[tuple, dict] = {}
    for row in rows:
        key = (row["scope"], row["period"], row["indicator"])
        entry = groups.setdefault(key, {"scope": row["scope"], "period": row["period"], "year": row["year"],
                                        "indicator": row["indicator"], "figures": []})
        entry["figures"].append(row)
    for entry in groups.values():
        entry["conflict"] = len({f["value_text"] for f in entry["figures"]}) > 1
    return list(groups.values())


def summary(conn: sa.Connection, lang: str = "vi") -> dict:
    """The district summary: the poverty series, every series by indicator, the report figures, conflicts.

    Returns
    -------
    dict
        JSON-ready: ``poverty`` (figures with year and value, per source), ``series``
        (district-facts grouped by indicator, Hướng Hóa first, each entry with its
        figures and a ``conflict`` flag), ``report`` (report-161 figures),
        ``conflicts`` (the entries whose sources disagree) and ``sources``.
    """
    rows = load(conn)
    facts = [r for r in rows if r["dataset"] == db.DATASET_FACTS]
    report = [r for r in rows if r["dataset"] == db.DATASET_REPORT]
    entries = group(facts)
    return {
        "poverty": [_figure_json(r, lang) for r in facts
                    if r["indicator"] == "poverty_rate" and r["scope"] == DISTRICT and r["year"]],
        "series": _by_indicator(entries, lang),
        "report": [_figure_json(r, lang) for r in report],
        "conflicts": [_entry_json(e, lang) for e in entries if e["conflict"]],
        "sources": [{"title": t, "url": u} for t, u in sorted({(r["source_title"], r["source_url"]) for r in rows})],
    }


def _figure_json(row: dict, lang: str) -> dict:
    return {"scope": row["scope"], "period": row["period"], "year": row["year"], "indicator": row["indicator"],
            "label": label(row["indicator"], lang), "value": row["value"], "value_text": value_text(row, lang),
            "raw_value": row["value_text"], "unit": row["unit"], "source": row["source_title"],
            "source_url": row["source_url"], "quote": row["quote"]}


def _entry_json(entry: dict, lang: str) -> dict:
    return {"scope": entry["scope"], "period": entry["period"], "indicator": entry["indicator"],
            "label": label(entry["indicator"], lang), "conflict": entry["conflict"],
            "figures": [_figure_json(f, lang) for f in entry["figures"]]}


def _by_indicator(entries: list[dict], lang: str) -> list[dict]:
    order = list(LABELS)
    out: dict[tuple, dict] = {}
    for entry in entries:
        key = (entry["scope"] != DISTRICT, entry["scope"], entry["indicator"])
        item = out.setdefault(key, {"scope": entry["scope"], "indicator": entry["indicator"],
                                    "label": label(entry["indicator"], lang), "entries": []})
        item["entries"].append(_entry_json(entry, lang))
    return [out[k] for k in sorted(out, key=lambda k: (k[0], k[1], order.index(k[2]) if k[2] in order else 99, k[2]))]


def poverty_chart(poverty: list[dict], lang: str, width: int = 340) -> tuple[charts.Markup, charts.Markup]:
    """The district poverty rate by year, one series per source (conflicting figures both drawn)."""
    by_source: dict[str, list[charts.Point]] = {}
    for figure in poverty:
        if figure["value"] is not None:
            name = f"{figure['source']} — {figure['source_url']}" if figure["source_url"] else figure["source"]
            by_source.setdefault(name, []).append(charts.Point(figure["year"], figure["value"]))
    series = [charts.Series(_short_source(name), points) for name, points in by_source.items()]
    years = sorted({p.x for s in series for p in s.points}) or [2016]
    chart = charts.line_chart(series, years, decimals=2, lang=lang, unit="%",
                              title=text("district_poverty", lang), width=width, height=150)
    return chart, charts.legend(series)


def _short_source(name: str) -> str:
    host, _, url = name.partition(" — ")
    tail = url.rstrip("/").rsplit("/", 1)[-1][:40] if url else ""
    return f"{host} ({tail})" if tail else host
