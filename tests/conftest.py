"""Shared fixtures: a real app on a real SQLite file, a test client, and a real HTTP server."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from mapapp import create_app

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"

needs_shared = pytest.mark.skipif(not (SHARED_DIR / "geodata").is_dir(), reason="../shared is not present")

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


def make_app(instance: Path, **overrides):
    """An app whose database and caches live in ``instance`` (seeded from ../shared)."""
    config = {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{instance}/mapapp.sqlite",
        "CACHE_DIR": str(instance / "cache"),
        "SHARED_DIR": str(SHARED_DIR),
    }
    config.update(overrides)
    return create_app(config)


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
