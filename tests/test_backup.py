"""Data safety: online backup during writes, validated restore, schema migrations, history across restarts.

On both stores: a backup is an SQLite file (SQLite) or a pg_dump archive (PostgreSQL); a
backup is read back by restoring it into a scratch store of its own (:func:`opened`).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import threading
import time

import pytest
import sqlalchemy as sa
from conftest import (
    ON_POSTGRESQL,
    drop_postgresql_database,
    make_app,
    needs_shared,
    new_postgresql_database,
    sqlite_only,
    store_engine,
)
from import_builders import SOURCE, import_count, poverty_annex_xlsx, poverty_rows, units_of, value_rows

from mapapp.store import backup, db

pytestmark = needs_shared
SUFFIX = ".pgdump" if ON_POSTGRESQL else ".sqlite"


def db_path(app) -> str:
    return app.config["DATABASE_URL"].removeprefix("sqlite:///")


@contextlib.contextmanager
def opened(path, tmp_path=None):
    """An engine on a backup file: the SQLite file itself, or the archive restored into a scratch database."""
    if not ON_POSTGRESQL:
        engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    name = "scratch_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    url = new_postgresql_database(name)
    backup.restore(url, path, "/nonexistent-never-used")  # the scratch store is empty: nothing is kept
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()
        drop_postgresql_database(name)


def dump_engine(engine: sa.Engine, skip=("sqlite_sequence",)) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order (to compare two stores)."""
    with engine.connect() as conn:
        tables = sorted(sa.inspect(conn).get_table_names())
        result = {}
        for t in tables:
            if t in skip:
                continue
            width = len(sa.inspect(conn).get_columns(t))
            order = ", ".join(str(i) for i in range(1, width + 1))
            result[t] = [tuple(r) for r in conn.execute(sa.text(f'SELECT * FROM "{t}" ORDER BY {order}'))]
        return result


def dump(app_or_path) -> dict[str, list[tuple]]:
    if hasattr(app_or_path, "config"):
        return dump_engine(store_engine(app_or_path))
    with opened(app_or_path) as engine:
        return dump_engine(engine)


def digest(app_or_path) -> str:
    return hashlib.sha256(repr(dump(app_or_path)).encode()).hexdigest()


def integrity(app_or_path) -> str:
    if hasattr(app_or_path, "config"):
        with store_engine(app_or_path).connect() as conn:
            return db.integrity_check(conn)
    with opened(app_or_path) as engine, engine.connect() as conn:
        return db.integrity_check(conn) if ON_POSTGRESQL else conn.exec_driver_sql("PRAGMA integrity_check").scalar()


def execute(app, *statements, **params) -> None:
    """Run SQL statements in one transaction on ``app``'s store."""
    with store_engine(app).begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), params)


# --- the store's settings ---------------------------------------------------------------------

@sqlite_only
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(app):
    with app.app_context():
        with db.get_engine().connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


# --- backup during writes -------------------------------------------------------------------

# The ledger lives in a table of ours (restore refuses tables a mapapp store does not have):
# login_failures rows with ip 'ledger', the transaction number k as username, the amount as at.
LEDGER_ROW = sa.text("INSERT INTO login_failures (ip, username, at) VALUES ('ledger', :k, :amount)")
LEDGER_SUMS = sa.text("SELECT count(*), coalesce(sum(at), 0), coalesce(max(CAST(username AS INTEGER)), 0) "
                      "FROM login_failures WHERE ip = 'ledger'")


class Writer(threading.Thread):
    """Writes transactions of 2 ledger rows + a counter + an indicator value, as fast as it can.

    After transaction k: ledger has 2k rows summing to 0, meta 'ledger' = k, and the
    first indicator value = k. Any consistent snapshot satisfies all three for one k.
    """

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.engine = db.make_engine(url)
        self.k = 0
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            with self.engine.connect() as conn:
                first_id = conn.execute(sa.text("SELECT min(id) FROM indicator_values")).scalar()
            while not self.stop.is_set():
                k = self.k + 1
                with self.engine.begin() as conn:
                    conn.execute(LEDGER_ROW, [{"k": str(k), "amount": k * 7}, {"k": str(k), "amount": -k * 7}])
                    conn.execute(sa.text("UPDATE meta SET value = :v WHERE key = 'ledger'"), {"v": str(k)})
                    conn.execute(sa.text("UPDATE indicator_values SET value = :v WHERE id = :id"),
                                 {"v": float(k), "id": first_id})
                self.k = k
        except Exception as error:  # pragma: no cover - reported by the test
            self.error = error
        finally:
            self.engine.dispose()


def snapshot_k_of(engine: sa.Engine) -> int:
    """The transaction count of a store, asserting it is a consistent snapshot."""
    with engine.connect() as conn:
        k = int(conn.execute(sa.text("SELECT value FROM meta WHERE key = 'ledger'")).scalar())
        count, total, top = conn.execute(LEDGER_SUMS).one()
        first = conn.execute(sa.text("SELECT value FROM indicator_values ORDER BY id LIMIT 1")).scalar()
    assert count == 2 * k and total == 0 and top == k, (k, count, total, top)
    if k:
        assert first == float(k)
    return k


def snapshot_k(app_or_path) -> int:
    if hasattr(app_or_path, "config"):
        return snapshot_k_of(store_engine(app_or_path))
    with opened(app_or_path) as engine:
        return snapshot_k_of(engine)


def test_backup_during_writes_restores_a_consistent_snapshot(fresh_app, tmp_path):
    live = fresh_app
    with store_engine(fresh_app).begin() as conn:
        conn.execute(sa.text("INSERT INTO meta (key, value) VALUES ('ledger', '0')"))
    writer = Writer(fresh_app.config["DATABASE_URL"])
    writer.start()
    try:
        deadline = time.time() + 30
        while writer.k < 50 and time.time() < deadline:
            time.sleep(0.01)
        before = writer.k
        target = tmp_path / f"sao-luu{SUFFIX}"
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
    assert snapshot_k(kept) == writer.k and integrity(kept) == "ok"
    # and the app works on the restored store
    client = fresh_app.test_client()
    assert client.get("/api/values?indicator=poverty_rate&year=2021").status_code == 200


def test_restore_reaches_a_running_reader(fresh_app, tmp_path):
    """A server's open connection sees the restored store at its next read, never a mix."""
    target = tmp_path / f"b{SUFFIX}"
    with fresh_app.app_context():
        backup.backup(fresh_app.config["DATABASE_URL"], target)
    reader = db.make_engine(fresh_app.config["DATABASE_URL"]).connect()  # a server's pooled connection

    def read(sql):
        try:
            return reader.execute(sa.text(sql)).scalar()
        finally:
            reader.commit()  # a request ends its transaction

    count = read("SELECT count(*) FROM indicator_values")
    execute(fresh_app, "DELETE FROM indicator_values WHERE year = 2021")
    assert read("SELECT count(*) FROM indicator_values") < count
    backup.restore(fresh_app.config["DATABASE_URL"], target, tmp_path / "kept")
    assert read("SELECT count(*) FROM indicator_values") == count
    assert db.integrity_check(reader) == "ok"
    reader.close()


def test_backup_refuses_to_overwrite(fresh_app, tmp_path):
    runner = fresh_app.test_cli_runner()
    target = tmp_path / f"a{SUFFIX}"
    target.write_bytes(b"keep me")
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code != 0 and "--force" in result.output and target.read_bytes() == b"keep me"
    assert runner.invoke(args=["backup", str(target), "--force"]).exit_code == 0
    assert integrity(target) == "ok"
    if not ON_POSTGRESQL:  # the live store is a file only on SQLite
        live = runner.invoke(args=["backup", db_path(fresh_app), "--force"])
        assert live.exit_code != 0 and integrity(fresh_app) == "ok"
    missing = runner.invoke(args=["backup", str(tmp_path / "no" / "such" / f"dir{SUFFIX}")])
    assert missing.exit_code != 0
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# --- restore validation -----------------------------------------------------------------------

def _not_mapapp(path, app):
    if ON_POSTGRESQL:
        url = new_postgresql_database("scratch_other")
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE notes (x TEXT)"))
        engine.dispose()
        backup.pg_dump(url, path)
        drop_postgresql_database("scratch_other")
        return
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE notes (x TEXT)"))
    engine.dispose()


def _newer(path, app):
    execute(app, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    try:
        if ON_POSTGRESQL:
            backup.pg_dump(app.config["DATABASE_URL"], path)  # as a newer app's backup would be
        else:
            backup._copy_consistent(backup.database_path(app.config["DATABASE_URL"]), path)
    finally:
        execute(app, "UPDATE meta SET value = :v WHERE key = 'schema_version'", v=str(db.SCHEMA_VERSION))


def _damaged(path, app):
    backup.backup(app.config["DATABASE_URL"], path)
    data = bytearray(path.read_bytes())
    start, step = (2048, 1024) if ON_POSTGRESQL else (8192, 4096)
    for offset in range(start, min(len(data) - 400, 8192 * 40), step):
        data[offset + 100:offset + 400] = b"\xff" * 300
    path.write_bytes(bytes(data))


NOT_A_BACKUP = "not a pg_dump archive" if ON_POSTGRESQL else "not an SQLite database"


@pytest.mark.parametrize("kind,message", [
    ("text", NOT_A_BACKUP), ("empty", NOT_A_BACKUP), ("other", "not a mapapp database"),
    ("newer", "schema version 99"), ("damaged", ""),
])
def test_restore_refuses_files_that_are_not_a_sound_mapapp_store(fresh_app, tmp_path, kind, message):
    bad = tmp_path / f"{kind}{SUFFIX}"
    if kind == "text":
        bad.write_text("Xã,Năm\nLìa,2021\n", encoding="utf-8")
    elif kind == "empty":
        bad.write_bytes(b"")
    elif kind == "other":
        _not_mapapp(bad, fresh_app)
    elif kind == "newer":
        _newer(bad, fresh_app)
    else:
        _damaged(bad, fresh_app)
    before = digest(fresh_app)
    fresh_app.config["BACKUP_DIR"] = str(tmp_path / "kept")
    result = fresh_app.test_cli_runner().invoke(args=["restore", str(bad), "--yes"])
    assert result.exit_code != 0 and "LỖI/ERROR" in result.output
    assert message in result.output, result.output
    assert digest(fresh_app) == before
    assert not (tmp_path / "kept").exists()  # refused before anything was done


def test_restore_asks_before_replacing(fresh_app, tmp_path):
    target = tmp_path / f"b{SUFFIX}"
    runner = fresh_app.test_cli_runner()
    runner.invoke(args=["backup", str(target)])
    execute(fresh_app, "DELETE FROM indicator_values WHERE year = 2020")
    before = digest(fresh_app)
    fresh_app.config["BACKUP_DIR"] = str(tmp_path / "kept")
    result = runner.invoke(args=["restore", str(target)], input="n\n")
    assert result.exit_code != 0 and digest(fresh_app) == before
    result = runner.invoke(args=["restore", str(target)], input="y\n")
    assert result.exit_code == 0 and digest(fresh_app) == digest(target)


# --- migrations -----------------------------------------------------------------------------

def _downgrade(engine: sa.Engine, version: int) -> None:
    """Make the store look like one written by an older version of the app."""
    drop = {5: ["answers"],
            4: ["answers"],
            3: ["answers", "geometry_packs"],
            2: ["answers", "geometry_packs", "users", "login_failures"],
            1: ["answers", "geometry_packs", "users", "login_failures", "imports", "import_value_changes",
                "import_boundary_snapshots", "project_points"]}[version]
    cascade = " CASCADE" if db.is_postgresql(engine) else ""
    with engine.begin() as conn:
        if version < 5:
            conn.execute(sa.text("ALTER TABLE boundary_versions DROP COLUMN label_en"))
            conn.execute(sa.text("ALTER TABLE indicators DROP COLUMN legend_breaks"))
        if version < 4:
            conn.execute(sa.text("ALTER TABLE units DROP COLUMN parent"))
        for table in drop:
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"{cascade}'))
        if version == 1:
            conn.execute(sa.text("DELETE FROM meta WHERE key = 'schema_version'"))
        else:
            conn.execute(sa.text("UPDATE meta SET value = :v WHERE key = 'schema_version'"), {"v": str(version)})


@pytest.mark.parametrize("version,expected", [(1, [2, 3, 4, 5, 6]), (2, [3, 4, 5, 6]), (3, [4, 5, 6]), (4, [5, 6]),
                                              (5, [6]), (6, [])])
def test_create_schema_migrates_older_stores_and_keeps_their_data(fresh_app, version, expected):
    _downgrade(store_engine(fresh_app), version) if version < 6 else None
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
            assert "label_en" in {c["name"] for c in inspector.get_columns("boundary_versions")}
            assert "legend_breaks" in {c["name"] for c in inspector.get_columns("indicators")}
    finally:
        engine.dispose()
    assert value_rows(fresh_app) == values


def test_a_store_from_a_newer_app_is_refused_untouched(fresh_app):
    execute(fresh_app, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    before = digest(fresh_app)
    engine = db.make_engine(fresh_app.config["DATABASE_URL"])
    try:
        with pytest.raises(db.SchemaTooNew):
            db.create_schema(engine)
    finally:
        engine.dispose()
    assert digest(fresh_app) == before


def test_migrations_are_ordered_and_end_at_the_schema_version():
    versions = [v for v, _ in db.MIGRATIONS]
    assert versions == sorted(versions) == list(range(2, db.SCHEMA_VERSION + 1))


def test_restoring_an_old_backup_migrates_it(fresh_app, tmp_path):
    old = tmp_path / f"old{SUFFIX}"
    current = tmp_path / f"current{SUFFIX}"
    backup.backup(fresh_app.config["DATABASE_URL"], current)
    _downgrade(store_engine(fresh_app), 2)  # the store as an older app had it: its backup is an old one
    store_engine(fresh_app).dispose()
    if ON_POSTGRESQL:
        backup.pg_dump(fresh_app.config["DATABASE_URL"], old)
    else:
        backup._copy_consistent(backup.database_path(fresh_app.config["DATABASE_URL"]), old)
    backup.restore(fresh_app.config["DATABASE_URL"], current, tmp_path / "kept")
    result = backup.restore(fresh_app.config["DATABASE_URL"], old, tmp_path / "kept")
    assert result["schema_version"] == 2 and result["migrated"] == [3, 4, 5, 6]
    with store_engine(fresh_app).connect() as conn:
        assert conn.execute(sa.text("SELECT value FROM meta WHERE key='schema_version'")).scalar() == "6"
        assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar() == 0


# --- history and undo across restarts -------------------------------------------------------

def test_import_history_and_undo_survive_a_restart_and_a_backup(tmp_path):
    first = make_app(tmp_path)
    before = value_rows(first)
    path = tmp_path / "pl.xlsx"
    path.write_bytes(poverty_annex_xlsx(poverty_rows(units_of(first, 2021)), year=2021))
    result = first.test_cli_runner().invoke(args=["import-indicators", str(path), "--source", SOURCE])
    assert result.exit_code == 0, result.output
    imported = value_rows(first)
    saved = tmp_path / f"after-import{SUFFIX}"
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


def test_backup_of_another_database_is_refused():
    with pytest.raises(backup.BackupError, match="only SQLite and PostgreSQL"):
        backup.backup("mysql://u@localhost/mapapp", "x.sqlite")


def test_inspect_reports_counts(fresh_app, tmp_path):
    target = tmp_path / f"b{SUFFIX}"
    info = backup.backup(fresh_app.config["DATABASE_URL"], target)
    assert info["schema_version"] == db.SCHEMA_VERSION and info["counts"]["indicator_values"] > 0
    header = backup.PG_DUMP_HEADER if ON_POSTGRESQL else backup.SQLITE_HEADER
    assert io.open(target, "rb").read(len(header)) == header


def test_a_backup_for_the_other_store_is_refused(fresh_app, tmp_path):
    """An SQLite file cannot be restored into PostgreSQL, nor a pg_dump archive into SQLite."""
    other = tmp_path / "other.bin"
    other.write_bytes((backup.SQLITE_HEADER if ON_POSTGRESQL else backup.PG_DUMP_HEADER) + b"\0" * 200)
    before = digest(fresh_app)
    with pytest.raises(backup.BackupError, match=NOT_A_BACKUP):
        backup.restore(fresh_app.config["DATABASE_URL"], other, tmp_path / "kept")
    assert digest(fresh_app) == before and not (tmp_path / "kept").exists()
