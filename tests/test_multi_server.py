"""Several processes on one store: app servers starting together, imports and logins across servers,
concurrent init-db, upserts beside other writers, a database restart, the shared secret key.

The two-server test runs two real waitress processes on one PostgreSQL database (the
README's multi-server setup without nginx: each server is asked directly).
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from conftest import (
    REPO_ROOT,
    SHARED_DIR,
    TEST_PASSWORD,
    add_user,
    csrf_of,
    make_app,
    needs_shared,
    postgresql_only,
    store_engine,
    store_url,
)
from import_builders import SOURCE, poverty_annex_xlsx, poverty_rows, units_of

from mapapp.store import db

pytestmark = needs_shared
WAITRESS = REPO_ROOT / ".venv" / "bin" / "waitress-serve"
KEY = "a-shared-key-for-every-server-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """``waitress-serve`` of ``mapapp.offload.build(config)`` in a process of its own."""

    def __init__(self, folder: Path, config: dict, name: str):
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (folder / f"{name}_wsgi.py").write_text(
            "from mapapp.offload import build\n"
            f"def make():\n    return build({config!r}, export_processes=0)\n", encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=f"{folder}{os.pathsep}{REPO_ROOT}")
        for key in ("MAPAPP_DATABASE_URL", "MAPAPP_SECRET_KEY", "MAPAPP_ATLAS"):
            env.pop(key, None)
        self.log_path = folder / f"{name}.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(WAITRESS), "--host", "127.0.0.1", "--port", str(self.port), "--threads", "4",
                                      "--call", f"{name}_wsgi:make"], env=env, cwd=REPO_ROOT, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def wait(self, timeout: float = 300) -> None:
        deadline = time.time() + timeout
        while True:
            try:
                if requests.get(self.url + "/api/versions", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            assert self.proc.poll() is None and time.time() < deadline, self.log_path.read_text()[-3000:]
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def server_config(tmp_path: Path, url: str, name: str) -> dict:
    return {"DATABASE_URL": url, "SECRET_KEY": KEY, "SHARED_DIR": str(SHARED_DIR), "PREWARM": False,
            "CACHE_DIR": str(tmp_path / name / "cache"), "UPLOAD_DIR": str(tmp_path / name / "uploads")}


def login(session: requests.Session, base: str, username: str) -> None:
    token = csrf_of(session.get(base + "/login", timeout=30).text)
    done = session.post(base + "/login", data={"username": username, "password": TEST_PASSWORD,
                                               "csrf_token": token}, allow_redirects=False, timeout=30)
    assert done.status_code == 302, done.text[:500]


def poverty_2021(base: str) -> dict:
    body = requests.get(base + "/api/values?indicator=poverty_rate&year=2021", timeout=60).json()
    return {(r["code"], r["valid_from"]): r["value"] for r in body["records"]}


@postgresql_only
@pytest.mark.skipif(not WAITRESS.exists(), reason="waitress is not installed (bin/install)")
def test_two_servers_on_one_postgresql_share_imports_and_logins(tmp_path):
    url = store_url(tmp_path)  # an empty database: both servers start on it together
    first = AppServer(tmp_path / "a", server_config(tmp_path, url, "a"), "a")
    second = AppServer(tmp_path / "b", server_config(tmp_path, url, "b"), "b")
    try:
        first.wait()
        second.wait()
        with store_engine(make_app(tmp_path, DATABASE_URL=url, SEED_ON_START=False)).connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM boundary_versions")).scalar() == 3  # seeded once
        editor = make_app(tmp_path, DATABASE_URL=url, SEED_ON_START=False)
        add_user(editor, "bientap", "editor")
        before = poverty_2021(second.url)
        # an import through the first server ...
        session = requests.Session()
        login(session, first.url, "bientap")
        csrf = csrf_of(session.get(first.url + "/import", timeout=30).text)
        data = poverty_annex_xlsx(poverty_rows(units_of(editor, 2021), seed=7), year=2021)
        preview = session.post(first.url + "/import/indicators", data={"source": SOURCE, "csrf_token": csrf},
                               files={"file": ("phu-luc.xlsx", data)}, timeout=120)
        assert preview.status_code == 200 and "Xác nhận nhập" in preview.text, preview.text[:2000]
        token = re.search(r'name="token" value="([0-9a-f]{32})"', preview.text).group(1)
        done = session.post(first.url + "/import/indicators/confirm",
                            data={"token": token, "source": SOURCE, "csrf_token": csrf}, allow_redirects=False,
                            timeout=120)
        assert done.status_code == 302, done.text[:2000]
        # ... is in the second server's next answer
        after = poverty_2021(second.url)
        assert after != before and after == poverty_2021(first.url)
        # the login made on the first server is known on the second (one signing key, one account store)
        page = session.get(second.url + "/import", allow_redirects=False, timeout=30)
        assert page.status_code == 200 and "bientap" in page.text and "phu-luc.xlsx" in page.text
        assert requests.get(second.url + "/import", allow_redirects=False, timeout=30).status_code == 302
    finally:
        first.stop()
        second.stop()


@postgresql_only
def test_a_server_on_postgresql_without_a_shared_key_refuses_to_start(tmp_path):
    env = dict(os.environ, MAPAPP_DATABASE_URL=store_url(tmp_path), MAPAPP_SHARED_DIR=str(SHARED_DIR),
               PYTHONPATH=str(REPO_ROOT))
    env.pop("MAPAPP_SECRET_KEY", None)
    code = ("from mapapp import create_app\n"
            f"create_app({{'DATABASE_URL': {store_url(tmp_path)!r}, 'SEED_ON_START': False, "
            f"'SECRET_KEY_FILE': {str(tmp_path / 'no-key')!r}}})\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode != 0
    assert "SharedKeyMissing" in out.stderr and "MAPAPP_SECRET_KEY" in out.stderr and "same key" in out.stderr
    assert not (tmp_path / "no-key").exists()


def test_init_db_started_three_times_at_once_seeds_once(tmp_path):
    url = store_url(tmp_path)
    config = {"DATABASE_URL": url, "SHARED_DIR": str(SHARED_DIR), "CACHE_DIR": str(tmp_path / "cache"),
              "SECRET_KEY": KEY, "SEED_ON_START": False, "PREWARM": False}
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    procs = [subprocess.Popen([sys.executable, "-m", "flask", "--app", f"mapapp:create_app({config!r})", "init-db"],
                              env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err[-3000:]
        assert "database ready" in out and "init-db:" in err  # stages are shown
    assert sum("wrote" in err for _, err in outputs) == 1  # one wrote, the others found it done
    app = make_app(tmp_path, DATABASE_URL=url, SEED_ON_START=False)
    with store_engine(app).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM boundary_versions")).scalar() == 3
        assert db.integrity_check(conn) == "ok"


def test_meta_upserts_beside_other_writers(fresh_app):
    """Many writers bumping the generation at once: no unique violation, one row."""
    engine = store_engine(fresh_app)
    errors = []

    def bump():
        try:
            for _ in range(20):
                with engine.begin() as conn:
                    db.bump_generation(conn)
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM meta WHERE key = 'data_generation'")).scalar() == 1


@postgresql_only
def test_the_first_request_after_a_database_restart_is_answered(fresh_app):
    client = fresh_app.test_client()
    assert client.get("/api/values?indicator=poverty_rate&year=2021").status_code == 200
    database = sa.engine.make_url(fresh_app.config["DATABASE_URL"]).database
    with sa.create_engine(fresh_app.config["DATABASE_URL"], isolation_level="AUTOCOMMIT",
                          poolclass=sa.pool.NullPool).connect() as admin:
        killed = admin.execute(sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                       "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": database}).scalar()
    assert killed >= 1  # the app's pooled connections are gone, as after a restart
    assert client.get("/api/values?indicator=poverty_rate&year=2020").status_code == 200
    assert client.get("/").status_code == 200


def test_init_db_of_an_atlas_writes_the_atlas_alone(tmp_path, atlas_app):
    app = make_app(tmp_path, ATLAS="quang-tri", SEED_ON_START=False, CACHE_DIR=atlas_app.config["CACHE_DIR"])
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    versions = app.test_client().get("/api/versions").get_json()
    ids = [v["id"] for v in (versions["versions"] if isinstance(versions, dict) else versions)]
    assert ids == ["qt2008"], ids
    with store_engine(app).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM boundary_versions")).scalar() == 1
