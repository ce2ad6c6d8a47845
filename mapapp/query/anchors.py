"""Anchors: where a unit's circle or project marker goes — its inner point, and the map's surroundings.

Inner points (:func:`mapapp.geo.inner_points.inner_point`, the pole of inaccessibility)
are the label points' (:mod:`mapapp.geo.label_points`): computed from a version's stored
geometry once per boundary checksum, kept on disk beside the geometry packs (the app's
``CACHE_DIR``) and in memory. A checksum names one geometry forever, so they never go
stale, and a restarted app reads them instead of computing them again (seconds for a country,
in a thread that would slow its first answers).
"""
from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, has_app_context

from mapapp.geo import label_points
from mapapp.store import db

_ANCHORS: dict[str, dict] = {}
_LOCK = threading.Lock()
_MAX_VERSIONS = 16


def _cache_dir() -> Path | None:
    """The app's derived-geometry cache folder (None outside an app: memory only)."""
    folder = current_app.config.get("CACHE_DIR") if has_app_context() else None
    return Path(folder) if folder else None


def anchors(conn: sa.Connection, version_id: str, checksum: str) -> dict[tuple[str, str], tuple[float, float]]:
    """``{(code, valid_from): (lon, lat)}``: the inner point of every unit of a boundary version.

    Parameters
    ----------
    conn : a store connection
    version_id, checksum : the boundary version and its checksum (the cache key)
    """
    found = _ANCHORS.get(checksum)
    if found is not None:
        return found
    with _LOCK:
        if checksum not in _ANCHORS:
            if len(_ANCHORS) >= _MAX_VERSIONS:
                _ANCHORS.pop(next(iter(_ANCHORS)))
            _ANCHORS[checksum] = _compute(conn, version_id, checksum)
        return _ANCHORS[checksum]


def _compute(conn: sa.Connection, version_id: str, checksum: str) -> dict:
    def units_text() -> str:
        text = conn.execute(sa.select(db.boundary_versions.c.units_geojson)
                            .where(db.boundary_versions.c.id == version_id)).scalar()
        return text or '{"features": []}'

    body = label_points.points_body(version_id, checksum, units_text, _cache_dir())
    cols = json.loads(gzip.decompress(body))
    return {(code, valid_from or ""): (lon, lat)
            for code, valid_from, lon, lat in zip(cols["code"], cols["valid_from"], cols["lon"], cols["lat"])
            if lon is not None}


def context(conn: sa.Connection) -> dict | None:
    """The map's surroundings as stored by the seed (see :mod:`mapapp.geo.context`), or None."""
    text = db.get_meta(conn, "context")
    return json.loads(text) if text else None


def context_json(conn: sa.Connection) -> tuple[str, str] | None:
    """``(checksum, JSON text)`` of the stored surroundings, as served; None when there are none."""
    text = db.get_meta(conn, "context")
    if not text:
        return None
    return json.loads(text).get("checksum", ""), text


def project_points(conn: sa.Connection) -> dict[int, list[dict]]:
    """Imported coordinates of projects: ``{project_id: [{lon, lat, label}, ...]}``."""
    pp = db.project_points.c
    out: dict[int, list[dict]] = {}
    for row in conn.execute(sa.select(pp.project_id, pp.lon, pp.lat, pp.label).order_by(pp.id)):
        out.setdefault(row.project_id, []).append({"lon": row.lon, "lat": row.lat, "label": row.label})
    return out
