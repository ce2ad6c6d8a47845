"""A boundary version's geometry for print: projected once to UTM 48N (EPSG:32648), as matplotlib paths, cached per checksum."""
from __future__ import annotations

import contextlib
import functools
import gc
import json
import math
import threading
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import shapely

from mapapp.present.export.style import MAP_CRS
from mapapp.query import read as query

_GEOMETRY: dict[str, "_VersionGeometry"] = {}


_GEOMETRY_LOCK = threading.Lock()


_GEOMETRY_MAX = 16


@dataclass
class _Unit:
    code: str
    valid_from: str
    name: str
    geom: object  # shapely multipolygon in EPSG:32648 (metres), exteriors counter-clockwise
    label: tuple[float, float]  # label point in metres
    area: float = 0.0  # m²
    index: int = -1  # position in the version's coordinate arrays
    path: object = None  # matplotlib Path in metres (built for the whole version on its first draw)


@dataclass
class _VersionGeometry:
    """A boundary version ready to draw: units by ``(code, valid_from)``, the outline, the extent.

    ``_coords``/``_starts`` hold every unit's rings in one array (unit ``i`` is
    ``_coords[_starts[i]:_starts[i + 1]]``, ring ends in ``_ring_ends``) so the
    matplotlib paths are made in one pass, on the first draw.
    """

    checksum: str
    units: dict[tuple[str, str], _Unit]
    outline: object
    bounds: tuple[float, float, float, float]
    median_size_m: float = 0.0  # square root of the median unit area
    _order: list = field(default_factory=list, repr=False)  # the units in the order of _starts
    _coords: object = field(default=None, repr=False)
    _ring_ends: object = field(default=None, repr=False)
    _starts: object = field(default=None, repr=False)
    _codes: object = field(default=None, repr=False)  # matplotlib path codes of _coords (first draw)
    _outline_rings: tuple = field(default=(), repr=False)  # coords, ring ends, ring areas (m²)
    _paths_made: bool = False

    def ensure_paths(self) -> None:
        """Give every unit its matplotlib path; done once per version (under the render lock)."""
        if self._paths_made:
            return
        self._codes = _codes(len(self._coords), self._ring_ends)
        for unit, path in zip(self._order, _paths(self._coords, self._ring_ends, self._starts, self._codes)):
            unit.path = path
        self._paths_made = True

    def grouped(self, drawn: list, step: float) -> list:
        """``(unit, colour, edge width)`` triples → ``(path, colour, width)``, one compound path per
        colour and edge width (widths rounded to multiples of ``step``)."""
        groups: dict[tuple, list[int]] = {}
        for unit, color, edge in drawn:
            groups.setdefault((color, round(edge / step)), []).append(unit.index)
        return [(self._compound(np.array(indices)), color, n * step) for (color, n), indices in groups.items()]

    def _compound(self, indices: np.ndarray):
        """One path made of the rings of the units at ``indices``."""
        from matplotlib.path import Path

        begins = self._starts[indices]
        lengths = self._starts[indices + 1] - begins
        if not lengths.sum():
            return Path(np.zeros((1, 2)), [Path.MOVETO])
        take = np.repeat(begins - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())
        return Path(self._coords[take], self._codes[take])

    def outline_path(self, min_area_m2: float = 0.0):
        """The outline as one matplotlib path, without its rings (islands, holes) smaller than ``min_area_m2``."""
        coords, ring_ends, areas = self._outline_rings
        lengths = np.diff(ring_ends, prepend=0)
        keep = areas >= min_area_m2
        mask = np.repeat(keep, lengths)
        return _paths(coords[mask], np.cumsum(lengths[keep]), np.array([0, int(mask.sum())]))[0]


@functools.lru_cache(maxsize=1)
def _transformer():
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:4326", MAP_CRS, always_xy=True)


def project(lon, lat):
    """Longitude/latitude (WGS 84) to metres in EPSG:32648 (scalars or arrays)."""
    return _transformer().transform(lon, lat)


def _project_geom(geom):
    """A geometry, or an array of them, to EPSG:32648: one transformer call for all coordinates."""
    tr = _transformer()
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def scale_factor(lon: float, lat: float) -> float:
    """Point scale factor of EPSG:32648 at ``lon``/``lat``: map metres per metre on the ground.

    0.9996 on the central meridian (105° E), about 1.0025 at the eastern tip of
    Vietnam (109.5° E): the scale bar is drawn with the factor at the map's centre.
    """
    return float(_proj().get_factors(lon, lat).meridional_scale)


@functools.lru_cache(maxsize=1)
def _proj():
    from pyproj import Proj

    return Proj(MAP_CRS)


def _polygons(geom):
    if geom.geom_type == "Polygon":
        return [geom]
    return [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")
            for g in _polygons(g)]


def _polygon_rings(geometry: dict | None) -> list:
    """A GeoJSON geometry as a list of polygons, each a list of rings (lists of positions)."""
    kind = geometry.get("type") if geometry else None
    if kind == "Polygon":
        return [geometry["coordinates"]]
    if kind == "MultiPolygon":
        return geometry["coordinates"]
    if not kind:
        return []
    return [[list(ring.coords) for ring in (poly.exterior, *poly.interiors)]
            for poly in _polygons(shapely.geometry.shape(geometry))]


def _multipolygons(geometries: list) -> np.ndarray:
    """GeoJSON (multi)polygons → an array of shapely MultiPolygons (lon/lat), built in one call.

    Rings with fewer than four positions are left out (a polygon whose exterior is one of
    them is left out); the z of 3D positions is dropped.
    """
    positions, ring_ends, polygon_ends, geometry_ends = [], [0], [0], [0]
    for geometry in geometries:
        for polygon in _polygon_rings(geometry):
            if not polygon or len(polygon[0]) < 4:
                continue
            for ring in polygon:
                if len(ring) >= 4:
                    positions.extend(ring)
                    ring_ends.append(len(positions))
            polygon_ends.append(len(ring_ends) - 1)
        geometry_ends.append(len(polygon_ends) - 1)
    try:
        xy = np.array(positions, dtype=float).reshape(-1, 2)
    except ValueError:  # some positions carry a z (or more)
        xy = np.array([p[:2] for p in positions], dtype=float).reshape(-1, 2)
    offsets = tuple(np.asarray(o, dtype=np.int64) for o in (ring_ends, polygon_ends, geometry_ends))
    return shapely.from_ragged_array(shapely.GeometryType.MULTIPOLYGON, xy, offsets)


def _ragged(geoms: np.ndarray):
    """Coordinates, ring ends and per-geometry start offsets of an array of (multi)polygons."""
    kind, coords, offsets = shapely.to_ragged_array(geoms)
    if kind == shapely.GeometryType.POLYGON:
        ring_offsets, geometry_offsets = offsets
        starts = ring_offsets[geometry_offsets]
    else:
        ring_offsets, polygon_offsets, geometry_offsets = offsets
        starts = ring_offsets[polygon_offsets[geometry_offsets]]
    return coords, ring_offsets[1:], starts


def _codes(n: int, ring_ends: np.ndarray) -> np.ndarray:
    """matplotlib path codes of ``n`` ring vertices: MOVETO, LINETO …, CLOSEPOLY per ring."""
    from matplotlib.path import Path

    codes = np.full(n, Path.LINETO, dtype=Path.code_type)
    if len(ring_ends):
        codes[np.concatenate(([0], ring_ends[:-1])).astype(np.int64)] = Path.MOVETO
        codes[ring_ends - 1] = Path.CLOSEPOLY
    return codes


def _paths(coords: np.ndarray, ring_ends: np.ndarray, starts: np.ndarray, codes: np.ndarray | None = None) -> list:
    """One matplotlib Path per geometry (views into ``coords``)."""
    from matplotlib.path import Path

    codes = _codes(len(coords), ring_ends) if codes is None else codes
    empty = Path(np.zeros((1, 2)), [Path.MOVETO])
    return [Path(coords[a:b], codes[a:b]) if b > a else empty for a, b in zip(starts[:-1], starts[1:])]


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while a large GeoJSON is parsed.

    Parsing the national layer makes about a million lists and floats (and no cycles);
    each automatic collection meanwhile walks every live object of the app again:
    the parse is 4-5 times slower with the collector on (1.8 s against 0.4 s).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def version_geometry(conn, version: query.Version) -> _VersionGeometry:
    """The version's units projected to EPSG:32648, cached in this module by checksum.

    The GeoJSON is parsed once; every coordinate (units, label points) is projected
    with one vectorised pyproj call. matplotlib paths are made on the first draw.
    """
    with _GEOMETRY_LOCK:
        cached = _GEOMETRY.get(version.checksum)
    if cached is not None:
        return cached
    text_ = query.units_geojson(conn, version.id)
    labels = {(u["code"], u["valid_from"] or ""): (u["label_lon"], u["label_lat"])
              for u in query.version_units(conn, version.id)}
    with _gc_paused():
        geometry = _read_geometry(version.checksum, text_, labels)
    with _GEOMETRY_LOCK:
        if len(_GEOMETRY) >= _GEOMETRY_MAX:
            _GEOMETRY.pop(next(iter(_GEOMETRY)))
        _GEOMETRY[version.checksum] = geometry
    return geometry


def _read_geometry(checksum: str, text_: str, labels: Mapping) -> _VersionGeometry:
    """Parse and project a version's GeoJSON; ``labels``: label lon/lat by unit key (others: a point inside)."""
    data = json.loads(text_)
    features = data["features"]
    geoms = shapely.orient_polygons(_project_geom(_multipolygons([f["geometry"] for f in features])))
    keys = [(f["properties"]["code"], f["properties"].get("valid_from") or "") for f in features]
    label_xy = np.array([labels.get(key, (np.nan, np.nan)) for key in keys], dtype=float).reshape(-1, 2)
    unknown = ~np.isfinite(label_xy).all(axis=1)
    label_xy[~unknown] = np.column_stack(project(label_xy[~unknown, 0], label_xy[~unknown, 1]))
    if unknown.any():
        label_xy[unknown] = shapely.get_coordinates(shapely.point_on_surface(geoms[unknown]))
    areas = shapely.area(geoms)
    units, order = {}, []
    for index, (key, feature, geom, (lx, ly), area) in enumerate(zip(keys, features, geoms, label_xy.tolist(),
                                                                     areas.tolist())):
        unit = _Unit(key[0], key[1], feature["properties"]["name"], geom, (lx, ly), area, index)
        units[key] = unit
        order.append(unit)
    outline = shapely.orient_polygons(_project_geom(_multipolygons([data.get("outline")])[0]))
    outline_coords, outline_ring_ends, _starts = _ragged(np.array([outline]))
    ring_areas = shapely.area(shapely.polygons(shapely.get_rings(shapely.get_parts(outline))))
    coords, ring_ends, starts = _ragged(geoms)
    bounds = outline.bounds if not outline.is_empty else shapely.total_bounds(geoms)
    return _VersionGeometry(checksum, units, outline, tuple(float(v) for v in bounds),
                            median_size_m=math.sqrt(float(np.median(areas))) if len(areas) else 0.0,
                            _order=order, _coords=coords, _ring_ends=ring_ends, _starts=starts,
                            _outline_rings=(outline_coords, outline_ring_ends, ring_areas))
