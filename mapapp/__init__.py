"""mapapp — commune-level development outcomes of Huyện Hướng Hóa on interactive maps.

Flow: sources → import (``seed``) → store (``db``) → query (``query``) → present
(``views``, ``api``). :func:`create_app` is the application factory.
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from flask import Flask

REPO_ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the app.

    Configuration, in increasing priority: defaults, ``instance/config.py``,
    environment (``MAPAPP_DATABASE_URL``, ``MAPAPP_SHARED_DIR``), ``test_config``.
    On first start the store is created and filled from the shared data; when
    the shared data is missing the app still starts and every page explains why.
    """
    app = Flask(__name__, instance_relative_config=True, template_folder=str(REPO_ROOT / "templates"))
    app.config.from_mapping(
        SECRET_KEY="dev",
        SHARED_DIR=str(REPO_ROOT.parent / "shared"),
        GEODATA_DIR=str(REPO_ROOT / "geodata"),
        ASSETS_DIR=str(REPO_ROOT / "node_modules"),
        FIRST_YEAR=2016,
        LAST_YEAR=2025,
        DEFAULT_YEAR=2021,
        DEFAULT_INDICATOR="poverty_rate",
        SEED_ON_START=True,
        ATLAS="huong-hoa",
        # Above this many units the map draws on a canvas instead of one SVG element per unit.
        CANVAS_MIN_UNITS=1000,
        # Commune names on the web map only while at most this many units are in view (else none could be read).
        LABELS_MAX_IN_VIEW=600,
        # Compute and store every year's values when the data changed: at start (what the
        # store lacks), after an import or an undo (see mapapp.present.precompute).
        PREWARM=True,
        # The map page's modules joined into one file (mapapp.web.bundle); False: one by one, preloaded.
        BUNDLE_MODULES=True,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    for key in ("DATABASE_URL", "SHARED_DIR", "ASSETS_DIR", "ATLAS"):
        if os.environ.get(f"MAPAPP_{key}"):
            app.config[key] = os.environ[f"MAPAPP_{key}"]
    if test_config is not None:
        app.config.from_mapping({"PREWARM": False, **test_config})
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.setdefault("CACHE_DIR", os.path.join(app.instance_path, "cache"))
    from mapapp.store.db import close_connection, default_database_url

    _configure_atlas(app)
    app.config.setdefault("DATABASE_URL", default_database_url(app.instance_path, app.config["ATLAS"]))
    app.teardown_appcontext(close_connection)

    from mapapp.cli import accounts as auth_cli
    from mapapp.cli import commands as cli
    from mapapp.cli import imports as import_cli
    from mapapp.cli import reports as report_cli
    from mapapp.web import (
        api,
        assets,
        auth,
        bundle,  # noqa: F401 - adds the bundle route to versioned.bp
        exports,
        imports_web,
        reports,
        security,
        transport,
        versioned,
        views,
    )

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(assets.bp)
    app.register_blueprint(versioned.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(imports_web.bp)
    app.register_blueprint(auth.bp)
    security.init_app(app)
    transport.init_app(app)
    cli.register(app)
    import_cli.register(app)
    auth_cli.register(app)
    report_cli.register(app)
    if app.config["SEED_ON_START"]:
        _seed_on_start(app)
    if app.config["PREWARM"] and not app.config.get("MISSING_INPUTS"):
        from mapapp.present.precompute import precompute

        # Part of a data change, before serving: nothing to do when the store already has them.
        precompute(app)
        from mapapp.query.prewarm import prewarm

        # The default page and its first frame, label points and circle anchors, in the background: the
        # first visitor after a start gets the page at once (a district's takes 0.1 s to render, a country's
        # 0.4 s). A server renders that page and compiles the others before its first request (offload.build).
        app.extensions["mapapp_prewarm"] = prewarm(app)
    return app


def _configure_atlas(app: Flask) -> None:
    """Read the configured atlas; its years become the app's year range."""
    from mapapp.core.atlas import load

    atlas = load(app.config["ATLAS"], Path(app.config["GEODATA_DIR"]))
    app.extensions["mapapp_atlas"] = atlas
    if atlas is not None:
        app.config.update(FIRST_YEAR=atlas.first_year, LAST_YEAR=atlas.last_year,
                          DEFAULT_YEAR=atlas.default_year)


def _seed_on_start(app: Flask) -> None:
    """Fill the store on first start; record what is missing instead of failing."""
    from mapapp.cli.commands import inputs_for
    from mapapp.ingest.seed import seed
    from mapapp.store.db import get_engine

    atlas = app.extensions["mapapp_atlas"]
    if atlas is not None:
        _seed_atlas_on_start(app, atlas)
        return
    inputs = inputs_for(app)
    missing = inputs.missing()
    app.config["MISSING_INPUTS"] = [str(p) for p in missing]
    if missing:
        log.warning("shared data missing: %s", ", ".join(app.config["MISSING_INPUTS"]))
        return
    with app.app_context():
        seed(get_engine(), inputs, progress=_start_progress(app))


def _start_progress(app: Flask):
    """Where the first start reports its stages: stderr for a server, the log under tests."""
    if app.config.get("TESTING"):
        return None

    def say(message: str) -> None:
        print(f"mapapp: store: {message}", file=sys.stderr, flush=True)

    return say


def _seed_atlas_on_start(app: Flask, atlas) -> None:
    from mapapp.ingest.atlas_seed import seed_atlas
    from mapapp.store.db import get_engine

    path = atlas.boundary_path(Path(app.config["SHARED_DIR"]))
    app.config["MISSING_INPUTS"] = [] if path.is_file() else [str(path)]
    if not path.is_file():
        log.warning("shared data missing: %s", path)
        return
    with app.app_context():
        for note in seed_atlas(get_engine(), atlas, Path(app.config["SHARED_DIR"]), Path(app.config["GEODATA_DIR"]),
                               Path(app.config["CACHE_DIR"]), progress=_start_progress(app)):
            log.info("atlas %s: %s", atlas.id, note)
