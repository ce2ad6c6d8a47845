#!/usr/bin/env python
"""Benchmark of the print exports, beside a headless Chromium screenshot of the map page.

Run from the project folder: ``python bench/bench_export.py [--runs 5]``.
Large atlases: ``python bench/bench_export.py --atlas vietnam [--instance /tmp/export-vn]``.

* The app is created on a database in a temporary folder, seeded from ``../shared``.
* "cold" is the first export in a fresh process (a child process is started per
  case; creating its app is not counted, the lazy import of matplotlib is).
* "warm" is the median of ``--runs`` further calls in this process (wall clock,
  and the CPU time of the process, which does not depend on other load).
* Exports go through the Flask test client (the real routes, without sockets).
* The browser rows serve the same app with a werkzeug server thread on
  127.0.0.1 and time Playwright + /usr/bin/chromium: page load until the map
  has painted, then a screenshot (the cold row includes launching the browser).

``--atlas ID`` (``quang-tri``, ``thanh-hoa``, ``vietnam``, see ``geodata/atlases``) measures
the exports of that atlas instead (its default indicator and year): the A4 300 dpi PNG (cold,
then the median of ``--runs``), the PDF and the SVG (cold, then one warm call each), and a split
of one warm PNG into reading and classifying (``export.prepare``: ``build_view``, geometry
from the per-checksum cache) and drawing (``export.draw``). No browser rows. The store is built
on first use (about 2 min for ``vietnam``); ``--instance DIR`` keeps it for later runs.
The "before" column is the same case measured with the export code before the large-atlas
work (per-unit labels and outline limits over 11k units; see BEFORE_S).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
CHROMIUM = "/usr/bin/chromium"
PAGE_QUERY = "?indicator=poverty_rate&year=2021"
PNG_TARGET_S = 1.5
ATLAS_PNG_TARGET_S = 5.0

# The export code before the large-atlas change (mapapp/export.py of commit 36b0392), measured with
# this script on this 2-CPU machine on 2026-11-26 (load average 2-4: other benchmarks were running):
# seconds (cold wall, cold CPU, warm wall, warm CPU). Printed beside the new times; compare CPU seconds
# when the machine is busy.
BEFORE_S: dict[tuple[str, str], tuple[float | None, ...]] = {
    ("huong-hoa", "A4 landscape 300 dpi PNG"): (1.95, 1.94, 0.51, 0.51),
    ("huong-hoa", "A4 landscape PDF"): (1.65, 1.65, 1.01, 1.00),
    ("huong-hoa", "A4 landscape SVG"): (1.22, 1.22, 0.16, 0.16),
    ("huong-hoa", "Small multiples, 4 years, A4 300 dpi PNG"): (1.64, 1.64, 0.78, 0.78),
    ("quang-tri", "A4 landscape 300 dpi PNG"): (2.27, 2.21, 1.29, 1.16),
    ("quang-tri", "A4 landscape PDF"): (3.11, 2.72, 2.28, 1.86),
    ("quang-tri", "A4 landscape SVG"): (1.82, 1.41, 1.56, 0.76),
    ("thanh-hoa", "A4 landscape 300 dpi PNG"): (3.32, 2.90, 1.71, 1.66),
    ("thanh-hoa", "A4 landscape PDF"): (4.11, 3.72, 3.03, 2.66),
    ("thanh-hoa", "A4 landscape SVG"): (2.66, 2.32, 1.49, 1.31),
    ("vietnam", "A4 landscape 300 dpi PNG"): (13.98, 13.68, 10.53, 9.75),
    ("vietnam", "A4 landscape PDF"): (22.58, 19.27, 17.81, 14.63),
    ("vietnam", "A4 landscape SVG"): (19.61, 15.92, 15.47, 13.03),
}

CASES = [
    ("A4 landscape 300 dpi PNG", "/export.png?indicator=poverty_rate&year=2021", PNG_TARGET_S),
    ("A4 landscape PDF", "/export.pdf?indicator=poverty_rate&year=2021", None),
    ("A4 landscape SVG", "/export.svg?indicator=poverty_rate&year=2021", None),
    ("Small multiples, 4 years, A4 300 dpi PNG",
     "/export.png?indicator=poverty_rate&years=2016,2018,2020,2022", None),
]


def make_app(instance: Path, atlas: str | None = None):
    from mapapp import create_app

    config = {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{instance}/mapapp.sqlite",
        "CACHE_DIR": str(instance / "cache"),
        "SHARED_DIR": str(SHARED),
    }
    if atlas:
        config["ATLAS"] = atlas
    return create_app(config)


def timed_get(client, url: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one request; CPU time shows the cost on a machine that is not busy."""
    start, cpu = time.perf_counter(), time.process_time()
    response = client.get(url)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return elapsed, cpu


def cold_child(instance: str, url: str, atlas: str | None = None) -> None:
    """In a fresh process: create the app (not timed), then time the first export."""
    client = make_app(Path(instance), atlas).test_client()
    wall, cpu = timed_get(client, url)
    print(json.dumps({"wall": wall, "cpu": cpu}))


def cold_time(instance: Path, url: str, atlas: str | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of the first export in a fresh process."""
    command = [sys.executable, __file__, "--cold-child", str(instance), url]
    if atlas:
        command += ["--atlas", atlas]
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["wall"], result["cpu"]


def browser_times(app, runs: int) -> list[tuple[str, float | None, float | None, str]]:
    """(label, cold, warm median, note) rows for Chromium screenshots of the map page."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return [("Chromium screenshot of the page", None, None, "playwright not installed")]
    if not Path(CHROMIUM).exists():
        return [("Chromium screenshot of the page", None, None, f"{CHROMIUM} not found")]
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request log in the table
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    rows = []
    try:
        with sync_playwright() as pw:
            for label, viewport, scale in (
                ("Chromium screenshot, 1280×860 viewport", {"width": 1280, "height": 860}, 1),
                ("Chromium screenshot, A4 300 dpi pixels (1169×827 ×3)", {"width": 1169, "height": 827}, 3),
            ):
                def shot(browser):
                    context = browser.new_context(viewport=viewport, device_scale_factor=scale)
                    # Offline like the app's own browser tests: only the local server is reachable.
                    context.route("**/*", lambda route: route.continue_()
                                  if route.request.url.startswith(base) else route.abort())
                    page = context.new_page()
                    page.goto(base + "/" + PAGE_QUERY)
                    page.wait_for_selector('body[data-painted="poverty_rate:2021"]', state="attached",
                                           timeout=30_000)
                    page.screenshot(type="png")
                    context.close()

                start = time.perf_counter()
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                shot(browser)
                cold = time.perf_counter() - start
                warm = []
                for _ in range(runs):
                    start = time.perf_counter()
                    shot(browser)
                    warm.append(time.perf_counter() - start)
                browser.close()
                rows.append((label, cold, statistics.median(warm), "cold includes browser launch"))
    finally:
        server.shutdown()
        thread.join(timeout=5)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="warm runs per case (median reported)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium rows")
    parser.add_argument("--atlas", help="measure this atlas's exports (e.g. vietnam, thanh-hoa, quang-tri)")
    parser.add_argument("--instance", type=Path,
                        help="with --atlas: keep the atlas's store in this folder (built on first use)")
    parser.add_argument("--cold-child", nargs=2, metavar=("INSTANCE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_child:
        cold_child(*args.cold_child, args.atlas)
        return
    if not (SHARED / "geodata").is_dir():
        raise SystemExit(f"shared data not found at {SHARED}")
    if args.atlas and args.atlas != "huong-hoa":
        if args.instance:
            args.instance.mkdir(parents=True, exist_ok=True)
            atlas_main(args.atlas, args.instance, args.runs)
        else:
            with tempfile.TemporaryDirectory(prefix="mapapp-bench-") as tmp:
                atlas_main(args.atlas, Path(tmp), args.runs)
        return
    with tempfile.TemporaryDirectory(prefix="mapapp-bench-") as tmp:
        instance = Path(tmp)
        app = make_app(instance)  # seeds the store once; children reuse it
        client = app.test_client()
        rows = []
        for label, url, target in CASES:
            cold, cold_cpu = cold_time(instance, url)
            timed_get(client, url)  # this process's first call: warms caches
            runs = [timed_get(client, url) for _ in range(args.runs)]
            warm = statistics.median(wall for wall, _cpu in runs)
            warm_cpu = statistics.median(cpu for _wall, cpu in runs)
            rows.append((label, cold, cold_cpu, warm, warm_cpu, target, BEFORE_S.get(("huong-hoa", label))))
        browser_rows = [] if args.no_browser else browser_times(app, args.runs)
    print_table(rows, browser_rows, args.runs)


def atlas_main(atlas: str, instance: Path, runs: int) -> None:
    """The exports of one large atlas: PNG (cold + median of ``runs``), PDF and SVG (cold + one warm call)."""
    start = time.perf_counter()
    app = make_app(instance, atlas)  # builds the store on first use; children reuse it
    print(f"atlas {atlas}: app ready in {time.perf_counter() - start:.1f} s (store in {instance})", flush=True)
    missing = app.config.get("MISSING_INPUTS")
    if missing:
        raise SystemExit(f"atlas {atlas}: missing input {', '.join(missing)}")
    query_ = f"indicator={app.config['DEFAULT_INDICATOR']}&year={app.config['DEFAULT_YEAR']}"
    client = app.test_client()
    units = client.get(f"/api/values?{query_}").get_json()["version"]["unit_count"]
    cases = [
        (f"A4 landscape 300 dpi PNG, {units} units", "A4 landscape 300 dpi PNG", f"/export.png?{query_}",
         ATLAS_PNG_TARGET_S, runs),
        (f"A4 landscape PDF, {units} units", "A4 landscape PDF", f"/export.pdf?{query_}", None, 1),
        (f"A4 landscape SVG, {units} units", "A4 landscape SVG", f"/export.svg?{query_}", None, 1),
    ]
    rows = []
    for label, key, url, target, n in cases:
        cold, cold_cpu = cold_time(instance, url, atlas)
        if n > 1:
            timed_get(client, url)  # this process's first call: warms caches
        timed = [timed_get(client, url) for _ in range(n)]
        rows.append((label, cold, cold_cpu, statistics.median(w for w, _c in timed),
                     statistics.median(c for _w, c in timed), target, BEFORE_S.get((atlas, key))))
    print_table(rows, [], runs)
    print("PDF and SVG rows: one warm call each.")
    print(split_png(app, url=cases[0][2]))


def split_png(app, url: str) -> str:
    """One warm A4 300 dpi PNG split into ``export.prepare`` (read, classify) and ``export.draw``."""
    from urllib.parse import parse_qsl, urlsplit

    from mapapp.present import export
    from mapapp.store.catalogue import load_catalogue
    from mapapp.store.db import connection

    args = dict(parse_qsl(urlsplit(url).query))
    with app.test_request_context():
        conn = connection()
        wanted = export.parse_request(args, "png", app.config, load_catalogue(conn).keys())
        start, start_cpu = time.perf_counter(), time.process_time()
        sheet = export.prepare(conn, wanted.state, wanted.years)
        prepared, prepared_cpu = time.perf_counter(), time.process_time()
        export.draw(sheet, wanted.page)
        drawn, drawn_cpu = time.perf_counter(), time.process_time()
    return (f"warm PNG split: prepare {prepared - start:.2f} s, CPU {prepared_cpu - start_cpu:.2f} s "
            f"(build_view, project sites, geometry from the cache); "
            f"draw {drawn - prepared:.2f} s, CPU {drawn_cpu - prepared_cpu:.2f} s (matplotlib, PNG encoding)")


def _seconds(wall: float | None, cpu: float | None) -> str:
    """``1.23 (CPU 0.98)``."""
    if wall is None:
        return "—"
    return f"{wall:.2f}" + (f" (CPU {cpu:.2f})" if cpu is not None else "")


def print_table(rows, browser_rows, runs: int) -> None:
    head = ("case", "cold s", f"warm s (median of {runs})", "target", "", "before: cold s", "before: warm s")
    lines = []
    for label, cold, cold_cpu, warm, warm_cpu, target, before in rows:
        verdict = "" if target is None else ("OK" if warm < target else "SLOW")
        lines.append((label, _seconds(cold, cold_cpu), _seconds(warm, warm_cpu),
                      f"< {target} s warm" if target else "—", verdict,
                      _seconds(*before[:2]) if before else "—", _seconds(*before[2:]) if before else "—"))
    for label, cold, warm, note in browser_rows:
        lines.append((label, "—" if cold is None else f"{cold:.2f}", "—" if warm is None else f"{warm:.2f}",
                      "—", note, "—", "—"))
    widths = [max(len(str(row[i])) for row in [head, *lines]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    print(fmt.format(*head))
    print("  ".join("-" * w for w in widths))
    for row in lines:
        print(fmt.format(*row))
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs "
          "(wall times grow on a busy machine; CPU time does not)")


if __name__ == "__main__":
    main()
