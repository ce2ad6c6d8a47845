"""The version of this code, for what it computes and keeps beyond one process.

Answers stored in the database (:mod:`mapapp.store.answers`) outlive the process that
computed them, and a server upgraded in place starts on the same data: keyed by the data
generation alone, the new code would serve the old code's answers until the data next
changed. Keyed also by :func:`code_version`, they are computed again by the new code.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def code_version() -> str:
    """The digest of every Python module of the ``mapapp`` package (12 hex digits).

    Servers of two versions on one store (an upgrade done one server at a time) each
    compute and keep their own answers, and the one that completes drops the other's:
    upgrade the servers of one store together.
    """
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n"))  # a Windows checkout's line ends: the same code
    return digest.hexdigest()[:12]
