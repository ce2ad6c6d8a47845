"""Build import inputs inside the tests: annexes (.xlsx/.xls/.csv) like a district office's."""
from __future__ import annotations

import io
import unicodedata

import sqlalchemy as sa

from mapapp.geo.units import load_units, year_end
from mapapp.store import db

SOURCE = "QĐ 125/QĐ-UBND ngày 10/01/2022"


def units_of(app, year: int):
    """``(id, Unit)`` of the units valid at the end of ``year``, in registry order."""
    with app.app_context():
        with db.get_engine().connect() as conn:
            return [(uid, u) for uid, u in load_units(conn) if u.valid_on(year_end(year))]


def poverty_rows(units, seed: int = 0):
    """One row per unit: (name, households, poor, near-poor)."""
    rows = []
    for i, (_uid, unit) in enumerate(units, start=1):
        households = 400 + 37 * i + seed
        rows.append([unit.name, households, 40 + 3 * i + seed, 25 + 2 * i])
    return rows


def poverty_annex_xlsx(rows, year=2021, total="auto", rate_override=None, title=True) -> bytes:
    """A poverty annex: title rows, merged two-row header, STT, rates as text "12,5", total row.

    ``rows`` items are ``[name, households, poor, near_poor]`` (any cell may be replaced by
    text); ``total`` is "auto" (correct sums), None (no total row) or a list of values.
    """
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "PL01"
    if title:
        ws.append([f"PHỤ LỤC 1: KẾT QUẢ RÀ SOÁT HỘ NGHÈO, HỘ CẬN NGHÈO NĂM {year}"])
        ws.merge_cells("A1:G1")
        ws.append([f"(Kèm theo {SOURCE})"])
        ws.append([])
    ws.append(["STT", "Tên xã, thị trấn", "Tổng số hộ", "Hộ nghèo", None, "Hộ cận nghèo", None])
    ws.append([None, None, None, "Số hộ", "Tỷ lệ (%)", "Số hộ", "Tỷ lệ (%)"])
    top = ws.max_row - 1
    for col in "ABC":
        ws.merge_cells(f"{col}{top}:{col}{top + 1}")
    ws.merge_cells(f"D{top}:E{top}")
    ws.merge_cells(f"F{top}:G{top}")
    ws.append(["(1)", "(2)", "(3)", "(4)", "(5)=(4)/(3)", "(6)", "(7)=(6)/(3)"])
    for i, (name, households, poor, near) in enumerate(rows, start=1):
        ws.append([i, name, households, poor, _rate_text(poor, households), near, _rate_text(near, households)])
    if rate_override:
        row, col, value = rate_override
        ws.cell(row=row, column=col, value=value)
    if total == "auto":
        sums = [sum(r[k] for r in rows if isinstance(r[k], (int, float))) for k in (1, 2, 3)]
        ws.append([None, "Tổng cộng", sums[0], sums[1], _rate_text(sums[1], sums[0]), sums[2],
                   _rate_text(sums[2], sums[0])])
    elif total is not None:
        ws.append([None, "Tổng cộng"] + list(total))
    ws.append([])
    ws.append([None, "Người lập biểu", None, None, "Chủ tịch UBND huyện"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rate_text(part, whole):
    if not isinstance(part, (int, float)) or not isinstance(whole, (int, float)) or not whole:
        return None
    return f"{part / whole * 100:.2f}".replace(".", ",")


def data_row_of(app_units_index: int, title=True) -> int:
    """Spreadsheet row number of the i-th (0-based) commune row of :func:`poverty_annex_xlsx`."""
    return (7 if title else 4) + app_units_index


def poverty_annex_xls(rows, year=2021) -> bytes:
    """The same annex as a legacy .xls (BIFF8, written with xlwt), merged header cells included."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("PL01")
    ws.write_merge(0, 0, 0, 6, f"PHỤ LỤC: HỘ NGHÈO, HỘ CẬN NGHÈO NĂM {year}")
    ws.write_merge(2, 3, 0, 0, "STT")
    ws.write_merge(2, 3, 1, 1, "Tên xã")
    ws.write_merge(2, 3, 2, 2, "Tổng số hộ")
    ws.write_merge(2, 2, 3, 4, "Hộ nghèo")
    ws.write_merge(2, 2, 5, 6, "Hộ cận nghèo")
    for col, text in zip(range(3, 7), ("Số hộ", "Tỷ lệ (%)", "Số hộ", "Tỷ lệ (%)")):
        ws.write(3, col, text)
    r = 4
    for i, (name, households, poor, near) in enumerate(rows, start=1):
        values = [i, name, households, poor, round(poor / households * 100, 2), near,
                  round(near / households * 100, 2)]
        for col, value in enumerate(values):
            ws.write(r, col, value)
        r += 1
    sums = [sum(row[k] for row in rows) for k in (1, 2, 3)]
    for col, value in enumerate(["", "Toàn huyện", sums[0], sums[1], None, sums[2], None]):
        if value is not None:
            ws.write(r, col, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def long_csv(records, encoding="utf-8", delimiter=",") -> bytes:
    """A long-format CSV: xã, năm, chỉ tiêu, giá trị, tử số, mẫu số."""
    lines = [delimiter.join(["Xã", "Năm", "Chỉ tiêu", "Giá trị", "Tử số", "Mẫu số"])]
    for rec in records:
        lines.append(delimiter.join("" if v is None else str(v) for v in rec))
    text = "\r\n".join(lines) + "\r\n"
    if encoding == "cp1258":
        return encode_cp1258(text)
    return text.encode(encoding)


def encode_cp1258(text: str) -> bytes:
    """Encode Vietnamese text in Windows-1258 (base letter + combining tone where needed)."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", parts[0] + "".join(c for c in parts[1:] if c in "\u0302\u0306\u031b"))
        tones = "".join(c for c in parts[1:] if c not in "\u0302\u0306\u031b")
        out += base.encode("cp1258") + tones.encode("cp1258")
    return bytes(out)


def value_rows(app) -> list[tuple]:
    """Every stored indicator value, complete, in a stable order (to compare before/after)."""
    with app.app_context():
        with db.get_engine().connect() as conn:
            v = db.indicator_values.c
            return [tuple(r) for r in conn.execute(sa.select(db.indicator_values).order_by(v.id))]


def import_count(app) -> int:
    """Number of rows in the import history."""
    with app.app_context():
        with db.get_engine().connect() as conn:
            if not sa.inspect(conn).has_table("imports"):
                return 0
            return conn.execute(sa.select(sa.func.count()).select_from(db.imports)).scalar()


def nfd(text: str) -> str:
    """The decomposed (NFD) form of a text."""
    return unicodedata.normalize("NFD", text)
