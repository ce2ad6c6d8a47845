"""Real-browser tests of the colour scale: shared across years, per year, manual breaks, empty indicators,
English labels (Playwright driving Debian's Chromium on the live server; other hosts blocked)."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_helpers import (  # noqa: F401 (fixture)
    CHROMIUM,
    api,
    chromium_browser,
    open_session,
)
from conftest import needs_shared

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no system Chromium at /usr/bin/chromium (never downloaded)"),
    needs_shared,
]

SHOTS = Path(os.environ.get("MAPAPP_SHOTS", "/tmp/mapapp-shots"))


def legend(page) -> list[str]:
    return page.eval_on_selector_all(".mapapp-legend li:not(.no-data)",
                                     "els => els.map(e => e.textContent.replace(/\\s*\\(\\d+\\)$/, ''))")


def fills(page) -> dict[str, str]:
    return dict(page.eval_on_selector_all(
        "path.mapapp-unit", "els => els.map(e => [e.getAttribute('data-code'), e.getAttribute('fill')])"))


def query_of(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def test_slider_keeps_one_scale_and_per_year_changes_it(live_server, open_session):
    s = open_session(live_server.url)
    page = s.open("?indicator=near_poverty_rate&year=2016", painted="near_poverty_rate:2016")
    shared_2016 = legend(page)
    assert "phân lớp chung 2016–2025" in page.locator(".legend-note").text_content()
    page.locator("#year").fill("2024")
    s.wait_painted("near_poverty_rate:2024")
    assert legend(page) == shared_2016  # one colour, one range, every year
    expected = {r["code"]: r["color"] for r in
                api(live_server.url, "/api/values?indicator=near_poverty_rate&year=2024")["records"]}
    assert {c: f.lower() for c, f in fills(page).items()} == {c: v.lower() for c, v in expected.items()}

    page.select_option("#classes", "year")
    page.wait_for_function("() => document.querySelector('.legend-note').textContent.includes('2024')")
    per_year_2024 = legend(page)
    assert per_year_2024 != shared_2016 and query_of(page)["classes"] == "year"
    page.locator("#year").fill("2016")
    s.wait_painted("near_poverty_rate:2016")
    page.wait_for_function("() => document.querySelector('.legend-note').textContent.includes('2016')")
    assert legend(page) != per_year_2024
    s.assert_clean()


def test_manual_breaks_are_honoured_and_a_bad_entry_is_marked(live_server, open_session):
    s = open_session(live_server.url)
    page = s.open("?indicator=near_poverty_rate&year=2020", painted="near_poverty_rate:2020")
    page.locator("#breaks").fill("10,20,30,40")
    page.locator("#breaks").press("Enter")
    page.wait_for_function("() => location.search.includes('breaks=10%2C20%2C30%2C40')")
    page.wait_for_function("() => document.querySelector('.legend-note').textContent.includes('tự chọn')")
    assert legend(page) == ["≤ 10,0", "> 10,0 – 20,0", "> 20,0 – 30,0", "> 30,0 – 40,0", "> 40,0"]
    asked = len(s.api_requests)
    page.locator("#breaks").fill("30,10")
    page.locator("#breaks").press("Enter")
    assert page.locator("#breaks.invalid").count() == 1
    assert "tăng dần" in page.locator("#status").text_content()
    assert not any("breaks=30" in r for r in s.api_requests[asked:])  # refused in the page, never sent
    s.assert_clean()

    bad = open_session(live_server.url)
    # A bad parameter in the address: the notice says why, and the default view is shown (as for other parameters).
    page = bad.open("?indicator=near_poverty_rate&year=2020&breaks=30,abc", painted="poverty_rate:2025")
    assert "abc" in page.locator(".notice").text_content()
    bad.assert_clean()


def test_empty_indicators_are_disabled_and_english_has_english_labels(live_server, open_session):
    s = open_session(live_server.url)
    page = s.open("?lang=en", painted="poverty_rate:2025")
    for indicator in ("households", "ethnic_minority_share"):
        option = page.locator(f'#indicator option[value="{indicator}"]')
        assert option.is_disabled() and "no data yet — import it under Import data" in option.text_content()
    assert page.locator("#year").input_value() == "2025"  # the latest year with data
    status = page.locator("#status").text_content()
    assert "Commune boundaries from 1 July 2025 (7 communes)" in status and "Ranh giới" not in status
    assert "the indicator's fixed bands" in page.locator(".legend-note").text_content()
    page.locator("#year").fill("2018")
    s.wait_painted("poverty_rate:2018")
    assert "Commune boundaries 2008-2019 (22 units)" in page.locator("#status").text_content()
    s.assert_clean()


@pytest.mark.parametrize("width, height, name", [(1280, 800, "desktop"), (390, 844, "phone")])
def test_screenshots_of_the_scale_controls(live_server, open_session, width, height, name):
    s = open_session(live_server.url)
    s.page.set_viewport_size({"width": width, "height": height})
    page = s.open("?indicator=poverty_rate&year=2016", painted="poverty_rate:2016")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"classes-{name}-2016.png"))
    if page.locator("#panel-toggle").is_visible():  # on a phone the controls fold into a panel
        page.click("#panel-toggle")
    page.locator("#year").fill("2024")
    s.wait_painted("poverty_rate:2024")
    page.screenshot(path=str(SHOTS / f"classes-{name}-2024.png"))
    assert (SHOTS / f"classes-{name}-2024.png").stat().st_size > 10_000
    s.assert_clean()
