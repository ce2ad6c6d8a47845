"""Proportional circles on a printed map and their legend (the scale of :mod:`mapapp.present.circles`).

On a sheet of several maps the circles share one scale: the largest value over every
map gets ``MAX_RADIUS_MM`` (times the sheet's scale), so circles compare across years.
"""
from __future__ import annotations

from mapapp.present.circles import MAX_RADIUS_MM, radius
from mapapp.present.export.geometry import project
from mapapp.present.export.layout import _line_mm
from mapapp.present.export.style import GREY, INK


def sheet_circles(sheet) -> tuple[dict | None, float]:
    """The circles of a sheet (the first map's, or None) and their shared maximum value."""
    scales = [p.view.get("circles") for p in sheet.panels]
    if not scales[0]:
        return None, 0.0
    return scales[0], max((c["max_value"] for c in scales if c), default=0.0)


class CircleDrawing:
    """Draws the circles of a frame and the circle legend (mixed into the sheet composer)."""

    def draw_circles(self, frame):
        """One circle per unit with a value at its inner point, biggest first; area ∝ value."""
        from matplotlib.patches import Circle

        scale, max_value = sheet_circles(self.sheet)
        if scale is None:
            return
        top = MAX_RADIUS_MM * self.s * scale.get("size_share", 1.0)
        drawn = [r for r in frame.panel.view["records"] if r.get("anchor") and radius(r.get("circle"), max_value, top)]
        for record in sorted(drawn, key=lambda r: -r["circle"]):
            x, y = frame.to_mm(*project(*record["anchor"]))
            r = radius(record["circle"], max_value, top)
            self.ax.add_patch(Circle((x, y), r, facecolor=scale["color"], alpha=0.62, edgecolor="white",
                                     linewidth=0.5 * self.s, zorder=4.5))

    def draw_circle_legend(self, x: float, y: float, width: float) -> float:
        """Nested reference circles with their values, under a title; return the y below them."""
        from matplotlib.patches import Circle

        scale, max_value = sheet_circles(self.sheet)
        if scale is None or not max_value:
            return y
        s = self.s
        y = self.lines(x, y - 1.5 * s, self.m.wrap(scale["title"], 8 * s, width, bold=True), 8 * s, bold=True)
        top = MAX_RADIUS_MM * s * scale.get("size_share", 1.0)
        base = y - 1.5 * s - 2 * top
        cx = x + top + 0.5 * s
        for item in scale["legend"]:
            r = radius(item["value"], max_value, top)
            if r <= 0:
                continue
            self.ax.add_patch(Circle((cx, base + r), r, facecolor="none", edgecolor=INK, linewidth=0.5 * s,
                                     zorder=3))
            self.ax.plot([cx, cx + top + 3 * s], [base + 2 * r, base + 2 * r], color=GREY, linewidth=0.4 * s,
                         linestyle=(0, (1.5, 1.5)), zorder=3)
            self.text(cx + top + 4 * s, base + 2 * r, item["text"], 7 * s, va="center_baseline")
        y = base - 1.0 * s
        return self.lines(x, y, self.m.wrap(scale["note"], 6.5 * s, width), 6.5 * s, color=GREY) - _line_mm(2 * s)
