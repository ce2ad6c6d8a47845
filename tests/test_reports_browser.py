"""The map page's Word and fact-sheet links in a real browser: they follow the view, and what they link is served."""
from __future__ import annotations

import io
import os
import urllib.request

import docx
import pypdf
import pytest
from browser_helpers import CHROMIUM, chromium_browser, open_session  # noqa: F401 (fixtures)
from conftest import needs_shared

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no system Chromium at /usr/bin/chromium (never downloaded)"),
    needs_shared,
]

SHOTS = os.environ.get("MAPAPP_SHOTS")  # a folder: keep the screenshots to look at


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as response:
        assert response.status == 200
        return response.read()


def test_word_and_sheet_links_follow_the_view(live_server, open_session, tmp_path):
    s = open_session(live_server.url)
    page = s.open("?indicator=poverty_rate&year=2018", painted="poverty_rate:2018")
    word, sheets = page.locator("#export-docx"), page.locator("#link-sheets")
    assert word.is_visible() and sheets.is_visible()
    assert word.get_attribute("href") == "/report.docx?indicator=poverty_rate&year=2018"
    page.locator("#year").fill("2024")
    s.wait_painted("poverty_rate:2024")
    page.select_option("#compare", "2016")
    page.wait_for_function("() => document.getElementById('export-docx').href.includes('compare=2016')")
    href = word.get_attribute("href")
    assert href.startswith("/report.docx?") and "year=2024" in href and "compare=2016" in href
    assert sheets.get_attribute("href") == "/sheets.pdf?year=2024"
    document = docx.Document(io.BytesIO(_get(live_server.url + href)))
    assert len(document.tables[0].rows) == 22
    book = pypdf.PdfReader(io.BytesIO(_get(live_server.url + sheets.get_attribute("href"))))
    assert len(book.pages) == 23
    folder = SHOTS or str(tmp_path)
    page.screenshot(path=os.path.join(folder, "reports-desktop.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.click("#panel-toggle")  # on a phone the links fold into the options panel
    assert word.is_visible()
    page.screenshot(path=os.path.join(folder, "reports-phone.png"))
    s.assert_clean()


def test_profile_page_links_its_fact_sheet(live_server, open_session):
    s = open_session(live_server.url)
    page = s.open("communes/19492?lang=en")
    link = page.locator("#sheet-link")
    assert link.text_content() == "Fact sheet (PDF)"
    sheet = pypdf.PdfReader(io.BytesIO(_get(live_server.url + link.get_attribute("href"))))
    assert len(sheet.pages) == 1 and sheet.pages[0].extract_text().startswith("Xã Xy")
    s.assert_clean()
