"""The Word report (/report.docx, ``flask report``) and the commune fact sheets (/sheets.pdf,
/communes/<code>/sheet.pdf, ``flask sheets``), read back with python-docx, pypdf and poppler's pdftoppm."""
from __future__ import annotations

import io
import re
import shutil
import subprocess

import docx
import numpy as np
import pypdf
import pytest
from conftest import needs_shared
from PIL import Image
from shapely.geometry import shape

from mapapp.present.classify import format_number
from mapapp.present.report import narrative

pytestmark = needs_shared

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
VIEW = "indicator=poverty_rate&year=2024&compare=2016&min=15"


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def report(app):
    """The Word report of the poverty change 2016 → 2024 with a threshold, and the API's answers for it."""
    client = app.test_client()
    response = client.get(f"/report.docx?{VIEW}")
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == DOCX
    assert "attachment" in response.headers["Content-Disposition"]
    level = client.get("/api/values?indicator=poverty_rate&year=2024").get_json()
    change = client.get("/api/values?indicator=poverty_rate&year=2024&compare=2016").get_json()
    return docx.Document(io.BytesIO(response.data)), level, change


def _styled(document, style: str) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name == style]


def test_report_has_word_styles_headings_and_one_300_dpi_map(report):
    document, _level, change = report
    assert _styled(document, "Title") == [change["title"]]
    assert _styled(document, "Heading 1") == ["1. Bản đồ", "2. Nhận xét", "3. Bảng xếp hạng các xã",
                                              "4. Nguồn số liệu"]
    assert _styled(document, "Heading 2") == ["2.1. Toàn địa bàn", "2.2. Các xã"]
    captions = _styled(document, "Caption")
    assert len(captions) == 2 and captions[0].startswith("Hình 1.") and captions[1].startswith("Bảng 1.")
    section = document.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)
    assert len(document.inline_shapes) == 1
    blip = document.inline_shapes[0]._inline.graphic.graphicData.pic.blipFill.blip
    image = document.part.related_parts[blip.embed].image
    assert image.content_type == "image/png"
    assert (image.horz_dpi, image.vert_dpi) == (300, 300)
    assert (image.px_width, image.px_height) == (3508, 2480)  # A4 landscape at 300 dpi, as /export.png


def test_report_table_has_one_row_per_commune_with_the_api_values(report):
    document, level, change = report
    assert len(document.tables) == 1
    table = document.tables[0]
    assert table.style.name == "Table Grid"
    header = [c.text for c in table.rows[0].cells]
    assert header[:3] == ["Hạng", "Xã", "2024 (% số hộ)"] and header[3:5] == ["Tử số", "Mẫu số"]
    assert header[5].startswith("Thay đổi 2016→2024")
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert len(rows) == len(level["records"]) == 21
    by_name = {r["name"]: r for r in level["records"]}
    change_by_name = {r["name"]: r for r in change["records"]}
    assert {r[1] for r in rows} == set(by_name)
    for rank, name, value, numerator, denominator, delta in rows:
        record = by_name[name]
        assert value == record["value_text"]
        assert numerator == format_number(record["numerator"], 0, "vi")
        assert denominator == format_number(record["denominator"], 0, "vi")
        assert delta == change_by_name[name]["value_text"]
    values = [by_name[r[1]]["value"] for r in rows]
    assert values == sorted(values, reverse=True)  # ranked worst first, like /ranking
    assert rows[0][0] == "1"
    # the communes passing the threshold (min=15) are in bold, as highlighted on the map
    bold = {row.cells[1].text for row in table.rows[1:] if row.cells[1].paragraphs[0].runs[0].bold}
    assert bold == {r["name"] for r in level["records"] if r["value"] is not None and r["value"] >= 15}
    assert "Chữ đậm: các xã thỏa ngưỡng ≥ 15 % số hộ." in [p.text for p in document.paragraphs]


def test_report_sentences_state_the_api_figures(report):
    document, level, change = report
    body = [p.text for p in document.paragraphs if p.style.name == "Normal"]
    text = "\n".join(body)
    records = change["records"]
    numerator = sum(r["numerator"] for r in records)
    denominator = sum(r["denominator"] for r in records)
    base = 100 * sum(r["base_numerator"] for r in records) / sum(r["base_denominator"] for r in records)
    now = 100 * numerator / denominator
    assert (f"Tỷ lệ hộ nghèo của Huyện Hướng Hóa năm 2024 là {format_number(now, 1, 'vi')} % số hộ "
            f"(tính từ tổng {format_number(numerator, 0, 'vi')} trên {format_number(denominator, 0, 'vi')} "
            f"của 21 xã), giảm {format_number(base - now, 1, 'vi')} điểm phần trăm so với năm 2016 "
            f"({format_number(base, 1, 'vi')} % số hộ).") in text
    values = [r for r in level["records"] if r["value"] is not None]
    high = max(values, key=lambda r: r["value"])
    low = min(values, key=lambda r: r["value"])
    assert f"Cao nhất là {high['name']} ({high['value_text']} % số hộ); thấp nhất là {low['name']} " \
           f"({low['value_text']} % số hộ)." in text
    matching = sum(r["value"] >= 15 for r in values)
    assert 0 < matching < 21
    assert f"{matching} trên 21 xã có giá trị ≥ 15 % số hộ." in text
    down = sum(r["value_text"].startswith("-") for r in records)
    up = sum(r["value_text"].startswith("+") for r in records)
    assert f"So với năm 2016: {down} xã giảm, {up} xã tăng, {21 - down - up} xã không đổi." in text
    biggest = sorted(records, key=lambda r: -abs(r["value"]))[:3]
    items = ", ".join(f"{r['name']} (giảm {r['value_text'].lstrip('-')} điểm phần trăm)" for r in biggest)
    assert f"Thay đổi nhiều nhất: {items}." in text


def test_report_warns_at_the_top_iff_a_value_is_illustrative(app, report):
    document, level, _change = report
    assert level["illustrative"] is True
    paragraphs = document.paragraphs
    first_heading = next(i for i, p in enumerate(paragraphs) if p.style.name == "Heading 1")
    warnings = [i for i, p in enumerate(paragraphs) if p.text.startswith("CẢNH BÁO")]
    assert len(warnings) == 1 and warnings[0] < first_heading
    assert "MINH HỌA" in paragraphs[warnings[0]].text
    client = app.test_client()
    real = client.get("/api/values?indicator=population&year=2022").get_json()
    assert real["illustrative"] is False
    response = client.get("/report.docx?indicator=population&year=2022")
    assert response.status_code == 200
    plain = docx.Document(io.BytesIO(response.data))
    assert not [p for p in plain.paragraphs if "CẢNH BÁO" in p.text or "MINH HỌA" in p.text]
    text = "\n".join(p.text for p in plain.paragraphs)
    total = sum(r["value"] for r in real["records"] if r["value"] is not None)
    assert f"Dân số của Huyện Hướng Hóa năm 2022 là {format_number(total, 0, 'vi')} người (tổng của 21 xã)." in text
    assert len(plain.tables[0].rows) == 1 + len(real["records"])


def test_report_in_english_and_sources_with_links(app):
    client = app.test_client()
    response = client.get("/report.docx?indicator=population&year=2022&lang=en")
    document = docx.Document(io.BytesIO(response.data))
    assert [p.text for p in document.paragraphs if p.style.name == "Heading 1"][0] == "1. Map"
    api = client.get("/api/values?indicator=population&year=2022&lang=en").get_json()
    sources = [p.text for p in document.paragraphs if p.style.name == "List Bullet"]
    assert len(sources) == len(api["sources"])
    for source, line in zip(sorted(api["sources"], key=lambda s: (s["title"], s["url"])), sources):
        assert line.startswith(source["title"] + " — ")
    links = {r.target_ref for r in document.part.rels.values() if r.reltype.endswith("/hyperlink")}
    assert links == {s["url"] for s in api["sources"] if s["url"]}
    assert any("Population of Hướng Hóa district in 2022 was" in p.text and "94,964" in p.text
               for p in document.paragraphs)


@pytest.mark.parametrize("query, message", [
    ("indicator=nope&year=2024", "unknown indicator"),
    ("year=2024", "indicator is required"),
    ("indicator=poverty_rate", "year is required"),
    ("indicator=poverty_rate&year=1999", "out of range"),
    ("indicator=poverty_rate&year=2024&compare=abc", "not a whole number"),
    ("indicator=poverty_rate&year=2024&min=x", "not a number"),
    ("indicator=poverty_rate&year=2024&lang=fr", "unknown language"),
    ("indicator=population&year=2017", "no values"),
    ("indicator=poverty_rate&year=2020&units_year=2016", "earlier than the data"),
])
def test_report_bad_parameters_answer_400(client, query, message):
    response = client.get(f"/report.docx?{query}")
    assert response.status_code == 400
    assert message in response.get_json()["error"]


# --- the sentences on their own -----------------------------------------------------------------

def _row(name, value, change=None, decimals=1):
    return {"name": name, "value": value, "value_text": format_number(value, decimals, "vi"),
            "change": change, "change_text": None if change is None else
            ("+" if round(change, decimals) > 0 else "") + format_number(change, decimals, "vi")}


def _figures(rows, kind="rate", compare=2016, threshold=None, records=None):
    ranking = {"indicator": {"name": "Tỷ lệ hộ nghèo", "unit": "%", "decimals": 1, "kind": kind},
               "year": 2024, "compare": compare, "change_unit": "điểm phần trăm", "rows": rows,
               "threshold": {"active": threshold is not None, "text": threshold or ""},
               "matching": 1, "total": len(rows)}
    view = {"area": "Huyện Hướng Hóa", "change": False, "records": records or []}
    return narrative.facts(view, ranking)


def test_narrative_ties_directions_and_missing_values():
    rows = [_row("Xã A", 30.0, -2.04), _row("Xã B", 30.04, 0.02), _row("Xã C", 10.0, 5.0),
            {**_row("Xã D", None), "value_text": "–"}]
    figures = _figures(rows, threshold="≥ 30")
    assert figures["highest"]["names"] == ["Xã A", "Xã B"]  # 30,0 both, as displayed
    assert figures["directions"] == {"down": 1, "up": 1, "same": 1}
    assert figures["district"] is None  # no records with numerators
    lines = narrative.sentences(figures, "vi")
    assert "Cao nhất là Xã A, Xã B (30,0 %); thấp nhất là Xã C (10,0 %)." in lines
    assert "1 trên 4 xã có giá trị ≥ 30 %." in lines
    assert "Thay đổi nhiều nhất: Xã C (tăng 5,0 điểm phần trăm), Xã A (giảm 2,0 điểm phần trăm), " \
           "Xã B (không đổi)." in lines
    assert lines[-1] == "1 xã không có số liệu: Xã D."


def test_narrative_says_no_area_total_for_measures_and_no_change_without_base():
    rows = [_row("Xã A", 120.0), _row("Xã B", 80.0)]
    records = [{"value": 120.0, "numerator": None, "denominator": None},
               {"value": 80.0, "numerator": None, "denominator": None}]
    figures = _figures(rows, kind="measure", compare=None, records=records)
    assert figures["district"] is None and figures["directions"] is None
    lines = narrative.sentences(figures, "en")
    assert lines == ["The highest was Xã A (120.0 %); the lowest Xã B (80.0 %)."]
    counted = _figures(rows, kind="count", compare=None, records=records)
    assert counted["district"]["value"] == 200.0
    assert narrative.sentences(counted, "vi")[0] == "Tỷ lệ hộ nghèo của Huyện Hướng Hóa năm 2024 là 200,0 % " \
                                                    "(tổng của 2 xã)."


# --- fact sheets ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def book(app):
    client = app.test_client()
    response = client.get("/sheets.pdf?year=2024")
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "application/pdf"
    values = client.get("/api/values?indicator=poverty_rate&year=2024").get_json()
    return response.data, values


def _page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def test_sheets_book_has_a_cover_contents_and_one_page_per_commune(book):
    data, values = book
    texts = _page_texts(data)
    records = values["records"]
    assert len(texts) == len(records) + 2 == 23
    assert _squash("Phiếu thông tin các xã") in _squash(texts[0])
    assert _squash("DỮ LIỆU MINH HỌA") in _squash(texts[0])
    contents = _squash(texts[1])
    for record in records:
        assert _squash(record["name"]) in contents
    names_on_pages = {}
    for number, page in enumerate(texts[2:], start=3):
        squashed = _squash(page)
        owner = [r for r in records if squashed.startswith(_squash(r["name"]))]
        assert len(owner) == 1, page[:80]
        record = owner[0]
        names_on_pages[record["name"]] = number
        assert _squash(record["value_text"]) in squashed
        assert _squash(f"Trang {number}") in squashed
        assert _squash("DỮ LIỆU MINH HỌA") in squashed  # poverty is illustrative
    assert len(names_on_pages) == len(records)


def test_sheet_values_and_ranks_match_the_ranking(app, book):
    data, values = book
    ranking = app.test_client().get("/ranking.json?indicator=poverty_rate&year=2024&order=desc").get_json()
    texts = _page_texts(data)
    for row in ranking["rows"]:
        page = next(t for t in texts[2:] if _squash(t).startswith(_squash(row["name"])))
        assert _squash(f"{row['value_text']}2024{row['rank']}/21") in _squash(page)


def test_sheet_map_area_is_drawn(tmp_path, book):
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "poppler-utils (pdftoppm) is missing: run bin/install --test"
    data, _values = book
    pdf = tmp_path / "book.pdf"
    pdf.write_bytes(data)
    subprocess.run([pdftoppm, "-r", "50", "-png", "-f", "3", "-l", "3", str(pdf), str(tmp_path / "page")],
                   check=True)
    image = Image.open(next(tmp_path.glob("page*.png"))).convert("RGB")
    width, height = image.size
    mm = width / 210
    # The locator map: x 12–112 mm, from 30 mm below the top edge, 88 mm high.
    box = image.crop((int(13 * mm), int(31 * mm), int(111 * mm), int(117 * mm)))
    pixels = np.asarray(box).reshape(-1, 3).astype(int)
    drawn = (pixels.min(axis=1) < 250).mean()  # units are filled light grey (#eeeeee), the paper is white
    r, g, b = pixels.T
    highlighted = ((r > 180) & (g > 70) & (g < 120) & (b > 50) & (b < 100)).mean()  # the commune, #d6604d
    assert drawn > 0.5
    assert highlighted > 0.02


def test_one_commune_sheet_and_its_errors(client):
    response = client.get("/communes/19492/sheet.pdf")
    assert response.status_code == 200
    texts = _page_texts(response.data)
    assert len(texts) == 1 and texts[0].startswith("Xã Xy")
    units = client.get("/api/units?year=2024").get_json()["features"]
    xy = next(shape(f["geometry"]) for f in units if f["properties"]["code"] == "19492")
    touching = sorted(f["properties"]["name"] for f in units if f["properties"]["code"] != "19492"
                      and shape(f["geometry"]).intersects(xy.buffer(0.0003)))
    assert touching == ["Xã A Dơi", "Xã Lìa", "Xã Thanh"]
    assert _squash("Giáp ranh: " + ", ".join(touching)) in _squash(texts[0])
    assert _squash("Sáp nhập vào: Xã A Dơi (từ 2025-07-01)") in _squash(texts[0])
    khe_sanh = client.get("/communes/19429/sheet.pdf?year=2024")
    assert _page_texts(khe_sanh.data)[0].startswith("Thị trấn Khe Sanh")
    merged = client.get("/communes/19429/sheet.pdf?year=2025&lang=en")
    page = _page_texts(merged.data)[0]
    assert page.startswith("Xã Khe Sanh") and "Formed from" in page
    assert client.get("/communes/00000/sheet.pdf").status_code == 404
    for query, message in (("year=2025", "did not exist in 2025"), ("year=abc", "not a whole number"),
                           ("lang=xx", "unknown language"), ("year=1900", "out of range")):
        bad = client.get(f"/communes/19492/sheet.pdf?{query}")
        assert bad.status_code == 400 and message in bad.get_json()["error"]
    assert client.get("/sheets.pdf?year=1800").status_code == 400


def test_map_and_profile_pages_link_the_documents(client):
    page = client.get("/?indicator=poverty_rate&year=2024&compare=2016").get_data(as_text=True)
    assert 'id="export-docx" href="/report.docx?indicator=poverty_rate&amp;year=2024&amp;compare=2016"' in page
    assert 'id="link-sheets" href="/sheets.pdf?year=2024"' in page
    profile = client.get("/communes/19492").get_data(as_text=True)
    assert 'href="/communes/19492/sheet.pdf?valid_from="' in profile


def test_cli_report_and_sheets(app, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "bao-cao.docx"
    result = runner.invoke(args=["report", "--indicator", "poverty_rate", "--year", "2024", "--compare", "2016",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    document = docx.Document(str(out))
    assert len(document.tables[0].rows) == 22
    bad = runner.invoke(args=["report", "--indicator", "nope", "--year", "2024", "--out", str(out)])
    assert bad.exit_code != 0 and "unknown indicator" in bad.output
    pdf = tmp_path / "phieu.pdf"
    result = runner.invoke(args=["sheets", "--year", "2025", "--out", str(pdf)])
    assert result.exit_code == 0, result.output
    assert "7 communes, 9 pages" in result.output
    assert len(pypdf.PdfReader(str(pdf)).pages) == 9


def test_a_book_is_drawn_once_per_data_and_day(fresh_app, monkeypatch):
    """A second download is the same file, not seconds of drawing again; new data draws it again."""
    from mapapp.present import sheets
    from mapapp.store import db

    client = fresh_app.test_client()
    first = client.get("/sheets.pdf?year=2019&lang=en")
    assert first.status_code == 200
    drawn = []
    real = sheets.book_pdf
    monkeypatch.setattr(sheets, "book_pdf", lambda *a, **k: drawn.append(a) or real(*a, **k))
    again = client.get("/sheets.pdf?year=2019&lang=en")
    assert again.status_code == 200 and again.data == first.data and drawn == []
    assert client.get("/sheets.pdf?year=2019").status_code == 200 and len(drawn) == 1  # another view: drawn
    with fresh_app.app_context(), db.get_engine().begin() as conn:
        db.bump_generation(conn)  # what every import, undo and seed does
    assert client.get("/sheets.pdf?year=2019&lang=en").status_code == 200 and len(drawn) == 2
