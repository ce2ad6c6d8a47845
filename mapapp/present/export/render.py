"""Render one export: prepare the sheet of a view, then draw it (the entry point of the web route and the CLI)."""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Mapping

from mapapp.present.export.composer import Rendered, draw
from mapapp.present.export.geometry import project
from mapapp.present.export.page import Page
from mapapp.present.export.sheet import prepare
from mapapp.present.viewstate import ViewState

# --------------------------------------------------------------------------
# Request parameters
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Geometry (projected once per boundary version)
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# The sheet's content (data only, no drawing)
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def render(conn, state: ViewState, page: Page, years: Iterable[int] | None = None, *,
           labels: bool = True, today: dt.date | None = None) -> Rendered:
    """Render one export (a single map, or small multiples when ``years`` has several years).

    ``labels=False`` leaves out the commune labels (used by tests that sample colours).
    """
    sheet = prepare(conn, state, years)
    return draw(sheet, page, labels=labels, today=today or dt.date.today())


def lonlat_to_pixel(frame: Mapping, lon: float, lat: float) -> tuple[float, float]:
    """Pixel (column, row from the top) of ``lon``/``lat`` in a PNG export, for one of its frames."""
    x, y = project(lon, lat)
    x_mm = frame["origin_mm"][0] + (x - frame["extent_m"][0]) * frame["mm_per_m"]
    y_mm = frame["origin_mm"][1] + (y - frame["extent_m"][1]) * frame["mm_per_m"]
    width_mm, height_mm = frame["page_mm"]
    width_px, height_px = frame["size_px"]
    return x_mm / width_mm * width_px, (1 - y_mm / height_mm) * height_px


# --------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------


