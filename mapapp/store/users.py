"""Accounts in the store: usernames, roles, scrypt password hashes, the failed-login record of the rate limit, and password checks."""
from __future__ import annotations

import datetime as dt
import re
import threading
import time

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from mapapp.core import i18n
from mapapp.store import db, sessions

ROLES = ("viewer", "editor", "admin")


#: Lower-case ASCII letters, digits and . _ - @ (no look-alike letters, nothing to escape).
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")


MIN_PASSWORD = 8
_LOCK = threading.Lock()  # the threads of one process take turns; the store's lock covers processes


# Checked when the username is unknown, so a wrong name costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anybody")


class AccountError(ValueError):
    """A username, role or password that cannot be used (message in Vietnamese / English)."""


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
            sessions.close_sessions_of(conn, row["id"])
    return {"username": username, "role": role, "created": row is None}


def list_users(conn: sa.Connection) -> list[dict]:
    rows = conn.execute(sa.select(db.users).order_by(db.users.c.username)).mappings()
    return [{k: v for k, v in r.items() if k != "password_hash"} for r in rows]


def update_user(engine: sa.Engine, user_id: int, role: str, active: bool, password: str = "",
                keep_session: str | None = None) -> dict:
    """Change an account's role, active flag and (when given) password; keeps one active admin.

    Any change ends the account's sessions (their records are deleted), except ``keep_session``
    (the session of an admin changing their own account).
    """
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
                raise AccountError(" / ".join(i18n.text("auth.last_admin", lang) for lang in ("vi", "en")))
        values = {"role": role, "active": active}
        if password:
            values["password_hash"] = generate_password_hash(password)
        if password or role != row["role"] or active != bool(row["active"]):
            values["session_epoch"] = row["session_epoch"] + 1
            sessions.close_sessions_of(conn, user_id, keep=keep_session)
        conn.execute(sa.update(db.users).where(u.id == user_id).values(**values))
    return {"username": row["username"], "role": role, "active": active}


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
        with self.engine.connect() as conn:
            return self._wait(conn, ip, username, now)

    def reserve(self, ip: str, username: str, now: float | None = None) -> float:
        """Count the recent failures and record this attempt as one, atomically.

        The attempt is recorded as failed *before* the password is checked (a success
        clears it, :meth:`succeeded`), and the count and the record happen in one
        transaction that holds the store's write lock (SQLite: the first statement
        writes; PostgreSQL: an advisory lock), so concurrent attempts never get more
        than the limit of password checks between them.

        Returns
        -------
        float
            0 when the attempt may check its password; else the seconds to wait (nothing recorded).
        """
        now = time.time() if now is None else now
        with _LOCK, self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7324001)"))
            conn.execute(sa.delete(db.login_failures).where(db.login_failures.c.at <= now - self.window))
            wait = self._wait(conn, ip, username, now)
            if wait <= 0:
                conn.execute(sa.insert(db.login_failures).values(ip=ip, username=username, at=now))
        return max(wait, 0.0)

    def _wait(self, conn: sa.Connection, ip: str, username: str, now: float) -> float:
        f = db.login_failures.c
        since = now - self.window
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
