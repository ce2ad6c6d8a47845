"""Plain sentences written from the figures of a view: the area's value and change, extremes, threshold, changes.

Two steps, so each can be tested on its own: :func:`facts` reads the numbers from the
same payloads the pages and the API serve (``build_view``, ``build_ranking``) and
:func:`sentences` writes them as text in Vietnamese or English, with the numbers
formatted as everywhere else (:func:`mapapp.present.classify.format_number`).
Nothing is said that the figures do not show: the area's value is only given when it
can be recomputed from the communes (summed numerators and denominators for rates,
summed values for counts), and it says how many communes it is built from.
"""
from __future__ import annotations

from mapapp.core.i18n import text
from mapapp.present.classify import format_number

MOST_CHANGED = 3
NO_DATA_NAMES = 5


def facts(view: dict, ranking: dict) -> dict:
    """The figures the summary speaks of.

    Parameters
    ----------
    view : dict
        :func:`mapapp.present.choropleth.build_view` of the view (what ``/api/values`` returns).
    ranking : dict
        :func:`mapapp.present.ranking.build_ranking` of the same view *without* a row filter
        (every commune); its ``matching`` and ``total`` count the view's threshold.

    Returns
    -------
    dict
        ``year``, ``base``, ``name``, ``unit``, ``change_unit``, ``area``, ``decimals``,
        ``district`` (None or ``value``, ``numerator``, ``denominator``, ``n``,
        ``base_value``, ``change``), ``highest``/``lowest`` (names, value),
        ``threshold`` (None or ``text``, ``matching``, ``total``), ``directions``
        (None or counts ``down``, ``up``, ``same``), ``most_changed`` (name, change)
        and ``no_data`` (names).
    """
    indicator = ranking["indicator"]
    rows = ranking["rows"]
    with_value = [r for r in rows if r["value"] is not None]
    threshold = ranking["threshold"]
    changed = [r for r in rows if r["change"] is not None]
    return {
        "year": ranking["year"], "base": ranking["compare"], "name": indicator["name"], "unit": indicator["unit"],
        "change_unit": ranking["change_unit"], "area": view["area"], "decimals": indicator["decimals"],
        "kind": indicator["kind"],
        "district": district_total(view, indicator["kind"]),
        "highest": _extreme(with_value, max), "lowest": _extreme(with_value, min),
        "threshold": {"text": threshold["text"], "matching": ranking["matching"], "total": ranking["total"]}
        if threshold["active"] else None,
        "directions": _directions(changed) if ranking["compare"] is not None else None,
        "most_changed": [(r["name"], r["change"]) for r in
                         sorted(changed, key=lambda r: -abs(r["change"]))[:MOST_CHANGED]],
        "no_data": [r["name"] for r in rows if r["value"] is None],
    }


def district_total(view: dict, kind: str) -> dict | None:
    """The whole area's value recomputed from its communes, or None when it cannot be.

    Rates: 100 × summed numerators / summed denominators; counts: summed values. With a
    base year, only communes with a value in both years count, and the base value is
    recomputed the same way. Other kinds (densities, areas) have no total here.
    """
    change = view.get("change", False)
    level_key = "value_year" if change else "value"
    records = [r for r in view["records"] if r.get(level_key) is not None
               and (not change or r.get("value_base") is not None)]
    if not records or kind not in ("rate", "count"):
        return None
    if kind == "rate":
        if any(r["numerator"] is None or not r["denominator"] for r in records):
            return None
        numerator = sum(r["numerator"] for r in records)
        denominator = sum(r["denominator"] for r in records)
        value = 100.0 * numerator / denominator
        base = None
        if change:
            if any(r["base_numerator"] is None or not r["base_denominator"] for r in records):
                return None
            base = 100.0 * sum(r["base_numerator"] for r in records) / sum(r["base_denominator"] for r in records)
    else:
        numerator = denominator = None
        value = float(sum(r[level_key] for r in records))
        base = float(sum(r["value_base"] for r in records)) if change else None
    return {"value": value, "numerator": numerator, "denominator": denominator, "n": len(records),
            "base_value": base, "change": None if base is None else value - base}


def _extreme(rows: list[dict], pick) -> dict | None:
    """The communes with the highest (``max``) or lowest (``min``) value as displayed (ties share it)."""
    if not rows:
        return None
    best = pick(rows, key=lambda r: r["value"])
    names = [r["name"] for r in rows if r["value_text"] == best["value_text"]]
    return {"names": names, "value": best["value"]}


def _directions(changed: list[dict]) -> dict:
    """Communes whose change, as displayed, is down, up or zero."""
    down = sum(r["change_text"].startswith("-") for r in changed)
    up = sum(r["change_text"].startswith("+") for r in changed)
    return {"down": down, "up": up, "same": len(changed) - down - up}


def _n(value, decimals: int, lang: str) -> str:
    return format_number(value, decimals, lang)


def _direction(change: float, decimals: int, unit: str, lang: str) -> str:
    """``giảm 2,5 điểm phần trăm`` / ``tăng ...`` / ``không đổi`` (zero as displayed)."""
    shown = _n(abs(change), decimals, lang)
    if not shown.strip("0,."):
        return text("report.same", lang)
    return text("report.down" if change < 0 else "report.up", lang).format(change=shown, unit=unit)


def sentences(figures: dict, lang: str) -> list[str]:
    """The summary as plain sentences, in the order a report reads them.

    Parameters
    ----------
    figures : dict
        :func:`facts`.
    lang : {"vi", "en"}

    Returns
    -------
    list of str
        The area's value (and change), the highest and lowest communes, the threshold
        count, the directions of change and the largest changes, the communes without data;
        each only when the figures allow it.
    """
    d, unit = figures["decimals"], figures["unit"]
    out = []
    district = figures["district"]
    if district is not None:
        out.append(_district_sentence(figures, district, lang))
    high, low = figures["highest"], figures["lowest"]
    if high is not None:
        out.append(text("report.s_extremes", lang).format(
            high=", ".join(high["names"]), high_value=_n(high["value"], d, lang),
            low=", ".join(low["names"]), low_value=_n(low["value"], d, lang), unit=unit))
    if figures["threshold"] is not None:
        t = figures["threshold"]
        out.append(text("report.s_threshold", lang).format(matching=t["matching"], total=t["total"],
                                                         threshold=t["text"], unit=unit))
    if figures["directions"] is not None and figures["most_changed"]:
        out.append(text("report.s_directions", lang).format(base=figures["base"], **figures["directions"]))
        items = [f"{name} ({_direction(change, d, figures['change_unit'], lang)})"
                 for name, change in figures["most_changed"]]
        out.append(text("report.s_most_changed", lang).format(items=", ".join(items)))
    if figures["no_data"]:
        names = figures["no_data"]
        listed = ", ".join(names[:NO_DATA_NAMES]) + (", …" if len(names) > NO_DATA_NAMES else "")
        out.append(text("report.s_no_data", lang).format(n=len(names), names=listed))
    return out


def _district_sentence(figures: dict, district: dict, lang: str) -> str:
    d, unit = figures["decimals"], figures["unit"]
    if district["numerator"] is not None:
        basis = text("report.basis_rate", lang).format(
            numerator=_n(district["numerator"], 0, lang), denominator=_n(district["denominator"], 0, lang),
            n=district["n"])
    else:
        basis = text("report.basis_sum", lang).format(n=district["n"])
    common = {"name": figures["name"], "area": figures["area"], "year": figures["year"],
              "value": _n(district["value"], d, lang), "unit": unit, "basis": basis}
    if district["change"] is None:
        return text("report.s_level", lang).format(**common)
    return text("report.s_level_change", lang).format(
        **common, base=figures["base"], base_value=_n(district["base_value"], d, lang),
        direction=_direction(district["change"], d, figures["change_unit"], lang))
