"""Data safety: online backup during writes, validated restore, schema migrations, history across restarts."""
from __future__ import annotations

import hashlib
import io
import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa
from conftest import make_app, needs_shared
from import_builders import SOURCE, import_count, poverty_annex_xlsx, poverty_rows, units_of, value_rows

from mapapp.store import backup, db

pytestmark = needs_shared


def db_path(app) -> str:
    return app.config["DATABASE_URL"].removeprefix("sqlite:///")


def dump(path: str, skip=("sqlite_sequence",)) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order (to compare two stores)."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables if t not in skip}
    finally:
        conn.close()


def digest(path: str) -> str:
    return hashlib.sha256(repr(dump(path)).encode()).hexdigest()


def integrity(path: str) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


# --- the store's settings ---------------------------------------------------------------------

def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    with app.app_context():
        with db.get_engine().connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


# --- backup during writes -------------------------------------------------------------------

class Writer(threading.Thread):
    """Writes transactions of 2 ledger rows + a counter + an indicator value, as fast as it can.

    After transaction k: ledger has 2k rows summing to 0, meta 'ledger' = k, and the
    first indicator value = k. Any consistent snapshot satisfies all three for one k.
    """

    def __init__(self, path: str):
        super().__init__(daemon=True)
        self.path = path
        self.k = 0
        self.stop = threading.Event()
        self.error = None

    def run(self):
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=30000")
        try:
            first_id = conn.execute("SELECT min(id) FROM indicator_values").fetchone()[0]
            while not self.stop.is_set():
                k = self.k + 1
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO ledger (k, amount) VALUES (?, ?)", (k, k * 7))
                conn.execute("INSERT INTO ledger (k, amount) VALUES (?, ?)", (k, -k * 7))
                conn.execute("UPDATE meta SET value = ? WHERE key = 'ledger'", (str(k),))
                conn.execute("UPDATE indicator_values SET value = ? WHERE id = ?", (float(k), first_id))
                conn.execute("COMMIT")
                self.k = k
        except Exception as error:  # pragma: no cover - reported by the test
            self.error = error
        finally:
            conn.close()


def snapshot_k(path: str) -> int:
    """The transaction count of a store, asserting it is a consistent snapshot."""
    conn = sqlite3.connect(path)
    try:
        k = int(conn.execute("SELECT value FROM meta WHERE key = 'ledger'").fetchone()[0])
        count, total, top = conn.execute("SELECT count(*), coalesce(sum(amount), 0), coalesce(max(k), 0) "
                                         "FROM ledger").fetchone()
        first = conn.execute("SELECT value FROM indicator_values ORDER BY id LIMIT 1").fetchone()[0]
    finally:
        conn.close()
    assert count == 2 * k and total == 0 and top == k, (k, count, total, top)
    if k:
        assert first == float(k)
    return k


def test_backup_during_writes_restores_a_consistent_snapshot(fresh_app, tmp_path):
    live = db_path(fresh_app)
    with sqlite3.connect(live) as conn:
        conn.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, k INTEGER NOT NULL, amount INTEGER NOT NULL)")
        conn.execute("INSERT INTO meta (key, value) VALUES ('ledger', '0')")
    conn.close()
    writer = Writer(live)
    writer.start()
    try:
        deadline = time.time() + 30
        while writer.k < 50 and time.time() < deadline:
            time.sleep(0.01)
        before = writer.k
        target = tmp_path / "sao-luu.sqlite"
        result = fresh_app.test_cli_runner().invoke(args=["backup", str(target)])
        after = writer.k
        deadline = time.time() + 30
        while writer.k < after + 50 and time.time() < deadline:
            time.sleep(0.01)
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert writer.error is None, writer.error
    assert result.exit_code == 0, result.output
    assert "sao lưu" in result.output and str(target) in result.output
    assert before >= 50 and writer.k > after  # writes went on before, during and after the backup
    assert integrity(str(target)) == "ok"
    k = snapshot_k(str(target))
    assert before <= k <= after, (before, k, after)
    print(f"backup during writes: k before={before} snapshot={k} after={after}")
    backed_up = dump(str(target))
    # the live store moved on; restore brings back exactly the snapshot
    assert snapshot_k(live) == writer.k > k
    keep = tmp_path / "kept"
    fresh_app.config["BACKUP_DIR"] = str(keep)
    result = fresh_app.test_cli_runner().invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    assert integrity(live) == "ok"
    assert snapshot_k(live) == k
    assert dump(live) == backed_up
    (kept,) = keep.iterdir()  # the store as it was before the restore
    assert snapshot_k(str(kept)) == writer.k and integrity(str(kept)) == "ok"
    # and the app works on the restored store
    client = fresh_app.test_client()
    assert client.get("/api/values?indicator=poverty_rate&year=2021").status_code == 200


def test_restore_reaches_a_running_reader(fresh_app, tmp_path):
    """A server's open connection sees the restored store at its next read, never a mix."""
    target = tmp_path / "b.sqlite"
    with fresh_app.app_context():
        backup.backup(fresh_app.config["DATABASE_URL"], target)
    reader = sqlite3.connect(db_path(fresh_app), isolation_level=None)
    reader.execute("PRAGMA busy_timeout=30000")
    count = reader.execute("SELECT count(*) FROM indicator_values").fetchone()[0]
    with sqlite3.connect(db_path(fresh_app)) as conn:
        conn.execute("DELETE FROM indicator_values WHERE year = 2021")
    conn.close()
    assert reader.execute("SELECT count(*) FROM indicator_values").fetchone()[0] < count
    backup.restore(fresh_app.config["DATABASE_URL"], target, tmp_path / "kept")
    assert reader.execute("SELECT count(*) FROM indicator_values").fetchone()[0] == count
    assert reader.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    reader.close()


def test_backup_refuses_to_overwrite(fresh_app, tmp_path):
    runner = fresh_app.test_cli_runner()
    target = tmp_path / "a.sqlite"
    target.write_bytes(b"keep me")
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code != 0 and "--force" in result.output and target.read_bytes() == b"keep me"
    assert runner.invoke(args=["backup", str(target), "--force"]).exit_code == 0
    assert integrity(str(target)) == "ok"
    live = runner.invoke(args=["backup", db_path(fresh_app), "--force"])
    assert live.exit_code != 0 and integrity(db_path(fresh_app)) == "ok"
    missing = runner.invoke(args=["backup", str(tmp_path / "no" / "such" / "dir.sqlite")])
    assert missing.exit_code != 0
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --- restore validation -----------------------------------------------------------------------

def _not_mapapp(path):
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (x TEXT)")
    conn.close()


def _newer(path, source):
    backup.backup(f"sqlite:///{source}", path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()


def _damaged(path, source):
    backup.backup(f"sqlite:///{source}", path)
    data = bytearray(path.read_bytes())
    for offset in range(8192, min(len(data), 8192 * 40), 4096):
        data[offset + 100:offset + 400] = b"\xff" * 300
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("kind,message", [
    ("text", "not an SQLite database"), ("empty", "not an SQLite database"), ("other", "not a mapapp database"),
    ("newer", "schema version 99"), ("damaged", ""),
])
def test_restore_refuses_files_that_are_not_a_sound_mapapp_store(fresh_app, tmp_path, kind, message):
    bad = tmp_path / f"{kind}.sqlite"
    if kind == "text":
        bad.write_text("Xã,Năm\nLìa,2021\n", encoding="utf-8")
    elif kind == "empty":
        bad.write_bytes(b"")
    elif kind == "other":
        _not_mapapp(bad)
    elif kind == "newer":
        _newer(bad, db_path(fresh_app))
    else:
        _damaged(bad, db_path(fresh_app))
    before = digest(db_path(fresh_app))
    fresh_app.config["BACKUP_DIR"] = str(tmp_path / "kept")
    result = fresh_app.test_cli_runner().invoke(args=["restore", str(bad), "--yes"])
    assert result.exit_code != 0 and "LỖI/ERROR" in result.output
    assert message in result.output, result.output
    assert digest(db_path(fresh_app)) == before
    assert not (tmp_path / "kept").exists()  # refused before anything was done


def test_restore_asks_before_replacing(fresh_app, tmp_path):
    target = tmp_path / "b.sqlite"
    runner = fresh_app.test_cli_runner()
    runner.invoke(args=["backup", str(target)])
    with sqlite3.connect(db_path(fresh_app)) as conn:
        conn.execute("DELETE FROM indicator_values WHERE year = 2020")
    conn.close()
    before = digest(db_path(fresh_app))
    fresh_app.config["BACKUP_DIR"] = str(tmp_path / "kept")
    result = runner.invoke(args=["restore", str(target)], input="n\n")
    assert result.exit_code != 0 and digest(db_path(fresh_app)) == before
    result = runner.invoke(args=["restore", str(target)], input="y\n")
    assert result.exit_code == 0 and digest(db_path(fresh_app)) == digest(str(target))


# --- migrations -----------------------------------------------------------------------------

def _downgrade(path: str, version: int) -> None:
    """Make the store look like one written by an older version of the app."""
    drop = {4: ["answers"],
            3: ["answers", "geometry_packs"],
            2: ["answers", "geometry_packs", "users", "login_failures"],
            1: ["answers", "geometry_packs", "users", "login_failures", "imports", "import_value_changes",
                "import_boundary_snapshots", "project_points"]}[version]
    with sqlite3.connect(path) as conn:
        if version < 4:
            conn.execute("ALTER TABLE units DROP COLUMN parent")
        for table in drop:
            conn.execute(f'DROP TABLE IF EXISTS "{table}"')
        if version == 1:
            conn.execute("DELETE FROM meta WHERE key = 'schema_version'")
        else:
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
    conn.close()


@pytest.mark.parametrize("version,expected", [(1, [2, 3, 4, 5]), (2, [3, 4, 5]), (3, [4, 5]), (4, [5]), (5, [])])
def test_create_schema_migrates_older_stores_and_keeps_their_data(fresh_app, version, expected):
    path = db_path(fresh_app)
    _downgrade(path, version) if version < 5 else None
    values = value_rows(fresh_app)
    engine = db.make_engine(fresh_app.config["DATABASE_URL"])
    try:
        assert db.create_schema(engine) == expected
        assert db.create_schema(engine) == []  # idempotent
        with engine.connect() as conn:
            assert db.get_meta(conn, "schema_version") == str(db.SCHEMA_VERSION)
            inspector = sa.inspect(conn)
            for table in ("users", "login_failures", "imports", "import_value_changes", "geometry_packs", "answers"):
                assert inspector.has_table(table), table
            assert "parent" in {c["name"] for c in inspector.get_columns("units")}
    finally:
        engine.dispose()
    assert value_rows(fresh_app) == values


def test_a_store_from_a_newer_app_is_refused_untouched(fresh_app):
    path = db_path(fresh_app)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    before = digest(path)
    engine = db.make_engine(fresh_app.config["DATABASE_URL"])
    try:
        with pytest.raises(db.SchemaTooNew):
            db.create_schema(engine)
    finally:
        engine.dispose()
    assert digest(path) == before


def test_migrations_are_ordered_and_end_at_the_schema_version():
    versions = [v for v, _ in db.MIGRATIONS]
    assert versions == sorted(versions) == list(range(2, db.SCHEMA_VERSION + 1))


def test_restoring_an_old_backup_migrates_it(fresh_app, tmp_path):
    old = tmp_path / "old.sqlite"
    backup.backup(fresh_app.config["DATABASE_URL"], old)
    _downgrade(str(old), 2)
    result = backup.restore(fresh_app.config["DATABASE_URL"], old, tmp_path / "kept")
    assert result["schema_version"] == 2 and result["migrated"] == [3, 4, 5]
    with sqlite3.connect(db_path(fresh_app)) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "5"
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0
    conn.close()


# --- history and undo across restarts -------------------------------------------------------

def test_import_history_and_undo_survive_a_restart_and_a_backup(tmp_path):
    first = make_app(tmp_path)
    before = value_rows(first)
    path = tmp_path / "pl.xlsx"
    path.write_bytes(poverty_annex_xlsx(poverty_rows(units_of(first, 2021)), year=2021))
    result = first.test_cli_runner().invoke(args=["import-indicators", str(path), "--source", SOURCE])
    assert result.exit_code == 0, result.output
    imported = value_rows(first)
    saved = tmp_path / "after-import.sqlite"
    assert first.test_cli_runner().invoke(args=["backup", str(saved)]).exit_code == 0
    first.extensions["mapapp_engine"].dispose()
    restarted = make_app(tmp_path)  # a new process on the same store
    assert value_rows(restarted) == imported and import_count(restarted) == 1
    history = restarted.test_cli_runner().invoke(args=["imports"])
    assert "#1" in history.output and "applied" in history.output
    assert restarted.test_cli_runner().invoke(args=["undo-import", "1"]).exit_code == 0
    assert value_rows(restarted) == before
    # the backup still holds the import, and its undo record
    restarted.config["BACKUP_DIR"] = str(tmp_path / "kept")
    assert restarted.test_cli_runner().invoke(args=["restore", str(saved), "--yes"]).exit_code == 0
    again = make_app(tmp_path)
    assert value_rows(again) == imported
    assert again.test_cli_runner().invoke(args=["undo-import", "1"]).exit_code == 0
    assert value_rows(again) == before


def test_backup_of_a_postgres_url_is_refused():
    with pytest.raises(backup.BackupError, match="pg_dump"):
        backup.backup("postgresql://u@localhost/mapapp", "x.sqlite")


def test_inspect_reports_counts(fresh_app, tmp_path):
    target = tmp_path / "b.sqlite"
    info = backup.backup(fresh_app.config["DATABASE_URL"], target)
    assert info["schema_version"] == db.SCHEMA_VERSION and info["counts"]["indicator_values"] > 0
    assert io.open(target, "rb").read(16) == backup.SQLITE_HEADER
