"""Third-party browser assets (Leaflet, Leaflet.markercluster) served by our own server, and our icon.

They are installed from the npm registry at install time (``npm ci``, see
``package.json``) into ``node_modules/``, never committed; nothing is ever
loaded from a CDN.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory

bp = Blueprint("assets", __name__)

# Only these package folders are exposed, and only their dist/ files.
PACKAGES = ("leaflet", "leaflet.markercluster")


@bp.get("/favicon.ico")
def favicon():
    """Our icon (SVG) where browsers look for one by default: no page load logs a 404 for it."""
    return send_from_directory(Path(current_app.static_folder), "favicon.svg", mimetype="image/svg+xml",
                               max_age=7 * 86400)


@bp.get("/vendor/<package>/<path:filename>")
def vendor(package: str, filename: str):
    """Serve ``node_modules/<package>/dist/<filename>`` with a long cache lifetime."""
    if package not in PACKAGES:
        abort(404)
    folder = Path(current_app.config["ASSETS_DIR"]) / package / "dist"
    return send_from_directory(folder, filename, max_age=7 * 86400)


def missing_assets(assets_dir: str) -> list[str]:
    """Asset packages that are not installed (the page says how to install them)."""
    return [p for p in PACKAGES if not (Path(assets_dir) / p / "dist").is_dir()]
