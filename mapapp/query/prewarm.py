"""What a started app computes before its first visitor asks.

Values of every year are precomputed into the store before serving
(:mod:`mapapp.present.precompute`); this is the rest: a server's compiled templates and
default page (before its first request), and derived geometry (in the background).
"""
from __future__ import annotations

import re
import threading
import time

from mapapp.query.anchors import anchors
from mapapp.query.read import versions
from mapapp.store.db import connection


def prewarm(app, delay_s: float = 2.0) -> threading.Thread:
    """Compute, in the background, what the first views of a map need besides values.

    After ``delay_s`` (so the first visitor's page does not wait for it): geometry derived
    once per boundary checksum (the label points of the default year's boundaries and every
    version's inner points (:func:`mapapp.query.anchors.anchors`) that anchor circles and
    project sites — seconds for a country), and the default view's page and first frame image.
    The values of every year are precomputed into the store before this
    (:func:`mapapp.present.precompute.precompute`); a server also compiles its pages before
    its first request (:func:`warm_pages`).
    """
    def run() -> None:
        time.sleep(delay_s)
        client = app.test_client()
        client.get(f"/api/points?year={app.config['DEFAULT_YEAR']}")
        # The default view's page (kept), then the first frame image it names (a second to draw for a country).
        frame = re.search(r'<img src="(/map-frame\.webp\?[^"]+)"', client.get("/").get_data(as_text=True))
        if frame:
            client.get(frame.group(1).replace("&amp;", "&"))
        # The inner points anchoring circles and project sites (seconds for a country), once.
        with app.app_context():
            conn = connection()
            for version in versions(conn):
                anchors(conn, version.id, version.checksum)

    thread = threading.Thread(target=run, name="mapapp-prewarm", daemon=True)
    thread.start()
    return thread


def warm_pages(app) -> None:
    """Compile every template of ``app`` and render its default page (``/``, kept): what a
    server does before its first request (:func:`mapapp.offload.build`), which would
    otherwise compile the templates it uses (0.1 s for the map page). 0.2 s for the district.
    """
    for name in app.jinja_env.list_templates():
        app.jinja_env.get_template(name)
    app.test_client().get("/")
