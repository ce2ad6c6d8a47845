"""The look of every exported sheet: paper sizes, colours, line widths, fonts, matplotlib settings."""
from __future__ import annotations

import threading

from mapapp.core import i18n

MAP_CRS = "EPSG:32648"  # WGS 84 / UTM zone 48N


PAPERS_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}


ORIENTATIONS = ("landscape", "portrait")


FORMATS = {"png": "image/png", "pdf": "application/pdf", "svg": "image/svg+xml"}


MAX_MAPS = 12


FONT_FAMILY = "DejaVu Sans"  # ships with matplotlib; covers Vietnamese


PT_MM = 25.4 / 72  # one typographic point in millimetres


HATCH = "////"


HATCH_COLOR = "#8c8c8c"


EDGE_COLOR = "#7d7d7d"


OUTLINE_COLOR = "#1f1f1f"


INK = "#1a1a1a"


GREY = "#555555"


STAMP_COLOR = "#b2182b"


SITE_COLOR = "#1b3a8c"


EDGE_WIDTH_PT = 0.4  # unit boundaries (A4; × the sheet's scale)...


EDGE_FULL_MM = 4.0  # ...of units at least this wide on the sheet (√area); thinner in proportion below


OUTLINE_WIDTH_PT = 1.5  # the area's outline...


OUTLINE_MIN_FACTOR = 0.6  # ...thinner with the unit boundaries, down to 0.9 pt


LABEL_MAX_UNITS = 150  # maps of more units have no commune names: they could not be read


# Maps of more units draw the units of one colour (and edge width) as one compound path: far fewer
# objects for the PDF and SVG writers (national map: PDF 2 s instead of 4 s of CPU, SVG 0.4 s instead of 4 s).
GROUP_MIN_UNITS = 1000




# matplotlib settings of every export (applied with rc_context, under a lock).
_RC = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY],
    "pdf.fonttype": 42,  # embed TrueType: text stays selectable and extractable
    "pdf.compression": 3,  # national map: 0.6 s less than level 6 for a 7 % larger file
    "svg.fonttype": "none",  # text stays <text>
    "svg.hashsalt": "mapapp-export",
    "axes.unicode_minus": False,
    "text.hinting": "none",  # unhinted glyphs: text is as wide at 100 dpi as in the PDF (layout fits)
    "hatch.linewidth": 0.5,
    "path.simplify": False,
}


_RENDER_LOCK = threading.Lock()  # matplotlib's rcParams are process-global


def _s(key: str, lang: str, **fmt) -> str:
    return i18n.text(f"export.{key}", lang).format(**fmt)
