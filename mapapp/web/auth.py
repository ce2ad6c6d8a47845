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
failure leaves the window. Each attempt is recorded as a failure, in the same
transaction that counts (:meth:`LoginLimiter.reserve`), before its password is checked,
so concurrent attempts never get more checks than the limit; a successful login clears
the failures of that username from that address.

Sessions are Flask's signed cookies holding the user id, the account's
``session_epoch`` and a session id recorded in the store (:mod:`mapapp.store.sessions`):
logout deletes the record, changing the password, role or active flag deletes all of the
account's, and a record older than ``SESSION_HOURS`` no longer counts, so a copied cookie
stops working.
"""
from __future__ import annotations

import functools
import math
import time
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    get_flashed_messages,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from mapapp.core import i18n
from mapapp.store import db, sessions
from mapapp.store.users import (
    ROLES,
    USERNAME,
    AccountError,
    LoginLimiter,
    _now,
    authenticate,
    check_role,
    create_user,
    ensure_schema,
    list_users,
    update_user,
)

bp = Blueprint("auth", __name__)

OPEN_ENDPOINTS = {"auth.login", "auth.logout", "static", "versioned.static_file", "versioned.bundle_file",
                  "assets.vendor", "assets.favicon"}
BLUEPRINT_ROLES = {"imports": "editor"}
ENDPOINT_ROLES = {"auth.users": "admin", "auth.users_create": "admin", "auth.users_update": "admin"}



# --- strings and pages --------------------------------------------------------------------------

def lang() -> str:
    """``en`` with ``?lang=en``, else Vietnamese."""
    return "en" if request.args.get("lang") == "en" else "vi"


def strings(language: str | None = None) -> dict[str, str]:
    language = language or lang()
    return i18n.section("auth.", language)


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
            alive = row is not None and row["active"] and row["session_epoch"] == session.get("epoch") and \
                sessions.is_open(conn, session.get("sid"), row["id"], session_lifetime_s(), now=clock())
        if alive:
            user = {"id": row["id"], "username": row["username"], "role": row["role"]}
        else:
            for key in ("uid", "epoch", "sid"):
                session.pop(key, None)
    g.mapapp_user = user
    return user


def clock() -> float:
    """Now, in seconds (``CLOCK`` in the config replaces it in tests)."""
    return (current_app.config.get("CLOCK") or time.time)()


def session_lifetime_s() -> float:
    """How long a login lasts (``SESSION_HOURS``), in seconds; checked on the server too."""
    return current_app.permanent_session_lifetime.total_seconds()


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
    wait = limiter.reserve(ip, raw_name, now=clock())  # counted as a failure until the password is right
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        page, status = _page("login", 429, next_url=next_url, error=t["too_many"].format(minutes=minutes),
                             username=raw_name)
        return page, status, {"Retry-After": str(int(math.ceil(wait)))}
    user = authenticate(engine, raw_name, password) if USERNAME.match(raw_name) else None
    if user is None:
        current_app.logger.warning("login failed for %r from %s", raw_name, ip)
        return _page("login", 401, next_url=next_url, error=t["bad_login"], username=raw_name)
    limiter.succeeded(ip, raw_name)
    with engine.begin() as conn:
        conn.execute(sa.update(db.users).where(db.users.c.id == user["id"]).values(last_login_at=_now()))
        sessions.forget_expired(conn, session_lifetime_s(), now=clock())
        session_id = sessions.open_session(conn, user["id"], now=clock())
    session.clear()  # a new session (and a new CSRF token) for the logged-in user
    session.permanent = True
    session["uid"] = user["id"]
    session["epoch"] = user["session_epoch"]
    session["sid"] = session_id
    g.pop("mapapp_user", None)
    current_app.logger.info("login %s from %s", user["username"], ip)
    return redirect(next_url)


@bp.post("/logout")
def logout():
    """Log out (a POST with the CSRF token, so another site cannot log people out); the session ends on the server."""
    if session.get("sid"):
        with ensure_schema().begin() as conn:
            sessions.close_session(conn, session.get("sid"))
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


@bp.post("/users/<int(max=2147483647):user_id>")
@require_role("admin")
def users_update(user_id: int):
    form = request.form
    try:
        saved = update_user(ensure_schema(), user_id, form.get("role", ""), form.get("active") == "1",
                            form.get("password", ""),
                            keep_session=session.get("sid") if user_id == current_user()["id"] else None)
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
