#!/usr/bin/env python
"""Benchmark the web map against a naive folium.Choropleth page (warm server, local only).

Run from the repository root::

    .venv/bin/python bench/bench_map.py            # full run (N=200 requests per endpoint)
    .venv/bin/python bench/bench_map.py --quick    # smoke run (N=30, fewer page loads)
    .venv/bin/python bench/bench_map.py --profile  # also print a cProfile of /api/values

What it measures (numbers are printed, nothing is asserted):

1. Server time of ``/``, ``/api/units?year=2021``, ``/api/values?...``, ``/api/projects?year=2021``:
   p50/p95 over N requests through a real HTTP server (werkzeug, threaded, 127.0.0.1, one
   keep-alive connection), and in process through ``app.test_client()``.
2. Bytes of a first visit in headless Chromium: every response body the server sent, raw and
   gzip-compressed (level 6; the Flask dev server does not compress, so the gzip size is
   computed here, for text types only), plus the gzip size of one year's boundary payload and
   of ``/api/values``.
3. Navigation to painted choropleth (median of fresh page loads, cold browser cache).
4. Repaint after a year change (same boundary version and across versions).
5. The same for a NAIVE page: a ``folium.Choropleth`` built per request with the GeoJSON inline;
   its "year change" is a full page load with another year.

Everything runs on a temporary copy of the store (seeded from ../shared); the browser can only
reach 127.0.0.1 (page.route blocking for the first-visit pass, a host-resolver rule elsewhere).
"""
from __future__ import annotations

import argparse
import cProfile
import datetime
import gzip
import http.client
import io
import json
import logging
import math
import os
import platform
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import folium  # noqa: E402
from flask import Flask, Response, request, send_from_directory  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from mapapp import create_app
from mapapp.present.choropleth import build_view
from mapapp.present.viewstate import parse
from mapapp.query import read as query
from mapapp.store.catalogue import load_catalogue
from mapapp.store.db import connection

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# Without page.route (which turns off Chromium's HTTP cache) the browser is kept local by
# failing every host lookup except 127.0.0.1 (the only host the pages use).
LOCAL_ONLY_ARG = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"

INDICATOR = "poverty_rate"
YEAR = 2021
SAME_VERSION_PAIR = (2021, 2022)
CROSS_VERSION_PAIR = (2020, 2019)

TARGETS = {
    "first_visit": "< 400 KB gz",
    "boundary": "< 40 KB gz",
    "year_change": "< 100 ms",
    "values_p50": "p50 < 5 ms",
}

# The page scripts stamp performance.now() the moment the choropleth is painted, so the
# polling interval of wait_for_function does not blur the figure.
OURS_INIT = """
(() => {
  const b = window.__bench = { painted: null, t0: null };
  new MutationObserver(() => {
    const body = document.body;
    if (body && body.hasAttribute('data-painted')) b.painted = [body.getAttribute('data-painted'), performance.now()];
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-painted'] });
})();
"""
NAIVE_INIT = """
(() => {
  const b = window.__bench = { paths: null };
  new MutationObserver(() => {
    const n = document.querySelectorAll('path.leaflet-interactive').length;
    if (!b.paths || b.paths[0] !== n) b.paths = [n, performance.now()];
  }).observe(document, { subtree: true, childList: true });
})();
"""
OURS_PAINTED = """(want) => { const b = window.__bench; return b && b.painted && b.painted[0] === want
    && (b.t0 === null || b.painted[1] >= b.t0) ? b.painted[1] : false; }"""
NAIVE_PAINTED = """(units) => { const b = window.__bench; return b && b.paths && b.paths[0] === units
    ? b.paths[1] : false; }"""
CHANGE_YEAR = """(year) => { const b = window.__bench; b.t0 = performance.now();
    const input = document.getElementById('year'); input.value = String(year);
    input.dispatchEvent(new Event('input', { bubbles: true })); return b.t0; }"""

# Where the time of a paint went: HTML received, DOMContentLoaded, last API response (after t0).
LOAD_PHASES = """() => { const nav = performance.getEntriesByType('navigation')[0];
    const api = performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'));
    return { html: nav.responseEnd, dcl: nav.domContentLoadedEventEnd,
             api: api.length ? Math.max(...api.map(e => e.responseEnd)) : null }; }"""
CHANGE_NETWORK = """([t0, painted]) => { const rs = performance.getEntriesByType('resource')
    .filter(e => e.startTime >= t0 && e.responseEnd <= painted);
    return rs.length ? Math.max(...rs.map(e => e.responseEnd)) - t0 : 0; }"""

TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "image/svg+xml")


# ----------------------------------------------------------------------------------------
# Servers
# ----------------------------------------------------------------------------------------

class LiveServer:
    """A werkzeug server on 127.0.0.1:<free port>, threaded, in a background thread."""

    def __init__(self, wsgi_app):
        self.server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=5)
        self.server.server_close()


class Recorder:
    """WSGI middleware keeping (path, status, content type, body) of every response sent."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.log: list[tuple[str, int, str, bytes]] = []

    def __call__(self, environ, start_response):
        seen = {}

        def recording_start_response(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info)

        result = self.app(environ, recording_start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        path = environ.get("PATH_INFO", "") + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
        ctype = dict((k.lower(), v) for k, v in seen.get("headers", [])).get("content-type", "")
        with self.lock:
            self.log.append((path, int(seen.get("status", "0")[:3]), ctype, body))
        return [body]

    def take(self) -> list[tuple[str, int, str, bytes]]:
        with self.lock:
            out, self.log = self.log, []
        return out


def gz_size(body: bytes, ctype: str) -> int:
    """Size on the wire with gzip for compressible (text) types, raw otherwise."""
    if body and ctype.startswith(TEXT_TYPES):
        return len(gzip.compress(body, compresslevel=6, mtime=0))
    return len(body)


def byte_totals(log) -> dict:
    return {"raw": sum(len(b) for *_, b in log), "gz": sum(gz_size(b, c) for _, _, c, b in log),
            "count": len(log), "items": [(p, s, len(b), gz_size(b, c)) for p, s, c, b in log]}


# ----------------------------------------------------------------------------------------
# The naive approach: a folium.Choropleth page rendered per request, GeoJSON inline
# ----------------------------------------------------------------------------------------

def _coords(nested):
    if isinstance(nested[0], (int, float)):
        yield nested
        return
    for item in nested:
        yield from _coords(item)


def naive_page(units: dict, view: dict) -> str:
    """Render a complete folium page: Leaflet map + Choropleth of one indicator and year."""
    features = []
    for feature in units["features"]:
        props = dict(feature["properties"], key=f"{feature['properties']['code']}@{feature['properties']['valid_from']}")
        features.append({"type": "Feature", "properties": props, "geometry": feature["geometry"]})
    collection = {"type": "FeatureCollection", "features": features}
    values = {f"{r['code']}@{r['valid_from']}": (math.nan if r["value"] is None else float(r["value"]))
              for r in view["records"]}
    cls = view["classification"]
    edges = [cls["min"]] + list(cls["breaks"]) if cls["min"] is not None else []
    bins = edges if len(edges) > 2 and all(a < b for a, b in zip(edges, edges[1:])) else cls["k"]

    points = [pt for f in features for pt in _coords(f["geometry"]["coordinates"])]
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    fmap = folium.Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=10, tiles=None,
                      width="100%", height="100%")
    # folium's CDN assets → Leaflet from this server; jQuery/Bootstrap/awesome-markers dropped.
    fmap.default_js = [("leaflet", "/vendor/leaflet/leaflet.js")]
    fmap.default_css = [("leaflet_css", "/vendor/leaflet/leaflet.css")]
    choropleth = folium.Choropleth(
        geo_data=collection, data=values if edges else None, key_on="feature.properties.key", bins=bins,
        fill_color="YlOrRd", fill_opacity=0.85, nan_fill_color="#d9d9d9", line_color="#ffffff",
        line_weight=1.2, legend_name=view["title"],
    )
    # The legend (branca StepColormap) hard-codes d3 3.5.5 from cdnjs inside its render() and has
    # no default_js to point elsewhere; without a local d3 its script would throw, so it is left out.
    if choropleth.color_scale is not None:
        choropleth._children.pop(choropleth.color_scale.get_name(), None)
        choropleth.color_scale = None
    choropleth.add_to(fmap)
    fmap.fit_bounds([[south, west], [north, east]])
    return fmap.get_root().render()


def make_naive_app(main_app: Flask) -> Flask:
    """A tiny Flask app: ``/?year=`` renders the naive page from the main app's store."""
    naive = Flask("naive_bench")
    leaflet_dist = Path(main_app.config["ASSETS_DIR"]) / "leaflet" / "dist"

    @naive.get("/vendor/leaflet/<path:filename>")
    def leaflet(filename):
        return send_from_directory(leaflet_dist, filename, max_age=7 * 86400)

    @naive.get("/")
    def page():
        args = {"indicator": request.args.get("indicator", INDICATOR), "year": request.args.get("year", str(YEAR))}
        with main_app.app_context():
            conn = connection()
            state = parse(args, main_app.config, load_catalogue(conn).keys())
            view = build_view(conn, state)
            units = json.loads(query.units_geojson(conn, view["version"]["id"]))
        return Response(naive_page(units, view), mimetype="text/html")

    return naive


# ----------------------------------------------------------------------------------------
# 1. Server time
# ----------------------------------------------------------------------------------------

def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def time_http(port: int, path: str, n: int, warmup: int) -> dict:
    """Milliseconds per GET over one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times, sock, reused, size = [], None, True, 0
    try:
        for i in range(warmup + n):
            t = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - t) * 1000
            if response.status != 200:
                raise RuntimeError(f"GET {path} -> {response.status}: {body[:200]!r}")
            if sock is None:
                sock = conn.sock
            elif conn.sock is not sock:
                reused = False
            if i >= warmup:
                times.append(elapsed)
            size = len(body)
    finally:
        conn.close()
    return {"p50": statistics.median(times), "p95": pct(times, 95), "keepalive": reused, "bytes": size}


def time_client(app: Flask, path: str, n: int, warmup: int) -> dict:
    client = app.test_client()
    times = []
    for i in range(warmup + n):
        t = time.perf_counter()
        response = client.get(path)
        data = response.get_data()
        elapsed = (time.perf_counter() - t) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} -> {response.status_code}: {data[:200]!r}")
        if i >= warmup:
            times.append(elapsed)
    return {"p50": statistics.median(times), "p95": pct(times, 95)}


def fetch(port: int, path: str) -> tuple[bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.read(), response.getheader("Content-Type", "")
    finally:
        conn.close()


# ----------------------------------------------------------------------------------------
# Browser
# ----------------------------------------------------------------------------------------

class Browser:
    """Headless Debian Chromium; every context records requests to other hosts than 127.0.0.1."""

    def __init__(self, playwright):
        self.browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                  args=CHROMIUM_ARGS + [LOCAL_ONLY_ARG])
        self.external: list[str] = []
        self.errors: list[str] = []

    def context(self, init_script: str, block_with_route: bool = False):
        context = self.browser.new_context()
        context.add_init_script(init_script)
        context.on("request", self._check_request)
        context.on("page", lambda page: page.on("pageerror", lambda exc: self.errors.append(str(exc))))
        if block_with_route:
            context.route("**/*", self._local_only_route)
        return context

    def _check_request(self, req):
        host = urlsplit(req.url).hostname
        if req.url.startswith(("http:", "https:", "ws:", "wss:")) and host != "127.0.0.1":
            self.external.append(req.url)

    @staticmethod
    def _local_only_route(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            route.abort()

    def close(self):
        self.browser.close()


def wait_value(page, expression: str, arg, timeout: float = 30000) -> float:
    return page.wait_for_function(expression, arg=arg, polling=5, timeout=timeout).json_value()


def ours_load(browser: Browser, base: str, year: int, route: bool = False, phases: list | None = None) -> tuple:
    """Fresh context; navigate to the map of ``year``; return (ms to paint, context, page)."""
    context = browser.context(OURS_INIT, block_with_route=route)
    page = context.new_page()
    page.goto(f"{base}/?indicator={INDICATOR}&year={year}", wait_until="commit")
    painted = wait_value(page, OURS_PAINTED, f"{INDICATOR}:{year}")
    if phases is not None:
        phases.append(page.evaluate(LOAD_PHASES))
    return painted, context, page


def naive_load(browser: Browser, base: str, year: int, units: int, route: bool = False, page=None,
               phases: list | None = None) -> tuple:
    """Navigate (fresh context unless ``page`` is given) to the naive page; ms to all unit paths."""
    context = None
    if page is None:
        context = browser.context(NAIVE_INIT, block_with_route=route)
        page = context.new_page()
    page.goto(f"{base}/?indicator={INDICATOR}&year={year}", wait_until="commit")
    painted = wait_value(page, NAIVE_PAINTED, units)
    if phases is not None:
        phases.append(page.evaluate(LOAD_PHASES))
    return painted, context, page


def ours_year_changes(page, years: list[int], recorder: Recorder) -> tuple[list[float], list[int], list[float]]:
    """Change the year on a painted page, one year after the other.

    Returns ms to repaint, gz bytes sent by the server, and ms until the last response of the change.
    """
    times, sizes, network = [], [], []
    for year in years:
        recorder.take()
        t0 = page.evaluate(CHANGE_YEAR, year)
        painted = wait_value(page, OURS_PAINTED, f"{INDICATOR}:{year}")
        times.append(painted - t0)
        network.append(page.evaluate(CHANGE_NETWORK, [t0, painted]))
        sizes.append(byte_totals(recorder.take())["gz"])
    return times, sizes, network


def alternate(pair: tuple[int, int], changes: int) -> list[int]:
    return [pair[(i + 1) % 2] for i in range(changes)]


# ----------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------

def machine_info() -> list[str]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("flask", "werkzeug", "folium", "playwright"))
    return [
        f"date:     {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"machine:  nproc {usable} (os.cpu_count {os.cpu_count()}), CPU {model}, {platform.platform()}",
        f"python:   {platform.python_version()} ({sys.executable})",
        f"load:     {load_average()} (1/5/15 min load average at start; other processes skew timings)",
        f"packages: {versions}",
        f"repo:     {repo_state()}",
    ]


def repo_state() -> str:
    """HEAD commit and number of uncommitted paths (the code measured)."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %s"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True,
                               text=True, timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return f"{head[:70]} (+{len(dirty)} uncommitted paths)" if head else "?"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def kb(n: float) -> str:
    return f"{n / 1024:.1f} KB"


def ms(x: float) -> str:
    return f"{x:.1f} ms" if x >= 10 else f"{x:.2f} ms"


def p50_95(t: dict) -> str:
    return f"{ms(t['p50'])} / {ms(t['p95'])}"


def med_range(values: list[float]) -> str:
    return f"{ms(statistics.median(values))} ({ms(min(values))}-{ms(max(values))})"


def table(rows: list[tuple[str, str, str, str]]) -> str:
    header = ("metric", "ours", "naive", "target")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    fmt = " | ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), "-+-".join("-" * w for w in widths)]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(lines)


def profile_values(app: Flask, path: str, n: int) -> str:
    client = app.test_client()
    for _ in range(20):
        client.get(path)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        client.get(path)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    return out.getvalue()


# ----------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="N=30 requests, 3 page loads, 4 year changes")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of /api/values (test client)")
    args = parser.parse_args()
    n = 30 if args.quick else 200
    warmup = 10 if args.quick else 30
    loads = 3 if args.quick else 5
    changes = 4 if args.quick else 6

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request log lines in the timings
    started = time.perf_counter()
    print("\n".join(machine_info()))
    print(f"mode:     {'quick' if args.quick else 'full'}: N={n} requests (+{warmup} warm-up) per endpoint, "
          f"{loads} fresh page loads, {changes} year changes per pair", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-map-") as tmp:
        app = create_app({
            "DATABASE_URL": f"sqlite:///{tmp}/mapapp.sqlite",
            "CACHE_DIR": f"{tmp}/cache",
            "SHARED_DIR": str(REPO.parent / "shared"),
        })
        if app.config.get("MISSING_INPUTS"):
            print(f"cannot run: the app reports missing inputs {app.config['MISSING_INPUTS']}", file=sys.stderr)
            return 2
        naive_app = make_naive_app(app)
        with app.app_context():
            conn = connection()
            unit_count = {y: query.version_for_year(conn, y).unit_count
                          for y in set(SAME_VERSION_PAIR + CROSS_VERSION_PAIR + (YEAR,))}

        paths = {
            "page": "/",
            "units": f"/api/units?year={YEAR}",
            "values": f"/api/values?indicator={INDICATOR}&year={YEAR}",
            "projects": f"/api/projects?year={YEAR}",
        }
        naive_path = f"/?indicator={INDICATOR}&year={YEAR}"

        # 1. Server time ------------------------------------------------------------------
        print("\n[1/4] server time ...", flush=True)
        http_t, client_t = {}, {}
        with LiveServer(app) as ours_srv, LiveServer(naive_app) as naive_srv:
            for key, path in paths.items():
                http_t[key] = time_http(ours_srv.port, path, n, warmup)
            http_t["naive"] = time_http(naive_srv.port, naive_path, n, warmup)
            units_body, units_type = fetch(ours_srv.port, paths["units"])
            values_body, values_type = fetch(ours_srv.port, paths["values"])
            naive_body, naive_type = fetch(naive_srv.port, naive_path)
        for key, path in paths.items():
            client_t[key] = time_client(app, path, n, warmup)
        client_t["naive"] = time_client(naive_app, naive_path, n, warmup)
        keepalive = all(t["keepalive"] for t in http_t.values())
        cdn_left = sorted(set(re.findall(r"""(?:src|href)=["']?(https?://[^"' >]+)""", naive_body.decode())))

        # 2-4. Browser --------------------------------------------------------------------
        from playwright.sync_api import sync_playwright

        ours_rec, naive_rec = Recorder(app), Recorder(naive_app)
        with LiveServer(ours_rec) as ours_srv, LiveServer(naive_rec) as naive_srv, sync_playwright() as pw:
            browser = Browser(pw)
            try:
                # warm the servers' caches (rendered map shell, bounds, templates) and Chromium
                for route in (True, False):
                    _, ctx, _ = ours_load(browser, ours_srv.url, YEAR, route=route)
                    ctx.close()
                    _, ctx, _ = naive_load(browser, naive_srv.url, YEAR, unit_count[YEAR], route=route)
                    ctx.close()

                print("[2/4] first-visit bytes ...", flush=True)
                ours_rec.take()
                _, ctx, page = ours_load(browser, ours_srv.url, YEAR, route=True)
                page.wait_for_load_state("networkidle")
                ctx.close()
                first_ours = byte_totals(ours_rec.take())
                naive_rec.take()
                _, ctx, page = naive_load(browser, naive_srv.url, YEAR, unit_count[YEAR], route=True)
                page.wait_for_load_state("networkidle")
                ctx.close()
                first_naive = byte_totals(naive_rec.take())

                print("[3/4] navigation to painted choropleth ...", flush=True)
                paint_ours, paint_naive, phases_ours, phases_naive = [], [], [], []
                for _ in range(loads):
                    t, ctx, _ = ours_load(browser, ours_srv.url, YEAR, phases=phases_ours)
                    paint_ours.append(t)
                    ctx.close()
                    t, ctx, _ = naive_load(browser, naive_srv.url, YEAR, unit_count[YEAR], phases=phases_naive)
                    paint_naive.append(t)
                    ctx.close()

                print("[4/4] year changes ...", flush=True)
                change = {}
                for label, pair in (("same", SAME_VERSION_PAIR), ("cross", CROSS_VERSION_PAIR)):
                    years = alternate(pair, changes)
                    _, ctx, page = ours_load(browser, ours_srv.url, pair[0])
                    ours_rec.take()
                    ours_times, ours_bytes, ours_network = ours_year_changes(page, years, ours_rec)
                    ctx.close()
                    _, ctx, page = naive_load(browser, naive_srv.url, pair[0], unit_count[pair[0]])
                    naive_times, naive_bytes = [], []
                    for year in years:
                        naive_rec.take()
                        t, _, _ = naive_load(browser, naive_srv.url, year, unit_count[year], page=page)
                        naive_times.append(t)
                        naive_bytes.append(byte_totals(naive_rec.take())["gz"])
                    ctx.close()
                    change[label] = {"years": years, "ours": ours_times, "ours_bytes": ours_bytes, "ours_network": ours_network,
                                     "naive": naive_times, "naive_bytes": naive_bytes}
                chromium_version = browser.browser.version
            finally:
                browser.close()

        profile = profile_values(app, paths["values"], n) if args.profile else None

    # Report ------------------------------------------------------------------------------
    units_gz = gz_size(units_body, units_type)
    values_gz = gz_size(values_body, values_type)
    naive_gz = gz_size(naive_body, naive_type)
    same, cross = change["same"], change["cross"]
    rows = [
        ("GET / (HTML page) p50/p95, HTTP", p50_95(http_t["page"]), p50_95(http_t["naive"]), ""),
        ("GET /api/units?year=2021 p50/p95, HTTP", p50_95(http_t["units"]), "- (inline in page)", ""),
        ("GET /api/values p50/p95, HTTP", p50_95(http_t["values"]), "- (inline in page)", TARGETS["values_p50"]),
        ("GET /api/projects?year=2021 p50/p95, HTTP", p50_95(http_t["projects"]), "- (no projects layer)", ""),
        ("GET / (HTML page) p50/p95, test_client", p50_95(client_t["page"]), p50_95(client_t["naive"]), ""),
        ("GET /api/units p50/p95, test_client", p50_95(client_t["units"]), "-", ""),
        ("GET /api/values p50/p95, test_client", p50_95(client_t["values"]), "-", TARGETS["values_p50"]),
        ("GET /api/projects p50/p95, test_client", p50_95(client_t["projects"]), "-", ""),
        ("first visit, bytes raw (responses)", f"{kb(first_ours['raw'])} ({first_ours['count']})",
         f"{kb(first_naive['raw'])} ({first_naive['count']})", ""),
        ("first visit, bytes gzip", kb(first_ours["gz"]), kb(first_naive["gz"]), TARGETS["first_visit"]),
        ("boundary payload, one year, gzip", f"{kb(units_gz)} (raw {kb(len(units_body))})",
         f"page {kb(naive_gz)} (raw {kb(len(naive_body))})", TARGETS["boundary"]),
        ("/api/values payload, gzip", f"{kb(values_gz)} (raw {kb(len(values_body))})", "- (inline)", ""),
        (f"navigation -> painted, median of {loads} (min-max)", med_range(paint_ours), med_range(paint_naive), ""),
        (f"year change {SAME_VERSION_PAIR[0]}<->{SAME_VERSION_PAIR[1]} (same version), median of {changes}",
         med_range(same["ours"]), med_range(same["naive"]) + " reload", TARGETS["year_change"]),
        (f"year change {CROSS_VERSION_PAIR[0]}<->{CROSS_VERSION_PAIR[1]} (other version), median of {changes}",
         med_range(cross["ours"]), med_range(cross["naive"]) + " reload", TARGETS["year_change"]),
        ("bytes per year change, gzip, median (same / other version)",
         f"{kb(statistics.median(same['ours_bytes']))} / {kb(statistics.median(cross['ours_bytes']))}",
         f"{kb(statistics.median(same['naive_bytes']))} / {kb(statistics.median(cross['naive_bytes']))}", ""),
    ]
    print()
    print(table(rows))
    print()
    print("details")
    print(f"  chromium {chromium_version}; HTTP keep-alive reused: {'yes' if keepalive else 'NO'}; "
          f"external requests attempted: {len(browser.external)}; page errors: {len(browser.errors)}")
    for url in sorted(set(browser.external))[:10]:
        print(f"    external: {url}")
    for error in browser.errors[:10]:
        print(f"    page error: {error}")
    if cdn_left:
        print(f"  naive page still links: {', '.join(cdn_left)}")
    for name, first in (("ours", first_ours), ("naive", first_naive)):
        print(f"  first visit ({name}): " + "; ".join(
            f"{path} {status} {kb(raw)}/{kb(gz)} gz" for path, status, raw, gz in first["items"]))
    print(f"  paint after navigation, ms: ours {[round(t, 1) for t in paint_ours]}, "
          f"naive {[round(t, 1) for t in paint_naive]}")
    for name, phases in (("ours", phases_ours), ("naive", phases_naive)):
        med = {k: statistics.median(p[k] for p in phases) for k in ("html", "dcl")}
        api = [p["api"] for p in phases if p["api"] is not None]
        print(f"    {name}: median HTML received {ms(med['html'])}, DOMContentLoaded {ms(med['dcl'])}"
              + (f", last /api/ response {ms(statistics.median(api))}" if api else ""))
    for label, data in (("same version", same), ("other version", cross)):
        print(f"  year change ({label}) to {data['years']}:")
        print(f"    ours  ms {[round(t, 1) for t in data['ours']]}  gz bytes {data['ours_bytes']}"
              f"  (of which network ms {[round(t, 1) for t in data['ours_network']]})")
        print(f"    naive ms {[round(t, 1) for t in data['naive']]}  gz bytes {data['naive_bytes']}")
    print(f"  total bench time {time.perf_counter() - started:.0f} s; load average at end {load_average()}")
    if profile:
        print()
        print(f"cProfile of {n} x GET {paths['values']} (test client), by cumulative time:")
        print(profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
