"""HTTP transport: gzip-compressed responses and a ``Server-Timing`` header.

Over an office link of a few Mbit/s the bytes on the wire decide how fast a map
appears, so every text response (HTML, JSON, JavaScript, CSS, SVG) of more than
:data:`MIN_SIZE` bytes is sent gzip-compressed to a browser that accepts it.
Responses that are already compressed (the geometry packs) are left alone.
``Server-Timing: app;dur=<ms>`` tells how long the app spent on the request
(benchmarks read it; browsers show it in their developer tools).
"""
from __future__ import annotations

import gzip
import time
from collections import OrderedDict

from flask import Flask, Response, g, request

MIN_SIZE = 1024
LEVEL = 6
COMPRESSIBLE = ("text/", "application/json", "application/javascript", "image/svg+xml", "application/geo+json")
_CACHE_SIZE = 64  # compressed bodies of static files and other ETagged responses


def init_app(app: Flask) -> None:
    """Compress responses and time requests for ``app``."""
    cache: OrderedDict = OrderedDict()
    app.before_request(_start_timer)

    @app.after_request
    def _compress_and_time(response: Response) -> Response:
        if _should_compress(response):
            _compress(response, cache)
        started = g.get("_mapapp_started")
        if started is not None:
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response


def _start_timer() -> None:
    g._mapapp_started = time.perf_counter()


def accepts_gzip() -> bool:
    """True when the request's ``Accept-Encoding`` allows gzip."""
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


def _should_compress(response: Response) -> bool:
    return (response.status_code == 200 and "Content-Encoding" not in response.headers
            and response.mimetype.startswith(COMPRESSIBLE) and accepts_gzip()
            and (response.content_length is None or response.content_length >= MIN_SIZE))


def _compress(response: Response, cache: OrderedDict) -> None:
    response.direct_passthrough = False  # static files: read the body to compress it
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return
    etag, _weak = response.get_etag()
    key = (etag, len(body)) if etag else None
    compressed = cache.get(key) if key else None
    if compressed is None:
        compressed = gzip.compress(body, LEVEL, mtime=0)
        if key:
            cache[key] = compressed
            while len(cache) > _CACHE_SIZE:
                cache.popitem(last=False)
    response.set_data(compressed)
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
