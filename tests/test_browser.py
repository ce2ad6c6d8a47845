"""Real-browser tests of the map page (Playwright, sync API, the system's Chromium).

Each test loads the page from a real HTTP server (``live_server``) in its own browser
context; every request to another host than the local server is aborted and recorded,
and the test fails on it, on any console error, page error or dialog.

Run: ``.venv/bin/python -m pytest tests/test_browser.py -q``. Chromium is never downloaded:
the module is skipped when /usr/bin/chromium is absent.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from browser_helpers import (  # noqa: F401 (fixture)
    CHROMIUM,
    POINT_INSIDE_UNIT_JS,
    MapSession,
    api,
    chromium_browser,
    open_session,
    session_opener,
)
from conftest import needs_shared, store_engine

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no system Chromium at /usr/bin/chromium (never downloaded)"),
    needs_shared,
]

KHE_SANH = "19429"
HUC = "19468"




def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# 1 -------------------------------------------------------------------------------------
def test_page_paints_every_unit_with_the_api_colour(live_server, open_session):
    s = open_session(live_server.url)
    s.open("?indicator=poverty_rate&year=2018", painted="poverty_rate:2018")

    paths = s.page.eval_on_selector_all(
        "path.mapapp-unit",
        "els => els.map(e => ({code: e.getAttribute('data-code'), fill: e.getAttribute('fill'),"
        " cls: e.getAttribute('data-class'), color: e.getAttribute('data-color')}))",
    )
    assert len(paths) == 22
    expected = {r["code"]: r["color"].lower() for r in
                api(live_server.url, "/api/values?indicator=poverty_rate&year=2018")["records"]}
    assert len(expected) == 22
    assert sorted(p["code"] for p in paths) == sorted(expected)
    for p in paths:
        assert p["fill"], f"unit {p['code']} has no fill colour"
        assert p["cls"] not in (None, "", "none"), f"unit {p['code']} is painted as no data"
        assert p["fill"].lower() == expected[p["code"]], f"unit {p['code']}: fill {p['fill']} != API colour"
        assert p["color"].lower() == expected[p["code"]]
    assert s.page.locator("#status").text_content().startswith("22 ")
    s.assert_clean()


# 2 -------------------------------------------------------------------------------------
def test_year_changes_repaint_without_reload_and_reuse_geometry(live_server, open_session):
    s = open_session(live_server.url)
    page = s.open("?indicator=poverty_rate&year=2018", painted="poverty_rate:2018")
    assert s.units().count() == 22
    page.evaluate("() => { window.__noReload = 42; }")
    documents = []   # new documents loaded in the main frame (a reload would add one)
    page.on("request", lambda r: documents.append(r.url) if r.resource_type == "document" else None)
    loads = []
    page.on("load", lambda _: loads.append(1))

    year = page.locator("#year")
    for value, count in ((2021, 21), (2025, 7), (2021, 21)):
        year.fill(str(value))   # sets the range value and dispatches "input"
        s.wait_painted(f"poverty_rate:{value}")
        assert s.units().count() == count, f"year {value}"
        assert query_of(page.url)["year"] == str(value)
        assert query_of(page.url)["indicator"] == "poverty_rate"
        assert page.locator("#year-label").text_content() == str(value)

    # 2021 -> 2022: same boundary version, so no geometry is fetched again; the values of 2022
    # were fetched, on this change or by the page's prefetch of the indicator's years
    before = len(s.api_requests)
    year.fill("2022")
    s.wait_painted("poverty_rate:2022")
    assert s.units().count() == 21
    assert not [r for r in s.api_requests[before:] if r.startswith(("/api/units", "/api/geometry"))], s.api_requests
    assert [r for r in s.api_requests if r.startswith("/api/values") and "year=2022" in r], s.api_requests

    assert page.evaluate("() => window.__noReload") == 42
    assert documents == [] and loads == [], f"the page was reloaded: {documents}"
    assert "year=2022" in page.url
    s.assert_clean()


def test_year_change_does_not_navigate_the_main_frame(live_server, open_session):
    """No framenavigated on the main frame except same-document URL updates (replaceState)."""
    s = open_session(live_server.url)
    page = s.open("?indicator=poverty_rate&year=2018", painted="poverty_rate:2018")
    start_url = page.url
    navigated = []
    page.on("framenavigated", lambda f: navigated.append(f.url) if f == page.main_frame else None)
    time_origin = page.evaluate("() => performance.timeOrigin")
    page.locator("#year").fill("2021")
    s.wait_painted("poverty_rate:2021")
    # replaceState may be reported as a same-document navigation; a reload would be a new document
    assert page.evaluate("() => performance.timeOrigin") == time_origin
    assert all(urlsplit(u).path == urlsplit(start_url).path and "year=2021" in u for u in navigated), navigated
    s.assert_clean()


# 3 -------------------------------------------------------------------------------------
def test_tooltip_shows_name_vietnamese_value_year_and_illustrative_tag(live_server, open_session):
    s = open_session(live_server.url)
    s.open("?indicator=poverty_rate&year=2018", painted="poverty_rate:2018")
    record = next(r for r in api(live_server.url, "/api/values?indicator=poverty_rate&year=2018")["records"]
                  if r["code"] == KHE_SANH)
    assert "," in record["value_text"]

    tooltip = s.hover_unit(KHE_SANH)
    text = tooltip.text_content()
    assert "Khe Sanh" in text
    assert record["name"] in text
    assert record["value_text"] in text
    assert "Năm: 2018" in text
    assert "minh họa" in text
    assert tooltip.locator(".tag-illustrative").text_content() == "minh họa"
    s.assert_clean()


def test_tooltip_in_english(live_server, open_session):
    s = open_session(live_server.url)
    s.open("?indicator=poverty_rate&year=2018&lang=en", painted="poverty_rate:2018")
    record = next(r for r in api(live_server.url, "/api/values?indicator=poverty_rate&year=2018&lang=en")["records"]
                  if r["code"] == KHE_SANH)
    assert "." in record["value_text"] and "," not in record["value_text"]

    tooltip = s.hover_unit(KHE_SANH)
    text = tooltip.text_content()
    assert "Khe Sanh" in text
    assert record["value_text"] in text
    assert "Year: 2018" in text
    assert "Poverty rate" in text
    assert tooltip.locator(".tag-illustrative").text_content() == "illustrative"
    s.assert_clean()


# 4 -------------------------------------------------------------------------------------
def test_illustrative_banner_follows_the_indicator(live_server, open_session):
    s = open_session(live_server.url)
    page = s.open("?indicator=poverty_rate&year=2018", painted="poverty_rate:2018")
    banner = page.locator("#illustrative-banner")
    assert banner.get_attribute("hidden") is None
    assert banner.is_visible()

    page = s.open("?indicator=population_density&year=2022", painted="population_density:2022")
    assert banner.get_attribute("hidden") is not None
    assert banner.is_hidden()

    page.evaluate("() => { window.__noReload = 42; }")
    page.select_option("#indicator", "poverty_rate")
    s.wait_painted("poverty_rate:2022")
    assert page.evaluate("() => window.__noReload") == 42
    assert banner.get_attribute("hidden") is None
    assert banner.is_visible()
    assert query_of(page.url)["indicator"] == "poverty_rate"
    s.assert_clean()


# 5 -------------------------------------------------------------------------------------
def test_project_markers_popup_and_toggle(live_server, open_session):
    s = open_session(live_server.url)
    page = s.open("?indicator=projects_active&year=2023", painted="projects_active:2023")
    projects = api(live_server.url, "/api/projects?year=2023")["projects"]
    donors = [p["donor"] for p in projects]
    assert any("World Vision" in d for d in donors)
    icons = page.locator(".leaflet-marker-icon")
    icons.first.wait_for(state="visible")
    assert icons.count() >= 1

    popup_text = s.open_project_popup().text_content()
    assert "Nhà tài trợ" in popup_text
    assert any(d in popup_text for d in donors), popup_text
    page.locator(".leaflet-popup-close-button").click()
    page.locator(".leaflet-popup").wait_for(state="detached")

    # the World Vision programme's markers (title = project name) open a popup naming the donor
    wv = next(p for p in projects if "World Vision" in p["donor"])
    markers = page.locator(".leaflet-marker-icon:not(.marker-cluster)")
    find_wv = """(els, name) => els.findIndex(e => {
        const r = e.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return e.title === name && hit === e;
    })"""
    index = markers.evaluate_all(find_wv, wv["name"])
    if index < 0:   # clustered (or covered) at this zoom: zoom onto one of its sites
        site = wv["sites"][0]
        page.evaluate("([lat, lon]) => window.mapapp.map.setView([lat, lon], 16, {animate: false})",
                      [site["lat"], site["lon"]])
        page.wait_for_function("(name) => [...document.querySelectorAll('.leaflet-marker-icon')]"
                               ".some(e => e.title === name)", arg=wv["name"])
        index = markers.evaluate_all(find_wv, wv["name"])
    markers.nth(index).click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    popup_text = popup.text_content()
    assert "World Vision" in popup_text
    assert wv["name"] in popup_text
    assert any(site["name"] in popup_text for site in wv["sites"])

    page.uncheck("#projects")
    page.wait_for_function("() => document.querySelectorAll('.leaflet-marker-icon').length === 0")
    assert query_of(page.url).get("projects") == "0"
    assert page.locator(".leaflet-marker-icon").count() == 0
    s.assert_clean()


# 6 -------------------------------------------------------------------------------------
def test_hostile_names_are_shown_as_text(fresh_app, live_server_for, open_session):
    with store_engine(fresh_app).begin() as conn:
        changed = conn.execute(sa.text(
            """UPDATE units SET name = '<img src=x onerror="window.__xss=1">Xã Húc' WHERE code = :code"""),
            {"code": HUC}).rowcount
        assert changed >= 1
        changed = conn.execute(sa.text(
            """UPDATE projects SET name = '<img src=x onerror="window.__xss=2">P',
                                   donor = '<script>window.__xss=3</script>'""")
        ).rowcount
        assert changed >= 1

    with live_server_for(fresh_app) as server:
        # precondition: the API really serves the hostile text
        records = api(server.url, "/api/values?indicator=poverty_rate&year=2018")["records"]
        assert next(r for r in records if r["code"] == HUC)["name"].startswith("<img")

        s = open_session(server.url)
        page = s.open("?indicator=poverty_rate&year=2018", painted="poverty_rate:2018")
        tooltip = s.hover_unit(HUC)
        assert '<img src=x onerror="window.__xss=1">Xã Húc' in tooltip.inner_text()
        assert tooltip.locator("img").count() == 0
        # the unit's click popup too
        box = page.evaluate(POINT_INSIDE_UNIT_JS, HUC)
        page.mouse.click(box["x"], box["y"])
        unit_popup = page.locator(".leaflet-popup-content")
        unit_popup.wait_for(state="visible")
        assert '<img src=x onerror="window.__xss=1">Xã Húc' in unit_popup.inner_text()
        assert unit_popup.locator("img").count() == 0
        assert page.locator(".leaflet-tooltip img, .leaflet-popup img").count() == 0

        page = s.open("?indicator=projects_active&year=2023", painted="projects_active:2023")
        popup = s.open_project_popup()
        text = popup.inner_text()
        assert "<script>window.__xss=3</script>" in text
        assert '<img src=x onerror="window.__xss=2">P' in text
        assert popup.locator("img, script").count() == 0
        assert page.locator(".leaflet-tooltip img, .leaflet-popup img, .leaflet-popup script").count() == 0

        assert page.evaluate("() => typeof window.__xss") == "undefined"
        s.assert_clean()


# 7 -------------------------------------------------------------------------------------
def test_export_links_follow_the_view(live_server, open_session):
    s = open_session(live_server.url)
    page = s.open("?indicator=poverty_rate&year=2018", painted="poverty_rate:2018")
    page.locator("#year").fill("2021")
    s.wait_painted("poverty_rate:2021")
    # population_density has data for 2022 only: the map moves there rather than show an empty map.
    page.select_option("#indicator", "population_density")
    s.wait_painted("population_density:2022")
    for fmt in ("png", "pdf", "svg"):
        href = page.locator(f"#export-{fmt}").get_attribute("href")
        parts = urlsplit(href)
        assert parts.path == f"/export.{fmt}", href
        q = query_of(href)
        assert q["year"] == "2022" and q["indicator"] == "population_density", href
    s.assert_clean()


# 8 -------------------------------------------------------------------------------------
def legend_labels(page) -> list[str]:
    return page.eval_on_selector_all(".mapapp-legend li:not(.no-data)",
                                     "els => els.map(e => e.textContent.replace(/\\(\\d+\\)\\s*$/, '').trim())")


def test_language_labels_and_number_format(live_server, open_session):
    s = open_session(live_server.url)
    page = s.open("?indicator=poverty_rate&year=2018&lang=en", painted="poverty_rate:2018")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#indicator option[value=poverty_rate]").text_content().strip() == "Poverty rate"
    assert page.locator("#indicator option:checked").text_content().strip() == "Poverty rate"
    en = legend_labels(page)
    assert en == api(live_server.url, "/api/values?indicator=poverty_rate&year=2018&lang=en")["legend"]["labels"]
    assert len(en) >= 3
    assert all(re.search(r"\d\.\d", label) for label in en), en
    assert not any(re.search(r"\d,\d", label) for label in en), en
    assert "Poverty rate" in page.locator(".mapapp-legend h2").text_content()

    page = s.open("?indicator=poverty_rate&year=2018", painted="poverty_rate:2018")
    assert page.locator("#indicator option:checked").text_content().strip() == "Tỷ lệ hộ nghèo"
    vi = legend_labels(page)
    assert vi == api(live_server.url, "/api/values?indicator=poverty_rate&year=2018")["legend"]["labels"]
    assert all(re.search(r"\d,\d", label) for label in vi), vi
    assert not any(re.search(r"\d\.\d", label) for label in vi), vi

    # the language link keeps the view and switches language
    href = page.locator("#lang-switch").get_attribute("href")
    assert query_of(href) == {"indicator": "poverty_rate", "year": "2018", "lang": "en"}
    s.assert_clean()
