"""Every year's values on every layout, computed when the data changes and kept in the store.

A year change must not wait for values computed on request (1.4 s a year for a country),
not even right after a restart. So when the data changes (seed at start, import, undo),
the map's values of every indicator × year × layout (data year's units, the last year's
units) × language are computed, default indicator first, and stored under the data
generation and the code's version (:func:`mapapp.query.answers.answer_generation`).
Only missing answers are computed: after a restart on unchanged data and code this
finds nothing to do. Answers of older generations are dropped once the current one is complete.
"""
from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from mapapp.present.values_answer import kind_of, values_text
from mapapp.present.viewstate import LANGS, parse
from mapapp.query import read as query
from mapapp.query.answers import answer_generation
from mapapp.store import answers as stored
from mapapp.store.db import data_generation, get_engine

log = logging.getLogger(__name__)
FORM = "columns"  # what the map page loads
BATCH = 20  # answers per write transaction


def view_args(config, indicator_ids, every_indicator: bool = True) -> list[dict]:
    """The query arguments of the views to precompute, most asked first.

    Parameters
    ----------
    config : Mapping
        App config (default indicator, year range).
    indicator_ids : Collection[str]
        Known indicators.
    every_indicator : bool
        False: the default indicator only (what a command line write waits for).
    """
    default = config["DEFAULT_INDICATOR"]
    ordered = [default] + ([i for i in indicator_ids if i != default] if every_indicator else [])
    years = range(config["FIRST_YEAR"], config["LAST_YEAR"] + 1)
    layouts = ("", str(config["LAST_YEAR"]))
    out = []
    for indicator in ordered:
        for lang in LANGS:
            for layout in layouts:
                out.extend({"indicator": indicator, "year": str(y), "lang": lang, "units_year": layout}
                           for y in years if not (layout and int(layout) == y))
    return out


def precompute(app: Flask, every_indicator: bool = True) -> int:
    """Compute and store the missing answers of the current data; return how many were computed.

    Stops early (the next call resumes) when the data changes meanwhile.
    """
    with app.app_context():
        engine = get_engine()
        with engine.connect() as conn:
            data = data_generation(conn)
            generation = answer_generation(conn, data)
            if not data:
                return 0
            have = stored.stored_keys(conn, generation, kind_of(FORM))
            states = [parse(args, app.config, query.catalogue(conn).keys())
                      for args in view_args(app.config, query.catalogue(conn).keys(), every_indicator)]
            todo = [s for s in states if s.query_string() not in have]
            done = 0
            for start in range(0, len(todo), BATCH):
                batch = [(s.query_string(), values_text(conn, s, FORM)) for s in todo[start:start + BATCH]]
                with engine.begin() as write:
                    if data_generation(write) != data:
                        return done
                    for key, text in batch:
                        stored.store_answer(write, generation, kind_of(FORM), key, text)
                done += len(batch)
        if every_indicator:
            with engine.begin() as write:
                if data_generation(write) == data:
                    stored.drop_stale(write, generation)
    return done


def precompute_in_background(app: Flask, delay_s: float = 0.0) -> threading.Thread:
    """:func:`precompute` in a thread, after ``delay_s`` (one at a time per app; a change during a run starts another)."""
    lock = app.extensions.setdefault("mapapp_precompute_lock", threading.Lock())

    def run() -> None:
        time.sleep(delay_s)
        with lock:
            try:
                count = precompute(app)
                if count:
                    log.info("precomputed %d answers", count)
            except Exception:  # noqa: BLE001 - a failed precompute only means answers computed on request
                log.exception("precomputing answers failed")

    thread = threading.Thread(target=run, name="mapapp-precompute", daemon=True)
    app.extensions["mapapp_precompute"] = thread
    thread.start()
    return thread


def after_write(app: Flask) -> None:
    """Refresh the stored answers after a data write (in the background when the app prewarms)."""
    if app.config.get("PREWARM"):
        precompute_in_background(app)
    else:
        precompute(app, every_indicator=False)
