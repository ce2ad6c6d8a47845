"""Consistent online backup and a validated restore of the SQLite store.

:func:`backup` copies the live database with sqlite3's ``Connection.backup`` in ONE
step: one read transaction, so the copy is the store exactly as it was at one
commit, while the app goes on reading and writing (WAL mode: writers are not
blocked). The copy is checked (``PRAGMA integrity_check``), switched to a
self-contained rollback-journal file, synced, and moved into place with an atomic
rename: a crash never leaves a half-written backup under the given name.

:func:`restore` first validates the file (an SQLite database, integrity ``ok``, a
mapapp store: ``meta.schema_version`` no newer than this code, the core tables, a schema
exactly ours and data that decodes: :mod:`mapapp.store.restore_checks`), then
keeps a backup of the current store in ``<instance>/backups/`` and writes the file
into the live database with the same backup API — one write transaction, so other
connections (a running server) see either the old store or the restored one, never a
mix, and a crash mid-way rolls back. The restored store is then migrated to the
current schema version. Restart running servers afterwards: they cache a few tables.

PostgreSQL stores go through ``pg_dump`` / ``pg_restore`` (see :func:`backup_postgresql`,
:func:`inspect_dump`, :func:`restore_postgresql`) with the same checks: one consistent
snapshot (pg_dump reads in one repeatable-read transaction while the servers go on),
written to a temporary name, checked, synced and renamed; a restore validates the archive
(a pg_dump archive that reads back whole, the core tables, a schema version no newer than
this code), keeps a dump of the current store, and replaces the store in ONE transaction.
Other databases are refused.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

from mapapp.store import db, restore_checks

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"
CORE_TABLES = ("meta", "units", "sources", "indicators", "indicator_values")
BUSY_TIMEOUT_MS = 30_000


class BackupError(RuntimeError):
    """A backup or restore that was refused; nothing was changed (message vi / en)."""


def is_postgresql(url: str) -> bool:
    return sa.engine.make_url(url).get_backend_name() == "postgresql"


def database_path(url: str) -> Path:
    """The file of a SQLite URL (raises :class:`BackupError` for other databases)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise BackupError(f"chỉ sao lưu được SQLite và PostgreSQL / only SQLite and PostgreSQL stores can be "
                          f"backed up ({parsed.get_backend_name()} is neither)")
    return Path(parsed.database).resolve()


def _connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """A connection with a busy timeout; ``readonly``: no statement may write (``query_only``).

    Not ``mode=ro``: that cannot open a WAL database whose ``-shm`` file is absent.
    """
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if readonly:
        conn.execute("PRAGMA query_only=1")
    return conn


def _temp_beside(target: Path) -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _copy_consistent(source: Path, target_temp: Path) -> None:
    """Copy ``source`` into a new file in one backup step, make it self-contained and sync it."""
    src = _connect(source)
    try:
        dst = sqlite3.connect(target_temp, isolation_level=None)
        try:
            src.backup(dst, pages=-1)  # -1: all pages in one step = one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")
            result = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if result != "ok":
                raise BackupError(f"bản sao lỗi / the copy failed its integrity check: {result}")
        finally:
            dst.close()
    finally:
        src.close()
    with open(target_temp, "rb") as handle:
        os.fsync(handle.fileno())


def backup(url: str, target: str | os.PathLike, overwrite: bool = False) -> dict:
    """Write a consistent copy of the live store to ``target``; return what was written.

    Raises
    ------
    BackupError
        Not SQLite, no store yet, ``target`` is the store itself, exists (without
        ``overwrite``), or its folder does not exist.
    """
    if is_postgresql(url):
        return backup_postgresql(url, target, overwrite)
    source = database_path(url)
    target = Path(target).resolve()
    if not source.is_file():
        raise BackupError(f"chưa có cơ sở dữ liệu / no database at {source}")
    if target == source or target.name.startswith(source.name + "-") and target.parent == source.parent:
        raise BackupError("không ghi đè cơ sở dữ liệu đang dùng / the backup cannot replace the live database")
    return _write_checked(target, overwrite, lambda temp: _copy_checked(source, temp))


def _copy_checked(source: Path, temp: Path) -> dict:
    """A consistent copy of the live SQLite file into ``temp``, and its checked description."""
    _copy_consistent(source, temp)
    return inspect_file(temp)


def _write_checked(target: Path, overwrite: bool, write) -> dict:
    """Write a backup to a temporary name beside ``target`` (``write(temp)`` returns its checked
    description), then rename it into place and sync the folder; a failure leaves no file."""
    if target.exists() and not overwrite:
        raise BackupError(f"tệp đã có / {target} exists (--force to replace it)")
    if not target.parent.is_dir():
        raise BackupError(f"không có thư mục / no folder {target.parent}")
    temp = _temp_beside(target)
    try:
        info = write(temp)
        os.replace(temp, target)
        _fsync_dir(target.parent)
    finally:
        temp.unlink(missing_ok=True)
    return {"path": str(target), "bytes": target.stat().st_size, **info}


def inspect_file(path: str | os.PathLike, url: str | None = None) -> dict:
    """Check that ``path`` is a sound mapapp store; return its schema version and row counts.

    ``url``: the store it is meant for; a PostgreSQL store takes a pg_dump archive
    (:func:`inspect_dump`), a SQLite store an SQLite file.

    Raises
    ------
    BackupError
        Not an SQLite file, damaged, not a mapapp store, or from a newer app version.
    """
    if url is not None and is_postgresql(url):
        return inspect_dump(path)
    path = Path(path)
    if not _starts_with(path, SQLITE_HEADER):
        raise BackupError(f"không phải tệp SQLite / {path.name} is not an SQLite database")
    try:
        conn = _connect(path, readonly=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if result != "ok":
                raise BackupError(f"tệp hỏng / {path.name} is damaged: {result}")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = [t for t in CORE_TABLES if t not in tables]
            if missing:
                raise BackupError(f"không phải cơ sở dữ liệu mapapp / {path.name} is not a mapapp database "
                                  f"(missing tables: {', '.join(missing)})")
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row and str(row[0]).isdigit() else 1
            if version > db.SCHEMA_VERSION:
                raise BackupError(f"tệp từ phiên bản mới hơn / {path.name} has schema version {version}, this app "
                                  f"knows up to {db.SCHEMA_VERSION}")
            counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                      for t in ("indicator_values", "imports", "users") if t in tables}
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        finally:
            conn.close()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as error:
        # A damaged schema can make SQLite's own error message undecodable.
        raise BackupError(f"không mở được / cannot open {path.name} as a database: {error}") from error
    return {"schema_version": version, "counts": counts, "page_size": page_size}


def restore(url: str, source: str | os.PathLike, keep_dir: str | os.PathLike) -> dict:
    """Replace the live store by the validated file ``source``; keep the current one in ``keep_dir``.

    Returns the path of the kept copy (``None`` when there was no store) and what was restored.

    Raises
    ------
    BackupError
        When ``source`` is not a sound mapapp store (nothing is changed).
    """
    if is_postgresql(url):
        return restore_postgresql(url, source, keep_dir)
    live = database_path(url)
    source = Path(source).resolve()
    if source == live:
        raise BackupError("tệp khôi phục chính là cơ sở dữ liệu đang dùng / the file is the live database")
    info = inspect_file(source)
    try:
        restore_checks.check_file(source, info["schema_version"])
    except restore_checks.StoreRefused as error:
        raise BackupError(str(error)) from None
    live.parent.mkdir(parents=True, exist_ok=True)
    kept = None
    if live.is_file():
        keep_dir = Path(keep_dir)
        keep_dir.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        kept = keep_dir / f"before-restore-{stamp}-{secrets.token_hex(3)}.sqlite"
        backup(url, kept)
    # A private, checked copy of the file: what we write can no longer change under us.
    staged = _temp_beside(live)
    try:
        _copy_consistent(source, staged)
        _match_page_size(staged, live)
        src = _connect(staged, readonly=True)
        dst = _connect(live)
        try:
            src.backup(dst, pages=-1)  # one write transaction on the live store
            result = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if result != "ok":  # pragma: no cover - would be an SQLite bug
                raise BackupError(f"khôi phục lỗi / the restored database failed its check: {result}")
        finally:
            src.close()
            dst.close()
    finally:
        staged.unlink(missing_ok=True)
    engine = db.make_engine(url)
    try:
        migrated = db.create_schema(engine)
    finally:
        engine.dispose()
    return {"kept": str(kept) if kept else None, "migrated": migrated, **info}


def _match_page_size(staged: Path, live: Path) -> None:
    """A WAL database only takes a backup of its own page size: rebuild the staged copy if needed."""
    if not live.is_file() or live.stat().st_size == 0:
        return
    conn = _connect(live, readonly=True)
    try:
        live_size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    conn = sqlite3.connect(staged, isolation_level=None)
    try:
        if conn.execute("PRAGMA page_size").fetchone()[0] != live_size:
            conn.execute(f"PRAGMA page_size={int(live_size)}")
            conn.execute("VACUUM")
    finally:
        conn.close()


# --- PostgreSQL: pg_dump / pg_restore ---------------------------------------------------------

def pg_tool(name: str) -> str:
    """The path of a PostgreSQL client program (``MAPAPP_PG_BIN``, else the newest installed)."""
    folders = [os.environ["MAPAPP_PG_BIN"]] if os.environ.get("MAPAPP_PG_BIN") else []
    folders += sorted((str(p) for p in Path("/usr/lib/postgresql").glob("*/bin")),
                      key=lambda f: int(re.sub(r"\D", "", f) or 0), reverse=True)
    for folder in folders:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if not found:
        raise BackupError(f"không có {name} / {name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def _pg_env(url: str) -> dict:
    """libpq's environment for a SQLAlchemy URL (the password never appears on a command line)."""
    parsed = sa.engine.make_url(url)
    env = dict(os.environ)
    for key, value in (("PGHOST", parsed.host), ("PGPORT", parsed.port), ("PGUSER", parsed.username),
                       ("PGPASSWORD", parsed.password), ("PGDATABASE", parsed.database)):
        if value:
            env[key] = str(value)
    return env


def _run(args: list[str], url: str | None = None, **kwargs) -> subprocess.CompletedProcess:
    env = _pg_env(url) if url else dict(os.environ)
    try:
        return subprocess.run(args, env=env, capture_output=True, check=True, **kwargs)
    except subprocess.CalledProcessError as error:
        detail = (error.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise BackupError(f"{Path(args[0]).name} thất bại / failed: {' | '.join(detail[-3:])}") from None


def pg_dump(url: str, target: Path) -> None:
    """``pg_dump`` of the store into ``target`` (custom format: compressed, one consistent snapshot)."""
    _run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={target}"], url)


def _has_store(url: str) -> bool:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return sa.inspect(conn).has_table("meta")
    except sa.exc.OperationalError as error:
        raise BackupError(f"không kết nối được / cannot connect to the database: {error.orig}") from None
    finally:
        engine.dispose()


def backup_postgresql(url: str, target: str | os.PathLike, overwrite: bool = False) -> dict:
    """:func:`backup` of a PostgreSQL store: ``pg_dump`` to a temporary name, checked, synced, renamed."""
    target = Path(target).resolve()
    if not _has_store(url):
        raise BackupError("chưa có cơ sở dữ liệu / no mapapp store in this database yet")
    return _write_checked(target, overwrite, lambda temp: _dump_synced(url, temp))


def _dump_synced(url: str, temp: Path) -> dict:
    """``pg_dump`` into ``temp``, synced to disk, and its checked description."""
    pg_dump(url, temp)
    with open(temp, "rb") as handle:
        os.fsync(handle.fileno())
    return inspect_dump(temp)


def _table_rows(path: Path, table: str) -> list[list[str]]:
    """The rows of one table of a pg_dump archive (its COPY data, tab separated)."""
    script = _run([pg_tool("pg_restore"), "--data-only", f"--table={table}", "--file=-", str(path)]).stdout
    rows, inside = [], False
    for line in script.decode("utf-8").split("\n"):
        if inside:
            if line == "\\.":
                inside = False
            else:
                rows.append(line.split("\t"))
        elif line.startswith("COPY ") and line.endswith("FROM stdin;"):
            inside = True
    return rows


def _starts_with(path: Path, header: bytes) -> bool:
    """Whether the file at ``path`` begins with ``header`` (raises BackupError when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(header)) == header
    except OSError as error:
        raise BackupError(f"không đọc được / cannot read {path}: {error}") from error


def inspect_dump(path: str | os.PathLike) -> dict:
    """Check that ``path`` is a sound pg_dump archive of a mapapp store (as :func:`inspect_file`).

    The whole archive is read back (every compressed block), then its tables and the
    schema version are checked.
    """
    path = Path(path)
    if not _starts_with(path, PG_DUMP_HEADER):
        raise BackupError(f"không phải bản sao pg_dump / {path.name} is not a pg_dump archive (custom format) "
                          "of a PostgreSQL store")
    try:
        listing = _run([pg_tool("pg_restore"), "--list", str(path)]).stdout.decode("utf-8", "replace")
        _run([pg_tool("pg_restore"), "--file=/dev/null", str(path)])  # reads every block back
    except BackupError as error:
        raise BackupError(f"tệp hỏng / {path.name} is damaged: {error}") from None
    tables = set(re.findall(r"^\d+; \d+ \d+ TABLE \S+ (\S+) ", listing, flags=re.M))
    missing = [t for t in CORE_TABLES if t not in tables]
    if missing:
        raise BackupError(f"không phải cơ sở dữ liệu mapapp / {path.name} is not a mapapp database "
                          f"(missing tables: {', '.join(missing)})")
    meta = {row[0]: row[1] for row in _table_rows(path, "meta") if len(row) >= 2}
    value = meta.get("schema_version", "")
    version = int(value) if value.isdigit() else 1
    if version > db.SCHEMA_VERSION:
        raise BackupError(f"tệp từ phiên bản mới hơn / {path.name} has schema version {version}, this app "
                          f"knows up to {db.SCHEMA_VERSION}")
    counts = {t: len(_table_rows(path, t)) for t in ("indicator_values", "imports", "users") if t in tables}
    return {"schema_version": version, "counts": counts, "format": "pg_dump"}


def restore_postgresql(url: str, source: str | os.PathLike, keep_dir: str | os.PathLike) -> dict:
    """:func:`restore` into a PostgreSQL store, in one transaction.

    The archive is validated, the current store is dumped into ``keep_dir``, then ``psql
    --single-transaction`` drops the store's tables and runs ``pg_restore``'s script: other
    connections see the old store or the restored one, never a mix, and an error leaves
    the old store. The result is migrated to the current schema version.
    """
    source = Path(source).resolve()
    info = inspect_dump(source)
    kept = None
    if _has_store(url):
        keep_dir = Path(keep_dir)
        keep_dir.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        kept = keep_dir / f"before-restore-{stamp}-{secrets.token_hex(3)}.pgdump"
        backup_postgresql(url, kept)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            present = sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()
    script = _run([pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(source)]).stdout
    drops = "".join(f'DROP TABLE IF EXISTS public."{name}" CASCADE;\n' for name in present).encode()
    _run([pg_tool("psql"), "--quiet", "--no-psqlrc", "--single-transaction", "-v", "ON_ERROR_STOP=1", "--file=-"],
         url, input=drops + script)
    engine = db.make_engine(url)
    try:
        migrated = db.create_schema(engine)
    finally:
        engine.dispose()
    return {"kept": str(kept) if kept else None, "migrated": migrated, **info}
