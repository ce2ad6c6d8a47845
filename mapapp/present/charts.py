"""Small server-side SVG charts (no script, no CDN): a year axis and one or more series.

Used by the commune profile (every indicator over the years) and the district
summary. Each point carries a ``<title>`` (shown by the browser on hover), every
text is escaped, and the chart is plain markup that works under a strict
Content-Security-Policy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from mapapp.present import classify

PALETTE = ("#1f5f8b", "#c0392b", "#2e8b57", "#8e44ad", "#d35400")


@dataclass
class Point:
    """One value of a series: ``y`` None = no data (a gap in the line)."""

    x: int
    y: float | None
    hollow: bool = False  # drawn as an open circle (e.g. built from predecessor units)
    note: str = ""  # added to the point's hover text


@dataclass
class Series:
    """A named line of points."""

    label: str
    points: list[Point]
    color: str = ""
    dashed: bool = False  # e.g. illustrative data


@dataclass
class Frame:
    """The plotting area and the data ranges mapped onto it."""

    width: int
    height: int
    left: int = 46
    right: int = 10
    top: int = 10
    bottom: int = 22
    x_min: float = 0.0
    x_max: float = 1.0
    y_min: float = 0.0
    y_max: float = 1.0
    ticks: list[float] = field(default_factory=list)

    def x(self, value: float) -> float:
        """Horizontal pixel of a year."""
        span = (self.x_max - self.x_min) or 1.0
        return self.left + (value - self.x_min) / span * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        """Vertical pixel of a value."""
        span = (self.y_max - self.y_min) or 1.0
        return self.height - self.bottom - (value - self.y_min) / span * (self.height - self.top - self.bottom)


def nice_ticks(low: float, high: float, count: int = 4, whole: bool = False) -> list[float]:
    """About ``count`` round tick values (steps of 1, 2, 2.5 or 5 × 10^n) covering ``[low, high]``.

    With ``whole`` the steps are whole numbers (for counts).
    """
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    if whole:
        raw = max(raw, 1.0)
    magnitude = 10 ** math.floor(math.log10(raw))
    multipliers = (1, 2, 5, 10) if whole and magnitude < 10 else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in multipliers if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def line_chart(series: list[Series], years: list[int], *, decimals: int = 1, lang: str = "vi",
               unit: str = "", title: str = "", width: int = 380, height: int = 150,
               breaks: list[tuple[float, str]] = ()) -> Markup:
    """An SVG line chart of ``series`` over ``years``.

    Parameters
    ----------
    series : list of Series
        The lines; points with ``y`` None leave a gap.
    years : list of int
        The x axis (labelled; need not be contiguous).
    decimals, lang : number format of the labels (:func:`classify.format_number`).
    unit : str
        Unit shown in the hover texts.
    title : str
        Accessible name of the chart.
    breaks : list of (x, label)
        Vertical dashed markers (e.g. boundary changes between two years).

    Returns
    -------
    Markup
        The ``<svg>`` element.
    """
    frame = _frame(series, years, width, height, whole=decimals == 0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    parts += _axes(frame, years, decimals, lang)
    parts += [_break_line(frame, x, label) for x, label in breaks]
    for index, line in enumerate(series):
        parts += _series(frame, line, line.color or PALETTE[index % len(PALETTE)], decimals, lang, unit)
    parts.append("</svg>")
    return Markup("".join(parts))


def _frame(series: list[Series], years: list[int], width: int, height: int, whole: bool = False) -> Frame:
    values = [p.y for s in series for p in s.points if p.y is not None]
    low = min(values + [0.0]) if values else 0.0
    high = max(values) if values else 1.0
    ticks = nice_ticks(low, high, whole=whole)
    frame = Frame(width, height, x_min=min(years) - 0.5, x_max=max(years) + 0.5,
                  y_min=ticks[0], y_max=ticks[-1], ticks=ticks)
    return frame


def _axes(frame: Frame, years: list[int], decimals: int, lang: str) -> list[str]:
    out = []
    tick_decimals = 0 if all(float(t).is_integer() for t in frame.ticks) else max(1, min(decimals, 2))
    for tick in frame.ticks:
        y = frame.y(tick)
        out.append(f'<line class="grid" x1="{frame.left}" x2="{frame.width - frame.right}" '
                   f'y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        label = classify.format_number(tick, tick_decimals, lang)
        out.append(f'<text x="{frame.left - 4}" y="{y + 3:.1f}" text-anchor="end" font-size="9" '
                   f'fill="#555">{escape(label)}</text>')
    base = frame.height - frame.bottom
    out.append(f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{base}" y2="{base}" stroke="#999"/>')
    last = -1e9
    for year in years:
        x = frame.x(year)
        if x - last >= 24:  # skip a label that would overlap the previous one
            out.append(f'<text x="{x:.1f}" y="{base + 13}" text-anchor="middle" font-size="9" fill="#555">{year}</text>')
            last = x
    return out


def _break_line(frame: Frame, x: float, label: str) -> str:
    px = frame.x(x)
    return (f'<g class="break"><line x1="{px:.1f}" x2="{px:.1f}" y1="{frame.top}" y2="{frame.height - frame.bottom}" '
            f'stroke="#b36b00" stroke-dasharray="3 3"/><title>{escape(label)}</title></g>')


def _series(frame: Frame, line: Series, color: str, decimals: int, lang: str, unit: str) -> list[str]:
    out = []
    dash = ' stroke-dasharray="5 3"' if line.dashed else ""
    for segment in _segments(line.points):
        if len(segment) > 1:
            coords = " ".join(f"{frame.x(p.x):.1f},{frame.y(p.y):.1f}" for p in segment)
            out.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.8"{dash}/>')
    for p in line.points:
        if p.y is None:
            continue
        fill = "#fff" if p.hollow else color
        hover = f"{p.x}: {classify.format_number(p.y, decimals, lang)} {unit}".strip()
        if line.label:
            hover += f" — {line.label}"
        if p.note:
            hover += f" ({p.note})"
        out.append(f'<circle class="point" cx="{frame.x(p.x):.1f}" cy="{frame.y(p.y):.1f}" r="3.2" fill="{fill}" '
                   f'stroke="{color}" stroke-width="1.5"><title>{escape(hover)}</title></circle>')
    return out


def _segments(points: list[Point]) -> list[list[Point]]:
    """Runs of consecutive points with a value (a missing value breaks the line)."""
    runs, current = [], []
    for p in sorted(points, key=lambda q: q.x):
        if p.y is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(p)
    if current:
        runs.append(current)
    return runs


def legend(series: list[Series]) -> Markup:
    """An HTML legend for a multi-series chart (colour swatch and label per series)."""
    items = []
    for index, line in enumerate(series):
        color = line.color or PALETTE[index % len(PALETTE)]
        items.append(f'<li><span class="chart-swatch" style="background:{escape(color)}"></span>'
                     f"{escape(line.label)}</li>")
    return Markup('<ul class="chart-legend">' + "".join(items) + "</ul>")
