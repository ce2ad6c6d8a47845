"""The sheet composer: lays out title, map frames, legend, scale bar, north arrow and notes in millimetres, and draws them."""
from __future__ import annotations

import datetime as dt
import io
import json
import math
from dataclasses import dataclass

import numpy as np

from mapapp.present.export.drawing import MapDrawing
from mapapp.present.export.furniture import SheetFurniture
from mapapp.present.export.layout import _Frame, _line_mm, _Measure
from mapapp.present.export.page import Page
from mapapp.present.export.png import png_bytes
from mapapp.present.export.proportional import CircleDrawing
from mapapp.present.export.sheet import Sheet, export_date, filename_for
from mapapp.present.export.style import _RC, _RENDER_LOCK, FONT_FAMILY, FORMATS, GREY, INK, MAP_CRS, _s
from mapapp.present.export.surroundings import SurroundingsDrawing, archipelago_bounds


@dataclass
class Rendered:
    """An export: the file's bytes, its MIME type and download name, and where its maps are."""

    data: bytes
    mimetype: str
    filename: str
    frames: list[dict]
    page: Page
    page_mm: tuple[float, float]
    size_px: tuple[int, int] | None = None


class _Composer(MapDrawing, SurroundingsDrawing, CircleDrawing, SheetFurniture):
    """Lays out and draws one sheet on a full-page axes whose data units are millimetres."""

    def __init__(self, sheet: Sheet, page: Page, labels: bool, today: dt.date):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.sheet, self.page, self.labels, self.today = sheet, page, labels, today
        self.lang = sheet.state.lang
        if page.fmt == "png":  # whole pixels: the image is exactly paper × dpi
            self.W, self.H = (px / page.dpi * 25.4 for px in page.pixels)
        else:
            self.W, self.H = page.mm
        self.s = min(self.W, self.H) / 210.0  # 1 on A4, √2 on A3: an A3 sheet is an enlarged A4 sheet
        dpi = page.dpi if page.fmt == "png" else 72
        self.fig = Figure(figsize=(self.W / 25.4, self.H / 25.4), dpi=dpi, facecolor="white")
        FigureCanvasAgg(self.fig)
        ax = self.fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, self.W)
        ax.set_ylim(0, self.H)
        ax.set_axis_off()
        ax.patch.set_visible(False)
        self.ax = ax
        self.m = _Measure()
        self.margin = 10 * self.s
        self.obstacles: list[tuple[float, float, float, float]] = []

    # -- primitives ------------------------------------------------------

    def text(self, x, y, s, size, *, bold=False, color=INK, ha="left", va="baseline", **kw):
        return self.ax.text(x, y, s, fontsize=size, fontweight="bold" if bold else "normal", color=color,
                            ha=ha, va=va, fontfamily=FONT_FAMILY, **kw)

    def lines(self, x, top, lines, size, *, bold=False, color=INK, spacing=1.25, ha="left"):
        """Draw lines downwards from ``top``; return the y below the last line."""
        step = _line_mm(size, spacing)
        y = top
        for line in lines:
            y -= step
            self.text(x, y + step * 0.22, line, size, bold=bold, color=color, ha=ha)
        return y

    # -- layout ----------------------------------------------------------

    def layout(self):
        """Place the title, the map frames and the legend panel; the title starts where the maps do."""
        width = self.W - 2 * self.margin
        for _attempt in range(3):
            self._layout(width)
            narrower = self.W - self.margin - self.title_x
            if len(self.m.wrap(self.sheet.title, 15 * self.s, narrower, bold=True)) == len(self.title_lines):
                break
            width = narrower
        self.title_lines = self.m.wrap(self.sheet.title, 15 * self.s, self.W - self.margin - self.title_x, bold=True)

    def _layout(self, title_width: float):
        s, m, W, H = self.s, self.margin, self.W, self.H
        sheet = self.sheet
        title_size, sub_size = 15 * s, 9 * s
        self.title_lines = self.m.wrap(sheet.title, title_size, title_width, bold=True)
        title_h = len(self.title_lines) * _line_mm(title_size, 1.2) + _line_mm(sub_size) + 4 * s
        top = H - m - title_h
        bottom = m
        xmin = min(p.geometry.bounds[0] for p in sheet.panels)
        ymin = min(p.geometry.bounds[1] for p in sheet.panels)
        xmax = max(p.geometry.bounds[2] for p in sheet.panels)
        ymax = max(p.geometry.bounds[3] for p in sheet.panels)
        islands = archipelago_bounds(sheet.context)
        if islands:  # a map of the national territory shows Hoàng Sa and Trường Sa inside its frame
            xmin, ymin = min(xmin, islands[0]), min(ymin, islands[1])
            xmax, ymax = max(xmax, islands[2]), max(ymax, islands[3])
        pad = 0.04 * max(xmax - xmin, ymax - ymin)
        ext = (xmin - pad, ymin - pad, xmax + pad, ymax + pad)
        ew, eh = ext[2] - ext[0], ext[3] - ext[1]
        n = len(sheet.panels)
        gutter = 5 * s
        caption_h = _line_mm(9 * s) + 1.5 * s if sheet.multiples else 0.0
        panel_w, panel_h, gap = 66 * s, 62 * s, 7 * s
        best = None
        for side in ("right", "bottom"):
            avail_w = W - 2 * m - (panel_w + gap if side == "right" else 0)
            avail_h = top - bottom - (panel_h + gap if side == "bottom" else 0)
            for cols in range(1, n + 1):
                rows = math.ceil(n / cols)
                cell_w = (avail_w - (cols - 1) * gutter) / cols
                cell_h = (avail_h - (rows - 1) * gutter) / rows - caption_h
                if cell_w <= 0 or cell_h <= 0:
                    continue
                k = min(cell_w / ew, cell_h / eh)
                if best is None or k > best[0] * 1.0001:
                    best = (k, side, cols, rows)
        k, side, cols, rows = best
        cw, ch = ew * k, eh * k
        block_w = cols * cw + (cols - 1) * gutter
        block_h = rows * (ch + caption_h) + (rows - 1) * gutter
        if side == "right":
            group_w = block_w + gap + panel_w
            x0 = m + max(0.0, (W - 2 * m - group_w) / 2)
            y_top = top
            # The panel spans the map block's height: notes end level with the map's frame.
            self.panel_box = (x0 + block_w + gap, top - block_h, panel_w, block_h)
        else:
            x0 = m + max(0.0, (W - 2 * m - block_w) / 2)
            y_top = top - max(0.0, (top - bottom - panel_h - gap - block_h) / 2)
            self.panel_box = (m, bottom, W - 2 * m, panel_h)
        self.side = side
        self.title_x = min(x0, self.panel_box[0]) if side == "right" else m
        self.title_top = H - m
        self.frames = []
        for i, panel in enumerate(sheet.panels):
            r, c = divmod(i, cols)
            fx = x0 + c * (cw + gutter)
            fy = y_top - r * (ch + caption_h + gutter) - caption_h - ch
            self.frames.append(_Frame(panel, fx, fy, cw, ch, ext, k))
        self.block = (x0, y_top - block_h, block_w, block_h)

    # -- parts -----------------------------------------------------------

    def draw_title(self):
        s = self.s
        y = self.lines(self.title_x, self.title_top, self.title_lines, 15 * s, bold=True, spacing=1.2)
        self.text(self.title_x, y - _line_mm(9 * s) * 0.8, _s("unit", self.lang, unit=self.sheet.unit), 9 * s,
                  color=GREY)

    # -- output ----------------------------------------------------------

    def frames_info(self) -> list[dict]:
        out = []
        for f in self.frames:
            out.append({
                "year": f.panel.year, "version": f.panel.view["version"]["id"], "crs": MAP_CRS,
                "extent_m": list(f.extent[:2]), "mm_per_m": f.k, "origin_mm": [f.x, f.y],
                "box_mm": [f.x, f.y, f.w, f.h], "page_mm": [self.W, self.H],
                "size_px": list(self.page.pixels) if self.page.fmt == "png" else None,
            })
        return out

    def save(self) -> bytes:
        sheet, page = self.sheet, self.page
        buffer = io.BytesIO()
        if page.fmt == "png":
            canvas = self.fig.canvas
            canvas.draw()
            rgb = np.asarray(canvas.buffer_rgba())[:, :, :3]
            buffer.write(png_bytes(rgb, page.dpi, [
                ("Title", sheet.title), ("Software", "mapapp (matplotlib)"),
                ("mapapp:maps", str(len(self.frames))), ("mapapp:frames", json.dumps(self.frames_info())),
            ]))
        elif page.fmt == "pdf":
            self.fig.savefig(buffer, format="pdf", metadata={
                "Title": sheet.title, "Creator": "mapapp", "Subject": _s("exported", self.lang,
                                                                          date=export_date(self.today, self.lang))})
        else:
            self.fig.savefig(buffer, format="svg", metadata={"Title": sheet.title, "Creator": "mapapp",
                                                              "Date": self.today.isoformat()})
        return buffer.getvalue()


def draw(sheet: Sheet, page: Page, *, labels: bool = True, today: dt.date | None = None) -> Rendered:
    """Draw a prepared sheet into PNG, PDF or SVG bytes."""
    import matplotlib

    today = today or dt.date.today()
    with _RENDER_LOCK, matplotlib.rc_context(_RC):
        composer = _Composer(sheet, page, labels, today)
        composer.layout()
        composer.draw_title()
        composer.draw_maps()
        composer.draw_stamp()
        composer.draw_panel()
        data = composer.save()
        frames = composer.frames_info()
        page_mm = (composer.W, composer.H)
        composer.fig.clear()
    return Rendered(data, FORMATS[page.fmt], filename_for(sheet, page.fmt), frames, page, page_mm,
                    page.pixels if page.fmt == "png" else None)
