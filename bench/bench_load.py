#!/usr/bin/env python
"""Load and fault checks against the production WSGI server (waitress), local only.

Run from the repository root::

    .venv/bin/python bench/bench_load.py            # 50 clients: 60 s + 20 s closed loop, then SIGKILL check
    .venv/bin/python bench/bench_load.py --quick    # 50 clients: 10 s + 5 s
    .venv/bin/python bench/bench_load.py --clients 20 --seconds 30 --threads 8 --think 0.5
    .venv/bin/python bench/bench_load.py --processes 1,2   # saturated throughput: 1 vs 2 app processes

``--processes 1,2``: instead of the checks below, the saturated throughput (closed loop, no pause,
``--seconds``, default 30) of 1 and of 2 waitress processes on ONE PostgreSQL database (and, beside
them, of 1 process on SQLite), printed side by side. The clients are spread over the processes
(client i asks process i mod N), as nginx's round robin would. PostgreSQL is a throwaway server
started with ``bin/pg-throwaway`` (or ``--postgresql URL`` of an existing server's maintenance
database; a database ``mapapp_bench`` is created there and dropped afterwards).

What it does (numbers are printed, nothing is asserted):

1. **Load.** Starts waitress as a subprocess on 127.0.0.1 (the same server and settings as
   ``bin/serve-network``: ``--threads`` threads, default 32) with a temporary instance (its own
   database seeded from ../shared, cache, secret key). Then ``--clients`` client threads (default
   50), each with its own keep-alive connection and starting at a random moment in the first 2 s,
   send requests for ``--seconds`` (default 60; ``--quick``: 10) pausing 0.5-1.5 s between
   requests (a person clicking about once a second); then a closed-loop phase (no pause, 20 s;
   ``--quick``: 5 s) shows the capacity. ``--think S`` runs one phase with that mean pause. The
   map exports are rendered in worker processes as in production (:mod:`mapapp.offload`;
   ``--export-processes``). The mix, by weight: the map page ``/`` (15), ``/api/values``
   (40), ``/api/units`` (20), ``/api/projects`` (8), ``/ranking.csv`` (8) and ``/ranking.xlsx``
   (7) downloads, and occasionally a print export: ``/export.svg`` (1) and
   ``/export.png?...&dpi=150`` (1), each with a random indicator and year. Printed: requests/s, p50/p95/p99/max per endpoint, errors (any status
   other than 200/304 or a failed connection). Targets: 0 errors, p95 < 200 ms for the API.
2. **SIGKILL during an import.** As in ``tests/test_import_cli_web.py``: a large indicator file
   (~34 000 values) is imported with ``flask import-indicators`` in a subprocess, which is killed
   with SIGKILL as soon as it reports that it is writing. The app is then restarted (waitress on
   the same database) and the stored values, the import history and ``PRAGMA integrity_check``
   are compared with the state before the import; finally a small import is applied to show the
   store still takes imports.

The client runs in this process on the same machine as the server: both share the CPUs, so
the figures are a lower bound for a dedicated server.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import secrets
import select
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from importlib import metadata
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MAPAPP_SHARED_DIR", REPO.parent / "shared"))
PYTHON = sys.executable
API_KINDS = ("api/values", "api/units", "api/projects")
RAMP_S = 2.0  # clients start at random moments within the first RAMP_S seconds

SERVER_CODE = textwrap.dedent("""
    import json, sys
    from waitress import serve
    from mapapp.offload import build
    processes = None if sys.argv[4] == "auto" else int(sys.argv[4])
    app = build(json.loads(sys.argv[1]), processes)  # what mapapp.wsgi:app is, with this config
    serve(app, host="127.0.0.1", port=int(sys.argv[2]), threads=int(sys.argv[3]), connection_limit=500,
          channel_timeout=60, ident="mapapp")
""")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """waitress serving ``create_app(config)`` in a subprocess."""

    def __init__(self, config: dict, threads: int, log_path: Path, export_processes: str = "auto"):
        self.port = free_port()
        self.log = open(log_path, "ab")
        env = dict(os.environ, PYTHONPATH=str(REPO))
        started = time.perf_counter()
        self.proc = subprocess.Popen([PYTHON, "-c", SERVER_CODE, json.dumps(config), str(self.port), str(threads),
                                      str(export_processes)],
                                     cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 600
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server stopped (exit {self.proc.returncode}); see {log_path}")
            try:
                status, _ = get(self.port, "/api/versions")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.25)
        else:
            raise RuntimeError("the server did not answer within 600 s")
        self.start_s = time.perf_counter() - started

    def stop(self, sig=signal.SIGINT) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def get(port: int, path: str, timeout: float = 30) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


# --- load -----------------------------------------------------------------------------------

class Mix:
    """Random requests of the page's kinds, with a random indicator and year."""

    def __init__(self, indicators: dict[str, list[int]], years: list[int]):
        self.indicators = {k: v for k, v in indicators.items() if v}
        self.years = years
        self.kinds = [("page /", 15), ("api/values", 40), ("api/units", 20), ("api/projects", 8),
                      ("ranking.csv", 8), ("ranking.xlsx", 7), ("export.svg", 1), ("export.png dpi=150", 1)]

    def pick(self, rng: random.Random) -> tuple[str, str]:
        kind = rng.choices([k for k, _ in self.kinds], weights=[w for _, w in self.kinds])[0]
        indicator = rng.choice(sorted(self.indicators))
        year = rng.choice(self.indicators[indicator])
        view = urlencode({"indicator": indicator, "year": year})
        path = {
            "page /": f"/?{view}",
            "api/values": f"/api/values?{view}",
            "api/units": f"/api/units?year={rng.choice(self.years)}",
            "api/projects": f"/api/projects?year={rng.choice(self.years)}",
            "ranking.csv": f"/ranking.csv?{view}",
            "ranking.xlsx": f"/ranking.xlsx?{view}",
            "export.svg": f"/export.svg?{view}",
            "export.png dpi=150": f"/export.png?{view}&dpi=150",
        }[kind]
        return kind, path


class Client(threading.Thread):
    def __init__(self, port: int, mix: Mix, deadline: float, think: float, seed: int):
        super().__init__(daemon=True)
        self.port, self.mix, self.deadline, self.think = port, mix, deadline, think
        self.rng = random.Random(seed)
        self.results: list[tuple[str, float, int, int]] = []  # kind, seconds, status (0 = failed), bytes
        self.failures: list[str] = []

    def run(self):
        conn = None
        time.sleep(self.rng.uniform(0, RAMP_S))  # users do not all click in the same millisecond
        while time.time() < self.deadline:
            kind, path = self.mix.pick(self.rng)
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Accept-Encoding": "identity"})
                response = conn.getresponse()
                body = response.read()
                elapsed = time.perf_counter() - started
                self.results.append((kind, elapsed, response.status, len(body)))
                if response.status not in (200, 304):
                    self.failures.append(f"{response.status} {path}")
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as error:
                self.results.append((kind, time.perf_counter() - started, 0, 0))
                self.failures.append(f"{type(error).__name__}: {error} {path}")
                conn.close()
                conn = None
            if self.think:
                time.sleep(self.rng.uniform(0.5, 1.5) * self.think)
        if conn is not None:
            conn.close()


def cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [float(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process so far."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (float(fields[11]) + float(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(port: int | list[int], clients: int, seconds: float, think: float, exports: bool = True,
             pids: tuple[int, ...] = ()) -> dict:
    ports = port if isinstance(port, list) else [port]
    port = ports[0]
    status, body = get(port, "/api/indicators")
    catalogue = json.loads(body)
    indicators = {i["id"]: i["years"] for i in (catalogue["indicators"] if isinstance(catalogue, dict)
                                                 else catalogue)}
    years = sorted({y for ys in indicators.values() for y in ys})
    mix = Mix(indicators, years)
    if not exports:
        mix.kinds = [(k, w) for k, w in mix.kinds if not k.startswith("export")]
    # warm-up: every kind once (geometry, exports and the map script get built once)
    rng = random.Random(0)
    seen = set()
    while len(seen) < len(mix.kinds):
        kind, path = mix.pick(rng)
        if kind not in seen:
            for each in ports:
                get(each, path, timeout=120)
            seen.add(kind)
    load_before = os.getloadavg()[0]
    busy_before, cpu_before = cpu_busy(), [process_cpu(p) for p in pids]
    own_before = sum(os.times()[:2])
    deadline = time.time() + seconds
    threads = [Client(ports[seed % len(ports)], mix, deadline, think, seed) for seed in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    busy_after = cpu_busy()
    results = [r for t in threads for r in t.results]
    failures = [f for t in threads for f in t.failures]
    return {"results": results, "failures": failures, "wall": wall, "load_before": load_before,
            "load_after": os.getloadavg()[0],
            "machine_busy": (busy_after[0] - busy_before[0]) / max(1.0, busy_after[1] - busy_before[1]),
            "app_cpu": sum(process_cpu(p) for p in pids) - sum(cpu_before),
            "client_cpu": sum(os.times()[:2]) - own_before}


def print_load(report: dict, clients: int, think: float, label: str = "1.") -> None:
    results, wall = report["results"], report["wall"]
    by_kind: dict[str, list] = {}
    for kind, seconds, status, size in results:
        by_kind.setdefault(kind, []).append((seconds, status, size))
    errors = sum(1 for _, _, status, _ in results if status not in (200, 304))
    kind = "users pausing ~%g s between requests" % think if think else "closed loop, no pause (saturation)"
    print(f"\n{label} LOAD: {clients} clients, {kind}, {wall:.1f} s wall; machine load average before "
          f"{report['load_before']:.1f}, after {report['load_after']:.1f} (other processes share the CPUs)")
    print(f"   total {len(results)} requests, {len(results) / wall:.1f} requests/s, errors {errors}")
    print(f"   {'endpoint':<20}{'n':>7}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'errors':>8}{'kB avg':>8}")
    for kind in sorted(by_kind, key=lambda k: -len(by_kind[k])):
        rows = by_kind[kind]
        ms = [s * 1000 for s, _, _ in rows]
        errs = sum(1 for _, st, _ in rows if st not in (200, 304))
        kb = statistics.mean(sz for _, _, sz in rows) / 1024
        print(f"   {kind:<20}{len(rows):>7}{len(rows) / wall:>8.1f}{percentile(ms, 50):>9.1f}"
              f"{percentile(ms, 95):>9.1f}{percentile(ms, 99):>9.1f}{max(ms):>9.1f}{errs:>8}{kb:>8.1f}")
    api = [s * 1000 for kind, s, _, _ in results if kind in API_KINDS]
    p95 = percentile(api, 95)
    print(f"   API (values+units+projects): n={len(api)} p50 {percentile(api, 50):.1f} ms, p95 {p95:.1f} ms, "
          f"p99 {percentile(api, 99):.1f} ms")
    print(f"   targets: errors = 0 → {'met' if errors == 0 else 'NOT met'}; "
          f"API p95 < 200 ms → {'met' if p95 < 200 else 'NOT met'}")
    if not think:
        print("   (closed loop: each client sends its next request as soon as the last is answered, so the\n"
              "    latency is clients / throughput by construction — this phase shows the capacity)")
    if report["failures"]:
        print("   first failures:", *report["failures"][:10], sep="\n     ")


# --- SIGKILL during an import ---------------------------------------------------------------

def store_state(db_file: Path) -> tuple[str, int, str]:
    """(digest of every indicator value, number of imports, integrity_check) of a store."""
    import hashlib

    conn = sqlite3.connect(db_file)
    try:
        digest = hashlib.sha256()
        for row in conn.execute("SELECT * FROM indicator_values ORDER BY id"):
            digest.update(repr(row).encode())
        imports = conn.execute("SELECT count(*) FROM imports").fetchone()[0]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    return digest.hexdigest(), imports, integrity


def big_csv(config: dict) -> bytes:
    """~34 000 values: three indicators for every unit of 2019, years 1500-2019."""
    sys.path.insert(0, str(REPO))
    from mapapp import create_app
    from mapapp.geo.units import load_units, year_end
    from mapapp.store.db import get_engine

    app = create_app(dict(config, SEED_ON_START=False))
    with app.app_context():
        with get_engine().connect() as conn:
            names = [u.name for _id, u in load_units(conn) if u.valid_on(year_end(2019))]
        get_engine().dispose()
    lines = ["Xã,Năm,Chỉ tiêu,Giá trị,Tử số,Mẫu số"]
    for year in range(1500, 2020):
        for name in names:
            lines.append(f"{name},{year},households,{500 + year % 97},,")
            lines.append(f"{name},{year},poverty_rate,,{40 + year % 13},{500 + year % 97}")
            lines.append(f"{name},{year},population,{2000 + year % 89},,")
    return ("\r\n".join(lines) + "\r\n").encode()


def sigkill_during_import(config: dict, tmp: Path, threads: int, export_processes: str) -> None:
    print("\n2. SIGKILL DURING AN IMPORT, THEN RESTART")
    db_file = Path(config["DATABASE_URL"].removeprefix("sqlite:///"))
    before = store_state(db_file)
    path = tmp / "big.csv"
    path.write_bytes(big_csv(config))
    rows = path.read_bytes().count(b"\n") - 1
    cli_config = dict(config, FIRST_YEAR=1000, LAST_YEAR=2025)
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    started = time.perf_counter()
    proc = subprocess.Popen([PYTHON, "-m", "flask", "--app", f"mapapp:create_app({cli_config!r})",
                             "import-indicators", str(path), "--source", "QĐ bench/QĐ-UBND"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    killed_at = None
    seen = []
    deadline = time.time() + 600
    while time.time() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 5)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line.strip())
        if "writing:" in line:
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = time.perf_counter() - started
            break
    if proc.poll() is None and killed_at is None:
        proc.kill()
    proc.wait(timeout=60)
    when = (f"after {killed_at:.1f} s, at '{seen[-1]}'" if killed_at else "NOT (it never reported writing): "
            + " | ".join(seen[-3:]))
    print(f"   import of {rows} rows ({path.stat().st_size // 1024} kB) killed with SIGKILL {when}; "
          f"exit code {proc.returncode}")
    restarted = time.perf_counter()
    server = Server(config, threads, tmp / "server-restart.log", export_processes)
    try:
        status, body = get(server.port, "/api/values?indicator=poverty_rate&year=2021")
        print(f"   restarted waitress in {time.perf_counter() - restarted:.1f} s; /api/values → {status}")
        after = store_state(db_file)
        same = after[0] == before[0] and after[1] == before[1]
        print(f"   before: values {before[0][:16]}…, imports {before[1]}; after: values {after[0][:16]}…, "
              f"imports {after[1]}, integrity_check {after[2]}")
        print(f"   data equals the state before the import: {'YES' if same and after[2] == 'ok' else 'NO'}")
    finally:
        server.stop()
    small = tmp / "small.csv"
    small.write_text("Xã,Năm,Chỉ tiêu,Giá trị,Tử số,Mẫu số\r\nLìa,2021,households,1234,,\r\n", encoding="utf-8")
    done = subprocess.run([PYTHON, "-m", "flask", "--app", f"mapapp:create_app({config!r})", "import-indicators",
                           str(small), "--source", "QĐ bench/QĐ-UBND"], cwd=REPO, env=env, capture_output=True,
                          text=True)
    number = (re.findall(r"#\d+", done.stdout) or ["?"])[0]
    print(f"   a small import afterwards: exit {done.returncode}, import {number}; "
          f"imports now {store_state(db_file)[1]}")


# --- 1 vs 2 app processes on one PostgreSQL ------------------------------------------------

def _postgresql_server(args, stack: list) -> str:
    """The maintenance URL of a PostgreSQL server: ``--postgresql``, else a throwaway one."""
    if args.postgresql:
        return args.postgresql
    folder = tempfile.mkdtemp(prefix="mapapp-bench-pg-")
    url = subprocess.run(["bash", str(REPO / "bin" / "pg-throwaway"), "start", folder], check=True,
                         capture_output=True, text=True).stdout.strip()
    stack.append(lambda: subprocess.run(["bash", str(REPO / "bin" / "pg-throwaway"), "stop", folder], check=False))
    return url


def compare_processes(args, counts: list[int]) -> None:
    import sqlalchemy as sa

    seconds = args.seconds or 30
    stack: list = []
    rows = []
    try:
        admin_url = _postgresql_server(args, stack)
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            conn.execute(sa.text("DROP DATABASE IF EXISTS mapapp_bench WITH (FORCE)"))
            conn.execute(sa.text("CREATE DATABASE mapapp_bench"))
        stack.append(lambda: admin.connect().execute(sa.text("DROP DATABASE IF EXISTS mapapp_bench WITH (FORCE)")))
        pg_url = sa.engine.make_url(admin_url).set(database="mapapp_bench").render_as_string(hide_password=False)
        runs = [("sqlite", 1)] + [("postgresql", n) for n in counts]
        with tempfile.TemporaryDirectory(prefix="mapapp-load-") as folder:
            tmp = Path(folder)
            key = secrets.token_hex(32)  # one key for every process, as the README's setup
            for store, count in runs:
                url = f"sqlite:///{tmp}/mapapp.sqlite" if store == "sqlite" else pg_url
                servers = []
                try:
                    for number in range(count):
                        config = {"DATABASE_URL": url, "CACHE_DIR": str(tmp / "cache"), "SHARED_DIR": str(SHARED),
                                  "SECRET_KEY": key, "UPLOAD_DIR": str(tmp / "up"), "BACKUP_DIR": str(tmp / "bk")}
                        servers.append(Server(config, args.threads, tmp / f"{store}-{count}-{number}.log",
                                              args.export_processes))
                    report = run_load([s.port for s in servers], args.clients, seconds, 0.0, args.with_exports,
                                      tuple(s.proc.pid for s in servers))
                finally:
                    for server in servers:
                        server.stop()
                print_load(report, args.clients, 0.0, f"{store}, {count} process{'es' if count > 1 else ''}:")
                results = report["results"]
                errors = sum(1 for _, _, status, _ in results if status not in (200, 304))
                api = [s * 1000 for kind, s, _, _ in results if kind in API_KINDS]
                rows.append((store, count, len(results) / report["wall"], errors, percentile(api, 95),
                             report["machine_busy"], report["app_cpu"] / report["wall"],
                             report["client_cpu"] / report["wall"]))
    finally:
        for undo in reversed(stack):
            try:
                undo()
            except Exception as error:  # noqa: BLE001 - cleanup goes on
                print(f"cleanup: {error}", file=sys.stderr)
    print(f"\nSATURATED THROUGHPUT ({args.clients} clients, closed loop, {seconds:g} s each, {os.cpu_count()} CPUs "
          "shared by the clients, the app processes and the database)")
    print("   (machine busy: share of both CPUs in use by anything during the phase; app / client: CPU cores used"
          " by the app processes and by this load generator)")
    if not args.with_exports:
        print("   (print exports left out of the mix: under saturation their bounded queue answers 503 by design;"
              " --with-exports puts them back)")
    print(f"   {'store':<12}{'processes':>10}{'req/s':>10}{'errors':>8}{'API p95 ms':>12}{'vs 1 process':>14}"
          f"{'machine busy':>14}{'app cores':>11}{'client cores':>14}")
    single = {row[0]: row[2] for row in rows if row[1] == 1}
    for store, count, rate, errors, p95, busy, app_cores, client_cores in rows:
        print(f"   {store:<12}{count:>10}{rate:>10.1f}{errors:>8}{p95:>12.1f}{rate / single[store]:>13.2f}×"
              f"{busy:>13.0%}{app_cores:>11.2f}{client_cores:>14.2f}")
    two = [r for r in rows if r[0] == "postgresql" and r[1] == 2]
    if two:
        ratio = two[0][2] / single["postgresql"]
        print(f"   target: 2 processes ≥ 1.6× one on PostgreSQL, 0 errors → "
              f"{'met' if ratio >= 1.6 and all(r[3] == 0 for r in rows) else 'NOT met'} ({ratio:.2f}×)")


# --- main -----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10 s + 5 s of load instead of 60 s + 20 s")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=None, help="length of the main phase")
    parser.add_argument("--threads", type=int, default=32, help="waitress threads (as bin/serve-network)")
    parser.add_argument("--think", type=float, default=None,
                        help="run one phase with this mean pause between a client's requests (s)")
    parser.add_argument("--export-processes", default="auto",
                        help="export worker processes (mapapp.offload; default: half the CPUs, 0: in process)")
    parser.add_argument("--no-kill", action="store_true", help="skip the SIGKILL check")
    parser.add_argument("--processes", default=None,
                        help="e.g. 1,2: saturated throughput of that many app processes on one PostgreSQL")
    parser.add_argument("--postgresql", default=None,
                        help="with --processes: maintenance URL of a PostgreSQL server (default: a throwaway one)")
    parser.add_argument("--with-exports", action="store_true",
                        help="with --processes: keep the print exports in the mix")
    args = parser.parse_args()
    if args.processes:
        if not (SHARED / "geodata").is_dir():
            sys.exit(f"../shared is not present ({SHARED}); the bench needs the data")
        print(f"bench_load: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
        compare_processes(args, [int(n) for n in args.processes.split(",")])
        return
    seconds = args.seconds or (10 if args.quick else 60)
    if args.think is not None:
        phases = [(args.think, seconds)]
    else:
        phases = [(1.0, seconds), (0.0, 5 if args.quick else 20)]
    if not (SHARED / "geodata").is_dir():
        sys.exit(f"../shared is not present ({SHARED}); the bench needs the data")
    print(f"bench_load: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"waitress {metadata.version('waitress')}, flask {metadata.version('flask')}")
    with tempfile.TemporaryDirectory(prefix="mapapp-load-") as folder:
        tmp = Path(folder)
        config = {"DATABASE_URL": f"sqlite:///{tmp}/mapapp.sqlite", "CACHE_DIR": str(tmp / "cache"),
                  "SHARED_DIR": str(SHARED), "SECRET_KEY": secrets.token_hex(32), "UPLOAD_DIR": str(tmp / "up"),
                  "BACKUP_DIR": str(tmp / "backups")}
        server = Server(config, args.threads, tmp / "server.log", args.export_processes)
        print(f"waitress on 127.0.0.1:{server.port}, {args.threads} threads, export processes "
              f"{args.export_processes}, temporary instance; first start (seeding the store) {server.start_s:.1f} s")
        try:
            for number, (think, length) in enumerate(phases):
                report = run_load(server.port, args.clients, length, think)
                print_load(report, args.clients, think, f"1{'abc'[number]}." if len(phases) > 1 else "1.")
        finally:
            server.stop()
        if not args.no_kill:
            sigkill_during_import(config, tmp, args.threads, args.export_processes)


if __name__ == "__main__":
    main()
