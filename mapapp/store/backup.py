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

PostgreSQL stores are backed up with ``pg_dump``; these functions refuse other URLs.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
import sqlite3
from pathlib import Path

import sqlalchemy as sa

from mapapp.store import db, restore_checks

SQLITE_HEADER = b"SQLite format 3\x00"
CORE_TABLES = ("meta", "units", "sources", "indicators", "indicator_values")
BUSY_TIMEOUT_MS = 30_000


class BackupError(RuntimeError):
    """A backup or restore that was refused; nothing was changed (message vi / en)."""


def database_path(url: str) -> Path:
    """The file of a SQLite URL (raises :class:`BackupError` for other databases)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise BackupError(f"chỉ sao lưu được SQLite; với PostgreSQL dùng pg_dump / only SQLite stores can be "
                          f"backed up here (use pg_dump for {parsed.get_backend_name()})")
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
    source = database_path(url)
    target = Path(target).resolve()
    if not source.is_file():
        raise BackupError(f"chưa có cơ sở dữ liệu / no database at {source}")
    if target == source or target.name.startswith(source.name + "-") and target.parent == source.parent:
        raise BackupError("không ghi đè cơ sở dữ liệu đang dùng / the backup cannot replace the live database")
    if target.exists() and not overwrite:
        raise BackupError(f"tệp đã có / {target} exists (--force to replace it)")
    if not target.parent.is_dir():
        raise BackupError(f"không có thư mục / no folder {target.parent}")
    temp = _temp_beside(target)
    try:
        _copy_consistent(source, temp)
        info = inspect_file(temp)
        os.replace(temp, target)
        _fsync_dir(target.parent)
    finally:
        temp.unlink(missing_ok=True)
    return {"path": str(target), "bytes": target.stat().st_size, **info}


def inspect_file(path: str | os.PathLike) -> dict:
    """Check that ``path`` is a sound mapapp store; return its schema version and row counts.

    Raises
    ------
    BackupError
        Not an SQLite file, damaged, not a mapapp store, or from a newer app version.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise BackupError(f"không đọc được / cannot read {path}: {error}") from error
    if header != SQLITE_HEADER:
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
