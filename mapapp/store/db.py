"""The store: schema and engine.

SQLAlchemy Core over SQLite by default; the URL comes from ``MAPAPP_DATABASE_URL``
so PostgreSQL (``postgresql+psycopg://…``) can replace SQLite without code changes.
Dates are ISO-8601 text (portable across both), ``''`` meaning "open ended" in validity
columns. Several processes may share one store: the schema and the seed are written
under :func:`exclusive` (``pg_advisory_lock`` on PostgreSQL, a lock database beside an
SQLite file), and single values are upserted (:func:`upsert`), never deleted and inserted.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import threading

import sqlalchemy as sa
from flask import current_app, g
from sqlalchemy import event

#: Version of the schema this code writes. Older stores are brought up to it by :data:`MIGRATIONS`
#: (see :func:`create_schema`); a store from a newer version is refused, never altered.
#: 1: the map data; 2: import history tables (imports, import_value_changes,
#: import_boundary_snapshots, project_points); 3: accounts (users, login_failures);
#: 4: unit parents, geometry packs; 5: English boundary labels, indicators' preset legend bands;
#: 6: precomputed answers.
SCHEMA_VERSION = 6

metadata = sa.MetaData()

meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

sources = sa.Table(
    "sources", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=False, server_default=""),
    sa.Column("quote", sa.Text, nullable=False, server_default=""),
    sa.Column("illustrative", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("title", "url", name="uq_source"),
)

units = sa.Table(
    "units", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(16), nullable=False),
    # '' = existed before the registry starts / still valid.
    sa.Column("valid_from", sa.String(10), nullable=False, server_default=""),
    sa.Column("valid_to", sa.String(10), nullable=False, server_default=""),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("successor_code", sa.String(16), nullable=False, server_default=""),
    sa.Column("established_by", sa.Text, nullable=False, server_default=""),
    sa.Column("ended_by", sa.Text, nullable=False, server_default=""),
    # Where the unit lies ("Huyện Kim Sơn, Ninh Bình"): names repeat across a country.
    sa.Column("parent", sa.Text, nullable=False, server_default=""),
    sa.UniqueConstraint("code", "valid_from", name="uq_unit_key"),
)

boundary_versions = sa.Table(
    "boundary_versions", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("valid_from", sa.String(10), nullable=False, server_default=""),
    sa.Column("valid_to", sa.String(10), nullable=False, server_default=""),
    sa.Column("label", sa.Text, nullable=False),  # Vietnamese
    sa.Column("label_en", sa.Text, nullable=False, server_default=""),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("unit_count", sa.Integer, nullable=False),
    # Compact GeoJSON served as is (geometry is derived once, not per request).
    sa.Column("units_geojson", sa.Text, nullable=False),
)

unit_boundaries = sa.Table(
    "unit_boundaries", metadata,
    sa.Column("version_id", sa.String(32), sa.ForeignKey("boundary_versions.id"), primary_key=True),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), primary_key=True),
    sa.Column("geometry", sa.Text, nullable=False),
    sa.Column("area_km2", sa.Float, nullable=False),
    sa.Column("label_lon", sa.Float, nullable=False),
    sa.Column("label_lat", sa.Float, nullable=False),
)

indicators = sa.Table(
    "indicators", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name_vi", sa.Text, nullable=False),
    sa.Column("name_en", sa.Text, nullable=False),
    sa.Column("unit_vi", sa.Text, nullable=False),
    sa.Column("unit_en", sa.Text, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # rate | count | measure
    sa.Column("higher_is_better", sa.Boolean, nullable=True),
    sa.Column("decimals", sa.Integer, nullable=False),
    sa.Column("sort_order", sa.Integer, nullable=False),
    # Preset legend bands ("10,20,30,40"), used by default when set ('' = computed classes).
    sa.Column("legend_breaks", sa.Text, nullable=False, server_default=""),
)

indicator_values = sa.Table(
    "indicator_values", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("indicator_id", sa.String(64), sa.ForeignKey("indicators.id"), nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("numerator", sa.Float, nullable=True),
    sa.Column("denominator", sa.Float, nullable=True),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id"), nullable=False),
    sa.Column("illustrative", sa.Boolean, nullable=False),
    # "seed" = loaded from the bundled sources by init-db (replaced on re-seed).
    sa.Column("origin", sa.String(32), nullable=False, server_default="seed"),
    sa.UniqueConstraint("unit_id", "year", "indicator_id", name="uq_value"),
    sa.Index("ix_values_lookup", "indicator_id", "year"),
)

projects = sa.Table(
    "projects", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("donor", sa.Text, nullable=False),
    sa.Column("sector", sa.Text, nullable=False),
    sa.Column("communes_text", sa.Text, nullable=False),
    sa.Column("start_year", sa.Integer, nullable=True),
    sa.Column("end_year", sa.Integer, nullable=True),
    sa.Column("years_text", sa.Text, nullable=False),
    sa.Column("budget", sa.Text, nullable=False),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id"), nullable=False),
)

project_units = sa.Table(
    "project_units", metadata,
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), primary_key=True),
    sa.Column("villages", sa.Text, nullable=False, server_default=""),
)


# --- Import history (mapapp.importing, project_import, boundary_import) -------------------------
# One row per import; every value an import wrote keeps the row it replaced, so an
# import can be undone exactly. Project ids and other details live in ``summary`` (JSON).
imports = sa.Table(
    "imports", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # indicators | projects | boundaries
    sa.Column("status", sa.String(16), nullable=False),  # applied | undone
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("created_by", sa.Text, nullable=False, server_default=""),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("source_document", sa.Text, nullable=False, server_default=""),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id"), nullable=True),
    sa.Column("summary", sa.Text, nullable=False, server_default="{}"),
    sa.Column("undone_at", sa.String(32), nullable=False, server_default=""),
    sa.Column("undone_by", sa.Text, nullable=False, server_default=""),
)

import_value_changes = sa.Table(
    "import_value_changes", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False, index=True),
    sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("indicator_id", sa.String(64), nullable=False),
    sa.Column("previous_exists", sa.Boolean, nullable=False),
    # The replaced row, column for column (NULL when there was none).
    sa.Column("old_value", sa.Float, nullable=True),
    sa.Column("old_numerator", sa.Float, nullable=True),
    sa.Column("old_denominator", sa.Float, nullable=True),
    sa.Column("old_source_id", sa.Integer, nullable=True),
    sa.Column("old_illustrative", sa.Boolean, nullable=True),
    sa.Column("old_origin", sa.String(32), nullable=True),
    sa.Column("new_value", sa.Float, nullable=True),
    sa.Column("new_numerator", sa.Float, nullable=True),
    sa.Column("new_denominator", sa.Float, nullable=True),
)

import_boundary_snapshots = sa.Table(
    "import_boundary_snapshots", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False, index=True),
    sa.Column("version_id", sa.String(32), nullable=False),
    # created: the import added this version (undo deletes it);
    # replaced/changed: ``payload`` holds the version row and its unit rows as they were (JSON).
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("payload", sa.Text, nullable=False, server_default=""),
)

# Coordinates given for imported projects (no foreign key: the seed replaces the project
# table wholesale). The map draws a project at its points when it has any, else at its communes.
project_points = sa.Table(
    "project_points", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("project_id", sa.Integer, nullable=False, index=True),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("label", sa.Text, nullable=False, server_default=""),
)


# --- Accounts (mapapp.auth) -------------------------------------------------------------------
users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),  # lower case, see auth.USERNAME
    sa.Column("password_hash", sa.Text, nullable=False),  # werkzeug.security (scrypt), never the password
    sa.Column("role", sa.String(16), nullable=False),  # viewer | editor | admin
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("last_login_at", sa.String(32), nullable=False, server_default=""),
    # Bumped when the password, role or active flag changes: older sessions stop working.
    sa.Column("session_epoch", sa.Integer, nullable=False, server_default="0"),
)

# Failed logins, kept for the rate limit window only (see mapapp.store.users.LoginLimiter).
login_failures = sa.Table(
    "login_failures", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ip", sa.String(64), nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),  # Unix time
    sa.Index("ix_login_failures_ip", "ip", "at"),
)


# District-level figures of ../shared/data and the 2016-2020 report (see mapapp.ingest.district_facts).
DATASET_FACTS = "district-facts"
DATASET_REPORT = "report-161"
district_facts = sa.Table(
    "district_facts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("dataset", sa.String(32), nullable=False),  # district-facts | report-161
    sa.Column("position", sa.Integer, nullable=False),  # row order in the source file
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("period", sa.Text, nullable=False),  # as written: "2018", "2016-2020", "c.2018 (article undated)"
    sa.Column("year", sa.Integer, nullable=True),  # set when the period is one plain year
    sa.Column("indicator", sa.String(96), nullable=False),
    sa.Column("value_text", sa.Text, nullable=False),  # as written: "82000 (approx.)", "13 of 22"
    sa.Column("value", sa.Float, nullable=True),  # set when value_text is a plain number
    sa.Column("unit", sa.Text, nullable=False, server_default=""),
    sa.Column("source_title", sa.Text, nullable=False),
    sa.Column("source_url", sa.Text, nullable=False, server_default=""),
    sa.Column("quote", sa.Text, nullable=False, server_default=""),
)


# Derived answers (a year's values on a layout...) computed when the data changes, so that a
# restarted process answers at once; rows of other generations are stale (mapapp.store.answers).
answers = sa.Table(
    "answers", metadata,
    sa.Column("generation", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("body", sa.LargeBinary, nullable=False),  # gzip of the answer's UTF-8 JSON
)


def default_database_url(instance_path: str, atlas_id: str = "") -> str:
    """Return the SQLite URL of the atlas's database file in the instance folder."""
    from mapapp.core.atlas import database_name

    return f"sqlite:///{instance_path}/{database_name(atlas_id)}"


def make_engine(url: str) -> sa.Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys.

    ``pool_pre_ping``: a pooled connection is tested before use, so the first request after a
    database restart gets a new connection instead of an error.
    """
    engine = sa.create_engine(url, future=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        if engine.url.database and engine.url.database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(engine.url.database)), exist_ok=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    return engine


def get_engine() -> sa.Engine:
    """Return the application's engine (one per app, created lazily)."""
    app = current_app._get_current_object()
    engine = app.extensions.get("mapapp_engine")
    if engine is None:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["mapapp_engine"] = engine
    return engine


def connection() -> sa.Connection:
    """Return a read connection bound to the current request/app context."""
    if "db_conn" not in g:
        g.db_conn = get_engine().connect()
    return g.db_conn


def close_connection(_exc=None) -> None:
    """Close the context's connection, if any."""
    conn = g.pop("db_conn", None)
    if conn is not None:
        conn.close()


class SchemaTooNew(RuntimeError):
    """The store was written by a newer version of the app: it is left untouched."""


def _create_tables(conn: sa.Connection, *tables: sa.Table) -> None:
    metadata.create_all(conn, tables=list(tables), checkfirst=True)


def _migrate_to_2(conn: sa.Connection) -> None:
    """2: the import history (undo needs it)."""
    _create_tables(conn, imports, import_value_changes, import_boundary_snapshots, project_points)


def _migrate_to_3(conn: sa.Connection) -> None:
    """3: accounts and the login rate limit."""
    _create_tables(conn, users, login_failures)


def _migrate_to_4(conn: sa.Connection) -> None:
    """4: a unit's parents (atlases of a province or a country); geometry packs (created by create_all)."""
    conn.execute(sa.text("ALTER TABLE units ADD COLUMN parent TEXT NOT NULL DEFAULT ''"))


def _migrate_to_5(conn: sa.Connection) -> None:
    """5: boundary versions' English labels; indicators' preset legend bands (filled by the next seed)."""
    conn.execute(sa.text("ALTER TABLE boundary_versions ADD COLUMN label_en TEXT NOT NULL DEFAULT ''"))
    conn.execute(sa.text("ALTER TABLE indicators ADD COLUMN legend_breaks TEXT NOT NULL DEFAULT ''"))


def _migrate_to_6(conn: sa.Connection) -> None:
    """6: precomputed answers."""
    _create_tables(conn, answers)


#: ``(version, function)`` in order: ``function`` brings a store at ``version - 1`` to ``version``.
#: Each runs in its own transaction together with the version stamp, so a crash leaves the
#: store at a whole version. Never edit a published step: add a new one and bump SCHEMA_VERSION.
MIGRATIONS: list[tuple[int, object]] = [
    (2, _migrate_to_2),
    (3, _migrate_to_3),
    (4, _migrate_to_4),
    (5, _migrate_to_5),
    (6, _migrate_to_6),
]


def stored_schema_version(conn: sa.Connection) -> int | None:
    """The schema version recorded in the store; ``None`` for an empty store.

    A store with tables but no recorded version predates versioning: version 1.
    """
    inspector = sa.inspect(conn)
    if inspector.has_table("meta"):
        value = get_meta(conn, "schema_version")
        if value is not None:
            return int(value)
    return 1 if inspector.has_table("units") else None


def is_postgresql(bind: sa.Engine | sa.Connection) -> bool:
    return bind.dialect.name == "postgresql"


_held = threading.local()


@contextlib.contextmanager
def exclusive(engine: sa.Engine, name: str = "store"):
    """Hold the store's lock ``name`` across processes and servers (re-entrant in one thread).

    PostgreSQL: a session ``pg_advisory_lock`` on a connection of its own. SQLite: an
    exclusive write transaction on a small lock database ``<database>.<name>.lock``
    beside the file (:func:`_sqlite_file_lock`) (an in-memory store
    has one process). Used by :func:`create_schema` and the seeds, so that any number of
    servers may start together on an empty store: one writes, the others wait and then
    find the work done.
    """
    held = getattr(_held, "keys", None)
    if held is None:
        held = _held.keys = set()
    key = (str(engine.url), name)
    if key in held:
        yield
        return
    held.add(key)
    try:
        if is_postgresql(engine):
            number = int.from_bytes(hashlib.sha256(f"mapapp:{name}".encode()).digest()[:8], "big", signed=True)
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": number})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": number})
                    conn.commit()
        elif engine.dialect.name == "sqlite" and engine.url.database and engine.url.database != ":memory:":
            with _sqlite_file_lock(f"{os.path.abspath(engine.url.database)}.{name}.lock"):
                yield
        else:
            yield
    finally:
        held.discard(key)


@contextlib.contextmanager
def _sqlite_file_lock(path: str, timeout_s: float = 900.0):
    """Hold a lock across processes on any OS: a ``BEGIN IMMEDIATE`` transaction on a tiny SQLite file.

    The seed spans several connections of the store, so the store's own write lock cannot be
    held for it; a separate lock database can. SQLite's file locking works on Windows and
    Unix alike, and the lock dies with the process that held it (no stale lock files).
    """
    import sqlite3

    handle = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    try:
        handle.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            handle.execute("ROLLBACK")
    finally:
        handle.close()


def create_schema(engine: sa.Engine) -> list[int]:
    """Create or upgrade the schema under the store's lock (see :func:`_create_schema`)."""
    with exclusive(engine):
        return _create_schema(engine)


def _create_schema(engine: sa.Engine) -> list[int]:
    """Create or upgrade the schema to :data:`SCHEMA_VERSION`; return the migrations applied.

    An empty store gets every table at once. A store at an older version gets the
    :data:`MIGRATIONS` after its version, in order, each in one transaction. Tables
    that other modules add to :data:`metadata` are created when missing (idempotent).

    Raises
    ------
    SchemaTooNew
        When the store's version is higher than this code's (nothing is changed).
    """
    with engine.connect() as conn:
        stored = stored_schema_version(conn)
    applied: list[int] = []
    if stored is None:
        metadata.create_all(engine)
        with engine.begin() as conn:
            set_meta(conn, "schema_version", str(SCHEMA_VERSION))
        return applied
    if stored > SCHEMA_VERSION:
        raise SchemaTooNew(f"the database has schema version {stored}, this app knows up to {SCHEMA_VERSION}: "
                           "use a newer version of the app (nothing was changed)")
    for version, migrate in MIGRATIONS:
        if version <= stored:
            continue
        with engine.begin() as conn:
            migrate(conn)
            set_meta(conn, "schema_version", str(version))
        applied.append(version)
    metadata.create_all(engine)
    with engine.begin() as conn:
        if get_meta(conn, "schema_version") != str(SCHEMA_VERSION):
            set_meta(conn, "schema_version", str(SCHEMA_VERSION))
    return applied


def integrity_check(conn: sa.Connection) -> str:
    """``'ok'`` when the store reads back whole, else what is wrong.

    SQLite: ``PRAGMA integrity_check`` (every page, index and constraint). PostgreSQL, which
    has no such statement: every table of the schema is read through (a damaged page or a
    missing table raises).
    """
    if conn.dialect.name == "sqlite":
        return conn.exec_driver_sql("PRAGMA integrity_check").scalar()
    present = set(sa.inspect(conn).get_table_names())
    missing = [t.name for t in metadata.sorted_tables if t.name not in present]
    if missing:
        return "missing tables: " + ", ".join(missing)
    for table in metadata.sorted_tables:
        conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
    return "ok"


def bump_generation(conn: sa.Connection) -> None:
    """Mark the data as changed (call inside every transaction that writes data).

    The generation is a random token: caches of derived answers (see
    :func:`data_generation`) are keyed on it, so equal tokens mean equal data.
    """
    set_meta(conn, "data_generation", secrets.token_hex(8))


def data_generation(conn: sa.Connection) -> str:
    """The token of the data's current state ('' before the first write)."""
    return get_meta(conn, "data_generation") or ""


def get_meta(conn: sa.Connection, key: str) -> str | None:
    """Read one value of the key/value ``meta`` table."""
    return conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar()


def set_meta(conn: sa.Connection, key: str, value: str) -> None:
    """Insert or replace one value of the ``meta`` table (one upsert: safe beside other writers)."""
    upsert(conn, meta, [{"key": key, "value": value}], ["key"])


def upsert(conn: sa.Connection, table: sa.Table, rows: list[dict], keys: list[str]) -> None:
    """Insert ``rows``; a row whose ``keys`` exist already updates the other columns given.

    ``INSERT … ON CONFLICT (keys) DO UPDATE``, which SQLite and PostgreSQL both know.
    """
    if not rows:
        return
    if is_postgresql(conn):
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(f"upsert on {conn.dialect.name}")
    statement = insert(table)
    others = [c for c in rows[0] if c not in keys]
    if others:
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={c: statement.excluded[c] for c in others})
    else:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    conn.execute(statement, rows)
