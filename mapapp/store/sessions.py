"""Server-side records of login sessions, so logout and password changes end a session for good.

The session cookie (Flask's, signed) carries a random session id; the store keeps only its
SHA-256 with the account and the time of login. A request's session counts only while its
record exists and is younger than the lifetime; logout deletes the record, and changing an
account's password, role or active flag deletes every record of the account. A cookie copied
before logout is therefore worthless afterwards, whatever its signature says.
"""
from __future__ import annotations

import hashlib
import secrets
import time

import sqlalchemy as sa

from mapapp.store import db

user_sessions = sa.Table(
    "user_sessions", db.metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # SHA-256 of the id in the cookie
    sa.Column("user_id", sa.Integer, nullable=False, index=True),
    sa.Column("created_at", sa.Float, nullable=False),
)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def open_session(conn: sa.Connection, user_id: int, now: float | None = None) -> str:
    """Record a new session of ``user_id``; return its id (for the cookie only)."""
    session_id = secrets.token_urlsafe(24)
    conn.execute(sa.insert(user_sessions).values(id=_digest(session_id), user_id=user_id,
                                                 created_at=time.time() if now is None else now))
    return session_id


def is_open(conn: sa.Connection, session_id, user_id: int, lifetime_s: float, now: float | None = None) -> bool:
    """True when the session exists, belongs to ``user_id`` and is younger than ``lifetime_s``."""
    if not isinstance(session_id, str) or not session_id:
        return False
    s = user_sessions.c
    created = conn.execute(sa.select(s.created_at).where(s.id == _digest(session_id), s.user_id == user_id)).scalar()
    now = time.time() if now is None else now
    return created is not None and created <= now < created + lifetime_s


def close_session(conn: sa.Connection, session_id) -> None:
    """Delete one session's record (logout)."""
    if isinstance(session_id, str) and session_id:
        conn.execute(sa.delete(user_sessions).where(user_sessions.c.id == _digest(session_id)))


def close_sessions_of(conn: sa.Connection, user_id: int, keep: str | None = None) -> None:
    """Delete every session of an account (password, role or active flag changed), but ``keep``."""
    s = user_sessions.c
    query = sa.delete(user_sessions).where(s.user_id == user_id)
    if keep:
        query = query.where(s.id != _digest(keep))
    conn.execute(query)


def forget_expired(conn: sa.Connection, lifetime_s: float, now: float | None = None) -> None:
    """Delete the records of sessions older than the lifetime."""
    now = time.time() if now is None else now
    conn.execute(sa.delete(user_sessions).where(user_sessions.c.created_at < now - lifetime_s))
