"""Documents staff hand in: ``/report.docx`` (the Word report of a view) and the commune fact sheets (PDF).

``/report.docx`` takes the map's view state (``indicator``, ``year``, ``compare``,
``units_year``, ``min``/``max``, ``method``, ``k``, ``palette``, ``lang``...);
``/communes/<code>/sheet.pdf`` (``year``, ``valid_from``, ``lang``) is one commune's page;
``/sheets.pdf?year=YYYY`` every commune of that year's layout. Bad parameters answer
400 with a JSON message, like the exports; an unknown commune answers the 404 page.
In production they are rendered in the export worker processes (:mod:`mapapp.offload`).
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from mapapp.present import report, sheets
from mapapp.present.viewstate import LANGS, BadRequest, parse, parse_optional_year, parse_year
from mapapp.query import answers
from mapapp.query import read as query
from mapapp.store.db import connection
from mapapp.web.views import _fallback_state, _page_common

bp = Blueprint("reports", __name__)


@bp.errorhandler(BadRequest)
def _bad_request(error):
    return jsonify({"error": str(error)}), 400


def _attachment(data: bytes, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    # The date is printed in the document: never serve yesterday's file from a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _document(conn, key: str, build):
    """``(bytes, filename)`` of a document, rendered once per data generation, view and day.

    A book of sheets takes seconds to draw and is asked again as it is (a second download, a
    colleague's): it is kept like the other answers, under the date it prints.
    """
    def rendered():
        data, filename, _content = build()
        return data, filename

    return answers.cached(conn, "documents", f"{key}&date={dt.date.today().isoformat()}", rendered)


def _lang() -> str:
    lang = request.args.get("lang") or "vi"
    if lang not in LANGS:
        raise BadRequest(f"unknown language {lang!r}; use vi or en")
    return lang


def _years() -> list[int]:
    cfg = current_app.config
    return list(range(cfg["FIRST_YEAR"], cfg["LAST_YEAR"] + 1))


@bp.get("/report.docx")
def report_docx():
    """The Word report of the view in the query string (attachment)."""
    conn = connection()
    if not request.args.get("indicator"):
        raise BadRequest("the parameter indicator is required (e.g. indicator=poverty_rate)")
    if not request.args.get("year"):
        raise BadRequest("the parameter year is required (e.g. year=2024)")
    state = parse(request.args, current_app.config, query.catalogue(conn).keys())
    try:
        built = report.build_report(conn, state, link=request.url_root + "?" + state.query_string())
    except query.NotFound as error:
        raise BadRequest(str(error)) from None
    return _attachment(built.data, report.MIMETYPE, built.filename)


@bp.get("/communes/<code>/sheet.pdf")
def commune_sheet(code: str):
    """One commune's fact sheet: one A4 page (attachment)."""
    conn = connection()
    lang = _lang()
    year = parse_optional_year("year", request.args.get("year"), current_app.config)
    valid_from = request.args.get("valid_from")
    key = f"sheet={code}&valid_from={valid_from}&year={year}&lang={lang}"
    try:
        data, filename = _document(conn, key, lambda: sheets.commune_pdf(conn, code, valid_from, year, _years(), lang))
    except query.NotFound as error:
        state = _fallback_state(conn)
        return render_template("profile.html", profile=None, error=str(error), **_page_common(conn, state)), 404
    return _attachment(data, sheets.MIMETYPE, filename)


@bp.get("/sheets.pdf")
def all_sheets():
    """Every commune of ``year``'s layout, one page each, with a cover and a contents page (attachment)."""
    conn = connection()
    lang = _lang()
    year = parse_year(request.args.get("year"), current_app.config, default=current_app.config["DEFAULT_YEAR"])
    data, filename = _document(conn, f"sheets&year={year}&lang={lang}", lambda: sheets.book_pdf(conn, year, _years(), lang))
    return _attachment(data, sheets.MIMETYPE, filename)
