"""Millimetre layout helpers: text measurement and wrapping, map frames (map metres ↔ paper), label boxes."""
from __future__ import annotations

from dataclasses import dataclass

from mapapp.present.export.sheet import MapPanel
from mapapp.present.export.style import FONT_FAMILY, PT_MM


class _Measure:
    """Text widths in millimetres, independent of the output resolution.

    Widths are sums of unhinted glyph advances (kerning ignored), measured once
    per character at 10 pt and scaled: fast enough for word wrapping and label
    placement, and the same for PNG, PDF and SVG.
    """

    _advances: dict[tuple[str, bool], float] = {}

    def __init__(self):
        from matplotlib.font_manager import FontProperties
        from matplotlib.textpath import TextToPath

        self._tp = TextToPath()
        self._fp = FontProperties

    def _advance(self, char: str, bold: bool) -> float:
        key = (char, bold)
        width = self._advances.get(key)
        if width is None:
            prop = self._fp(family=FONT_FAMILY, size=10, weight="bold" if bold else "normal")
            # Measured between two letters so a space keeps its width.
            w3, _h, _d = self._tp.get_text_width_height_descent(f"x{char}x", prop, ismath=False)
            w2, _h, _d = self._tp.get_text_width_height_descent("xx", prop, ismath=False)
            width = self._advances[key] = (w3 - w2) * PT_MM / 10
        return width

    def width(self, s: str, size: float, bold: bool = False) -> float:
        return sum(self._advance(c, bold) for c in s) * size

    def wrap(self, s: str, size: float, width_mm: float, bold: bool = False) -> list[str]:
        """Greedy word wrap; words wider than the line are cut (long URLs)."""
        lines, line = [], ""
        for word in s.split():
            while self.width(word, size, bold) > width_mm and len(word) > 1:
                cut = len(word)
                while cut > 1 and self.width(word[:cut], size, bold) > width_mm:
                    cut -= 1
                head, word = word[:cut], word[cut:]
                if line:
                    lines.append(line)
                    line = ""
                lines.append(head)
            candidate = f"{line} {word}" if line else word
            if line and self.width(candidate, size, bold) > width_mm:
                lines.append(line)
                line = word
            else:
                line = candidate
        if line:
            lines.append(line)
        return lines or [""]


def _line_mm(size: float, spacing: float = 1.25) -> float:
    return size * spacing * PT_MM


@dataclass
class _Frame:
    panel: MapPanel
    x: float  # lower-left corner of the map box, mm
    y: float
    w: float
    h: float
    extent: tuple[float, float, float, float]  # metres: xmin, ymin, xmax, ymax
    k: float  # mm per metre

    def to_mm(self, x, y):
        return self.x + (x - self.extent[0]) * self.k, self.y + (y - self.extent[1]) * self.k

    def to_m(self, x_mm, y_mm):
        return self.extent[0] + (x_mm - self.x) / self.k, self.extent[1] + (y_mm - self.y) / self.k


def _offsets(w: float, h: float, gap: float):
    """Candidate label centres around the label point, nearest first."""
    yield 0.0, 0.0
    for step in (1.0, 1.9):
        dx, dy = (w / 2 + gap) * step, (h / 2 + gap) * step
        yield from ((0, dy), (0, -dy), (dx, 0), (-dx, 0), (dx, dy), (-dx, dy), (dx, -dy), (-dx, -dy))


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
