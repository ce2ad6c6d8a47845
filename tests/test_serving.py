"""Production serving: waitress with mapapp.wsgi:app (as bin/serve-network), exports in worker processes."""
from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import REPO_ROOT, SHARED_DIR, TEST_PASSWORD, add_user, csrf_of, needs_shared, store_url
from werkzeug.test import Client

from mapapp import offload

pytestmark = needs_shared
WAITRESS = Path(sys.executable).parent / "waitress-serve"  # beside the Python that runs the tests
FLASK = [sys.executable, "-m", "flask", "--app", "mapapp"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.fixture()
def network_env(tmp_path):
    env = dict(os.environ, MAPAPP_DATABASE_URL=store_url(tmp_path), MAPAPP_SHARED_DIR=str(SHARED_DIR),
               MAPAPP_SECRET_KEY="a-test-key-for-the-served-app-0123456789", MAPAPP_EXPORT_PROCESSES="1",
               PYTHONPATH=str(REPO_ROOT))
    env.pop("MAPAPP_SECURE_COOKIES", None)
    return env


def _stub(path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/usr/bin/env bash\n" + body + "\n")
    path.chmod(0o755)


@pytest.mark.parametrize("env, expected", [
    ({}, ["--host", "0.0.0.0", "--port", "8000", "--threads", "32"]),
    ({"HOST": "127.0.0.1", "PORT": "8123", "THREADS": "4"}, ["--host", "127.0.0.1", "--port", "8123", "--threads", "4"]),
])
def test_serve_network_installs_then_runs_waitress_with_the_app(tmp_path, env, expected):
    """The script run for real, with install, flask and waitress-serve replaced by recorders."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "serve-network").write_text((REPO_ROOT / "bin" / "serve-network").read_text())
    log = tmp_path / "calls.log"
    _stub(tmp_path / "bin" / "install", f'echo install >> "{log}"')
    _stub(tmp_path / ".venv" / "bin" / "flask", f'echo "flask $*" >> "{log}"')
    _stub(tmp_path / ".venv" / "bin" / "waitress-serve", f'echo "waitress $*" >> "{log}"; printf "%s\\n" "$@" > "{tmp_path}/args"')
    clean = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT", "THREADS")}
    done = subprocess.run(["bash", str(tmp_path / "bin" / "serve-network"), "--url-scheme", "https"],
                          env=clean | env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "install" and calls[1].startswith("flask --app mapapp users") and calls[2].startswith("waitress")
    args = (tmp_path / "args").read_text().splitlines()
    assert args[:6] == expected and args[-1] == "mapapp.wsgi:app" and "--url-scheme" in args
    assert "--ident" in args and args[args.index("--ident") + 1] == "mapapp"
    assert "no editor account yet" in done.stderr  # the stub knows no accounts


def test_waitress_serves_the_app_with_threads_and_export_workers(network_env, tmp_path):
    assert WAITRESS.exists(), f"waitress is not installed beside {sys.executable} (bin/install): this test must run"
    created = subprocess.run(FLASK + ["create-user", "bientap", "--role", "editor", "--password-stdin"],
                             input=TEST_PASSWORD + "\n", env=network_env, cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=300)
    assert created.returncode == 0, created.stderr
    port = free_port()
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen([str(WAITRESS), "--host", "127.0.0.1", "--port", str(port), "--threads", "6",
                             "--ident", "mapapp", "mapapp.wsgi:app"], env=network_env, cwd=REPO_ROOT,
                            stdout=log, stderr=subprocess.STDOUT, preexec_fn=interruptible)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 300
        while True:
            try:
                with urllib.request.urlopen(base + "/api/versions", timeout=5) as response:
                    assert response.status == 200
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.3)
        with urllib.request.urlopen(base + "/", timeout=30) as response:
            assert response.status == 200 and response.headers["Server"] == "mapapp"
            assert "default-src 'self'" in response.headers["Content-Security-Policy"]

        def fetch(i):
            url = f"{base}/api/values?indicator=poverty_rate&year={2016 + i % 10}"
            with urllib.request.urlopen(url, timeout=60) as response:
                return response.status

        with ThreadPoolExecutor(24) as pool:
            assert set(pool.map(fetch, range(96))) == {200}
        with urllib.request.urlopen(base + "/export.png?indicator=poverty_rate&year=2021&dpi=150",
                                    timeout=120) as response:
            assert response.status == 200 and response.headers["Content-Type"] == "image/png"
            assert response.read(8) == b"\x89PNG\r\n\x1a\n"
            assert response.headers["X-Frame-Options"] == "DENY"  # answered by the same app, in a worker
        assert children_of(proc.pid), "no export worker process"
        # an editor logs in over HTTP and reaches the import page; anonymous cannot
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(base + "/login", timeout=30).read().decode()
        form = urllib.parse.urlencode({"username": "bientap", "password": TEST_PASSWORD,
                                       "csrf_token": csrf_of(page), "next": "/import"}).encode()
        with opener.open(base + "/login", data=form, timeout=30) as response:
            assert response.url.endswith("/import") and "bientap" in response.read().decode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(base + "/import/1/undo", data=b"x=1"), timeout=30)
        assert refused.value.code == 403
    finally:
        workers = children_of(proc.pid)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
    time.sleep(1)
    alive = [pid for pid in workers if _alive(pid)]
    assert alive == [], "export workers outlived the server"


def test_export_offload_answers_like_the_app_and_keeps_sessions(tmp_path):
    config = {"TESTING": True, "DATABASE_URL": store_url(tmp_path),
              "CACHE_DIR": str(tmp_path / "cache"), "SHARED_DIR": str(SHARED_DIR), "ANONYMOUS_VIEWING": False}
    wrapped = offload.build(config, export_processes=1)
    try:
        assert isinstance(wrapped, offload.ExportOffload)
        flask_app = wrapped.app
        add_user(flask_app, "xem", "viewer")
        client = Client(wrapped)
        svg = "/export.svg?indicator=poverty_rate&year=2021"
        anonymous = client.get(svg)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
        token = csrf_of(client.get("/login").get_data(as_text=True))
        assert client.post("/login", data={"username": "xem", "password": TEST_PASSWORD,
                                           "csrf_token": token}).status_code == 302
        served = client.get(svg)  # a worker process checks the session cookie the server signed
        assert served.status_code == 200 and served.data.lstrip().startswith((b"<?xml", b"<svg"))
        direct = flask_app.test_client()
        login_direct = csrf_of(direct.get("/login").get_data(as_text=True))
        direct.post("/login", data={"username": "xem", "password": TEST_PASSWORD, "csrf_token": login_direct})
        expected = direct.get(svg)
        assert re.sub(rb"\d{2}[/.-]\d{2}[/.-]\d{4}", b"", served.data)[:200] == \
            re.sub(rb"\d{2}[/.-]\d{2}[/.-]\d{4}", b"", expected.data)[:200]
        for name in ("Content-Security-Policy", "Content-Type", "Content-Disposition", "Cache-Control"):
            assert served.headers[name] == expected.headers[name], name
        assert client.head(svg).data == b""
        # every slot taken: one more export is told to come back, with the security headers
        for _ in range(wrapped.max_pending):
            wrapped._slots.acquire()
        try:
            busy = client.get(svg)
            # the Word report and the fact sheets go to the same workers
            for document in ("/report.docx?indicator=poverty_rate&year=2021", "/sheets.pdf?year=2021",
                             "/communes/19492/sheet.pdf"):
                assert client.get(document).status_code == 503, document
        finally:
            for _ in range(wrapped.max_pending):
                wrapped._slots.release()
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
        assert "thử lại" in busy.get_data(as_text=True) and "default-src 'self'" in busy.headers["Content-Security-Policy"]
        assert client.get("/api/versions").status_code == 200  # the rest is served as usual
        assert client.get(svg).status_code == 200
        sheet = client.get("/communes/19492/sheet.pdf")
        assert sheet.status_code == 200 and sheet.data.startswith(b"%PDF")
    finally:
        wrapped.close()
    assert offload.build(dict(config, SEED_ON_START=False), export_processes=0).__class__.__name__ == "Flask"


def interruptible() -> None:
    """In the server's child process: Ctrl-C stops it, as in a terminal.

    A suite started in the background (``bin/test &``) runs with SIGINT ignored, and a child
    inherits that: the tests' SIGINT would then never reach the server.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


SERVER_SCRIPT = """
import sys, time
from mapapp import offload
app = offload.build({"DATABASE_URL": sys.argv[1], "SHARED_DIR": sys.argv[2], "CACHE_DIR": sys.argv[3]},
                    export_processes=2)
for future in [app.pool.submit(offload._ping) for _ in range(4)]:
    assert future.result(timeout=300)
print("ready", flush=True)
time.sleep(600)
"""


def _cmdline(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return "?"


def _threads(pid: int) -> int:
    try:
        status = open(f"/proc/{pid}/status").read()
    except OSError:
        return 0
    return int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["term", "int", "kill-9"])
def test_export_workers_exit_with_their_server_however_it_stops(tmp_path, how):
    """Workers (≈170 MB each) never outlive the server: SIGTERM, SIGINT or kill -9, within 5 s."""
    url = f"sqlite:///{tmp_path}/mapapp.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, url, str(SHARED_DIR), str(tmp_path / "cache")],
                            cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=interruptible)
    try:
        seen = []  # the seed reports its stages first; a dead server ends the output
        while (line := proc.stdout.readline()) and line.strip() != "ready":
            seen.append(line)
        assert line.strip() == "ready", "".join(seen)
        deadline = time.monotonic() + 300
        while len([pid for pid in children_of(proc.pid) if _threads(pid) >= 2]) < 2:  # both watchers started
            assert time.monotonic() < deadline, children_of(proc.pid)
            time.sleep(0.2)
        workers = children_of(proc.pid)  # 2 workers (+ multiprocessing's resource tracker)
        proc.send_signal(how)
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in workers if _alive(pid)]
        assert left == [], f"workers {left} outlived their server ({how.name}): {[_cmdline(p) for p in left]}"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        for pid in children_of(proc.pid):
            os.kill(pid, signal.SIGKILL)
