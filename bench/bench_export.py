#!/usr/bin/env python
"""Benchmark of the print exports, beside a headless Chromium screenshot of the map page.

Run from the project folder: ``python bench/bench_export.py [--runs 5]``.

* The app is created on a database in a temporary folder, seeded from ``../shared``.
* "cold" is the first export in a fresh process (a child process is started per
  case; creating its app is not counted, the lazy import of matplotlib is).
* "warm" is the median of ``--runs`` further calls in this process (wall clock,
  and the CPU time of the process, which does not depend on other load).
* Exports go through the Flask test client (the real routes, without sockets).
* The browser rows serve the same app with a werkzeug server thread on
  127.0.0.1 and time Playwright + /usr/bin/chromium: page load until the map
  has painted, then a screenshot (the cold row includes launching the browser).
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

CASES = [
    ("A4 landscape 300 dpi PNG", "/export.png?indicator=poverty_rate&year=2021", PNG_TARGET_S),
    ("A4 landscape PDF", "/export.pdf?indicator=poverty_rate&year=2021", None),
    ("A4 landscape SVG", "/export.svg?indicator=poverty_rate&year=2021", None),
    ("Small multiples, 4 years, A4 300 dpi PNG",
     "/export.png?indicator=poverty_rate&years=2016,2018,2020,2022", None),
]


def make_app(instance: Path):
    from mapapp import create_app

    return create_app({
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{instance}/mapapp.sqlite",
        "CACHE_DIR": str(instance / "cache"),
        "SHARED_DIR": str(SHARED),
    })


def timed_get(client, url: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one request; CPU time shows the cost on a machine that is not busy."""
    start, cpu = time.perf_counter(), time.process_time()
    response = client.get(url)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}: {response.get_data(as_text=True)[:300]}")
    return elapsed, cpu


def cold_child(instance: str, url: str) -> None:
    """In a fresh process: create the app (not timed), then time the first export."""
    client = make_app(Path(instance)).test_client()
    wall, cpu = timed_get(client, url)
    print(json.dumps({"wall": wall, "cpu": cpu}))


def cold_time(instance: Path, url: str) -> float:
    out = subprocess.run([sys.executable, __file__, "--cold-child", str(instance), url],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])["wall"]


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
    parser.add_argument("--cold-child", nargs=2, metavar=("INSTANCE", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_child:
        cold_child(*args.cold_child)
        return
    if not (SHARED / "geodata").is_dir():
        raise SystemExit(f"shared data not found at {SHARED}")
    with tempfile.TemporaryDirectory(prefix="mapapp-bench-") as tmp:
        instance = Path(tmp)
        app = make_app(instance)  # seeds the store once; children reuse it
        client = app.test_client()
        rows = []
        for label, url, target in CASES:
            cold = cold_time(instance, url)
            timed_get(client, url)  # this process's first call: warms caches
            runs = [timed_get(client, url) for _ in range(args.runs)]
            warm = statistics.median(wall for wall, _cpu in runs)
            warm_cpu = statistics.median(cpu for _wall, cpu in runs)
            rows.append((label, cold, warm, warm_cpu, target))
        browser_rows = [] if args.no_browser else browser_times(app, args.runs)
    print_table(rows, browser_rows, args.runs)


def print_table(rows, browser_rows, runs: int) -> None:
    head = ("case", "cold s", f"warm s (median of {runs})", "warm CPU s", "target", "")
    lines = []
    for label, cold, warm, warm_cpu, target in rows:
        verdict = "" if target is None else ("OK" if warm < target else "SLOW")
        lines.append((label, f"{cold:.2f}", f"{warm:.2f}", f"{warm_cpu:.2f}",
                      f"< {target} s warm" if target else "—", verdict))
    for label, cold, warm, note in browser_rows:
        lines.append((label, "—" if cold is None else f"{cold:.2f}", "—" if warm is None else f"{warm:.2f}",
                      "—", "—", note))
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
