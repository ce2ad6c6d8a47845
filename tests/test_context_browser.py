"""The surroundings and the proportional circles in a real Chromium, offline.

The context layer is drawn under the units with "LÀO / LAOS" beyond the border; counts are
circles whose areas are proportional to the values (within 2 %); a rate's numerator circles
are switched on from the page and kept in the link; a national map shows both archipelagos.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from browser_helpers import CHROMIUM, api, chromium_browser, open_session  # noqa: F401 (fixture)
from conftest import LiveServer, needs_shared

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no system Chromium at /usr/bin/chromium (never downloaded)"),
    needs_shared,
]

CIRCLES_JS = """
() => Array.from(document.querySelectorAll("path.mapapp-circle")).map(e => {
  const b = e.getBBox();
  return {code: e.getAttribute("data-code"), value: Number(e.getAttribute("data-value")), w: b.width, h: b.height};
})
"""


def _inside_map(page, selector: str) -> bool:
    return page.evaluate("""(sel) => {
      const m = document.querySelector(".folium-map").getBoundingClientRect();
      return Array.from(document.querySelectorAll(sel)).some(e => {
        const b = e.getBoundingClientRect();
        return b.width > 0 && b.left >= m.left && b.right <= m.right && b.top >= m.top && b.bottom <= m.bottom;
      });
    }""", selector)


def test_context_is_drawn_under_the_units_with_laos_beyond_the_border(live_server, open_session):
    s = open_session(live_server.url)
    s.open("?indicator=poverty_rate&year=2018&labels=0", painted="poverty_rate:2018")  # town names: no commune names
    s.page.wait_for_selector("body[data-context]", state="attached")
    page = s.page
    assert page.locator("path.mapapp-context-district").count() == 26
    assert page.locator("path.mapapp-context-border").count() >= 1
    assert page.locator(".context-country").inner_text() == "LÀO / LAOS"
    assert _inside_map(page, ".context-country span")
    assert sorted(page.locator(".context-town").all_inner_texts()) == ["Khe Sanh", "Lao Bảo"]
    names = page.locator(".context-district-name").all_inner_texts()
    assert "Huyện Đa Krông" in names and "Huyện Hướng Hóa" not in names
    grey = page.eval_on_selector(".context-district-name span", "e => getComputedStyle(e).color")
    assert grey == "rgb(119, 119, 119)"
    # The context pane is below the units' pane, so it never covers a commune.
    z = page.evaluate("""() => [getComputedStyle(document.querySelector(".leaflet-mapapp-context-pane")).zIndex,
                                getComputedStyle(document.querySelector(".leaflet-overlay-pane")).zIndex]""")
    assert int(z[0]) < int(z[1])
    s.assert_clean()


def test_count_circles_have_areas_proportional_to_the_values(live_server, open_session):
    s = open_session(live_server.url)
    s.open("?indicator=population&year=2022", painted="population:2022")
    values = api(live_server.url, "/api/values?indicator=population&year=2022")
    circles = s.page.evaluate(CIRCLES_JS)
    with_value = [r for r in values["records"] if r["value"]]
    assert len(circles) == len(with_value) and s.page.evaluate("document.body.dataset.circles") == "count"
    top = values["circles"]["max_value"]
    for c in circles:
        radius = (c["w"] + c["h"]) / 4
        expected = values["circles"]["max_radius_px"] ** 2 * c["value"] / top  # r² ∝ value
        assert radius ** 2 == pytest.approx(expected, rel=0.02), c
    legend = s.page.locator(".mapapp-legend svg.circle-legend circle")
    assert legend.count() == len(values["circles"]["legend"]) >= 2
    # another year of the run: the same largest value, the same reference circles
    before = s.page.locator(".mapapp-legend svg.circle-legend").inner_html()
    s.page.locator("#year").fill("2025")
    s.wait_painted("population:2025")
    assert api(live_server.url, "/api/values?indicator=population&year=2025")["circles"]["max_value"] == top
    assert s.page.locator(".mapapp-legend svg.circle-legend").inner_html() == before
    for c in s.page.evaluate(CIRCLES_JS):
        radius = (c["w"] + c["h"]) / 4
        assert radius ** 2 == pytest.approx(values["circles"]["max_radius_px"] ** 2 * c["value"] / top, rel=0.02), c
    s.assert_clean()


def test_rate_numerator_circles_switch_on_and_stay_in_the_link(live_server, open_session):
    s = open_session(live_server.url)
    s.open("?indicator=poverty_rate&year=2022", painted="poverty_rate:2022")
    page = s.page
    assert page.locator("#circles-label").inner_text() == "Tỷ lệ và số hộ"
    assert page.locator("path.mapapp-circle").count() == 0
    page.check("#circles")
    page.wait_for_selector('body[data-circles="numerator"]', state="attached")
    assert page.locator("path.mapapp-circle").count() > 10
    query = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert query["circles"] == "1"
    assert "circles=1" in page.get_attribute("#export-png", "href")
    assert page.locator(".legend-circles-title").inner_text() == "Số hộ nghèo"
    page.reload()
    page.wait_for_selector('body[data-circles="numerator"]', state="attached")
    assert page.is_checked("#circles")
    s.assert_clean()


TOWN_DOTS_COVERED_JS = """(scope) => {
  const root = document.querySelector(scope);
  const box = e => e.getBoundingClientRect();
  const over = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 &&
    b.top < a.bottom - 0.5;  // touching within half a pixel is not covering
  const names = Array.from(root.querySelectorAll(".mapapp-label")).filter(e => e.offsetParent !== null).map(box);
  const dots = Array.from(root.querySelectorAll("path.mapapp-context-town")).map(box);
  return {dots: dots.length, names: names.length, covered: dots.filter(d => names.some(n => over(n, d))).length};
}"""


@pytest.mark.parametrize("path, scopes", [
    ("?indicator=poverty_rate&year=2019", {".leaflet-container": "data-labels"}),
    ("compare?indicator=poverty_rate&year=2019&year2=2025", {"#map-left": "data-labels-left",
                                                             "#map-right": "data-labels-right"}),
])
def test_commune_names_never_cover_a_towns_dot(live_server, open_session, path, scopes):
    """The towns' own names give way to the communes' ("TT. Khe Sanh"): the commune's name
    then stands beside the town's dot, never over it, as in the exports."""
    s = open_session(live_server.url)
    s.open(path, painted=None)
    s.page.wait_for_selector("body[data-context]", state="attached")
    for scope, count in scopes.items():
        s.page.wait_for_function("(name) => Number(document.body.getAttribute(name)) > 0", arg=count)
        seen = s.page.evaluate(TOWN_DOTS_COVERED_JS, scope)
        assert seen["dots"] == 2 and seen["names"] == int(s.page.get_attribute("body", count)), seen
        assert seen["names"] >= 7 and seen["covered"] == 0, (scope, seen)
    s.assert_clean()


def test_national_map_shows_both_archipelagos(archipelago_app, open_session):
    with LiveServer(archipelago_app) as server:
        s = open_session(server.url)
        s.open("?indicator=poverty_rate&year=2024", painted="poverty_rate:2024")
        s.page.wait_for_selector("body[data-context]", state="attached")
        s.page.wait_for_timeout(300)
        names = [" ".join(n.split()) for n in s.page.locator(".context-archipelago").all_inner_texts()]
        assert sorted(names) == ["Quần đảo Hoàng Sa (TP. Đà Nẵng)", "Quần đảo Trường Sa (tỉnh Khánh Hòa)"]
        inside = s.page.evaluate("""() => {
          const m = document.querySelector(".folium-map").getBoundingClientRect();
          return Array.from(document.querySelectorAll(".context-archipelago span")).map(e => {
            const b = e.getBoundingClientRect();
            return b.left >= m.left - 1 && b.right <= m.right + 1 && b.top >= m.top && b.bottom <= m.bottom;
          });
        }""")
        assert inside == [True, True]
        # ... and neither name nor island is under the legend.
        clear = s.page.evaluate("""() => {
          const l = document.querySelector(".mapapp-legend").getBoundingClientRect();
          const over = b => b.right > l.left && b.left < l.right && b.bottom > l.top && b.top < l.bottom;
          return Array.from(document.querySelectorAll(".context-archipelago span, path.mapapp-context-island"))
            .every(e => !over(e.getBoundingClientRect()));
        }""")
        assert clear
        assert s.page.locator("path.mapapp-context-island").count() == 12
        s.assert_clean()


def test_the_circles_switch_is_offered_only_where_it_does_something(live_server, open_session):
    s = open_session(live_server.url)
    s.open("?indicator=area&year=2022", painted="area:2022")
    assert not s.page.is_visible("#circles")  # a measure: colours only
    s.page.select_option("#indicator", "population")
    s.wait_painted("population:2022")
    assert s.page.is_visible("#circles") and s.page.is_checked("#circles")
    assert s.page.locator("#circles-label").inner_text() == "Hình tròn tỷ lệ"
    s.page.uncheck("#circles")
    s.page.wait_for_selector('body[data-circles="none"]', state="attached")
    assert "circles=0" in s.page.url and s.page.locator("path.mapapp-circle").count() == 0
    s.assert_clean()
