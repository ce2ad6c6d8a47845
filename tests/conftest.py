"""Shared fixtures: a real app on a real store, a test client, and a real HTTP server.

The store is SQLite (a file in the test's folder) or, with ``MAPAPP_TEST_STORE=postgresql``,
PostgreSQL: one database per instance folder on the server of ``MAPAPP_TEST_POSTGRESQL``
(a SQLAlchemy URL of its maintenance database; ``bin/test`` starts a throwaway server and
runs the whole suite once per store). Without a reachable server that pass fails, never skips.
Tests reach into the store through :func:`store_engine` (the project's store layer), and
mark what only SQLite has (WAL, PRAGMA, its file format) with ``@pytest.mark.sqlite_only``.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from mapapp import create_app

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
TEST_STORE = os.environ.get("MAPAPP_TEST_STORE", "sqlite").strip().lower() or "sqlite"
POSTGRESQL_SERVER = os.environ.get("MAPAPP_TEST_POSTGRESQL", "")
ON_POSTGRESQL = TEST_STORE == "postgresql"

needs_shared = pytest.mark.skipif(not (SHARED_DIR / "geodata").is_dir(), reason="../shared is not present")
sqlite_only = pytest.mark.sqlite_only
postgresql_only = pytest.mark.postgresql_only


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: SQLite behaviour (WAL, PRAGMA, file format): SQLite pass only")
    config.addinivalue_line("markers", "postgresql_only: PostgreSQL behaviour: PostgreSQL pass only")
    if TEST_STORE not in ("sqlite", "postgresql"):
        raise pytest.UsageError(f"MAPAPP_TEST_STORE={TEST_STORE!r}: use sqlite or postgresql")
    if ON_POSTGRESQL:
        if not POSTGRESQL_SERVER:
            raise pytest.UsageError("MAPAPP_TEST_STORE=postgresql needs MAPAPP_TEST_POSTGRESQL (the server's URL); "
                                    "bin/test starts one")
        try:
            with _admin().connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.OperationalError as error:
            raise pytest.UsageError(f"no PostgreSQL server at {POSTGRESQL_SERVER}: {error}") from None


def pytest_report_header(config):
    return f"mapapp store: {TEST_STORE}" + (f" ({POSTGRESQL_SERVER})" if ON_POSTGRESQL else "")


def pytest_collection_modifyitems(config, items):
    """Tests of the other store's behaviour are deselected, not skipped: the other pass runs them
    (a skip fails CI, see REQUIRE_ALL)."""
    other = "postgresql_only" if not ON_POSTGRESQL else "sqlite_only"
    deselected = [item for item in items if other in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if other not in item.keywords]


_admin_engine = None
_databases: list[str] = []  # created in this session, in order
_created_apps: list = []


def _admin() -> sa.Engine:
    global _admin_engine
    if _admin_engine is None:
        _admin_engine = sa.create_engine(POSTGRESQL_SERVER, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    return _admin_engine


def postgresql_url(database: str) -> str:
    """The URL of a database on the test server."""
    return sa.engine.make_url(POSTGRESQL_SERVER).set(database=database).render_as_string(hide_password=False)


def new_postgresql_database(name: str) -> str:
    """Create (or re-create, empty) a database on the test server; return its URL."""
    with _admin().connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    _databases.append(name)
    return postgresql_url(name)


def drop_postgresql_database(name: str) -> None:
    with _admin().connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if name in _databases:
        _databases.remove(name)


def store_url(instance: Path, name: str = "mapapp") -> str:
    """The store of an instance folder: its SQLite file, or its own PostgreSQL database.

    The same folder always gives the same store (a test may "restart" an app on it).
    """
    if not ON_POSTGRESQL:
        return f"sqlite:///{instance}/{name}.sqlite"
    database = "t_" + hashlib.sha1(f"{Path(instance).resolve()}/{name}".encode()).hexdigest()[:20]
    if database not in _databases:
        return new_postgresql_database(database)
    return postgresql_url(database)


def store_engine(app) -> sa.Engine:
    """The engine of ``app``'s store (the app's own, from :mod:`mapapp.store.db`)."""
    from mapapp.store.db import get_engine

    with app.app_context():
        return get_engine()

#: In CI (``CI`` or ``MAPAPP_REQUIRE_ALL`` set) a skip is a failure: a missing Chromium, waitress,
#: PostgreSQL or ../shared must break the build, not silently shrink the suite.
REQUIRE_ALL = bool(os.environ.get("CI") or os.environ.get("MAPAPP_REQUIRE_ALL"))


def _fail_skip(report) -> None:
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but CI runs every test (CI / MAPAPP_REQUIRE_ALL is set): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_skip(outcome.get_result())


def make_server_app(instance: Path, **overrides):
    """:func:`make_app` as a production server builds it (:func:`mapapp.offload.build`, exports in its process)."""
    from mapapp.offload import build

    return make_app(instance, factory=lambda config: build(config, export_processes=0), **overrides)


def make_app(instance: Path, factory=None, **overrides):
    """An app whose store and caches live in ``instance`` (seeded from ../shared); ``factory``: else ``create_app``."""
    config = {
        "TESTING": True,
        "CACHE_DIR": str(instance / "cache"),
        "SHARED_DIR": str(SHARED_DIR),
    }
    config.update(overrides)
    if "DATABASE_URL" not in config:
        config["DATABASE_URL"] = store_url(instance)
    app = (factory or create_app)(config)
    _created_apps.append(app)
    return app


@pytest.fixture(autouse=True)
def _close_stores():
    """After each test: close the connections of the apps it made, drop its PostgreSQL databases."""
    apps, databases = len(_created_apps), len(_databases)
    yield
    for app in _created_apps[apps:]:
        engine = app.extensions.get("mapapp_engine")
        if engine is not None:
            engine.dispose()
    del _created_apps[apps:]
    if ON_POSTGRESQL:
        for name in list(_databases[databases:]):
            drop_postgresql_database(name)


@pytest.fixture(scope="session", autouse=True)
def _drop_session_databases():
    yield
    if ON_POSTGRESQL:
        for app in _created_apps:
            engine = app.extensions.get("mapapp_engine")
            if engine is not None:
                engine.dispose()
        for name in list(_databases):
            drop_postgresql_database(name)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """One seeded app for the read-only tests of the session."""
    return make_app(tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="session")
def atlas_app(tmp_path_factory):
    """The Quảng Trị atlas (141 communes of the national file), seeded once for the read-only tests."""
    return make_app(tmp_path_factory.mktemp("atlas"), ATLAS="quang-tri")


@pytest.fixture()
def atlas_client(atlas_app):
    return atlas_app.test_client()


@pytest.fixture()
def fresh_app(tmp_path):
    """An app with its own database, for tests that change data."""
    return make_app(tmp_path)


@pytest.fixture()
def client(app):
    return app.test_client()


class LiveServer:
    """A real HTTP server (werkzeug) serving an app on 127.0.0.1 in a background thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def live_server(app):
    """The session app served over real HTTP."""
    with LiveServer(app) as server:
        yield server


@pytest.fixture()
def live_server_for():
    """Serve any app over real HTTP for the duration of a test: ``with live_server_for(app) as s``."""
    return LiveServer


@pytest.fixture()
def copy_of_shared(tmp_path):
    """A writable copy of ../shared in a temp folder (tests that plant bad or hostile input)."""
    target = tmp_path / "shared"
    shutil.copytree(SHARED_DIR, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


# --- accounts (mapapp.auth): log in the way a browser does, CSRF token taken from the form -------
import re as _re  # noqa: E402

CSRF_RE = _re.compile(r'name="csrf_token" value="([^"]+)"')
TEST_PASSWORD = "mật khẩu thử 123"


def csrf_of(html: str) -> str:
    """The CSRF token in a page's form."""
    found = CSRF_RE.search(html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


def add_user(app, username: str, role: str, password: str = TEST_PASSWORD) -> None:
    """Create an account in ``app``'s store (as ``flask create-user`` does)."""
    from mapapp.store import users
    from mapapp.store.db import get_engine

    with app.app_context():
        users.create_user(users.ensure_schema(get_engine()), username, password, role, update=True)


def login(client, username: str, password: str = TEST_PASSWORD):
    """Log ``client`` in through the login form; set ``client.csrf`` to the session's token."""
    token = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    client.csrf = csrf_of(client.get("/login").get_data(as_text=True))
    return client


def client_as(app, role: str, username: str | None = None):
    """A test client of ``app`` logged in with a new account of ``role``."""
    username = username or f"{role}1"
    add_user(app, username, role)
    return login(app.test_client(), username)


@pytest.fixture()
def editor_client(fresh_app):
    """A client of ``fresh_app`` logged in as the editor ``editor1`` (``client.csrf``: its CSRF token)."""
    return client_as(fresh_app, "editor")


@pytest.fixture(scope="session")
def archipelago_app(tmp_path_factory):
    """The Quảng Trị atlas drawn as the national map is: with the Hoàng Sa and Trường Sa archipelagos
    (seeding the whole country takes minutes; the archipelagos do not depend on the area)."""
    import json

    base = tmp_path_factory.mktemp("archipelagos")
    geodata = base / "geodata"
    shutil.copytree(REPO_ROOT / "geodata", geodata)
    atlas_file = geodata / "atlases" / "quang-tri.json"
    atlas = json.loads(atlas_file.read_text(encoding="utf-8"))
    atlas_file.write_text(json.dumps({**atlas, "archipelagos": True}, ensure_ascii=False), encoding="utf-8")
    return make_app(base / "instance", ATLAS="quang-tri", GEODATA_DIR=str(geodata))
