"""The process cache of answers: bounded by size, least recently used dropped first."""
from mapapp.query.answers import ROW_BYTES, VALUE_BYTES, AnswerCache, estimated_size


def test_the_cache_keeps_recent_answers_within_its_size():
    cache, calls = AnswerCache(max_bytes=3000), []

    def make(key):
        calls.append(key)
        return "x" * 1000

    for key in ("a", "b", "c"):
        cache.get_or_compute(key, lambda key=key: make(key))
    cache.get_or_compute("a", lambda: make("a"))  # a hit: "a" becomes the most recent
    cache.get_or_compute("d", lambda: make("d"))  # drops "b", the least recent
    cache.get_or_compute("a", lambda: make("a"))
    cache.get_or_compute("b", lambda: make("b"))
    assert calls == ["a", "b", "c", "d", "b"]


def test_an_answer_larger_than_the_cache_is_returned_but_not_kept():
    cache = AnswerCache(max_bytes=100)
    assert cache.get_or_compute("big", lambda: "y" * 500) == "y" * 500
    assert cache.get_or_compute("big", lambda: "z") == "z"


def test_rankings_are_weighed_by_their_rows():
    assert estimated_size({"rows": [{}] * 11163}) == 11163 * ROW_BYTES
    assert estimated_size("abc") == 3


def test_every_years_values_are_weighed_by_their_values(app):
    """The series kept for shared classes and circle scales (a country's: 11,163 values a year) count
    for their values, so that their budget bounds the memory they take."""
    from mapapp.query import series
    from mapapp.store.db import connection

    with app.app_context():
        by_year = series.all_years(connection(), "poverty_rate")
        items = app.extensions["mapapp_answers"]["series"]._items  # the app is shared: other series are kept too
        kept = [size for key, (_answer, size) in items.items() if key[3] == "poverty_rate|"]
    assert kept == [VALUE_BYTES * sum(len(values) for values in by_year.values())] and len(by_year) == 10
    summaries = {2016: {"values": [1.0] * 11163, "largest": {"value": 1.0, "numerator": 0.0}}}
    assert estimated_size(summaries) == VALUE_BYTES * 11163


def test_large_rankings_never_push_out_the_values(app):
    from mapapp.query.answers import cached
    from mapapp.store.db import get_engine

    with app.app_context():
        with get_engine().connect() as conn:
            cached(conn, "values-columns", "year=2020", lambda: "values")
            for year in range(40):  # 40 rankings of a country: far over the ranking budget
                cached(conn, "ranking", f"year={year}", lambda: {"rows": [{}] * 11163})
            assert cached(conn, "values-columns", "year=2020", lambda: "recomputed") == "values"
