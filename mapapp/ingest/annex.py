"""Read annex tables ("phụ lục") from .xlsx, legacy .xls and .csv files.

A district annex has title rows ("PHỤ LỤC ... NĂM 2021"), a header of one or two
rows (merged cells: "Hộ nghèo" over "Số hộ" | "Tỷ lệ (%)"), sometimes a row of
column numbers ("(1)", "(2)"...), an STT column, one row per commune and a total row
("Tổng cộng", "Toàn huyện"). This module turns any of those files into
:class:`Table` objects: header text per column (two header rows joined with " / "),
the data rows, the total rows and the title text. It knows nothing of indicators.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

from mapapp.ingest import encodings, workbooks

LIMITS = workbooks.Limits()  # rows and cells of a whole file; tests lower it
HEADER_SCAN_ROWS = 40


class TableError(ValueError):
    """The file cannot be read as a table (wrong format, damaged, empty)."""


@dataclass(frozen=True)
class Cell:
    """One cell: its position (1-based, as the spreadsheet shows it), value and text."""

    row: int
    col: int
    value: object  # str, int, float or None
    text: str

    @property
    def letter(self) -> str:
        """The column letter ("A", "B", ... "AA")."""
        return column_letter(self.col)

    @property
    def empty(self) -> bool:
        """True when the cell holds nothing but spaces."""
        return self.text.strip() == ""


@dataclass
class Sheet:
    """A sheet as a dense grid of cells plus its merged ranges ``(r1, c1, r2, c2)``."""

    name: str
    rows: list[list[Cell]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)


@dataclass
class Column:
    """A column of a table with its (joined) header text."""

    index: int  # 0-based position in the row lists
    letter: str
    header: str


@dataclass
class Table:
    """The table found on a sheet."""

    sheet: str
    title: str  # the text of the rows above the header
    header_rows: list[int]
    columns: list[Column]
    name_col: int | None
    stt_col: int | None
    rows: list[list[Cell]]  # data rows (one per unit, or long-format records)
    totals: list[list[Cell]]  # total rows ("Tổng cộng", "Toàn huyện")
    notes: list[str] = field(default_factory=list)
    body: list[list[Cell]] = field(default_factory=list)  # every row below the header


def column_letter(col: int) -> str:
    """Spreadsheet letter of a 1-based column number."""
    letters = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def fold(text: str) -> str:
    """Lower case, no diacritics (đ → d), punctuation as spaces: for recognising headers."""
    decomposed = unicodedata.normalize("NFD", str(text or "").lower()).replace("đ", "d")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9%]+", " ", plain).split())


def cell_text(value) -> str:
    """The text a spreadsheet shows for a value (whole floats without ".0")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return unicodedata.normalize("NFC", str(value))


# --- reading files --------------------------------------------------------------------------

def read_sheets(data: bytes, filename: str) -> tuple[list[Sheet], str]:
    """Read every sheet of an .xlsx, .xls or .csv file.

    Returns
    -------
    sheets, note
        The sheets, and a note on how the file was read (CSV: encoding and delimiter).

    Raises
    ------
    TableError
        When the file is of another type or cannot be read.
    """
    kind = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if kind in ("xlsx", "xlsm"):
        return _read_xlsx(data), ""
    if kind == "xls":
        return _read_xls(data), ""
    if kind in ("csv", "txt", "tsv"):
        return _read_csv(data)
    raise TableError(f"loại tệp không hỗ trợ / unsupported file type '.{kind}' (dùng / use .xlsx, .xls, .csv)")


def _read_xlsx(data: bytes) -> list[Sheet]:
    def make_row(number: int, values: tuple) -> list[Cell]:
        return [Cell(number, c, v, cell_text(v)) for c, v in enumerate(values, start=1)]

    try:
        read = workbooks.read_xlsx(data, LIMITS, make_row)
    except (workbooks.DamagedFile, workbooks.ReadLimit) as error:
        raise TableError(str(error)) from None
    return [Sheet(title, _dense(rows), merged) for title, rows, merged in read]


def _read_xls(data: bytes) -> list[Sheet]:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True)
    except Exception as error:  # xlrd raises many unrelated types for damaged files
        detail = " ".join(str(error).split())[:200] or type(error).__name__
        raise TableError(f"không đọc được tệp Excel cũ (.xls), tệp hỏng ({detail}); hãy mở bằng Excel và lưu lại / "
                         f"cannot read the .xls file: it is damaged ({detail}); open it in Excel and save it "
                         f"again") from None
    sheets, cells = [], 0
    for sh in book.sheets():
        cells += sh.nrows * sh.ncols
        if sh.nrows > LIMITS.rows or cells > LIMITS.cells:
            raise TableError(f"trang '{sh.name}' quá lớn ({sh.nrows:,} dòng × {sh.ncols:,} cột; giới hạn "
                             f"{LIMITS.rows:,} dòng, {LIMITS.cells:,} ô) / sheet '{sh.name}' is too large "
                             f"({sh.nrows:,} rows × {sh.ncols:,} columns; limits {LIMITS.rows:,} rows, "
                             f"{LIMITS.cells:,} cells)")
        rows = []
        for r in range(sh.nrows):
            rows.append([Cell(r + 1, c + 1, v, cell_text(v))
                         for c, v in enumerate(_xls_value(sh.cell(r, c), book) for c in range(sh.ncols))])
        merged = [(r1 + 1, c1 + 1, r2, c2) for r1, r2, c1, c2 in sh.merged_cells]
        sheets.append(Sheet(sh.name, _dense(rows), merged))
    return sheets


def _xls_value(cell, book):
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(cell.value, "#ERR")
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    return cell.value


def _read_csv(data: bytes) -> tuple[list[Sheet], str]:
    text, encoding = decode_text(data)
    sample = text[:8192]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, cells = [], 0
    try:
        for r, values in enumerate(reader, start=1):
            cells += len(values)
            if r > LIMITS.rows or cells > LIMITS.cells:
                raise TableError(f"tệp CSV quá lớn (giới hạn {LIMITS.rows:,} dòng, {LIMITS.cells:,} ô) / the CSV "
                                 f"file is too large (limits {LIMITS.rows:,} rows, {LIMITS.cells:,} cells)")
            rows.append([Cell(r, c, v, cell_text(v)) for c, v in enumerate(values, start=1)])
    except csv.Error as error:
        raise TableError(f"tệp CSV hỏng / malformed CSV: {error}") from None
    return [Sheet("", _dense(rows))], f"CSV: {encoding}, '{delimiter}'"


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 (with or without BOM), else the likeliest legacy encoding.

    Returns
    -------
    text, encoding
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return unicodedata.normalize("NFC", data[3:].decode("utf-8", errors="replace")), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return unicodedata.normalize("NFC", data.decode("utf-16", errors="replace")), "utf-16"
    utf16 = _utf16_without_bom(data)
    if utf16:
        return unicodedata.normalize("NFC", data.decode(utf16, errors="replace")), f"{utf16} (không có BOM / no BOM)"
    try:
        return unicodedata.normalize("NFC", data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    latin = data.decode("latin-1")
    best, _scores = encodings.detect(latin.split(), None)
    best = "cp1258" if best == "utf-8" else best
    return encodings.fix_text(latin, best), best


def _utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le" or "utf-16-be" when zero bytes fill one of the byte positions (text saved as UTF-16)."""
    sample = data[:4096]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _dense(rows: list[list[Cell]]) -> list[list[Cell]]:
    """Pad rows to one width and drop trailing empty rows and columns."""
    while rows and all(c.empty for c in rows[-1]):
        rows.pop()
    width = max((max((c.col for c in row if not c.empty), default=0) for row in rows), default=0)
    out = []
    for r, row in enumerate(rows, start=1):
        cells = row[:width]
        cells += [Cell(r, c, None, "") for c in range(len(cells) + 1, width + 1)]
        out.append(cells)
    return out


# --- finding the table ----------------------------------------------------------------------

_NAME_HEADERS = {
    "xa", "ten xa", "don vi", "ten don vi", "dia phuong", "dia ban", "commune", "commune name", "communes",
    "name", "unit", "ten", "xa thi tran", "ten xa thi tran", "xa phuong thi tran", "ten xa phuong thi tran",
    "don vi hanh chinh", "ten don vi hanh chinh", "ten dia phuong", "xa tt", "ten xa tt", "xa phuong",
    "ten xa phuong", "ten don vi hanh chinh cap xa", "commune town", "commune ward", "xa thi tran phuong",
}
_STT_HEADERS = {"stt", "tt", "so tt", "so thu tu", "no", "#", "s tt"}
_NUMBERING = re.compile(r"^\(?\s*([0-9]{1,2}|[a-z])\s*\)?\s*(=.*)?$", re.IGNORECASE)
_TOTAL = re.compile(r"^(tong cong|tong so|tong|cong|toan huyen|huyen|total|sum|grand total|ca huyen)\b")
_ROMAN = re.compile(r"^(i|ii|iii|iv|v|vi|vii|viii|ix|x|[a-d])\.?$", re.IGNORECASE)  # group headings


def is_name_header(text: str) -> bool:
    """True for a header naming the commune column ("Tên xã", "Xã, thị trấn", "Đơn vị", "Commune")."""
    folded = fold(text)
    return folded in _NAME_HEADERS or folded.startswith(("ten xa ", "ten don vi "))


def find_tables(sheets: list[Sheet], key_header=None) -> list[Table]:
    """The table of each sheet that has one (a header row naming the key column).

    ``key_header(text) -> bool`` recognises the key column's header; by default the
    commune column (:func:`is_name_header`).
    """
    tables = []
    for sheet in sheets:
        table = find_table(sheet, key_header or is_name_header)
        if table is not None:
            tables.append(table)
    return tables


def find_table(sheet: Sheet, key_header=is_name_header) -> Table | None:
    """Locate header rows, columns, data rows and total rows on one sheet."""
    grid = _filled(sheet)
    start = next((r for r in range(min(len(grid), HEADER_SCAN_ROWS))
                  if any(key_header(t) for t in grid[r])), None)
    if start is None:
        return None
    name_col = next(i for i, t in enumerate(grid[start]) if key_header(t))
    header_rows = [start] + _continuation_rows(sheet, grid, start, name_col)
    columns = [Column(i, column_letter(i + 1), _joined_header(grid, header_rows, i))
               for i in range(len(grid[start]))]
    stt_col = next((c.index for c in columns if fold(c.header) in _STT_HEADERS), None)
    title = " ".join(t for row in grid[:start] for t in row if t.strip())
    table = Table(sheet.name, title, [r + 1 for r in header_rows], columns, name_col, stt_col, [], [])
    table.body = sheet.rows[header_rows[-1] + 1:]
    _split_body(table.body, table)
    return table


def _filled(sheet: Sheet) -> list[list[str]]:
    """Cell texts with every merged range filled with its top-left text (for headers)."""
    grid = [[c.text.strip() for c in row] for row in sheet.rows]
    for r1, c1, r2, c2 in sheet.merged:
        if r1 - 1 >= len(grid) or c1 - 1 >= len(grid[0] if grid else []):
            continue
        text = grid[r1 - 1][c1 - 1]
        for r in range(r1 - 1, min(r2, len(grid))):
            for c in range(c1 - 1, min(c2, len(grid[r]))):
                grid[r][c] = text
    return grid


def _continuation_rows(sheet: Sheet, grid, start: int, name_col: int) -> list[int]:
    """Header rows below the first: sub-headers (same name cell via a merge) and column numbers."""
    extra = []
    r = start + 1
    while r < len(grid) and len(extra) < 3:
        row = grid[r]
        texts = [t for t in row if t]
        if texts and all(_NUMBERING.match(t) for t in texts) and not _is_data_like(sheet.rows[r]):
            extra.append(r)  # "(1) (2) (3)" numbering row
        elif texts and row[name_col] == grid[start][name_col] and _in_vertical_merge(sheet, r, name_col):
            extra.append(r)
        elif texts and not row[name_col] and not _has_numbers(sheet.rows[r]):
            extra.append(r)  # sub-header row with an empty (unmerged) name cell
        else:
            break
        r += 1
    return extra


def _in_vertical_merge(sheet: Sheet, r: int, c: int) -> bool:
    return any(r1 < r + 1 <= r2 and c1 - 1 <= c < c2 for r1, c1, r2, c2 in sheet.merged)


def _has_numbers(row: list[Cell]) -> bool:
    return any(isinstance(c.value, (int, float)) and not isinstance(c.value, bool) for c in row)


def _is_data_like(row: list[Cell]) -> bool:
    """A row of numbers with text in it is data; a row of small integers only is numbering."""
    texts = [c.text.strip() for c in row if not c.empty]
    return len(texts) >= 2 and not all(_NUMBERING.match(t) for t in texts)


def _joined_header(grid, header_rows: list[int], col: int) -> str:
    parts: list[str] = []
    for r in header_rows:
        text = grid[r][col] if col < len(grid[r]) else ""
        if text and not _NUMBERING.match(text) and text not in parts:
            parts.append(" ".join(text.split()))
    return " / ".join(parts)


def _split_body(rows: list[list[Cell]], table: Table) -> None:
    """Sort body rows into data rows, total rows and skipped rows (blank, groups, notes)."""
    for row in rows:
        kind = row_kind(row, table)
        if kind == "data":
            table.rows.append(row)
        elif kind == "total":
            table.totals.append(row)


def row_kind(row: list[Cell], table: Table) -> str:
    """"data", "total", "blank", "group" (I, II... sub-heading) or "note" (text without numbers)."""
    if all(c.empty for c in row):
        return "blank"
    name = row[table.name_col].text if table.name_col is not None and table.name_col < len(row) else ""
    stt = row[table.stt_col].text.strip() if table.stt_col is not None and table.stt_col < len(row) else ""
    label = fold(name) or fold(stt)
    if _TOTAL.match(label) or _TOTAL.match(fold(stt)):
        return "total"
    if stt and _ROMAN.match(stt):
        return "group"
    if not name.strip() and not _has_any_number_text(row, table):
        return "note"
    if name.strip() and not stt and not _has_any_number_text(row, table) and table.stt_col is not None:
        return "note"
    return "data"


def _has_any_number_text(row: list[Cell], table: Table) -> bool:
    skip = {table.name_col, table.stt_col}
    return any(not c.empty and i not in skip and re.search(r"\d", c.text) for i, c in enumerate(row))
