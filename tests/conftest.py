"""Shared fixtures: a real app on a real SQLite file, a test client, and a real HTTP server."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from mapapp import create_app

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"

needs_shared = pytest.mark.skipif(not (SHARED_DIR / "geodata").is_dir(), reason="../shared is not present")


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
