"""Indicator import end to end on real SQLite stores: annexes, validation, dry run, undo."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import client_as, needs_shared
from import_builders import (
    SOURCE,
    data_row_of,
    import_count,
    long_csv,
    nfd,
    poverty_annex_xls,
    poverty_annex_xlsx,
    poverty_rows,
    units_of,
    value_rows,
)

from mapapp.geo.units import Unit
from mapapp.ingest import indicator_import, transaction, undo, value_writes
from mapapp.ingest.numbers import NotANumber, parse_number
from mapapp.ingest.unit_match import UnitMatcher
from mapapp.store import db

pytestmark = needs_shared


def run(app, data, filename="phu-luc.xlsx", **kw):
    """Parse + dry run with the app's store."""
    kw.setdefault("source", SOURCE)
    with app.app_context():
        options = transaction.options_from_config(app.config, who="test", **kw)
        parsed, changes = indicator_import.read_and_plan(db.get_engine(), data, filename, options)
    return parsed, changes, options


def apply(app, data, filename="phu-luc.xlsx", **kw):
    parsed, changes, options = run(app, data, filename, **kw)
    assert not parsed.errors, "\n".join(map(str, parsed.errors))
    with app.app_context():
        return indicator_import.apply_indicator_import(db.get_engine(), parsed, options)


def stored(app, code, year, indicator, valid_from=""):
    with app.app_context():
        with db.get_engine().connect() as conn:
            v, u, s = db.indicator_values.c, db.units.c, db.sources.c
            row = conn.execute(
                sa.select(v.value, v.numerator, v.denominator, v.illustrative, v.origin, s.title)
                .join(db.units, u.id == v.unit_id).join(db.sources, s.id == v.source_id)
                .where(u.code == code, u.valid_from == valid_from, v.year == year, v.indicator_id == indicator)
            ).first()
    return row


# --- numbers and names ----------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("1.234", 1234), ("12,5", 12.5), ("12,5%", 12.5), ("1.234.567", 1234567), ("1.234,5", 1234.5),
    ("1,234.5", 1234.5), ("0.125", 0.125), ("12.5", 12.5), ("1 234", 1234), ("", None), ("-", None),
    (" 7 ", 7),
])
def test_vietnamese_numbers(text, expected):
    assert parse_number(text, text) == expected


@pytest.mark.parametrize("text", ["12,5a", "abc", "1.23.4", "1,2,3", "--5", "12..5"])
def test_non_numbers_are_refused(text):
    with pytest.raises(NotANumber):
        parse_number(text, text)


def test_matcher_handles_spellings_and_old_tone_placement():
    units = [(1, Unit("10001", "", "", "Xã Thuỵ Hoà", "Xã")), (2, Unit("10002", "", "", "Thị trấn Khe Sanh", "Thị trấn")),
             (3, Unit("10003", "", "", "Xã Tân Long", "Xã")), (4, Unit("10004", "", "", "Xã Tần Long", "Xã"))]
    m = UnitMatcher(units, "2021-12-31")
    for text in ("Thụy Hòa", nfd("xã THUỴ HOÀ"), "Thuy Hoa", "thuỵ hoà"):
        assert m.match(text).unit_id == 1, text
    for text in ("TT Khe Sanh", "Thị trấn Khe Sanh", "khe sanh", nfd("Thị Trấn KHE SANH"), "10002", 10002.0):
        assert m.match(text).unit_id == 2, text
    ambiguous = m.match("Tan Long")
    assert not ambiguous.ok and "Tân Long" in ambiguous.message and "Tần Long" in ambiguous.message


def test_unit_validity_follows_the_year(fresh_app):
    with fresh_app.app_context():
        from mapapp.geo.units import load_units
        with db.get_engine().connect() as conn:
            registry = load_units(conn)
    shared = fresh_app.config["SHARED_DIR"]
    m2019, m2021 = UnitMatcher(registry, "2019-12-31", shared), UnitMatcher(registry, "2021-12-31", shared)
    assert m2019.match("A Túc").ok and not m2019.match("Lìa").ok
    assert m2021.match("Lìa").ok
    gone = m2021.match("A Túc")
    assert not gone.ok and "2019-12-31" in gone.message
    other = m2021.match("Hướng Hiệp")
    assert not other.ok and "Đa Krông" in other.message
    typo = m2021.match("Hướng Lôc Xyz")
    assert not typo.ok and "Hướng Lộc" in typo.message


# --- the annex end to end -------------------------------------------------------------------

def test_annex_with_merged_headers_and_total_row(fresh_app):
    units = units_of(fresh_app, 2021)
    rows = poverty_rows(units)
    data = poverty_annex_xlsx(rows, year=2021)
    parsed, changes, _ = run(fresh_app, data)
    assert not parsed.errors, "\n".join(map(str, parsed.errors))
    table = parsed.tables[0]
    assert table["year"] == 2021 and table["totals"] == 1 and table["rows"] == len(units)
    roles = {c["header"]: c["role"] for c in table["columns"]}
    assert roles["Hộ nghèo / Số hộ"] == "poverty_rate:numerator"
    assert roles["Hộ cận nghèo / Tỷ lệ (%)"] == "near_poverty_rate:value"
    assert roles["Tổng số hộ"] == "households:value"
    # 21 units x (poverty, near poverty, households)
    assert len(parsed.entries) == 3 * len(units)
    counts = value_writes.summarise(changes)
    assert counts["changed"] == 2 * len(units)  # the illustrative rates
    import_id = apply(fresh_app, data)
    lia = next(r for r in rows if r[0] == "Xã Lìa")
    row = stored(fresh_app, "19489", 2021, "poverty_rate", "2020-01-01")
    assert row.value == pytest.approx(lia[2] / lia[1] * 100, abs=1e-4)
    assert (row.numerator, row.denominator) == (lia[2], lia[1])
    assert row.illustrative is False or row.illustrative == 0
    assert row.origin == f"import:{import_id}" and row.title == SOURCE
    assert stored(fresh_app, "19489", 2021, "households", "2020-01-01").value == lia[1]


def test_api_stops_calling_imported_values_illustrative(fresh_app):
    units = units_of(fresh_app, 2021)
    client = fresh_app.test_client()
    before = client.get("/api/values?indicator=poverty_rate&year=2021").get_json()
    assert before["illustrative"] and all(r["illustrative"] for r in before["records"])
    apply(fresh_app, poverty_annex_xlsx(poverty_rows(units), year=2021))
    after = client.get("/api/values?indicator=poverty_rate&year=2021").get_json()
    assert len(after["records"]) == len(units) and after["illustrative"] is False
    assert not any(r["illustrative"] for r in after["records"])
    assert {r["source"] for r in after["records"]} == {SOURCE}
    still = client.get("/api/values?indicator=poverty_rate&year=2020").get_json()
    assert still["illustrative"] is True


def test_names_in_nfd_old_tones_codes_and_without_diacritics(fresh_app):
    units = units_of(fresh_app, 2021)
    rows = poverty_rows(units)
    spellings = {
        "Thị trấn Khe Sanh": "TT KHE SANH", "Xã Hướng Lộc": "Huong Loc", "Xã Ba Tầng": nfd("xã ba tầng"),
        "Xã Lìa": "19489", "Xã Húc": nfd("Húc"), "Xã A Dơi": "a dơi",
    }
    for r in rows:
        r[0] = spellings.get(r[0], nfd(r[0]))
    parsed, _changes, _ = run(fresh_app, poverty_annex_xlsx(rows, year=2021))
    assert not parsed.errors, "\n".join(map(str, parsed.errors))
    assert len({e.unit_id for e in parsed.entries}) == len(units)


def test_a_tuc_in_2019_lia_in_2021(fresh_app):
    rows2019 = poverty_rows(units_of(fresh_app, 2019))
    parsed, _c, _ = run(fresh_app, poverty_annex_xlsx(rows2019, year=2019))
    assert not parsed.errors and any(e.unit.name == "Xã A Túc" for e in parsed.entries)
    parsed, _c, _ = run(fresh_app, poverty_annex_xlsx(rows2019, year=2021))
    assert any("A Túc" in str(p) and "2019-12-31" in str(p) for p in parsed.errors)


def test_legacy_xls(fresh_app):
    rows = poverty_rows(units_of(fresh_app, 2021))
    parsed, changes, _ = run(fresh_app, poverty_annex_xls(rows, year=2021), "phu-luc.xls")
    assert not parsed.errors, "\n".join(map(str, parsed.errors))
    assert parsed.tables[0]["columns"][3]["header"] == "Hộ nghèo / Số hộ"
    assert len(parsed.entries) == 3 * len(rows)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1258"])
def test_long_csv_in_each_encoding(fresh_app, encoding):
    records = [("Xã Hướng Lộc", 2021, "poverty_rate", "", 120, 600), ("Lìa", 2021, "Tỷ lệ hộ cận nghèo", "12,5", "", ""),
               ("Thị trấn Khe Sanh", 2020, "households", "3.456", "", "")]
    data = long_csv(records, encoding=encoding, delimiter=";")
    parsed, changes, _ = run(fresh_app, data, "long.csv")
    assert not parsed.errors, "\n".join(map(str, parsed.errors))
    got = {(e.unit.name, e.year, e.indicator): (e.value, e.numerator, e.denominator) for e in parsed.entries}
    assert got[("Xã Hướng Lộc", 2021, "poverty_rate")] == (20.0, 120, 600)
    assert got[("Xã Lìa", 2021, "near_poverty_rate")] == (12.5, None, None)
    assert got[("Thị trấn Khe Sanh", 2020, "households")] == (3456, None, None)


# --- planted errors: each reported with its place, nothing written ---------------------------

def _planted(units):
    """(description, rows-mutator, expected row offset or None, expected column, expected text part)."""
    def cell(i, k, value):
        def mutate(rows):
            rows[i][k] = value
        return mutate

    def dup(rows):
        rows[5][0] = rows[2][0]

    def unknown(rows):
        rows[3][0] = "Hướng Lôcc"

    def elsewhere(rows):
        rows[4][0] = "Hướng Hiệp"

    return [
        ("not a number", cell(2, 2, "12,5a"), 2, "D", "không phải là số / not a number"),
        ("negative count", cell(3, 1, -5), 3, "C", "số âm"),
        ("poor > households", cell(4, 2, 9999), 4, "D", "lớn hơn tổng"),
        ("commune twice", dup, 5, "B", "có hai lần"),
        ("unknown commune", unknown, 3, "B", "did you mean: Xã Hướng Lộc"),
        ("other district", elsewhere, 4, "B", "Đa Krông"),
        ("count not whole", cell(6, 1, "512,5"), 6, "C", "số nguyên"),
    ]


@pytest.mark.parametrize("case", range(7))
def test_planted_errors_are_reported_and_nothing_is_written(fresh_app, case):
    units = units_of(fresh_app, 2021)
    description, mutate, offset, column, message = _planted(units)[case]
    rows = poverty_rows(units)
    mutate(rows)
    data = poverty_annex_xlsx(rows, year=2021)
    before = value_rows(fresh_app)
    parsed, _changes, options = run(fresh_app, data)
    hits = [p for p in parsed.errors if message in p.message]
    assert hits, f"{description}: {[str(p) for p in parsed.problems]}"
    problem = hits[0]
    assert problem.file == "phu-luc.xlsx" and problem.sheet == "PL01"
    assert problem.row == data_row_of(offset) and problem.column == column and problem.text is not None
    with fresh_app.app_context(), pytest.raises(transaction.ImportRefused):
        indicator_import.apply_indicator_import(db.get_engine(), parsed, options)
    assert value_rows(fresh_app) == before and import_count(fresh_app) == 0


def test_rate_above_100_and_rate_disagreeing_with_counts(fresh_app):
    rows = poverty_rows(units_of(fresh_app, 2021))
    first = data_row_of(0)
    parsed, _c, _ = run(fresh_app, poverty_annex_xlsx(rows, year=2021, rate_override=(first, 5, "112,5")))
    assert any(p.row == first and p.column == "E" and "100" in p.message for p in parsed.errors)
    parsed, _c, _ = run(fresh_app, poverty_annex_xlsx(rows, year=2021, rate_override=(first + 1, 7, "55,0")))
    assert any(p.row == first + 1 and p.column == "G" and p.text == "55,0" and "disagrees" in p.message
               for p in parsed.errors)


def test_total_row_is_checked_against_the_rows(fresh_app):
    rows = poverty_rows(units_of(fresh_app, 2021))
    sums = [sum(r[k] for r in rows) for k in (1, 2, 3)]
    data = poverty_annex_xlsx(rows, year=2021, total=[sums[0], sums[1] + 10, None, sums[2], None])
    parsed, _c, _ = run(fresh_app, data)
    errors = [p for p in parsed.errors if "tổng các dòng" in p.message]
    assert len(errors) == 1 and errors[0].column == "D" and errors[0].text == str(sums[1] + 10)
    assert errors[0].row == data_row_of(len(rows))


def test_year_outside_the_range_and_missing_commune(fresh_app):
    rows = poverty_rows(units_of(fresh_app, 2021))
    parsed, _c, _ = run(fresh_app, poverty_annex_xlsx(rows, year=2031))
    assert any("2031" in p.message and "range" in p.message for p in parsed.errors)
    short = rows[:-1]
    parsed, _c, _ = run(fresh_app, poverty_annex_xlsx(short, year=2021))
    assert not parsed.errors
    assert any(p.level == "warning" and rows[-1][0] in p.message for p in parsed.problems)


def test_no_year_anywhere_is_an_error(fresh_app):
    rows = poverty_rows(units_of(fresh_app, 2021))
    parsed, _c, _ = run(fresh_app, poverty_annex_xlsx(rows, title=False))
    assert any("--year" in p.message for p in parsed.errors)
    parsed, _c, _ = run(fresh_app, poverty_annex_xlsx(rows, title=False), year=2021)
    assert not parsed.errors


def test_source_document_is_required(fresh_app):
    rows = poverty_rows(units_of(fresh_app, 2021))
    parsed, _c, _ = run(fresh_app, poverty_annex_xlsx(rows, year=2021), source="")
    assert any("--source" in p.message for p in parsed.errors)


# --- dry run and undo -----------------------------------------------------------------------

def test_dry_run_shows_new_changed_unchanged_and_writes_nothing(fresh_app):
    units = units_of(fresh_app, 2021)
    rows = poverty_rows(units)
    before = value_rows(fresh_app)
    parsed, changes, _ = run(fresh_app, poverty_annex_xlsx(rows, year=2021))
    assert value_rows(fresh_app) == before
    changed = [c for c in changes if c.kind == "changed"]
    assert changed and all(c.old["illustrative"] for c in changed)
    apply(fresh_app, poverty_annex_xlsx(rows, year=2021))
    rows[0][2] += 1
    _p, changes, _ = run(fresh_app, poverty_annex_xlsx(rows, year=2021))
    counts = value_writes.summarise(changes)
    assert counts == {"new": 0, "changed": 1, "unchanged": 3 * len(units) - 1}
    (change,) = [c for c in changes if c.kind == "changed"]
    assert change.entry.unit.name == rows[0][0] and change.old["numerator"] == rows[0][2] - 1


def test_cached_answers_follow_an_import_and_its_undo(fresh_app):
    """Values and rankings are cached per process; an import and an undo must show at once."""
    units = units_of(fresh_app, 2021)
    client = fresh_app.test_client()
    paths = ("/api/values?indicator=poverty_rate&year=2021", "/ranking.json?indicator=poverty_rate&year=2021")
    before = [client.get(p).get_json() for p in paths]
    assert [client.get(p).get_json() for p in paths] == before  # served again (from the cache)
    import_id = apply(fresh_app, poverty_annex_xlsx(poverty_rows(units), year=2021))
    values, table = [client.get(p).get_json() for p in paths]
    assert values["illustrative"] is False and table["illustrative"] is False
    with fresh_app.app_context():
        undo.undo_import(db.get_engine(), import_id, "test")
    assert [client.get(p).get_json() for p in paths] == before


def test_undo_restores_the_previous_values_exactly(fresh_app):
    units = units_of(fresh_app, 2021)
    original = value_rows(fresh_app)
    first = apply(fresh_app, poverty_annex_xlsx(poverty_rows(units), year=2021))
    after_first = value_rows(fresh_app)
    second = apply(fresh_app, poverty_annex_xlsx(poverty_rows(units, seed=5), year=2021))
    with fresh_app.app_context():
        with pytest.raises(value_writes.UndoRefused, match="later imports"):
            undo.undo_import(db.get_engine(), first)
        undo.undo_import(db.get_engine(), second, "test")
        assert value_rows(fresh_app) == after_first
        undo.undo_import(db.get_engine(), first, "test")
        with pytest.raises(value_writes.UndoRefused):
            undo.undo_import(db.get_engine(), first)
    assert value_rows(fresh_app) == original
    with fresh_app.app_context():
        with db.get_engine().connect() as conn:
            history = transaction.list_imports(conn)
    assert [h["status"] for h in history] == ["undone", "undone"]
    assert history[0]["filename"] == "phu-luc.xlsx" and len(history[0]["checksum"]) == 64
    assert history[0]["source_document"] == SOURCE and history[0]["created_by"] == "test"


def test_template_round_trip(fresh_app):
    import io

    import openpyxl

    client = client_as(fresh_app, "editor")
    response = client.get("/import/template.xlsx?group=poverty&year=2019")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    ws = book.active
    names = [ws.cell(row=r, column=3).value for r in range(6, 6 + 22)]
    assert "Xã A Túc" in names and "Xã Lìa" not in names
    for r in range(6, 28):
        ws.cell(row=r, column=4, value=500 + r)
        ws.cell(row=r, column=5, value=50 + r)
    out = io.BytesIO()
    book.save(out)
    parsed, changes, _ = run(fresh_app, out.getvalue(), "mau.xlsx")
    assert not parsed.errors, "\n".join(map(str, parsed.errors))
    assert parsed.tables[0]["year"] == 2019 and len(parsed.entries) == 44


@pytest.mark.parametrize("group,expected", [
    ("culture", {"households:value", "cultural_families_rate:numerator", "cultural_families_rate:value",
                 "cultural_villages_rate:denominator", "cultural_villages_rate:numerator",
                 "cultural_villages_rate:value"}),
    ("population", {"population:value", "area:value", "households:value", "ethnic_minority_share:value"}),
])
def test_every_template_column_is_recognised(fresh_app, group, expected):
    import io

    import openpyxl

    data = client_as(fresh_app, "editor").get(f"/import/template.xlsx?group={group}&year=2022").data
    book = openpyxl.load_workbook(io.BytesIO(data))
    ws = book.active
    for r in range(6, 6 + 21):
        for c in range(4, 4 + len(expected)):
            header = f"{ws.cell(row=4, column=c).value} {ws.cell(row=5, column=c).value or ''}"
            ws.cell(row=r, column=c, value=("12,5" if "Tỷ lệ" in header else 10 + r + c if "số" in header.lower()
                                            or "Dân" in header else 40 + r))
    out = io.BytesIO()
    book.save(out)
    parsed, _changes, _ = run(fresh_app, out.getvalue(), "mau.xlsx")
    roles = {c["role"] for c in parsed.tables[0]["columns"]} - {"stt", "code", "name"}
    assert roles == expected


def test_a_table_whose_commune_rows_have_no_figures_is_refused_with_a_message(fresh_app):
    import io

    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["STT", "Tên xã", "Tổng số hộ", "Hộ nghèo"])
    book.active.append([0, "XA LIA"])  # found by hypothesis: no entry and, before, no error
    out = io.BytesIO()
    book.save(out)
    parsed, _changes, _options = run(fresh_app, out.getvalue(), "rong.xlsx", year=2021)
    assert not parsed.entries
    assert any("nothing to import" in str(p) for p in parsed.errors)
