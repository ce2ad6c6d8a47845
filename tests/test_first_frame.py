"""The map's first frame: the page draws the view's units itself, before any script or stylesheet."""
from __future__ import annotations

import gzip
import json
import math
import re

from conftest import needs_shared

from mapapp.present import first_frame
from mapapp.query import read as query
from mapapp.store import db

FRAME = re.compile(r'<div id="map-frame"[^>]*>(<svg[^>]*>.*?</svg>)(.*?)</div>\s*</div>\s*</div>', re.S)
PATH = re.compile(r'<path d="[^"]*"( class="([^"]+)")? fill="([^"]+)"')


def _page(client, query_string: str) -> str:
    response = client.get("/" + query_string)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _answer(client, query_string: str) -> dict:
    return client.get("/api/values" + query_string + "&format=columns").get_json()


def _pack(client, version: str) -> dict:
    with client.application.app_context(), db.get_engine().connect() as conn:
        return json.loads(gzip.decompress(query.pack(conn, version, 0)[1]))


@needs_shared
def test_the_page_draws_every_unit_in_its_class_colour(client):
    html = _page(client, "?indicator=poverty_rate&year=2019")
    svg, legend = FRAME.search(html).groups()
    answer = _answer(client, "?indicator=poverty_rate&year=2019")
    pack = _pack(client, answer["version"]["id"])
    colours = answer["classification"]["colors"]
    by_code = dict(zip(answer["columns"]["code"], answer["columns"]["class"]))
    expected = [colours[by_code[code]] for code in pack["units"]["code"]]
    assert [fill for _, _, fill in PATH.findall(svg)] == expected and len(expected) == 22
    assert svg.count('class="outline"') == 1
    for label in answer["legend"]["labels"]:
        assert label.replace("<", "&lt;").replace(">", "&gt;") in legend
    assert "minh họa" in legend  # illustrative figures are stamped on the first frame too
    # The box the live map is fitted to: the pack's bbox, in its grid (Web Mercator metres, y down).
    x0, y0, width, height = map(float, re.search(r'viewBox="([^"]+)"', svg).group(1).split())
    west, south, east, north = pack["bbox"]
    assert math.isclose(width, 6378137 * math.radians(east - west) / pack["grid"], rel_tol=1e-4)
    assert height > width  # Hướng Hóa is taller than wide


@needs_shared
def test_the_first_frame_needs_no_other_request(client):
    html = _page(client, "?indicator=poverty_rate&year=2021&lang=en")
    head, body = html.split("</head>", 1)
    scripts = re.findall(r"<script[^>]*\bsrc=[^>]*>", head)
    assert scripts and all('type="module"' in tag for tag in scripts), scripts  # deferred: they never hold it back
    assert '<link rel="stylesheet"' not in head
    assert ".map-frame" in head  # the page's stylesheet is in the page
    # Nor in the body: Leaflet and the map's start-up script are named in the config, loaded after the frame.
    assert not re.findall(r"<script[^>]*\bsrc=|<link[^>]*stylesheet|<link[^>]*preload", body)
    live = json.loads(re.search(r'id="mapapp-config">(.*?)</script>', body, re.S).group(1))["liveAssets"]
    assert live["css"] == ["/vendor/leaflet/leaflet.css"]
    assert live["js"][0] == "/vendor/leaflet/leaflet.js" and re.fullmatch(r"/map-script/[0-9a-f]{16}\.js", live["js"][1])
    assert "<title>Poverty rate" in head and "Source:" in body  # title and footer as the script writes them


@needs_shared
def test_a_threshold_outlines_the_matching_units_in_the_first_frame(client):
    html = _page(client, "?indicator=poverty_rate&year=2019&min=30")
    svg, legend = FRAME.search(html).groups()
    answer = _answer(client, "?indicator=poverty_rate&year=2019&min=30")
    matching = sum(1 for flag in answer["columns"]["highlight"] if flag) if isinstance(
        answer["columns"]["highlight"], list) else 0
    classes = [klass for _, klass, _ in PATH.findall(svg)]
    assert 0 < classes.count("highlight") == matching and classes.count("faded") == 22 - matching
    assert "legend-threshold" in legend


@needs_shared
def test_without_inline_geometry_the_first_frame_is_an_image(client, monkeypatch):
    from mapapp.web import views

    monkeypatch.setattr(views, "INLINE_GEOMETRY_MAX_GZIP", 0)
    html = _page(client, "?year=2020&k=6")  # a page of its own (pages are cached per query)
    assert re.search(r'<div id="map-frame"[^>]*><img src="/map-frame\.webp\?', html)
    assert "<svg viewBox" not in html and 'id="mapapp-first-values"' not in html  # preloaded instead


def _square_pack(units: int) -> dict:
    ring = [0, 0, 10, 0, 0, -10, -10, 0]
    return {"bbox": [106.0, 16.0, 106.1, 16.1], "origin": [11800000.0, 1800000.0], "grid": 1.0,
            "units": {"code": [str(i) for i in range(units)], "valid_from": ["2008-01-01"] * units},
            "geometry": [[[ring]] for _ in range(units)], "outline": [[ring]]}


def _answer_for(classes: list, **extra) -> dict:
    return {"count": len(classes), "no_data_color": "#d9d9d9",
            "classification": {"colors": ["#111111", "#222222"]},
            "columns": {"code": [str(i) for i in range(len(classes))], "valid_from": {"all": "2008-01-01"},
                        "class": classes, "highlight": {"all": False}}, **extra}


def test_no_data_never_looks_like_a_class_and_counts_draw_neutral_units():
    svg = first_frame.frame(_square_pack(3), _answer_for([1, None, 0]))
    assert PATH.findall(str(svg)) == [("", "", "#222222"), (' class="no-data"', "no-data", "#d9d9d9"),
                                      ("", "", "#111111")]
    assert 'd="M0 0l10 0 0 10 -10 0z"' in str(svg)  # a pack ring: its first point, then deltas (y down)
    counts = first_frame.frame(_square_pack(2), _answer_for([0, 1], circles={"mode": "count", "count_fill": "#efeee8"}))
    assert [fill for _, _, fill in PATH.findall(str(counts))] == ["#efeee8", "#efeee8"]


def test_no_frame_for_thousands_of_units_or_nothing_to_draw():
    assert first_frame.frame(_square_pack(first_frame.MAX_UNITS + 1), _answer_for([0] * 1001)) is None
    assert first_frame.frame(_square_pack(0), _answer_for([])) is None


@needs_shared
def test_a_large_map_gets_its_first_frame_as_an_image_of_the_same_colours(client, monkeypatch):
    import io

    from PIL import Image

    monkeypatch.setattr(first_frame, "MAX_UNITS", 0)  # Hướng Hóa drawn as a country's communes would be
    view = "?indicator=poverty_rate&year=2019&lang=en&k=3"  # a page of its own (pages are cached per query)
    html = _page(client, view)
    src = re.search(r'<div id="map-frame"[^>]*><img src="([^"]+)" alt="">', html).group(1).replace("&amp;", "&")
    response = client.get(src)
    assert response.status_code == 200 and response.mimetype == "image/webp"
    assert "immutable" in response.headers["Cache-Control"]  # named with the current data generation
    stale = client.get(re.sub(r"(?<=[?&])g=[^&]+", "g=old", src))
    assert stale.status_code == 200 and "no-cache" in stale.headers["Cache-Control"]
    image = Image.open(io.BytesIO(response.data)).convert("RGB")
    answer = _answer(client, view)
    pack = _pack(client, answer["version"]["id"])
    x0, y0, width, height = map(float, first_frame._view_box(pack).split())
    scale = first_frame.RASTER_LONG_SIDE_PX / max(width, height)
    assert image.size == (round(width * scale), round(height * scale))
    points = client.get(f"/api/points?version={answer['version']['id']}").get_json()
    colours = answer["classification"]["colors"]
    classes = dict(zip(answer["columns"]["code"], answer["columns"]["class"]))
    for code, lon, lat in zip(points["code"], points["lon"], points["lat"]):
        gx, gy = first_frame._grid_point(pack, lon, lat)
        pixel = image.getpixel((int((gx - x0) * scale), int((gy - y0) * scale)))
        assert pixel == first_frame._blend(colours[classes[code]], 0.85), code


@needs_shared
def test_a_bad_frame_request_is_a_clear_400(client):
    response = client.get("/map-frame.webp?indicator=nothing&year=2019")
    assert response.status_code == 400 and "nothing" in response.get_json()["error"]
    assert client.get("/map-frame.webp?year=abc").status_code == 400
