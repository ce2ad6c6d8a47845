"""Commune fact sheets (PDF): one A4 page per commune, or a book of every commune of a year's layout.

:mod:`.content` gathers what a sheet says (from the profile, ranking and project
functions behind the pages); :mod:`.pages` draws it with matplotlib.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

from mapapp.core.i18n import text
from mapapp.geo.units import year_end
from mapapp.present.export.sheet import slug
from mapapp.present.profiles import find_unit
from mapapp.present.sheets import pages
from mapapp.present.sheets.content import Context, commune_sheet, units_of_year
from mapapp.present.viewstate import BadRequest
from mapapp.query import read as query

MIMETYPE = "application/pdf"


def resolve(conn, code: str, valid_from: str | None, years: list[int], year: int | None) -> tuple[str, int]:
    """The unit and year of a commune's sheet: ``(valid_from, year)``.

    Without ``valid_from`` the unit with ``code`` valid in ``year`` is taken (a code is
    reused across mergers: 19429 is Thị trấn Khe Sanh until 2025, then Xã Khe Sanh);
    without ``year``, the unit's last year on the map.

    Raises
    ------
    mapapp.query.read.NotFound
        For an unknown commune.
    BadRequest
        When the unit did not exist in ``year`` (or in any year of the map).
    """
    _uid, unit = find_unit(conn, code, valid_from)
    if valid_from is None and year is not None:
        candidates = [u for _, u in query.registry(conn) if u.code == code and u.valid_on(year_end(year))]
        unit = candidates[0] if candidates else unit
    valid = [y for y in years if unit.valid_on(year_end(y))]
    if not valid:
        raise BadRequest(f"{unit.name} ({code}) is on no map of {years[0]}–{years[-1]}")
    if year is None:
        return unit.valid_from, valid[-1]
    if year not in valid:
        raise BadRequest(f"{unit.name} ({code}) did not exist in {year}; its years are {valid[0]}–{valid[-1]}")
    return unit.valid_from, year


def commune_pdf(conn, code: str, valid_from: str | None, year: int | None, years: list[int], lang: str = "vi",
                today: dt.date | None = None) -> tuple[bytes, str, dict]:
    """One commune's fact sheet as a one-page PDF; returns the bytes, a download name and the sheet's content.

    The unit and year are found by :func:`resolve` (same errors).
    """
    today = today or dt.date.today()
    valid_from, year = resolve(conn, code, valid_from, years, year)
    ctx = Context(conn, year, lang, years)
    sheet = commune_sheet(ctx, code, valid_from)
    data = pages.pdf_bytes(lambda: [pages.commune_page(sheet, ctx.geometry, lang, today, 1)])
    return data, f"phieu-thong-tin-{slug(sheet['unit']['name'])}-{year}.pdf", sheet


def book_pdf(conn, year: int, years: list[int], lang: str = "vi", today: dt.date | None = None,
             progress: Callable[[str], None] | None = None) -> tuple[bytes, str, list[dict]]:
    """Every commune of ``year``'s layout, one page each, after a cover and a contents page.

    ``progress`` is called with each commune's name once its page is drawn (a progress bar).

    Raises
    ------
    BadRequest
        When the layout has more units than one contents page lists (an atlas of a country).
    """
    today = today or dt.date.today()
    ctx = Context(conn, year, lang, years)
    units = units_of_year(ctx)
    if len(units) > pages.MAX_SHEETS:
        raise BadRequest(f"{len(units)} units in {year}: a book of fact sheets holds at most {pages.MAX_SHEETS}; "
                         f"ask for single sheets at /communes/<code>/sheet.pdf")
    sheets = [commune_sheet(ctx, u["code"], u["valid_from"] or "") for u in units]
    area = sheets[0]["area"] if sheets else ""
    title = text("sheet.cover_title", lang)
    subtitle = text("sheet.cover_area", lang).format(area=area, year=year, n=len(units))

    def drawn():
        yield pages.cover_page(title, subtitle, ctx.geometry, lang, today, any(s["illustrative"] for s in sheets))
        yield pages.contents_page([(s["unit"]["name"], i + 3) for i, s in enumerate(sheets)], lang, today)
        for number, sheet in enumerate(sheets, start=3):
            yield pages.commune_page(sheet, ctx.geometry, lang, today, number)
            if progress:
                progress(sheet["unit"]["name"])

    return pages.pdf_bytes(drawn), f"phieu-thong-tin-cac-xa-{year}.pdf", sheets
