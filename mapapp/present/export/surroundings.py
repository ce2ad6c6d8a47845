"""The surroundings on a printed map: neighbouring districts and provinces in grey, the national
border with "LÀO / LAOS", towns, and on a map of the whole country the Hoàng Sa and Trường Sa
archipelagos — the same layer the web map draws (``/api/context``), read from the store."""
from __future__ import annotations

import functools
import json

import numpy as np
import shapely

from mapapp.core.i18n import text
from mapapp.present.export.geometry import _project_geom, project
from mapapp.present.export.style import FONT_FAMILY, INK

CONTEXT_FILL = "#f4f4f1"
CONTEXT_EDGE = "#c4c4c4"
PROVINCE_EDGE = "#8c8c8c"
BORDER_COLOR = "#5a5a5a"
CONTEXT_TEXT = "#7a7a7a"
ISLAND_COLOR = "#1f3b57"


@functools.lru_cache(maxsize=8)
def projected(context_text: str) -> dict:
    """The context's geometry in map metres (EPSG:32648), parsed and projected once per stored context."""
    ctx = json.loads(context_text)

    def shape(geojson):
        return _project_geom(shapely.geometry.shape(geojson)) if geojson else shapely.GeometryCollection()

    return {
        "districts": [(shape(d["geometry"]), d["name"], d["label"]) for d in ctx.get("districts", [])],
        "provinces": [shape(p["geometry"]) for p in ctx.get("provinces", [])],
        "border": shape(ctx.get("border")),
        "laos_label": ctx.get("laos_label"),
        "towns": ctx.get("towns", []),
        "archipelagos": ctx.get("archipelagos", []),
    }


def archipelago_bounds(context_text: str | None):
    """Metres box ``(xmin, ymin, xmax, ymax)`` of the archipelagos' islands and names, or None."""
    if not context_text:
        return None
    points = [(i["lon"], i["lat"]) for a in projected(context_text)["archipelagos"] for i in a["islands"]]
    if not points:
        return None
    xs, ys = project(*np.array(points).T)
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def _path(geom):
    from matplotlib.path import Path

    verts, codes = [], []
    for polygon in shapely.get_parts(geom):
        if polygon.geom_type != "Polygon":
            continue
        for ring in [polygon.exterior, *polygon.interiors]:
            coords = np.asarray(ring.coords)
            verts.append(coords)
            codes.append(np.r_[Path.MOVETO, np.full(len(coords) - 2, Path.LINETO), Path.CLOSEPOLY])
    return Path(np.concatenate(verts), np.concatenate(codes)) if verts else None


class SurroundingsDrawing:
    """Draws a frame's surroundings (mixed into the sheet composer, whose attributes it uses)."""

    def draw_surroundings(self, frame, to_mm, clip):
        """Areas and the border under the units (z 1.5), names, towns and islands above them (z 6-7)."""
        from matplotlib.patches import PathPatch

        context_text = self.sheet.context
        if not context_text:
            return
        ctx, s = projected(context_text), self.s
        for geom, width, color, fill in ([(g, 0.35, CONTEXT_EDGE, CONTEXT_FILL) for g, _n, _l in ctx["districts"]]
                                         + [(g, 0.8, PROVINCE_EDGE, None) for g in ctx["provinces"]]):
            path = _path(geom)
            if path is not None:
                patch = PathPatch(path, facecolor=fill or "none", edgecolor=color, linewidth=width * s,
                                  transform=to_mm, zorder=1.5)
                self.ax.add_artist(patch)
                patch.set_clip_path(clip)
        for line in shapely.get_parts(ctx["border"]):
            if line.geom_type == "LineString":
                xs, ys = np.asarray(line.coords).T
                (artist,) = self.ax.plot(xs, ys, color=BORDER_COLOR, linewidth=1.1 * s, dashes=(5, 1.5, 1, 1.5),
                                         transform=to_mm, zorder=3.5)
                artist.set_clip_path(clip)
        for _geom, name, label in ctx["districts"]:
            if label:
                self._context_text(frame, label, name, 5.5 * s, CONTEXT_TEXT)
        if ctx["laos_label"]:
            self._laos(frame, ctx, text("laos_label", self.lang), 9 * s)
        for town in ctx["towns"]:
            self._point(frame, town["lon"], town["lat"], 0.7 * s, INK)
            self._context_text(frame, (town["lon"], town["lat"]), town["name"], 5.5 * s, INK, dx=1.2 * s, ha="left")
        for arch in ctx["archipelagos"]:
            for island in arch["islands"]:
                self._point(frame, island["lon"], island["lat"], 0.45 * s, ISLAND_COLOR)
            # On two lines, the province in parentheses below: narrow enough to sit beside the islands.
            name = (arch["name_en"] if self.lang == "en" else arch["name_vi"]).replace(" (", "\n(")
            self._context_text(frame, arch["label"], name, 5.5 * s, ISLAND_COLOR, bold=True, clamp=True,
                               ha=arch.get("align", "center"))

    def _laos(self, frame, ctx, label, size):
        """"LÀO / LAOS" at its place or, when that is off the sheet, in the frame's western strip,
        at the first height where it stays west of the border and off the mapped area."""
        x, y = frame.to_mm(*project(*ctx["laos_label"]))
        w = self.m.width(label, size, bold=True)
        if x - w / 2 < frame.x:
            area, border = frame.panel.geometry.outline, ctx["border"]
            x = frame.x + w / 2 + 2 * self.s
            for y_try in np.linspace(frame.y + frame.h - 2 * size * 0.35, frame.y + 2 * size * 0.35, 40):
                box = shapely.box(*frame.to_m(x - w / 2, y_try - size * 0.25), *frame.to_m(x + w / 2, y_try + size * 0.25))
                row = shapely.LineString([frame.to_m(frame.x, y_try), frame.to_m(frame.x + frame.w, y_try)])
                crossing = row.intersection(border)
                west_of_border = not crossing.is_empty and box.bounds[2] <= crossing.bounds[2]
                if west_of_border and not box.intersects(area):
                    y = y_try
                    break
            else:
                return
        lonlat = _to_lonlat(*frame.to_m(x, y))
        self._context_text(frame, lonlat, label, size, CONTEXT_TEXT, bold=True)

    def _point(self, frame, lon, lat, r, color):
        from matplotlib.patches import Circle

        x, y = frame.to_mm(*project(lon, lat))
        if frame.x <= x <= frame.x + frame.w and frame.y <= y <= frame.y + frame.h:
            self.ax.add_patch(Circle((x, y), r, facecolor=color, edgecolor="white", linewidth=0.3 * self.s,
                                     zorder=6))
            self.obstacles.append((x - r, y - r, x + r, y + r))

    def _context_text(self, frame, lonlat, label, size, color, *, bold=False, dx=0.0, ha="center", clamp=False):
        """A grey name at a lon/lat point, drawn only when it fits inside the frame
        (``clamp``: moved sideways into the frame instead: an archipelago's name is never left out)."""
        from matplotlib.patheffects import Stroke

        x, y = frame.to_mm(*project(lonlat[0], lonlat[1]))
        x += dx
        w = max(self.m.width(line, size, bold=bold) for line in label.split("\n"))
        left = x - w / 2 if ha == "center" else x - w if ha == "right" else x
        if clamp:
            shift = max(frame.x + 1 - left, 0.0) + min(frame.x + frame.w - 1 - (left + w), 0.0)
            x, left = x + shift, left + shift
        if left < frame.x or left + w > frame.x + frame.w or not frame.y + size * 0.4 < y < frame.y + frame.h - size * 0.4:
            return
        # A white halo drawn as a path, then the name as text (SVG <text>, PDF text stay searchable).
        for effects, ink, z in (([Stroke(linewidth=1.6 * self.s, foreground="white")], "white", 7), (None, color, 7.1)):
            self.ax.text(x, y, label, fontsize=size, color=ink, ha=ha, va="center", fontfamily=FONT_FAMILY,
                         multialignment=ha, linespacing=1.1,
                         fontweight="bold" if bold else "normal", zorder=z, path_effects=effects)
        self.obstacles.append((left, y - size * 0.2, left + w, y + size * 0.2))


def _to_lonlat(x, y):
    from pyproj import Transformer

    from mapapp.present.export.style import MAP_CRS

    return Transformer.from_crs(MAP_CRS, "EPSG:4326", always_xy=True).transform(x, y)

