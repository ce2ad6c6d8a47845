"""JSON API: units (GeoJSON), indicators, values, projects, boundary versions.

Geometry responses are keyed by the boundary version's checksum (ETag) so a
browser never downloads the same geometry twice; values are a small separate payload.
"""
from __future__ import annotations

import gzip
import hashlib
import json

from flask import Blueprint, Response, current_app, jsonify, request

from mapapp.core import parsing
from mapapp.geo import label_points
from mapapp.present.values_answer import values_text
from mapapp.present.viewstate import BadRequest, parse, parse_year
from mapapp.query import read as query
from mapapp.query.anchors import context_json
from mapapp.store.db import connection
from mapapp.web.transport import accepts_gzip

MAX_LEVEL = 64  # far above any level of detail a pack has
bp = Blueprint("api", __name__, url_prefix="/api")


@bp.errorhandler(BadRequest)
@bp.errorhandler(query.NotFound)
def _bad_request(error):
    return jsonify({"error": str(error)}), 400


@bp.before_request
def _require_data():
    missing = current_app.config.get("MISSING_INPUTS")
    if missing:
        return jsonify({"error": "the app has no data yet: missing input files", "missing": missing}), 503
    return None


def _cached_json(body: str, etag: str, max_age: int) -> Response:
    """A JSON response with an ETag; answers 304 when the client already has it."""
    response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    return response.make_conditional(request)


@bp.get("/versions")
def versions():
    """Boundary versions and the version used for each year of the range.

    Each version has ``label`` in the language of ``lang`` (vi by default) and both
    ``label_vi`` and ``label_en``.
    """
    conn = connection()
    cfg = current_app.config
    lang = "en" if request.args.get("lang") == "en" else "vi"
    years = {y: query.version_for_year(conn, y).id for y in range(cfg["FIRST_YEAR"], cfg["LAST_YEAR"] + 1)}
    return jsonify({
        "versions": [{**v.__dict__, "label": v.label_in(lang), "label_vi": v.label, "label_en": v.label_in("en")}
                     for v in query.versions(conn)],
        "years": {str(y): v for y, v in years.items()},
    })


@bp.get("/units")
def units():
    """GeoJSON of the units valid on 31 December of ``year`` (or of boundary ``version``)."""
    conn = connection()
    version = _requested_version(conn)
    # A version's geometry never changes without its checksum changing.
    return _cached_json(query.units_geojson(conn, version.id), version.checksum, 86400)


def _requested_version(conn) -> query.Version:
    """The boundary version named by ``version=ID``, or the one in force in ``year=YYYY``."""
    if "version" in request.args:
        return query.version_by_id(conn, request.args["version"])
    return query.version_for_year(conn, parse_year(request.args.get("year"), current_app.config))


@bp.get("/context")
def context():
    """The map's surroundings (neighbouring districts and provinces, the national border, towns,
    the archipelagos of a national map), drawn muted under the units; see :mod:`mapapp.geo.context`.

    ``{"districts": [], "provinces": [], ...}`` when none are stored. The ETag is the
    context's checksum: it changes only when the seed derives new surroundings.
    """
    found = context_json(connection())
    if found is None:
        empty = {"districts": [], "provinces": [], "border": None, "laos_label": None, "towns": [],
                 "archipelagos": [], "source": ""}
        return _cached_json(json.dumps(empty), "none", 3600)
    digest, body = found
    return _cached_json(body, digest or hashlib.sha256(body.encode()).hexdigest()[:32], 86400)


@bp.get("/geometry")
def geometry():
    """The web map's geometry pack of a boundary version at a level of detail (see :mod:`mapapp.packs`).

    ``version=ID`` (or ``year=YYYY``) and ``level=N`` (0 = coarsest, the default). Sent
    gzip-compressed as stored; the ETag is the pack's checksum.
    """
    conn = connection()
    version = _requested_version(conn)
    try:
        level = parsing.parse_int(request.args.get("level", "0"), 0, MAX_LEVEL, "level")
    except parsing.ParseError as error:
        raise BadRequest(f"{error} (0 = coarsest)") from None
    digest, body = query.pack(conn, version.id, level)
    gzipped = accepts_gzip()
    response = Response(body if gzipped else gzip.decompress(body), mimetype="application/json")
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.set_etag(digest)
    response.cache_control.public = True
    response.cache_control.max_age = 365 * 86400 if request.args.get("v") == digest[:16] else 86400
    return response.make_conditional(request)


@bp.get("/points")
def points():
    """Label points, short names and search keys of a version's units (see :mod:`mapapp.geo.label_points`).

    ``version=ID`` (or ``year=YYYY``). Computed once per boundary checksum, cached on disk;
    the ETag is the boundary checksum. The map loads it after its first paint.
    """
    conn = connection()
    version = _requested_version(conn)
    body = label_points.points_body(version.id, version.checksum, lambda: query.units_geojson(conn, version.id),
                                    current_app.config.get("CACHE_DIR"))
    gzipped = accepts_gzip()
    response = Response(body if gzipped else gzip.decompress(body), mimetype="application/json")
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.set_etag("points-" + version.checksum)
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response.make_conditional(request)


@bp.get("/indicators")
def indicators():
    """The indicator catalogue with the years that have data and whether they are illustrative.

    ``has_data`` is False for an indicator without any value yet (the pages offer it disabled);
    ``legend_breaks`` lists its preset legend bands (empty when its classes are computed).
    """
    conn = connection()
    lang = request.args.get("lang", "vi")
    years = query.indicator_years(conn)
    out = []
    for ind in query.catalogue(conn).values():
        info = years.get(ind.id, {"years": [], "illustrative_years": []})
        out.append({
            "id": ind.id, "name_vi": ind.name_vi, "name_en": ind.name_en, "name": ind.name(lang),
            "unit": ind.unit(lang), "unit_vi": ind.unit_vi, "unit_en": ind.unit_en, "kind": ind.kind,
            "higher_is_better": ind.higher_is_better, "decimals": ind.decimals,
            "years": info["years"], "illustrative_years": info["illustrative_years"],
            "illustrative": bool(info["illustrative_years"]),
            "has_data": bool(info["years"]), "legend_breaks": list(ind.preset_breaks()),
        })
    return jsonify({"indicators": out})


@bp.get("/values")
def values():
    """One record per unit of the year: value, source, illustrative flag, class and colour.

    ``units_year=YYYY`` draws the year's data on a later year's units (aggregated along
    the registry's successor links; each record names the units it was built from and,
    when it cannot be built, why); ``compare=YYYY`` gives the change since that year on
    a common geography (diverging classes centred on zero, percentage points for rates);
    ``min``/``max`` mark the records passing the threshold (``highlight``).
    ``format=columns`` gives the same view in columns (see :func:`mapapp.choropleth.columns`),
    small enough for maps of thousands of units.
    """
    conn = connection()
    if "year" not in request.args:
        raise BadRequest("the parameter year is required (e.g. year=2021)")
    if "indicator" not in request.args:
        raise BadRequest("the parameter indicator is required (e.g. indicator=poverty_rate)")
    state = parse(request.args, current_app.config, query.catalogue(conn).keys())
    form = "columns" if request.args.get("format") == "columns" else "records"
    body = values_text(conn, state, form)
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    gzipped = getattr(body, "gzipped", b"")  # precomputed: compressed once, when the data changed
    if not (gzipped and accepts_gzip()):
        return _cached_json(body, etag, 60)
    response = Response(gzipped, mimetype="application/json")
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = 60
    return response.make_conditional(request)


@bp.get("/projects")
def projects():
    """Projects active in ``year`` with their sites (units valid that year)."""
    conn = connection()
    year = parse_year(request.args.get("year"), current_app.config)
    body = json.dumps({"year": year, "projects": query.projects_for_year(conn, year)},
                      ensure_ascii=False, separators=(",", ":"))
    return _cached_json(body, hashlib.sha256(body.encode()).hexdigest()[:32], 60)
