"""What a started app computes in the background before its first visitor asks.

Values of every year are precomputed into the store before serving
(:mod:`mapapp.present.precompute`); this is the rest: compiled templates, the default page
and derived geometry.
"""
from __future__ import annotations

import re
import threading
import time

from mapapp.query.anchors import anchors
from mapapp.query.read import versions
from mapapp.store.db import connection


def prewarm(app, delay_s: float = 2.0) -> threading.Thread:
    """Make the first views of a map ready: what every page needs now, the rest in the background.

    Now, before the server takes its first request (0.2 s for the district): every page template
    compiled and the default view's page rendered (:func:`warm_pages`), so the first visitor
    after a start waits for neither. The values of every year are precomputed into the store
    before this (:func:`mapapp.present.precompute.precompute`).

    In the background, after ``delay_s`` (so the first visitor's page does not wait for it):
    geometry derived once per boundary checksum (the label points of the default year's
    boundaries and every version's inner points (:func:`mapapp.query.anchors.anchors`) that
    anchor circles and project sites — seconds for a country), and the default view's first
    frame image.
    """
    page = warm_pages(app)

    def run() -> None:
        time.sleep(delay_s)
        client = app.test_client()
        client.get(f"/api/points?year={app.config['DEFAULT_YEAR']}")
        # The first frame image the default page names (a second to draw for a country).
        frame = re.search(r'<img src="(/map-frame\.webp\?[^"]+)"', page)
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


def warm_pages(app) -> str:
    """Compile every template of ``app`` and render its default page (``/``, kept); return that page.

    A first request would otherwise compile the templates it uses (0.1 s for the map page).
    """
    for name in app.jinja_env.list_templates():
        app.jinja_env.get_template(name)
    return app.test_client().get("/").get_data(as_text=True)
