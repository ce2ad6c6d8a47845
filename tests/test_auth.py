"""Accounts and roles: create-user, login/logout, who may open what, rate limit, sessions."""
from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa
from conftest import TEST_PASSWORD, add_user, client_as, csrf_of, login, make_app, needs_shared

from mapapp.store import db, users

pytestmark = needs_shared

IMPORT_GETS = ["/import", "/import?lang=en", "/import/1", "/import/template.xlsx?group=poverty&year=2021"]
IMPORT_POSTS = ["/import/indicators", "/import/indicators/confirm", "/import/projects", "/import/projects/confirm",
                "/import/boundaries", "/import/boundaries/confirm", "/import/1/undo"]
READ_PAGES = ["/", "/?lang=en", "/api/values?indicator=poverty_rate&year=2021", "/api/units?year=2021",
              "/api/indicators", "/api/versions", "/api/projects?year=2021", "/ranking", "/ranking.csv",
              "/district", "/export.svg?indicator=poverty_rate&year=2021"]


def users_table(app) -> list[dict]:
    with app.app_context():
        with db.get_engine().connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(db.users)).mappings()]


# --- create-user ------------------------------------------------------------------------------

def test_create_user_cli_hashes_the_password(fresh_app):
    runner = fresh_app.test_cli_runner()
    result = runner.invoke(args=["create-user", "Lan.Nguyen", "--role", "editor", "--password-stdin"],
                           input="bí mật dài 123\n")
    assert result.exit_code == 0, result.output
    assert "lan.nguyen (editor)" in result.output
    (row,) = users_table(fresh_app)
    assert row["username"] == "lan.nguyen" and row["role"] == "editor" and row["active"]
    assert "bí mật" not in row["password_hash"] and row["password_hash"].startswith(("scrypt:", "pbkdf2:"))
    # the same name again is refused, --update changes it
    again = runner.invoke(args=["create-user", "lan.nguyen", "--role", "admin", "--password-stdin"],
                          input="another password\n")
    assert again.exit_code != 0 and "already exists" in again.output
    updated = runner.invoke(args=["create-user", "lan.nguyen", "--role", "admin", "--password-stdin", "--update"],
                            input="another password\n")
    assert updated.exit_code == 0 and users_table(fresh_app)[0]["role"] == "admin"
    listing = runner.invoke(args=["users"])
    assert "lan.nguyen\tadmin" in listing.output


def test_create_user_prompts_twice_hidden(fresh_app):
    runner = fresh_app.test_cli_runner()
    result = runner.invoke(args=["create-user", "an", "--role", "viewer"], input="mat-khau-1\nmat-khau-1\n")
    assert result.exit_code == 0, result.output
    assert "mat-khau-1" not in result.output  # hidden input is not echoed
    mismatch = runner.invoke(args=["create-user", "binh", "--role", "viewer"],
                             input="mat-khau-1\nkhac-nhau-2\nmat-khau-3\nmat-khau-3\n")
    assert mismatch.exit_code == 0 and "binh (viewer)" in mismatch.output  # asked again after a mismatch
    assert len(users_table(fresh_app)) == 2


@pytest.mark.parametrize("args,stdin,message", [
    (["create-user", "x", "--role", "editor", "--password-stdin"], "password123\n", "username"),
    (["create-user", "<b>an</b>", "--role", "editor", "--password-stdin"], "password123\n", "username"),
    (["create-user", "an", "--role", "editor", "--password-stdin"], "short\n", "8"),
    (["create-user", "an", "--role", "boss", "--password-stdin"], "password123\n", "boss"),
])
def test_create_user_refuses_bad_input(fresh_app, args, stdin, message):
    result = fresh_app.test_cli_runner().invoke(args=args, input=stdin)
    assert result.exit_code != 0 and message in result.output
    assert users_table(fresh_app) == []


# --- login / logout -----------------------------------------------------------------------------

def test_login_page_vietnamese_and_english(app):
    client = app.test_client()
    vi = client.get("/login").get_data(as_text=True)
    assert "Đăng nhập" in vi and "Tên đăng nhập" in vi and "Mật khẩu" in vi and 'lang="vi"' in vi
    en = client.get("/login?lang=en").get_data(as_text=True)
    assert "Log in" in en and "Username" in en and "Password" in en and 'lang="en"' in en


def test_login_logout_and_safe_next(fresh_app):
    add_user(fresh_app, "chi", "editor")
    client = fresh_app.test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    bad = client.post("/login", data={"username": "chi", "password": "wrong password", "csrf_token": token})
    assert bad.status_code == 401 and "Tên đăng nhập hoặc mật khẩu không đúng" in bad.get_data(as_text=True)
    unknown = client.post("/login?lang=en", data={"username": "nobody", "password": "x", "csrf_token": token})
    assert unknown.status_code == 401 and "Wrong username or password" in unknown.get_data(as_text=True)
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        response = client.post("/login", data={"username": "chi", "password": TEST_PASSWORD, "csrf_token": token,
                                               "next": evil})
        assert response.status_code == 302 and response.headers["Location"] == "/", evil
        token = csrf_of(client.get("/login").get_data(as_text=True))  # a new session, a new token
    response = client.post("/login", data={"username": "CHI ", "password": TEST_PASSWORD, "csrf_token": token,
                                           "next": "/import?lang=en"})
    assert response.status_code == 302 and response.headers["Location"] == "/import?lang=en"
    page = client.get("/import").get_data(as_text=True)
    assert "chi (editor)" in page and "Đăng xuất" in page
    assert client.get("/logout").status_code == 405  # GET cannot log anyone out
    token = csrf_of(page)
    assert client.post("/logout").status_code == 400  # nor a POST without the token
    out = client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 302 and "/login" in out.headers["Location"]
    assert "Đã đăng xuất" in client.get(out.headers["Location"]).get_data(as_text=True)
    assert client.get("/import").status_code == 302


def test_login_renews_the_session(fresh_app):
    """Session fixation: the token and session of before the login are not those after it."""
    add_user(fresh_app, "dung", "editor")
    client = fresh_app.test_client()
    before = csrf_of(client.get("/login").get_data(as_text=True))
    login(client, "dung")
    assert client.csrf != before


# --- who may open what ------------------------------------------------------------------------

def test_anonymous_cannot_open_import_pages(app):
    client = app.test_client()
    for url in IMPORT_GETS:
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next="), url
    for url in IMPORT_POSTS:
        response = client.post(url, data={"file": (io.BytesIO(b"x"), "a.csv")}, content_type="multipart/form-data")
        assert response.status_code == 403, url
        assert "Cần đăng nhập" in response.get_data(as_text=True)
    assert client.get("/users").status_code == 302


def test_login_redirect_comes_back_to_the_page(fresh_app):
    add_user(fresh_app, "em", "editor")
    client = fresh_app.test_client()
    to_login = client.get("/import?lang=en")
    assert to_login.status_code == 302
    page = client.get(to_login.headers["Location"]).get_data(as_text=True)
    assert "Please log in" in page
    next_url = re.search(r'name="next" value="([^"]+)"', page).group(1)
    assert next_url == "/import?lang=en"
    response = client.post("/login", data={"username": "em", "password": TEST_PASSWORD, "next": next_url,
                                           "csrf_token": csrf_of(page)})
    assert response.headers["Location"] == "/import?lang=en"


def test_viewer_is_refused_import_and_editor_admin_are_let_in(fresh_app):
    viewer = client_as(fresh_app, "viewer")
    for url in IMPORT_GETS:
        response = viewer.get(url)
        assert response.status_code == 403, url
        assert "viewer1" in response.get_data(as_text=True)
    for url in IMPORT_POSTS:
        assert viewer.post(url, data={"csrf_token": viewer.csrf}).status_code == 403, url
    for role in ("editor", "admin"):
        client = client_as(fresh_app, role)
        assert client.get("/import").status_code == 200
        assert client.get("/import/template.xlsx?group=poverty&year=2021").status_code == 200
    assert client_as(fresh_app, "editor", "editor2").get("/users").status_code == 403


def test_reading_is_anonymous_by_default(app):
    client = app.test_client()
    for url in READ_PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Set-Cookie" not in response.headers, url  # anonymous reading makes no session


def test_anonymous_viewing_off_needs_a_viewer(tmp_path):
    app = make_app(tmp_path, ANONYMOUS_VIEWING=False)
    client = app.test_client()
    for url in READ_PAGES:
        response = client.get(url)
        if url.startswith("/api/"):
            assert response.status_code == 403 and "error" in response.get_json(), url
        else:
            assert response.status_code in (302, 403), url
    assert client.get("/").headers["Location"].startswith("/login")
    for url in ("/login", "/login?lang=en", "/static/map/main.js", "/vendor/leaflet/leaflet.js"):
        assert client.get(url).status_code == 200, url
    viewer = client_as(app, "viewer")
    for url in READ_PAGES:
        response = viewer.get(url)
        assert response.status_code == 200, url
        # every page shows what only accounts may read: no other site's window may hold a handle to it
        assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin", url
    assert viewer.get("/import").status_code == 403


def test_admin_manages_accounts_on_the_web(fresh_app):
    admin = client_as(fresh_app, "admin")
    page = admin.get("/users").get_data(as_text=True)
    assert "admin1" in page and "Tạo tài khoản" in page
    made = admin.post("/users", data={"username": "giang", "role": "editor", "password": "password-1",
                                      "password2": "password-1", "csrf_token": admin.csrf})
    assert made.status_code == 302
    assert "Đã tạo tài khoản giang" in admin.get("/users").get_data(as_text=True)
    giang = login(fresh_app.test_client(), "giang", "password-1")
    assert giang.get("/import").status_code == 200
    user_id = next(u["id"] for u in users_table(fresh_app) if u["username"] == "giang")
    # demoting ends giang's session at once (the session epoch moves)
    saved = admin.post(f"/users/{user_id}", data={"role": "viewer", "active": "1", "csrf_token": admin.csrf})
    assert saved.status_code == 302
    assert giang.get("/import").status_code == 302
    # the last admin cannot be demoted
    admin_id = next(u["id"] for u in users_table(fresh_app) if u["username"] == "admin1")
    refused = admin.post(f"/users/{admin_id}", data={"role": "editor", "active": "1", "csrf_token": admin.csrf})
    assert refused.status_code == 400 and "quản trị viên cuối cùng" in refused.get_data(as_text=True)
    bad = admin.post("/users", data={"username": "<script>", "role": "editor", "password": "password-1",
                                     "password2": "password-1", "csrf_token": admin.csrf})
    assert bad.status_code == 400 and "<script>" not in bad.get_data(as_text=True)


def test_password_change_and_deactivation_end_sessions(fresh_app):
    add_user(fresh_app, "hoa", "editor")
    client = login(fresh_app.test_client(), "hoa")
    assert client.get("/import").status_code == 200
    add_user(fresh_app, "hoa", "editor", password="a new password")  # create-user --update
    assert client.get("/import").status_code == 302
    client = login(fresh_app.test_client(), "hoa", "a new password")
    with fresh_app.app_context():
        user_id = next(u["id"] for u in users_table(fresh_app) if u["username"] == "hoa")
        users.update_user(db.get_engine(), user_id, "editor", active=False)
    assert client.get("/import").status_code == 302
    refused = fresh_app.test_client()
    token = csrf_of(refused.get("/login").get_data(as_text=True))
    response = refused.post("/login", data={"username": "hoa", "password": "a new password", "csrf_token": token})
    assert response.status_code == 401


def test_imports_and_undo_record_the_account(fresh_app, editor_client):
    from import_builders import SOURCE, poverty_annex_xlsx, poverty_rows, units_of

    client = editor_client
    data = poverty_annex_xlsx(poverty_rows(units_of(fresh_app, 2021)), year=2021)
    html = client.post("/import/indicators", data={"file": (io.BytesIO(data), "a.xlsx"), "source": SOURCE,
                                                   "csrf_token": client.csrf},
                       content_type="multipart/form-data").get_data(as_text=True)
    token = re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)
    assert 'name="who"' not in html
    client.post("/import/indicators/confirm", data={"token": token, "source": SOURCE, "csrf_token": client.csrf})
    client.post("/import/1/undo", data={"csrf_token": client.csrf})
    with fresh_app.app_context():
        with db.get_engine().connect() as conn:
            row = conn.execute(sa.select(db.imports)).mappings().one()
    assert row["created_by"] == "editor1" and row["undone_by"] == "editor1"


# --- rate limit -------------------------------------------------------------------------------

def _attempt(client, username, password, ip="10.0.0.5"):
    token = csrf_of(client.get("/login", environ_base={"REMOTE_ADDR": ip}).get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": ip})


def test_login_attempts_are_rate_limited_per_ip_and_username(fresh_app):
    add_user(fresh_app, "khanh", "editor")
    add_user(fresh_app, "linh", "editor")
    client = fresh_app.test_client()
    for _ in range(5):
        assert _attempt(client, "khanh", "wrong-password").status_code == 401
    blocked = _attempt(client, "khanh", TEST_PASSWORD)  # even the right password: not checked now
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 800
    assert "Đăng nhập sai quá nhiều lần" in blocked.get_data(as_text=True)
    assert _attempt(client, "linh", TEST_PASSWORD).status_code == 302  # another account from the same address
    assert _attempt(fresh_app.test_client(), "khanh", TEST_PASSWORD, ip="10.0.0.6").status_code == 302
    # the window passes
    with fresh_app.app_context():
        limiter = users.LoginLimiter(db.get_engine(), fresh_app.config)
        import time
        assert limiter.blocked_for("10.0.0.5", "khanh") > 0
        assert limiter.blocked_for("10.0.0.5", "khanh", now=time.time() + 901) == 0


def test_login_attempts_are_rate_limited_per_ip(tmp_path):
    app = make_app(tmp_path, LOGIN_MAX_FAILURES_PER_IP=6)
    add_user(app, "minh", "viewer")
    client = app.test_client()
    for i in range(6):
        assert _attempt(client, f"user{i}", "wrong-password").status_code == 401
    assert _attempt(client, "minh", TEST_PASSWORD).status_code == 429  # username spraying from one address
    assert _attempt(client, "minh", TEST_PASSWORD, ip="10.0.0.9").status_code == 302


def test_success_clears_failures_and_failures_survive_a_restart(tmp_path):
    app = make_app(tmp_path)
    add_user(app, "nam", "viewer")
    client = app.test_client()
    for _ in range(4):
        _attempt(client, "nam", "wrong-password")
    assert _attempt(client, "nam", TEST_PASSWORD).status_code == 302
    for _ in range(5):
        _attempt(app.test_client(), "nam", "wrong-password")
    restarted = make_app(tmp_path)  # a new process would read the same table
    assert _attempt(restarted.test_client(), "nam", TEST_PASSWORD).status_code == 429


# --- cookies ----------------------------------------------------------------------------------

def test_session_cookie_flags(fresh_app, monkeypatch, tmp_path):
    add_user(fresh_app, "oanh", "viewer")
    client = fresh_app.test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "oanh", "password": TEST_PASSWORD, "csrf_token": token})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie and "Expires=" in cookie
    monkeypatch.setenv("MAPAPP_SECURE_COOKIES", "1")
    secure = make_app(tmp_path / "secure")
    assert secure.config["SESSION_COOKIE_SECURE"] is True
    response = secure.test_client().get("/login")
    assert "Secure" in response.headers["Set-Cookie"]


def test_schema_has_accounts(app):
    with app.app_context():
        with db.get_engine().connect() as conn:
            assert db.get_meta(conn, "schema_version") == str(db.SCHEMA_VERSION) == "6"
            assert sa.inspect(conn).has_table("users") and sa.inspect(conn).has_table("login_failures")
