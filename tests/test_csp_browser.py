"""The pages in a real browser under the Content-Security-Policy: no violation, the map still paints.

Every page is loaded in Chromium (the system's, never downloaded) from a real HTTP
server; an init script records every ``securitypolicyviolation`` event, and every
console message is kept. Any violation, any console error, any request to another
host than the local server fails the test. As the CSP allows only our own origin,
a clean run also proves that nothing is loaded from a CDN.
"""
from __future__ import annotations

import re

import pytest
from browser_helpers import CHROMIUM, MapSession, chromium_browser, session_opener  # noqa: F401 (fixture)
from conftest import TEST_PASSWORD, add_user, client_as, needs_shared

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no system Chromium at /usr/bin/chromium (never downloaded)"),
    needs_shared,
]

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
                               line: e.lineNumber, sample: e.sample, page: location.href});
});
"""


class CspSession(MapSession):
    """A :class:`MapSession` that also records CSP violations and every console message."""

    def __init__(self, browser, base_url):
        super().__init__(browser, base_url)
        self.console: list[str] = []
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.violations: list[dict] = []

    def visit(self, path: str, painted: str | None = None):
        response = self.page.goto(f"{self.base_url}{path}")
        assert response is not None and response.ok, (path, response and response.status)
        assert "default-src 'self'" in (response.headers.get("content-security-policy") or ""), path
        if painted:
            self.wait_painted(painted)
        self.page.wait_for_load_state("networkidle")
        self.collect()
        return self.page

    def collect(self):
        self.violations += self.page.evaluate("() => window.__cspViolations || []")
        self.page.evaluate("() => { window.__cspViolations = []; }")

    def login(self, username: str, password: str = TEST_PASSWORD, next_path: str = "/import"):
        self.visit(f"/login?next={next_path}")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")
        assert self.page.url.endswith(next_path), self.page.url
        self.collect()

    def assert_no_violation(self):
        self.collect()
        assert self.violations == [], f"CSP violations: {self.violations}"
        refused = [m for m in self.console if "Content Security Policy" in m or "Refused to" in m]
        assert refused == [], f"console: {refused}"
        self.assert_clean()


@pytest.fixture()
def csp_session(chromium_browser):
    with session_opener(chromium_browser, CspSession) as open_:
        yield open_


def test_every_page_runs_under_the_csp_and_the_map_paints(fresh_app, live_server_for, csp_session):
    add_user(fresh_app, "bientap", "editor")
    add_user(fresh_app, "quantri", "admin")
    with live_server_for(fresh_app) as server:
        s = csp_session(server.url)
        page = s.visit("/", painted=None)
        page.wait_for_selector("body[data-painted]", state="attached")
        assert page.locator("path.mapapp-unit").count() > 0
        s.visit("/?indicator=poverty_rate&year=2018&lang=en", painted="poverty_rate:2018")
        # a repaint (year change) under the CSP too
        page.eval_on_selector("#year", "el => { el.value = '2022'; el.dispatchEvent(new Event('input')); }")
        s.wait_painted("poverty_rate:2022")
        code = page.evaluate("() => document.querySelector('path.mapapp-unit').dataset.code")
        s.hover_unit(code)
        s.visit("/?indicator=projects_active&year=2023&projects=1", painted="projects_active:2023")
        s.open_project_popup()
        for path in ["/ranking", "/ranking?lang=en", "/district", "/compare", f"/communes/{code}", "/login",
                     "/login?lang=en"]:
            s.visit(path)
        s.login("bientap")
        s.visit("/import")
        s.visit("/import?lang=en")
        s.assert_no_violation()
        # an editor's upload through the real form, under form-action 'self'
        page.set_input_files("form[action*='/import/indicators'] input[type=file]", files=[{
            "name": "x.csv", "mimeType": "text/csv",
            "buffer": "Xã;Năm;Chỉ tiêu;Giá trị\nLìa;2021;Tỷ lệ hộ nghèo;12,5\n".encode()}])
        page.fill("form[action*='/import/indicators'] input[name=source]", "QĐ 1/QĐ-UBND")
        with page.expect_navigation():
            page.click("form[action*='/import/indicators'] button[type=submit]")
        assert "Confirm import" in page.content()
        with page.expect_navigation():
            page.click("form[action*='/import/indicators/confirm'] button[type=submit]")
        assert re.search(r"/import/\d+\?", page.url) and "bientap" in page.content()
        s.collect()
        admin = csp_session(server.url)
        admin.login("quantri", next_path="/users")
        admin.visit("/users")
        admin.assert_no_violation()
        s.assert_no_violation()


def test_hostile_imported_text_stays_inert_in_the_browser(fresh_app, live_server_for, csp_session):
    from test_security import hostile_imports

    editor = client_as(fresh_app, "editor")
    pages = hostile_imports(fresh_app, editor)
    detail = next(p for p in pages if re.fullmatch(r"/import/\d+\?.*", p))
    values = fresh_app.test_client().get("/api/values?indicator=poverty_rate&year=2021").get_json()["records"]
    code = next(r["code"] for r in values if r["source"] and r["source"].startswith("<script>"))
    with live_server_for(fresh_app) as server:
        s = csp_session(server.url)
        page = s.visit("/?indicator=poverty_rate&year=2021", painted="poverty_rate:2021")
        tooltip = s.hover_unit(code)
        assert "<script>window.__xss=1</script>" in tooltip.inner_text()
        assert tooltip.locator("img, script").count() == 0
        s.visit("/?indicator=projects_active&year=2022&projects=1", painted="projects_active:2022")
        s.open_project_popup()
        assert page.locator(".leaflet-popup img, .leaflet-popup script").count() == 0
        for path in ["/ranking?indicator=poverty_rate&year=2021", f"/communes/{code}",
                     "/ranking?indicator=poverty_rate&year=2022"]:
            s.visit(path)
            assert page.evaluate("() => typeof window.__xss") == "undefined", path
        s.login("editor1")
        for path in ["/import", detail]:
            s.visit(path)
            assert page.evaluate("() => typeof window.__xss") == "undefined", path
            assert page.locator("img[src=x], b[onmouseover]").count() == 0, path
        page.hover("body")
        assert page.evaluate("() => typeof window.__xss") == "undefined"
        s.assert_no_violation()


def test_an_injected_inline_script_would_be_reported(fresh_app, live_server_for, csp_session):
    """The recorder works: a page that tries an inline script gets a violation (so a clean run means clean)."""
    with live_server_for(fresh_app) as server:
        s = csp_session(server.url)
        page = s.visit("/login")
        page.evaluate("""() => { const el = document.createElement('script'); el.textContent = 'window.__ran = 1';
                                 document.body.appendChild(el); }""")
        page.wait_for_function("() => window.__cspViolations.length > 0")
        s.collect()
        assert page.evaluate("() => typeof window.__ran") == "undefined"
        assert s.violations and s.violations[0]["directive"].startswith("script-src")
        page.evaluate("() => { const i = new Image(); i.src = 'https://elsewhere.example.org/x.png'; }")
        page.wait_for_function("() => window.__cspViolations.length > 0")
        s.collect()
        assert any(v["directive"].startswith("img-src") for v in s.violations)
