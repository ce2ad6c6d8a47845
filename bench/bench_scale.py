#!/usr/bin/env python
"""Scale benchmark (issue 7): the naive folium page against the app, at 22, 637 and 11,163 communes.

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/bench_scale.py                          # all sizes, both links
    .venv/bin/python bench/bench_scale.py --quick                  # fewer repetitions
    .venv/bin/python bench/bench_scale.py --sizes 22,637 --links local
    .venv/bin/python bench/bench_scale.py --write-results          # also update bench/RESULTS.md

Sizes (naive server: GeoJSON from ../shared; ours: ``MAPAPP_ATLAS``, first year → year change):

* 22: ``huong-hoa-communes-2008.geojson``; ``huong-hoa``, 2018 → 2019
* 637: the national file's features with ``province == "Thanh Hóa"``; ``thanh-hoa``, 2020 → 2021
* 11163: every feature of ``vietnam-communes-2008.geojson.gz``; ``vietnam``, 2020 → 2021

Both servers run as their own processes (so their memory can be read from
``/proc/<pid>/status``): ours is waitress (``--threads 8 --call mapapp.offload:build``) on a fresh
SQLite database in ``/tmp/bench_scale_*`` (the derived-geometry cache stays in ``instance/cache``);
the NAIVE server is this file with ``--serve-naive SIZE``: a Flask app (werkzeug, threaded, no
compression) that regenerates on every ``/?year=`` a ``folium.Map`` + ``folium.GeoJson`` page with
the GeoJSON inline and a per-year style function (seeded random values, ``default_rng(161)``).
folium's CDN assets are replaced: Leaflet is served by the naive server from
``node_modules/leaflet/dist``; jQuery, Bootstrap, Font Awesome and awesome-markers are left out.

What is measured (printed; nothing is asserted), per size and, for the browser, per link
(``local`` = 127.0.0.1 as is; ``slow`` = Chromium network emulation over CDP
``Network.emulateNetworkConditions``: 10 Mbit/s down, 5 Mbit/s up, 40 ms latency):

* start-up: ours from a new database (seeding; "cold" when the geometry cache had to be built)
  and a warm restart on the same database; the naive server's start (reading the GeoJSON).
* server time: median of the ``Server-Timing: app;dur=`` header over direct ``http.client``
  requests (``Accept-Encoding: gzip``) of the page, the geometry and the values URLs the page
  requested; for values also the first request of each year of the year changes (not requested
  before from that process, though the app may have computed it in the background since its
  start). The naive server times its own render the same way.
* payload: bytes on the wire of a cold page load (CDP ``Network.loadingFinished``
  ``encodedDataLength``: compressed bodies plus headers), split into geometry
  (``/api/geometry``, ``/api/units``) and values (``/api/values``).
* first paint: navigation start → the end of the first rendered frame that shows the map (ours:
  the server-drawn first frame ``#map-frame``, an SVG (small atlases) or, once loaded, an image
  (``/map-frame.webp``, thousands of units), or the live map if it comes first; naive: every
  GeoJSON feature has its ``path.leaflet-interactive``). "live (interactive) map painted": ours at
  ``body[data-painted="poverty_rate:<year>"]``. A rAF loop installed by an init script sees the map
  and posts a message, whose handler stamps ``performance.now()`` once that frame's style, layout
  and paint are done; the harness's polling does not blur the figure.
* repaint after a year change: ours in the painted page (``window.mapapp.state.year = Y;
  window.mapapp.update()`` → ``data-painted`` shows Y, timed in the page); years not yet shown in
  that page first, so their values are not in the browser cache. The app keeps computed answers
  per process, so each link's pass runs on a just restarted app (nothing cached yet, or only what
  the app computes in the background after a start) and is then repeated in a new page ("app
  warm"). Naive: a full page load of
  ``/?year=Y`` in the same tab (regenerated every time).
* server memory: VmHWM (peak) and VmRSS of the server process after the browser runs (the app
  is restarted before each link's year changes: the highest VmHWM of its processes is shown).
* A4 300 dpi export: ours ``GET /export.png?...&size=A4&dpi=300`` (after one warm-up request);
  naive: load the page in a 1754×1240 viewport at device scale 2 (3508×2480 px, A4 landscape at
  300 dpi) and take a Chromium screenshot, timed from navigation to the PNG.

The browser is the Debian Chromium (``/usr/bin/chromium``) through Playwright and reaches only
127.0.0.1: cold loads use ``context.route`` to abort any other host (counted); the repaint passes
keep the HTTP cache (``route`` turns it off), so there a host-resolver rule fails every other host
and attempted requests are counted from the request events. KB = 1024 bytes.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import gzip
import http.client
import json
import logging
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MAPAPP_SHARED_DIR") or REPO.parent / "shared")
LEAFLET_DIST = REPO / "node_modules" / "leaflet" / "dist"
CACHE_DIR = REPO / "instance" / "cache"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN, END = "<!-- bench_scale:begin -->", "<!-- bench_scale:end -->"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
LINKS = {
    "local": None,
    "slow": {"offline": False, "latency": 40, "downloadThroughput": 10e6 / 8, "uploadThroughput": 5e6 / 8},
}
INDICATOR = "poverty_rate"
A4_300DPI_VIEWPORT = {"width": 1754, "height": 1240}  # × device scale 2 = 3508 × 2480 px
START_TIMEOUT_S = 1800    # the first national seed (geometry cache) takes minutes
PAINT_TIMEOUT_MS = 300_000
TARGETS_11163 = {
    "paint_local": "< 1 s", "paint_slow": "< 2.5 s", "repaint": "< 300 ms", "values": "< 150 KB",
    "geometry": "< 1 MB (first zoom)", "memory": "< 600 MB", "export": "< 5 s",
}


@dataclass(frozen=True)
class Size:
    """One benchmark size: its communes, the app's atlas and the years of the year change."""
    communes: int
    atlas: str
    label: str
    year: int
    next_year: int


SIZES = {
    22: Size(22, "huong-hoa", "Hướng Hóa", 2018, 2019),
    637: Size(637, "thanh-hoa", "Thanh Hóa", 2020, 2021),
    11163: Size(11163, "vietnam", "Vietnam", 2020, 2021),
}


@dataclass(frozen=True)
class Repeats:
    """How often each measurement is repeated (``--quick`` lowers them)."""
    server: int
    loads: int
    changes: int
    exports: int


# ========================================================================================
# The naive server (runs as its own process: this file with --serve-naive SIZE --port P)
# ========================================================================================

YLORRD = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
NAIVE_YEARS = range(2010, 2031)


def naive_features(communes: int) -> list[dict]:
    """The GeoJSON features the naive page shows for one size."""
    if communes == 22:
        with open(SHARED / "geodata" / "huong-hoa-communes-2008.geojson", encoding="utf-8") as fh:
            return json.load(fh)["features"]
    with gzip.open(SHARED / "geodata" / "vietnam-communes-2008.geojson.gz", "rt", encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    if communes == 637:
        return [f for f in features if f["properties"].get("province") == "Thanh Hóa"]
    return features


def naive_values(count: int) -> dict[int, list[float]]:
    """A seeded random value per feature per year (the naive app has no store)."""
    import numpy as np

    rng = np.random.default_rng(161)
    table = rng.uniform(0.0, 60.0, size=(len(NAIVE_YEARS), count)).round(1)
    return {year: table[i].tolist() for i, year in enumerate(NAIVE_YEARS)}


def bounds_of(features: list[dict]) -> list[list[float]]:
    """[[south, west], [north, east]] of all coordinates."""
    lons, lats = [], []

    def walk(coords):
        if isinstance(coords[0], (int, float)):
            lons.append(coords[0])
            lats.append(coords[1])
        else:
            for item in coords:
                walk(item)

    for feature in features:
        walk(feature["geometry"]["coordinates"])
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def naive_page(features: list[dict], values: list[float], bounds) -> str:
    """A complete folium page for one year: every commune inline, coloured in five quantile classes."""
    import folium
    import numpy as np

    breaks = np.quantile(values, [0.2, 0.4, 0.6, 0.8]).tolist()
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": f["geometry"], "properties": dict(f["properties"], value=v)}
        for f, v in zip(features, values)
    ]}

    def style(feature):
        value = feature["properties"]["value"]
        return {"fillColor": YLORRD[sum(value > b for b in breaks)], "color": "#ffffff",
                "weight": 0.6, "fillOpacity": 0.85}

    fmap = folium.Map(location=[(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2],
                      zoom_start=8, tiles=None)
    fmap.default_js = [("leaflet", "/vendor/leaflet/leaflet.js")]          # CDN → this server
    fmap.default_css = [("leaflet_css", "/vendor/leaflet/leaflet.css")]    # other CDN assets dropped
    folium.GeoJson(collection, name="communes", style_function=style,
                   tooltip=folium.GeoJsonTooltip(fields=["name", "value"])).add_to(fmap)
    fmap.fit_bounds(bounds)
    return fmap.get_root().render()


def external_refs(html: str) -> list[str]:
    """URLs of other hosts that a page would load (src/href attributes)."""
    return sorted(set(re.findall(r"""(?:src|href)=["']?(https?://[^"' >]+)""", html)))


def serve_naive(communes: int, port: int) -> None:
    """Serve the naive page for one size on 127.0.0.1:port until killed."""
    from flask import Flask, Response, jsonify, request, send_from_directory
    from werkzeug.serving import make_server

    started = time.perf_counter()
    features = [f for f in naive_features(communes) if f.get("geometry")]
    values = naive_values(len(features))
    bounds = bounds_of(features)
    sample = naive_page(features[:2], values[NAIVE_YEARS[0]][:2], bounds)
    meta = {"features": len(features), "load_s": time.perf_counter() - started, "external": external_refs(sample)}
    app = Flask("naive_scale")

    @app.get("/")
    def page():
        t0 = time.perf_counter()
        year = int(request.args.get("year", "2020"))
        html = naive_page(features, values[year], bounds)
        response = Response(html, mimetype="text/html")
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - t0) * 1000:.1f}"
        return response

    @app.get("/meta")
    def meta_json():
        return jsonify(meta)

    @app.get("/vendor/leaflet/<path:name>")
    def leaflet(name):
        return send_from_directory(LEAFLET_DIST, name, max_age=86400)

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


# ========================================================================================
# Server processes and plain HTTP
# ========================================================================================

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(port: int, path: str, timeout: float = 600) -> tuple[int, dict, bytes, float]:
    """One GET with ``Accept-Encoding: gzip``: status, headers (lower-case), raw body, wall ms."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = conn.getresponse()
        body = response.read()
        wall = (time.perf_counter() - t0) * 1000
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body, wall
    finally:
        conn.close()


def server_timing(headers: dict) -> float | None:
    """The ``app;dur=`` milliseconds of a Server-Timing header, if any."""
    match = re.search(r"\bapp;dur=([0-9.]+)", headers.get("server-timing", ""))
    return float(match.group(1)) if match else None


def get_json(port: int, path: str) -> dict:
    status, _, body, _ = http_get(port, path)
    if status != 200:
        raise RuntimeError(f"GET {path} -> {status}")
    return json.loads(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)


class Server:
    """A server in its own process, started and stopped by this benchmark only."""

    def __init__(self, name: str, cmd: list[str], env: dict, log: Path, ready_path: str):
        self.name, self.cmd, self.env, self.log, self.ready_path = name, cmd, env, log, ready_path
        self.port = int(cmd[cmd.index("--port") + 1])
        self.proc: subprocess.Popen | None = None

    def start(self) -> float:
        """Start the process and return the seconds until ``ready_path`` answers 200."""
        t0 = time.perf_counter()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        while time.perf_counter() - t0 < START_TIMEOUT_S:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; log {self.log}:\n{self.tail()}")
            try:
                if http_get(self.port, self.ready_path, timeout=30)[0] == 200:
                    return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {START_TIMEOUT_S} s; log {self.log}")

    def memory(self) -> dict[str, int]:
        """VmHWM and VmRSS of the process, in bytes."""
        out = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(rest.split()[0]) * 1024
        return out

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def naive_server(size: Size, tmp: Path) -> Server:
    port = free_port()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-naive", str(size.communes), "--port", str(port)]
    return Server("naive server", cmd, dict(os.environ), tmp / f"naive-{size.communes}.log", "/meta")


def ours_server(size: Size, tmp: Path) -> Server:
    port = free_port()
    # As `python -m mapapp serve` builds it (its pages ready before the first request), exports in its own process.
    env = dict(os.environ, MAPAPP_ATLAS=size.atlas, MAPAPP_EXPORT_PROCESSES="0",
               MAPAPP_DATABASE_URL=f"sqlite:///{tmp / (size.atlas + '.sqlite')}")
    cmd = [sys.executable, "-m", "waitress", "--host", "127.0.0.1", "--port", str(port), "--threads", "8",
           "--call", "mapapp.offload:build"]
    return Server("app server", cmd, env, tmp / f"ours-{size.atlas}.log", "/api/versions")


def cache_files() -> set[str]:
    return {p.name for p in CACHE_DIR.glob("*")} if CACHE_DIR.is_dir() else set()


def start_ours(size: Size, tmp: Path) -> tuple[Server, dict]:
    """Start the app on a new database (seed), stop it, and restart it on the same database.

    Returns the restarted server (the one measured) and the start-up figures.
    """
    before = cache_files()
    first = ours_server(size, tmp)
    try:
        fresh_s = first.start()
        seed_memory = first.memory()
    finally:
        first.stop()
    built = sorted(cache_files() - before)
    server = ours_server(size, tmp)
    restart_s = server.start()
    return server, {"fresh_s": fresh_s, "restart_s": restart_s, "seed_memory": seed_memory, "cache_built": built}


# ========================================================================================
# Browser
# ========================================================================================

# Stamps performance.now() (relative to navigation start) once the first frame showing the map
# has been rendered: a message posted from the animation-frame callback that sees the map runs
# after that frame's style, layout and paint. "painted": the first frame with the map on screen
# (ours: the server-drawn first frame, #map-frame, or the live map, whichever comes first);
# "live": the live (interactive) map (ours: body[data-painted] === cfg.want; naive: at least
# cfg.want Leaflet paths, so for the naive page both are the same frame).
PAINT_WATCH = """
(() => {
  const cfg = %s;
  const b = window.__bench = { painted: null, live: null, longtasks: [] };
  try {
    new PerformanceObserver(list => list.getEntries().forEach(e => b.longtasks.push([e.startTime, e.duration])))
      .observe({ type: 'longtask', buffered: true });
  } catch (e) { /* no long-task timing: the details show 0 */ }
  const live = () => cfg.kind === 'ours'
    ? !!document.body && document.body.getAttribute('data-painted') === cfg.want
    : document.querySelectorAll('path.leaflet-interactive').length >= cfg.want;
  const frame = () => {  // an SVG frame is drawn with the page; an image frame once it has loaded
    const el = cfg.kind === 'ours' && document.getElementById('map-frame'), img = el && el.querySelector('img');
    return !!el && (!img || (img.complete && img.naturalWidth > 0));
  };
  const afterRender = key => {
    b[key] = -1;
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { b[key] = performance.now(); };
    channel.port2.postMessage(0);
  };
  const tick = () => {
    const isLive = live();
    if (b.painted === null && (isLive || frame())) afterRender('painted');
    if (b.live === null && isLive) afterRender('live');
    if (b.live === null) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""
PAINTED = "() => window.__bench && window.__bench.live > 0 && window.__bench.painted > 0 && window.__bench.painted"
CHANGE_YEAR = """
async ([year, want, limitMs]) => {
  const t0 = performance.now();
  window.mapapp.state.year = year;
  window.mapapp.update();
  return await new Promise((resolve, reject) => {
    const tick = () => {
      const now = performance.now();
      if (document.body.getAttribute('data-painted') === want) {
        const done = performance.getEntriesByType('resource').filter(e => e.startTime >= t0 && e.responseEnd <= now);
        resolve({ ms: now - t0, requests: done.map(e => [new URL(e.name).pathname, e.responseEnd - t0]) });
      }
      else if (now - t0 > limitMs) reject(new Error('not painted: ' + want));
      else requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}
"""
# Where a first paint's time went: HTML received, DOMContentLoaded, last geometry/values response
# before the paint, and the main thread's long tasks (> 50 ms) before the paint.
LOAD_PHASES = """() => { const n = performance.getEntriesByType('navigation')[0], b = window.__bench;
  const data = performance.getEntriesByType('resource')
    .filter(e => e.startTime < b.painted && /\\/api\\/(geometry|units|values)/.test(e.name));
  const tasks = b.longtasks.filter(t => t[0] < b.painted);
  return { html: n.responseEnd, dcl: n.domContentLoadedEventEnd, live: b.live,
           data: data.length ? Math.max(...data.map(e => e.responseEnd)) : null,
           busy: tasks.reduce((s, t) => s + t[1], 0), longest: tasks.reduce((m, t) => Math.max(m, t[1]), 0) }; }"""


def category(url: str) -> str:
    """geometry, values, page (the document) or other: how the bytes of a response are reported."""
    path = urlsplit(url).path
    if "/api/geometry" in path or "/api/units" in path:
        return "geometry"
    if "/api/values" in path:
        return "values"
    return "other"


class NetLog:
    """Bytes on the wire per request of one page, from CDP Network events."""

    def __init__(self, cdp):
        self.url: dict[str, str] = {}
        self.size: dict[str, int] = {}
        self.pending: set[str] = set()
        self.failed: list[str] = []
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._failed)

    def _sent(self, event):
        if event["request"]["url"].startswith("http"):
            self.url[event["requestId"]] = event["request"]["url"]
            self.pending.add(event["requestId"])

    def _finished(self, event):
        if event["requestId"] in self.url:
            self.size[event["requestId"]] = int(event["encodedDataLength"])
            self.pending.discard(event["requestId"])

    def _failed(self, event):
        if event["requestId"] in self.url:
            self.failed.append(self.url[event["requestId"]])
            self.pending.discard(event["requestId"])

    def mark(self) -> set[str]:
        return set(self.size)

    def items(self, since: set[str] = frozenset()) -> list[tuple[str, int]]:
        return [(self.url[rid], n) for rid, n in self.size.items() if rid not in since]

    def settle(self, page, quiet_ms: int = 500, limit_s: float = 120) -> None:
        """Wait until no request has been pending for ``quiet_ms`` (pumps the event loop)."""
        deadline, quiet_since = time.monotonic() + limit_s, time.monotonic()
        while time.monotonic() < deadline:
            page.wait_for_timeout(50)
            if self.pending:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_ms / 1000:
                return


def byte_split(items: list[tuple[str, int]], page_url: str) -> dict[str, int]:
    """Total bytes and the parts: HTML document, geometry, values, other (scripts, styles, other JSON)."""
    out = {"total": 0, "page": 0, "geometry": 0, "values": 0, "other": 0, "requests": len(items)}
    for url, n in items:
        out["total"] += n
        out["page" if url == page_url else category(url)] += n
    return out


@dataclass
class Tab:
    """One page in its own context, with its network log."""
    context: object
    page: object
    net: NetLog

    def close(self):
        self.context.close()


class Browser:
    """Headless Debian Chromium; counts blocked/attempted requests to hosts other than 127.0.0.1."""

    def __init__(self, playwright):
        self.browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        self.version = self.browser.version
        self.blocked: list[str] = []
        self.errors: list[str] = []

    def tab(self, watch: dict, link: str, cold: bool = True, viewport: dict | None = None, scale: float = 1) -> Tab:
        """A new context (empty cache) with one page, the paint watcher and the link's conditions."""
        context = self.browser.new_context(viewport=viewport or {"width": 1280, "height": 800},
                                           device_scale_factor=scale)
        context.add_init_script(PAINT_WATCH % json.dumps(watch))
        context.on("request", self._count_external)
        if cold:
            context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/])"), self._abort)
        page = context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(str(exc)[:200]))
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        if LINKS[link]:
            cdp.send("Network.emulateNetworkConditions", LINKS[link])
        return Tab(context, page, NetLog(cdp))

    def _count_external(self, request):
        host = urlsplit(request.url).hostname
        if request.url.startswith(("http:", "https:", "ws:", "wss:")) and host != "127.0.0.1":
            self.blocked.append(request.url)

    @staticmethod
    def _abort(route):
        route.abort()  # counted by _count_external

    def close(self):
        self.browser.close()


def navigate(tab: Tab, url: str) -> float:
    """Go to url; return ms from navigation start to the painted map."""
    tab.page.goto(url, wait_until="commit", timeout=PAINT_TIMEOUT_MS)
    return tab.page.wait_for_function(PAINTED, timeout=PAINT_TIMEOUT_MS).json_value()


def cold_load(browser: Browser, url: str, watch: dict, link: str) -> dict:
    """A first visit in a new context: paint time, load phases and bytes on the wire."""
    tab = browser.tab(watch, link)
    try:
        painted = navigate(tab, url)
        tab.net.settle(tab.page)
        phases = tab.page.evaluate(LOAD_PHASES)
        items = tab.net.items()
        return {"paint": painted, "phases": phases, "bytes": byte_split(items, url), "items": items}
    finally:
        tab.close()


def ours_changes(browser: Browser, base: str, size: Size, years: list[int], link: str) -> list[dict]:
    """Year changes in one painted page of the app: ms to repaint and bytes moved, per change."""
    tab = browser.tab({"kind": "ours", "want": f"{INDICATOR}:{size.year}"}, link, cold=False)
    try:
        navigate(tab, f"{base}/?indicator={INDICATOR}&year={size.year}")
        tab.net.settle(tab.page)
        out, shown = [], {size.year}
        for year in years:
            mark = tab.net.mark()
            change = tab.page.evaluate(CHANGE_YEAR, [year, f"{INDICATOR}:{year}", PAINT_TIMEOUT_MS])
            tab.net.settle(tab.page, quiet_ms=300)
            out.append({"year": year, "ms": change["ms"], "requests": change["requests"], "fresh": year not in shown,
                        "bytes": sum(n for _, n in tab.net.items(mark))})
            shown.add(year)
        return out
    finally:
        tab.close()


def naive_changes(browser: Browser, base: str, features: int, size: Size, years: list[int], link: str) -> list[dict]:
    """The naive year change: a full page load of /?year=Y in the same tab."""
    tab = browser.tab({"kind": "naive", "want": features}, link, cold=False)
    try:
        navigate(tab, f"{base}/?year={size.year}")
        tab.net.settle(tab.page)
        out = []
        for year in years:
            mark = tab.net.mark()
            ms = navigate(tab, f"{base}/?year={year}")
            tab.net.settle(tab.page, quiet_ms=300)
            out.append({"year": year, "ms": ms, "fresh": True, "bytes": sum(n for _, n in tab.net.items(mark))})
        return out
    finally:
        tab.close()


def naive_export(browser: Browser, base: str, features: int, year: int) -> dict:
    """Naive 'export': load the page at A4 300 dpi pixels and screenshot it (localhost)."""
    t0 = time.perf_counter()
    tab = browser.tab({"kind": "naive", "want": features}, "local", viewport=A4_300DPI_VIEWPORT, scale=2)
    try:
        painted = navigate(tab, f"{base}/?year={year}")
        t1 = time.perf_counter()
        png = tab.page.screenshot(type="png", timeout=PAINT_TIMEOUT_MS)
        t2 = time.perf_counter()
    finally:
        tab.close()
    return {"s": t2 - t0, "paint_s": painted / 1000, "screenshot_s": t2 - t1, "png_bytes": len(png)}


# ========================================================================================
# One size
# ========================================================================================

def year_sequence(size: Size, same_version: list[int], count: int) -> list[int]:
    """The years to change to: next_year, then unseen years of the same boundary version, then alternate."""
    seen, seq = {size.year, size.next_year}, [size.next_year]
    middle = (size.year + size.next_year) / 2
    for year in sorted(same_version, key=lambda y: (abs(y - middle), y)):
        if year not in seen:
            seq.append(year)
            seen.add(year)
    while len(seq) < count:
        seq.append(size.year if seq[-1] != size.year else size.next_year)
    return seq[:count]


def app_years(port: int, size: Size) -> tuple[int, list[int]]:
    """Units in the first year's boundary version, and the years of that version with indicator data."""
    versions = get_json(port, "/api/versions")
    by_year = {int(y): v for y, v in versions["years"].items()}
    version = by_year.get(size.year)
    units = next((v.get("unit_count") for v in versions["versions"] if v.get("id") == version), None)
    indicators = get_json(port, "/api/indicators")["indicators"]
    data_years = next((i["years"] for i in indicators if i["id"] == INDICATOR), [])
    return units, [y for y in data_years if by_year.get(y) == version]


def time_urls(port: int, paths: list[str], reps: int) -> dict:
    """Median Server-Timing (and wall ms) per path over reps requests after one warm-up; summed over paths.

    ``first_ms``: the Server-Timing of the warm-up request (the page's own request came before it).
    """
    app_ms, wall_ms, first_ms, missing = 0.0, 0.0, 0.0, False
    for path in paths:
        first_ms += server_timing(http_get(port, path)[1]) or 0.0
        samples = [http_get(port, path) for _ in range(reps)]
        bad = [s[0] for s in samples if s[0] != 200]
        if bad:
            raise RuntimeError(f"GET {path} -> {bad[0]}")
        timings = [server_timing(s[1]) for s in samples]
        if None in timings:
            missing = True
        else:
            app_ms += statistics.median(timings)
        wall_ms += statistics.median(s[3] for s in samples)
    return {"app_ms": None if missing or not paths else app_ms, "wall_ms": wall_ms, "first_ms": first_ms,
            "count": len(paths)}


def local_paths(items: list[tuple[str, int]], kind: str) -> list[str]:
    """Paths (with query) of a load's requests of one category, in request order, without duplicates."""
    out = []
    for url, _ in items:
        if category(url) == kind:
            parts = urlsplit(url)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if path not in out:
                out.append(path)
    return out


def export_times(port: int, year: int, reps: int) -> dict:
    """Wall seconds of the A4 300 dpi PNG export: one warm-up, then the median of reps."""
    path = f"/export.png?indicator={INDICATOR}&year={year}&size=A4&dpi=300"
    status, _, body, first = http_get(port, path)
    if status != 200:
        return {"error": f"GET {path} -> {status}: {body[:120]!r}"}
    samples = [http_get(port, path) for _ in range(reps)]
    return {"s": [s[3] / 1000 for s in samples], "first_s": first / 1000, "png_bytes": len(body),
            "app_ms": [server_timing(s[1]) for s in samples]}


def bench_size(size: Size, links: list[str], reps: Repeats, browser: Browser, tmp: Path) -> dict:
    """All measurements of one size; servers are started here and always stopped."""
    res = {"size": size, "naive": {}, "ours": {}, "links": links, "load": [load_average()]}
    naive, ours = naive_server(size, tmp), None
    try:
        print(f"  starting the app (MAPAPP_ATLAS={size.atlas}): new database, then a restart ...", flush=True)
        ours, res["ours"]["start"] = start_ours(size, tmp)
        units, same_version = app_years(ours.port, size)
        if units is None or abs(units - size.communes) > 0.1 * size.communes:
            res["skipped"] = (f"MAPAPP_ATLAS={size.atlas} serves {units} units in {size.year}, "
                              f"not ~{size.communes}: atlas not available")
            return res
        print(f"  starting the naive server ({size.communes}) ...", flush=True)
        res["naive"]["start_s"] = naive.start()
        res["naive"]["meta"] = get_json(naive.port, "/meta")
        res["ours"]["memory"] = []
        measure(res, Pair(size, naive, ours, res["naive"]["meta"]["features"]), links, reps, browser, same_version)
        res["load"].append(load_average())
    finally:
        naive.stop()
        if ours:
            ours.stop()
    return res


def bench_one(size: Size, links: list[str], reps: Repeats, browser: Browser, tmp: Path) -> dict:
    """bench_size, with a failure reported as a skipped size (the other sizes still run)."""
    try:
        return bench_size(size, links, reps, browser, tmp)
    except Exception as error:  # noqa: BLE001 - reported in the results, never hidden
        print(f"  FAILED: {error}", file=sys.stderr, flush=True)
        return {"size": size, "skipped": f"failed: {str(error).splitlines()[0][:300]}", "failed": True}


@dataclass
class Pair:
    """The naive server and the app for one size, and what their pages are watched for."""
    size: Size
    naive: Server
    ours: Server
    features: int  # GeoJSON features of the naive page (Leaflet paths to wait for)

    def ours_url(self, year: int) -> str:
        return f"http://127.0.0.1:{self.ours.port}/?indicator={INDICATOR}&year={year}"

    def naive_url(self, year: int) -> str:
        return f"http://127.0.0.1:{self.naive.port}/?year={year}"

    def ours_watch(self) -> dict:
        return {"kind": "ours", "want": f"{INDICATOR}:{self.size.year}"}

    def naive_watch(self) -> dict:
        return {"kind": "naive", "want": self.features}


def measure(res: dict, pair: Pair, links: list[str], reps: Repeats, browser: Browser, same_version: list[int]) -> None:
    """Server times, year changes, first paints, memory and exports of one size (servers running)."""
    years = year_sequence(pair.size, same_version, reps.changes)
    res["years"] = years
    server_pass(res, pair, reps, browser, years)
    for link in links:
        change_pass(res, pair, years, link, browser)
    for link in links:
        print(f"  [{link}] first paint x{reps.loads} ...", flush=True)
        for _ in range(reps.loads):
            res["naive"].setdefault(f"loads_{link}", []).append(
                cold_load(browser, pair.naive_url(pair.size.year), pair.naive_watch(), link))
            res["ours"].setdefault(f"loads_{link}", []).append(
                cold_load(browser, pair.ours_url(pair.size.year), pair.ours_watch(), link))
    res["ours"]["memory"].append(pair.ours.memory())
    res["naive"]["memory"] = [pair.naive.memory()]
    print(f"  exports x{reps.exports} ...", flush=True)
    res["ours"]["export"] = export_times(pair.ours.port, pair.size.year, reps.exports)
    res["naive"]["export"] = [naive_export(browser, f"http://127.0.0.1:{pair.naive.port}", pair.features,
                                           pair.size.year) for _ in range(reps.exports)]
    res["ours"]["memory_after_export"], res["naive"]["memory_after_export"] = pair.ours.memory(), pair.naive.memory()


def server_pass(res: dict, pair: Pair, reps: Repeats, browser: Browser, years: list[int]) -> None:
    """The first page loads after the (re)start, then direct requests: Server-Timing of each URL.

    Values are timed twice: the first request of each year in ``years`` (not asked before; the app
    may have computed it in the background) and repeated requests of the page's own year (cached).
    """
    print("  first loads and server time ...", flush=True)
    # The browser's own first tab pays for its start (processes, fonts): not the app's to pay.
    cold_load(browser, pair.naive_url(pair.size.year), pair.naive_watch(), "local")
    warm = cold_load(browser, pair.ours_url(pair.size.year), pair.ours_watch(), "local")
    res["ours"]["first_load"] = warm["paint"]
    naive_first = cold_load(browser, pair.naive_url(pair.size.year), pair.naive_watch(), "local")
    res["naive"]["first_load"] = naive_first["paint"]
    page = urlsplit(pair.ours_url(pair.size.year))
    # The page carries its first values (and a small geometry pack) inline: time the API URLs
    # a year change asks for instead.
    values = local_paths(warm["items"], "values") or [f"/api/values?{page.query}&format=columns"]
    res["ours"]["server"] = {
        "page": time_urls(pair.ours.port, [f"{page.path}?{page.query}"], reps.server),
        "geometry": time_urls(pair.ours.port, local_paths(warm["items"], "geometry"), reps.server),
        "values": time_urls(pair.ours.port, values, reps.server),
        "values_cold": first_requests(pair.ours.port, values[:1], sorted(set(years) - {pair.size.year})),
    }
    res["naive"]["server"] = {"page": time_urls(pair.naive.port, [f"/?year={pair.size.year}"], reps.server)}


def first_requests(port: int, paths: list[str], years: list[int]) -> list[float]:
    """Server-Timing ms of the first request of each year (``year=`` of the path replaced)."""
    out = []
    for path in paths:
        for year in years:
            out.append(server_timing(http_get(port, re.sub(r"\byear=\d+", f"year={year}", path))[1]))
    return out


def change_pass(res: dict, pair: Pair, years: list[int], link: str, browser: Browser) -> None:
    """Year changes on one link: ours on a restarted app (answers not cached), then again (cached); naive."""
    print(f"  [{link}] year changes {years} (app restarted first) ...", flush=True)
    res["ours"]["memory"].append(pair.ours.memory())
    pair.ours.stop()
    res["ours"].setdefault("restarts_s", []).append(pair.ours.start())
    base = f"http://127.0.0.1:{pair.ours.port}"
    res["ours"][f"changes_{link}"] = ours_changes(browser, base, pair.size, years, link)
    res["ours"][f"changes_warm_{link}"] = ours_changes(browser, base, pair.size, years, link)
    res["naive"][f"changes_{link}"] = naive_changes(browser, f"http://127.0.0.1:{pair.naive.port}",
                                                    pair.features, pair.size, years, link)


# ========================================================================================
# Report
# ========================================================================================

def fmt_ms(x: float | None) -> str:
    if x is None:
        return "-"
    if x >= 1000:
        return f"{x / 1000:.2f} s"
    return f"{x:.0f} ms" if x >= 100 else f"{x:.1f} ms" if x >= 10 else f"{x:.2f} ms"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.2f} MB"
    return f"{n / 1024:.1f} KB" if n >= 1024 else f"{n:.0f} B"


def med(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values: list[float], fmt=fmt_ms) -> str:
    """median (min–max) of a list, or the one value."""
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def ratio(naive: float | None, ours: float | None) -> str:
    if not naive or not ours:
        return ""
    return f"{naive / ours:.1f}×" if naive / ours < 100 else f"{naive / ours:.0f}×"


def server_cell(t: dict | None) -> tuple[str, float | None]:
    """Server time: the Server-Timing median, or the wall time on localhost when the header is missing."""
    if not t or not t["count"]:
        return "-", None
    if t["app_ms"] is not None:
        extra = f" ({t['count']} requests)" if t["count"] > 1 else ""
        return fmt_ms(t["app_ms"]) + extra, t["app_ms"]
    return f"{fmt_ms(t['wall_ms'])} wall (no Server-Timing)", t["wall_ms"]


def changes_ms(changes: list[dict]) -> list[float]:
    """Repaint times of the year changes to not-yet-shown years (all changes if fewer than 3)."""
    fresh = [c["ms"] for c in changes if c["fresh"]]
    return fresh if len(fresh) >= 3 else [c["ms"] for c in changes]


def size_rows(res: dict) -> list[tuple[str, str, str, str, str]]:
    """The table rows of one size: metric, naive, ours, naive ÷ ours, target (11,163 only)."""
    target = TARGETS_11163 if res["size"].communes == 11163 else {}
    return server_rows(res) + payload_rows(res, target) + browser_rows(res, target) + resource_rows(res, target)


def server_rows(res: dict) -> list[tuple]:
    """Start-up and server time rows."""
    naive, ours = res["naive"], res["ours"]
    start = ours["start"]
    rows = [("start-up (to first answer)", f"{naive['start_s']:.1f} s (read GeoJSON)",
             f"{start['fresh_s']:.1f} s new DB{' + cold geometry cache' if start['cache_built'] else ''}; "
             f"{start['restart_s']:.1f} s restart", "", "")]
    n_cell, n_value = server_cell(naive["server"]["page"])
    cell, value = server_cell(ours["server"]["page"])
    rows.append(("server time: page /", n_cell, cell, ratio(n_value, value), ""))
    rows.append(("server time: geometry", "- (inline in page)", server_cell(ours["server"]["geometry"])[0], "", ""))
    rows.append(("server time: values, repeated", "- (inline in page)", server_cell(ours["server"]["values"])[0],
                 "", ""))
    cold = ours["server"]["values_cold"]
    rows.append((f"server time: values, first request of a year (x{len(cold)})", "- (inline in page)",
                 spread(cold), "", ""))
    return rows


def payload_rows(res: dict, target: dict) -> list[tuple]:
    """Bytes of the cold loads on the first link measured (the same on both links)."""
    link = res["links"][0]
    n_bytes = [l["bytes"] for l in res["naive"][f"loads_{link}"]]
    o_bytes = [l["bytes"] for l in res["ours"][f"loads_{link}"]]
    n_total, o_total = med([b["total"] for b in n_bytes]), med([b["total"] for b in o_bytes])
    return [
        ("payload on the wire, first visit", f"{fmt_bytes(n_total)} ({n_bytes[0]['requests']} requests)",
         f"{fmt_bytes(o_total)} ({o_bytes[0]['requests']} requests)", ratio(n_total, o_total), ""),
        ("  of which geometry", "- (inline in page)", fmt_bytes(med([b["geometry"] for b in o_bytes])), "",
         target.get("geometry", "")),
        ("  of which values", "- (inline in page)", fmt_bytes(med([b["values"] for b in o_bytes])), "",
         target.get("values", "")),
    ]


def browser_rows(res: dict, target: dict) -> list[tuple]:
    """First paint and year-change repaint rows, per link."""
    naive, ours, rows = res["naive"], res["ours"], []
    for link in res["links"]:
        n_paint = [l["paint"] for l in naive[f"loads_{link}"]]
        o_paint = [l["paint"] for l in ours[f"loads_{link}"]]
        rows.append((f"first paint, {link}", spread(n_paint), spread(o_paint), ratio(med(n_paint), med(o_paint)),
                     target.get(f"paint_{link}", "")))
        o_live = [l["phases"]["live"] for l in ours[f"loads_{link}"]]
        if o_live != o_paint:  # the first frame came before the live map
            rows.append((f"  live (interactive) map painted, {link}", spread(n_paint), spread(o_live),
                         ratio(med(n_paint), med(o_live)), ""))
    for link in res["links"]:
        n_change = changes_ms(naive[f"changes_{link}"])
        for key, label in (("changes", "app just restarted"), ("changes_warm", "app warm")):
            o_change = changes_ms(ours[f"{key}_{link}"])
            rows.append((f"repaint after a year change, {link}, {label}", spread(n_change) + " (reload)",
                         spread(o_change), ratio(med(n_change), med(o_change)), target.get("repaint", "")))
    return rows


def resource_rows(res: dict, target: dict) -> list[tuple]:
    """Server memory and export rows."""
    naive, ours = res["naive"], res["ours"]
    n_memory, o_memory = memory_summary(naive["memory"]), memory_summary(ours["memory"])
    rows = [("server memory VmHWM / VmRSS", memory_cell(n_memory), memory_cell(o_memory),
             ratio(n_memory["VmHWM"], o_memory["VmHWM"]), target.get("memory", ""))]
    n_export = [e["s"] * 1000 for e in naive["export"]]
    if "error" in ours["export"]:
        rows.append(("A4 300 dpi export", spread(n_export) + " (screenshot)", ours["export"]["error"][:60], "",
                     target.get("export", "")))
    else:
        o_export = [s * 1000 for s in ours["export"]["s"]]
        rows.append(("A4 300 dpi export", spread(n_export) + " (screenshot)", spread(o_export),
                     ratio(med(n_export), med(o_export)), target.get("export", "")))
    return rows


def memory_summary(snapshots: list[dict]) -> dict:
    """The highest VmHWM of the snapshots (one per server process) and the last VmRSS."""
    return {"VmHWM": max(m["VmHWM"] for m in snapshots), "VmRSS": snapshots[-1]["VmRSS"]}


def memory_cell(memory: dict) -> str:
    """VmHWM / VmRSS."""
    return f"{fmt_bytes(memory.get('VmHWM'))} / {fmt_bytes(memory.get('VmRSS'))}"


def markdown_table(rows: list[tuple]) -> str:
    """An aligned Markdown table (readable as plain text too)."""
    header = ("metric", "naive (baseline)", "ours", "naive ÷ ours", "target (11,163)")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def size_details(res: dict) -> list[str]:
    """Per-load and per-change figures behind the table of one size."""
    naive, ours = res["naive"], res["ours"]
    start, naive_page = ours["start"], naive["server"]["page"]
    out = [f"load average at start / end of this size: {' / '.join(res['load'])}",
           f"naive: {naive['meta']['features']} features; render per request (Server-Timing) "
           f"{fmt_ms(naive_page['app_ms'])}, wall on localhost {fmt_ms(naive_page['wall_ms'])}"
           + (f"; page still links {naive['meta']['external']}" if naive["meta"]["external"] else ""),
           f"ours: seed process peak {memory_cell(start['seed_memory'])}; geometry cache files built: "
           f"{len(start['cache_built'])}; restarts before the year changes "
           + ", ".join(f"{t:.1f} s" for t in ours["restarts_s"]),
           "ours server page / geometry / values: wall on localhost "
           + " / ".join(fmt_ms(ours["server"][k]["wall_ms"]) for k in ("page", "geometry", "values"))
           + "; Server-Timing of the first direct request "
           + " / ".join(fmt_ms(ours["server"][k]["first_ms"]) for k in ("page", "geometry", "values"))
           + "; values, first request of years " + ", ".join(
               f"{y}: {fmt_ms(t)}" for y, t in zip(sorted(set(res["years"]) - {res["size"].year}),
                                                   ours["server"]["values_cold"])),
           f"first load after the app's restart (local, nothing cached): ours {fmt_ms(ours['first_load'])}, "
           f"naive {fmt_ms(naive['first_load'])}"]
    for link in res["links"]:
        for name, data in (("naive", naive), ("ours", ours)):
            out.append(f"[{link}] {name} " + loads_line(data[f"loads_{link}"]))
            out.append(f"[{link}] {name} year changes " + changes_line(data[f"changes_{link}"]))
        out.append(f"[{link}] ours year changes again (app warm) " + changes_line(ours[f"changes_warm_{link}"]))
    return out + export_lines(res)


def export_lines(res: dict) -> list[str]:
    """Export details and the memory after the exports."""
    naive, ours, out = res["naive"], res["ours"], []
    if "error" not in ours["export"]:
        export = ours["export"]
        out.append(f"ours export: first {export['first_s']:.2f} s, PNG {fmt_bytes(export['png_bytes'])}, "
                   f"Server-Timing ms {export['app_ms']}")
    e = naive["export"][-1]
    out.append(f"naive export (last): page painted {e['paint_s']:.2f} s, screenshot {e['screenshot_s']:.2f} s, "
               f"PNG {fmt_bytes(e['png_bytes'])}")
    out.append("memory snapshots of the app processes (VmHWM/VmRSS): "
               + ", ".join(memory_cell(m) for m in ours["memory"])
               + f"; after export: naive {memory_cell(naive['memory_after_export'])}, "
               f"ours {memory_cell(ours['memory_after_export'])}")
    return out


def loads_line(loads: list[dict]) -> str:
    """The cold loads of one approach and link: paint times, where the time went, bytes."""
    phase = lambda key: fmt_ms(med([l["phases"][key] for l in loads]))  # noqa: E731
    b = loads[0]["bytes"]
    data = f"geometry+values received {phase('data')}, " if med([l["phases"]["data"] for l in loads]) else ""
    return (f"first paint ms {[round(l['paint']) for l in loads]}, live map ms {[round(l['phases']['live']) for l in loads]}; "
            f"median: HTML received {phase('html')}, {data}"
            f"DOMContentLoaded {phase('dcl')}, main-thread long tasks before paint {phase('busy')} "
            f"(longest {phase('longest')}); bytes: page {fmt_bytes(b['page'])}, geometry {fmt_bytes(b['geometry'])}, "
            f"values {fmt_bytes(b['values'])}, other {fmt_bytes(b['other'])}, total {fmt_bytes(b['total'])}")


def changes_line(changes: list[dict]) -> str:
    """Each year change: year (* = shown before), repaint time, bytes, and when each response
    the page waited for arrived (the requests of the change that ended before the repaint)."""
    def one(c):
        arrived = ", ".join(f"{path.rsplit('/', 1)[-1]} {fmt_ms(end)}" for path, end in c.get("requests", []))
        return (f"{c['year']}{'' if c['fresh'] else '*'}: {fmt_ms(c['ms'])} {fmt_bytes(c['bytes'])}"
                + (f" [{arrived}]" if arrived else ""))
    return "; ".join(one(c) for c in changes)


def size_report(res: dict) -> str:
    size = res["size"]
    title = f"### {size.communes:,} communes ({size.label}; app atlas `{size.atlas}`)"
    if "skipped" in res:
        return f"{title}\n\nskipped: {res['skipped']}\n"
    notes = ("(* = a year already shown in that page: its values may come from the browser cache; the repaint "
             "rows are the medians of the changes to years not yet shown in the page. 'app just restarted': the "
             "pass starts right after a restart of the app (answers not cached, unless the app computed them in "
             "the background since); 'app warm': the same years again in a new page. [...] = responses of the "
             "change that arrived before the repaint, ms after the change)")
    return "\n".join([title, "", markdown_table(size_rows(res)), "", "```", *size_details(res), notes, "```", ""])


def machine_lines(chromium: str) -> list[str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((l.split(":", 1)[1].strip() for l in cpuinfo.splitlines() if l.startswith("model name")), "?")
    mem_kb = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    return [
        f"- machine: {os.cpu_count()} CPUs, {model}, {mem_kb / 1024 / 1024:.1f} GB RAM, {platform.platform()}",
        f"- Chromium {chromium}; Python {platform.python_version()}",
    ]


def repo_state() -> str:
    try:
        head = subprocess.run(["git", "log", "-1", "--format=%h %s"], cwd=REPO, capture_output=True, text=True).stdout
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
    except OSError:
        return "?"
    return f"{head.strip()[:70]} (+{len(dirty.splitlines())} uncommitted paths)"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def report(results: list[dict], header: list[str]) -> str:
    return "\n".join(header + [""] + [size_report(r) for r in results])


def write_results(text: str) -> None:
    """Replace the generated part of bench/RESULTS.md; anything outside the markers is kept."""
    block = f"{BEGIN}\n{text.rstrip()}\n{END}"
    if RESULTS.exists():
        old = RESULTS.read_text(encoding="utf-8")
        if BEGIN in old and END in old:
            new = old[:old.index(BEGIN)] + block + old[old.index(END) + len(END):]
        else:
            new = old.rstrip() + "\n\n" + block + "\n"
    else:
        new = ("# Scale benchmark results (`bench/bench_scale.py`)\n\n"
               "The part between the markers is written by `bench_scale.py --write-results`.\n\n" + block + "\n")
    RESULTS.write_text(new, encoding="utf-8")


# ========================================================================================
# Main
# ========================================================================================

def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="22,637,11163", help="comma-separated, of 22,637,11163")
    parser.add_argument("--links", default="local,slow", help="comma-separated, of local,slow")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--loads", type=int, metavar="N",
                        help="cold page loads per link and page (default 5, 2 with --quick): first paint on a shared "
                             "2-core machine spreads by ±50 ms, more loads give a steadier median")
    parser.add_argument("--write-results", action="store_true", help="write the results into bench/RESULTS.md")
    parser.add_argument("--serve-naive", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.links = [s.strip() for s in args.links.split(",") if s.strip()]
    if bad := [s for s in args.sizes if s not in SIZES] + [l for l in args.links if l not in LINKS]:
        parser.error(f"unknown size or link: {bad}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.serve_naive:
        serve_naive(args.serve_naive, args.port)
        return 0
    from playwright.sync_api import sync_playwright

    reps = Repeats(3, 2, 3, 1) if args.quick else Repeats(10, 5, 6, 3)
    if args.loads:
        reps = dataclasses.replace(reps, loads=args.loads)
    started, load_start, repo_start = time.perf_counter(), load_average(), repo_state()
    command = "bench/bench_scale.py " + " ".join((argv if argv is not None else sys.argv[1:]))
    tmp = Path(tempfile.mkdtemp(prefix="bench_scale_", dir="/tmp"))
    results, ok = [], False
    try:
        with sync_playwright() as pw:
            browser = Browser(pw)
            try:
                for communes in args.sizes:
                    print(f"\n== {communes} communes ==", flush=True)
                    results.append(bench_one(SIZES[communes], args.links, reps, browser, tmp))
            finally:
                browser.close()
        ok = not any(r.get("failed") for r in results)
    finally:
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"server logs kept in {tmp}", file=sys.stderr)
    header = [
        f"## Run of {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        "",
        f"- command: `.venv/bin/python {command.strip()}` ({'quick' if args.quick else 'full'}: "
        f"{reps.server} requests per URL, {reps.loads} cold loads per link, {reps.changes} year changes, "
        f"{reps.exports} exports)",
        *machine_lines(browser.version),
        f"- repo: {repo_start}" + (f"; at the end: {repo_state()}" if repo_state() != repo_start else ""),
        f"- load average (1/5/15 min) at start {load_start}, at end {load_average()}; "
        f"total {time.perf_counter() - started:.0f} s",
        f"- requests to other hosts than 127.0.0.1 (blocked): {len(browser.blocked)}; page errors: "
        f"{len(browser.errors)}" + (f" (first: {browser.errors[0]})" if browser.errors else ""),
    ]
    text = report(results, header)
    print("\n" + text)
    if args.write_results:
        write_results(text)
        print(f"written: {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
