"""Blank annex templates (xlsx) for the data officer: one row per commune of a year, the columns of a group of indicators."""
from __future__ import annotations

from mapapp.geo.units import Unit, valid_on, year_end
from mapapp.ingest import annex

TEMPLATE_GROUPS = {
    "poverty": {
        "title": "KẾT QUẢ RÀ SOÁT HỘ NGHÈO, HỘ CẬN NGHÈO",
        "columns": [("Tổng số hộ", None), ("Hộ nghèo", "Số hộ"), ("Hộ nghèo", "Tỷ lệ (%)"),
                    ("Hộ cận nghèo", "Số hộ"), ("Hộ cận nghèo", "Tỷ lệ (%)")],
    },
    "culture": {
        "title": "KẾT QUẢ BÌNH XÉT GIA ĐÌNH VĂN HÓA, THÔN BẢN VĂN HÓA",
        "columns": [("Tổng số hộ", None), ("Gia đình văn hóa", "Số gia đình"), ("Gia đình văn hóa", "Tỷ lệ (%)"),
                    ("Tổng số thôn", None), ("Thôn, bản văn hóa", "Số thôn"), ("Thôn, bản văn hóa", "Tỷ lệ (%)")],
    },
    "population": {
        "title": "DÂN SỐ, DIỆN TÍCH, SỐ HỘ",
        "columns": [("Dân số (người)", None), ("Diện tích (km²)", None), ("Tổng số hộ", None),
                    ("Tỷ lệ dân tộc thiểu số (%)", None)],
    },
}


def indicator_template(registry: list[tuple[int, Unit]], group: str, year: int) -> bytes:
    """An .xlsx annex to fill in: title, merged two-row header, STT, code, one row per unit valid
    in ``year``, and a total row (sums).

    Raises
    ------
    KeyError
        For an unknown group (see :data:`TEMPLATE_GROUPS`).
    """
    import io

    import openpyxl
    from openpyxl.styles import Alignment, Font

    spec = TEMPLATE_GROUPS[group]
    units = valid_on([u for _, u in registry], year_end(year))
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = f"{group}-{year}"
    ws["A1"] = f"PHỤ LỤC: {spec['title']} NĂM {year}"
    ws["A2"] = "(Kèm theo văn bản số ... ngày ... / attached to document no. ...)"
    ws["A1"].font = Font(bold=True)
    _template_header(ws, spec["columns"])
    for i, unit in enumerate(units, start=1):
        ws.append([i, unit.code, unit.name] + [None] * len(spec["columns"]))
    last = 5 + len(units)
    total = ["", "", "Tổng cộng"]
    for j, (top, sub) in enumerate(spec["columns"]):
        letter = annex.column_letter(4 + j)
        total.append(None if "Tỷ lệ" in f"{top} {sub}" else f"=SUM({letter}6:{letter}{last})")
    ws.append(total)
    for row in ws.iter_rows(min_row=4, max_row=5):
        for cell in row:
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.font = Font(bold=True)
    ws.column_dimensions["C"].width = 22
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _template_header(ws, columns) -> None:
    ws.append([])
    ws.append(["STT", "Mã xã", "Tên xã, thị trấn"] + [top for top, _ in columns])
    ws.append([None, None, None] + [sub for _, sub in columns])
    for col in (1, 2, 3):
        ws.merge_cells(start_row=4, start_column=col, end_row=5, end_column=col)
    j = 0
    while j < len(columns):
        top, sub = columns[j]
        span = 1
        while j + span < len(columns) and columns[j + span][0] == top and sub:
            span += 1
        if sub is None:
            ws.merge_cells(start_row=4, start_column=4 + j, end_row=5, end_column=4 + j)
        elif span > 1:
            ws.merge_cells(start_row=4, start_column=4 + j, end_row=4, end_column=4 + j + span - 1)
        j += span
