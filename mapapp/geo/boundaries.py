"""Boundary versions: read, clean into a coverage, simplify, derive merged layouts, cache.

Geometry work happens in a projected CRS (UTM 48N, metres) so tolerances and
areas mean something; what is served is WGS84 rounded to 1e-5° (about 1 m).
Derived geometry is cached on disk keyed by a checksum of every input, so a
restart never recomputes it.
"""
from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from mapapp.geo.units import Unit, successor_on, valid_on
from mapapp.store import db

PROJECTED_CRS = "EPSG:32648"  # WGS 84 / UTM 48N: metres, covers Quảng Trị
GAP_WIDTH_M = 200.0  # slivers narrower than this are given to a neighbour
SIMPLIFY_M = 50.0  # coverage-preserving simplification tolerance
PROCESSING_VERSION = "3"  # bump when the cleaning steps change: invalidates caches


@dataclass(frozen=True)
class VersionSpec:
    """One row of ``geodata/boundary-versions.csv``."""

    id: str
    valid_from: str
    valid_to: str
    method: str  # "file" or "successors"
    source: str
    label_vi: str
    label_en: str

    @property
    def reference_date(self) -> str:
        """A date inside the version's validity, used to pick its units."""
        return self.valid_to or self.valid_from

    def covers(self, date: str) -> bool:
        """True when the layout is in force on ``date``."""
        return (not self.valid_from or self.valid_from <= date) and (
            not self.valid_to or self.valid_to >= date
        )


def read_version_specs(path: Path) -> list[VersionSpec]:
    """Read the boundary version table."""
    with open(path, encoding="utf-8", newline="") as fh:
        return [VersionSpec(**{k: (v or "").strip() for k, v in row.items()}) for row in csv.DictReader(fh)]


def checksum(*parts: bytes | str) -> str:
    """SHA-256 over the given parts (the cache key of derived geometry)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of a file, read in blocks (a large boundary file never sits whole in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def clean_coverage(geoms, gap_width_m: float = GAP_WIDTH_M, simplify_m: float = SIMPLIFY_M):
    """Turn overlapping, sliver-ridden polygons into a valid simplified coverage.

    Parameters
    ----------
    geoms : array of shapely polygons in a metric CRS
    gap_width_m : float
        Slivers narrower than this are given to a neighbour (0: not cleaned).
    simplify_m : float
        Coverage-preserving simplification tolerance (0: not simplified).

    Returns
    -------
    numpy.ndarray
        Polygons without overlaps or small gaps, shared edges identical, simplified
        without opening gaps.
    """
    import shapely

    repaired = shapely.make_valid(geoms, method="structure", keep_collapsed=False)
    cleaned = shapely.coverage_clean(repaired, gap_width=gap_width_m) if gap_width_m else repaired
    return shapely.coverage_simplify(cleaned, simplify_m, simplify_boundary=True) if simplify_m else cleaned


def read_features(path: Path):
    """Read a boundary file into a GeoDataFrame in the projected CRS."""
    import geopandas as gpd

    frame = gpd.read_file(path)
    if frame.crs is None:
        raise ValueError(f"{path}: the file does not say which coordinate system it uses")
    return frame.to_crs(PROJECTED_CRS)


def build_from_file(spec: VersionSpec, shared_dir: Path, registry: list[Unit]) -> dict:
    """Geometries (projected, cleaned) of a version read from a file, keyed by unit key."""
    frame = read_features(shared_dir / spec.source)
    units = {u.code: u for u in valid_on(registry, spec.reference_date)}
    codes = [str(c).strip() for c in frame["code"]]
    missing = sorted(set(units) - set(codes))
    unknown = sorted(set(codes) - set(units))
    if missing or unknown:
        raise ValueError(
            f"{spec.source}: features do not match the units valid on {spec.reference_date}"
            f" (missing codes {missing}, unknown codes {unknown})"
        )
    cleaned = clean_coverage(frame.geometry.values)
    return {units[code].key: geom for code, geom in zip(codes, cleaned)}


def build_from_successors(spec: VersionSpec, base: dict, registry: list[Unit]) -> dict:
    """Geometries of a version derived by dissolving base units into their successors."""
    import shapely

    by_key = {u.key: u for u in registry}
    groups = defaultdict(list)
    for key, geom in base.items():
        target = successor_on(registry, by_key[key], spec.reference_date)
        if target is None:
            raise ValueError(f"unit {key} has no successor valid on {spec.reference_date}")
        groups[target.key].append(geom)
    expected = {u.key for u in valid_on(registry, spec.reference_date)}
    if set(groups) != expected:
        raise ValueError(f"version {spec.id}: successors do not give the units valid on {spec.reference_date}")
    return {key: shapely.coverage_union_all(parts) for key, parts in groups.items()}


def build_all(specs: list[VersionSpec], shared_dir: Path, registry: list[Unit]) -> dict[str, dict]:
    """Projected geometries of every version, ``{version_id: {unit_key: geometry}}``."""
    built: dict[str, dict] = {}
    for spec in specs:
        if spec.method == "file":
            built[spec.id] = build_from_file(spec, shared_dir, registry)
        elif spec.method == "successors":
            built[spec.id] = build_from_successors(spec, built[spec.source], registry)
        else:
            raise ValueError(f"version {spec.id}: unknown method {spec.method!r}")
    return built


def version_checksum(spec: VersionSpec, specs: list[VersionSpec], shared_dir: Path, registry_bytes: bytes) -> str:
    """Checksum of everything a version's geometry depends on."""
    if spec.method == "file":
        source = (shared_dir / spec.source).read_bytes()
    else:
        base = next(s for s in specs if s.id == spec.source)
        source = version_checksum(base, specs, shared_dir, registry_bytes)
    return checksum(PROCESSING_VERSION, spec.id, spec.method, source, registry_bytes)


def to_wgs84(geoms: dict) -> dict:
    """Reproject a ``{key: geometry}`` mapping from the projected CRS to WGS84, rounded."""
    import numpy as np
    import pyproj
    import shapely

    transformer = pyproj.Transformer.from_crs(PROJECTED_CRS, "EPSG:4326", always_xy=True)

    def project(coords):
        lon, lat = transformer.transform(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([lon, lat]), 5)

    return {key: shapely.transform(geom, project) for key, geom in geoms.items()}


def serialise_version(spec: VersionSpec, geoms: dict, registry: list[Unit]) -> dict:
    """The cacheable, JSON-ready form of one version: units with geometry, area, label point."""
    import shapely

    by_key = {u.key: u for u in registry}
    wgs = to_wgs84(geoms)
    labels = to_wgs84({k: shapely.point_on_surface(g) for k, g in geoms.items()})
    outline = to_wgs84({"outline": shapely.coverage_union_all(list(geoms.values()))})["outline"]
    units = []
    for key in sorted(geoms, key=lambda k: k[0]):
        unit = by_key[key]
        units.append({
            "code": unit.code, "valid_from": unit.valid_from, "name": unit.name, "type": unit.type,
            "area_km2": round(geoms[key].area / 1e6, 3),
            "label": [labels[key].x, labels[key].y],
            "geometry": json.loads(shapely.to_geojson(wgs[key])),
        })
    return {"id": spec.id, "units": units, "outline": json.loads(shapely.to_geojson(outline))}


def load_versions(shared_dir: Path, geodata_dir: Path, registry_path: Path, registry: list[Unit],
                  cache_dir: Path) -> list[tuple[VersionSpec, str, dict]]:
    """Every boundary version as ``(spec, checksum, serialised)``, from the disk cache when possible."""
    specs = read_version_specs(geodata_dir / "boundary-versions.csv")
    registry_bytes = registry_path.read_bytes()
    sums = {s.id: version_checksum(s, specs, shared_dir, registry_bytes) for s in specs}
    cached = {s.id: _read_cache(cache_dir, sums[s.id]) for s in specs}
    if any(v is None for v in cached.values()):
        built = build_all(specs, shared_dir, registry)
        for spec in specs:
            if cached[spec.id] is None:
                cached[spec.id] = serialise_version(spec, built[spec.id], registry)
                _write_cache(cache_dir, sums[spec.id], cached[spec.id])
    return [(s, sums[s.id], cached[s.id]) for s in specs]


def _read_cache(cache_dir: Path, key: str) -> dict | None:
    path = cache_dir / f"boundaries-{key}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_cache(cache_dir: Path, key: str, payload: dict) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f".boundaries-{key}.tmp"
    tmp.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    tmp.replace(cache_dir / f"boundaries-{key}.json")


def units_feature_collection(spec: VersionSpec, serialised: dict) -> dict:
    """The GeoJSON served by ``/api/units``: one feature per unit, plus the area outline."""
    return {
        "type": "FeatureCollection",
        "version": spec.id,
        "features": [
            {
                "type": "Feature",
                "id": f"{u['code']}@{u['valid_from']}",
                "properties": {"code": u["code"], "valid_from": u["valid_from"], "name": u["name"], "type": u["type"]},
                "geometry": u["geometry"],
            }
            for u in serialised["units"]
        ],
        "outline": serialised["outline"],
    }


def store_versions(conn: sa.Connection, versions, unit_ids: dict) -> None:
    """Write the boundary versions and per-unit geometry into the store (replacing changed ones)."""
    for spec, digest, serialised in versions:
        current = conn.execute(
            sa.select(db.boundary_versions.c.checksum).where(db.boundary_versions.c.id == spec.id)
        ).scalar()
        if current == digest:
            # Labels are not part of the geometry: keep them up to date (e.g. an English label added).
            conn.execute(sa.update(db.boundary_versions).where(db.boundary_versions.c.id == spec.id)
                         .values(label=spec.label_vi, label_en=spec.label_en))
            continue
        conn.execute(sa.delete(db.unit_boundaries).where(db.unit_boundaries.c.version_id == spec.id))
        conn.execute(sa.delete(db.boundary_versions).where(db.boundary_versions.c.id == spec.id))
        collection = units_feature_collection(spec, serialised)
        conn.execute(sa.insert(db.boundary_versions).values(
            id=spec.id, valid_from=spec.valid_from, valid_to=spec.valid_to, label=spec.label_vi, label_en=spec.label_en,
            source=spec.source, checksum=digest, unit_count=len(serialised["units"]),
            units_geojson=json.dumps(collection, ensure_ascii=False, separators=(",", ":")),
        ))
        conn.execute(sa.insert(db.unit_boundaries), [
            dict(version_id=spec.id, unit_id=unit_ids[(u["code"], u["valid_from"])],
                 geometry=json.dumps(u["geometry"], separators=(",", ":")), area_km2=u["area_km2"],
                 label_lon=u["label"][0], label_lat=u["label"][1])
            for u in serialised["units"]
        ])
