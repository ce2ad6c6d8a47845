"""Inner points: where a unit's name, circle or marker goes — inside it, as far from its edges as possible.

A centroid can fall outside a crescent-shaped commune, and ``point_on_surface`` may sit on a
narrow arm; the pole of inaccessibility (``shapely.ops.polylabel``) is the centre of the
largest circle that fits inside the polygon, where a label reads best. It is computed on the
largest part of a multipolygon, in a locally equal-scaled plane (longitudes × cos(latitude)),
so that a degree east and a degree north weigh the same. Computed once with the geometry
that it belongs to (boundary version caches, geometry packs), never per request.
"""
from __future__ import annotations

import math

import shapely
from shapely import affinity
from shapely.geometry.base import BaseGeometry
from shapely.ops import polylabel

TOLERANCE_M = 50.0  # precision of the search, in metres on the ground
METRES_PER_DEGREE = 111_320.0


def inner_point(geometry: BaseGeometry | None) -> tuple[float, float] | None:
    """The pole of inaccessibility of the largest polygon of a lon/lat geometry, as ``(lon, lat)``.

    Parameters
    ----------
    geometry : shapely geometry in WGS 84 (lon, lat), or None

    Returns
    -------
    (lon, lat) rounded to 6 decimals (~0.1 m), or None for an empty or missing geometry.
    """
    if geometry is None or geometry.is_empty:
        return None
    polygons = [g for g in shapely.get_parts(geometry) if g.geom_type == "Polygon" and not g.is_empty]
    if not polygons:
        point = geometry.representative_point()
        return round(point.x, 6), round(point.y, 6)
    largest = max(polygons, key=lambda p: p.area)
    squash = max(math.cos(math.radians(largest.centroid.y)), 0.01)
    flat = affinity.scale(largest, xfact=squash, yfact=1.0, origin=(0, 0))
    try:
        point = polylabel(shapely.make_valid(flat) if not flat.is_valid else flat,
                          tolerance=TOLERANCE_M / METRES_PER_DEGREE)
    except Exception:  # polylabel refuses some invalid rings; any inside point will do then
        point = flat.representative_point()
    if not flat.contains(point):
        point = flat.representative_point()
    return round(point.x / squash, 6), round(point.y, 6)


def inner_points(geometries: dict) -> dict:
    """``{key: (lon, lat)}`` for ``{key: geometry}`` (units without geometry are left out)."""
    points = {}
    for key, geometry in geometries.items():
        point = inner_point(geometry)
        if point is not None:
            points[key] = point
    return points
