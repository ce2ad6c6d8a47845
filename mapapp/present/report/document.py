"""The Word report of a view (``/report.docx``, ``flask report``): map, summary, ranking table, sources.

Built with python-docx on its default template, using Word's own styles (Title,
Heading 1/2, Caption, Table Grid, List Bullet) and no direct formatting beyond bold
and colour, so the text takes the office template's look when pasted into it. The
map is the 300 dpi PNG of the export code (:func:`mapapp.present.export.render`):
the same classes, legend, scale bar, north arrow and stamp as ``/export.png``.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, replace

from mapapp.core.i18n import text
from mapapp.present import export
from mapapp.present.choropleth import build_view, matches
from mapapp.present.classify import format_number
from mapapp.present.ranking import build_ranking
from mapapp.present.report import narrative
from mapapp.present.viewstate import ViewState

MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAP_PAGE = export.Page("A4", "landscape", 300, "png")
MAP_WIDTH_CM = 17.0  # the text width of A4 portrait with 2 cm margins
#: A province fits; a country's 11,163 rows would be 300 pages: the rest is in /ranking.xlsx.
MAX_TABLE_ROWS = 1000


@dataclass
class Report:
    """A built report: the document's bytes, its download name and the figures it states."""

    data: bytes
    filename: str
    figures: dict
    sentences: list[str]
    illustrative: bool


def build_report(conn, state: ViewState, link: str = "", today: dt.date | None = None) -> Report:
    """Write the Word report of ``state``.

    Parameters
    ----------
    conn : sqlalchemy.Connection
    state : ViewState
        The map's view (indicator, year, compare, units_year, threshold, classes, lang).
    link : str
        The permalink of the view, printed under the title.
    today : datetime.date, optional
        The report's date (default: today).

    Raises
    ------
    mapapp.present.viewstate.BadRequest
        When the view has no values (as the exports do).
    """
    today = today or dt.date.today()
    lang = state.lang
    rendered = export.render(conn, state, MAP_PAGE, today=today)
    view = build_view(conn, state)
    everyone = build_ranking(conn, replace(state, min=None, max=None))
    if state.has_threshold:
        filtered = build_ranking(conn, state)
        everyone = {**everyone, "threshold": filtered["threshold"], "matching": filtered["matching"]}
    figures = narrative.facts(view, everyone)
    lines = narrative.sentences(figures, lang)
    illustrative = bool(view["illustrative"] or everyone["illustrative"])
    doc = _document(lang)
    doc.add_paragraph(view["title"], style="Title")
    doc.add_paragraph(text("report.date", lang).format(date=export.export_date(today, lang)))
    if link:
        doc.add_paragraph(text("report.view_link", lang).format(link=link))
    if illustrative:
        _warning(doc, text("report.warning", lang))
    doc.add_heading(text("report.h_map", lang), level=1)
    doc.add_picture(io.BytesIO(rendered.data), width=_cm(MAP_WIDTH_CM))
    doc.add_paragraph(text("report.figure", lang).format(title=view["title"]), style="Caption")
    doc.add_heading(text("report.h_summary", lang), level=1)
    whole = lines[:1] if figures["district"] is not None else []
    if whole:
        doc.add_heading(text("report.h_whole", lang), level=2)
        doc.add_paragraph(whole[0])
    doc.add_heading(text("report.h_communes", lang), level=2)
    for line in lines[len(whole):]:
        doc.add_paragraph(line)
    doc.add_heading(text("report.h_table", lang), level=1)
    doc.add_paragraph(text("report.table", lang).format(title=everyone["title"]), style="Caption")
    if state.has_threshold:
        doc.add_paragraph(text("report.matching_bold", lang).format(
            threshold=f"{everyone['threshold']['text']} {everyone['indicator']['unit']}"))
    _ranking_table(doc, everyone, lang, state)
    if len(everyone["rows"]) > MAX_TABLE_ROWS:
        doc.add_paragraph(text("report.table_cut", lang).format(
            n=format_number(MAX_TABLE_ROWS, 0, lang), total=format_number(len(everyone["rows"]), 0, lang),
            link="/ranking.xlsx?" + state.query_string()))
    doc.add_heading(text("report.h_sources", lang), level=1)
    for source in _sources(view, everyone):
        _source_line(doc, source, lang)
    out = io.BytesIO()
    doc.save(out)
    name = rendered.filename.rsplit(".", 1)[0]
    if state.compare is not None:
        name += f"-so-voi-{state.compare}"
    return Report(out.getvalue(), f"bao-cao-{name}.docx", figures, lines, illustrative)


def _cm(value: float):
    from docx.shared import Cm

    return Cm(value)


def _document(lang: str):
    """An empty A4 portrait document, 2 cm margins, in the report's language."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = _cm(21.0), _cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, _cm(2.0))
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(13)
    language = normal.element.get_or_add_rPr()
    lang_el = language.find(qn("w:lang"))
    if lang_el is None:
        lang_el = language.makeelement(qn("w:lang"), {})
        language.append(lang_el)
    lang_el.set(qn("w:val"), "vi-VN" if lang == "vi" else "en-GB")
    doc.core_properties.language = "vi-VN" if lang == "vi" else "en-GB"
    return doc


def _warning(doc, message: str) -> None:
    """The illustrative-data warning: its own paragraph, bold and red, at the top."""
    from docx.shared import RGBColor

    paragraph = doc.add_paragraph(style="Intense Quote")
    run = paragraph.add_run(message)
    run.bold = True
    run.font.color.rgb = RGBColor(0xB2, 0x18, 0x2B)


def _ranking_table(doc, ranking: dict, lang: str, state: ViewState) -> None:
    """Rank, commune, value, numerator/denominator (when any commune has them), change (with a base year).

    With a threshold, the communes that pass it are in bold (as they are highlighted on the map).
    """
    rows = ranking["rows"][:MAX_TABLE_ROWS]
    ind = ranking["indicator"]
    with_counts = any(r["numerator"] is not None for r in rows)
    with_change = ranking["compare"] is not None
    header = [text("report.rank", lang), text("report.commune", lang),
              text("report.value", lang).format(year=ranking["year"], unit=ind["unit"])]
    if with_counts:
        header += [text("report.numerator", lang), text("report.denominator", lang)]
    if with_change:
        header += [text("report.change", lang).format(base=ranking["compare"], year=ranking["year"],
                                                      unit=ranking["change_unit"])]
    table = doc.add_table(rows=1, cols=len(header))
    table.style = doc.styles["Table Grid"]
    _repeat_header(table.rows[0])
    for cell, label in zip(table.rows[0].cells, header):
        cell.text = ""
        cell.paragraphs[0].add_run(label).bold = True
    for row in rows:
        cells = [str(row["rank"]) if row["rank"] is not None else "–", row["name"], row["value_text"]]
        if with_counts:
            cells += [format_number(row["numerator"], 0, lang), format_number(row["denominator"], 0, lang)]
        if with_change:
            cells.append(row["change_text"])
        line = table.add_row().cells
        for index, (cell, value) in enumerate(zip(line, cells)):
            paragraph = cell.paragraphs[0]
            paragraph.add_run(value).bold = state.has_threshold and matches(row["value"], state.min, state.max)
            if index != 1:
                paragraph.alignment = 2  # right: numbers line up


def _repeat_header(row) -> None:
    """Mark the header row to repeat on every page the table runs over."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    properties = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def _sources(view: dict, ranking: dict) -> list[dict]:
    pairs = {(s["title"], s["url"] or "") for s in view["sources"] + ranking["sources"]}
    return [{"title": t, "url": u} for t, u in sorted(pairs)]


def _source_line(doc, source: dict, lang: str) -> None:
    """One source as a bullet: its title, then its link (a real hyperlink) or a note that it has none."""
    paragraph = doc.add_paragraph(style="List Bullet")
    paragraph.add_run(source["title"] + " — ")
    if source["url"]:
        _hyperlink(paragraph, source["url"])
    else:
        paragraph.add_run(text("report.no_source_link", lang)).italic = True


def _hyperlink(paragraph, url: str) -> None:
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rel = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel)
    run = OxmlElement("w:r")
    properties = OxmlElement("w:rPr")
    style = OxmlElement("w:rStyle")
    style.set(qn("w:val"), "Hyperlink")
    properties.append(style)
    underline = OxmlElement("w:u")
    underline.set(qn("w:val"), "single")
    properties.append(underline)
    color = OxmlElement("w:color")
    color.set(qn("w:val"), "0563C1")
    properties.append(color)
    run.append(properties)
    run_text = OxmlElement("w:t")
    run_text.text = url
    run.append(run_text)
    link.append(run)
    paragraph._p.append(link)
