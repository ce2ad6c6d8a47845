"""Web hardening: access rules, CSRF tokens, security headers, session cookies, the secret key.

:func:`init_app` wires, for every request:

1. the access rules of :func:`mapapp.auth.access_check` (who may open what);
2. a CSRF check on every POST/PUT/PATCH/DELETE: the form field ``csrf_token`` (or the
   ``X-CSRF-Token`` header) must equal the session's token (``hmac.compare_digest``);
   forms get it with ``{{ csrf_field() }}`` (or ``{{ csrf_token() }}``). A missing or
   wrong token answers 400 with a page saying to reload the form. Tests keep it on;
3. security headers on every response (``Content-Security-Policy`` allowing only our
   own origin, ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
   ``Referrer-Policy: same-origin``, ``Cross-Origin-Resource-Policy: same-origin``), and
   ``Cross-Origin-Opener-Policy: same-origin`` on the pages that act for an account
   (:func:`isolates_window`).

Configuration (``instance/config.py``, environment in capitals):

* ``SECRET_KEY`` — from ``MAPAPP_SECRET_KEY``, else the app config (``"dev"`` does not
  count), else the file ``SECRET_KEY_FILE`` (default ``instance/secret_key``), generated
  (random, mode 600) on first start. Tests (``TESTING``) without a file get a random key. On a
  PostgreSQL store no key is generated: the app refuses to start until one is configured,
  so that every server sharing the store signs with the same key.
* ``MAPAPP_SECURE_COOKIES=1`` / ``SECURE_COOKIES`` — session cookie only over HTTPS (set it
  behind an HTTPS proxy; plain HTTP logins stop working with it).
* ``SESSION_HOURS`` (12) — how long a login lasts without use.
* ``TRUSTED_PROXIES`` (0) — number of reverse proxies in front whose ``X-Forwarded-For``/
  ``-Proto`` are trusted (the login rate limit counts by client address).
* ``CONTENT_SECURITY_POLICY`` — replaces :data:`CSP`.
* ``CSRF_ENABLED`` (true) — never turn it off on a served instance.
"""
from __future__ import annotations

import datetime as dt
import hmac
import os
import secrets

from flask import current_app, request, session
from markupsafe import Markup, escape

from mapapp.web import auth

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
ACCOUNT_BLUEPRINTS = ("auth", "imports")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_SESSION_KEY = "_csrf"
_WEAK_KEYS = {None, "", "dev", "secret", "change-me", "changeme"}


def init_app(app) -> None:
    """Apply the secret key, cookie settings, access rules, CSRF check and headers to ``app``."""
    app.config["SECRET_KEY"] = secret_key(app)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    secure = os.environ.get("MAPAPP_SECURE_COOKIES")
    if secure is not None:
        app.config["SECURE_COOKIES"] = secure.strip().lower() in ("1", "true", "yes", "on")
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config.get("SECURE_COOKIES", False))
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=float(app.config.get("SESSION_HOURS", 12)))
    app.config.setdefault("ANONYMOUS_VIEWING", True)
    app.config.setdefault("CSRF_ENABLED", True)
    proxies = int(app.config.get("TRUSTED_PROXIES", 0) or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.jinja_env.globals.update(csrf_token=csrf_token, csrf_field=csrf_field)
    app.before_request(_guard)
    app.after_request(_headers)


# --- secret key -----------------------------------------------------------------------------

def secret_key(app) -> str:
    """The key that signs sessions (see the module docstring for where it comes from)."""
    from_env = os.environ.get("MAPAPP_SECRET_KEY", "").strip()
    if from_env:
        return from_env
    configured = app.config.get("SECRET_KEY")
    if configured not in _WEAK_KEYS:
        return configured
    path = app.config.get("SECRET_KEY_FILE")
    if not path and app.config.get("TESTING"):
        return secrets.token_hex(32)
    return _key_from_file(path or os.path.join(app.instance_path, "secret_key"),
                          shared_store=str(app.config.get("DATABASE_URL", "")).startswith("postgresql"))


class SharedKeyMissing(RuntimeError):
    """A server on a shared store would sign sessions with a key of its own."""


def _key_from_file(path: str, shared_store: bool = False) -> str:
    """Read the key file; create it first (atomically, readable by the owner only) when absent.

    On a PostgreSQL store (several servers may share it) a missing key is never generated: each
    server would make its own and a login on one would be unknown on the others.
    """
    try:
        with open(path, encoding="ascii") as handle:
            key = handle.read().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    if shared_store:
        raise SharedKeyMissing(
            "the store is PostgreSQL, which several app servers may share, but no secret key is configured "
            f"(no MAPAPP_SECRET_KEY, no SECRET_KEY in instance/config.py, no key file {path}): every server would "
            "generate its own and sessions would not carry over. Give all servers the same key: "
            "MAPAPP_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))') or SECRET_KEY_FILE "
            "pointing at one shared file")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temp, path)  # atomic, and never replaces a key another process wrote first
    except FileExistsError:
        pass
    finally:
        os.unlink(temp)
    with open(path, encoding="ascii") as handle:
        return handle.read().strip()


# --- CSRF -----------------------------------------------------------------------------------

def csrf_token() -> str:
    """This session's CSRF token (made on first use)."""
    token = session.get(_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[_SESSION_KEY] = token
    return token


def csrf_field() -> Markup:
    """A hidden form field carrying the CSRF token."""
    return Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf_token())}">')


def csrf_valid() -> bool:
    """Whether the request carries this session's token."""
    expected = session.get(_SESSION_KEY)
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), sent.encode("utf-8"))


def _guard():
    refused = auth.access_check()
    if refused is not None:
        return refused
    if request.method in SAFE_METHODS or not current_app.config.get("CSRF_ENABLED", True):
        return None
    if not csrf_valid():
        current_app.logger.warning("CSRF check failed: %s %s from %s", request.method, request.path,
                                   request.remote_addr)
        return auth.render_message(auth.strings()["csrf"], 400)
    return None


# --- headers --------------------------------------------------------------------------------

def _headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", current_app.config.get("CONTENT_SECURITY_POLICY") or CSP)
    for name, value in HEADERS.items():
        headers.setdefault(name, value)
    if isolates_window():
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


def isolates_window() -> bool:
    """Whether this request's page gets a window no other site's window can hold a handle to.

    Yes for the pages that act for an account (login, accounts, imports) and, when anonymous
    viewing is off, for every page. Not for the public read-only views: they hold nothing that
    their public URL does not give anyone, and the policy costs each first visit from elsewhere
    (a link in Word, e-mail or chat opens a new tab) a second renderer process before the first
    frame: 55-80 ms of a 200-300 ms first paint of the district map (bench/RESULTS.md).
    """
    return request.blueprint in ACCOUNT_BLUEPRINTS or auth.required_role(request.endpoint, request.blueprint) is not None
