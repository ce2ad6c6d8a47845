"""The import machinery every kind of import shares: problems, options, the history row, undo (a registry of handlers per kind) and what imports hold."""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator

import sqlalchemy as sa

from mapapp.core.names import nfc
from mapapp.ingest.value_writes import UndoRefused, restore_values
from mapapp.store import db

BUSY_WAIT_S = 30.0  # an import of a whole country's annex takes a few seconds to write


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
class Options:
    """What the user says about an import."""

    year: int | None = None
    source: str = ""
    who: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # column letter or header → role
    first_year: int = 2016
    last_year: int = 2025
    shared_dir: str | None = None


def checksum_of(data: bytes) -> str:
    """SHA-256 of a file's bytes (recorded with each import)."""
    return hashlib.sha256(data).hexdigest()


def safe_filename(name: str) -> str:
    """The base name of an uploaded file, without any path (never used to write)."""
    base = re.split(r"[\\/]", nfc(name or ""))[-1].strip()
    return base[:200] or "upload"


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




class ImportBusy(ImportRefused):
    """Another import (or undo) held the store's write lock for too long; nothing was written."""

    def __init__(self):
        super().__init__([Problem("error", "một lần nhập khác đang được ghi; hãy thử lại sau ít giây / another "
                                           "import is being written; try again in a few seconds")])


_WRITE_LOCK = threading.Lock()


@contextlib.contextmanager
def writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One import's (or undo's) transaction, holding the store's write lock from its first statement.

    Imports read the rows they replace, then write: two of them interleaving would both
    insert the same key. So the lock is taken before the reads (SQLite: a first write
    statement; PostgreSQL: a transaction-level advisory lock), the other waits (up to the
    busy timeout, 5 s) and then reads what the first wrote.

    Raises
    ------
    ImportBusy
        When the lock could not be had in time, or a concurrent write still collided.
    """
    if not _WRITE_LOCK.acquire(timeout=BUSY_WAIT_S):
        raise ImportBusy()
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7324002)"))
            else:
                db.set_meta(conn, "import_lock", now_iso())
            yield conn
    except (sa.exc.OperationalError, sa.exc.IntegrityError) as error:
        if isinstance(error, sa.exc.OperationalError) and "locked" not in str(error).lower():
            raise
        raise ImportBusy() from None
    finally:
        _WRITE_LOCK.release()


UndoHandler = Callable[[sa.Connection, sa.Row], None]
_UNDO_HANDLERS: dict[str, UndoHandler] = {}


def register_undo(kind: str, handler: UndoHandler) -> None:
    """Say how to undo what an import of ``kind`` wrote besides values (projects, boundaries...).

    Each import kind registers its handler when its module is imported, so this module
    never imports the kinds (they import it). ``handler(conn, import_row)`` runs inside
    the undo's transaction.
    """
    _UNDO_HANDLERS[kind] = handler


def undo_import(engine: sa.Engine, import_id: int, who: str = "") -> dict:
    """Undo an import in one transaction: restore every value, project or boundary it replaced.

    Raises
    ------
    UndoRefused
        With the reason, when the import is unknown, already undone, or a later import
        changed the same data (undo that one first).
    """
    ensure_schema(engine)
    try:
        return _undo(engine, import_id, who)
    except ImportBusy as busy:
        raise UndoRefused(str(busy.problems[0].message)) from None


def _undo(engine: sa.Engine, import_id: int, who: str) -> dict:
    with writing(engine) as conn:
        row = conn.execute(sa.select(db.imports).where(db.imports.c.id == import_id)).first()
        if row is None:
            raise UndoRefused(f"không có lần nhập #{import_id} / no import #{import_id}")
        if row.status != "applied":
            raise UndoRefused(f"lần nhập #{import_id} đã được hoàn tác / import #{import_id} was already undone")
        if row.kind != "indicators" and row.kind not in _UNDO_HANDLERS:
            raise UndoRefused(f"chưa nạp cách hoàn tác loại '{row.kind}' / no undo handler for '{row.kind}' imports")
        restored = restore_values(conn, import_id)
        db.bump_generation(conn)
        if row.kind in _UNDO_HANDLERS:
            _UNDO_HANDLERS[row.kind](conn, row)
        conn.execute(sa.update(db.imports).where(db.imports.c.id == import_id).values(
            status="undone", undone_at=now_iso(), undone_by=who or ""))
    return {"id": import_id, "kind": row.kind, "values_restored": restored}


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


def options_from_config(config, **kwargs) -> Options:
    """Options with the accepted year range and shared folder of the app's configuration."""
    return Options(first_year=int(config.get("FIRST_YEAR", 2016)), last_year=int(config.get("LAST_YEAR", 2025)),
                   shared_dir=config.get("SHARED_DIR"), **kwargs)


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
