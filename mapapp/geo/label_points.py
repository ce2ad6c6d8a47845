"""Label points of a boundary version: where the web map writes each unit's name, and what its search box finds.

One answer per boundary version, in columns: the unit's ``code`` and ``valid_from``, its
short name as the exports write it (``TT. Khe Sanh``), its search key (no prefix, no
diacritics) and its inner point (:mod:`mapapp.geo.inner_points`). The points are computed
once per boundary checksum and kept gzip-compressed on disk beside the geometry packs and
in memory, never per request; the map loads them after its first paint.

Format (``mapapp-points/1``, JSON)::

    {"format", "version", "checksum",
     "code": [...], "valid_from": [...], "short": [...], "search": [...],
     "lon": [...], "lat": [...]}          # degrees, 5 decimals (about 1 m); null without geometry
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

from mapapp.core.files import write_atomic
from mapapp.core.names import search_key, short_name
from mapapp.geo.inner_points import inner_point

POINTS_FORMAT = "mapapp-points/1"
_MEMORY: dict[str, bytes] = {}  # cache folder and key -> gzip body, per process
_MEMORY_SIZE = 16


def label_points(collection: dict) -> dict:
    """The label columns of a units GeoJSON FeatureCollection (as ``/api/units`` serves it).

    Parameters
    ----------
    collection : dict
        Features with ``code``, ``valid_from`` and ``name`` properties, geometry in lon/lat.

    Returns
    -------
    dict
        Columns ``code``, ``valid_from``, ``short``, ``search``, ``lon``, ``lat`` in feature order.
    """
    import shapely

    cols = {key: [] for key in ("code", "valid_from", "short", "search", "lon", "lat")}
    for feature in collection.get("features", []):
        props = feature.get("properties") or {}
        geometry = feature.get("geometry")
        point = inner_point(shapely.from_geojson(json.dumps(geometry))) if geometry else None
        name = props.get("name") or ""
        cols["code"].append(props.get("code"))
        cols["valid_from"].append(props.get("valid_from"))
        cols["short"].append(short_name(name))
        cols["search"].append(search_key(name))
        cols["lon"].append(round(point[0], 5) if point else None)
        cols["lat"].append(round(point[1], 5) if point else None)
    return cols


def points_body(version_id: str, checksum: str, units_geojson, cache_dir: Path | None) -> bytes:
    """The gzip-compressed JSON answer of a version, computed once per boundary checksum.

    Parameters
    ----------
    version_id, checksum : str
        The boundary version and the checksum of its geometry (the cache key).
    units_geojson : callable
        Returns the version's units GeoJSON text; called only when nothing is cached.
    cache_dir : Path or None
        Where the answer is kept between restarts (None: memory only).
    """
    key = f"{POINTS_FORMAT}:{version_id}:{checksum}"
    memory_key = f"{cache_dir}|{key}"  # apps with their own caches (tests) keep their own answers
    if memory_key in _MEMORY:
        return _MEMORY[memory_key]
    path = _cache_path(cache_dir, key) if cache_dir else None
    body = path.read_bytes() if path is not None and path.is_file() else None
    if body is None:
        payload = {"format": POINTS_FORMAT, "version": version_id, "checksum": checksum,
                   **label_points(json.loads(units_geojson()))}
        body = gzip.compress(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(), 9, mtime=0)
        if path is not None:
            write_atomic(path, body)
    if len(_MEMORY) >= _MEMORY_SIZE:
        _MEMORY.pop(next(iter(_MEMORY)))
    _MEMORY[memory_key] = body
    return body


def _cache_path(cache_dir: Path, key: str) -> Path:
    import hashlib

    return Path(cache_dir) / f"points-{hashlib.sha256(key.encode()).hexdigest()[:32]}.json.gz"

