"""Accounts, roles, login and logout.

Roles, each including the ones before it: ``viewer`` (sees the map when anonymous
viewing is off), ``editor`` (imports and undo), ``admin`` (manages accounts).
Accounts are made with ``flask --app mapapp create-user NAME --role ROLE``
(:mod:`mapapp.auth_cli`) or by an admin on ``/users``; passwords are stored as
werkzeug hashes (scrypt), never as given.

Who may open what (:func:`access_check`, run before every request by
:mod:`mapapp.security`, before the CSRF check):

* ``/login``, ``/logout``, ``/static/`` and ``/vendor/``: everybody;
* ``/import...``: editors (anonymous GET → redirect to the login page, anything else → 403);
* ``/users``: admins;
* everything else (map, planner pages, ``/api/*``, exports): everybody while
  ``ANONYMOUS_VIEWING`` is true (the default), else viewers.

Login rate limit (:class:`LoginLimiter`, stored in the database so it holds across
threads, processes and restarts): after ``LOGIN_MAX_FAILURES`` (5) failed attempts for
one username from one IP address within ``LOGIN_WINDOW_S`` (900 s), or
``LOGIN_MAX_FAILURES_PER_IP`` (20) from one IP address for any usernames, further
attempts are refused with 429 — without checking the password — until the oldest
failure leaves the window. A successful login clears the failures of that
username from that address.

Sessions are Flask's signed cookies holding the user id and the account's
``session_epoch``: changing the password, role or active flag ends older sessions.
"""
from __future__ import annotations

import datetime as dt
import functools
import math
import re
import time
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (Blueprint, current_app, flash, g, get_flashed_messages, jsonify, redirect, render_template,
                   request, session, url_for)
from werkzeug.security import check_password_hash, generate_password_hash

from mapapp.store import db

bp = Blueprint("auth", __name__)

ROLES = ("viewer", "editor", "admin")
#: Lower-case ASCII letters, digits and . _ - @ (no look-alike letters, nothing to escape).
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MIN_PASSWORD = 8
OPEN_ENDPOINTS = {"auth.login", "auth.logout", "static", "assets.vendor"}
BLUEPRINT_ROLES = {"imports": "editor"}
ENDPOINT_ROLES = {"auth.users": "admin", "auth.users_create": "admin", "auth.users_update": "admin"}
# Checked when the username is unknown, so a wrong name costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anybody")

STRINGS = {
    "login": ("Đăng nhập", "Log in"),
    "logout": ("Đăng xuất", "Log out"),
    "username": ("Tên đăng nhập", "Username"),
    "password": ("Mật khẩu", "Password"),
    "password2": ("Nhập lại mật khẩu", "Repeat the password"),
    "submit": ("Đăng nhập", "Log in"),
    "bad_login": ("Tên đăng nhập hoặc mật khẩu không đúng.", "Wrong username or password."),
    "too_many": ("Đăng nhập sai quá nhiều lần. Hãy thử lại sau {minutes} phút.",
                 "Too many failed logins. Try again in {minutes} minutes."),
    "logged_out": ("Đã đăng xuất.", "You have logged out."),
    "login_needed": ("Hãy đăng nhập để tiếp tục.", "Please log in to continue."),
    "forbidden": ("Tài khoản {user} ({role}) không có quyền mở trang này (cần quyền {needed}).",
                  "The account {user} ({role}) may not open this page ({needed} needed)."),
    "forbidden_anon": ("Cần đăng nhập (quyền {needed}).", "You need to log in ({needed})."),
    "csrf": ("Biểu mẫu đã hết hạn hoặc không hợp lệ (thiếu mã CSRF). Hãy tải lại trang rồi gửi lại.",
             "The form has expired or is not valid (CSRF token missing or wrong). Reload the page and send it again."),
    "signed_in_as": ("Đăng nhập: {user} ({role})", "Logged in: {user} ({role})"),
    "back_map": ("← Bản đồ", "← Map"),
    "import": ("Nhập dữ liệu", "Import data"),
    "lang": ("English", "Tiếng Việt"),
    "users": ("Tài khoản", "Accounts"),
    "role": ("Quyền", "Role"),
    "active": ("Hoạt động", "Active"),
    "created": ("Tạo lúc", "Created"),
    "last_login": ("Đăng nhập gần nhất", "Last login"),
    "save": ("Lưu", "Save"),
    "create": ("Tạo tài khoản", "Create account"),
    "user_created": ("Đã tạo tài khoản {user}.", "Account {user} created."),
    "user_saved": ("Đã lưu tài khoản {user}.", "Account {user} saved."),
    "new_password": ("Mật khẩu mới (để trống = giữ nguyên)", "New password (empty = keep)"),
    "role_viewer": ("xem", "viewer"),
    "role_editor": ("biên tập", "editor"),
    "role_admin": ("quản trị", "admin"),
    "last_admin": ("Không thể bỏ quyền hoặc khóa quản trị viên cuối cùng.",
                   "The last active admin cannot be demoted or deactivated."),
}


class AccountError(ValueError):
    """A username, role or password that cannot be used (message in Vietnamese / English)."""


# --- strings and pages --------------------------------------------------------------------------

def lang() -> str:
    """``en`` with ``?lang=en``, else Vietnamese."""
    return "en" if request.args.get("lang") == "en" else "vi"


def strings(language: str | None = None) -> dict[str, str]:
    language = language or lang()
    return {k: v[1] if language == "en" else v[0] for k, v in STRINGS.items()}


def role_label(role: str, language: str | None = None) -> str:
    return strings(language).get(f"role_{role}", role)


def render_message(message: str, status: int):
    """A small page (or JSON for the API) saying why a request was refused."""
    if _wants_json():
        return jsonify(error=message), status
    language = lang()
    return render_template("login.html", t=strings(language), lang=language, mode="message",
                           message=message, user=current_user(), next_url=_safe_next(request.full_path)), status


def _wants_json() -> bool:
    return request.blueprint == "api" or request.path.endswith(".json") or (
        request.accept_mimetypes.best == "application/json")


# --- accounts ---------------------------------------------------------------------------------

def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def normalise_username(name: str) -> str:
    """The stored form of a username: stripped, lower case; raises :class:`AccountError` if unusable."""
    clean = (name or "").strip().lower()
    if not USERNAME.match(clean):
        raise AccountError("tên đăng nhập chỉ gồm chữ thường không dấu, số và . _ - @ (2-64 ký tự) / a username "
                           "has 2-64 characters: a-z, 0-9, '.', '_', '-', '@'")
    return clean


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"quyền không hợp lệ / unknown role '{role}': {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"mật khẩu cần ít nhất {MIN_PASSWORD} ký tự / a password needs at least "
                           f"{MIN_PASSWORD} characters")
    return password


def ensure_schema(engine: sa.Engine | None = None) -> sa.Engine:
    """Make sure the account tables exist (once per app; the seed normally did it)."""
    engine = engine or db.get_engine()
    app = current_app._get_current_object()
    if not app.extensions.get("mapapp_auth_schema"):
        db.create_schema(engine)
        app.extensions["mapapp_auth_schema"] = True
    return engine


def create_user(engine: sa.Engine, username: str, password: str, role: str, update: bool = False) -> dict:
    """Create an account (or, with ``update``, set the password and role of an existing one).

    Raises
    ------
    AccountError
        For a bad username, role or password, or an existing account without ``update``.
    """
    username = normalise_username(username)
    check_role(role)
    check_password(password)
    u = db.users.c
    with engine.begin() as conn:
        row = conn.execute(sa.select(db.users).where(u.username == username)).mappings().first()
        if row is not None and not update:
            raise AccountError(f"tài khoản đã có / the account '{username}' already exists (--update to change it)")
        values = {"password_hash": generate_password_hash(password), "role": role, "active": True}
        if row is None:
            conn.execute(sa.insert(db.users).values(username=username, created_at=_now(), **values))
        else:
            conn.execute(sa.update(db.users).where(u.id == row["id"])
                         .values(session_epoch=row["session_epoch"] + 1, **values))
    return {"username": username, "role": role, "created": row is None}


def list_users(conn: sa.Connection) -> list[dict]:
    rows = conn.execute(sa.select(db.users).order_by(db.users.c.username)).mappings()
    return [{k: v for k, v in r.items() if k != "password_hash"} for r in rows]


def update_user(engine: sa.Engine, user_id: int, role: str, active: bool, password: str = "") -> dict:
    """Change an account's role, active flag and (when given) password; keeps one active admin."""
    check_role(role)
    if password:
        check_password(password)
    u = db.users.c
    with engine.begin() as conn:
        row = conn.execute(sa.select(db.users).where(u.id == user_id)).mappings().first()
        if row is None:
            raise AccountError(f"không có tài khoản / no account #{user_id}")
        if row["role"] == "admin" and row["active"] and (role != "admin" or not active):
            others = conn.execute(sa.select(sa.func.count()).select_from(db.users).where(
                u.role == "admin", u.active == sa.true(), u.id != user_id)).scalar()
            if not others:
                raise AccountError(strings()["last_admin"])
        values = {"role": role, "active": active}
        if password:
            values["password_hash"] = generate_password_hash(password)
        if password or role != row["role"] or active != bool(row["active"]):
            values["session_epoch"] = row["session_epoch"] + 1
        conn.execute(sa.update(db.users).where(u.id == user_id).values(**values))
    return {"username": row["username"], "role": role, "active": active}


# --- the current user -----------------------------------------------------------------------

def current_user() -> dict | None:
    """The logged-in account of this request (``None`` when anonymous); read once per request."""
    if "mapapp_user" in g:
        return g.mapapp_user
    user = None
    # No cookie, no session read: anonymous map traffic never touches the session (no Vary: Cookie).
    if request.cookies.get(current_app.config.get("SESSION_COOKIE_NAME", "session")) and "uid" in session:
        with ensure_schema().connect() as conn:
            row = conn.execute(sa.select(db.users).where(db.users.c.id == session["uid"])).mappings().first()
        if row is not None and row["active"] and row["session_epoch"] == session.get("epoch"):
            user = {"id": row["id"], "username": row["username"], "role": row["role"]}
        else:
            session.pop("uid", None)
            session.pop("epoch", None)
    g.mapapp_user = user
    return user


def has_role(user: dict | None, role: str) -> bool:
    return user is not None and ROLES.index(user["role"]) >= ROLES.index(role)


def required_role(endpoint: str | None, blueprint: str | None) -> str | None:
    """The least role a request needs (``None``: anybody)."""
    if endpoint in OPEN_ENDPOINTS:
        return None
    if endpoint in ENDPOINT_ROLES:
        return ENDPOINT_ROLES[endpoint]
    if blueprint in BLUEPRINT_ROLES:
        return BLUEPRINT_ROLES[blueprint]
    if endpoint is None or current_app.config.get("ANONYMOUS_VIEWING", True):
        return None
    return "viewer"


def access_check():
    """Refuse a request the current user may not make (a response), else ``None``."""
    needed = required_role(request.endpoint, request.blueprint)
    if needed is None:
        return None
    return _refuse(needed)


def _refuse(needed: str):
    user = current_user()
    if has_role(user, needed):
        return None
    t = strings()
    if user is None:
        if request.method in ("GET", "HEAD") and not _wants_json():
            return redirect(url_for("auth.login", next=_safe_next(request.full_path), lang=_lang_arg()))
        return render_message(t["forbidden_anon"].format(needed=role_label(needed)), 403)
    return render_message(t["forbidden"].format(user=user["username"], role=role_label(user["role"]),
                                                needed=role_label(needed)), 403)


def require_role(role: str):
    """Decorator: the view needs a logged-in account with at least ``role``."""
    check_role(role)

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            refused = _refuse(role)
            if refused is not None:
                return refused
            return view(*args, **kwargs)
        return wrapped
    return decorate


def _lang_arg() -> str | None:
    return "en" if lang() == "en" else None


def _safe_next(target: str | None) -> str:
    """A local path to go to after login (never another site: no scheme, host or ``//``)."""
    target = (target or "").strip()
    if target.endswith("?"):
        target = target[:-1]
    parts = urlsplit(target)
    if (not target.startswith("/") or target.startswith("//") or "\\" in target or parts.scheme
            or parts.netloc or any(ord(c) < 32 for c in target)):
        return "/"
    return target


# --- login rate limit -------------------------------------------------------------------------

class LoginLimiter:
    """Failed-login counting in the ``login_failures`` table (see the module docstring)."""

    def __init__(self, engine: sa.Engine, config):
        self.engine = engine
        self.per_user = int(config.get("LOGIN_MAX_FAILURES", 5))
        self.per_ip = int(config.get("LOGIN_MAX_FAILURES_PER_IP", 20))
        self.window = float(config.get("LOGIN_WINDOW_S", 900))

    def blocked_for(self, ip: str, username: str, now: float | None = None) -> float:
        """Seconds until this IP may try this username again (0: it may now)."""
        now = time.time() if now is None else now
        f = db.login_failures.c
        since = now - self.window
        with self.engine.connect() as conn:
            by_user = [r[0] for r in conn.execute(sa.select(f.at).where(
                f.ip == ip, f.username == username, f.at > since).order_by(f.at.desc()).limit(self.per_user))]
            by_ip = [r[0] for r in conn.execute(sa.select(f.at).where(
                f.ip == ip, f.at > since).order_by(f.at.desc()).limit(self.per_ip))]
        waits = [0.0]
        if len(by_user) >= self.per_user:
            waits.append(by_user[-1] + self.window - now)
        if len(by_ip) >= self.per_ip:
            waits.append(by_ip[-1] + self.window - now)
        return max(waits)

    def failed(self, ip: str, username: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.engine.begin() as conn:
            conn.execute(sa.delete(db.login_failures).where(db.login_failures.c.at <= now - self.window))
            conn.execute(sa.insert(db.login_failures).values(ip=ip, username=username, at=now))

    def succeeded(self, ip: str, username: str) -> None:
        f = db.login_failures.c
        with self.engine.begin() as conn:
            conn.execute(sa.delete(db.login_failures).where(f.ip == ip, f.username == username))


def authenticate(engine: sa.Engine, username: str, password: str) -> dict | None:
    """The active account with this username and password, else ``None`` (same cost either way)."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(db.users).where(db.users.c.username == username)).mappings().first()
    if row is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(row["password_hash"], password) or not row["active"]:
        return None
    return dict(row)


# --- pages ------------------------------------------------------------------------------------

@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(mode: str, status: int = 200, **context):
    language = lang()
    return render_template("login.html", t=strings(language), lang=language, mode=mode, user=current_user(),
                           **context), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form; on success go to ``next`` (a local path only)."""
    t = strings()
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        notice = t["logged_out"] if request.args.get("out") else (
            t["login_needed"] if request.args.get("next") else None)
        return _page("login", next_url=next_url, notice=notice)
    raw_name = (request.form.get("username") or "").strip().lower()[:64]
    password = request.form.get("password") or ""
    ip = (request.remote_addr or "?")[:64]
    engine = ensure_schema()
    limiter = LoginLimiter(engine, current_app.config)
    wait = limiter.blocked_for(ip, raw_name)
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        page, status = _page("login", 429, next_url=next_url, error=t["too_many"].format(minutes=minutes),
                             username=raw_name)
        return page, status, {"Retry-After": str(int(math.ceil(wait)))}
    user = authenticate(engine, raw_name, password) if USERNAME.match(raw_name) else None
    if user is None:
        limiter.failed(ip, raw_name)
        current_app.logger.warning("login failed for %r from %s", raw_name, ip)
        return _page("login", 401, next_url=next_url, error=t["bad_login"], username=raw_name)
    limiter.succeeded(ip, raw_name)
    with engine.begin() as conn:
        conn.execute(sa.update(db.users).where(db.users.c.id == user["id"]).values(last_login_at=_now()))
    session.clear()  # a new session (and a new CSRF token) for the logged-in user
    session.permanent = True
    session["uid"] = user["id"]
    session["epoch"] = user["session_epoch"]
    g.pop("mapapp_user", None)
    current_app.logger.info("login %s from %s", user["username"], ip)
    return redirect(next_url)


@bp.post("/logout")
def logout():
    """Log out (a POST with the CSRF token, so another site cannot log people out)."""
    session.clear()
    g.pop("mapapp_user", None)
    return redirect(url_for("auth.login", out=1, lang=_lang_arg()))


@bp.get("/users")
@require_role("admin")
def users():
    """Accounts: role, active flag, password reset, and a form to create one."""
    with ensure_schema().connect() as conn:
        rows = list_users(conn)
    notice = " ".join(get_flashed_messages()) or None
    return _page("users", users=rows, roles=ROLES, notice=notice, role_label=role_label)


def _users_error(error: Exception):
    with ensure_schema().connect() as conn:
        rows = list_users(conn)
    return _page("users", 400, users=rows, roles=ROLES, error=str(error), role_label=role_label)


@bp.post("/users")
@require_role("admin")
def users_create():
    form = request.form
    if form.get("password", "") != form.get("password2", ""):
        return _users_error(AccountError("hai mật khẩu khác nhau / the passwords differ"))
    try:
        made = create_user(ensure_schema(), form.get("username", ""), form.get("password", ""),
                           form.get("role", "viewer"))
    except AccountError as error:
        return _users_error(error)
    flash(strings()["user_created"].format(user=made["username"]))
    return redirect(url_for("auth.users", lang=_lang_arg()))


@bp.post("/users/<int:user_id>")
@require_role("admin")
def users_update(user_id: int):
    form = request.form
    try:
        saved = update_user(ensure_schema(), user_id, form.get("role", ""), form.get("active") == "1",
                            form.get("password", ""))
    except AccountError as error:
        return _users_error(error)
    if user_id == current_user()["id"] and saved["active"]:
        # Our own epoch may have moved: keep this session (other sessions of the account end).
        with db.get_engine().connect() as conn:
            session["epoch"] = conn.execute(sa.select(db.users.c.session_epoch)
                                            .where(db.users.c.id == user_id)).scalar()
    flash(strings()["user_saved"].format(user=saved["username"]))
    return redirect(url_for("auth.users", lang=_lang_arg()))


def username_or_none() -> str | None:
    """The logged-in username (for records such as the import history)."""
    user = current_user()
    return user["username"] if user else None
