"""mapapp — commune-level development outcomes of Huyện Hướng Hóa on interactive maps.

Flow: sources → import (``seed``) → store (``db``) → query (``query``) → present
(``views``, ``api``). :func:`create_app` is the application factory.
"""
from __future__ import annotations

import logging
import os
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
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    for key in ("DATABASE_URL", "SHARED_DIR", "ASSETS_DIR"):
        if os.environ.get(f"MAPAPP_{key}"):
            app.config[key] = os.environ[f"MAPAPP_{key}"]
    if test_config is not None:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.setdefault("CACHE_DIR", os.path.join(app.instance_path, "cache"))
    from .db import close_connection, default_database_url

    app.config.setdefault("DATABASE_URL", default_database_url(app.instance_path))
    app.teardown_appcontext(close_connection)

    from . import api, assets, auth, auth_cli, cli, exports, import_cli, imports_web, security, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(assets.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(imports_web.bp)
    app.register_blueprint(auth.bp)
    security.init_app(app)
    cli.register(app)
    import_cli.register(app)
    auth_cli.register(app)
    if app.config["SEED_ON_START"]:
        _seed_on_start(app)
    return app


def _seed_on_start(app: Flask) -> None:
    """Fill the store on first start; record what is missing instead of failing."""
    from .cli import inputs_for
    from .db import get_engine
    from .seed import seed

    inputs = inputs_for(app)
    missing = inputs.missing()
    app.config["MISSING_INPUTS"] = [str(p) for p in missing]
    if missing:
        log.warning("shared data missing: %s", ", ".join(app.config["MISSING_INPUTS"]))
        return
    with app.app_context():
        seed(get_engine(), inputs)
