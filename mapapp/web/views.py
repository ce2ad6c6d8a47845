"""HTML pages and their .json twins: the map (``/``), the planner tools, and the missing-data explanation.

Planner pages: ``/ranking`` (+ ``.json``, ``.csv``, ``.xlsx``), ``/communes/<code>``
(+ ``.json``), ``/district`` (+ ``.json``) and ``/compare`` (+ ``.json``). Their
state lives in the query string, like the map's.
"""
from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import replace
from urllib.parse import parse_qsl, quote, urlencode

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request, url_for
from markupsafe import Markup, escape

from mapapp.core import i18n
from mapapp.present import choropleth, classify, district, first_frame, profiles, ranking
from mapapp.present.mapview import lazy_assets, render_parts
from mapapp.present.values_answer import values_text
from mapapp.present.viewstate import (
    BadRequest,
    ViewState,
    format_threshold,
    parse,
    parse_count,
    parse_optional_year,
    with_changes,
)
from mapapp.query import read as query
from mapapp.query.answers import answer_generation, cached
from mapapp.store.db import connection
from mapapp.web.assets import missing_assets
from mapapp.web.bundle import entry_url
from mapapp.web.versioned import preload_urls, static_version

bp = Blueprint("views", __name__)
MAP_ENTRY = "map/main.js"  # the map page's module (joined with its imports: mapapp.web.bundle)


@bp.before_app_request
def _require_data():
    """Without input data, every page explains what is missing instead of failing."""
    missing = current_app.config.get("MISSING_INPUTS")
    if missing and request.blueprint not in ("api", "assets", "versioned") and request.endpoint != "static":
        return render_template("missing.html", missing=missing,
                               shared_dir=current_app.config["SHARED_DIR"]), 503
    return None


@bp.get("/")
def index():
    """The map page; its state comes from, and is kept in, the query string.

    The page depends only on the query string and the data: it is rendered once per data
    generation, and sent with an ETag so that a browser's next visit gets a ``304``.
    """
    conn = connection()
    assets_missing = missing_assets(current_app.config["ASSETS_DIR"])
    key = request.query_string.decode("utf-8", "replace") + ("|missing-assets" if assets_missing else "")
    html = cached(conn, "map-page", key, lambda: _render_index(conn, assets_missing))
    response = current_app.response_class(html, mimetype="text/html")
    response.set_etag(hashlib.sha256(html.encode("utf-8")).hexdigest()[:32])
    response.cache_control.no_cache = True
    return response.make_conditional(request)


def _render_index(conn, assets_missing: list[str]) -> str:
    catalogue = query.catalogue(conn)
    notice = None
    try:
        state = _state(conn)
    except BadRequest as error:
        notice = str(error)
        state = _fallback_state(conn)
    state, empty_notice = _with_data(conn, state)
    notice = notice or empty_notice
    lang = state.lang
    config = page_config(conn, catalogue, state)
    parts = _map_parts()
    # Loaded by the page script once the first frame is on screen (static/map/live_assets.js).
    config["liveAssets"] = {"css": [parts["leaflet_css"]],
                            "js": [parts["leaflet_js"], url_for("views.map_script", digest=parts["digest"])]}
    version = config["versions"][str(state.geography_year)]
    first = _first_view(conn, state, version)
    preload = [] if first["geometry_json"] else [
        f"{config['api']}/geometry?version={quote(version['id'])}&level=0&v={version['levels'][0]['checksum']}"]
    if not first["values_json"]:
        values_query = with_changes(state, projects=True, focus="", labels=True, label_values=False).query_string()
        preload.append(f"{config['api']}/values?{values_query}&format=columns")
    summary = district.summary(conn, lang)
    chart, chart_legend = district.poverty_chart(summary["poverty"], lang)
    return render_template(
        "map.html", preload=preload, modules=[] if entry_url(MAP_ENTRY) else preload_urls(MAP_ENTRY), first=first, parts=parts,
        config_json=_json_block(config),
        t=strings(conn, lang), lang=lang, state=state, catalogue=catalogue, methods=classify.METHODS,
        data_years={k: v["years"] for k, v in query.indicator_years(conn).items()},
        notice=notice, missing_assets=assets_missing,
        lang_query=with_changes(state, lang="en" if lang == "vi" else "vi").query_string(),
        years=config["years"], district=summary, district_chart=chart, district_legend=chart_legend,
        nav=_nav(state),
    )


#: A first view's geometry pack up to this size (gzip) travels inside the page: one round trip
#: fewer. Larger ones are preloaded instead, so a second visit takes them from the browser's cache.
INLINE_GEOMETRY_MAX_GZIP = 64 * 1024


def _first_view(conn, state: ViewState, version: dict) -> dict:
    """A small map's first values and geometry pack, as JSON for data blocks of the page (a large
    map's are preloaded), and the map's first frame drawn from them (:mod:`mapapp.present.first_frame`)."""
    try:
        values = _json_text(values_text(conn, with_changes(state, projects=True, focus=""), "columns"))
    except (BadRequest, query.NotFound):
        values = ""  # the page script asks the API, which says what is wrong
    geometry, frame = "", None
    answer = json.loads(values) if values else {}
    digest, body = query.pack(conn, version["id"], 0)
    if len(body) <= INLINE_GEOMETRY_MAX_GZIP:
        pack_text = gzip.decompress(body).decode("utf-8")
        geometry = _json_text(pack_text)
        if answer:
            frame = first_frame.frame(json.loads(pack_text), answer)
    if answer and frame is None:  # too many units for an SVG: the frame is an image, fetched beside the scripts
        image = url_for("views.map_frame") + "?" + urlencode({**_frame_args(state), "g": answer_generation(conn)})
        frame = Markup(f'<img src="{escape(image)}" alt="">')
    if not geometry:
        # A large map's values are preloaded beside its geometry, not inlined: a short page is
        # parsed, and its frame painted, before the long work of the live map begins.
        values = ""
    # The banner shown from the start when it will be: no layout change once the map is drawn.
    return {"values_json": values, "geometry_json": geometry, "geometry_key": f"{version['id']}/0",
            "illustrative": bool(answer.get("illustrative")), "frame": frame, "answer": answer}


def _frame_args(state: ViewState) -> dict:
    """The query of a view's values as the first frame draws them (no page-only state)."""
    return dict(parse_qsl(with_changes(state, projects=True, focus="", labels=True, label_values=False).query_string()))


@bp.get("/map-frame.webp")
def map_frame():
    """A large map's first frame as an image (:func:`mapapp.present.first_frame.raster`), for the view asked.

    The page names it with the answers' generation (``g``: data and code): under the current one it is kept for good.
    """
    conn = connection()

    def draw() -> bytes:
        state = _state(conn)  # a country's years of data take a while to read: only on a miss
        answer = json.loads(values_text(conn, with_changes(state, projects=True, focus=""), "columns"))
        _digest, body = query.pack(conn, query.version_for_year(conn, state.geography_year).id, 0)
        return first_frame.raster(json.loads(gzip.decompress(body)), answer)
    try:
        key = urlencode(sorted((k, v) for k, v in request.args.items(multi=True) if k != "g"))
        image = cached(conn, "map-frame", key, draw)
    except (BadRequest, query.NotFound) as error:
        return _json_error(error)
    response = current_app.response_class(image, mimetype="image/webp")
    if request.args.get("g") == answer_generation(conn):
        response.cache_control.public = True
        response.cache_control.max_age = 365 * 86400
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    return response


def _json_text(text: str) -> str:
    """A JSON text made safe for a ``<script type="application/json">`` block.

    ``<`` (only ever inside JSON strings) becomes ``\\u003c``: no ``</script>`` or ``<!--``
    in the data can end the block or change how the HTML around it is parsed.
    """
    return text.replace("<", "\\u003c")


def strings(conn, lang: str) -> dict[str, str]:
    """The interface strings in ``lang``, naming the configured atlas's area."""
    return i18n.bundle(lang, query.area_name(conn, lang))


def _json_block(data) -> str:
    """JSON for a ``<script type="application/json">`` block (no ``</`` can close it early)."""
    return _json_text(json.dumps(data, ensure_ascii=False))


def _nav(state: ViewState) -> dict:
    """Links between the planner pages, keeping the view (indicator, year, language...)."""
    plain = with_changes(state, focus="", labels=True, label_values=False)
    lang = {"lang": "en"} if state.lang == "en" else {}
    compare_year = state.compare if state.compare is not None else _default_other_year(state.year)
    side = with_changes(plain, compare=None, year=min(state.year, compare_year))
    return {
        "map": url_for("views.index") + "?" + plain.query_string(),
        "ranking": url_for("views.ranking_page") + "?" + plain.query_string(),
        "compare": url_for("views.compare_page") + "?" + side.query_string()
                   + "&" + urlencode({"year2": max(state.year, compare_year)}),
        # The district summary is Hướng Hóa's own (real district series): not for other atlases.
        "district": url_for("views.district_page") + ("?" + urlencode(lang) if lang else "")
                    if current_app.extensions.get("mapapp_atlas") is None else None,
    }


def _default_other_year(year: int) -> int:
    cfg = current_app.config
    return cfg["FIRST_YEAR"] if year != cfg["FIRST_YEAR"] else cfg["LAST_YEAR"] - 1


def _map_parts() -> dict:
    """The folium map parts for this app (rendered once), registered for :func:`map_script`."""
    parts = render_parts(_area_bounds(), url_for("versioned.static_file", version=static_version(),
                                                 filename="x").rsplit("/", 1)[0],
                         url_for("assets.vendor", package="x", filename="y").rsplit("/", 2)[0],
                         static_version(), entry_url(MAP_ENTRY) or "")
    current_app.extensions.setdefault("mapapp_scripts", {})[parts["digest"]] = parts["script"]
    return parts


@bp.get("/map-script/<digest>.js")
def map_script(digest: str):
    """The folium map's start-up script, served as a file (no inline script on the page)."""
    scripts = current_app.extensions.get("mapapp_scripts", {})
    if digest not in scripts:
        _map_parts()  # another worker process rendered the page: render it here too
    script = scripts.get(digest) or current_app.extensions["mapapp_scripts"].get(digest)
    if script is None:
        abort(404)
    response = current_app.response_class(script, mimetype="text/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = 365 * 86400
    response.cache_control.immutable = True  # the URL names the script's digest
    return response


def page_config(conn, catalogue, state) -> dict:
    """Everything the page script needs at start: state, years, versions, strings, planner links."""
    cfg = current_app.config
    years = list(range(cfg["FIRST_YEAR"], cfg["LAST_YEAR"] + 1))
    version_of_year = {y: query.version_for_year(conn, y) for y in years}
    data_years = query.indicator_years(conn)
    return {
        "state": state.__dict__,
        "years": years,
        "versions": {str(y): {"id": v.id, "checksum": v.checksum[:16], "unit_count": v.unit_count,
                              "levels": query.pack_levels(conn, v.id)}
                     for y, v in version_of_year.items()},
        "canvasMinUnits": cfg["CANVAS_MIN_UNITS"],
        "labelsMaxInView": cfg.get("LABELS_MAX_IN_VIEW", 600),
        "lazyAssets": lazy_assets(url_for("assets.vendor", package="x", filename="y").rsplit("/", 2)[0]),
        "minZoom": 7 if current_app.extensions.get("mapapp_atlas") is None else 4,
        "indicators": {i.id: {"name": i.name(state.lang), "unit": i.unit(state.lang), "kind": i.kind,
                              "higher_is_better": i.higher_is_better,
                              "years": data_years.get(i.id, {}).get("years", []),
                              "illustrative_years": data_years.get(i.id, {}).get("illustrative_years", [])}
                       for i in catalogue.values()},
        "strings": strings(conn, state.lang),
        "api": url_for("api.values").rsplit("/", 1)[0],
        "exportBase": url_for("views.index") + "export",
        "rankingBase": url_for("views.ranking_page"),
        "compareBase": url_for("views.compare_page"),
        "reportBase": url_for("views.index") + "report.docx",
        "sheetsBase": url_for("views.index") + "sheets.pdf",
        "profileBase": url_for("views.index") + "communes/",
    }


def _area_bounds() -> tuple:
    """Bounds of the mapped area over every boundary version (for the initial view)."""
    conn = connection()
    versions = query.versions(conn)
    key = tuple(v.checksum for v in versions)
    cache = current_app.extensions.setdefault("mapapp_bounds", {})
    if key not in cache:
        cache[key] = _bounds_of(conn, versions)
    return cache[key]


def _bounds_of(conn, versions) -> tuple:
    south, west, north, east = 90.0, 180.0, -90.0, -180.0
    for version in versions:
        outline = query.version_outline(conn, version.id)
        for lon, lat in _coords(outline["coordinates"]):
            south, north = min(south, lat), max(north, lat)
            west, east = min(west, lon), max(east, lon)
    return ((south, west), (north, east))


def _coords(nested):
    if isinstance(nested[0], (int, float)):
        yield nested
        return
    for item in nested:
        yield from _coords(item)


# --------------------------------------------------------------------------
# Planner pages
# --------------------------------------------------------------------------

def _state(conn, args=None) -> ViewState:
    """The view state of the request (raises BadRequest); without a year, the latest with data."""
    years = {k: v["years"] for k, v in query.indicator_years(conn).items()}
    return parse(request.args if args is None else args, current_app.config, query.catalogue(conn).keys(), years)


def _with_data(conn, state: ViewState) -> tuple[ViewState, str | None]:
    """The view, or the default one when its indicator has no data at all (never an empty map).

    Returns
    -------
    state, notice
        The state to show and, when it was replaced, the notice saying why (else None).
    """
    if query.indicator_years(conn).get(state.indicator, {}).get("years"):
        return state, None
    default = _state(conn, {"lang": state.lang})
    catalogue = query.catalogue(conn)
    if default.indicator == state.indicator:
        return state, None  # nothing has data: show the (empty) default rather than loop
    notice = i18n.text("indicator_empty", state.lang).format(
        name=catalogue[state.indicator].name(state.lang), shown=catalogue[default.indicator].name(state.lang))
    return default, notice


def _fallback_state(conn) -> ViewState:
    lang = request.args.get("lang")
    return _state(conn, {"lang": lang} if lang in ("vi", "en") else {})


def _json_response(payload: dict) -> Response:
    response = current_app.response_class(json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                                          mimetype="application/json")
    return response


def _json_error(error: Exception, status: int = 400) -> Response:
    response = jsonify({"error": str(error)})
    response.status_code = status
    return response


def _page_common(conn, state: ViewState) -> dict:
    """Template values every planner page uses."""
    cfg = current_app.config
    return {
        "t": strings(conn, state.lang), "lang": state.lang, "state": state, "catalogue": query.catalogue(conn),
        "data_years": {k: v["years"] for k, v in query.indicator_years(conn).items()},
        "years": list(range(cfg["FIRST_YEAR"], cfg["LAST_YEAR"] + 1)), "last_year": cfg["LAST_YEAR"],
        "nav": _nav(state), "missing_assets": missing_assets(cfg["ASSETS_DIR"]),
    }


def _ranking_query(state: ViewState, sort: str, order: str, indicator) -> str:
    extra = {}
    if sort != "value":
        extra["sort"] = sort
    if order != ranking.default_order(indicator, sort):
        extra["order"] = order
    return state.query_string() + ("&" + urlencode(extra) if extra else "")


@bp.get("/ranking", defaults={"fmt": "html"})
@bp.get("/ranking.<any(json, csv, xlsx):fmt>")
def ranking_page(fmt: str):
    """The commune ranking of a view, as a page, JSON, CSV (UTF-8 with BOM) or XLSX, with the same filters."""
    conn = connection()
    try:
        state = with_changes(_state(conn), focus="")
        indicator = query.indicator(conn, state.indicator)
        sort, order = ranking.parse_options(request.args, state, indicator)
        offset, limit = _page_window(fmt) if fmt in ("html", "json") else (0, None)
        table = cached(conn, "ranking", f"{state.query_string()}&sort={sort}&order={order}",
                       lambda: ranking.build_ranking(conn, state, sort, order))
    except (BadRequest, query.NotFound) as error:
        if fmt != "html":
            return _json_error(error)
        state = _fallback_state(conn)
        indicator = query.indicator(conn, state.indicator)
        sort, order, notice = "value", ranking.default_order(indicator), str(error)
        table = ranking.window(ranking.build_ranking(conn, state, sort, order), 0, RANKING_PAGE_ROWS)
        return _render_ranking(conn, state, table, sort, order, indicator, notice), 400
    if fmt in ("csv", "xlsx"):
        return _download(table, state, fmt, _own_link())
    table = ranking.window(table, offset, limit)
    if fmt == "json":
        return _json_response({**table, "query": _ranking_query(state, sort, order, indicator)})
    return _render_ranking(conn, state, table, sort, order, indicator, None)


#: Rows per page of the ranking page (a country has 11,163 communes); downloads have them all.
RANKING_PAGE_ROWS = 500


def _page_window(fmt: str) -> tuple[int, int | None]:
    """``offset`` and ``limit`` of the request (the JSON twin gives every row unless limited)."""
    offset = parse_count("offset", request.args.get("offset"), 0)
    limit = parse_count("limit", request.args.get("limit"), None if fmt == "json" else RANKING_PAGE_ROWS)
    return offset, (limit or None)


def _render_ranking(conn, state, table, sort, order, indicator, notice):
    query_string = _ranking_query(state, sort, order, indicator)
    return render_template(
        "ranking.html", ranking=table, sort=sort, order=order, notice=notice, query_string=query_string,
        page_query=lambda offset: query_string + f"&offset={offset}",
        lang_query=_ranking_query(with_changes(state, lang="en" if state.lang == "vi" else "vi"), sort, order,
                                  indicator),
        map_query=state.query_string(), **_page_common(conn, state))


def _own_link() -> str:
    """This request's path and query, after ``PUBLIC_URL`` when configured: never the request's Host header."""
    path = request.full_path[:-1] if request.full_path.endswith("?") else request.full_path
    return str(current_app.config.get("PUBLIC_URL") or "").rstrip("/") + path


def _download(table: dict, state: ViewState, fmt: str, link: str) -> Response:
    if fmt == "csv":
        data, mimetype = ranking.to_csv(table, state.lang), "text/csv; charset=utf-8"
    else:
        data = ranking.to_xlsx(table, state.lang, link)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(data, mimetype=mimetype)
    response.headers.set("Content-Disposition", "attachment", filename=ranking.filename(table, fmt))
    return response


@bp.get("/communes/<code>", defaults={"fmt": "html"})
@bp.get("/communes/<code>.<any(json):fmt>")
def profile_page(code: str, fmt: str):
    """A commune's profile: every indicator over the years (charts and table), projects, registry links."""
    conn = connection()
    lang = request.args.get("lang", "vi") if request.args.get("lang") in ("vi", "en") else "vi"
    cfg = current_app.config
    years = list(range(cfg["FIRST_YEAR"], cfg["LAST_YEAR"] + 1))
    valid_from = request.args.get("valid_from")
    try:
        profile = profiles.build_profile(conn, code, valid_from, years, lang)
    except query.NotFound as error:
        if fmt == "json":
            return _json_error(error, 404)
        state = _fallback_state(conn)
        return render_template("profile.html", profile=None, error=str(error), **_page_common(conn, state)), 404
    if fmt == "json":
        return _json_response(profile)
    starts = profiles.version_start_years(conn)
    charts_by_id = {s["id"]: profiles.chart(s, years, lang, starts) for s in profile["series"] if s["has_values"]}
    state = _profile_state(conn, profile, lang)
    unit = profile["unit"]
    return render_template(
        "profile.html", profile=profile, charts=charts_by_id, error=None,
        link=lambda u: _profile_url(u, lang),
        map_link=lambda indicator, year: url_for("views.index") + "?" + urlencode(
            {"indicator": indicator, "year": year, "focus": unit["code"], **({"lang": "en"} if lang == "en" else {})}),
        lang_query=urlencode({"valid_from": unit["valid_from"], **({} if lang == "en" else {"lang": "en"})}),
        **_page_common(conn, state))


def _profile_state(conn, profile: dict, lang: str) -> ViewState:
    if profile["map_year"]:
        return _state(conn, {"year": str(profile["map_year"]), "lang": lang})
    return _state(conn, {"lang": lang})


def _profile_url(unit: dict, lang: str) -> str:
    params = {"valid_from": unit["valid_from"], **({"lang": "en"} if lang == "en" else {})}
    return url_for("views.profile_page", code=unit["code"]) + "?" + urlencode(params)


@bp.get("/district", defaults={"fmt": "html"})
@bp.get("/district.<any(json):fmt>")
def district_page(fmt: str):
    """The district's real figures: series by indicator, the report's figures, and conflicts between sources."""
    conn = connection()
    lang = request.args.get("lang", "vi") if request.args.get("lang") in ("vi", "en") else "vi"
    summary = district.summary(conn, lang)
    if fmt == "json":
        return _json_response(summary)
    chart, chart_legend = district.poverty_chart(summary["poverty"], lang, width=560)
    state = _fallback_state(conn)
    return render_template("district.html", district=summary, chart=chart, chart_legend=chart_legend,
                           report_file=district.REPORT_FILE, value_text=district.value_text,
                           lang_query="" if lang == "en" else "lang=en", **_page_common(conn, state))


@bp.get("/compare", defaults={"fmt": "html"})
@bp.get("/compare.<any(json):fmt>")
def compare_page(fmt: str):
    """Two years of one indicator side by side: two synchronised maps with one shared legend."""
    conn = connection()
    notice, status = None, 200
    try:
        state, year2 = _compare_state(conn)
        if fmt != "json":
            state, notice = _with_data(conn, state)  # a notice, but not a bad request
        pair = choropleth.build_pair(conn, state, year2) if fmt == "json" else None
    except (BadRequest, query.NotFound) as error:
        if fmt == "json":
            return _json_error(error)
        notice, status = str(error), 400
        state, year2 = _fallback_state(conn), current_app.config["LAST_YEAR"]
    if fmt == "json":
        if request.args.get("format") == "columns":
            pair = {**pair, **{side: choropleth.columns(conn, pair[side]) for side in ("left", "right")}}
        return _json_response(pair)
    config = page_config(conn, query.catalogue(conn), state)
    config.update(year2=year2, compareJson=url_for("views.compare_page", fmt="json"),
                  vendor=url_for("assets.vendor", package="leaflet", filename="x").rsplit("/", 1)[0])
    query_string = state.query_string() + "&" + urlencode({"year2": year2})
    swapped = with_changes(state, lang="en" if state.lang == "vi" else "vi").query_string()
    return render_template("compare.html", year2=year2, notice=notice, config_json=_json_block(config),
                           query_string=query_string, lang_query=swapped + "&" + urlencode({"year2": year2}),
                           **_page_common(conn, state)), status


def _compare_state(conn) -> tuple[ViewState, int]:
    """The left map's view and the right map's year (``year2``); ``units_year`` must fit both years."""
    args = request.args.to_dict()
    year2 = parse_optional_year("year2", args.pop("year2", None), current_app.config)
    args.pop("compare", None)
    state = _state(conn, args)
    if year2 is None:
        year2 = _default_other_year(state.year)
    if state.units_year is not None and state.units_year < year2:
        raise BadRequest(f"units_year={state.units_year} is earlier than year2={year2}: merged units cannot be split")
    return replace(state, compare=None), year2


@bp.app_template_filter("fmt")
def _format_filter(value, decimals: int = 0, lang: str = "vi") -> str:
    """Jinja filter: a number in the page's language format (``1.234,5``)."""
    return classify.format_number(value, decimals, lang)


@bp.app_template_global("source_link")
def _source_link(title, url, title_attr: str = ""):
    """A source as HTML: a link when its URL is http(s), plain text otherwise (both escaped)."""
    from markupsafe import Markup, escape

    label = escape(title or url or "")
    extra = f' title="{escape(title_attr)}"' if title_attr else ""
    if url and str(url).lower().startswith(("http://", "https://")):
        return Markup(f'<a href="{escape(url)}" rel="noopener noreferrer"{extra}>{label}</a>')
    return Markup(f"<span{extra}>{label}</span>") if extra else label


@bp.app_template_filter("threshold")
def _threshold_filter(value) -> str:
    """Jinja filter: a threshold as typed in the form and the query string (``30``, ``12.5``)."""
    return format_threshold(value)
