"""The map's first frame, drawn by the server: the view's units as an SVG inside the page.

A reader on a slow office link sees the coloured communes and their legend as soon as the
HTML and its stylesheet arrive, before Leaflet and the page script have loaded and run.
A map of thousands of units (a country's communes) gets its first frame as an image instead
(:func:`raster`, ``/map-frame.webp``): an SVG of 11,163 units would weigh more than it saves.
``static/map/main.js`` fits the live map to the same box (the level-0 pack's ``bbox``, the same
padding, no zoom snapping), so the live map takes the frame's place without a jump, and
removes the frame at its own first paint. Without JavaScript the frame stays: a static map.

The colours are the values answer's (``classification.colors``, ``no_data_color``): the same
classification and palette as the live map and every export; this module only draws them.
"""
from __future__ import annotations

import itertools
import math
import re

import numpy as np
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


#: The longer side of a large map's first frame, in pixels (scaled to the map box by the browser).
RASTER_LONG_SIDE_PX = 1200
BACKGROUND = "#eef3f6"  # the map's background (map.css .leaflet-container)


def raster(pack: dict, values: dict, long_side: int = RASTER_LONG_SIDE_PX) -> bytes:
    """The first frame of any number of units as a lossless WebP image, the bbox's shape.

    The units are filled as the live map fills them (colour and opacity over the background);
    the faint boundaries between thousands of units are left to the live map. Larger units are
    drawn first, so that an enclave drawn later is not hidden by the unit around it.
    """
    import io

    from PIL import Image, ImageDraw

    x0, y0, width, height = (float(v) for v in _view_box(pack).split())
    scale = long_side / max(width, height, 1e-9)
    image = Image.new("RGB", (max(1, round(width * scale)), max(1, round(height * scale))), BACKGROUND)
    draw = ImageDraw.Draw(image)
    fills = _raster_fills(pack, values)
    points, starts, owners = _exterior_rings(pack)
    if len(starts):
        points[:, 0] = (points[:, 0] - x0) * scale
        points[:, 1] = (-points[:, 1] - y0) * scale
        ends = np.append(starts[1:], len(points))
        spread = (np.maximum.reduceat(points, starts) - np.minimum.reduceat(points, starts)).prod(axis=1)
        size = np.bincount(owners, weights=spread, minlength=len(fills))
        for ring in sorted(range(len(starts)), key=lambda k: (-size[owners[k]], k)):
            draw.polygon(points[starts[ring]:ends[ring]].ravel().tolist(), fill=fills[owners[ring]])
    out = io.BytesIO()
    image.save(out, "WEBP", lossless=True, method=0)
    return out.getvalue()


def _exterior_rings(pack: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every polygon's exterior ring decoded into grid units (y up): the points, each ring's
    first index and its unit."""
    rings, owners = [], []
    for unit, polygons in enumerate(pack["geometry"]):
        for polygon in polygons:
            if polygon and len(polygon[0]) >= 6:
                rings.append(polygon[0])
                owners.append(unit)
    if not rings:
        return np.zeros((0, 2)), np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    lengths = np.fromiter((len(r) // 2 for r in rings), dtype=int, count=len(rings))
    deltas = np.fromiter(itertools.chain.from_iterable(rings), dtype=float).reshape(-1, 2)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    # A ring's first pair is absolute, the rest are deltas: a running sum restarted at each ring.
    running = np.cumsum(deltas, axis=0)
    before = np.vstack(([0.0, 0.0], running[starts[1:] - 1]))
    return running - np.repeat(before, lengths, axis=0), starts, np.asarray(owners)


def _raster_fills(pack: dict, values: dict) -> list[tuple[int, int, int]]:
    """Each unit's fill blended over the background as the live map's fill opacity does."""
    return [_blend(fill, 0.55 if kind == "no-data" else 0.85) for fill, kind in _unit_fills(pack, values)]


def _blend(color: str, opacity: float) -> tuple[int, int, int]:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", str(color)):
        color = "#d9d9d9"
    rgb = [int(color[k:k + 2], 16) for k in (1, 3, 5)]
    back = [int(BACKGROUND[k:k + 2], 16) for k in (1, 3, 5)]
    return tuple(round(c * opacity + b * (1 - opacity)) for c, b in zip(rgb, back))


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
    """Each unit's fill and class attributes, as static/map/unit_view.js ``styleFor`` draws them."""
    return [(f' class="{kind}"' if kind else "") + f' fill="{escape(fill)}"' for fill, kind in _unit_fills(pack, values)]


def _unit_fills(pack: dict, values: dict) -> list[tuple[str, str]]:
    """Each unit's fill colour and kind ("no-data", "highlight" or "faded" under a threshold, else ""),
    in pack order."""
    cells = _cells_by_key(values)
    colors = (values.get("classification") or {}).get("colors") or []
    no_data_color = values.get("no_data_color") or "#d9d9d9"
    circles = values.get("circles") or {}
    neutral = circles.get("count_fill") if circles.get("mode") == "count" else None
    filtering = bool((values.get("threshold") or {}).get("active"))
    fills = []
    for key in zip(pack["units"]["code"], pack["units"]["valid_from"]):
        klass, highlight = cells.get(key, (None, False))
        if klass is None or not 0 <= klass < len(colors):
            fills.append((no_data_color, "no-data"))
        else:
            fills.append((neutral or colors[klass], ("highlight" if highlight else "faded") if filtering else ""))
    return fills


def _cells_by_key(values: dict) -> dict[tuple[str, str], tuple]:
    """The columns answer's class and highlight flag of each (code, valid_from)."""
    columns, count = values.get("columns") or {}, int(values.get("count") or 0)

    def column(name):
        data = columns.get(name)
        return data if isinstance(data, list) else [(data or {}).get("all")] * count
    return dict(zip(zip(column("code"), column("valid_from")), zip(column("class"), column("highlight"))))
