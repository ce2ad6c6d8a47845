"""Precomputed answers kept in the store, under the generation they were computed for.

A generation is the data generation and the version of the code that computed the answer
(:func:`mapapp.query.answers.answer_generation`). A process's answer cache
(:mod:`mapapp.query.answers`) is empty after a restart; these rows are not. Bodies are
gzip-compressed UTF-8 JSON. Rows of any other generation than the current one describe
data that no longer exists, or were computed by other code: :func:`drop_stale` removes them.
"""
from __future__ import annotations

import gzip

import sqlalchemy as sa

from mapapp.store import db
from mapapp.store.db import answers


class StoredAnswer(str):
    """An answer's text read from the store; ``gzipped`` is its stored body, ready to send as it is."""

    gzipped: bytes = b""


def stored_answer(conn: sa.Connection, generation: str, kind: str, key: str) -> StoredAnswer | None:
    """The stored answer (text, with its gzip body), or ``None``.

    Parameters
    ----------
    conn : Connection
    generation : str
        The generation (data and code) the answer must have been computed for.
    kind, key : str
        What was asked and its canonical parameters.
    """
    body = conn.execute(sa.select(answers.c.body).where(
        answers.c.generation == generation, answers.c.kind == kind, answers.c.key == key)).scalar()
    if body is None:
        return None
    answer = StoredAnswer(gzip.decompress(body).decode("utf-8"))
    answer.gzipped = body
    return answer


def stored_keys(conn: sa.Connection, generation: str, kind: str) -> set[str]:
    """The keys of ``kind`` stored for ``generation``."""
    rows = conn.execute(sa.select(answers.c.key).where(answers.c.generation == generation, answers.c.kind == kind))
    return {r[0] for r in rows}


def store_answer(conn: sa.Connection, generation: str, kind: str, key: str, text: str) -> None:
    """Store (or replace) one answer; the caller commits.

    An upsert, not delete + insert: two servers precomputing the same answer at once must both succeed.
    """
    db.upsert(conn, answers, [{"generation": generation, "kind": kind, "key": key,
                               "body": gzip.compress(text.encode("utf-8"), 6, mtime=0)}],
              ["generation", "kind", "key"])


def drop_stale(conn: sa.Connection, generation: str) -> int:
    """Delete the answers of every other generation; return how many rows went."""
    return conn.execute(sa.delete(answers).where(answers.c.generation != generation)).rowcount


def count(conn: sa.Connection, generation: str) -> int:
    """How many answers are stored for ``generation``."""
    return conn.execute(sa.select(sa.func.count()).select_from(answers)
                        .where(answers.c.generation == generation)).scalar()
