"""Print-quality map exports: ``/export.png``, ``/export.pdf`` and ``/export.svg``.

The query string is the map page's view (``indicator``, ``year``, ``method``,
``k``, ``palette``, ``lang``, ``projects``) plus the sheet: ``size`` (A4|A3),
``orientation`` (landscape|portrait), ``dpi`` (PNG only, 72–300). ``years=2016,2018``
(or ``2016-2024``) makes one page of small multiples with a shared legend.
Bad parameters answer 400 with a JSON message, like the API.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from mapapp.present import export
from mapapp.present.viewstate import BadRequest
from mapapp.query import read as query
from mapapp.store.catalogue import load_catalogue
from mapapp.store.db import connection

bp = Blueprint("exports", __name__)


@bp.errorhandler(BadRequest)
@bp.errorhandler(query.NotFound)
def _bad_request(error):
    return jsonify({"error": str(error)}), 400


@bp.get("/export.<any(png, pdf, svg):fmt>")
def export_map(fmt: str):
    """The current view as a print-ready file (attachment)."""
    conn = connection()
    wanted = export.parse_request(request.args, fmt, current_app.config, load_catalogue(conn).keys())
    rendered = export.render(conn, wanted.state, wanted.page, wanted.years)
    response = Response(rendered.data, mimetype=rendered.mimetype)
    response.headers.set("Content-Disposition", "attachment", filename=rendered.filename)
    # The export date is printed on the sheet: never serve yesterday's file from a cache.
    response.headers["Cache-Control"] = "no-store"
    return response
