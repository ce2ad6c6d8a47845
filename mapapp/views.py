"""HTML pages: the map (``/``) and the explanation shown when data is missing."""
from __future__ import annotations

import json
from urllib.parse import quote
from functools import lru_cache

from flask import Blueprint, abort, current_app, render_template, request, url_for

from . import classify, i18n, query
from .assets import missing_assets
from .db import connection
from .mapview import render_parts
from .viewstate import BadRequest, parse, with_changes

bp = Blueprint("views", __name__)


@bp.before_app_request
def _require_data():
    """Without input data, every page explains what is missing instead of failing."""
    missing = current_app.config.get("MISSING_INPUTS")
    if missing and request.blueprint not in ("api", "assets") and request.endpoint != "static":
        return render_template("missing.html", missing=missing,
                               shared_dir=current_app.config["SHARED_DIR"]), 503
    return None


@bp.get("/")
def index():
    """The map page; its state comes from, and is kept in, the query string."""
    conn = connection()
    catalogue = query.catalogue(conn)
    notice = None
    try:
        state = parse(request.args, current_app.config, catalogue.keys())
    except BadRequest as error:
        notice = str(error)
        state = parse({"lang": request.args.get("lang", "vi")} if request.args.get("lang") in ("vi", "en") else {},
                      current_app.config, catalogue.keys())
    lang = state.lang
    config = page_config(conn, catalogue, state)
    parts = _map_parts()
    version = config["versions"][str(state.year)]
    preload = [f"{config['api']}/units?version={quote(version['id'])}&v={version['checksum']}",
               f"{config['api']}/values?{with_changes(state, projects=True).query_string()}"]
    return render_template(
        "map.html", preload=preload, parts=parts, config_json=json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
        t=i18n.bundle(lang), lang=lang, state=state, catalogue=catalogue, methods=classify.METHODS,
        notice=notice, missing_assets=missing_assets(current_app.config["ASSETS_DIR"]),
        lang_query=with_changes(state, lang="en" if lang == "vi" else "vi").query_string(),
    )


def _map_parts() -> dict:
    """The folium map parts for this app (rendered once), registered for :func:`map_script`."""
    parts = render_parts(_area_bounds(), url_for("static", filename="").rstrip("/"),
                         url_for("assets.vendor", package="x", filename="y").rsplit("/", 2)[0],
                         _static_version())
    current_app.extensions.setdefault("mapapp_scripts", {})[parts["digest"]] = parts["script"]
    return parts


@bp.get("/map-script/<digest>.js")
def map_script(digest: str):
    """The folium map's start-up script, served as a file (no inline script on the page)."""
    script = current_app.extensions.get("mapapp_scripts", {}).get(digest)
    if script is None:
        abort(404)
    response = current_app.response_class(script, mimetype="text/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = 7 * 86400
    return response


def page_config(conn, catalogue, state) -> dict:
    """Everything the page script needs at start: state, years, versions, strings."""
    cfg = current_app.config
    years = list(range(cfg["FIRST_YEAR"], cfg["LAST_YEAR"] + 1))
    version_of_year = {y: query.version_for_year(conn, y) for y in years}
    return {
        "state": state.__dict__,
        "years": years,
        "versions": {str(y): {"id": v.id, "checksum": v.checksum[:16], "unit_count": v.unit_count}
                     for y, v in version_of_year.items()},
        "indicators": {i.id: {"name": i.name(state.lang), "unit": i.unit(state.lang)} for i in catalogue.values()},
        "strings": i18n.bundle(state.lang),
        "api": url_for("api.values").rsplit("/", 1)[0],
        "exportBase": url_for("views.index") + "export",
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
        outline = json.loads(query.units_geojson(conn, version.id))["outline"]
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


@lru_cache(maxsize=1)
def _static_version_for(folder: str) -> str:
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256()
    for path in sorted(Path(folder).glob("*")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _static_version() -> str:
    return _static_version_for(current_app.static_folder)
