"""The map frames of a sheet: unit polygons by colour, the area outline, project sites and commune labels placed without collisions."""
from __future__ import annotations

import math

import shapely

from mapapp.core.names import short_name
from mapapp.present import classify
from mapapp.present.circles import COUNT_FILL
from mapapp.present.export import style
from mapapp.present.export.geometry import project
from mapapp.present.export.layout import _Frame, _line_mm, _offsets, _overlap
from mapapp.present.export.style import (
    EDGE_COLOR,
    EDGE_FULL_MM,
    EDGE_WIDTH_PT,
    FONT_FAMILY,
    HATCH,
    HATCH_COLOR,
    INK,
    OUTLINE_COLOR,
    OUTLINE_MIN_FACTOR,
    OUTLINE_WIDTH_PT,
    PT_MM,
    SITE_COLOR,
    _s,
)


class MapDrawing:
    """The map frames of a sheet: unit polygons by colour, the area outline, project sites and commune labels placed without collisions. (mixed into the sheet composer, whose attributes it uses)."""

    def draw_maps(self):
        """Per frame: every unit in one collection (no-data units in a second, hatched), the outline, sites, labels.

        A unit's boundary is 0.4 pt when the unit is at least ``EDGE_FULL_MM`` across on the
        sheet (every unit of the district map), thinner in proportion below that: on the
        national map the wards of a city, a pixel or two wide, show their colour rather than
        a grey mesh of boundaries. The area's outline thins with the typical unit, to 0.9 pt.
        """
        from matplotlib.collections import PathCollection
        from matplotlib.patches import PathPatch, Rectangle
        from matplotlib.transforms import Affine2D

        s = self.s
        for frame in self.frames:
            geometry = frame.panel.geometry
            geometry.ensure_paths()
            to_mm = Affine2D().translate(-frame.extent[0], -frame.extent[1]).scale(frame.k) \
                .translate(frame.x, frame.y) + self.ax.transData
            edge_per_m = EDGE_WIDTH_PT * s * frame.k / EDGE_FULL_MM  # edge width (pt) per metre of unit size
            drawn = []  # (unit, colour or None for no data, edge width)
            units = geometry.units
            circles = frame.panel.view.get("circles")
            neutral = bool(circles) and circles["mode"] == "count"  # counts: the circles carry the values
            for record in frame.panel.view["records"]:
                unit = units.get((record["code"], record["valid_from"] or ""))
                if unit is not None:
                    color = COUNT_FILL if neutral else record["color"]
                    drawn.append((unit, None if record["class"] is None else color,
                                  min(EDGE_WIDTH_PT * s, math.sqrt(unit.area) * edge_per_m)))
            if len(drawn) > style.GROUP_MIN_UNITS:  # read at draw time (a test draws a province as the country)
                drawn = geometry.grouped(drawn, EDGE_WIDTH_PT * s / 16)
            else:
                drawn = [(unit.path, color, edge) for unit, color, edge in drawn]
            filled = [item for item in drawn if item[1] is not None]
            empty = [item for item in drawn if item[1] is None]
            detail = min(1.0, geometry.median_size_m * frame.k / EDGE_FULL_MM)
            outline = OUTLINE_WIDTH_PT * s * max(OUTLINE_MIN_FACTOR, detail)
            # Islands and holes less than about 4 line widths across would only be blots of outline ink.
            outline_path = geometry.outline_path((4 * outline * PT_MM / frame.k) ** 2)
            # autolim=False: the axes limits are the sheet; do not walk 11k paths for data limits.
            if filled:
                paths, colors, edges = zip(*filled)
                self.ax.add_collection(PathCollection(
                    paths, facecolors=colors, edgecolors=EDGE_COLOR, linewidths=edges, transform=to_mm, zorder=2),
                    autolim=False)
            if empty:
                paths, _colors, edges = zip(*empty)
                self.ax.add_collection(PathCollection(
                    paths, facecolors=classify.NO_DATA_COLOR, edgecolors=EDGE_COLOR, linewidths=edges,
                    hatch=HATCH, hatchcolor=HATCH_COLOR, transform=to_mm, zorder=2), autolim=False)
            # add_artist, not add_patch: add_patch walks every segment of the outline to update data limits.
            self.ax.add_artist(PathPatch(outline_path, facecolor="none", edgecolor=OUTLINE_COLOR,
                                         linewidth=outline, joinstyle="round", transform=to_mm, zorder=3))
            box = Rectangle((frame.x, frame.y), frame.w, frame.h, facecolor="none",
                            edgecolor="#b0b0b0", linewidth=0.5 * s, zorder=1)
            self.ax.add_patch(box)
            if self.sheet.multiples:
                caption = _s("caption", self.lang, year=frame.panel.year, n=frame.panel.view["version"]["unit_count"])
                self.text(frame.x, frame.y + frame.h + 1.5 * s, caption, 9 * s, bold=True)
            self.obstacles = []
            self.draw_surroundings(frame, to_mm, box)
            self.draw_circles(frame)
            self.draw_sites(frame)
            if self.labels and len(frame.panel.view["records"]) <= style.LABEL_MAX_UNITS:
                self.draw_labels(frame)

    def draw_sites(self, frame: _Frame):
        s = self.s
        r = 1.5 * s
        for site in frame.panel.sites:
            x, y = frame.to_mm(*project(site["lon"], site["lat"]))
            self._site_marker(x, y, r, site["count"])
            self.obstacles.append((x - r, y - r, x + r, y + r))

    def _site_marker(self, x, y, r, count):
        from matplotlib.patches import Circle

        self.ax.add_patch(Circle((x, y), r, facecolor=SITE_COLOR, edgecolor="white", linewidth=0.6 * self.s,
                                 zorder=6))
        if count > 1:
            self.text(x, y, str(count), 5.5 * self.s, bold=True, color="white", ha="center", va="center_baseline",
                      zorder=7)

    def draw_labels(self, frame: _Frame):
        """Greedy placement: the label point, then offsets around it; then smaller or shorter; else skip."""
        from matplotlib.patheffects import Stroke

        s = self.s
        size = (5.5 if self.sheet.multiples else 6.8) * s
        decimals_text = not self.sheet.multiples
        geometry = frame.panel.geometry
        items = []
        for record in frame.panel.view["records"]:
            unit = geometry.units.get((record["code"], record["valid_from"] or ""))
            if unit is not None:
                items.append((unit.area, unit, record))
        items.sort(key=lambda item: item[0])  # small communes first: they have the fewest places
        placed = self.obstacles
        for _area, unit, record in items:
            name = short_name(unit.name)
            variants = []
            if decimals_text and record["value"] is not None:
                variants.append((f"{name}\n{record['value_text']}", size))
            variants += [(name, size), (name, size * 0.82)]
            lx, ly = frame.to_mm(*unit.label)
            done = False
            for allow_outside in (False, True):
                for label, fs in variants:
                    lines = label.split("\n")
                    w = max(self.m.width(line, fs) for line in lines) + 0.6 * s
                    h = len(lines) * _line_mm(fs, 1.15) + 0.3 * s
                    for ox, oy in _offsets(w, h, 1.2 * s):
                        cx, cy = lx + ox, ly + oy
                        box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                        if not (frame.x <= box[0] and box[2] <= frame.x + frame.w
                                and frame.y <= box[1] and box[3] <= frame.y + frame.h):
                            continue
                        if any(_overlap(box, other) for other in placed):
                            continue
                        centre = shapely.Point(*frame.to_m(cx, cy))
                        if not (unit.geom.contains(centre) if not allow_outside
                                else unit.geom.distance(centre) * frame.k < h / 2):
                            continue
                        for effects, color, z in (([Stroke(linewidth=2.0 * s, foreground="white")], "white", 8),
                                                  (None, INK, 9)):
                            self.ax.text(cx, cy, label, fontsize=fs, color=color, ha="center", va="center",
                                         multialignment="center", linespacing=1.05, fontfamily=FONT_FAMILY,
                                         path_effects=effects, zorder=z)
                        placed.append(box)
                        done = True
                        break
                    if done:
                        break
                if done:
                    break
