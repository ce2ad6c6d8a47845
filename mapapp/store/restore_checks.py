"""What a file must pass before :func:`mapapp.store.backup.restore` writes it into the live store.

``PRAGMA integrity_check`` only proves that SQLite can read the file. A backup can still
carry objects of its own (a ``CREATE TRIGGER`` that later deletes values, a view, an
index), or stored JSON and geometry that no longer decode, which would fail every page
after a restart. So a restore also checks:

* the schema is exactly ours: every table, index, trigger and view of the file exists, with
  the same SQL, in a fresh store made by :func:`mapapp.store.db.create_schema` (a file of an
  older version: the same names, no triggers or views); tables the file lacks are created by
  the migration after the restore;
* every stored JSON (GeoJSON of versions and units, import summaries and snapshots, geometry
  packs) decodes, and every geometry is a non-empty shape on the Earth;
* numbers are finite and coordinates within WGS 84.
"""
from __future__ import annotations

import gzip
import json
import math
import sqlite3
import tempfile
import zlib
from pathlib import Path

from mapapp.store import db

MAX_PACK_BYTES = 256 * 1024 * 1024


class StoreRefused(ValueError):
    """The file is not exactly a mapapp store, or holds data that does not decode (message vi / en)."""


def our_schema() -> dict[tuple[str, str], str | None]:
    """``(type, name) → sql`` of a fresh store at the current schema version."""
    with tempfile.TemporaryDirectory(prefix="mapapp-schema-") as folder:
        engine = db.make_engine(f"sqlite:///{Path(folder) / 'fresh.sqlite'}")
        try:
            db.create_schema(engine)
        finally:
            engine.dispose()
        conn = sqlite3.connect(Path(folder) / "fresh.sqlite")
        try:
            return _objects(conn)
        finally:
            conn.close()


def _objects(conn: sqlite3.Connection) -> dict[tuple[str, str], str | None]:
    return {(kind, name): _normal(sql) for kind, name, sql in
            conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%'")}


def _normal(sql: str | None) -> str | None:
    return " ".join(sql.split()) if sql else sql


def check_schema(conn: sqlite3.Connection, version: int) -> None:
    """Refuse any table, index, trigger or view that a fresh store of ours does not have.

    Raises
    ------
    StoreRefused
    """
    ours = our_schema()
    for (kind, name), sql in sorted(_objects(conn).items()):
        if kind in ("trigger", "view") or (kind, name) not in ours:
            raise StoreRefused(f"tệp có thêm {kind} '{name}' không thuộc cơ sở dữ liệu mapapp / the file has an "
                               f"extra {kind} '{name}' that a mapapp store does not have")
        if version == db.SCHEMA_VERSION and ours[(kind, name)] != sql:
            raise StoreRefused(f"{kind} '{name}' khác với lược đồ của mapapp / {kind} '{name}' differs from the "
                               f"mapapp schema")


def _rows(conn: sqlite3.Connection, table: str, columns: str):
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if table not in tables:
        return iter(())
    return conn.execute(f'SELECT {columns} FROM "{table}"')  # names are ours, never the user's


def _json(text, where: str):
    try:
        return json.loads(text)
    except (TypeError, ValueError, RecursionError):
        raise StoreRefused(f"{where}: dữ liệu JSON hỏng / stored JSON does not decode") from None


def _finite(values, where: str) -> None:
    for value in values:
        if value is not None and (not isinstance(value, (int, float)) or not math.isfinite(value)
                                  or abs(value) > 1e15):
            raise StoreRefused(f"{where}: số không hợp lệ {value!r} / a stored number is not finite or in range")


def _on_earth(lon, lat, where: str) -> None:
    _finite((lon, lat), where)
    if lon is None or lat is None or abs(lon) > 180 or abs(lat) > 90:
        raise StoreRefused(f"{where}: tọa độ ngoài WGS 84 ({lon}, {lat}) / coordinates outside WGS 84")


def check_data(conn: sqlite3.Connection) -> None:
    """Refuse stored JSON, geometry and numbers that do not decode or are out of range.

    Raises
    ------
    StoreRefused
    """
    import shapely
    import shapely.errors

    for version_id, text in _rows(conn, "boundary_versions", "id, units_geojson"):
        value = _json(text, f"boundary_versions '{version_id}'")
        if not isinstance(value, dict) or not isinstance(value.get("features", []), list):
            raise StoreRefused(f"boundary_versions '{version_id}': không phải GeoJSON / not GeoJSON")
    for unit_id, version_id, text, area, lon, lat in _rows(
            conn, "unit_boundaries", "unit_id, version_id, geometry, area_km2, label_lon, label_lat"):
        where = f"unit_boundaries ({version_id}, {unit_id})"
        try:
            geom = shapely.from_geojson(text)
        except (shapely.errors.GEOSException, TypeError, ValueError):
            raise StoreRefused(f"{where}: hình học hỏng / the stored geometry does not decode") from None
        if geom is None or geom.is_empty:
            raise StoreRefused(f"{where}: hình học rỗng / the stored geometry is empty")
        minx, miny, maxx, maxy = geom.bounds
        _on_earth(minx, miny, where)
        _on_earth(maxx, maxy, where)
        _on_earth(lon, lat, where)
        _finite((area,), where)
    for version_id, level, raw_size, body in _rows(conn, "geometry_packs", "version_id, level, raw_size, body_gzip"):
        where = f"geometry_packs ({version_id}, {level})"
        if not isinstance(raw_size, int) or not 0 <= raw_size <= MAX_PACK_BYTES:
            raise StoreRefused(f"{where}: kích thước không hợp lệ / implausible size")
        try:
            raw = zlib.decompressobj(wbits=31).decompress(body, raw_size + 1)
        except (zlib.error, TypeError, gzip.BadGzipFile):
            raise StoreRefused(f"{where}: gói hình học hỏng / the geometry pack does not decompress") from None
        if len(raw) != raw_size:
            raise StoreRefused(f"{where}: gói hình học sai kích thước / the geometry pack has the wrong size")
        _json(raw, where)
    for import_id, summary in _rows(conn, "imports", "id, summary"):
        _json(summary or "{}", f"imports #{import_id}")
    for row_id, payload in _rows(conn, "import_boundary_snapshots", "id, payload"):
        if payload:
            _json(payload, f"import_boundary_snapshots #{row_id}")
    for row in _rows(conn, "indicator_values", "value, numerator, denominator"):
        _finite(row, "indicator_values")
    for row in _rows(conn, "import_value_changes", "old_value, old_numerator, old_denominator, new_value, "
                                                    "new_numerator, new_denominator"):
        _finite(row, "import_value_changes")
    for project_id, lon, lat in _rows(conn, "project_points", "project_id, lon, lat"):
        _on_earth(lon, lat, f"project_points (project {project_id})")


def check_file(path: Path, version: int) -> None:
    """Run :func:`check_schema` and :func:`check_data` on an SQLite file (read only).

    Raises
    ------
    StoreRefused
    """
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        check_schema(conn, version)
        check_data(conn)
    except sqlite3.DatabaseError as error:
        raise StoreRefused(f"không đọc được dữ liệu / the data cannot be read: {error}") from None
    finally:
        conn.close()
