"""Project import (.xlsx, .xls, .csv): NGO/donor projects with their communes, years, budget.

Columns (Vietnamese or English headers): name, donor, sector, communes (one or several,
names or GSO codes, separated by ";" "," or new lines), villages, start/end year (or
"2022-2023" in one column), budget with currency ("11 tỷ đồng", "470.000 USD", or a
currency column), optional coordinates (decimal or degrees-minutes-seconds, one column
or longitude/latitude columns), source. Communes are matched to the units valid when
the project starts. Applying adds the projects and recomputes ``projects_active`` in one
transaction; undo removes them and restores the counts.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from mapapp.core.names import nfc
from mapapp.geo.units import Unit, load_units, successor_on, year_end
from mapapp.ingest import annex
from mapapp.ingest.annex import Cell, fold
from mapapp.ingest.numbers import NotANumber, nice, parse_number
from mapapp.ingest.transaction import (
    ImportRefused,
    Options,
    Problem,
    checksum_of,
    ensure_schema,
    record_import,
    register_undo,
    safe_filename,
    source_id_for,
    writing,
)
from mapapp.ingest.unit_match import UnitMatcher
from mapapp.ingest.value_writes import Change, Entry, Loc, write_values
from mapapp.store import db

COUNTS_SOURCE = ("Tổng hợp từ danh sách dự án (gồm dự án đã nhập) / Compiled from the project list "
                 "(including imported projects)")
# Roughly Vietnam: coordinates outside are refused (a swapped lon/lat is said so).
VN_LON, VN_LAT = (102.0, 110.0), (8.0, 23.5)

_FIELDS = {
    "name": ("ten du an", "du an", "ten chuong trinh du an", "chuong trinh du an", "ten chuong trinh",
             "project", "project name", "name", "ten"),
    "donor": ("nha tai tro", "don vi tai tro", "to chuc tai tro", "to chuc", "donor", "donors", "funder"),
    "sector": ("linh vuc", "sector", "nganh"),
    "communes": ("xa", "cac xa", "xa thuc hien", "dia ban", "dia ban thuc hien", "xa huong loi", "communes",
                 "commune", "ten xa", "xa thi tran"),
    "villages": ("thon", "thon ban", "cac thon", "thon ban thuc hien", "villages", "village"),
    "start": ("nam bat dau", "bat dau", "tu nam", "start", "start year"),
    "end": ("nam ket thuc", "ket thuc", "den nam", "end", "end year"),
    "years": ("thoi gian", "thoi gian thuc hien", "giai doan", "years", "period"),
    "budget": ("kinh phi", "tong kinh phi", "ngan sach", "tong von", "von", "budget"),
    "currency": ("don vi tien", "tien te", "loai tien", "currency", "dvt", "don vi tinh"),
    "coords": ("toa do", "coordinates", "vi tri", "location"),
    "lon": ("kinh do", "lon", "lng", "longitude", "x"),
    "lat": ("vi do", "lat", "latitude", "y"),
    "source": ("nguon", "source", "van ban", "nguon so lieu"),
}
_CURRENCIES = {"vnd": "VND", "vnđ": "VND", "dong": "VND", "đồng": "VND", "d": "VND", "usd": "USD", "$": "USD",
               "eur": "EUR", "€": "EUR", "aud": "AUD", "jpy": "JPY", "gbp": "GBP", "chf": "CHF", "krw": "KRW",
               "nzd": "NZD", "cad": "CAD"}
_SCALES = {"ty": 1e9, "tỷ": 1e9, "trieu": 1e6, "triệu": 1e6, "nghin": 1e3, "nghìn": 1e3, "ngan": 1e3,
           "ngàn": 1e3, "million": 1e6, "billion": 1e9, "k": 1e3}
_DISTRICT_WIDE = ("toan huyen", "district wide", "district level", "cap huyen", "khong ro", "unknown")


@dataclass
class ProjectRow:
    """One project read from the file."""

    row: int
    name: str
    donor: str = ""
    sector: str = ""
    communes_text: str = ""
    start_year: int | None = None
    end_year: int | None = None
    budget: str = ""
    source: str = ""
    lon: float | None = None
    lat: float | None = None
    units: list[tuple[int, str, str]] = field(default_factory=list)  # (unit id, unit name, villages)

    @property
    def years_text(self) -> str:
        """"2022–2023", "2022" or ""."""
        if self.start_year is None:
            return ""
        if self.end_year in (None, self.start_year):
            return str(self.start_year)
        return f"{self.start_year}–{self.end_year}"


@dataclass
class ParsedProjects:
    """Projects read from a file, with every problem found."""

    filename: str
    checksum: str
    projects: list[ProjectRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """The problems that block the import."""
        return [p for p in self.problems if p.level == "error"]


def _is_project_header(text: str) -> bool:
    return fold(text) in _FIELDS["name"][:-2] or fold(text) in ("project", "project name")


def read_projects_file(engine: sa.Engine, data: bytes, filename: str, options: Options) -> ParsedProjects:
    """Read and check a project list against the store's units; never writes.

    Returns
    -------
    ParsedProjects
        The projects and the problems (errors block the import).
    """
    ensure_schema(engine)
    with engine.connect() as conn:
        registry = load_units(conn)
        existing = {fold(n) for n in conn.execute(sa.select(db.projects.c.name)).scalars()}
    filename = safe_filename(filename)
    parsed = ParsedProjects(filename, checksum_of(data))
    try:
        sheets, _note = annex.read_sheets(data, filename)
    except annex.TableError as error:
        parsed.problems.append(Problem("error", str(error), filename))
        return parsed
    tables = annex.find_tables(sheets, _is_project_header)
    if not tables:
        parsed.problems.append(Problem("error", "không tìm thấy bảng: cần cột \"Tên dự án\" / no table found: a "
                                                "header row needs a \"Project name\" column", filename))
    for table in tables:
        _read_table(table, registry, options, parsed, existing)
    return parsed


def _columns(table: annex.Table) -> dict[str, int]:
    cols = {}
    for col in table.columns:
        h = fold(col.header)
        for key, names in _FIELDS.items():
            if key not in cols and (h in names or (key == "communes" and annex.is_name_header(col.header))):
                cols[key] = col.index
                break
    return cols


def _read_table(table, registry, options: Options, parsed: ParsedProjects, existing: set[str]) -> None:
    cols = _columns(table)
    headers = {c.index: c.header for c in table.columns}
    reader = _RowReader(table.sheet, parsed, headers, registry, options)
    seen: dict[str, int] = {}
    for row in table.body:
        if all(c.empty for c in row) or row[cols["name"]].empty:
            continue
        project = reader.read(row, cols)
        if project is None:
            continue
        key = fold(f"{project.name} {project.donor}")
        if key in seen:
            reader.error(row[cols["name"]], f"dự án có hai lần (dòng {seen[key]}) / project listed twice")
            continue
        seen[key] = project.row
        if fold(project.name) in existing:
            reader.warn(row[cols["name"]], "đã có dự án cùng tên trong dữ liệu; sẽ thêm một dự án nữa / a project "
                                           "with this name is already stored; another one will be added")
        parsed.projects.append(project)


class _RowReader:
    """Reads and checks one project row at a time, reporting problems with their place."""

    def __init__(self, sheet, parsed: ParsedProjects, headers, registry, options: Options):
        self.sheet, self.parsed, self.headers = sheet, parsed, headers
        self.registry, self.options = registry, options
        self.matchers: dict[str, UnitMatcher] = {}
        self.failed = False

    def problem(self, level: str, cell: Cell, message: str) -> None:
        self.parsed.problems.append(Problem(level, message, self.parsed.filename, self.sheet, cell.row,
                                            cell.letter, self.headers.get(cell.col - 1, ""), cell.text))

    def error(self, cell: Cell, message: str) -> None:
        self.failed = True
        self.problem("error", cell, message)

    def warn(self, cell: Cell, message: str) -> None:
        self.problem("warning", cell, message)

    def text(self, row, cols, key) -> str:
        return nfc(row[cols[key]].text) if key in cols else ""

    def read(self, row: list[Cell], cols: dict[str, int]) -> ProjectRow | None:
        self.failed = False
        project = ProjectRow(row[cols["name"]].row, self.text(row, cols, "name"),
                             donor=self.text(row, cols, "donor"), sector=self.text(row, cols, "sector"),
                             communes_text=self.text(row, cols, "communes"),
                             source=self.text(row, cols, "source") or self.options.source.strip())
        self._years(row, cols, project)
        self._budget(row, cols, project)
        self._coordinates(row, cols, project)
        self._communes(row, cols, project)
        if not project.source:
            self.error(row[cols["name"]], "thiếu nguồn (cột \"Nguồn\" hoặc --source) / no source for this project")
        return None if self.failed else project

    # years
    def _years(self, row, cols, project: ProjectRow) -> None:
        if "start" in cols:
            project.start_year = self._year(row[cols["start"]])
        if "end" in cols:
            project.end_year = self._year(row[cols["end"]])
        if "years" in cols and project.start_year is None:
            found = [int(y) for y in re.findall(r"(?<!\d)(19[5-9]\d|20\d\d|21\d\d)(?!\d)", row[cols["years"]].text)]
            if found:
                project.start_year, project.end_year = found[0], found[-1]
            elif not row[cols["years"]].empty:
                self.error(row[cols["years"]], "không đọc được năm / no year found")
        if project.end_year is None:
            project.end_year = project.start_year
        if project.start_year and project.end_year and project.end_year < project.start_year:
            self.error(row[cols.get("end", cols.get("years", 0))], "năm kết thúc trước năm bắt đầu / ends before "
                                                                    "it starts")

    def _year(self, cell: Cell) -> int | None:
        try:
            value = parse_number(cell.value, cell.text)
        except NotANumber:
            value = -1
        if value is None:
            return None
        if not float(value).is_integer() or not 1950 <= value <= 2100:
            self.error(cell, "năm không hợp lệ / not a year")
            return None
        return int(value)

    # budget
    def _budget(self, row, cols, project: ProjectRow) -> None:
        if "budget" not in cols or row[cols["budget"]].empty:
            return
        cell = row[cols["budget"]]
        currency_text = self.text(row, cols, "currency")
        parsed = parse_budget(cell.value, cell.text, currency_text)
        if isinstance(parsed, str):
            self.error(cell, parsed)
            return
        amount, currency = parsed
        project.budget = f"{nice(amount, 2)} {currency}" if currency else nice(amount, 2)

    # coordinates
    def _coordinates(self, row, cols, project: ProjectRow) -> None:
        if "coords" in cols and not row[cols["coords"]].empty:
            point = parse_point(row[cols["coords"]].text)
            cell = row[cols["coords"]]
        elif "lon" in cols and "lat" in cols and not (row[cols["lon"]].empty and row[cols["lat"]].empty):
            cell = row[cols["lon"]]
            point = _point_from_pair(row[cols["lon"]], row[cols["lat"]])
        else:
            return
        if isinstance(point, str):
            self.error(cell, point)
            return
        project.lon, project.lat = point

    # communes
    def _communes(self, row, cols, project: ProjectRow) -> None:
        if "communes" not in cols or row[cols["communes"]].empty:
            return
        cell = row[cols["communes"]]
        names = split_names(cell.text)
        if not names:
            return
        villages = parse_villages(self.text(row, cols, "villages"), names)
        date = year_end(project.start_year or 2019)
        matcher = self.matchers.setdefault(date, UnitMatcher(self.registry, date, self.options.shared_dir))
        for name in names:
            match = matcher.match(name)
            if not match.ok:
                self.error(cell, f"{name}: {match.message}")
                continue
            project.units.append((match.unit_id, match.unit.name, villages.get(name, "")))
        if len(names) > 1 and villages.get("*"):
            self.warn(row[cols["villages"]], "không rõ thôn thuộc xã nào (ghi \"Xã: thôn ...; Xã: ...\") / villages "
                                             "not assigned to communes: kept for every commune")


def split_names(text: str) -> list[str]:
    """Commune names of a cell: split on ";", ",", "/", new lines and " và "/" and "."""
    text = nfc(text)
    if fold(text).startswith(_DISTRICT_WIDE):
        return []
    parts = re.split(r"[;,/\n]|\s+(?:và|and|&)\s+", text)
    return [p.strip(" .") for p in parts if p.strip(" .")]


def parse_villages(text: str, communes: list[str]) -> dict[str, str]:
    """Villages per commune from "Lìa: thôn A, thôn B; Thuận: bản C" (else all under "*")."""
    text = nfc(text)
    if not text:
        return {}
    out: dict[str, str] = {}
    pairs = [p.split(":", 1) for p in re.split(r"[;\n]", text) if ":" in p]
    if pairs:
        keys = {fold(c): c for c in communes}
        for name, villages in pairs:
            commune = keys.get(fold(name.strip()))
            if commune:
                out[commune] = villages.strip()
        return out
    out["*"] = text
    for commune in communes:
        out[commune] = text
    return out


def parse_budget(value, text: str, currency_text: str = "") -> tuple[float, str] | str:
    """An amount and its currency from "11 tỷ đồng", "470.000 USD", "2,5 triệu" or a number cell.

    Returns
    -------
    (amount, currency) or a message saying why the text is not a budget
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        amount, rest = float(value), ""
    else:
        found = re.match(r"^\s*[>~≈<]?\s*([\d.,\s]*\d)\s*(.*)$", nfc(text))
        if not found:
            return "kinh phí không phải là số / budget is not a number"
        try:
            amount = parse_number(None, found.group(1))
        except NotANumber:
            return "kinh phí không phải là số / budget is not a number"
        rest = found.group(2)
    words = [w for w in re.split(r"[\s()]+", (rest + " " + currency_text).lower()) if w]
    for word in words:
        amount *= _SCALES.get(word, 1.0)
    currencies = {_CURRENCIES[w] for w in words if w in _CURRENCIES}
    if amount is None or amount < 0:
        return "kinh phí âm / negative budget"
    if len(currencies) > 1:
        return f"nhiều loại tiền / several currencies: {', '.join(sorted(currencies))}"
    if not currencies:
        return "thiếu đơn vị tiền (VND, USD...) / the currency is missing"
    return amount, currencies.pop()


_DMS = re.compile(r"(\d+(?:[.,]\d+)?)\s*[°º:d]\s*(?:(\d+(?:[.,]\d+)?)\s*['′m:]\s*)?(?:(\d+(?:[.,]\d+)?)\s*(?:\"|″|''|s)?\s*)?"
                  r"([NSEWnsewBĐTbđt])?")


def parse_coordinate(text: str) -> tuple[float, str] | None:
    """One coordinate: decimal ("106.7231", "106,7231") or DMS ("106°43'23\\"E", "16°37′N").

    Returns ``(degrees, hemisphere)`` with hemisphere "" when not written.
    """
    clean = nfc(text).strip()
    try:
        return float(clean.replace(",", ".")), ""
    except ValueError:
        pass
    match = _DMS.fullmatch(clean.replace(" ", "")) or _DMS.fullmatch(clean)
    if not match or not match.group(1):
        return None
    deg, minutes, seconds = (float((g or "0").replace(",", ".")) for g in match.group(1, 2, 3))
    if minutes >= 60 or seconds >= 60:
        return None
    hemisphere = {"b": "N", "đ": "E", "t": "W"}.get((match.group(4) or "").lower(), (match.group(4) or "").upper())
    value = deg + minutes / 60 + seconds / 3600
    return (-value if hemisphere in ("S", "W") else value), hemisphere


def parse_point(text: str) -> tuple[float, float] | str:
    """A point from "16.6345, 106.7231", "16°38'12\"N 106°43'5\"E" or "106,7231 16,6345" → ``(lon, lat)``.

    Hemisphere letters decide the order; without them the numbers' ranges do (Vietnam's
    latitudes and longitudes do not overlap); else latitude comes first.
    """
    clean = nfc(text).strip()
    tokens = re.findall(r"\d[^NSEWBĐTnsewbđt]*[NSEWBĐTnsewbđt]", clean) if re.search(r"[°º′'\"]", clean) else []
    if len(tokens) != 2:
        tokens = [t for t in re.split(r"\s*[;|]\s*|,\s+|\s+", clean) if t]
    if len(tokens) != 2 and clean.count(",") == 1:
        tokens = clean.split(",")
    if len(tokens) != 2:
        return "tọa độ cần hai số (vĩ độ, kinh độ) / coordinates need two numbers (latitude, longitude)"
    a, b = parse_coordinate(tokens[0]), parse_coordinate(tokens[1])
    if a is None or b is None:
        return "tọa độ không hợp lệ / invalid coordinates"
    if a[1] in ("E", "W") or b[1] in ("N", "S"):
        return _checked_point(a[0], b[0])
    if a[1] or b[1]:
        return _checked_point(b[0], a[0])
    a_is_lon = VN_LON[0] <= a[0] <= VN_LON[1] and VN_LAT[0] <= b[0] <= VN_LAT[1]
    return _checked_point(a[0], b[0]) if a_is_lon else _checked_point(b[0], a[0])


def _point_from_pair(lon_cell: Cell, lat_cell: Cell) -> tuple[float, float] | str:
    lon, lat = parse_coordinate(lon_cell.text), parse_coordinate(lat_cell.text)
    if lon is None or lat is None:
        return "tọa độ không hợp lệ / invalid coordinates"
    return _checked_point(lon[0], lat[0])


def _checked_point(lon: float, lat: float) -> tuple[float, float] | str:
    if VN_LON[0] <= lon <= VN_LON[1] and VN_LAT[0] <= lat <= VN_LAT[1]:
        return lon, lat
    if VN_LON[0] <= lat <= VN_LON[1] and VN_LAT[0] <= lon <= VN_LAT[1]:
        return "kinh độ và vĩ độ bị đảo? / longitude and latitude swapped?"
    return f"tọa độ ({lon:.5f}, {lat:.5f}) nằm ngoài Việt Nam / coordinates outside Vietnam"


# --- applying and undoing -------------------------------------------------------------------

def apply_projects(engine: sa.Engine, parsed: ParsedProjects, options: Options, progress=None) -> int:
    """Add the projects and recompute ``projects_active`` in one transaction; return the import id.

    Raises
    ------
    ImportRefused
        When the file has errors or no project (nothing is written).
    """
    if parsed.errors or not parsed.projects:
        raise ImportRefused(parsed.errors or [Problem("error", "không có dự án nào / no project", parsed.filename)])
    ensure_schema(engine)
    with writing(engine) as conn:
        default_source = source_id_for(conn, options.source) if options.source.strip() else None
        import_id = record_import(conn, "projects", parsed.filename, parsed.checksum, options, {}, default_source)
        ids = [_insert_project(conn, p) for p in parsed.projects]
        changes = _recount(conn, options, import_id)
        summary = {"project_ids": ids, "counts": {"projects": len(ids), "changed": len(changes)},
                   "warnings": [p.as_dict() for p in parsed.problems if p.level == "warning"]}
        conn.execute(sa.update(db.imports).where(db.imports.c.id == import_id).values(
            summary=json.dumps(summary, ensure_ascii=False)))
        write_values(conn, import_id, [(c, source_id_for(conn, COUNTS_SOURCE)) for c in changes], progress)
    return import_id


def _insert_project(conn: sa.Connection, p: ProjectRow) -> int:
    pid = conn.execute(sa.insert(db.projects).values(
        name=p.name, donor=p.donor, sector=p.sector, communes_text=p.communes_text, start_year=p.start_year,
        end_year=p.end_year, years_text=p.years_text, budget=p.budget, source_id=source_id_for(conn, p.source),
    )).inserted_primary_key[0]
    seen = set()
    for unit_id, _name, villages in p.units:
        if unit_id not in seen:
            seen.add(unit_id)
            conn.execute(sa.insert(db.project_units).values(project_id=pid, unit_id=unit_id, villages=villages))
    if p.lon is not None:
        conn.execute(sa.insert(db.project_points).values(project_id=pid, lon=p.lon, lat=p.lat, label=p.name))
    return pid


def _recount(conn: sa.Connection, options: Options, import_id: int) -> list[Change]:
    """``projects_active`` changes implied by the stored projects, per unit and year."""
    registry = load_units(conn)
    units = [u for _, u in registry]
    by_id = dict(registry)
    id_by_key = {u.key: uid for uid, u in registry}
    projects = conn.execute(sa.select(db.projects.c.id, db.projects.c.start_year, db.projects.c.end_year)).all()
    links: dict[int, list[int]] = {}
    for pid, uid in conn.execute(sa.select(db.project_units.c.project_id, db.project_units.c.unit_id)):
        links.setdefault(pid, []).append(uid)
    v = db.indicator_values.c
    stored = {(r.unit_id, r.year): r for r in conn.execute(
        sa.select(db.indicator_values).where(v.indicator_id == "projects_active"))}
    changes = []
    for year in range(options.first_year, options.last_year + 1):
        counts = _active_counts(projects, links, units, by_id, id_by_key, year)
        for uid, count in counts.items():
            old = stored.get((uid, year))
            if old is not None and old.value == count:
                continue
            entry = Entry(uid, by_id[uid], year, "projects_active", float(count), None, None, COUNTS_SOURCE,
                          Loc("", "", 0))
            changes.append(Change("changed" if old else "new", entry, dict(old._mapping) if old else None))
    return changes


def _active_counts(projects, links, units: list[Unit], by_id, id_by_key, year: int) -> dict[int, int]:
    date = year_end(year)
    counts = {id_by_key[u.key]: 0 for u in units if u.valid_on(date)}
    for pid, start, end in projects:
        if start is None or not start <= year <= (end or start):
            continue
        touched = {successor_on(units, by_id[uid], date) for uid in links.get(pid, [])}
        for unit in touched - {None}:
            counts[id_by_key[unit.key]] += 1
    return counts


def undo_projects(conn: sa.Connection, summary: dict) -> None:
    """Remove the projects an import added (their values are restored by the caller)."""
    ids = summary.get("project_ids") or []
    if not ids:
        return
    conn.execute(sa.delete(db.project_units).where(db.project_units.c.project_id.in_(ids)))
    conn.execute(sa.delete(db.project_points).where(db.project_points.c.project_id.in_(ids)))
    conn.execute(sa.delete(db.projects).where(db.projects.c.id.in_(ids)))


register_undo("projects", lambda conn, row: undo_projects(conn, json.loads(row.summary or "{}")))
