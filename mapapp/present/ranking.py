"""The commune ranking of a view: sorted values, ranks, change since a base year, threshold filter.

The ranking reads the same values as the map (:func:`mapapp.query.aggregate.values_on`, or
:func:`mapapp.aggregate.paired` with a base year) and filters with the same
threshold test as the map's highlight (:func:`mapapp.choropleth.matches`), so the
table, its downloads and the highlighted communes always agree.

Downloads: CSV (UTF-8 with BOM, so Excel opens it with Vietnamese letters intact)
and XLSX, both with the filters of the view; text cells that a spreadsheet would
read as a formula are neutralised.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata

import sqlalchemy as sa

from mapapp.core.i18n import text
from mapapp.core.names import sort_key
from mapapp.present import classify
from mapapp.present.choropleth import change_records, change_unit, matches, signed, threshold_text
from mapapp.present.viewstate import BadRequest, ViewState
from mapapp.query import aggregate
from mapapp.query import read as query
from mapapp.store.catalogue import Indicator

SORTS = ("value", "change", "name")
ORDERS = ("desc", "asc")
#: A text cell starting with one of these is read as a formula by spreadsheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def parse_options(args, state: ViewState, indicator: Indicator) -> tuple[str, str]:
    """Parse ``sort`` (value | change | name) and ``order`` (desc | asc).

    The default order puts the worst communes first: descending, except for
    indicators where a higher value is better.

    Raises
    ------
    BadRequest
        For an unknown sort or order, or ``sort=change`` without a base year.
    """
    sort = args.get("sort", "value") or "value"
    if sort not in SORTS:
        raise BadRequest(f"unknown sort {sort!r}; use one of: {', '.join(SORTS)}")
    if sort == "change" and state.compare is None:
        raise BadRequest("sort=change needs a base year: add compare=YYYY")
    order = args.get("order") or default_order(indicator, sort)
    if order not in ORDERS:
        raise BadRequest(f"unknown order {order!r}; use desc or asc")
    return sort, order


def default_order(indicator: Indicator, sort: str = "value") -> str:
    """Worst first: ascending when a higher value is better (and for names), else descending."""
    if sort == "name" or indicator.higher_is_better is True:
        return "asc"
    return "desc"


def build_ranking(conn: sa.Connection, state: ViewState, sort: str = "value", order: str | None = None) -> dict:
    """The ranking of ``state``'s indicator and year (and change since ``state.compare``).

    Returns
    -------
    dict
        JSON-ready: ``indicator``, ``year``, ``compare``, ``units_year``, ``version``,
        ``title``, ``sort``, ``order``, ``threshold``, ``total`` (units ranked),
        ``matching`` (units passing the threshold), ``illustrative``, ``sources`` and
        ``rows`` (only the matching units when a threshold is set), each with
        ``rank, code, valid_from, name, value, value_text, numerator, denominator,
        base_value, base_value_text, change, change_text, source, source_url,
        illustrative, aggregated, members_text, no_data_reason, matches``.
    """
    indicator = query.indicator(conn, state.indicator)
    order = order or default_order(indicator, sort)
    version, rows = _rows(conn, state, indicator)
    _rank(rows, "change" if sort == "change" else "value", order if sort != "name" else default_order(indicator))
    _sort(rows, sort, order)
    shown = [r for r in rows if r["matches"]] if state.has_threshold else rows
    with_value = [r for r in shown if r["value"] is not None]
    name = indicator.name(state.lang)
    return {
        "indicator": {"id": indicator.id, "name": name, "unit": indicator.unit(state.lang),
                      "decimals": indicator.decimals, "kind": indicator.kind,
                      "higher_is_better": indicator.higher_is_better},
        "year": state.year, "compare": state.compare, "units_year": state.units_year,
        "version": {"id": version.id, "label": version.label_in(state.lang), "unit_count": version.unit_count},
        "title": text("ranking_title", state.lang).format(name=name, year=state.year),
        "change_unit": change_unit(indicator, state.lang) if state.compare is not None else None,
        "sort": sort, "order": order,
        "rank_note": text("rank_note_" + (order if sort != "name" else default_order(indicator)), state.lang),
        "threshold": {"min": state.min, "max": state.max, "active": state.has_threshold,
                      "text": threshold_text(state.min, state.max, state.lang)},
        "total": len(rows), "matching": sum(r["matches"] for r in rows),
        "illustrative": any(r["illustrative"] for r in with_value),
        "sources": [{"title": t, "url": u} for t, u in
                    sorted({(r["source"], r["source_url"] or "") for r in with_value if r["source"]})],
        "rows": shown,
    }


def _rows(conn: sa.Connection, state: ViewState, indicator: Indicator) -> tuple[query.Version, list[dict]]:
    """One row per unit: the level, and the change when there is a base year."""
    lang, decimals = state.lang, indicator.decimals
    if state.compare is None:
        version, records = aggregate.values_on(conn, state.indicator, state.year, state.units_year)
        levels = records
        changes = [None] * len(records)
    else:
        version, now, before = aggregate.paired(conn, state.indicator, state.year, state.compare, state.units_year)
        changes = change_records(indicator, state.year, state.compare, now, before, lang)
        levels = now
    parents = {u["code"]: u["parent"] for u in query.version_units(conn, version.id)}
    rows = []
    for level, change in zip(levels, changes):
        reason = change["no_data_reason"] if change and change["value"] is None else None
        rows.append({
            "rank": None, "code": level["code"], "valid_from": level["valid_from"], "name": level["name"],
            "parent": parents.get(level["code"], ""),
            "value": level["value"], "value_text": classify.format_number(level["value"], decimals, lang),
            "numerator": level["numerator"], "denominator": level["denominator"],
            "base_value": change["value_base"] if change else None,
            "base_value_text": change["value_base_text"] if change else None,
            "change": change["value"] if change else None,
            "change_text": signed(change["value"], decimals, lang) if change else None,
            "source": level["source"], "source_url": level["source_url"],
            "illustrative": bool(level["illustrative"] or (change and change["illustrative"])),
            "aggregated": bool(change["aggregated"] if change else level["aggregated"]),
            "members_text": aggregate.members_text(change or level),
            "no_data_reason": aggregate.describe(level["no_data_reason"], lang) or reason,
            "matches": matches(level["value"], state.min, state.max),
        })
    return version, rows


def window(ranking: dict, offset: int, limit: int | None) -> dict:
    """The ranking with only ``limit`` rows from ``offset`` (a page of a long ranking).

    ``offset``, ``limit`` and ``shown`` (rows in the full ranking) are added so a page can
    link to the next and previous ones.
    """
    rows = ranking["rows"]
    end = len(rows) if limit is None else min(len(rows), offset + limit)
    return {**ranking, "rows": rows[offset:end], "offset": offset, "limit": limit, "shown": len(rows),
            "next_offset": end if end < len(rows) else None,
            "previous_offset": max(0, offset - limit) if limit and offset > 0 else None}


def _rank(rows: list[dict], key: str, order: str) -> None:
    """Competition ranks (1, 2, 2, 4) on ``key``; equal as displayed = same rank; no data = no rank."""
    ranked = sorted((r for r in rows if r[key] is not None),
                    key=lambda r: r[key], reverse=(order == "desc"))
    shown_key = key + "_text"
    previous, rank = None, 0
    for position, row in enumerate(ranked, start=1):
        if row[shown_key] != previous:
            rank, previous = position, row[shown_key]
        row["rank"] = rank


def _sort(rows: list[dict], sort: str, order: str) -> None:
    """Sort in place: rows with a value first (in ``order``), then rows without; names break ties."""
    rows.sort(key=lambda r: sort_key(r["name"]), reverse=(sort == "name" and order == "desc"))
    if sort == "name":
        return
    with_value = sorted((r for r in rows if r[sort] is not None), key=lambda r: r[sort], reverse=(order == "desc"))
    rows[:] = with_value + [r for r in rows if r[sort] is None]


# --------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------

def neutralise(value):
    """Make a text cell safe from formula injection: prefix ``'`` when it starts like a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def table(ranking: dict, lang: str) -> tuple[list[str], list[list]]:
    """Header and rows of the downloads (numbers as numbers, text neutralised)."""
    ind = ranking["indicator"]
    with_parent = any(row["parent"] for row in ranking["rows"])
    header = [text("rank", lang), text("code", lang), text("commune", lang)] + ([text("within", lang)] if with_parent else [])
    header += [f"{ind['name']} {ranking['year']} ({ind['unit']})",
              text("numerator", lang), text("denominator", lang)]
    has_change = ranking["compare"] is not None
    if has_change:
        header += [f"{ind['name']} {ranking['compare']} ({ind['unit']})",
                   f"{text('change', lang)} {ranking['compare']}→{ranking['year']} ({ranking['change_unit']})"]
    header += [text("source", lang), text("source_url", lang), text("illustrative", lang),
               text("built_from", lang), text("no_data_reason", lang)]
    body = []
    for row in ranking["rows"]:
        line = [row["rank"], row["code"], row["name"]] + ([row["parent"]] if with_parent else [])
        line += [_number(row["value"]), _number(row["numerator"]), _number(row["denominator"])]
        if has_change:
            line += [_number(row["base_value"]), _number(row["change"])]
        line += [row["source"] or "", row["source_url"] or "", text("yes" if row["illustrative"] else "no", lang),
                 row["members_text"], row["no_data_reason"] or ""]
        body.append([neutralise(cell) for cell in line])
    return [neutralise(h) for h in header], body


def _number(value):
    """A number for a spreadsheet: whole numbers as int, others rounded to 4 decimals; None as empty."""
    if value is None:
        return None
    if float(value).is_integer():
        return int(value)
    return round(float(value), 4)


def to_csv(ranking: dict, lang: str) -> bytes:
    """The ranking as CSV: UTF-8 with BOM, comma-separated, CRLF line ends."""
    header, body = table(ranking, lang)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for line in body:
        writer.writerow(["" if cell is None else cell for cell in line])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(ranking: dict, lang: str, link: str = "") -> bytes:
    """The ranking as an XLSX workbook: the table, and a sheet saying what it shows and where it is from."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    header, body = table(ranking, lang)
    book = Workbook()
    sheet = book.active
    sheet.title = text("sheet_ranking", lang)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for line in body:
        sheet.append(line)
    _force_text(sheet)
    _number_formats(sheet, header, ranking["indicator"]["decimals"])
    sheet.freeze_panes = "A2"
    about = book.create_sheet(text("sheet_about", lang))
    for line in about_lines(ranking, lang, link):
        about.append([neutralise(cell) for cell in line])
    _force_text(about)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _force_text(sheet) -> None:
    """Store every text cell as a string (openpyxl would store a leading ``=`` as a formula)."""
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"


def _number_formats(sheet, header: list[str], decimals: int) -> None:
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    for column in range(4, len(header) + 1):
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            if isinstance(cell.value, float):
                cell.number_format = pattern


def about_lines(ranking: dict, lang: str, link: str = "") -> list[list[str]]:
    """What a download shows: indicator, years, boundaries, filter, flags and sources (label, value)."""
    lines = [[ranking["title"]],
             [text("indicator", lang), f"{ranking['indicator']['name']} ({ranking['indicator']['unit']})"],
             [text("year", lang), str(ranking["year"])]]
    if ranking["compare"] is not None:
        lines.append([text("compare_with", lang), str(ranking["compare"])])
    lines.append([text("boundaries", lang), ranking["version"]["label"]])
    lines.append([text("threshold", lang), ranking["threshold"]["text"] or text("none", lang)])
    lines.append([text("rank", lang), ranking["rank_note"]])
    if ranking["illustrative"]:
        lines.append([text("illustrative", lang), text("illustrative_banner", lang)])
    lines += [[text("source", lang), s["title"], s["url"]] for s in ranking["sources"]]
    if link:
        lines.append([text("generated_from", lang), link])
    return lines


def filename(ranking: dict, fmt: str) -> str:
    """Download name, e.g. ``xep-hang-ty-le-ho-ngheo-2024-so-voi-2016.csv``."""
    parts = ["xep-hang", _slug(ranking["indicator"]["id"]), str(ranking["year"])]
    if ranking["compare"] is not None:
        parts.append(f"so-voi-{ranking['compare']}")
    if ranking["units_year"] is not None:
        parts.append(f"ranh-gioi-{ranking['units_year']}")
    return "-".join(parts) + "." + fmt


def _slug(value: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", value.replace("đ", "d")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-") or "x"
