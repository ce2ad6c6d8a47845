"""Helpers of the real-browser tests (tests/test_browser.py).

A :class:`MapSession` is one browser context + page on the app's live server with:

* a route on ``**/*`` that lets through only requests to 127.0.0.1/localhost and
  aborts and records every other one (the app must work with no internet);
* console errors, page errors and dialogs recorded;
* every request to ``/api/...`` recorded (path + query), to check what the page fetches.

Call :meth:`MapSession.assert_clean` at the end of a test.
"""
from __future__ import annotations

import json
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = ("127.0.0.1", "localhost")
TIMEOUT_MS = 10_000

# Returns a viewport point where ``document.elementFromPoint`` is the unit's own path
# (the centre of a bounding box can be outside a concave polygon or under a marker).
POINT_INSIDE_UNIT_JS = """
(code) => {
  const el = document.querySelector(`path.mapapp-unit[data-code="${code}"]`);
  if (!el) return null;
  const r = el.getBoundingClientRect();
  const step = Math.max(1, Math.min(r.width, r.height) / 25);
  const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
  const points = [];
  for (let y = r.top + step / 2; y < r.bottom; y += step)
    for (let x = r.left + step / 2; x < r.right; x += step) points.push([x, y]);
  points.sort((a, b) => Math.hypot(a[0] - cx, a[1] - cy) - Math.hypot(b[0] - cx, b[1] - cy));
  for (const [x, y] of points) {
    if (document.elementFromPoint(x, y) === el) return { x: x, y: y };
  }
  return null;
}
"""


class MapSession:
    """One isolated browser context and page, offline except for the local server."""

    def __init__(self, browser, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.blocked: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self.api_requests: list[str] = []   # "/api/values?indicator=...", in order
        self.context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="vi-VN")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.on("dialog", self._on_dialog)
        self.page.on("request", self._on_request)

    # -- recording -----------------------------------------------------------------
    def _route(self, route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _on_console(self, message):
        if message.type == "error":
            self.console_errors.append(f"{message.text} @ {message.location}")

    def _on_dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _on_request(self, request):
        parts = urlsplit(request.url)
        if parts.hostname in LOCAL_HOSTS and parts.path.startswith("/api/"):
            self.api_requests.append(parts.path + ("?" + parts.query if parts.query else ""))

    # -- actions ---------------------------------------------------------------------
    def open(self, query: str, painted: str | None = None):
        """Load ``/<query>`` and wait until the page has painted ``painted`` ("indicator:year")."""
        self.page.goto(f"{self.base_url}/{query}")
        if painted:
            self.wait_painted(painted)
        return self.page

    def wait_painted(self, painted: str):
        self.page.wait_for_selector(f'body[data-painted="{painted}"]', state="attached")

    def units(self):
        return self.page.locator("path.mapapp-unit")

    def hover_unit(self, code: str):
        """Move the real mouse onto a point of the unit's polygon; return the visible tooltip."""
        self.page.mouse.move(2, 2)
        point = self.page.evaluate(POINT_INSIDE_UNIT_JS, code)
        assert point is not None, f"no visible point of the polygon of unit {code}"
        self.page.mouse.move(point["x"], point["y"])   # one jump: no other polygon on the way
        # a closed tooltip fades out for 200 ms before it is removed: wait for exactly one
        self.page.wait_for_function("() => document.querySelectorAll('.leaflet-tooltip').length === 1")
        tooltip = self.page.locator(".leaflet-tooltip")
        tooltip.wait_for(state="visible")
        return tooltip

    def _first_uncovered(self, selector: str) -> int | None:
        """Index of the first element of ``selector`` whose centre is not covered (legend, popup...)."""
        return self.page.eval_on_selector_all(selector, """els => {
            const i = els.findIndex(e => {
              const r = e.getBoundingClientRect();
              const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
              return hit !== null && (hit === e || e.contains(hit));
            });
            return i < 0 ? null : i;
        }""")

    def open_project_popup(self, max_clicks: int = 12):
        """Click markers (zooming into clusters as needed) until a project popup opens."""
        page = self.page
        marker_sel = ".leaflet-marker-icon:not(.marker-cluster)"
        cluster_sel = ".leaflet-marker-icon.marker-cluster"
        page.wait_for_selector(".leaflet-marker-icon", state="attached")  # the projects follow the map's paint
        for _ in range(max_clicks):
            index = self._first_uncovered(marker_sel)
            if index is not None:
                page.locator(marker_sel).nth(index).click()
                popup = page.locator(".leaflet-popup-content")
                popup.wait_for(state="visible")
                return popup
            index = self._first_uncovered(cluster_sel)
            assert index is not None, "no uncovered marker or cluster icon on the map"
            zoom = page.evaluate("() => window.mapapp.map.getZoom()")
            page.locator(cluster_sel).nth(index).click()
            # zoomed in (cluster split) or spiderfied (single markers shown), and animations done
            page.wait_for_function(
                """(zoom) => (window.mapapp.map.getZoom() !== zoom ||
                              document.querySelector('.leaflet-marker-icon:not(.marker-cluster)')) &&
                             !window.mapapp.map._animatingZoom &&
                             !document.querySelector('.leaflet-cluster-anim')""",
                arg=zoom,
            )
        raise AssertionError(f"no popup opened after {max_clicks} clicks on markers/clusters")

    # -- checks ----------------------------------------------------------------------
    def assert_clean(self):
        assert self.blocked == [], f"requests to other hosts than the local server: {self.blocked}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"
        assert self.page_errors == [], f"page errors: {self.page_errors}"
        assert self.dialogs == [], f"dialogs opened: {self.dialogs}"

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def chromium_browser():
    """One headless Debian Chromium per test module (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@contextmanager
def session_opener(browser, session_class=None):
    """Yield ``open(base_url)`` making sessions of ``session_class`` (default :class:`MapSession`); all closed on exit."""
    opened = []

    def _open(base_url):
        session = (session_class or MapSession)(browser, base_url)
        opened.append(session)
        return session

    try:
        yield _open
    finally:
        for session in opened:
            session.close()


@pytest.fixture()
def open_session(chromium_browser):
    """``open_session(base_url)`` → a :class:`MapSession`; closed at the end of the test."""
    with session_opener(chromium_browser) as open_:
        yield open_


def api(base_url: str, path: str) -> dict:
    """The JSON of ``GET base_url + path`` (a real HTTP request)."""
    with urllib.request.urlopen(base_url + path, timeout=10) as response:
        return json.load(response)
