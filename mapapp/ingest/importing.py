"""Indicator import: parse, validate, match, dry-run, apply and undo.

Flow: :func:`parse_indicator_file` reads a long-format table (commune, year,
indicator, value[, numerator, denominator, source]) or a wide annex (one row per
commune, columns for counts and rates) into :class:`Entry` objects and
:class:`Problem` reports; :func:`plan` compares the entries with the store (new,
changed old → new, unchanged); :func:`apply_indicator_import` writes them in ONE
transaction, recording every replaced row so :func:`undo_import` restores it exactly.
Any error → nothing is written.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from mapapp.ingest import annex
from mapapp.store import db
from mapapp.ingest.annex import Cell, Table, fold
from mapapp.ingest.indicators import Indicator, load_catalogue
from mapapp.core.names import nfc
from mapapp.ingest.unit_match import UnitMatcher
from mapapp.geo.units import Unit, load_units, valid_on, year_end

RATE_TOLERANCE = 0.1  # percentage points between a given rate and the one computed from counts
CHUNK = 500  # rows written per statement batch (progress is reported per batch)
# Rates whose denominator is the number of households when no other denominator is given.
HOUSEHOLD_BASED = ("poverty_rate", "near_poverty_rate", "cultural_families_rate")
COUNT_INDICATORS = ("households", "population", "projects_active")


class ImportRefused(Exception):
    """An import was not applied; ``problems`` says why (nothing was written)."""

    def __init__(self, problems: list["Problem"]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Problem:
    """One reported problem, located in the file: sheet, row, column and the cell's text."""

    level: str  # "error" (blocks the import) or "warning"
    message: str  # Vietnamese / English
    file: str = ""
    sheet: str = ""
    row: int | None = None
    column: str = ""
    header: str = ""
    text: str | None = None

    def __str__(self) -> str:
        where = [self.file] if self.file else []
        if self.sheet:
            where.append(f"trang/sheet '{self.sheet}'")
        if self.row is not None:
            where.append(f"dòng/row {self.row}")
        if self.column:
            where.append(f"cột/column {self.column}" + (f" ({self.header})" if self.header else ""))
        cell = f" '{self.text}'" if self.text is not None else ""
        tag = "LỖI/ERROR" if self.level == "error" else "CẢNH BÁO/WARNING"
        return f"{tag}: {', '.join(where)}:{cell} — {self.message}" if where else f"{tag}: {self.message}"

    def as_dict(self) -> dict:
        """JSON-ready form (stored in the import summary, shown on the web)."""
        return {k: getattr(self, k) for k in ("level", "message", "file", "sheet", "row", "column", "header",
                                              "text")} | {"display": str(self)}


@dataclass
class Loc:
    """Where a value came from."""

    file: str
    sheet: str
    row: int
    column: str = ""
    header: str = ""
    text: str = ""


@dataclass
class Entry:
    """One value to store: unit, year, indicator, value with numerator/denominator."""

    unit_id: int
    unit: Unit
    year: int
    indicator: str
    value: float | None
    numerator: float | None
    denominator: float | None
    source: str | None
    loc: Loc

    @property
    def key(self) -> tuple[int, int, str]:
        """The stored row it goes to: ``(unit_id, year, indicator)``."""
        return (self.unit_id, self.year, self.indicator)


@dataclass
class Options:
    """What the user says about an import."""

    year: int | None = None
    source: str = ""
    who: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # column letter or header → role
    first_year: int = 2016
    last_year: int = 2025
    shared_dir: str | None = None


@dataclass
class Parsed:
    """The outcome of reading a file: entries, problems and what was recognised."""

    filename: str
    checksum: str
    entries: list[Entry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    tables: list[dict] = field(default_factory=list)  # per table: sheet, format, year, columns

    @property
    def errors(self) -> list[Problem]:
        """The problems that block the import."""
        return [p for p in self.problems if p.level == "error"]


# --- numbers --------------------------------------------------------------------------------

class NotANumber(ValueError):
    """A cell that should hold a number does not."""


_EMPTY = {"", "-", "–", "—", "..", "...", "…"}


def parse_number(value, text: str) -> float | None:
    """A number written the Vietnamese way ("1.234", "12,5", "12,5%") or stored as a number.

    Returns ``None`` for an empty cell or a dash. Both separators: the last one is the
    decimal mark ("1.234,5"); dots alone in groups of three are thousands ("1.234.567");
    a comma alone is the decimal mark ("12,5").

    Raises
    ------
    NotANumber
        When the text is not a number.
    """
    if isinstance(value, bool):
        raise NotANumber(text)
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise NotANumber(text)
        return float(value)
    clean = str(text).replace("\u00a0", " ").strip()
    if clean in _EMPTY:
        return None
    clean = re.sub(r"(?<=\d)[ '](?=\d{3}\b)", "", clean.rstrip("%").strip())
    if not re.fullmatch(r"[+-]?(\d[\d.,]*|[.,]\d+)", clean):
        raise NotANumber(text)
    return float(_normalise_separators(clean, text))


def _normalise_separators(clean: str, text: str) -> str:
    dots, commas = clean.count("."), clean.count(",")
    if dots and commas:
        decimal = "." if clean.rfind(".") > clean.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        whole, _, frac = clean.rpartition(decimal)
        if not re.fullmatch(r"[+-]?[1-9]\d{0,2}(\%s\d{3})*" % thousands, whole):
            raise NotANumber(text)
        return whole.replace(thousands, "") + "." + frac
    if dots:
        if re.fullmatch(r"[+-]?[1-9]\d{0,2}(\.\d{3})+", clean):
            return clean.replace(".", "")  # "1.234", "1.234.567": Vietnamese thousands
        if dots > 1:
            raise NotANumber(text)
        return clean  # "12.5", "0.125"
    if commas > 1:
        if not re.fullmatch(r"[+-]?[1-9]\d{0,2}(,\d{3})+", clean):
            raise NotANumber(text)
        return clean.replace(",", "")
    return clean.replace(",", ".")  # "12,5": Vietnamese decimal comma


# --- column roles ---------------------------------------------------------------------------

META_ROLES = ("name", "code", "year", "stt", "indicator", "value", "numerator", "denominator", "source")


def role_label(role: str, catalogue: dict[str, Indicator] | None = None) -> str:
    """Human-readable label of a column role ("poverty_rate:numerator" → "Tỷ lệ hộ nghèo — tử số")."""
    if ":" not in role:
        return role
    indicator, part = role.split(":", 1)
    name = catalogue[indicator].name_vi if catalogue and indicator in catalogue else indicator
    parts = {"value": "giá trị / value", "numerator": "tử số / numerator", "denominator": "mẫu số / denominator"}
    return f"{name} — {parts.get(part, part)}"


def recognise_column(header: str) -> str | None:
    """The role of a column from its header text, or ``None`` when it is not recognised.

    Examples
    --------
    >>> recognise_column("Hộ nghèo / Tỷ lệ (%)")
    'poverty_rate:value'
    >>> recognise_column("Tổng số hộ")
    'households:value'
    """
    h = fold(header)
    if not h:
        return None
    return _meta_role(h) or _indicator_role(h)


def _meta_role(h: str) -> str | None:
    if annex.is_name_header(h):
        return "name"
    if h in ("stt", "tt", "so tt", "so thu tu", "no"):
        return "stt"
    if h in ("ma", "ma xa", "ma don vi", "ma dvhc", "ma so", "code", "gso code", "ma hanh chinh", "ma dv"):
        return "code"
    if h in ("nam", "year", "nam bao cao"):
        return "year"
    if h in ("chi tieu", "indicator", "ten chi tieu", "chi so"):
        return "indicator"
    if h in ("gia tri", "value", "so lieu"):
        return "value"
    if h in ("tu so", "numerator"):
        return "numerator"
    if h in ("mau so", "denominator"):
        return "denominator"
    if h in ("nguon", "source", "nguon so lieu", "van ban", "nguon van ban"):
        return "source"
    return None


def _is_rate(h: str) -> bool:
    return "ty le" in h or "%" in h or "rate" in h or "percent" in h


def _indicator_role(h: str) -> str | None:
    if any(w in h for w in ("thoat ngheo", "phat sinh", "tai ngheo", "giam ngheo")):
        return None
    if "can ngheo" in h or "near poor" in h or "near poverty" in h:
        return "near_poverty_rate:" + ("value" if _is_rate(h) else "numerator")
    if "ngheo" in h or "poor" in h or "poverty" in h:
        return "poverty_rate:" + ("value" if _is_rate(h) else "numerator")
    if "van hoa" in h or "cultural" in h:
        if "thon" in h or "ban" in h or "village" in h:
            return "cultural_villages_rate:" + ("value" if _is_rate(h) else "numerator")
        return "cultural_families_rate:" + ("value" if _is_rate(h) else "numerator")
    return _count_role(h)


def _count_role(h: str) -> str | None:
    if re.search(r"\b(tong )?so thon\b|\bvillages\b", h):
        return "cultural_villages_rate:denominator"
    if "tong so gia dinh" in h:
        return "cultural_families_rate:denominator"
    if "dan toc thieu so" in h or "ethnic" in h:
        return "ethnic_minority_share:value" if _is_rate(h) else None
    if "mat do" in h or "density" in h:
        return "population_density:value"
    if "dien tich" in h or h.startswith("area"):
        return "area:value"
    if "dan so" in h or "nhan khau" in h or "so khau" in h or "population" in h:
        return "population:value"
    if re.search(r"\b(tong )?so ho\b|\bho dan\b|\bhouseholds\b", h):
        return "households:value"
    if "du an" in h or "projects" in h:
        return "projects_active:value"
    return None


def valid_roles(catalogue: dict[str, Indicator]) -> list[str]:
    """Every role a user may give a column (for the CLI help and the web form)."""
    roles = ["name", "code", "year", "stt", "ignore"]
    for ind in catalogue.values():
        roles.append(f"{ind.id}:value")
        if ind.kind == "rate":
            roles += [f"{ind.id}:numerator", f"{ind.id}:denominator"]
    return roles


def column_roles(table: Table, overrides: dict[str, str]) -> dict[int, str]:
    """Role of each column: the user's word (by letter or header text) over recognition."""
    by_header = {fold(k): v for k, v in overrides.items()}
    roles = {}
    for col in table.columns:
        role = overrides.get(col.letter) or overrides.get(col.letter.lower()) or by_header.get(fold(col.header))
        role = role or recognise_column(col.header)
        if col.index == table.name_col and not role:
            role = "name"
        if role and role != "ignore":
            roles[col.index] = role
    return roles


# --- parsing --------------------------------------------------------------------------------

@dataclass
class _Context:
    """Everything a table parser needs."""

    filename: str
    registry: list[tuple[int, Unit]]
    catalogue: dict[str, Indicator]
    options: Options
    parsed: Parsed
    matchers: dict = field(default_factory=dict)
    seen: dict = field(default_factory=dict)  # entry key → Loc of the first occurrence
    indicator_keys: dict = field(default_factory=dict)  # folded id/name → Indicator
    progress: object = None  # callable(stage, done, total) or None

    def tick(self, done: int, total: int) -> None:
        """Report progress through the rows every 5000 rows."""
        if self.progress and (done % 5000 == 0 or done == total):
            self.progress("check", done, total)

    def matcher(self, year: int) -> UnitMatcher:
        if year not in self.matchers:
            self.matchers[year] = UnitMatcher(self.registry, year_end(year), self.options.shared_dir)
        return self.matchers[year]

    def problem(self, level: str, message: str, sheet: str = "", row: int | None = None,
                column: str = "", header: str = "", text: str | None = None) -> None:
        self.parsed.problems.append(Problem(level, message, self.filename, sheet, row, column, header, text))

    def cell_problem(self, level: str, message: str, sheet: str, cell: Cell, header: str) -> None:
        self.problem(level, message, sheet, cell.row, cell.letter, header, cell.text)


def checksum_of(data: bytes) -> str:
    """SHA-256 of a file's bytes (recorded with each import)."""
    return hashlib.sha256(data).hexdigest()


def parse_indicator_file(data: bytes, filename: str, registry: list[tuple[int, Unit]],
                         catalogue: dict[str, Indicator], options: Options, progress=None) -> Parsed:
    """Read an indicator file into entries and problems; never writes anything.

    Parameters
    ----------
    data, filename : the file's bytes and its name (the extension picks the reader)
    registry : ``(id, Unit)`` pairs of the store
    catalogue : the indicator catalogue
    options : year, source document, column roles, accepted year range
    progress : optional ``callable(stage, done, total)``

    Returns
    -------
    Parsed
        Entries to store and every problem found (errors block the import).
    """
    filename = safe_filename(filename)
    parsed = Parsed(filename, checksum_of(data))
    ctx = _Context(filename, registry, catalogue, options, parsed, progress=progress)
    try:
        sheets, note = annex.read_sheets(data, filename)
    except annex.TableError as error:
        ctx.problem("error", str(error))
        return parsed
    known = set(valid_roles(catalogue)) | {"indicator", "value", "numerator", "denominator", "source"}
    for column, role in options.columns.items():
        if role not in known:
            ctx.problem("error", f"vai trò không hợp lệ / unknown role '{role}' for column '{column}'; dùng / use: "
                                 + ", ".join(sorted(known)))
    tables = annex.find_tables(sheets)
    if not tables:
        ctx.problem("error", "không tìm thấy bảng: cần một dòng tiêu đề có cột tên xã (\"Tên xã\", \"Xã\", "
                             "\"Đơn vị\", \"Commune\") / no table found: a header row needs a commune column")
    for table in tables:
        _parse_table(table, ctx, note)
    if tables and not parsed.entries and not parsed.errors:
        ctx.problem("error", "không có số liệu nào để nhập: các dòng xã không có ô số liệu / nothing to import: "
                             "the commune rows have no figures (check that the figures are in the columns "
                             "under the headers)")
    if not options.source.strip() and parsed.entries and any(e.source is None for e in parsed.entries):
        ctx.problem("error", "thiếu văn bản nguồn (vd. \"QĐ 125/QĐ-UBND ngày 10/01/2022\") / the source document "
                             "is required (--source)")
    return parsed


def safe_filename(name: str) -> str:
    """The base name of an uploaded file, without any path (never used to write)."""
    base = re.split(r"[\\/]", nfc(name or ""))[-1].strip()
    return base[:200] or "upload"


def _parse_table(table: Table, ctx: _Context, note: str) -> None:
    roles = column_roles(table, ctx.options.columns)
    role_set = set(roles.values())
    is_long = "indicator" in role_set and ("value" in role_set or "numerator" in role_set)
    info = {"sheet": table.sheet, "format": "long" if is_long else "wide", "note": note,
            "header_rows": table.header_rows, "rows": len(table.rows), "totals": len(table.totals),
            "columns": [{"letter": c.letter, "header": c.header, "role": roles.get(c.index, "")}
                        for c in table.columns]}
    ctx.parsed.tables.append(info)
    if not table.rows:
        ctx.problem("error", "bảng không có dòng số liệu nào / the table has no data rows", table.sheet)
        return
    if is_long:
        _parse_long(table, roles, ctx)
        return
    if not any(":" in r for r in role_set):
        ctx.problem("error", "không nhận ra cột số liệu nào; hãy chỉ rõ cột nào là chỉ tiêu nào (--column) / "
                             "no indicator column recognised; say which column is which (--column)", table.sheet)
        return
    year = _table_year(table, roles, ctx)
    info["year"] = year
    if year is None and "year" not in roles.values():
        return
    _parse_wide(table, roles, year, ctx)


# --- years ----------------------------------------------------------------------------------

_YEAR_IN_TEXT = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")
_YEAR_NAMED = re.compile(r"\b(?:nam|year)\s+(19[5-9]\d|20\d\d)\b")  # "NĂM 2021", "year 2021"


def _table_year(table: Table, roles: dict[int, str], ctx: _Context) -> int | None:
    """The year of a wide table: the user's, else the one year named in the title or sheet name."""
    if "year" in roles.values():
        return None  # one year per row
    text = f"{table.title} {table.sheet}"
    named = sorted({int(y) for y in _YEAR_NAMED.findall(fold(text))})
    found = named or sorted({int(y) for y in _YEAR_IN_TEXT.findall(text)})
    if ctx.options.year is not None:
        if found and ctx.options.year not in found:
            ctx.problem("warning", f"tiêu đề nói năm {', '.join(map(str, found))} nhưng đã chọn năm "
                                   f"{ctx.options.year} / the title names another year", table.sheet)
        return ctx.options.year
    if len(found) == 1:
        ctx.problem("warning", f"năm {found[0]} lấy từ tiêu đề bảng / year {found[0]} taken from the title",
                    table.sheet)
        return found[0]
    ctx.problem("error", "không biết số liệu của năm nào: hãy chọn năm (--year) / which year? give --year"
                + (f" (tiêu đề có / the title names {', '.join(map(str, found))})" if found else ""), table.sheet)
    return None


def _check_year(year: int | None, ctx: _Context, sheet: str, cell: Cell | None = None,
                header: str = "") -> bool:
    if year is None:
        return False
    lo, hi = ctx.options.first_year, ctx.options.last_year
    if lo <= year <= hi:
        return True
    message = f"năm {year} nằm ngoài khoảng {lo}-{hi} / year outside the range {lo}-{hi}"
    if cell is not None:
        ctx.cell_problem("error", message, sheet, cell, header)
    else:
        ctx.problem("error", message, sheet)
    return False


def _cell_year(cell: Cell, ctx: _Context, sheet: str, header: str) -> int | None:
    try:
        number = parse_number(cell.value, cell.text)
    except NotANumber:
        number = None
    if number is None or not float(number).is_integer():
        ctx.cell_problem("error", "năm không hợp lệ / not a year", sheet, cell, header)
        return None
    return int(number)


# --- wide annexes ---------------------------------------------------------------------------

def _parse_wide(table: Table, roles: dict[int, str], year: int | None, ctx: _Context) -> None:
    headers = {c.index: c.header for c in table.columns}
    seen_units: dict[tuple[int, int], int] = {}
    sums: dict[int, float] = {}
    years_seen: set[int] = set()
    for i, row in enumerate(table.rows, start=1):
        ctx.tick(i, len(table.rows))
        row_year = _row_year(row, roles, year, ctx, table.sheet, headers)
        if row_year is None or not _check_year(row_year, ctx, table.sheet):
            continue
        years_seen.add(row_year)
        match = _match_row(row, roles, row_year, ctx, table, headers)
        if match is None:
            continue
        uid, unit = match
        if (uid, row_year) in seen_units:
            name_cell = row[table.name_col]
            ctx.cell_problem("error", f"xã {unit.name} có hai lần (dòng {seen_units[(uid, row_year)]} và dòng "
                                      f"{name_cell.row}) / commune listed twice", table.sheet, name_cell,
                             headers[table.name_col])
            continue
        seen_units[(uid, row_year)] = row[0].row
        numbers = _row_numbers(row, roles, ctx, table.sheet, headers, sums)
        _wide_entries(numbers, uid, unit, row_year, ctx, table.sheet)
    if year is not None or len(years_seen) == 1:
        _check_missing(years_seen, {k for k in seen_units}, ctx, table.sheet)
    _check_totals(table, roles, sums, ctx, headers)


def _row_year(row, roles, year, ctx, sheet, headers) -> int | None:
    col = next((i for i, r in roles.items() if r == "year"), None)
    if col is None:
        return year
    return _cell_year(row[col], ctx, sheet, headers[col])


def _match_row(row, roles, year, ctx, table, headers):
    """The unit of a row: by code when a code column is filled, else by name."""
    code_col = next((i for i, r in roles.items() if r == "code"), None)
    name_col = table.name_col
    cell = row[code_col] if code_col is not None and not row[code_col].empty else row[name_col]
    col = code_col if cell is not row[name_col] else name_col
    match = ctx.matcher(year).match(cell.text)
    if not match.ok:
        ctx.cell_problem("error", match.message, table.sheet, cell, headers[col])
        return None
    if col == code_col and not row[name_col].empty:
        by_name = ctx.matcher(year).match(row[name_col].text)
        if by_name.ok and by_name.unit_id != match.unit_id:
            ctx.cell_problem("error", f"mã {cell.text} là {match.unit.name}, nhưng tên là {row[name_col].text} / "
                                      f"code and name disagree", table.sheet, cell, headers[col])
            return None
    return match.unit_id, match.unit


def _kind_of(role: str, catalogue: dict[str, Indicator]) -> str:
    indicator, part = role.split(":", 1)
    if part in ("numerator", "denominator") or indicator in COUNT_INDICATORS:
        return "count"
    ind = catalogue.get(indicator)
    return ind.kind if ind else "measure"


def _row_numbers(row, roles, ctx, sheet, headers, sums) -> dict[str, tuple[float, Cell]]:
    """Parse and check every indicator cell of a row; add to the column sums."""
    numbers = {}
    for col, role in roles.items():
        if ":" not in role or col >= len(row):
            continue
        value = _checked_number(row[col], _kind_of(role, ctx.catalogue), ctx, sheet, headers[col])
        if value is not None:
            numbers[role] = (value, row[col])
            sums[col] = sums.get(col, 0.0) + value
    return numbers


def _checked_number(cell: Cell, kind: str, ctx: _Context, sheet: str, header: str) -> float | None:
    """A cell's number after the checks of its kind (count, rate, measure); None when bad or empty."""
    try:
        value = parse_number(cell.value, cell.text)
    except NotANumber:
        ctx.cell_problem("error", "không phải là số / not a number", sheet, cell, header)
        return None
    if value is None:
        return None
    message = _range_message(value, kind)
    if message:
        ctx.cell_problem("error", message, sheet, cell, header)
        return None
    return value


def _range_message(value: float, kind: str) -> str | None:
    if value < 0:
        return "số âm / negative number"
    if kind == "count" and not float(value).is_integer():
        return "số đếm phải là số nguyên / a count must be a whole number"
    if kind == "rate" and value > 100:
        return "tỷ lệ lớn hơn 100% / rate above 100%"
    return None


def _wide_entries(numbers: dict, uid: int, unit: Unit, year: int, ctx: _Context, sheet: str) -> None:
    """Turn the numbers of one commune row into entries (rates from counts where given)."""
    done = set()
    for role in numbers:
        indicator = role.split(":", 1)[0]
        if indicator in done:
            continue
        done.add(indicator)
        ind = ctx.catalogue.get(indicator)
        if ind is None:
            continue
        if ind.kind == "rate":
            _rate_entry(numbers, ind.id, uid, unit, year, ctx, sheet)
        elif f"{indicator}:value" in numbers:
            value, cell = numbers[f"{indicator}:value"]
            _add_entry(ctx, Entry(uid, unit, year, indicator, value, None, None, None, _loc(ctx, sheet, cell)))


def _rate_entry(numbers, indicator, uid, unit, year, ctx, sheet, source=None) -> None:
    rate = numbers.get(f"{indicator}:value")
    num = numbers.get(f"{indicator}:numerator")
    den = numbers.get(f"{indicator}:denominator")
    if den is None and indicator in HOUSEHOLD_BASED:
        den = numbers.get("households:value")
    if num is not None and den is not None and num[0] > den[0]:
        ctx.cell_problem("error", f"{nice(num[0])} lớn hơn tổng {nice(den[0])} (vd. hộ nghèo > số hộ) / "
                                  f"numerator above its total (e.g. poor households > households)",
                         sheet, num[1], _header_of(ctx, sheet, num[1]))
        return
    if rate is None and num is None:
        return  # only a total (e.g. "Tổng số thôn"): nothing to store for this rate
    value = _rate_value(rate, num, den, ctx, sheet)
    if value is None:
        return
    anchor = (rate or num)[1]
    _add_entry(ctx, Entry(uid, unit, year, indicator, value, num[0] if num else None, den[0] if den else None,
                          source, _loc(ctx, sheet, anchor)))


def _rate_value(rate, num, den, ctx, sheet) -> float | None:
    if num is not None and den is not None:
        if den[0] == 0:
            ctx.cell_problem("error", "tổng bằng 0, không tính được tỷ lệ / total is zero", sheet, den[1],
                             _header_of(ctx, sheet, den[1]))
            return None
        computed = round(num[0] / den[0] * 100, 4)
        if rate is not None and abs(rate[0] - computed) > RATE_TOLERANCE:
            ctx.cell_problem("error", f"tỷ lệ ghi {nice(rate[0])} nhưng tính từ số hộ là {nice(computed, 2)} "
                                      f"(lệch > {RATE_TOLERANCE}) / the rate disagrees with the counts",
                             sheet, rate[1], _header_of(ctx, sheet, rate[1]))
            return None
        return computed
    if rate is not None:
        return rate[0]
    cell = num[1]
    ctx.cell_problem("error", "có số đếm nhưng thiếu tổng (số hộ) để tính tỷ lệ / a count without its total: "
                              "the rate cannot be computed", sheet, cell, _header_of(ctx, sheet, cell))
    return None


def nice(value: float, decimals: int = 4) -> str:
    """A number written the Vietnamese way ("12,5", "1.234")."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{round(value, decimals)}".replace(".", ",")


def _header_of(ctx: _Context, sheet: str, cell: Cell) -> str:
    for info in ctx.parsed.tables:
        if info["sheet"] == sheet:
            for col in info["columns"]:
                if col["letter"] == cell.letter:
                    return col["header"]
    return ""


def _loc(ctx: _Context, sheet: str, cell: Cell) -> Loc:
    return Loc(ctx.filename, sheet, cell.row, cell.letter, _header_of(ctx, sheet, cell), cell.text)


def _add_entry(ctx: _Context, entry: Entry) -> None:
    first = ctx.seen.get(entry.key)
    if first is not None:
        ctx.problem("error", f"{entry.unit.name}, {entry.year}, {entry.indicator}: có hai lần (lần đầu: trang "
                             f"'{first.sheet}' dòng {first.row}) / listed twice", entry.loc.sheet, entry.loc.row,
                    entry.loc.column, entry.loc.header, entry.loc.text)
        return
    ctx.seen[entry.key] = entry.loc
    ctx.parsed.entries.append(entry)


def _check_missing(years: set[int], present: set[tuple[int, int]], ctx: _Context, sheet: str) -> None:
    for year in sorted(years):
        missing = [u.name for uid, u in ctx.registry if u.valid_on(year_end(year)) and (uid, year) not in present]
        if missing:
            ctx.problem("warning", f"năm {year} thiếu {len(missing)} xã: {', '.join(missing)} / communes missing "
                                   f"from the file", sheet)


def _check_totals(table: Table, roles, sums, ctx: _Context, headers) -> None:
    """Compare each total row with the sum of the rows (counts, areas) and its rates with its counts."""
    for total in table.totals:
        numbers = {}
        for col, role in roles.items():
            if ":" not in role or col >= len(total) or total[col].empty:
                continue
            kind = _kind_of(role, ctx.catalogue)
            try:
                value = parse_number(total[col].value, total[col].text)
            except NotANumber:
                ctx.cell_problem("error", "dòng tổng: không phải là số / total row: not a number", table.sheet,
                                 total[col], headers[col])
                continue
            if value is None:
                continue
            numbers[role] = (value, total[col])
            if kind == "count" or role == "area:value":
                _compare_total(value, sums.get(col, 0.0), total[col], ctx, table.sheet, headers[col])
        _check_total_rates(numbers, ctx, table.sheet)


def _compare_total(value, expected, cell, ctx, sheet, header) -> None:
    if abs(value - expected) > 0.5 + 1e-9 * abs(expected):
        ctx.cell_problem("error", f"dòng tổng ghi {nice(value)} nhưng tổng các dòng là {nice(expected)} / the "
                                  f"total row does not equal the sum of the rows", sheet, cell, header)


def _check_total_rates(numbers, ctx, sheet) -> None:
    for role, (rate, cell) in numbers.items():
        indicator, part = role.split(":", 1)
        if part != "value" or ctx.catalogue.get(indicator) is None or ctx.catalogue[indicator].kind != "rate":
            continue
        num = numbers.get(f"{indicator}:numerator")
        den = numbers.get(f"{indicator}:denominator") or (
            numbers.get("households:value") if indicator in HOUSEHOLD_BASED else None)
        if num and den and den[0] and abs(num[0] / den[0] * 100 - rate) > RATE_TOLERANCE:
            ctx.cell_problem("error", f"dòng tổng: tỷ lệ {nice(rate)} khác {nice(num[0] / den[0] * 100, 2)} tính từ "
                                      f"số hộ / total row: rate disagrees with its counts", sheet, cell,
                             _header_of(ctx, sheet, cell))


# --- long format ----------------------------------------------------------------------------

def _parse_long(table: Table, roles: dict[int, str], ctx: _Context) -> None:
    cols = {role: col for col, role in roles.items() if ":" not in role}
    headers = {c.index: c.header for c in table.columns}
    if "year" not in cols:
        if ctx.options.year is None:
            ctx.problem("error", "không có cột năm, hãy chọn năm (--year) / no year column: give --year", table.sheet)
            return
        if not _check_year(ctx.options.year, ctx, table.sheet):
            return
    for i, row in enumerate(table.rows, start=1):
        _long_row(row, cols, headers, ctx, table)
        ctx.tick(i, len(table.rows))


def _long_row(row, cols, headers, ctx: _Context, table: Table) -> None:
    sheet = table.sheet
    year = ctx.options.year
    if "year" in cols:
        year = _cell_year(row[cols["year"]], ctx, sheet, headers[cols["year"]])
        if year is None or not _check_year(year, ctx, sheet, row[cols["year"]], headers[cols["year"]]):
            return
    indicator = _long_indicator(row[cols["indicator"]], ctx, sheet, headers[cols["indicator"]])
    match = _match_row(row, {v: k for k, v in cols.items()}, year, ctx, table, headers)
    if indicator is not None and match is not None:
        source = nfc(row[cols["source"]].text) if "source" in cols and not row[cols["source"]].empty else None
        _long_values(row, cols, headers, ctx, sheet, indicator, match, year, source)


def _long_indicator(cell: Cell, ctx: _Context, sheet: str, header: str) -> Indicator | None:
    if not ctx.indicator_keys:
        for ind in ctx.catalogue.values():
            for name in (ind.id, ind.name_vi, ind.name_en):
                ctx.indicator_keys[fold(name)] = ind
    found = ctx.indicator_keys.get(cell.text) or ctx.indicator_keys.get(fold(cell.text))
    if found is not None:
        return found
    ctx.cell_problem("error", "chỉ tiêu không có trong danh mục / unknown indicator; có / known: "
                     + ", ".join(ctx.catalogue), sheet, cell, header)
    return None


def _long_values(row, cols, headers, ctx, sheet, ind: Indicator, match, year, source) -> None:
    got = {}
    for part in ("value", "numerator", "denominator"):
        if part in cols and not row[cols[part]].empty:
            kind = ind.kind if part == "value" else "count"
            kind = "count" if ind.id in COUNT_INDICATORS else kind
            value = _checked_number(row[cols[part]], kind, ctx, sheet, headers[cols[part]])
            if value is None:
                return
            got[part] = (value, row[cols[part]])
    if not got:
        col = cols.get("value", cols["indicator"])
        ctx.cell_problem("error", "thiếu giá trị / no value", sheet, row[col], headers[col])
        return
    numbers = {f"{ind.id}:{part}": v for part, v in got.items()}
    if ind.kind == "rate":
        _rate_entry(numbers, ind.id, match[0], match[1], year, ctx, sheet, source)
    elif "value" in got:
        _add_entry(ctx, Entry(match[0], match[1], year, ind.id, got["value"][0], None, None, source,
                              _loc(ctx, sheet, got["value"][1])))


# --- dry run --------------------------------------------------------------------------------

@dataclass
class Change:
    """What an entry does to the store: "new", "changed" (with the old row) or "unchanged"."""

    kind: str
    entry: Entry
    old: dict | None


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))


def plan(conn: sa.Connection, entries: list[Entry], source: str) -> list[Change]:
    """Compare entries with the stored values: the exact effect of applying them."""
    v, s = db.indicator_values.c, db.sources.c
    existing = {}
    for row in conn.execute(sa.select(db.indicator_values, s.title.label("source_title"))
                            .join(db.sources, s.id == v.source_id)):
        existing[(row.unit_id, row.year, row.indicator_id)] = dict(row._mapping)
    changes = []
    for entry in entries:
        old = existing.get(entry.key)
        if old is None:
            changes.append(Change("new", entry, None))
            continue
        same = (_same(old["value"], entry.value) and _same(old["numerator"], entry.numerator)
                and _same(old["denominator"], entry.denominator) and not old["illustrative"]
                and old["source_title"] == (entry.source or source))
        changes.append(Change("unchanged" if same else "changed", entry, old))
    return changes


def summarise(changes: list[Change]) -> dict[str, int]:
    """Counts of new, changed and unchanged values."""
    counts = {"new": 0, "changed": 0, "unchanged": 0}
    for change in changes:
        counts[change.kind] += 1
    return counts


# --- applying -------------------------------------------------------------------------------

def now_iso() -> str:
    """The current UTC time, ISO-8601 to the second."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def ensure_schema(engine: sa.Engine) -> None:
    """Create the import tables in an existing store (idempotent)."""
    db.create_schema(engine)


def source_id_for(conn: sa.Connection, title: str, quote: str = "") -> int:
    """Get or create the source row of a document title."""
    s = db.sources.c
    found = conn.execute(sa.select(s.id).where(s.title == title, s.url == "")).scalar()
    if found is not None:
        return found
    return conn.execute(sa.insert(db.sources).values(title=title, url="", quote=quote,
                                                     illustrative=False)).inserted_primary_key[0]


def record_import(conn: sa.Connection, kind: str, filename: str, checksum: str, options: Options,
                  summary: dict, source_id: int | None) -> int:
    """Insert the history row of an import; return its id (and mark the data as changed)."""
    db.bump_generation(conn)
    return conn.execute(sa.insert(db.imports).values(
        kind=kind, status="applied", created_at=now_iso(), created_by=options.who or "", filename=filename,
        checksum=checksum, source_document=options.source or "", source_id=source_id,
        summary=json.dumps(summary, ensure_ascii=False),
    )).inserted_primary_key[0]


def apply_indicator_import(engine: sa.Engine, parsed: Parsed, options: Options, progress=None) -> int:
    """Write the entries of a parsed file in one transaction; return the import id.

    Parameters
    ----------
    engine : the store
    parsed : the result of :func:`parse_indicator_file`
    options : who imports and the source document
    progress : optional ``callable(stage, done, total)``

    Raises
    ------
    ImportRefused
        When the file has errors (nothing is written).
    """
    if parsed.errors:
        raise ImportRefused(parsed.errors)
    ensure_schema(engine)
    with engine.begin() as conn:
        changes = plan(conn, parsed.entries, options.source)
        counts = summarise(changes)
        summary = {"counts": counts, "tables": parsed.tables,
                   "warnings": [p.as_dict() for p in parsed.problems if p.level == "warning"]}
        quote = f"Nhập từ tệp / imported from {parsed.filename} (sha256 {parsed.checksum[:16]})"
        default_source = source_id_for(conn, options.source, quote) if options.source.strip() else None
        import_id = record_import(conn, "indicators", parsed.filename, parsed.checksum, options, summary,
                                  default_source)
        writes = [c for c in changes if c.kind != "unchanged"]
        sources = {None: default_source}
        rows = []
        for change in writes:
            src = change.entry.source
            if src not in sources:
                sources[src] = source_id_for(conn, src, quote)
            rows.append((change, sources[src]))
        write_values(conn, import_id, rows, progress)
    return import_id


def write_values(conn: sa.Connection, import_id: int, rows: list[tuple[Change, int]], progress=None) -> None:
    """Upsert values, recording each replaced row in ``import_value_changes`` (in batches)."""
    total = len(rows)
    for start in range(0, total, CHUNK):
        batch = rows[start:start + CHUNK]
        conn.execute(sa.insert(db.import_value_changes), [_change_record(import_id, c) for c, _ in batch])
        inserts = [_value_row(import_id, c.entry, sid) for c, sid in batch if c.old is None]
        if inserts:
            conn.execute(sa.insert(db.indicator_values), inserts)
        updates = [dict(_value_row(import_id, c.entry, sid), row_id=c.old["id"]) for c, sid in batch if c.old]
        if updates:
            v = db.indicator_values
            conn.execute(sa.update(v).where(v.c.id == sa.bindparam("row_id")).values(
                value=sa.bindparam("value"), numerator=sa.bindparam("numerator"),
                denominator=sa.bindparam("denominator"), source_id=sa.bindparam("source_id"),
                illustrative=sa.bindparam("illustrative"), origin=sa.bindparam("origin")),
                [{k: u[k] for k in ("row_id", "value", "numerator", "denominator", "source_id", "illustrative",
                                    "origin")} for u in updates])
        if progress:
            progress("write", min(start + CHUNK, total), total)


def _value_row(import_id: int, entry: Entry, source_id: int) -> dict:
    return dict(unit_id=entry.unit_id, year=entry.year, indicator_id=entry.indicator, value=entry.value,
                numerator=entry.numerator, denominator=entry.denominator, source_id=source_id,
                illustrative=False, origin=f"import:{import_id}")


def _change_record(import_id: int, change: Change) -> dict:
    old = change.old or {}
    e = change.entry
    return dict(import_id=import_id, unit_id=e.unit_id, year=e.year, indicator_id=e.indicator,
                previous_exists=change.old is not None, old_value=old.get("value"),
                old_numerator=old.get("numerator"), old_denominator=old.get("denominator"),
                old_source_id=old.get("source_id"), old_illustrative=old.get("illustrative"),
                old_origin=old.get("origin"), new_value=e.value, new_numerator=e.numerator,
                new_denominator=e.denominator)


# --- undo and history -----------------------------------------------------------------------

class UndoRefused(Exception):
    """An import cannot be undone (unknown, already undone, or later imports depend on it)."""


def undo_import(engine: sa.Engine, import_id: int, who: str = "") -> dict:
    """Undo an import in one transaction: restore every value, project or boundary it replaced.

    Raises
    ------
    UndoRefused
        With the reason, when the import is unknown, already undone, or a later import
        changed the same data (undo that one first).
    """
    ensure_schema(engine)
    with engine.begin() as conn:
        row = conn.execute(sa.select(db.imports).where(db.imports.c.id == import_id)).first()
        if row is None:
            raise UndoRefused(f"không có lần nhập #{import_id} / no import #{import_id}")
        if row.status != "applied":
            raise UndoRefused(f"lần nhập #{import_id} đã được hoàn tác / import #{import_id} was already undone")
        restored = restore_values(conn, import_id)
        db.bump_generation(conn)
        if row.kind == "projects":
            from mapapp.ingest.project_import import undo_projects
            undo_projects(conn, json.loads(row.summary or "{}"))
        if row.kind == "boundaries":
            from mapapp.ingest.boundary_import import undo_boundaries
            undo_boundaries(conn, import_id)
        conn.execute(sa.update(db.imports).where(db.imports.c.id == import_id).values(
            status="undone", undone_at=now_iso(), undone_by=who or ""))
    return {"id": import_id, "kind": row.kind, "values_restored": restored}


def restore_values(conn: sa.Connection, import_id: int) -> int:
    """Put back the value rows an import replaced (or delete those it added)."""
    c, v = db.import_value_changes.c, db.indicator_values
    changes = conn.execute(sa.select(db.import_value_changes).where(c.import_id == import_id)).all()
    origin = f"import:{import_id}"
    later = set()
    for ch in changes:
        current = conn.execute(sa.select(v.c.origin).where(
            v.c.unit_id == ch.unit_id, v.c.year == ch.year, v.c.indicator_id == ch.indicator_id)).scalar()
        if current != origin:
            later.add(current or "?")
    if later:
        raise UndoRefused(f"các giá trị này đã bị thay bởi lần nhập sau ({', '.join(sorted(later))}); hãy hoàn tác "
                          f"lần đó trước / later imports changed the same values: undo them first")
    for ch in changes:
        where = (v.c.unit_id == ch.unit_id) & (v.c.year == ch.year) & (v.c.indicator_id == ch.indicator_id)
        if ch.previous_exists:
            conn.execute(sa.update(v).where(where).values(
                value=ch.old_value, numerator=ch.old_numerator, denominator=ch.old_denominator,
                source_id=ch.old_source_id, illustrative=ch.old_illustrative, origin=ch.old_origin))
        else:
            conn.execute(sa.delete(v).where(where))
    return len(changes)


def list_imports(conn: sa.Connection, limit: int = 200) -> list[dict]:
    """The import history, newest first."""
    if not sa.inspect(conn).has_table("imports"):
        return []
    rows = conn.execute(sa.select(db.imports).order_by(db.imports.c.id.desc()).limit(limit))
    out = []
    for row in rows:
        item = dict(row._mapping)
        item["summary"] = json.loads(item["summary"] or "{}")
        out.append(item)
    return out


def get_import(conn: sa.Connection, import_id: int) -> dict | None:
    """One import with its summary and value changes (names, years, old → new)."""
    if not sa.inspect(conn).has_table("imports"):
        return None
    row = conn.execute(sa.select(db.imports).where(db.imports.c.id == import_id)).first()
    if row is None:
        return None
    item = dict(row._mapping)
    item["summary"] = json.loads(item["summary"] or "{}")
    c, u = db.import_value_changes.c, db.units.c
    item["changes"] = [dict(r._mapping) for r in conn.execute(
        sa.select(db.import_value_changes, u.name.label("unit_name"), u.code.label("unit_code"))
        .join(db.units, u.id == c.unit_id).where(c.import_id == import_id).order_by(c.id))]
    return item


# --- the whole thing, for the CLI and the web ------------------------------------------------

def options_from_config(config, **kwargs) -> Options:
    """Options with the accepted year range and shared folder of the app's configuration."""
    return Options(first_year=int(config.get("FIRST_YEAR", 2016)), last_year=int(config.get("LAST_YEAR", 2025)),
                   shared_dir=config.get("SHARED_DIR"), **kwargs)


def read_and_plan(engine: sa.Engine, data: bytes, filename: str, options: Options, progress=None):
    """Parse a file and compute its dry run: ``(parsed, changes)`` (changes empty on errors)."""
    ensure_schema(engine)
    with engine.connect() as conn:
        registry = load_units(conn)
        catalogue = load_catalogue(conn)
        parsed = parse_indicator_file(data, filename, registry, catalogue, options, progress)
        changes = [] if parsed.errors else plan(conn, parsed.entries, options.source)
    return parsed, changes


# --- templates ------------------------------------------------------------------------------

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


# --- for the seed: what imports hold ---------------------------------------------------------

def imported_value_keys(conn: sa.Connection) -> set[tuple[int, int, str]]:
    """``(unit_id, year, indicator_id)`` of values written by applied imports.

    A re-seed must not insert bundled (seed/illustrative) rows over these keys: the
    imported value wins, and undoing the import restores the row it replaced.
    """
    v = db.indicator_values.c
    rows = conn.execute(sa.select(v.unit_id, v.year, v.indicator_id).where(v.origin.like("import:%")))
    return {tuple(r) for r in rows}


def imported_project_ids(conn: sa.Connection) -> set[int]:
    """Ids of projects added by applied project imports (a re-seed must keep them)."""
    if not sa.inspect(conn).has_table("imports"):
        return set()
    ids: set[int] = set()
    rows = conn.execute(sa.select(db.imports.c.summary).where(db.imports.c.kind == "projects",
                                                              db.imports.c.status == "applied"))
    for (summary,) in rows:
        ids.update(json.loads(summary or "{}").get("project_ids", []))
    return ids
