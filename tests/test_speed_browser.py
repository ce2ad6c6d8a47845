"""In Chromium over real HTTP: the map paints from one document request on a second visit.

Playwright's request routing turns the browser's HTTP cache off, so these sessions do not
route: requests are counted where they arrive, at the server (a WSGI wrapper), and any
request to another host is recorded from the page's own events.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from browser_helpers import LOCAL_HOSTS, TIMEOUT_MS, chromium_browser  # noqa: F401 - a fixture
from conftest import LiveServer, make_app, needs_shared

pytestmark = needs_shared


class Counting:
    """WSGI middleware recording every request path (with its query) the server receives."""

    def __init__(self, app):
        self.app, self.paths = app, []

    def __call__(self, environ, start_response):
        query = environ.get("QUERY_STRING")
        self.paths.append(environ["PATH_INFO"] + ("?" + query if query else ""))
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def counted(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("speed-browser"))
    counter = Counting(app.wsgi_app)
    app.wsgi_app = counter
    with LiveServer(app) as server:
        yield server, counter


def _page(browser, viewport, foreign):
    context = browser.new_context(viewport=viewport, locale="vi-VN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("request", lambda r: foreign.append(r.url)
            if urlsplit(r.url).scheme in ("http", "https") and urlsplit(r.url).hostname not in LOCAL_HOSTS else None)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors


# The last of the years a 2019 view of the poverty rate prefetches has arrived (from the server or the HTTP cache).
PREFETCHED_JS = """() => performance.getEntriesByType('resource').some(e =>
  e.name.includes('/api/values?indicator=poverty_rate&year=2025&') && e.responseEnd > 0)"""


def test_second_visit_paints_from_the_document_alone(chromium_browser, counted):  # noqa: F811
    server, counter = counted
    foreign: list[str] = []
    context, page, errors = _page(chromium_browser, {"width": 1280, "height": 800}, foreign)
    try:
        page.goto(server.url + "/?year=2019")
        page.wait_for_selector('body[data-painted="poverty_rate:2019"]', state="attached")
        page.wait_for_function("() => document.querySelectorAll('#ranking-panel-table tbody tr').length > 0")
        first = [p for p in counter.paths if p != "/favicon.ico"]
        # the first view's values and geometry were in the page (other years may be prefetching already)
        assert not any(p.startswith(("/api/values?indicator=poverty_rate&year=2019&", "/api/geometry")) for p in first), first
        page.wait_for_function(PREFETCHED_JS)  # the page's prefetch of the other years has ended
        counter.paths.clear()
        page.goto(server.url + "/?year=2019")
        page.wait_for_selector('body[data-painted="poverty_rate:2019"]', state="attached")
        at_paint = [p for p in counter.paths if p != "/favicon.ico"]
        # Everything but the page itself came from the cache; the panel's data follows the paint.
        assert at_paint[0] == "/?year=2019"
        assert [p for p in at_paint[1:] if not p.startswith(("/ranking.json", "/api/projects"))] == [], at_paint
        page.wait_for_function("() => document.querySelectorAll('#ranking-panel-table tbody tr').length > 0")
        assert page.locator("path.mapapp-unit").count() == 22  # the 22 units of 2019
        # once painted, the page fetches the indicator's other years, one after another...
        page.wait_for_function(PREFETCHED_JS)
        prefetched = page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)"
                                   ".filter(n => n.includes('/api/values?'))")  # from the server or the HTTP cache
        assert sorted(int(p.split("year=")[1].split("&")[0]) for p in prefetched) == [
            y for y in range(2016, 2026) if y != 2019], prefetched
        # ... so a year change, the slider or ▶ play, repaints with no values request (2024 is on the
        # 2020-2025 boundaries: their geometry is fetched once, when first shown)
        counter.paths.clear()
        page.evaluate("window.mapapp.state.year = 2024; window.mapapp.update()")
        page.wait_for_selector('body[data-painted="poverty_rate:2024"]', state="attached")
        assert not any(p.startswith("/api/values") for p in counter.paths), counter.paths
        page.screenshot(path=str(server_shot("desktop")))
        phone_context, phone, phone_errors = _page(chromium_browser, {"width": 390, "height": 844}, foreign)
        phone.goto(server.url + "/?year=2024&lang=en")
        phone.wait_for_selector('body[data-painted="poverty_rate:2024"]', state="attached")
        phone.screenshot(path=str(server_shot("phone")))
        phone_context.close()
        assert errors == [] and phone_errors == [] and foreign == []
    finally:
        context.close()


def server_shot(name: str):
    from conftest import REPO_ROOT

    folder = REPO_ROOT / "instance" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"speed-{name}.png"
