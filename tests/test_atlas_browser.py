"""The atlas map in a real Chromium: canvas drawing, tooltips, levels of detail, offline.

A province atlas (141 communes) is served with a low canvas threshold and two levels
of detail, so the paths a country takes (canvas, finer geometry on zoom) run here.
"""
from __future__ import annotations

import json
import shutil

import pytest
from browser_helpers import CHROMIUM, api, chromium_browser, open_session, session_opener  # noqa: F401 (fixture)
from conftest import REPO_ROOT, make_app, needs_shared

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no system Chromium at /usr/bin/chromium (never downloaded)"),
    needs_shared,
]

KHE_SANH_2008 = "Thị trấn Khe Sanh"

# A point well inside a unit (5 px from any edge), found with Leaflet's own canvas hit test.
POINT_IN_UNIT_JS = """
(code) => {
  const app = window.mapapp;
  const b = app.unitBox(code);
  if (!b) return null;
  const cx = (b.left + b.right) / 2, cy = (b.top + b.bottom) / 2, found = [];
  for (let y = b.top; y < b.bottom; y += 2) for (let x = b.left; x < b.right; x += 2) {
    if ([[0, 0], [5, 0], [-5, 0], [0, 5], [0, -5]].every(([dx, dy]) => app.codeAt(x + dx, y + dy) === code)) found.push([x, y]);
  }
  found.sort((p, q) => Math.hypot(p[0] - cx, p[1] - cy) - Math.hypot(q[0] - cx, q[1] - cy));
  if (!found.length) return null;
  const box = app.map.getContainer().getBoundingClientRect();
  return { x: box.left + found[0][0], y: box.top + found[0][1], code: code };
}
"""


@pytest.fixture(scope="module")
def province_geodata(tmp_path_factory):
    """The project's geodata plus a province atlas with two levels of detail."""
    geodata = tmp_path_factory.mktemp("geodata") / "geodata"
    shutil.copytree(REPO_ROOT / "geodata", geodata)
    spec = json.loads((geodata / "atlases" / "quang-tri.json").read_text(encoding="utf-8"))
    spec.update(id="qt-levels", levels=[{"max_zoom": 10, "tolerance_m": 400}, {"max_zoom": 99, "tolerance_m": 0}])
    (geodata / "atlases" / "qt-levels.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return geodata


@pytest.fixture(scope="module")
def province_app(tmp_path_factory, province_geodata):
    return make_app(tmp_path_factory.mktemp("atlas"), ATLAS="qt-levels", GEODATA_DIR=str(province_geodata),
                    CANVAS_MIN_UNITS=100)




def code_of(base_url: str, name: str) -> str:
    records = api(base_url, "/api/values?indicator=area&year=2021")["records"]
    return next(r["code"] for r in records if r["name"] == name)


def blend(hex_colour: str, alpha: float, background: tuple[int, int, int]) -> tuple[int, ...]:
    rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    return tuple(round(alpha * c + (1 - alpha) * b) for c, b in zip(rgb, background))


def pixel(page, x: float, y: float) -> tuple[int, int, int]:
    import io

    from PIL import Image

    shot = page.screenshot(clip={"x": x, "y": y, "width": 1, "height": 1})
    return Image.open(io.BytesIO(shot)).convert("RGB").getpixel((0, 0))


def test_the_province_is_drawn_on_a_canvas_with_the_api_colours(province_app, live_server_for, open_session):
    with live_server_for(province_app) as server:
        s = open_session(server.url)
        # the fill's pixels, without the names written over them
        page = s.open("?indicator=poverty_rate&year=2021&labels=0", painted="poverty_rate:2021")
        assert page.locator(".leaflet-overlay-pane canvas").count() >= 1
        assert page.locator("path.mapapp-unit").count() == 0  # no SVG element per unit
        point = page.evaluate(POINT_IN_UNIT_JS, code_of(server.url, KHE_SANH_2008))
        assert point is not None
        records = api(server.url, "/api/values?indicator=poverty_rate&year=2021")["records"]
        colour = next(r["color"] for r in records if r["code"] == point["code"])
        background = page.evaluate("getComputedStyle(document.querySelector('.leaflet-container')).backgroundColor")
        base = tuple(int(v) for v in background[background.index("(") + 1:background.index(")")].split(",")[:3])
        got, want = pixel(page, point["x"], point["y"]), blend(colour, 0.85, base)
        assert max(abs(a - b) for a, b in zip(got, want)) <= 3, (got, want, colour)
        s.assert_clean()


def test_hovering_the_canvas_names_the_commune_its_district_and_the_illustrative_source(
        province_app, live_server_for, open_session):
    with live_server_for(province_app) as server:
        s = open_session(server.url)
        page = s.open("?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
        point = page.evaluate(POINT_IN_UNIT_JS, code_of(server.url, KHE_SANH_2008))
        page.mouse.move(2, 2)
        page.mouse.move(point["x"], point["y"])
        tooltip = page.locator(".leaflet-tooltip")
        tooltip.wait_for(state="visible")
        text = tooltip.inner_text()
        assert KHE_SANH_2008 in text and "Huyện Hướng Hóa, Quảng Trị" in text
        assert "minh họa" in text.lower() and "2021" in text
        # a year change repaints the open tooltip without refetching geometry
        geometry_requests = [r for r in s.api_requests if r.startswith("/api/geometry")]
        page.evaluate("window.mapapp.state.year = 2024; window.mapapp.update()")
        s.wait_painted("poverty_rate:2024")
        page.wait_for_function("() => document.querySelector('.leaflet-tooltip').innerText.includes('2024')")
        assert [r for r in s.api_requests if r.startswith("/api/geometry")] == geometry_requests
        assert page.locator("#illustrative-banner").is_visible()
        s.assert_clean()


def test_zooming_in_loads_the_finer_level_once(province_app, live_server_for, open_session):
    with live_server_for(province_app) as server:
        s = open_session(server.url)
        page = s.open("?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
        assert page.evaluate("window.mapapp.map.getZoom()") <= 10
        assert not any("level=1" in r for r in s.api_requests)
        page.evaluate("window.mapapp.map.setZoom(12, {animate: false}) && null")
        page.wait_for_selector('body[data-level="1"]', state="attached")
        page.evaluate("window.mapapp.map.setZoom(10, {animate: false}) && null")
        page.wait_for_selector('body[data-level="0"]', state="attached")
        page.evaluate("window.mapapp.map.setZoom(12, {animate: false}) && null")
        page.wait_for_selector('body[data-level="1"]', state="attached")
        assert sum("level=1" in r for r in s.api_requests) == 1  # fetched once, kept
        s.assert_clean()


def test_the_side_by_side_page_draws_both_years_on_canvases(province_app, live_server_for, open_session):
    with live_server_for(province_app) as server:
        s = open_session(server.url)
        page = s.open("compare?indicator=poverty_rate&year=2016&year2=2024")
        s.wait_painted("poverty_rate:2016:2024")
        assert page.locator("#map-left canvas").count() >= 1 and page.locator("#map-right canvas").count() >= 1
        assert page.locator("path.mapapp-unit").count() == 0
        assert any("/api/geometry" in r for r in s.api_requests) and not any("/api/units" in r for r in s.api_requests)
        box = page.locator("#map-right").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        tooltip = page.locator("#map-right .leaflet-tooltip")
        tooltip.wait_for(state="visible")
        assert "2024" in tooltip.inner_text() and "minh họa" in tooltip.inner_text().lower()
        s.assert_clean()


VALUES_YEARS_JS = """() => performance.getEntriesByType('resource').filter(e => e.name.includes('/api/values?'))
  .map(e => Number(new URL(e.name).searchParams.get('year')))"""


def test_a_canvas_map_fetches_the_nearest_years_first_and_repaints_without_a_request(
        province_app, live_server_for, open_session):
    with live_server_for(province_app) as server:
        s = open_session(server.url)
        page = s.open("?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
        years = [y for y in api(server.url, "/api/indicators")["indicators"]
                 if y["id"] == "poverty_rate"][0]["years"]
        assert len(years) >= 5
        page.wait_for_function(f"() => ({VALUES_YEARS_JS})().length >= {len(years) - 1}")
        fetched = page.evaluate(VALUES_YEARS_JS)
        assert sorted(fetched) == sorted(y for y in years if y != 2021)  # its own year came in the page
        distances = [abs(y - 2021) for y in fetched]
        assert distances == sorted(distances), fetched  # nearest first: the slider's next steps
        before = len(fetched)
        page.evaluate("window.mapapp.state.year = 2022; window.mapapp.update()")
        s.wait_painted("poverty_rate:2022")
        page.evaluate("window.mapapp.state.year = 2021; window.mapapp.update()")  # back to the page's own year
        s.wait_painted("poverty_rate:2021")
        assert len(page.evaluate(VALUES_YEARS_JS)) == before  # no request: kept
        s.assert_clean()
