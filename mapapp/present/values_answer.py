"""The values of one map view as the JSON text the API sends (and the map page inlines).

One function builds it for ``/api/values``, for the first view inlined in the map page
and for :mod:`mapapp.present.precompute`, so all three share one cache key and one answer.
"""
from __future__ import annotations

import json

from mapapp.present.choropleth import build_view, columns
from mapapp.present.viewstate import ViewState
from mapapp.query.answers import cached

FORMS = ("columns", "records")


def kind_of(form: str) -> str:
    """The answer cache's kind for a form (``"values-columns"``)."""
    return "values-" + form


def values_text(conn, state: ViewState, form: str = "columns") -> str:
    """The view's values as compact JSON, from the answer cache (process, then store) or built.

    Parameters
    ----------
    conn : Connection
    state : ViewState
        The view (its canonical query string is the key).
    form : str
        ``"columns"`` (what the map page loads) or ``"records"``.
    """

    def build() -> str:
        view = build_view(conn, state)
        if form == "columns":
            view = columns(conn, view)
        return json.dumps(view, ensure_ascii=False, separators=(",", ":"))

    return cached(conn, kind_of(form), state.query_string(), build)
