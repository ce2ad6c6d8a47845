"""Names on the web map and finding a commune, in a real Chromium (offline, console clean)."""
from __future__ import annotations

import pytest
from browser_helpers import CHROMIUM, MapSession, chromium_browser  # noqa: F401 (fixture)
from conftest import needs_shared

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no system Chromium at /usr/bin/chromium (never downloaded)"),
    needs_shared,
]

LABEL_BOXES_JS = """() => Array.from(document.querySelectorAll('.mapapp-label'))
  .filter(e => getComputedStyle(e).display !== 'none' && getComputedStyle(e).visibility !== 'hidden')
  .map(e => { const r = e.getBoundingClientRect();
              return {code: e.dataset.code, text: e.textContent, l: r.left, t: r.top, r: r.right, b: r.bottom}; })"""


def overlapping(boxes):
    return [(a["text"], b["text"]) for n, a in enumerate(boxes) for b in boxes[n + 1:]
            if a["l"] < b["r"] and b["l"] < a["r"] and a["t"] < b["b"] and b["t"] < a["b"]]


@pytest.fixture()
def session(chromium_browser, live_server):
    s = MapSession(chromium_browser, live_server.url)
    yield s
    s.close()


def wait_labels(page):
    page.wait_for_function("() => document.body.dataset.labels !== undefined && document.body.dataset.labels !== '0'")
    return page.evaluate(LABEL_BOXES_JS)


def test_21_names_at_district_zoom_none_overlapping(session):
    page = session.open("?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
    boxes = wait_labels(page)
    page.screenshot(path="/tmp/labels-desktop.png")
    assert len(boxes) == 21, sorted(b["text"] for b in boxes)
    assert "TT. Khe Sanh" in {b["text"] for b in boxes}
    assert overlapping(boxes) == []
    # the names never cost the first paint: their points are asked for once the units are drawn
    order = page.evaluate("""() => {
      const layer = performance.getEntriesByName("mapapp:layer")[0].startTime;
      const points = performance.getEntriesByType("resource").filter(e => e.name.includes("/api/points"));
      return {layer: layer, points: points.map(e => e.startTime)}; }""")
    assert len(order["points"]) == 1 and order["points"][0] > order["layer"]
    legend = page.locator(".mapapp-legend").bounding_box()
    search = page.locator("#search-form").bounding_box()
    for b in boxes:  # never under the legend or the search box
        assert not (b["l"] < search["x"] + search["width"] and search["x"] < b["r"]
                    and b["t"] < search["y"] + search["height"] and search["y"] < b["b"]), b["text"]
        assert not (b["l"] < legend["x"] + legend["width"] and legend["x"] < b["r"]
                    and b["t"] < legend["y"] + legend["height"] and legend["y"] < b["b"]), b["text"]
    session.assert_clean()


@pytest.mark.parametrize("typed, code", [("huong lap", "19435"), ("Hướng Lập", "19435"), ("xa huong lap", "19435"),
                                         ("tt khe sanh", "19429"), ("TT Khe Sanh", "19429")])
def test_search_finds_zooms_and_highlights(session, typed, code):
    page = session.open("?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
    zoom = page.evaluate("() => window.mapapp.map.getZoom()")
    page.fill("#search", typed)
    first = page.locator("#search-results li").first
    first.wait_for(state="visible")
    assert first.get_attribute("data-code") == code
    page.press("#search", "Enter")
    page.wait_for_selector(f'body[data-focused="{code}"]', state="attached")
    assert page.evaluate("() => window.mapapp.map.getZoom()") > zoom
    assert page.get_attribute(f'path.mapapp-unit[data-code="{code}"]', "stroke") == "#00b4d8"
    assert page.locator(f'#ranking-panel-table tr.focused[data-code="{code}"]').count() == 1
    assert f"focus={code}" in page.url
    session.assert_clean()


def test_search_says_when_nothing_matches(session):
    page = session.open("?indicator=poverty_rate&year=2021&lang=en", painted="poverty_rate:2021")
    page.fill("#search", "zzz")
    page.wait_for_function("() => document.getElementById('search-status').textContent.includes('zzz')")
    assert page.locator("#search-results").is_hidden()
    assert "No commune matches" in page.text_content("#search-status")
    session.assert_clean()


def test_a_ranking_row_click_zooms_and_highlights_as_search_does(session):
    page = session.open("?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
    zoom = page.evaluate("() => window.mapapp.map.getZoom()")
    page.wait_for_selector('#ranking-panel-table tr[data-code="19435"]')
    page.click('#ranking-panel-table tr[data-code="19435"]')
    page.wait_for_selector('body[data-focused="19435"]', state="attached")
    assert page.evaluate("() => window.mapapp.map.getZoom()") > zoom
    assert page.get_attribute('path.mapapp-unit[data-code="19435"]', "stroke") == "#00b4d8"
    session.assert_clean()


MAP_SHARE_JS = """() => { const r = document.querySelector('.leaflet-container').getBoundingClientRect();
  const w = Math.max(0, Math.min(r.right, innerWidth) - Math.max(r.left, 0));
  const h = Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0));
  return w * h / (innerWidth * innerHeight); }"""


def test_phone_map_fills_the_screen_controls_fold_legend_collapses(chromium_browser, live_server):
    s = MapSession(chromium_browser, live_server.url, viewport={"width": 390, "height": 844}, phone=True)
    try:
        page = s.open("?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
        assert page.locator("#controls").is_hidden()
        assert page.evaluate(MAP_SHARE_JS) >= 0.6
        legend = page.locator(".mapapp-legend")
        assert page.locator(".mapapp-legend .legend-body").is_hidden()  # starts collapsed on a phone
        page.screenshot(path="/tmp/labels-phone.png")
        page.tap(".legend-toggle")
        page.locator(".mapapp-legend .legend-body").wait_for(state="visible")
        assert legend.bounding_box()["width"] < 390 * 0.6
        page.wait_for_timeout(200)
        box = legend.bounding_box()
        for b in page.evaluate(LABEL_BOXES_JS):  # the names make way for the opened legend
            assert not (b["l"] < box["x"] + box["width"] and box["x"] < b["r"]
                        and b["t"] < box["y"] + box["height"] and box["y"] < b["b"]), b["text"]
        page.tap(".legend-toggle")
        page.locator(".mapapp-legend .legend-body").wait_for(state="hidden")
        page.tap("#panel-toggle")
        page.locator("#indicator").wait_for(state="visible")
        assert page.get_attribute("#panel-toggle", "aria-expanded") == "true"
        page.screenshot(path="/tmp/labels-phone-panel.png")
        page.select_option("#indicator", "near_poverty_rate")
        s.wait_painted("near_poverty_rate:2021")
        page.tap("#panel-close")
        page.locator("#indicator").wait_for(state="hidden")
        assert page.evaluate(MAP_SHARE_JS) >= 0.6
        box = page.locator("#panel-toggle").bounding_box()
        assert box["height"] >= 40  # a finger's size
        s.assert_clean()
    finally:
        s.close()


@pytest.fixture(scope="module")
def crowded_atlas(tmp_path_factory):
    """The Quảng Trị atlas (141 communes) drawn on a canvas, with names only when at most 40 units are in view."""
    from conftest import make_app

    return make_app(tmp_path_factory.mktemp("atlas-labels"), ATLAS="quang-tri", CANVAS_MIN_UNITS=100,
                    LABELS_MAX_IN_VIEW=40)


def test_atlas_names_wait_for_zoom_then_never_collide(chromium_browser, crowded_atlas, live_server_for):
    with live_server_for(crowded_atlas) as server:
        s = MapSession(chromium_browser, server.url)
        try:
            page = s.open("?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
            page.wait_for_selector("body[data-labels-crowded]", state="attached")
            page.wait_for_timeout(300)  # would a late fetch or draw still come?
            assert page.evaluate(LABEL_BOXES_JS) == []
            assert not any(r.startswith("/api/points") for r in s.api_requests)  # nothing fetched for nothing
            # 2.5 levels in: a dozen communes in view (3 levels in leaves only the 4-5 around the centre)
            page.evaluate("() => window.mapapp.map.setZoom(window.mapapp.map.getZoom() + 2.5, {animate: false})")
            boxes = wait_labels(page)
            page.screenshot(path="/tmp/labels-atlas.png")
            assert len(boxes) >= 5
            assert overlapping(boxes) == []
            size = page.evaluate("() => [innerWidth, innerHeight]")
            assert all(0 <= b["l"] and b["r"] <= size[0] and 0 <= b["t"] and b["b"] <= size[1] for b in boxes)
            s.assert_clean()
        finally:
            s.close()


def test_province_names_on_svg_never_collide(chromium_browser, atlas_app, live_server_for):
    with live_server_for(atlas_app) as server:
        s = MapSession(chromium_browser, server.url)
        try:
            page = s.open("?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
            boxes = wait_labels(page)
            assert 10 <= len(boxes) < 141  # the province seen whole: the names that fit
            assert overlapping(boxes) == []
            s.assert_clean()
        finally:
            s.close()


def test_name_toggles_are_kept_in_the_address(session):
    page = session.open("?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
    wait_labels(page)
    page.check("#label-values")
    page.wait_for_function("() => Array.from(document.querySelectorAll('.mapapp-label')).some(e => e.textContent.includes('\\n'))")
    lap = page.text_content('.mapapp-label[data-code="19435"]')
    assert lap.split("\n") == ["Hướng Lập", "31,2"]  # the value as the ranking shows it, Vietnamese decimals
    assert "label_values=1" in page.url
    boxes = page.evaluate(LABEL_BOXES_JS)
    assert overlapping(boxes) == []
    page.uncheck("#labels")
    page.wait_for_selector('body[data-labels="0"]', state="attached")
    assert page.evaluate(LABEL_BOXES_JS) == []
    assert "labels=0" in page.url
    page.reload()
    session.wait_painted("poverty_rate:2021")
    assert not page.is_checked("#labels") and page.is_checked("#label-values")
    page.wait_for_timeout(300)
    assert page.evaluate(LABEL_BOXES_JS) == []
    session.assert_clean()


def test_the_page_folds_names_exactly_as_the_server(chromium_browser, atlas_app, live_server_for):
    """static/map/search.js foldName against mapapp.core.names.search_key, on the 141 names of a province."""
    from mapapp.core.names import search_key

    with live_server_for(atlas_app) as server:
        s = MapSession(chromium_browser, server.url)
        try:
            page = s.open("?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
            units = atlas_app.test_client().get("/api/units?year=2021").get_json()["features"]
            names = [f["properties"]["name"] for f in units]
            names += ["Thị trấn Khe Sanh", "TT. Khe Sanh", "tt khe sanh", "XÃ HƯỚNG LẬP", "Xa\u0303 Hu\u031bo\u031b\u0301ng La\u0323\u0302p",
                      "Phường 1", "  Đakrông  ", "thi tran  Lao Bao"]
            folded = page.evaluate("""async (names) => {
              const search = await import("/static/map/search.js");
              return names.map(n => search.foldName(n, false)); }""", names)
            assert folded == [search_key(n) for n in names]
            s.assert_clean()
        finally:
            s.close()
