"""A process cache of derived answers (a year's values, a ranking), keyed by the data's generation.

Building the answer for 11,163 communes takes a good part of a second; the same answer
is asked again and again (every visitor, every year change back and forth). Answers
are kept here under the store's *data generation* (:func:`mapapp.db.data_generation`),
which every data write changes, so a cached answer is never older than the data, and
under the code's version (:func:`answer_generation`), so never older than the code.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

from flask import current_app, has_app_context

from mapapp.core.build import code_version
from mapapp.store.answers import stored_answer
from mapapp.store.db import data_generation

MAX_BYTES = 64 * 1024 * 1024  # a national ranking is ~10 MB of Python objects: keep memory bounded
#: Each kind of answer has its own budget, so that a few large rankings never push out
#: the small per-year values every repaint needs.
BUDGETS = {"values-columns": 32 * 1024 * 1024, "values-records": 32 * 1024 * 1024, "ranking": MAX_BYTES,
           "series": 32 * 1024 * 1024, "map-page": 16 * 1024 * 1024,
           "map-frame": 16 * 1024 * 1024, "documents": 32 * 1024 * 1024}
ROW_BYTES = 1000  # estimated size of one ranking row in memory
VALUE_BYTES = 32  # estimated size of one float in a list of a year's values
#: Kinds whose answers may have been precomputed into the store (mapapp.present.precompute).
STORED_KINDS = ("values-columns", "values-records")


class AnswerCache:
    """A thread-safe LRU mapping of keys to answers, bounded by their estimated size in bytes."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict = OrderedDict()  # key -> (answer, size)
        self._total = 0
        self._lock = threading.Lock()

    def keys(self) -> list:
        """The keys held, least recently used first."""
        with self._lock:
            return list(self._items)

    def get_or_compute(self, key, compute: Callable):
        """The answer under ``key``, computed (outside the lock) when missing."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        answer = compute()
        size = estimated_size(answer)
        with self._lock:
            if key not in self._items and size <= self.max_bytes:
                self._items[key] = (answer, size)
                self._total += size
            while self._total > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._total -= dropped
        return answer


def estimated_size(answer) -> int:
    """Bytes an answer takes: a JSON text's length, or an estimate per ranking row or per value."""
    if isinstance(answer, (str, bytes)):
        return len(answer)
    if isinstance(answer, tuple):  # a document and its name
        return sum(estimated_size(part) for part in answer)
    if isinstance(answer, dict) and answer and "rows" not in answer and all(isinstance(v, list) for v in answer.values()):
        return max(ROW_BYTES, VALUE_BYTES * sum(len(v) for v in answer.values()))  # values by year
    if isinstance(answer, dict) and answer and all(isinstance(v, dict) and isinstance(v.get("values"), list)
                                                   for v in answer.values()):
        return max(ROW_BYTES, VALUE_BYTES * sum(len(v["values"]) for v in answer.values()))  # year summaries
    return ROW_BYTES * max(1, len(answer.get("rows", ()))) if isinstance(answer, dict) else ROW_BYTES


def answer_generation(conn, data: str | None = None) -> str:
    """What answers of the current data are kept under: its data generation and the code's version.

    ``data``: the data generation when the caller has just read it. ``""`` before the first
    data write (nothing to answer from yet).
    """
    generation = data_generation(conn) if data is None else data
    return f"{generation}.{code_version()}" if generation else ""


def cached(conn, kind: str, key: str, compute: Callable):
    """``compute()``, or its answer kept from an earlier request (or precomputed) on the same data.

    A miss in the process looks in the store (:mod:`mapapp.store.answers`) before computing:
    a restarted process answers precomputed views at once.

    Parameters
    ----------
    conn : Connection
        The request's connection (its store and data generation make part of the key).
    kind, key : str
        What is asked (``"values"``) and its parameters (a canonical query string).
    compute : callable
        Builds the answer; the answer must not be changed by callers. Outside an app (a
        script on the store) there is no process cache: the answer is computed.
    """
    if not has_app_context():
        return compute()
    caches = current_app.extensions.setdefault("mapapp_answers", {})
    if kind not in caches:
        caches[kind] = AnswerCache(BUDGETS.get(kind, MAX_BYTES))
    generation = answer_generation(conn)
    full_key = (str(conn.engine.url), generation, kind, key)

    def stored_or_computed():
        text = stored_answer(conn, generation, kind, key) if kind in STORED_KINDS else None
        return compute() if text is None else text

    return caches[kind].get_or_compute(full_key, stored_or_computed)
