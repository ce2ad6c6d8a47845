"""Real-browser tests of the planner tools (Playwright, the system's Chromium, offline).

Every request to another host than the local server is aborted and fails the test,
as do console errors, page errors and dialogs (:class:`browser_helpers.MapSession`).
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from browser_helpers import CHROMIUM, POINT_INSIDE_UNIT_JS, MapSession, api, chromium_browser, open_session  # noqa: F401 (fixture)
from conftest import needs_shared

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no system Chromium at /usr/bin/chromium (never downloaded)"),
    needs_shared,
]

HUC, KHE_SANH, LIA = "19468", "19429", "19489"


@pytest.fixture()
def session(chromium_browser, live_server):
    s = MapSession(chromium_browser, live_server.url)
    yield s
    s.close()



def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def highlighted(page) -> set[str]:
    return set(page.eval_on_selector_all('path.mapapp-unit[data-highlight="1"]',
                                         "els => els.map(e => e.getAttribute('data-code'))"))


def panel_codes(page) -> list[str]:
    return page.eval_on_selector_all("#ranking-panel-table tbody tr", "els => els.map(e => e.dataset.code)")


def test_threshold_filter_highlights_the_right_communes(live_server, session):
    page = session.open("?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
    page.wait_for_selector('body[data-ranked="poverty_rate:2021:21"]', state="attached")
    assert highlighted(page) == set()
    records = api(live_server.url, "/api/values?indicator=poverty_rate&year=2021")["records"]
    expected = {r["code"] for r in records if r["value"] is not None and r["value"] >= 30}
    assert 0 < len(expected) < 21

    page.fill("#threshold-min", "30")
    page.press("#threshold-min", "Enter")
    page.wait_for_function("(n) => document.querySelectorAll('path.mapapp-unit[data-highlight=\"1\"]').length === n",
                           arg=len(expected))
    page.wait_for_selector(f'body[data-ranked="poverty_rate:2021:{len(expected)}"]', state="attached")
    assert highlighted(page) == expected
    assert set(panel_codes(page)) == expected
    assert query_of(page.url)["min"] == "30"
    for code in expected:  # outlined, colour kept
        path = page.locator(f'path.mapapp-unit[data-code="{code}"]')
        assert path.get_attribute("stroke") == "#111111" and path.get_attribute("stroke-width") == "3"
        assert path.get_attribute("fill").lower() == next(r["color"] for r in records if r["code"] == code).lower()
    assert "≥ 30" in page.locator("#ranking-summary").text_content()
    assert "≥ 30" in page.locator(".mapapp-legend").text_content()
    for fmt in ("csv", "xlsx", "json"):
        assert query_of(page.locator(f"#download-{fmt}").get_attribute("href"))["min"] == "30"

    # the permalink gives the same view; a decimal comma is understood
    page = session.open("?indicator=poverty_rate&year=2021&min=30", painted="poverty_rate:2021")
    page.wait_for_selector(f'body[data-ranked="poverty_rate:2021:{len(expected)}"]', state="attached")
    assert highlighted(page) == expected
    page.fill("#threshold-min", "20,5")
    page.press("#threshold-min", "Enter")
    wider = {r["code"] for r in records if r["value"] is not None and r["value"] >= 20.5}
    page.wait_for_function("(n) => document.querySelectorAll('path.mapapp-unit[data-highlight=\"1\"]').length === n",
                           arg=len(wider))
    assert highlighted(page) == wider
    session.assert_clean()


def test_row_click_focuses_the_commune_and_a_commune_click_selects_its_row(session):
    page = session.open("?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
    page.wait_for_selector('body[data-ranked="poverty_rate:2021:21"]', state="attached")
    zoom = page.evaluate("() => window.mapapp.map.getZoom()")
    page.locator(f'#ranking-panel-table tr[data-code="{HUC}"]').click()
    page.wait_for_selector(f'body[data-focused="{HUC}"]', state="attached")
    assert page.evaluate("() => window.mapapp.map.getZoom()") > zoom
    assert page.locator(f'path.mapapp-unit[data-code="{HUC}"]').get_attribute("stroke") == "#00b4d8"
    assert "Xã Húc" in page.locator(".leaflet-popup-content").text_content()
    assert query_of(page.url)["focus"] == HUC
    assert "focused" in page.locator(f'#ranking-panel-table tr[data-code="{HUC}"]').get_attribute("class")

    page.locator(".leaflet-popup-close-button").click()
    page.evaluate("() => window.mapapp.map.setZoom(10, {animate: false})")
    point = page.evaluate(POINT_INSIDE_UNIT_JS, KHE_SANH)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("(code) => document.querySelector(`#ranking-panel-table tr[data-code='${code}']`)"
                           ".classList.contains('focused')", arg=KHE_SANH)
    assert "focused" not in (page.locator(f'#ranking-panel-table tr[data-code="{HUC}"]').get_attribute("class") or "")
    assert query_of(page.url)["focus"] == KHE_SANH
    session.assert_clean()


def test_boundaries_selector_shows_2019_data_on_the_2025_communes(session):
    page = session.open("?indicator=poverty_rate&year=2019", painted="poverty_rate:2019")
    assert session.units().count() == 22
    page.select_option("#units-year", "2025")
    page.wait_for_function("() => document.querySelectorAll('path.mapapp-unit').length === 7")
    page.wait_for_function("() => document.getElementById('map-title').textContent.includes('ranh giới 2025')")
    assert query_of(page.url)["units_year"] == "2025"
    tooltip = session.hover_unit(KHE_SANH).text_content()
    assert "Tổng hợp từ" in tooltip and "Xã Tân Hợp" in tooltip and "Xã Húc" in tooltip
    page.select_option("#units-year", "")
    page.wait_for_function("() => document.querySelectorAll('path.mapapp-unit').length === 22")
    session.assert_clean()


def test_change_map_colours_by_change_with_a_legend_in_percentage_points(live_server, session):
    page = session.open("?indicator=poverty_rate&year=2024&compare=2016&units_year=2025", painted="poverty_rate:2024")
    assert session.units().count() == 7
    body = api(live_server.url, "/api/values?indicator=poverty_rate&year=2024&units_year=2025&compare=2016")
    colours = {r["code"]: r["color"].lower() for r in body["records"]}
    fills = dict(page.eval_on_selector_all("path.mapapp-unit",
                                           "els => els.map(e => [e.dataset.code, e.getAttribute('fill')])"))
    assert {k: v.lower() for k, v in fills.items()} == colours
    legend = page.locator(".mapapp-legend").text_content()
    assert "điểm phần trăm" in legend and "2016 → 2024" in legend
    tooltip = session.hover_unit(LIA).text_content()
    assert "Thay đổi 2016 → 2024" in tooltip and "Tổng hợp từ" in tooltip
    assert page.locator("#compare").input_value() == "2016"
    session.assert_clean()


def test_profile_page_charts_render_with_no_request_to_another_host(live_server, session):
    page = session.open("?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
    point = page.evaluate(POINT_INSIDE_UNIT_JS, LIA)
    page.mouse.click(point["x"], point["y"])
    link = page.locator(".leaflet-popup-content a.profile-link")
    assert link.get_attribute("href") == f"/communes/{LIA}?valid_from=2020-01-01"
    link.click()
    page.wait_for_selector("#profile-name")
    assert page.locator("#profile-name").text_content().startswith("Xã Lìa")
    charts = page.locator("svg.chart")
    assert charts.count() >= 6
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 80
        assert charts.nth(i).locator("circle.point").count() >= 1
    assert "Xã A Túc" in page.locator("#predecessors").text_content()
    assert page.evaluate("() => document.scripts.length") == 0
    session.assert_clean()


def test_side_by_side_maps_move_together(session):
    page = session.open("compare?indicator=poverty_rate&year=2016&year2=2024", painted=None)
    page.wait_for_selector('body[data-painted="poverty_rate:2016:2024"]', state="attached")
    assert page.locator("#map-left path.mapapp-unit").count() == 22
    assert page.locator("#map-right path.mapapp-unit").count() == 21
    centre = "() => { const c = window.compareApp.maps.left.getCenter(); return [c.lat, c.lng]; }"
    before = page.evaluate(centre)
    box = page.locator("#map-left").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y + 60, steps=8)
    page.mouse.up()
    page.evaluate("() => window.compareApp.maps.left.zoomIn(1, {animate: false})")
    idle = """() => ['left', 'right'].every(s => !window.compareApp.maps[s]._panAnim ||
                                                  !window.compareApp.maps[s]._panAnim._inProgress)"""
    page.wait_for_function(idle)
    centres = page.evaluate("""() => ['left', 'right'].map(s => {
        const m = window.compareApp.maps[s]; const c = m.getCenter(); return [c.lat, c.lng, m.getZoom()]; })""")
    assert centres[0][2] == centres[1][2]
    # same centre up to Leaflet's whole-pixel rounding of each map's origin (2 px at this zoom)
    two_pixels = 2 * 360 / (256 * 2 ** centres[0][2])
    assert centres[0][0] == pytest.approx(centres[1][0], abs=two_pixels)
    assert centres[0][1] == pytest.approx(centres[1][1], abs=two_pixels)
    assert centres[0][:2] != pytest.approx(before, abs=1e-3)  # the drag really moved the maps
    # both maps show the surroundings: the neighbouring districts, and Laos beyond the border
    page.wait_for_selector("body[data-context]", state="attached")
    for side in ("left", "right"):
        assert page.locator(f"#map-{side} path.mapapp-context-district").count() >= 3
        assert page.locator(f"#map-{side} .context-country").inner_text() == "LÀO / LAOS"
    page.select_option("#year2", "2025")
    page.wait_for_selector('body[data-painted="poverty_rate:2016:2025"]', state="attached")
    assert page.locator("#map-right path.mapapp-unit").count() == 7
    assert query_of(page.url)["year2"] == "2025"
    session.assert_clean()


def test_side_by_side_maps_name_their_communes(session):
    page = session.open("compare?indicator=poverty_rate&year=2016&year2=2025", painted=None)
    page.wait_for_selector('body[data-painted="poverty_rate:2016:2025"]', state="attached")
    # each map places its names once its own version's points arrive, in either order
    page.wait_for_function(
        "() => ['left', 'right'].every(side => document.body.getAttribute('data-labels-' + side) > 0)")
    page.wait_for_selector("body[data-context]", state="attached")
    left = page.locator("#map-left .mapapp-label:visible").all_inner_texts()
    right = page.locator("#map-right .mapapp-label:visible").all_inner_texts()
    assert len(left) >= 15 and "Hướng Lập" in left and "TT. Khe Sanh" in left  # 22 communes of 2016
    assert len(right) == 7 and "Khe Sanh" in right and "TT. Khe Sanh" not in right  # the 7 communes of 2025
    assert int(page.locator("body").get_attribute("data-labels-left")) == len(left)
    # names never overlap one another, and the towns' own names give way to them
    boxes = page.locator("#map-left .mapapp-label:visible").evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })")
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5), (a, b)
    assert page.locator("#map-left .context-town span").first.evaluate("e => getComputedStyle(e).visibility") == "hidden"
    # zoomed in, the names are placed again for the new view, on both maps
    page.evaluate("() => window.compareApp.maps.left.setZoom(window.compareApp.maps.left.getZoom() + 2, {animate: false})")
    page.wait_for_function("() => Number(document.body.getAttribute('data-labels-left')) < 15")
    session.assert_clean()
    hidden = session.open("compare?indicator=poverty_rate&year=2016&year2=2025&labels=0", painted=None)
    hidden.wait_for_selector('body[data-painted="poverty_rate:2016:2025"]', state="attached")
    assert hidden.locator(".mapapp-label").count() == 0 and query_of(hidden.url)["labels"] == "0"
    session.assert_clean()


def test_side_by_side_draws_counts_as_circles_on_one_scale(session, live_server):
    page = session.open("compare?indicator=poverty_rate&year=2016&year2=2019&circles=1", painted=None)
    page.wait_for_selector('body[data-painted="poverty_rate:2016:2019"]', state="attached")
    pair = api(live_server.url, "/compare.json?indicator=poverty_rate&year=2016&year2=2019&circles=1")
    scale = pair["left"]["circles"]
    radius = "el => el.getBBox().width / 2"
    drawn = {}
    for side in ("left", "right"):
        assert page.locator("body").get_attribute(f"data-circles-{side}") == "numerator"
        circles = page.locator(f"#map-{side} path.mapapp-circle")
        assert circles.count() == 22
        for k in range(circles.count()):
            value = float(circles.nth(k).get_attribute("data-value"))
            drawn[(side, value)] = circles.nth(k).evaluate(radius)
    # one scale on both maps: every radius is max_radius × √(value / the larger year's max)
    for (side, value), r in drawn.items():
        assert r == pytest.approx(scale["max_radius_px"] * (value / scale["max_value"]) ** 0.5, abs=0.6), (side, value)
    largest = {side: max(v for s, v in drawn if s == side) for side in ("left", "right")}
    # not each year's own scale: the one of every year the map page plays through
    assert pair["right"]["circles"] == scale and scale["max_value"] >= max(largest.values())
    assert min(largest.values()) < scale["max_value"] and 2016 in scale["years"] and 2019 in scale["years"]
    legend = page.locator("#compare-legend")
    assert legend.locator("svg.circle-legend circle").count() >= 2 and "Số hộ nghèo" in legend.inner_text()
    # a count: neutral units, the circles carry the values, and the legend has no colour classes
    page.select_option("#indicator", "projects_active")
    page.wait_for_selector('body[data-painted^="projects_active:"]', state="attached")
    assert page.locator("body").get_attribute("data-circles-left") == "count"
    fills = set(page.locator("#map-left path.mapapp-unit").evaluate_all(
        "els => els.filter(e => !e.getAttribute('stroke-dasharray')).map(e => e.getAttribute('fill'))"))
    assert fills == {pair["left"]["circles"]["count_fill"]}
    assert legend.locator(".swatch").count() == 0 and legend.locator("svg.circle-legend").count() == 1
    session.assert_clean()


@pytest.mark.parametrize("path", ["compare?indicator=poverty_rate&year=2016&year2=2024",
                                  "ranking?indicator=poverty_rate&year=2024&compare=2016", "district",
                                  "communes/19429?lang=en"])
def test_planner_pages_fit_a_phone_without_sideways_scrolling(chromium_browser, live_server, path):  # noqa: F811
    s = MapSession(chromium_browser, live_server.url, viewport={"width": 390, "height": 844})
    try:
        page = s.open(path)
        page.wait_for_load_state("load")
        widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], widths  # wide tables scroll in their own box
        s.assert_clean()
    finally:
        s.close()
