"""Every page in a real Chromium, in Vietnamese and English: no console error, no failed request,
and no serious or critical accessibility violation found by axe-core (from the npm registry,
injected by the test only: the app never serves it)."""
from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, MapSession, chromium_browser  # noqa: F401 (fixture)
from conftest import TEST_PASSWORD, add_user, needs_shared

AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no system Chromium at /usr/bin/chromium (never downloaded)"),
    pytest.mark.skipif(not AXE.is_file(), reason="axe-core is not installed: run bin/install --test (npm ci)"),
    needs_shared,
]

PAGES = {  # page -> what says it is ready
    "": "body[data-painted]",
    "ranking?indicator=poverty_rate&year=2021": "table",
    "compare?indicator=poverty_rate&year=2016&year2=2024": "body[data-painted]",
    "communes/19489?valid_from=2020-01-01": "svg.chart",
    "district": "table",
    "login": "form",
}
RUN_AXE = """() => axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
  .filter(v => v.impact === "serious" || v.impact === "critical")
  .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " + n.failureSummary)})))"""


class CheckedSession(MapSession):
    """A map session that also records every answer of 400 or more from our server."""

    def __init__(self, browser, base_url, **kwargs):
        super().__init__(browser, base_url, **kwargs)
        self.failed: list[str] = []
        self.page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        self.page.on("requestfailed", lambda r: self.failed.append(f"failed {r.url}"))


def audit(session, path, ready):
    page = session.page
    page.goto(f"{session.base_url}/{path}")
    page.wait_for_selector(ready, state="attached")
    page.wait_for_load_state("load")
    # Evaluated through the DevTools protocol: the page's script-src 'self' policy stays as it is.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    return page.evaluate(RUN_AXE)


@pytest.fixture()
def session(chromium_browser, live_server):
    s = CheckedSession(chromium_browser, live_server.url)
    yield s
    s.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("path", list(PAGES))
def test_page_is_clean_and_accessible(session, path, lang):
    query = path + (("&" if "?" in path else "?") + "lang=en" if lang == "en" else "")
    violations = audit(session, query, PAGES[path])
    assert violations == []
    assert session.failed == []
    session.assert_clean()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_import_page_as_an_editor_is_clean_and_accessible(chromium_browser, fresh_app, live_server_for, lang):
    add_user(fresh_app, "editor1", "editor")
    with live_server_for(fresh_app) as server:
        s = CheckedSession(chromium_browser, server.url)
        try:
            page = s.page
            page.goto(f"{server.url}/login")
            page.fill("input[name=username]", "editor1")
            page.fill("input[name=password]", TEST_PASSWORD)
            page.click("form.login button[type=submit]")
            page.wait_for_load_state("networkidle")  # the map it leads to, loaded whole before we move on
            violations = audit(s, "import" + ("?lang=en" if lang == "en" else ""), "form")
            assert violations == []
            assert s.failed == []
            s.assert_clean()
        finally:
            s.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_phone_map_with_its_panel_open_is_accessible(chromium_browser, live_server, lang):
    s = CheckedSession(chromium_browser, live_server.url, viewport={"width": 390, "height": 844}, phone=True)
    try:
        page = s.page
        page.goto(f"{live_server.url}/" + ("?lang=en" if lang == "en" else ""))
        page.wait_for_selector("body[data-painted]", state="attached")
        page.tap(".legend-toggle")  # first: the open panel lies over the map
        page.locator(".mapapp-legend .legend-body").wait_for(state="visible")
        page.tap("#panel-toggle")
        page.locator("#indicator").wait_for(state="visible")
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
        assert page.evaluate(RUN_AXE) == []
        assert s.failed == []
        s.assert_clean()
    finally:
        s.close()
