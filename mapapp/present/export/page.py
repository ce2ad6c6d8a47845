"""What an export request asks for: paper, orientation, resolution, format, years (parsed from the query string)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from mapapp.core import parsing
from mapapp.present.export.style import FORMATS, MAX_MAPS, ORIENTATIONS, PAPERS_MM
from mapapp.present.viewstate import BadRequest, ViewState, parse, parse_year

DEFAULT_SIZE, DEFAULT_ORIENTATION, DEFAULT_DPI = "A4", "landscape", 300
MIN_DPI, MAX_DPI = 72, 300  # an A3 page at 300 dpi is already 17 megapixels


@dataclass(frozen=True)
class Page:
    """The sheet: paper size, orientation, output format and (for PNG) resolution."""

    size: str = DEFAULT_SIZE
    orientation: str = DEFAULT_ORIENTATION
    dpi: int = DEFAULT_DPI
    fmt: str = "png"

    @property
    def mm(self) -> tuple[float, float]:
        """Width and height of the sheet in millimetres."""
        short, long_ = PAPERS_MM[self.size]
        return (long_, short) if self.orientation == "landscape" else (short, long_)

    @property
    def pixels(self) -> tuple[int, int]:
        """Width and height of a PNG export in pixels (paper size × dpi, rounded)."""
        return tuple(int(round(v / 25.4 * self.dpi)) for v in self.mm)


@dataclass(frozen=True)
class ExportRequest:
    """A parsed export request: the view, the years of a small-multiples page (or None) and the sheet."""

    state: ViewState
    years: tuple[int, ...] | None
    page: Page


def parse_page(args: Mapping[str, str], fmt: str) -> Page:
    """Parse ``size``, ``orientation`` and ``dpi``; raise :class:`BadRequest` with a message."""
    if fmt not in FORMATS:
        raise BadRequest(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    raw = args.get("size") or DEFAULT_SIZE
    size = str(raw).strip().upper()
    if size not in PAPERS_MM:
        raise BadRequest(f"paper size {raw!r} is not supported; use one of: {', '.join(PAPERS_MM)}")
    raw = args.get("orientation") or DEFAULT_ORIENTATION
    orientation = str(raw).strip().lower()
    if orientation not in ORIENTATIONS:
        raise BadRequest(f"orientation {raw!r} is not supported; use portrait or landscape")
    raw = args.get("dpi")
    if raw is None or str(raw).strip() == "":
        dpi = DEFAULT_DPI
    else:
        try:
            dpi = parsing.parse_int(raw, MIN_DPI, MAX_DPI, "dpi")
        except parsing.ParseError as error:
            raise BadRequest(f"{error} (150 or 300 for print)") from None
    return Page(size, orientation, dpi, fmt)


def parse_years(text_: str, config: Mapping) -> tuple[int, ...]:
    """Parse ``2016,2018,2020`` or ``2016-2024`` (or both mixed) into sorted distinct years."""
    years: set[int] = set()
    parts = [p.strip() for p in str(text_).split(",") if p.strip()]
    if not parts:
        raise BadRequest("years is empty; give years like 2016,2018,2020 or a range 2016-2024")
    for part in parts:
        match = re.fullmatch(r"(\d{4})\s*[-–]\s*(\d{4})", part)
        if match:
            first, last = (parse_year(g, config) for g in match.groups())
            if first > last:
                raise BadRequest(f"year range {part!r} runs backwards")
            years.update(range(first, last + 1))
        else:
            years.add(parse_year(part, config))
    if len(years) > MAX_MAPS:
        raise BadRequest(f"{len(years)} years asked for; one page holds at most {MAX_MAPS} maps")
    return tuple(sorted(years))


def parse_request(args: Mapping[str, str], fmt: str, config: Mapping, indicator_ids) -> ExportRequest:
    """Parse an export query string (the map's view parameters plus the sheet's).

    ``indicator`` and ``year`` (or ``years`` for small multiples) are required.
    """
    args = {key: args.get(key) for key in args}
    if not args.get("indicator"):
        raise BadRequest("the parameter indicator is required (e.g. indicator=poverty_rate)")
    years = None
    if args.get("years") not in (None, ""):
        years = parse_years(args["years"], config)
        args["year"] = str(years[0])
        if len(years) == 1:
            years = None
    elif args.get("year") in (None, ""):
        raise BadRequest("the parameter year (or years=2016,2018,...) is required (e.g. year=2021)")
    page = parse_page(args, fmt)
    state = parse(args, config, indicator_ids)
    return ExportRequest(state, years, page)
