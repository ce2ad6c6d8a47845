"""Drawing the fact sheets with matplotlib: one A4 portrait page per commune, a cover and a contents page.

Pages are laid out in millimetres on one full-page axes, like the map exports, with
the exports' fonts, colours, stamp text and geometry (:mod:`mapapp.present.export`);
the PDF embeds its fonts, so every name and value can be searched and copied.
"""
from __future__ import annotations

import datetime as dt
import io
import math

from mapapp.core.i18n import text
from mapapp.core.names import short_name
from mapapp.present.classify import format_number
from mapapp.present.export.layout import _Measure
from mapapp.present.export.sheet import export_date
from mapapp.present.export.style import _RC, _RENDER_LOCK, EDGE_COLOR, FONT_FAMILY, GREY, INK, PT_MM, STAMP_COLOR

W, H, MARGIN = 210.0, 297.0, 12.0
HIGHLIGHT = "#d6604d"
OTHER_FILL = "#eeeeee"
CONTENTS_PER_COLUMN = 58
MAX_SHEETS = 4 * CONTENTS_PER_COLUMN  # what one contents page lists


def _t(key: str, lang: str, **fmt) -> str:
    return text(f"sheet.{key}", lang).format(**fmt)


class _Page:
    """One page: a figure with a full-page axes in millimetres, and text helpers."""

    def __init__(self):
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(W / 25.4, H / 25.4), dpi=72, facecolor="white")
        ax = self.fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, W)
        ax.set_ylim(0, H)
        ax.set_axis_off()
        self.ax = ax
        self.m = _Measure()

    def text(self, x, y, s, size, *, bold=False, color=INK, ha="left", va="baseline", **kw):
        self.ax.text(x, y, s, fontsize=size, fontweight="bold" if bold else "normal", color=color, ha=ha,
                     va=va, fontfamily=FONT_FAMILY, **kw)

    def para(self, x, top, s, size, width, *, bold=False, color=INK, bottom=MARGIN + 8, spacing=1.3) -> float:
        """Wrapped text from ``top`` down; stops (with …) above ``bottom``; returns the y below it."""
        step = size * spacing * PT_MM
        y = top
        lines = self.m.wrap(s, size, width, bold=bold)
        for index, line in enumerate(lines):
            if y - step < bottom:
                if index:
                    self.text(x, y + step * 0.25, "…", size, color=color)
                return y
            y -= step
            self.text(x, y + step * 0.25, line, size, bold=bold, color=color)
        return y

    def stamp(self, lang: str) -> None:
        """The exports' illustrative-data stamp, across the page."""
        self.text(W / 2, H / 2, text("export.stamp", lang), 26, bold=True, color=STAMP_COLOR, alpha=0.28,
                  ha="center", rotation=math.degrees(math.atan2(H, W)), rotation_mode="anchor", va="center",
                  zorder=30)

    def footer(self, lang: str, today: dt.date, number: int) -> None:
        self.text(MARGIN, MARGIN - 4, _t("exported", lang, date=export_date(today, lang)), 7, color=GREY)
        self.text(W - MARGIN, MARGIN - 4, f"{_t('page', lang)} {number}", 7, color=GREY, ha="right")


def _map(page: _Page, geometry, box, highlight=None, names=(), all_names=False, window=None) -> None:
    """The layout's units in a box (x, y, w, h mm): grey, the commune ``highlight`` coloured, some named.

    ``window`` (map metres: xmin, ymin, xmax, ymax) zooms in; the default shows the whole
    layout. Drawn on the page's own millimetre axes through one affine transform (map
    metres → mm), clipped to the box: no extra axes, which would cost more than the map.
    """
    from matplotlib.collections import PathCollection
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import Affine2D

    geometry.ensure_paths()
    x, y, w, h = box
    xmin, ymin, xmax, ymax = window or geometry.bounds
    k = min(w / (xmax - xmin), h / (ymax - ymin)) * 0.96
    dx = x + (w - (xmax - xmin) * k) / 2 - xmin * k
    dy = y + (h - (ymax - ymin) * k) / 2 - ymin * k
    to_mm = Affine2D().scale(k).translate(dx, dy)
    # A zoomed map draws only the units in its window (a province's sheet would carry all of them twice).
    others = [u for key, u in geometry.units.items() if key != highlight and
              (window is None or _overlaps(u.geom.bounds, (xmin, ymin, xmax, ymax)))]
    mine = geometry.units.get(highlight)
    clip = Rectangle((x, y), w, h, transform=page.ax.transData)
    collections = [PathCollection([u.path for u in others], facecolors=OTHER_FILL, edgecolors=EDGE_COLOR,
                                  linewidths=0.4, transform=to_mm + page.ax.transData, zorder=1)]
    if mine is not None:
        collections.append(PathCollection([mine.path], facecolors=HIGHLIGHT, edgecolors=INK, linewidths=1.2,
                                          transform=to_mm + page.ax.transData, zorder=3))
    for collection in collections:
        page.ax.add_collection(collection, autolim=False)
        collection.set_clip_path(clip)  # after adding: add_collection clips to the whole page
    if window is not None:
        page.ax.add_patch(Rectangle((x, y), w, h, facecolor="none", edgecolor=GREY, linewidth=0.5))
    for key, unit in geometry.units.items():
        if key == highlight or all_names or unit.name in names:
            lx, ly = unit.label[0] * k + dx, unit.label[1] * k + dy
            if not (x < lx < x + w and y < ly < y + h):
                continue
            page.text(lx, ly, short_name(unit.name), 7.5 if key == highlight else 6, bold=key == highlight,
                      ha="center", va="center", zorder=4,
                      bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.6, "linewidth": 0})


def commune_page(sheet: dict, geometry, lang: str, today: dt.date, number: int) -> _Page:
    """Draw one commune's fact sheet."""
    page = _Page()
    unit = sheet["unit"]
    page.text(MARGIN, H - MARGIN - 6, unit["name"], 20, bold=True)
    page.text(MARGIN, H - MARGIN - 13, _t("subtitle", lang, area=sheet["area"], year=sheet["year"])
              + f" — {unit['code']}", 9, color=GREY)
    map_top = H - MARGIN - 18
    _map(page, geometry, (MARGIN, map_top - 88, 100, 88), sheet["key"], sheet["neighbours"],
         window=_neighbourhood(geometry, sheet["key"], sheet["neighbours"]))
    _map(page, geometry, (W - MARGIN - 34, map_top - 88, 34, 46), sheet["key"])
    _registry(page, sheet, lang, 118, map_top)
    y = _indicators(page, sheet, lang, map_top - 96)
    y = _projects(page, sheet, lang, y - 4)
    _sources(page, sheet, lang, y - 4)
    if sheet["illustrative"]:
        page.stamp(lang)
    page.footer(lang, today, number)
    return page


def _overlaps(a, b) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def _neighbourhood(geometry, key, neighbours) -> tuple[float, float, float, float] | None:
    """The commune and its neighbours' extent in map metres, padded: the locator's window."""
    units = [u for k, u in geometry.units.items() if k == key or u.name in neighbours]
    if not units:
        return None
    xmin = min(u.geom.bounds[0] for u in units)
    ymin = min(u.geom.bounds[1] for u in units)
    xmax = max(u.geom.bounds[2] for u in units)
    ymax = max(u.geom.bounds[3] for u in units)
    pad = 0.06 * max(xmax - xmin, ymax - ymin)
    return xmin - pad, ymin - pad, xmax + pad, ymax + pad


def _registry(page: _Page, sheet: dict, lang: str, x: float, top: float) -> None:
    unit, width = sheet["unit"], W - MARGIN - x
    page.text(x, top - 4, _t("registry", lang), 10, bold=True)
    lines = [_t("valid", lang, start=unit["valid_from"] or _t("start", lang), end=unit["valid_to"] or _t("open", lang))]
    if unit["established_by"]:
        lines.append(unit["established_by"])
    if sheet["predecessors"]:
        lines.append(_t("predecessors", lang, names=", ".join(p["name"] for p in sheet["predecessors"])))
    if sheet["successor"]:
        lines.append(_t("successor", lang, name=sheet["successor"]["name"], date=sheet["successor"]["valid_from"]))
    if sheet["neighbours"]:
        lines.append(_t("neighbours", lang, names=", ".join(sheet["neighbours"])))
    y = top - 6
    for line in lines:
        y = page.para(x, y, line, 8, width, bottom=top - 40) - 1.2


def _indicators(page: _Page, sheet: dict, lang: str, top: float) -> float:
    """The indicator table: name and unit, latest value (year), rank, change since the first year, trend."""
    page.text(MARGIN, top, _t("indicators", lang), 11, bold=True)
    cols = {"latest": 92, "rank": 118, "change": 152, "trend": 158}
    y = top - 6
    page.text(cols["latest"], y, _t("latest", lang), 7, color=GREY, ha="right")
    page.text(cols["rank"], y, _t("rank", lang), 7, color=GREY, ha="right")
    page.text(cols["change"], y, _t("change", lang), 7, color=GREY, ha="right")
    page.text(cols["trend"], y, _t("trend", lang), 7, color=GREY)
    rows = sheet["rows"]
    step = min(10.5, 105 / max(1, len(rows)))
    for row in rows:
        y -= step
        page.ax.plot([MARGIN, W - MARGIN], [y - 2.4, y - 2.4], color="#dddddd", linewidth=0.4)
        page.text(MARGIN, y + 1.2, row["name"], 8, bold=True)
        page.text(MARGIN, y - 1.6, row["unit"], 6.5, color=GREY)
        page.text(cols["latest"], y + 1.2, row["latest_text"], 9, bold=True, ha="right")
        page.text(cols["latest"], y - 1.6, str(row["latest_year"] or ""), 6.5, color=GREY, ha="right")
        rank = _t("rank_of", lang, rank=row["rank"], n=row["ranked"]) if row["rank"] is not None else "–"
        page.text(cols["rank"], y + 1.2, rank, 8.5, ha="right")
        page.text(cols["change"], y + 1.2, row["change_text"], 8.5, ha="right")
        if row["change"] is not None:
            page.text(cols["change"], y - 1.6, f"{row['change_unit']}, {_t('since', lang, year=row['first_year'])}",
                      6, color=GREY, ha="right")
        _trend(page, row, (cols["trend"], y - 2, W - MARGIN - cols["trend"] - 9, step - 2.2), lang)
    page.text(MARGIN, y - 6, _t("rank_note", lang), 6.5, color=GREY)
    return y - 8


def _trend(page: _Page, row: dict, box, lang: str) -> None:
    """A small line of the indicator over the years, drawn in millimetres on the page; its range beside it."""
    points = [(year, value) for year, value in row["points"] if value is not None]
    if not points:
        return
    x, y, w, h = box
    years = [p[0] for p in row["points"]]
    first, last = min(years), max(years)
    values = [p[1] for p in points]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    xs = [x + (year - first + 0.5) / (last - first + 1) * w for year, _ in points]
    ys = [y + h / 2 if high == low else y + (value - low) / span * h for _, value in points]
    page.ax.plot(xs, ys, color=HIGHLIGHT, linewidth=1.0, marker="o", markersize=1.8,
                 linestyle="--" if row["illustrative"] else "-")
    page.text(x + w + 1, y + h, format_number(high, row["decimals"], lang), 5, color=GREY, va="top")
    if high != low:
        page.text(x + w + 1, y, format_number(low, row["decimals"], lang), 5, color=GREY, va="bottom")


def _projects(page: _Page, sheet: dict, lang: str, top: float) -> float:
    page.text(MARGIN, top, _t("projects", lang, year=sheet["year"]), 10, bold=True)
    y = top - 1.5
    if not sheet["projects"]:
        return page.para(MARGIN, y, _t("no_projects", lang), 8, W - 2 * MARGIN, color=GREY)
    for project in sheet["projects"]:
        line = f"• {project['name']} — {project['donor']}, {project['years_text']}"
        villages = [s["villages"] for s in project["sites"] if s["code"] == sheet["unit"]["code"] and s["villages"]]
        if villages:
            line += f" ({'; '.join(villages)})"
        y = page.para(MARGIN, y, line, 7.5, W - 2 * MARGIN, bottom=MARGIN + 30)
    return y


def _sources(page: _Page, sheet: dict, lang: str, top: float) -> None:
    page.text(MARGIN, top, _t("sources", lang), 9, bold=True)
    y = top - 1
    for source in sheet["sources"]:
        line = source["title"] + (f" — {source['url']}" if source["url"] else "")
        y = page.para(MARGIN, y, line, 6.3, W - 2 * MARGIN, color=GREY, spacing=1.2)


def cover_page(title: str, subtitle: str, geometry, lang: str, today: dt.date, illustrative: bool) -> _Page:
    """The book's cover: title, area and year, the date, an overview map with every unit named."""
    page = _Page()
    y = page.para(MARGIN, H - MARGIN - 10, title, 24, W - 2 * MARGIN, bold=True)
    page.para(MARGIN, y - 2, subtitle, 12, W - 2 * MARGIN, color=GREY)
    _map(page, geometry, (MARGIN, 40, W - 2 * MARGIN, 190), all_names=len(geometry.units) <= 60)
    page.text(MARGIN, 30, export_date(today, lang), 10, color=GREY)
    if illustrative:
        page.stamp(lang)
    page.footer(lang, today, 1)
    return page


def contents_page(entries: list[tuple[str, int]], lang: str, today: dt.date) -> _Page:
    """The list of communes and their page numbers, in up to four columns."""
    page = _Page()
    page.text(MARGIN, H - MARGIN - 8, _t("contents", lang), 18, bold=True)
    columns = max(1, math.ceil(len(entries) / CONTENTS_PER_COLUMN))
    width = (W - 2 * MARGIN) / columns
    size = 9 if columns == 1 else 7
    for index, (name, number) in enumerate(entries):
        column, line = divmod(index, CONTENTS_PER_COLUMN)
        x, y = MARGIN + column * width, H - MARGIN - 20 - line * 4.1
        page.text(x, y, name, size)
        page.text(x + width - 4, y, str(number), size, ha="right")
    page.footer(lang, today, 2)
    return page


def pdf_bytes(pages_of) -> bytes:
    """Draw the pages that ``pages_of()`` yields into one PDF (under the exports' render lock and settings)."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    out = io.BytesIO()
    with _RENDER_LOCK, matplotlib.rc_context(_RC):
        with PdfPages(out, metadata={"Creator": "mapapp"}) as pdf:
            for page in pages_of():
                pdf.savefig(page.fig)
                page.fig.clear()
    return out.getvalue()
