"""The map furniture of a sheet: the legend panel with class counts and notes, the scale bar, the north arrow and the illustrative stamp."""
from __future__ import annotations

import math

from mapapp.core.i18n import text
from mapapp.present import classify
from mapapp.present.export.geometry import _transformer, project, scale_factor
from mapapp.present.export.layout import _line_mm
from mapapp.present.export.sheet import export_date
from mapapp.present.export.style import EDGE_COLOR, GREY, HATCH, HATCH_COLOR, INK, STAMP_COLOR, _s


class SheetFurniture:
    """The map furniture of a sheet: the legend panel with class counts and notes, the scale bar, the north arrow and the illustrative stamp. (mixed into the sheet composer, whose attributes it uses)."""

    def draw_stamp(self):
        if not self.sheet.illustrative:
            return
        x, y, w, h = self.block
        stamp = _s("stamp", self.lang)
        angle = math.degrees(math.atan2(h, w))
        diagonal = math.hypot(w, h)
        size = 10 * 0.9 * diagonal / self.m.width(stamp, 10, bold=True)
        size = max(9 * self.s, min(size, 40 * self.s))
        self.text(x + w / 2, y + h / 2, stamp, size, bold=True, color=STAMP_COLOR, alpha=0.45, ha="center",
                  va="center", rotation=angle, rotation_mode="anchor", zorder=20)

    def draw_panel(self):
        from matplotlib.patches import Rectangle

        s, lang, sheet = self.s, self.lang, self.sheet
        px, py, pw, ph = self.panel_box
        if self.side == "right":
            legend_w = notes_w = pw
            legend_x = notes_x = px
        else:
            legend_w = min(95 * s, pw * 0.45)
            legend_x, notes_x = px, px + legend_w + 10 * s
            notes_w = pw - legend_w - 10 * s
        top = py + ph
        # Legend
        head = f"{sheet.panels[0].view['indicator']['name']} ({sheet.unit})"
        y = self.lines(legend_x, top, self.m.wrap(head, 9 * s, legend_w, bold=True), 9 * s, bold=True)
        y -= 1.0 * s
        circles = sheet.panels[0].view.get("circles")
        neutral = bool(circles) and circles["mode"] == "count"  # the colours carry nothing: no classes
        count_label = _s("count_multi" if sheet.multiples else "count", lang)
        self.text(legend_x + legend_w, y - _line_mm(6.5 * s) * 0.75, count_label, 6.5 * s, color=GREY, ha="right")
        y -= _line_mm(6.5 * s) + 0.5 * s
        sw, sh, row = 9 * s, 5 * s, 6.6 * s
        if neutral:
            y = self.draw_circle_legend(legend_x, y, legend_w)
        rows = [] if neutral else [(c, label, n, False) for c, label, n in sheet.legend]
        rows.append((classify.NO_DATA_COLOR, sheet.no_data[0], sheet.no_data[1], True))
        for color, label, count, hatched in rows:
            y -= row
            self.ax.add_patch(Rectangle((legend_x, y), sw, sh, facecolor=color, edgecolor=EDGE_COLOR,
                                        linewidth=0.4 * s, hatch=HATCH if hatched else None,
                                        **({"hatchcolor": HATCH_COLOR} if hatched else {}), zorder=3))
            self.text(legend_x + sw + 2.5 * s, y + sh / 2, label, 8 * s, va="center_baseline")
            self.text(legend_x + legend_w, y + sh / 2, str(count), 8 * s, va="center_baseline", ha="right")
        if any(p.sites for p in sheet.panels) or (sheet.state.projects and sheet.project_count):
            y -= row
            self._site_marker(legend_x + sw / 2, y + sh / 2, 1.5 * s, 1)
            label = _s("sites_multi" if sheet.multiples else "sites", lang, n=sheet.project_count)
            self.text(legend_x + sw + 2.5 * s, y + sh / 2, label, 8 * s, va="center_baseline")
        if circles and not neutral:
            y = self.draw_circle_legend(legend_x, y - 2 * s, legend_w)
        y -= 2.5 * s
        if not neutral:
            y = self.lines(legend_x, y, self.m.wrap(sheet.classes_note, 6.5 * s, legend_w), 6.5 * s, color=GREY)
        # Notes, anchored at the bottom of the panel (right) or beside the legend (bottom)
        size = 6.3 * s
        notes = []
        source_text = "; ".join(f"{src['title']} — {src['url']}" if src["url"] else src["title"]
                                for src in sheet.sources)
        notes.append((f"{text('source', lang)}: {source_text}", INK))
        notes.append((sheet.boundaries_note, INK))
        notes.append((_s("projection", lang), GREY))
        notes.append((_s("exported", lang, date=export_date(self.today, lang)), GREY))
        wrapped = [(line, color) for note, color in notes for line in self.m.wrap(note, size, notes_w)]
        step = _line_mm(size)
        scale_h = 16 * s
        if self.side == "right":
            notes_top = py + len(wrapped) * step
            scale_top = notes_top + scale_h + 3 * s
        else:
            scale_top = top
            notes_top = top - scale_h - 3 * s
        ny = notes_top
        for line, color in wrapped:
            ny -= step
            self.text(notes_x, ny + step * 0.22, line, size, color=color)
        self.draw_scale_and_north(notes_x, scale_top - scale_h, min(notes_w, 70 * s), scale_h)

    def draw_scale_and_north(self, x, y, w, h):
        """North arrow (true north, rotated by the UTM grid convergence) and a metric scale bar
        (ground distances at the map's centre: the projection's scale factor there is applied)."""
        from matplotlib.patches import Polygon, Rectangle

        s = self.s
        frame = self.frames[0]
        # North arrow
        cx, cy = x + 4 * s, y + h * 0.42
        ext = frame.extent
        lon, lat = _transformer().transform((ext[0] + ext[2]) / 2, (ext[1] + ext[3]) / 2, direction="INVERSE")
        x1, y1 = project(lon, lat)
        x2, y2 = project(lon, lat + 0.05)
        theta = math.atan2(x2 - x1, y2 - y1)  # clockwise from grid north
        length, half = 10 * s, 3 * s

        def rot(px_, py_):
            c, sn = math.cos(theta), math.sin(theta)
            return cx + px_ * c + py_ * sn, cy - px_ * sn + py_ * c

        tip, base = rot(0, length / 2), rot(0, -length / 2 + 2 * s)
        left, right = rot(-half, -length / 2), rot(half, -length / 2)
        self.ax.add_patch(Polygon([tip, left, base], closed=True, facecolor="white", edgecolor=INK,
                                  linewidth=0.6 * s, zorder=5))
        self.ax.add_patch(Polygon([tip, right, base], closed=True, facecolor=INK, edgecolor=INK,
                                  linewidth=0.6 * s, zorder=5))
        lx, ly = rot(0, length / 2 + 1.2 * s)
        self.text(lx, ly, _s("north", self.lang), 9 * s, bold=True, ha="center", va="bottom",
                  rotation=-math.degrees(theta), rotation_mode="anchor")
        # Scale bar: the longest "nice" length that fits. Ground distances at the map's centre:
        # a ground metre is scale_factor map metres there (UTM: 0.9996 on 105° E, 1.0025 at 109.5° E).
        bar_x = x + 14 * s
        room_mm = x + w - bar_x - 6 * s
        mm_per_km = 1000 * scale_factor(lon, lat) * frame.k
        km = max((v for v in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000) if v * mm_per_km <= room_mm),
                 default=1)
        segments = 4 if km in (2, 20, 100, 200, 1000) else 2 if km == 1 else 5
        seg_mm = km * mm_per_km / segments
        bar_y, bar_h = y + h * 0.42 - 0.9 * s, 1.8 * s
        for i in range(segments):
            self.ax.add_patch(Rectangle((bar_x + i * seg_mm, bar_y), seg_mm, bar_h,
                                        facecolor=INK if i % 2 == 0 else "white", edgecolor=INK,
                                        linewidth=0.5 * s, zorder=5))
        size = 6.5 * s
        for i in (0, segments // 2 if segments % 2 == 0 else None, segments):
            if i is None:
                continue
            value = km * i / segments
            label = classify.format_number(value, 0 if value == int(value) else 1, self.lang)
            if i == segments:
                label += " km"
            self.text(bar_x + i * seg_mm, bar_y - 1.2 * s, label, size, ha="center", va="top")
