"""Reading an .xlsx workbook with bounded memory: archive limits first, then a streaming read.

An .xlsx is a zip of XML parts. Before anything is parsed, every member's declared
uncompressed size and compression ratio are checked (a zip never yields more than a
member declares: :mod:`zipfile` stops there and fails the CRC). The sheets are then read
row by row (openpyxl ``read_only``), counting rows and cells and stopping at the limit,
and the merged ranges are taken from each sheet's XML by a streaming parse. Any failure of
the readers (damaged zip, malformed XML, odd content) becomes a :class:`ReadLimit` or
:class:`DamagedFile` with a message for the user, never an unhandled exception.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Callable, Iterator

MAX_MEMBER_BYTES = 100 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_RATIO = 200  # XML of a real sheet compresses about 10:1; a zip bomb 1000:1 and more
RATIO_FLOOR_BYTES = 1024 * 1024  # tiny parts (styles, empty sheets) may compress better
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")


class DamagedFile(ValueError):
    """The file cannot be read (damaged zip, malformed XML); the message says what and what to do."""


class ReadLimit(ValueError):
    """The file is beyond a limit (size, ratio, rows, cells); the message names the limit."""


@dataclass(frozen=True)
class Limits:
    """How much one upload may hold."""

    rows: int = 200_000
    cells: int = 2_000_000
    member_bytes: int = MAX_MEMBER_BYTES
    total_bytes: int = MAX_TOTAL_BYTES
    ratio: int = MAX_RATIO


def check_archive(archive: zipfile.ZipFile, limits: Limits = Limits()) -> None:
    """Refuse an archive whose members would inflate beyond the limits.

    Raises
    ------
    ReadLimit
        Naming the member and its declared size or ratio.
    """
    total = 0
    for info in archive.infolist():
        size = info.file_size
        total += size
        if size > limits.member_bytes:
            raise ReadLimit(f"phần '{info.filename}' giải nén ra {_mb(size)} MB, quá giới hạn {_mb(limits.member_bytes)}"
                            f" MB / member '{info.filename}' inflates to {_mb(size)} MB, above the "
                            f"{_mb(limits.member_bytes)} MB limit")
        if size > RATIO_FLOOR_BYTES and size > limits.ratio * max(info.compress_size, 1):
            raise ReadLimit(f"phần '{info.filename}' nén {size // max(info.compress_size, 1)}:1, bất thường (tệp có thể "
                            f"là 'bom nén') / member '{info.filename}' is compressed "
                            f"{size // max(info.compress_size, 1)}:1 (above {limits.ratio}:1): not a normal file")
    if total > limits.total_bytes:
        raise ReadLimit(f"tệp giải nén ra {_mb(total)} MB, quá giới hạn {_mb(limits.total_bytes)} MB / the archive "
                        f"inflates to {_mb(total)} MB, above the {_mb(limits.total_bytes)} MB limit")


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.0f}"


def read_xlsx(data: bytes, limits: Limits, make_row: Callable[[int, tuple], list]) -> list[tuple[str, list, list]]:
    """Every sheet of an .xlsx as ``(title, rows, merged ranges)``, within ``limits``.

    Parameters
    ----------
    data : bytes
        The file.
    limits : Limits
        Rows and cells of the whole workbook, sizes of the archive's members.
    make_row : callable
        ``make_row(row_number, values) -> list`` builds one row (1-based row number).

    Returns
    -------
    list of (str, list, list)
        Title, rows and merged ranges ``(r1, c1, r2, c2)`` of each worksheet.

    Raises
    ------
    DamagedFile, ReadLimit
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise DamagedFile(_damaged(error)) from None
    check_archive(archive, limits)
    try:
        count_sheet_tags(archive, limits)
        return _read_sheets(archive, limits, make_row)
    except (ReadLimit, DamagedFile):
        raise
    except MemoryError:
        raise ReadLimit("tệp quá lớn để đọc / the file is too large to read") from None
    except Exception as error:  # openpyxl, lxml and zipfile report damaged parts with many exception types
        raise DamagedFile(_damaged(error)) from None


def _damaged(error: Exception) -> str:
    detail = " ".join(str(error).split())[:200] or type(error).__name__
    return (f"không đọc được tệp Excel (.xlsx), tệp hỏng hoặc không phải .xlsx ({detail}); hãy mở bằng Excel và "
            f"lưu lại dạng .xlsx / cannot read the .xlsx file: it is damaged or not an .xlsx ({detail}); open it in "
            f"Excel and save it again as .xlsx")


def _read_sheets(archive: zipfile.ZipFile, limits: Limits, make_row) -> list[tuple[str, list, list]]:
    import openpyxl

    book = openpyxl.load_workbook(archive.fp, read_only=True, data_only=True)
    rows_seen, cells_seen, sheets = 0, 0, []
    try:
        for ws in book.worksheets:
            rows = []
            for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
                rows_seen += 1
                cells_seen += len(values)
                if rows_seen > limits.rows:
                    raise _too_many_rows(ws.title, rows_seen, limits)
                if cells_seen > limits.cells:
                    raise ReadLimit(f"tệp có hơn {limits.cells:,} ô, quá giới hạn / the workbook has more than "
                                    f"{limits.cells:,} cells, above the limit (sheet '{ws.title}', row {number})")
                rows.append(make_row(number, values))
            sheets.append((ws.title, rows, list(merged_ranges(archive, ws._worksheet_path))))
    finally:
        book.close()
    return sheets


def count_sheet_tags(archive: zipfile.ZipFile, limits: Limits) -> tuple[int, int]:
    """Count the ``<row>`` and ``<c>`` tags of every sheet part, stopping at the limits.

    A scan of the inflated bytes in 1 MB chunks (a tag never spans two: each chunk is cut
    at its last ``<``), so a sheet of a million rows is refused in a second or two,
    before openpyxl builds a single cell.

    Returns
    -------
    rows, cells

    Raises
    ------
    ReadLimit
    """
    rows = cells = 0
    for name in archive.namelist():
        if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
            continue
        with archive.open(name) as stream:
            carry = b""
            while True:
                chunk = stream.read(1 << 20)
                buffer = carry + chunk
                cut = buffer.rfind(b"<") if chunk else len(buffer)
                cut = len(buffer) if cut <= 0 else cut
                done, carry = buffer[:cut], buffer[cut:]
                rows += len(_ROW_TAG.findall(done))
                cells += len(_CELL_TAG.findall(done))
                sheet = name.rsplit("/", 1)[-1]
                if rows > limits.rows:
                    raise ReadLimit(f"'{sheet}': quá nhiều dòng (> {limits.rows:,}): hãy chia tệp / too many rows "
                                    f"(more than {limits.rows:,}): split the file")
                if cells > limits.cells:
                    raise ReadLimit(f"'{sheet}': quá nhiều ô (> {limits.cells:,}) / too many cells (more than "
                                    f"{limits.cells:,})")
                if not chunk:
                    break
    return rows, cells


def _too_many_rows(title: str, count: int, limits: Limits) -> ReadLimit:
    return ReadLimit(f"trang '{title}' có quá nhiều dòng (≥ {count:,}; giới hạn {limits.rows:,}): hãy chia tệp / "
                     f"sheet '{title}' has too many rows (≥ {count:,}; the limit is {limits.rows:,}): split the file")


def merged_ranges(archive: zipfile.ZipFile, part: str) -> Iterator[tuple[int, int, int, int]]:
    """The ``<mergeCell ref="A1:C2">`` ranges of a sheet part, read by a streaming XML parse."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.cell import range_boundaries

    with archive.open(part.lstrip("/")) as stream:
        for _event, element in iterparse(stream, events=("end",)):
            if element.tag.endswith("}mergeCell") or element.tag == "mergeCell":
                try:
                    c1, r1, c2, r2 = range_boundaries(element.get("ref", ""))
                except (TypeError, ValueError):
                    continue
                if None not in (c1, r1, c2, r2):
                    yield r1, c1, r2, c2
            element.clear()
