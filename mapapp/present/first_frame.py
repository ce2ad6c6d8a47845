"""The map's first frame, drawn by the server: the view's units as an SVG inside the page.

A reader on a slow office link sees the coloured communes and their legend as soon as the
HTML and its stylesheet arrive, before Leaflet and the page script have loaded and run.
``static/map/main.js`` fits the live map to the same box (the level-0 pack's ``bbox``, the same
padding, no zoom snapping), so the live map takes the frame's place without a jump, and
removes the frame at its own first paint. Without JavaScript the frame stays: a static map.

The colours are the values answer's (``classification.colors``, ``no_data_color``): the same
classification and palette as the live map and every export; this module only draws them.
"""
from __future__ import annotations

import math

from markupsafe import Markup, escape

EARTH_RADIUS = 6378137.0  # Web Mercator (EPSG:3857), as the packs and Leaflet use
#: Beyond this many units the frame would weigh more than it saves; the live map draws them on a canvas.
MAX_UNITS = 1000


def frame(pack: dict, values: dict) -> Markup | None:
    """The first frame's SVG for a level-0 ``pack`` painted with a columns ``values`` answer.

    Parameters
    ----------
    pack : a decoded geometry pack (``mapapp-pack/2``), level 0
    values : a decoded ``/api/values?format=columns`` answer of the same boundary version

    Returns
    -------
    The ``<svg>`` markup, or ``None`` when there is nothing to draw or too much (``MAX_UNITS``).
    """
    units = len(pack.get("geometry") or [])
    if not units or units > MAX_UNITS or not pack.get("bbox"):
        return None
    styles = _unit_styles(pack, values)
    paths = "".join(f'<path d="{_polygons_path(polygons)}"{styles[i]}/>' for i, polygons in enumerate(pack["geometry"]))
    outline = f'<path class="outline" d="{_polygons_path(pack.get("outline") or [])}"/>'
    return Markup(f'<svg viewBox="{_view_box(pack)}" preserveAspectRatio="xMidYMid meet" focusable="false">'
                  f"{paths}{outline}</svg>")


def _view_box(pack: dict) -> str:
    """The bbox (degrees) as an SVG viewBox in the pack's grid units, y downwards."""
    west, south, east, north = pack["bbox"]
    x0, y0 = _grid_point(pack, west, north)
    x1, y1 = _grid_point(pack, east, south)
    return f"{x0:.1f} {y0:.1f} {x1 - x0:.1f} {y1 - y0:.1f}"


def _grid_point(pack: dict, lon: float, lat: float) -> tuple[float, float]:
    """A point in degrees in the pack's grid units (x right, y down), as the path data uses."""
    mx = EARTH_RADIUS * math.radians(lon)
    my = EARTH_RADIUS * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    grid = float(pack.get("grid") or 1.0)
    return (mx - pack["origin"][0]) / grid, -(my - pack["origin"][1]) / grid


def _polygons_path(polygons: list) -> str:
    """SVG path data of a unit's polygons: a pack ring is its first point, then deltas, like ``l``."""
    return "".join(_ring_path(ring) for rings in polygons for ring in rings if len(ring) >= 6)


def _ring_path(ring: list) -> str:
    moves = " ".join(f"{ring[i]:g} {-ring[i + 1]:g}" for i in range(2, len(ring), 2))
    return f"M{ring[0]:g} {-ring[1]:g}l{moves}z"


def _unit_styles(pack: dict, values: dict) -> list[str]:
    """Each unit's fill and stroke attributes, as static/map/unit_view.js ``styleFor`` draws them."""
    records = _records_by_key(values)
    colors = (values.get("classification") or {}).get("colors") or []
    no_data_color = values.get("no_data_color") or "#d9d9d9"
    circles = values.get("circles") or {}
    neutral = circles.get("count_fill") if circles.get("mode") == "count" else None
    filtering = bool((values.get("threshold") or {}).get("active"))
    codes, starts = pack["units"]["code"], pack["units"]["valid_from"]
    styles = []
    for code, start in zip(codes, starts):
        record = records.get((code, start))
        klass = record.get("class") if record else None
        if klass is None or klass >= len(colors):
            styles.append(f' class="no-data" fill="{escape(no_data_color)}"')
            continue
        fill = neutral or colors[klass]
        extra = (' class="highlight"' if record.get("highlight") else ' class="faded"') if filtering else ""
        styles.append(f'{extra} fill="{escape(fill)}"')
    return styles


def _records_by_key(values: dict) -> dict[tuple[str, str], dict]:
    """The columns answer as records keyed on (code, valid_from)."""
    columns, count = values.get("columns") or {}, int(values.get("count") or 0)

    def cell(name, i):
        column = columns.get(name)
        return column[i] if isinstance(column, list) else (column or {}).get("all")
    return {(cell("code", i), cell("valid_from", i)): {"class": cell("class", i), "highlight": cell("highlight", i)}
            for i in range(count)}
