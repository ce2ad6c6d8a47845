"""In Chromium over real HTTP: the first frame shows the map before any script, and the live map
takes its place exactly (no jump), on a desktop and on a phone."""
from __future__ import annotations

from urllib.request import urlopen

import pytest
from browser_helpers import TIMEOUT_MS, MapSession, chromium_browser  # noqa: F401 - a fixture
from conftest import needs_shared

pytestmark = needs_shared

BOX_JS = """(selector) => { const r = document.querySelector(selector).getBoundingClientRect();
  return [r.left, r.top, r.right, r.bottom]; }"""
VIEWPORTS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}


def _frame_alone(browser, base_url: str, viewport: dict) -> tuple[list[float], int]:
    """The page with Leaflet never arriving: the outline's box in the first frame, and its path count."""
    session = MapSession(browser, base_url, viewport=viewport)
    try:
        session.context.route("**/leaflet.js", lambda route: route.abort())
        page = session.open("?indicator=poverty_rate&year=2019")
        page.wait_for_selector("#map-frame path.outline", state="visible")
        page.wait_for_timeout(300)  # nothing will replace it: no script runs without Leaflet
        assert page.locator("body[data-painted]").count() == 0
        page.wait_for_function("() => document.getElementById('status').textContent.includes('(leaflet.js)')")
        assert "Không tải được bản đồ tương tác" in page.locator("#status").inner_text()  # and says so
        return page.evaluate(BOX_JS, "#map-frame path.outline"), page.locator("#map-frame path").count()
    finally:
        session.close()


@pytest.mark.parametrize("name", sorted(VIEWPORTS))
def test_the_live_map_takes_the_first_frames_place(chromium_browser, live_server, name, tmp_path):  # noqa: F811
    viewport = VIEWPORTS[name]
    frame_box, paths = _frame_alone(chromium_browser, live_server.url, viewport)
    assert paths == 23  # the 22 communes of 2019 and the district's outline
    session = MapSession(chromium_browser, live_server.url, viewport=viewport)
    try:
        page = session.open("?indicator=poverty_rate&year=2019", painted="poverty_rate:2019")
        assert page.locator("#map-frame").count() == 0  # gone at the live map's first paint
        live_box = page.evaluate(BOX_JS, "path.mapapp-outline")
        assert all(abs(a - b) <= 2 for a, b in zip(frame_box, live_box)), (frame_box, live_box)
        page.screenshot(path=str(tmp_path / f"live-{name}.png"))
        session.assert_clean()
    finally:
        session.close()


def test_without_javascript_the_first_frame_is_the_map(chromium_browser, live_server, tmp_path):  # noqa: F811
    context = chromium_browser.new_context(viewport=VIEWPORTS["desktop"], java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_server.url)
                  else route.abort())
    try:
        page = context.new_page()
        page.goto(live_server.url + "/?indicator=poverty_rate&year=2019&lang=en")
        width, height = page.evaluate("""() => { const r = document.querySelector('#map-frame svg').getBoundingClientRect();
                                              return [r.width, r.height]; }""")
        assert width > 200 and height > 300
        legend = page.locator("#map-frame .frame-legend")
        text = legend.inner_text()
        assert legend.is_visible() and "Poverty rate" in text and "illustrative" in text.lower()
        page.screenshot(path=str(tmp_path / "no-javascript.png"))
    finally:
        context.close()


IMAGE_BOX_JS = """() => { const img = document.querySelector('#map-frame img'), r = img.getBoundingClientRect();
  const scale = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
  const w = img.naturalWidth * scale, h = img.naturalHeight * scale;
  return [r.left + (r.width - w) / 2, r.top + (r.height - h) / 2, r.left + (r.width + w) / 2, r.top + (r.height + h) / 2]; }"""


def test_a_large_maps_image_frame_is_where_the_live_map_comes(chromium_browser, live_server, monkeypatch):  # noqa: F811
    from mapapp.present import first_frame

    monkeypatch.setattr(first_frame, "MAX_UNITS", 0)  # the 22 communes framed as a country's would be
    view = "?indicator=poverty_rate&year=2019&k=4"  # a page of its own (pages are cached per query)
    session = MapSession(chromium_browser, live_server.url, viewport=VIEWPORTS["desktop"])
    try:
        session.context.route("**/leaflet.js", lambda route: route.abort())
        page = session.open(view)
        page.wait_for_function("() => { const i = document.querySelector('#map-frame img'); return i && i.complete && i.naturalWidth > 0; }")
        image_box = page.evaluate(IMAGE_BOX_JS)
    finally:
        session.close()
    session = MapSession(chromium_browser, live_server.url, viewport=VIEWPORTS["desktop"])
    try:
        page = session.open(view, painted="poverty_rate:2019")
        assert page.locator("#map-frame").count() == 0
        live_box = page.evaluate(BOX_JS, "path.mapapp-outline")
        assert all(abs(a - b) <= 2 for a, b in zip(image_box, live_box)), (image_box, live_box)
        session.assert_clean()
    finally:
        session.close()


def test_nothing_is_lost_behind_the_first_frame(chromium_browser, live_server, tmp_path):  # noqa: F811
    """The frame comes first; then the live map brings names, surroundings, circles, projects and the ranking."""
    session = MapSession(chromium_browser, live_server.url, viewport=VIEWPORTS["desktop"])
    try:
        query = "?indicator=poverty_rate&year=2023&circles=1"
        with urlopen(live_server.url + "/" + query) as response:  # the document the browser gets
            assert 'id="map-frame"' in response.read().decode()
        page = session.open(query, painted="poverty_rate:2023")
        page.wait_for_function("() => Number(document.body.dataset.labels) >= 10")
        page.wait_for_selector("body[data-context]", state="attached")
        assert int(page.get_attribute("body", "data-context")) > 0
        page.wait_for_selector('body[data-circles="numerator"]', state="attached")
        assert page.locator("path.mapapp-circle").count() > 10
        page.wait_for_selector(".leaflet-marker-icon", state="attached")  # the year's projects (clustered or not)
        page.wait_for_function("() => document.querySelectorAll('#ranking-panel-table tbody tr').length === 21")
        page.screenshot(path=str(tmp_path / "everything.png"))
        session.assert_clean()
    finally:
        session.close()


# Seen at each animation frame from the document's start: the first frame with the map in it, and
# whether Leaflet had run by then (window.L) or its script was anywhere in the document.
FIRST_FRAME_WATCH = """(() => {
  const seen = window.__firstFrame = { leafletRan: null, leafletTag: null };
  const tick = () => {
    if (document.getElementById('map-frame') && seen.leafletRan === null) {
      seen.leafletRan = typeof window.L !== 'undefined';
      seen.leafletTag = !!document.querySelector('script[src*="leaflet"], link[href*="leaflet"]');
    } else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();"""


def test_the_first_frame_is_on_screen_before_leaflet_is_asked_for(chromium_browser, live_server):  # noqa: F811
    session = MapSession(chromium_browser, live_server.url, viewport=VIEWPORTS["desktop"])
    try:
        session.context.add_init_script(FIRST_FRAME_WATCH)
        page = session.open("?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
        assert page.evaluate("window.__firstFrame") == {"leafletRan": False, "leafletTag": False}
        assert page.evaluate("typeof window.L") == "object"  # and the live map came after it
        session.assert_clean()
    finally:
        session.close()
