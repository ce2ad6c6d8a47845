"""Indicator import: read an annex (wide or long), validate, match communes, dry-run and apply.

Flow: :func:`parse_indicator_file` reads a long-format table (commune, year,
indicator, value[, numerator, denominator, source]) or a wide annex (one row per
commune, columns for counts and rates) into :class:`Entry` objects and
:class:`Problem` reports; :func:`plan` compares the entries with the store (new,
changed old → new, unchanged); :func:`apply_indicator_import` writes them in ONE
transaction, recording every replaced row so :func:`mapapp.ingest.transaction.undo_import`
restores it exactly.
Any error → nothing is written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from mapapp.core.names import nfc
from mapapp.geo.units import Unit, load_units, year_end
from mapapp.ingest import annex
from mapapp.ingest.annex import Cell, Table, fold
from mapapp.ingest.columns import column_roles, valid_roles
from mapapp.ingest.numbers import NotANumber, nice, parse_number
from mapapp.ingest.transaction import (
    ImportRefused,
    Options,
    Problem,
    checksum_of,
    ensure_schema,
    record_import,
    safe_filename,
    source_id_for,
    writing,
)
from mapapp.ingest.unit_match import UnitMatcher
from mapapp.ingest.value_writes import Entry, Loc, plan, summarise, write_values
from mapapp.store.catalogue import Indicator, load_catalogue

RATE_TOLERANCE = 0.1  # percentage points between a given rate and the one computed from counts
# Rates whose denominator is the number of households when no other denominator is given.
HOUSEHOLD_BASED = ("poverty_rate", "near_poverty_rate", "cultural_families_rate")
COUNT_INDICATORS = ("households", "population", "projects_active")


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


# --- column roles ---------------------------------------------------------------------------


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


# --- applying -------------------------------------------------------------------------------


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
    with writing(engine) as conn:
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


# --- undo and history -----------------------------------------------------------------------


# --- the whole thing, for the CLI and the web ------------------------------------------------


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


# --- for the seed: what imports hold ---------------------------------------------------------


