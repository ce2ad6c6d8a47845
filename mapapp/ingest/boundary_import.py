"""Boundary import: GeoJSON, zipped Shapefile, GeoPackage or KML → a boundary version.

* CRS from the file (.prj, metadata); ``--crs`` when it has none, else the import is
  refused (coordinates are never silently taken as WGS84). VN-2000 lands right: the
  provincial 3° zones (EPSG:9205-9218; Quảng Trị 9212, central meridian 106°15'), UTM
  48N/49N (EPSG:3405/3406) and geographic VN-2000 (EPSG:4756) use pyproj's 7-parameter
  VN-2000 → WGS 84 transformation; a .prj naming the VN-2000 datum without TOWGS84
  (which pyproj would shift by a "ballpark" zero, 200+ m off) is replaced by the EPSG
  CRS with the same projection.
* Attribute text in TCVN3 (ABC), VNI Windows, cp1258 or UTF-8 (given or detected).
* Each feature is matched to a unit (code or name); invalid geometries are repaired and
  reported; overlaps and gaps between neighbours and the change from the previous
  version of the same units are measured (km²).
* Applying creates a boundary version for the date range (earlier versions are trimmed
  around it) in one transaction; undo restores the previous versions exactly.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from pathlib import Path

import shapely
import shapely.errors
import sqlalchemy as sa

from mapapp.geo import boundaries
from mapapp.geo.units import Unit, load_units
from mapapp.ingest import boundary_checks, encodings
from mapapp.ingest.annex import fold
from mapapp.ingest.boundary_crs import _project
from mapapp.ingest.boundary_files import BoundaryRequest, FeatureInfo, ParsedBoundaries, _read_frame, _reproject
from mapapp.ingest.transaction import (
    ImportRefused,
    Options,
    Problem,
    checksum_of,
    ensure_schema,
    record_import,
    register_undo,
    safe_filename,
    writing,
)
from mapapp.ingest.unit_match import UnitMatcher
from mapapp.ingest.value_writes import UndoRefused
from mapapp.store import db

_CODE_FIELDS = ("code", "ma", "ma xa", "maxa", "ma dvhc", "madvhc", "ma dv", "gso", "gso code", "commune code",
                "ma hanh chinh", "ma so")
_NAME_FIELDS = ("name", "ten", "ten xa", "tenxa", "ten dvhc", "tendvhc", "xa", "commune", "ten don vi", "name vi",
                "ten xa phuong")
OVERLAP_REPORT_KM2 = 0.01
IOU_WARNING = 0.9


# --- reading --------------------------------------------------------------------------------

def read_boundary_file(engine: sa.Engine, data: bytes, filename: str, request: BoundaryRequest,
                       options: Options, progress=None) -> ParsedBoundaries:
    """Read, decode, reproject, match and check a boundary file; never writes to the store.

    Returns
    -------
    ParsedBoundaries
        Decoded names, matched units, projected geometry and the report (errors block the import).
    """
    filename = safe_filename(filename)
    parsed = ParsedBoundaries(filename, checksum_of(data), request)
    ensure_schema(engine)
    with engine.connect() as conn:
        registry = load_units(conn)
        previous = _previous_geometry(conn, request.valid_from)
    if not _check_dates(request, registry, parsed):
        return parsed
    with tempfile.TemporaryDirectory(prefix="mapapp-boundary-") as tmp:
        frame = _read_frame(data, filename, request, parsed, Path(tmp))
    if frame is None or parsed.errors or not boundary_checks.check_finite(frame, parsed):
        return parsed
    if progress:
        progress("read", len(frame), len(frame))
    raw, frame = frame, _reproject(frame, request, parsed)
    if frame is None or not boundary_checks.check_geographic(raw, request.crs, parsed) \
            or not boundary_checks.check_wgs84(frame, parsed):
        return parsed
    try:
        _decode_and_match(frame, registry, request, options, parsed)
        if parsed.errors:
            return parsed
        _measure(parsed, previous)
    except shapely.errors.GEOSException as error:
        parsed.error(f"hình học không xử lý được / the geometry cannot be processed ({error}): kiểm tra tệp / "
                     f"check the file in a GIS")
        return parsed
    boundary_checks.check_moved(parsed, request.accept_moved)
    if progress:
        progress("check", len(frame), len(frame))
    return parsed


def _iso(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _check_dates(request: BoundaryRequest, registry, parsed: ParsedBoundaries) -> bool:
    start = _iso(request.valid_from)
    end = _iso(request.valid_to) if request.valid_to else None
    if start is None:
        parsed.error(f"ngày hiệu lực không hợp lệ / --valid-from must be YYYY-MM-DD, got {request.valid_from!r}")
        return False
    if request.valid_to and (end is None or end < start):
        parsed.error(f"--valid-to phải là ngày YYYY-MM-DD sau --valid-from / must be a date after --valid-from, "
                     f"got {request.valid_to!r}")
        return False
    units = [u for _, u in registry]
    layout = {u.key for u in units if u.valid_on(request.valid_from)}
    for date in _change_dates(units, request.valid_from, request.valid_to):
        if {u.key for u in units if u.valid_on(date)} != layout:
            parsed.error(f"danh sách xã thay đổi ngày {date}, trong khoảng hiệu lực; hãy tách thành hai lần nhập / "
                         f"the unit layout changes on {date}, inside the validity range: split the import")
            return False
    parsed.units = [u for u in units if u.key in layout]
    return True


def _change_dates(units: list[Unit], start: str, end: str) -> list[str]:
    dates = set()
    for u in units:
        if u.valid_from:
            dates.add(u.valid_from)
        if u.valid_to:
            dates.add((dt.date.fromisoformat(u.valid_to) + dt.timedelta(days=1)).isoformat())
    return sorted(d for d in dates if d > start and (not end or d <= end))


# --- coordinate systems ---------------------------------------------------------------------


# --- names and units ------------------------------------------------------------------------

def _pick_field(frame, candidates) -> str | None:
    for column in frame.columns:
        if column != "geometry" and fold(column).replace("_", " ") in candidates:
            return column
    return None


def _decode_and_match(frame, registry, request: BoundaryRequest, options: Options, parsed: ParsedBoundaries):
    name_field = _pick_field(frame, _NAME_FIELDS)
    code_field = _pick_field(frame, _CODE_FIELDS)
    if name_field is None and code_field is None:
        parsed.error(f"không thấy cột tên hay mã xã / no name or code field; có / fields: "
                     f"{', '.join(c for c in frame.columns if c != 'geometry')}")
        return
    matcher = UnitMatcher(registry, request.valid_from, options.shared_dir)
    raw = [str(v) if v is not None else "" for v in (frame[name_field] if name_field else [""] * len(frame))]
    encoding = _choose_encoding(raw, request, matcher, parsed, frame.attrs.get("legacy_read", False))
    if encoding is None:
        return
    names = [encodings.fix_text(t, encoding) if _needs_fix(t, encoding, frame) else t for t in raw]
    codes = [_code_text(v) for v in (frame[code_field] if code_field else [None] * len(frame))]
    _match_features(frame, raw, names, codes, matcher, parsed)


def _needs_fix(text: str, encoding: str, frame) -> bool:
    return encoding != "utf-8" or frame.attrs.get("legacy_read", False)


def _code_text(value) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    return text[:-2] if re.fullmatch(r"\d+\.0", text) else text


def _choose_encoding(raw, request, matcher: UnitMatcher, parsed: ParsedBoundaries, legacy: bool) -> str | None:
    if request.encoding:
        try:
            encoding = encodings.normalise_name(request.encoding)
        except ValueError as error:
            parsed.error(str(error))
            return None
    else:
        encoding, scores = encodings.detect(raw, lambda t: matcher.match(t).ok)
        parsed.report["encoding_scores"] = scores
    parsed.report["encoding"] = encoding + ("" if request.encoding else " (tự nhận biết / detected)")
    return encoding


def _match_features(frame, raw, names, codes, matcher: UnitMatcher, parsed: ParsedBoundaries) -> None:
    import shapely

    groups: dict[tuple[str, str], list] = {}
    for i, geom in enumerate(frame.geometry.values):
        info = FeatureInfo(i + 1, raw[i], names[i], codes[i])
        parsed.features.append(info)
        match = matcher.match(codes[i]) if codes[i] else matcher.match(names[i])
        if not match.ok and codes[i] and names[i]:
            match = matcher.match(names[i])
        if not match.ok:
            parsed.error(match.message, row=i + 1, text=codes[i] or names[i])
            continue
        info.unit_key, info.unit_name = match.unit.key, match.unit.name
        polygon = _repaired(geom, info, parsed)
        if polygon is not None:
            info.area_km2 = polygon.area / 1e6
            groups.setdefault(match.unit.key, []).append(polygon)
    for key, parts in groups.items():
        parsed.geoms[key] = parts[0] if len(parts) == 1 else shapely.union_all(parts)
        if len(parts) > 1:
            parsed.warn(f"{_name_of(parsed, key)}: {len(parts)} đối tượng được gộp / features merged")
    missing = [u.name for u in parsed.units if u.key not in groups]
    if missing and not parsed.errors:
        parsed.error(f"thiếu ranh giới của {len(missing)} xã: {', '.join(missing)} / units without a polygon")
    parsed.report["features"] = len(frame)


def _name_of(parsed: ParsedBoundaries, key) -> str:
    return next((u.name for u in parsed.units if u.key == key), str(key))


def _repaired(geom, info: FeatureInfo, parsed: ParsedBoundaries):
    """A valid (multi)polygon; invalid input is repaired with make_valid and reported."""
    import shapely

    if geom is None or geom.is_empty:
        parsed.error("đối tượng không có hình / empty geometry", row=info.index, text=info.decoded_name)
        return None
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        before = geom.area
        geom = shapely.make_valid(geom, method="structure", keep_collapsed=False)
        parsed.warn(f"{info.decoded_name}: hình không hợp lệ đã được sửa ({reason}); diện tích {before / 1e6:.3f} → "
                    f"{geom.area / 1e6:.3f} km² / invalid geometry repaired", row=info.index)
    polygons = _polygons_only(geom)
    if polygons is None:
        parsed.error("đối tượng không phải vùng (polygon) / not a polygon", row=info.index, text=info.decoded_name)
    return polygons


def _polygons_only(geom):
    import shapely

    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon") and not g.is_empty]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


# --- measuring ------------------------------------------------------------------------------

def _measure(parsed: ParsedBoundaries, previous: tuple[str, dict] | None) -> None:
    """Overlaps and gaps between neighbours, total area, and the change from the previous version."""
    import shapely

    keys = list(parsed.geoms)
    geoms = [parsed.geoms[k] for k in keys]
    tree = shapely.STRtree(geoms)
    overlaps, total = [], 0.0
    for i, j in zip(*tree.query(geoms, predicate="intersects")):
        if i < j:
            area = shapely.intersection(geoms[i], geoms[j]).area / 1e6
            total += area
            if area >= OVERLAP_REPORT_KM2:
                overlaps.append((_name_of(parsed, keys[i]), _name_of(parsed, keys[j]), round(area, 4)))
    union = shapely.union_all(geoms)
    holes = sum(shapely.Polygon(ring).area for poly in shapely.get_parts(union) for ring in poly.interiors)
    parsed.report.update(overlap_km2=total, gap_km2=holes / 1e6, area_km2=union.area / 1e6,
                         overlaps=sorted(overlaps, key=lambda p: -p[2]))
    if previous:
        parsed.report["previous"] = _against_previous(parsed, *previous)
        if boundary_checks.MIN_IOU <= parsed.report["previous"]["min_iou"] < IOU_WARNING:  # below: an error
            p = parsed.report["previous"]
            parsed.warn(f"ranh giới khác nhiều so với phiên bản {p['version']} (xã {p['worst']}: IoU "
                        f"{p['min_iou']:.2f}) / boundaries differ much from the previous version")


def _previous_geometry(conn: sa.Connection, date: str) -> tuple[str, dict] | None:
    """The stored version in force on ``date`` (or the latest before it), as projected shapes by unit key."""
    bv, ub, u = db.boundary_versions.c, db.unit_boundaries.c, db.units.c
    versions = conn.execute(sa.select(bv.id, bv.valid_from, bv.valid_to).order_by(bv.valid_from)).all()
    covering = [v for v in versions if (not v.valid_from or v.valid_from <= date) and
                (not v.valid_to or v.valid_to >= date)]
    before = [v for v in versions if v.valid_to and v.valid_to < date]
    chosen = (covering or before[-1:] or [None])[0]
    if chosen is None:
        return None
    rows = conn.execute(sa.select(u.code, u.valid_from, ub.geometry).join(db.units, u.id == ub.unit_id)
                        .where(ub.version_id == chosen.id)).all()
    return chosen.id, {(r.code, r.valid_from): r.geometry for r in rows}


def _against_previous(parsed: ParsedBoundaries, version_id: str, stored: dict) -> dict:
    import pyproj
    import shapely

    transformer = pyproj.Transformer.from_crs("EPSG:4326", boundaries.PROJECTED_CRS, always_xy=True)
    changed, worst = 0.0, (1.0, "")
    for key, geom in parsed.geoms.items():
        if key not in stored:
            continue
        old = shapely.transform(shapely.from_geojson(stored[key]), lambda c: _project(transformer, c))
        union = shapely.union(old, geom).area
        iou = shapely.intersection(old, geom).area / union if union else 1.0
        changed += shapely.symmetric_difference(old, geom).area / 1e6
        worst = min(worst, (iou, _name_of(parsed, key)))
    return {"version": version_id, "changed_km2": changed, "min_iou": worst[0], "worst": worst[1]}


# --- applying and undoing -------------------------------------------------------------------

def apply_boundaries(engine: sa.Engine, parsed: ParsedBoundaries, options: Options) -> int:
    """Store the boundary version in one transaction (earlier versions trimmed around it).

    Raises
    ------
    ImportRefused
        When the file has errors (nothing is written).
    """
    if parsed.errors or not parsed.geoms:
        raise ImportRefused(parsed.errors or [Problem("error", "không có ranh giới / no boundaries", parsed.filename)])
    ensure_schema(engine)
    with writing(engine) as conn:
        summary = {"report": parsed.report_lines(), "counts": {"units": len(parsed.geoms)},
                   "warnings": [p.as_dict() for p in parsed.problems if p.level == "warning"]}
        import_id = record_import(conn, "boundaries", parsed.filename, parsed.checksum, options, summary, None)
        request = parsed.request
        spec = boundaries.VersionSpec(
            id=f"import-{import_id}", valid_from=request.valid_from, valid_to=request.valid_to, method="import",
            source=f"{parsed.filename} ({options.source})" if options.source else parsed.filename,
            label_vi=f"Ranh giới nhập từ {parsed.filename} ({len(parsed.geoms)} đơn vị)",
            label_en=f"Boundaries imported from {parsed.filename} ({len(parsed.geoms)} units)")
        _make_room(conn, import_id, request.valid_from, request.valid_to)
        serialised = serialise(spec, parsed.geoms, parsed.units)
        digest = boundaries.checksum("import", parsed.checksum, spec.id, spec.valid_from, spec.valid_to)
        unit_ids = {(r.code, r.valid_from): r.id for r in conn.execute(sa.select(db.units))}
        boundaries.store_versions(conn, [(spec, digest, serialised)], unit_ids)
        _snapshot(conn, import_id, spec.id, "created", None)
    return import_id


def serialise(spec, geoms: dict, units: list[Unit]) -> dict:
    """Like :func:`boundaries.serialise_version`, for polygons that are not a clean coverage.

    Imported polygons are stored as they are (repaired, not cleaned: overlaps and gaps
    are reported, not hidden), so the outline is a plain union, not a coverage union.
    """
    import shapely

    by_key = {u.key: u for u in units}
    wgs = boundaries.to_wgs84(geoms)
    labels = boundaries.to_wgs84({k: shapely.point_on_surface(g) for k, g in geoms.items()})
    outline = boundaries.to_wgs84({"outline": shapely.union_all(list(geoms.values()))})["outline"]
    out = []
    for key in sorted(geoms, key=lambda k: k[0]):
        unit = by_key[key]
        out.append({
            "code": unit.code, "valid_from": unit.valid_from, "name": unit.name, "type": unit.type,
            "area_km2": round(geoms[key].area / 1e6, 3), "label": [labels[key].x, labels[key].y],
            "geometry": json.loads(shapely.to_geojson(wgs[key])),
        })
    return {"id": spec.id, "units": out, "outline": json.loads(shapely.to_geojson(outline))}


def _day(date: str, delta: int) -> str:
    return (dt.date.fromisoformat(date) + dt.timedelta(days=delta)).isoformat()


def _make_room(conn: sa.Connection, import_id: int, start: str, end: str) -> None:
    """Trim, split or remove stored versions overlapping ``[start, end]`` (snapshotting each)."""
    bv = db.boundary_versions
    for row in conn.execute(sa.select(bv.c.id, bv.c.valid_from, bv.c.valid_to)).all():
        v_start, v_end = row.valid_from or "0000-01-01", row.valid_to or "9999-12-31"
        if v_end < start or (end and v_start > end):
            continue
        _snapshot(conn, import_id, row.id, "changed", _version_payload(conn, row.id))
        keeps_before = v_start < start
        keeps_after = bool(end) and v_end > end
        if keeps_after and keeps_before:
            _copy_version(conn, import_id, row.id, f"{row.id[:16]}-after-{import_id}", _day(end, 1), row.valid_to)
        if keeps_before:
            conn.execute(sa.update(bv).where(bv.c.id == row.id).values(valid_to=_day(start, -1)))
        elif keeps_after:
            conn.execute(sa.update(bv).where(bv.c.id == row.id).values(valid_from=_day(end, 1)))
        else:
            _delete_version(conn, row.id)


def _version_payload(conn: sa.Connection, version_id: str) -> str:
    version = conn.execute(sa.select(db.boundary_versions).where(db.boundary_versions.c.id == version_id)).first()
    units = conn.execute(sa.select(db.unit_boundaries).where(db.unit_boundaries.c.version_id == version_id)).all()
    return json.dumps({"version": dict(version._mapping), "units": [dict(u._mapping) for u in units]},
                      ensure_ascii=False)


def _copy_version(conn, import_id: int, source_id: str, new_id: str, valid_from: str, valid_to: str) -> None:
    payload = json.loads(_version_payload(conn, source_id))
    collection = json.loads(payload["version"]["units_geojson"])
    collection["version"] = new_id
    version = dict(payload["version"], id=new_id, valid_from=valid_from, valid_to=valid_to,
                   checksum=boundaries.checksum(payload["version"]["checksum"], new_id),
                   units_geojson=json.dumps(collection, ensure_ascii=False, separators=(",", ":")))
    conn.execute(sa.insert(db.boundary_versions).values(**version))
    conn.execute(sa.insert(db.unit_boundaries), [dict(u, version_id=new_id) for u in payload["units"]])
    _snapshot(conn, import_id, new_id, "created", None)


def _delete_version(conn: sa.Connection, version_id: str) -> None:
    conn.execute(sa.delete(db.unit_boundaries).where(db.unit_boundaries.c.version_id == version_id))
    conn.execute(sa.delete(db.boundary_versions).where(db.boundary_versions.c.id == version_id))


def _snapshot(conn, import_id: int, version_id: str, action: str, payload: str | None) -> None:
    conn.execute(sa.insert(db.import_boundary_snapshots).values(
        import_id=import_id, version_id=version_id, action=action, payload=payload or ""))


def undo_boundaries(conn: sa.Connection, import_id: int) -> None:
    """Remove the versions an import created and restore the ones it changed, as they were."""
    s = db.import_boundary_snapshots.c
    later = conn.execute(sa.select(sa.func.count()).select_from(db.import_boundary_snapshots).where(
        s.import_id > import_id, s.version_id.in_(
            sa.select(s.version_id).where(s.import_id == import_id)),
        s.import_id.in_(sa.select(db.imports.c.id).where(db.imports.c.status == "applied")))).scalar()
    if later:
        raise UndoRefused("một lần nhập ranh giới sau đã thay các phiên bản này; hãy hoàn tác lần đó trước / a "
                          "later boundary import changed these versions: undo it first")
    snaps = conn.execute(sa.select(db.import_boundary_snapshots).where(s.import_id == import_id)
                         .order_by(s.id.desc())).all()
    for snap in snaps:
        if snap.action == "created":
            _delete_version(conn, snap.version_id)
    for snap in snaps:
        if snap.action == "changed":
            _delete_version(conn, snap.version_id)
            payload = json.loads(snap.payload)
            conn.execute(sa.insert(db.boundary_versions).values(**payload["version"]))
            if payload["units"]:
                conn.execute(sa.insert(db.unit_boundaries), payload["units"])


register_undo("boundaries", lambda conn, row: undo_boundaries(conn, row.id))
