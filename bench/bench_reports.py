#!/usr/bin/env python
"""Benchmark of the documents staff hand in: ``/report.docx`` and ``/sheets.pdf?year=2024``.

Run from the project folder: ``.venv/bin/python bench/bench_reports.py [--runs 3]``.

* The app is created on a database in a temporary folder, seeded from ``../shared``.
* It is served by a real HTTP server (werkzeug ``make_server``, threaded, on 127.0.0.1 in a
  background thread); every request is a real ``urllib`` request.
* "cold" is the first request after the app is created (fonts, geometry, matplotlib);
  "warm" is the median of ``--runs`` further requests: wall clock, and the CPU seconds of this
  process over the request (server and client share it), which do not depend on other load.
* The machine's load (``os.getloadavg``) is printed before and after: on a shared machine the
  wall-clock times grow with it, the CPU seconds much less.

Targets (issue 14): ``/report.docx`` < 2 s warm; ``/sheets.pdf`` for 21 communes < 10 s.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
CASES = [("/report.docx?indicator=poverty_rate&year=2024&compare=2016", 2.0),
         ("/sheets.pdf?year=2024", 10.0)]


def _fetch(url: str) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    with urllib.request.urlopen(url, timeout=600) as response:
        body = response.read()
        assert response.status == 200, response.status
    return time.perf_counter() - wall, time.process_time() - cpu, len(body)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=3, help="warm requests per case (median)")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    from werkzeug.serving import make_server

    from mapapp import create_app

    with tempfile.TemporaryDirectory(prefix="bench-reports-") as tmp:
        app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp}/mapapp.sqlite",
                          "CACHE_DIR": f"{tmp}/cache", "SHARED_DIR": str(SHARED)})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())} ({os.cpu_count()} CPUs)")
        try:
            for path, target in CASES:
                cold, cold_cpu, size = _fetch(base + path)
                warm = [_fetch(base + path) for _ in range(args.runs)]
                wall = statistics.median(w for w, _, _ in warm)
                cpu = statistics.median(c for _, c, _ in warm)
                verdict = "ok" if wall < target else "over target"
                print(f"{path}: {size / 1024:.0f} KB; cold {cold:.2f} s (CPU {cold_cpu:.2f} s); "
                      f"warm median of {args.runs}: {wall:.2f} s (CPU {cpu:.2f} s); target < {target:.0f} s: {verdict}")
        finally:
            server.shutdown()
            thread.join(timeout=5)
        print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
