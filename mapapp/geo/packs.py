"""Geometry packs: the web map's boundaries, compact, per level of detail.

A pack holds every unit of one boundary version at one level of detail, in Web
Mercator metres quantised to a grid and delta-encoded, so that 11,163 communes fit
in a few hundred kilobytes of gzip. Each level is simplified as a coverage
(``shapely.coverage_simplify``: shared edges stay shared, no gaps open) with a
tolerance of about one screen pixel at the deepest zoom it serves; the page loads
the coarse level first and a finer one only when the user zooms in.

Packs are derived data: they are cached on disk keyed by the checksum of their
inputs (a restart never recomputes them) and stored gzip-compressed in the
``geometry_packs`` table, from which ``/api/geometry`` serves them as they are.

Format (``mapapp-pack/2``, JSON)::

    {"format", "version", "level", "max_zoom", "grid": metres, "origin": [x0, y0],
     "bbox": [west, south, east, north] (degrees),
     "units": {"code": [...], "valid_from": [...], "name": [...], "parent": [...]},   # level 0 only
     "geometry": [unit: [polygon: [ring: [x0, y0, dx1, dy1, ...]]]],                  # grid units
     "outline": [polygon: [ring]]}

A ring's first point is relative to ``origin``, the next ones to the point before;
a coordinate is ``origin + grid * sum``. Units are in the same order at every level.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from mapapp.core.atlas import Level
from mapapp.core.files import write_atomic
from mapapp.store import db

PACK_FORMAT = "mapapp-pack/2"  # 2: the outline has no holes
WEB_CRS = "EPSG:3857"
MIN_GRID_M = 1.0  # finer than the 1e-5° (about 1 m) the stored geometry is rounded to
GZIP_LEVEL = 9  # packs are compressed once, served many times

geometry_packs = sa.Table(
    "geometry_packs", db.metadata,
    sa.Column("version_id", sa.String(32), primary_key=True),
    sa.Column("level", sa.Integer, primary_key=True),
    sa.Column("max_zoom", sa.Integer, nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("unit_count", sa.Integer, nullable=False),
    sa.Column("raw_size", sa.Integer, nullable=False),
    sa.Column("body_gzip", sa.LargeBinary, nullable=False),
    # Digest of the unit codes and names in the pack: values can leave names out while they match.
    sa.Column("names_digest", sa.String(64), nullable=False, server_default=""),
)


@dataclass(frozen=True)
class Pack:
    """One encoded level of a boundary version."""

    level: int
    max_zoom: int
    checksum: str
    raw_size: int
    body_gzip: bytes
    names_digest: str = ""


def grid_for(level: Level) -> float:
    """The quantisation step of a level: a quarter of its tolerance, at least 1 m."""
    return max(MIN_GRID_M, level.tolerance_m / 4)


def reproject(geoms, source_crs: str, target_crs: str, decimals: int | None = None):
    """Reproject an array of shapely geometries in one vectorised call (optionally rounded)."""
    import numpy as np
    import pyproj
    import shapely

    transformer = pyproj.Transformer.from_crs(source_crs, target_crs, always_xy=True)

    def apply(xy):
        out = np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
        return out if decimals is None else np.round(out, decimals)

    return shapely.transform(geoms, apply)


def to_web_mercator(geoms, source_crs: str = "EPSG:4326"):
    """Reproject an array of shapely geometries to Web Mercator."""
    return reproject(geoms, source_crs, WEB_CRS)


def simplify(geoms, level: Level):
    """The units' geometry at ``level`` (coverage-preserving simplification)."""
    import shapely

    if level.tolerance_m <= 0:
        return geoms
    try:
        return shapely.coverage_simplify(geoms, level.tolerance_m, simplify_boundary=True)
    except shapely.errors.GEOSException:  # not a clean coverage (an imported layer): unit by unit
        return shapely.simplify(geoms, level.tolerance_m, preserve_topology=True)


def encode_rings(geom, grid: float, origin: tuple[float, float]) -> list:
    """``[polygon: [ring: [x0, y0, dx, dy, ...]]]`` of a (multi)polygon, in grid units.

    Repeated points after quantisation are dropped; rings left with fewer than three
    points (too small to see at this level) are left out.
    """
    import numpy as np
    import shapely

    polygons = []
    for part in shapely.get_parts(geom):
        if part.is_empty or part.geom_type != "Polygon":
            continue
        rings = []
        for ring in (part.exterior, *part.interiors):
            cells = np.round((np.asarray(ring.coords)[:-1] - origin) / grid).astype(np.int64)
            moved = np.ones(len(cells), dtype=bool)
            moved[1:] = np.any(cells[1:] != cells[:-1], axis=1)
            cells = cells[moved]
            if len(cells) >= 3:
                rings.append(np.diff(cells, axis=0, prepend=[[0, 0]]).ravel().tolist())
        if rings and len(rings[0]) >= 6:
            polygons.append(rings)
    return polygons


def exteriors(geom):
    """The polygons of ``geom`` without their holes: slivers left inside a union are not the area's edge."""
    import shapely

    parts = shapely.get_parts(geom)
    return shapely.multipolygons(shapely.polygons(shapely.get_exterior_ring(parts[shapely.get_type_id(parts) == 3])))


def encode(version_id: str, index: int, level: Level, geoms, outline, units: dict | None) -> bytes:
    """The JSON text of one pack (``units`` is given for level 0 only)."""
    import numpy as np
    import pyproj
    import shapely

    grid = grid_for(level)
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    origin = (float(np.floor(xmin / grid) * grid), float(np.floor(ymin / grid) * grid))
    back = pyproj.Transformer.from_crs(WEB_CRS, "EPSG:4326", always_xy=True)
    west, south = back.transform(xmin, ymin)
    east, north = back.transform(xmax, ymax)
    payload = {
        "format": PACK_FORMAT, "version": version_id, "level": index, "max_zoom": level.max_zoom,
        "grid": grid, "origin": list(origin),
        "bbox": [round(west, 5), round(south, 5), round(east, 5), round(north, 5)],
        **({"units": units} if units is not None else {}),
        "geometry": [encode_rings(g, grid, origin) for g in geoms],
        "outline": encode_rings(exteriors(outline), grid, origin),
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def build(version_id: str, units: dict, geoms, levels: tuple[Level, ...], key: str, cache_dir: Path) -> list[Pack]:
    """Every level of a version, from the disk cache when its key is there.

    Parameters
    ----------
    version_id : str
    units : dict
        Columns ``code``, ``valid_from``, ``name``, ``parent`` in the order of ``geoms``.
    geoms : array of shapely polygons in Web Mercator
        A valid coverage (the stored, cleaned geometry).
    levels : tuple of Level
        Coarse to fine; the last one serves every deeper zoom.
    key : str
        Checksum of the inputs (source geometry and processing); the cache key.
    cache_dir : Path
    """

    names = names_digest(units["code"], units["name"])
    packs = []
    for index, level in enumerate(levels):
        digest = pack_digest(version_id, key, index, level)
        path = Path(cache_dir) / f"pack-{digest}.json.gz"
        if path.is_file():
            body = path.read_bytes()
            raw_size = len(gzip.decompress(body))
        else:
            simplified = simplify(geoms, level)
            outline = outline_of(simplified)
            raw = encode(version_id, index, level, simplified, outline, units if index == 0 else None)
            body, raw_size = gzip.compress(raw, GZIP_LEVEL, mtime=0), len(raw)
            write_atomic(path, body)
        packs.append(Pack(index, level.max_zoom, digest, raw_size, body, names))
    return packs


def names_digest(codes, names) -> str:
    """Digest of the units' codes and names, in order."""
    from mapapp.geo.boundaries import checksum

    return checksum("\n".join(f"{c}\t{n}" for c, n in zip(codes, names)))



def store(conn: sa.Connection, version_id: str, packs: list[Pack], unit_count: int) -> None:
    """Replace the stored packs of a version."""
    conn.execute(sa.delete(geometry_packs).where(geometry_packs.c.version_id == version_id))
    conn.execute(sa.insert(geometry_packs), [
        dict(version_id=version_id, level=p.level, max_zoom=p.max_zoom, checksum=p.checksum,
             unit_count=unit_count, raw_size=p.raw_size, body_gzip=p.body_gzip, names_digest=p.names_digest)
        for p in packs
    ])


def unit_columns(units: list[dict]) -> dict:
    """The ``units`` block of a level-0 pack from unit records."""
    return {key: [u.get(key, "") for u in units] for key in ("code", "valid_from", "name", "parent")}


def from_serialised(version_id: str, serialised: dict, levels: tuple[Level, ...], key: str,
                    cache_dir: Path) -> list[Pack]:
    """Packs of a version serialised by :mod:`mapapp.boundaries` (units with WGS84 GeoJSON)."""
    import numpy as np
    import shapely

    units = serialised["units"]
    cached = all(cache_path(cache_dir, version_id, key, i, lv).is_file() for i, lv in enumerate(levels))
    geoms = None if cached else _repaired(to_web_mercator(
        np.array([shapely.from_geojson(json.dumps(u["geometry"])) for u in units])))
    return build(version_id, unit_columns(units), geoms, levels, key, cache_dir)


def outline_of(geoms):
    """The union of a coverage (fast), or of any polygons when they are not a clean coverage."""
    import shapely

    try:
        return shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:
        return shapely.union_all(shapely.make_valid(geoms))


def _repaired(geoms):
    """Stored geometry is rounded to 1e-5°: a few slivers collapse into invalid rings; repair them."""
    import shapely

    return shapely.make_valid(geoms, method="structure", keep_collapsed=False)


def pack_digest(version_id: str, key: str, index: int, level: Level) -> str:
    """Checksum of everything one level is built from (its ETag and disk cache name)."""
    from mapapp.geo.boundaries import checksum

    return checksum(PACK_FORMAT, key, version_id, str(index), repr(level))


def cache_path(cache_dir: Path, version_id: str, key: str, index: int, level: Level) -> Path:
    """The disk cache file of one level."""
    return Path(cache_dir) / f"pack-{pack_digest(version_id, key, index, level)}.json.gz"
