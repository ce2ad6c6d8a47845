"""Print-quality map exports (PNG, PDF, SVG) rendered on the server with matplotlib.

One export is one sheet of paper (A4 or A3): a title, the choropleth drawn in
UTM zone 48N (EPSG:32648), commune labels placed without collisions (maps of up
to ``LABEL_MAX_UNITS`` units), the area outline, project sites, a legend with
class counts and the no-data class, a scale bar, a north arrow and the notes
(sources, boundary version, projection, export date). Illustrative data is
stamped across the map; the stamp cannot be turned off.

The scale bar measures ground distances at the map's centre: map metres are
divided by the projection's point scale factor there (:func:`scale_factor`:
0.9996 on 105° E, up to 1.0025 at the eastern edge of Vietnam, which lies in zone
49), so it stays right for a province or the whole country, not only for Hướng Hóa.

Large atlases (a province, the 11,163 communes of Vietnam): a version's geometry is
parsed once and projected with one vectorised pyproj call (cached per checksum);
all units of a map are one ``PathCollection`` (above ``GROUP_MIN_UNITS`` units,
one compound path per colour); boundaries thin out where units are small on paper.

Colours and classes are never computed here: a single map shows exactly what
:func:`mapapp.choropleth.build_view` returns (the same payload as
``/api/values``). Small multiples (several years on one page) need classes
shared by all the maps, so :func:`prepare` calls :func:`mapapp.classify.build` —
the very function ``build_view`` uses — once on the values of every year shown,
and recolours the records of each year's ``build_view`` with that result.

Everything on the sheet is laid out in millimetres on one full-page axes; the
map frames map metres (EPSG:32648) to millimetres with one scale factor. Each
frame is described in ``Rendered.frames`` (and in PNG files as the ``mapapp:frames``
text chunk) so :func:`lonlat_to_pixel` can find any place on the image.

matplotlib is imported lazily, inside the functions that draw.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import io
import json
import math
import re
import struct
import threading
import unicodedata
import zlib
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

import numpy as np
import shapely

from mapapp.present import classify
from mapapp.query import read as query
from mapapp.present.choropleth import area_name, build_view
from mapapp.core.i18n import text
from mapapp.present.viewstate import BadRequest, ViewState, parse, parse_year

MAP_CRS = "EPSG:32648"  # WGS 84 / UTM zone 48N
PAPERS_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
ORIENTATIONS = ("landscape", "portrait")
FORMATS = {"png": "image/png", "pdf": "application/pdf", "svg": "image/svg+xml"}
DEFAULT_SIZE, DEFAULT_ORIENTATION, DEFAULT_DPI = "A4", "landscape", 300
MIN_DPI, MAX_DPI = 72, 300  # an A3 page at 300 dpi is already 17 megapixels
MAX_MAPS = 12
FONT_FAMILY = "DejaVu Sans"  # ships with matplotlib; covers Vietnamese

PT_MM = 25.4 / 72  # one typographic point in millimetres
HATCH = "////"
HATCH_COLOR = "#8c8c8c"
EDGE_COLOR = "#7d7d7d"
OUTLINE_COLOR = "#1f1f1f"
INK = "#1a1a1a"
GREY = "#555555"
STAMP_COLOR = "#b2182b"
SITE_COLOR = "#1b3a8c"
EDGE_WIDTH_PT = 0.4  # unit boundaries (A4; × the sheet's scale)...
EDGE_FULL_MM = 4.0  # ...of units at least this wide on the sheet (√area); thinner in proportion below
OUTLINE_WIDTH_PT = 1.5  # the area's outline...
OUTLINE_MIN_FACTOR = 0.6  # ...thinner with the unit boundaries, down to 0.9 pt
LABEL_MAX_UNITS = 150  # maps of more units have no commune names: they could not be read
# Maps of more units draw the units of one colour (and edge width) as one compound path: far fewer
# objects for the PDF and SVG writers (national map: PDF 2 s instead of 4 s of CPU, SVG 0.4 s instead of 4 s).
GROUP_MIN_UNITS = 1000

_STRINGS = {
    "unit": {"vi": "Đơn vị tính: {unit}", "en": "Unit: {unit}"},
    "count": {"vi": "Số đơn vị", "en": "Units"},
    "count_multi": {"vi": "Số đơn vị × năm", "en": "Unit-years"},
    "classes": {"vi": "Phân lớp: {method}, {n} lớp", "en": "Classification: {method}, {n} classes"},
    "classes_one": {"vi": "Phân lớp: {method}, 1 lớp", "en": "Classification: {method}, 1 class"},
    "diverging": {"vi": "thay đổi, đối xứng quanh 0", "en": "change, symmetric around zero"},
    "shared": {"vi": "Các lớp dùng chung cho mọi năm trên trang.",
               "en": "Classes are shared by all the years shown."},
    "boundaries": {"vi": "Ranh giới xã năm {year}, {n} đơn vị", "en": "{year} commune boundaries, {n} units"},
    "boundaries_many": {"vi": "Ranh giới xã của từng năm: {groups}", "en": "Commune boundaries of each year: {groups}"},
    "boundaries_group": {"vi": "{years}: {n} đơn vị", "en": "{years}: {n} units"},
    "caption": {"vi": "{year} ({n} đơn vị)", "en": "{year} ({n} units)"},
    "projection": {"vi": "Lưới chiếu: WGS 84 / UTM múi 48N (EPSG:32648)",
                   "en": "Projection: WGS 84 / UTM zone 48N (EPSG:32648)"},
    "exported": {"vi": "Xuất ngày {date}", "en": "Exported {date}"},
    "stamp": {"vi": "DỮ LIỆU MINH HỌA — không phải số liệu chính thức",
              "en": "ILLUSTRATIVE DATA — not official figures"},
    "north": {"vi": "B", "en": "N"},
    "sites": {"vi": "Dự án NGO/tài trợ ({n} dự án)", "en": "NGO/donor projects ({n})"},
    "sites_multi": {"vi": "Dự án NGO/tài trợ đang thực hiện", "en": "NGO/donor projects active"},
}

# matplotlib settings of every export (applied with rc_context, under a lock).
_RC = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY],
    "pdf.fonttype": 42,  # embed TrueType: text stays selectable and extractable
    "pdf.compression": 3,  # national map: 0.6 s less than level 6 for a 7 % larger file
    "svg.fonttype": "none",  # text stays <text>
    "svg.hashsalt": "mapapp-export",
    "axes.unicode_minus": False,
    "text.hinting": "none",  # unhinted glyphs: text is as wide at 100 dpi as in the PDF (layout fits)
    "hatch.linewidth": 0.5,
    "path.simplify": False,
}

_RENDER_LOCK = threading.Lock()  # matplotlib's rcParams are process-global
_GEOMETRY: dict[str, "_VersionGeometry"] = {}
_GEOMETRY_LOCK = threading.Lock()
_GEOMETRY_MAX = 16


def _s(key: str, lang: str, **fmt) -> str:
    entry = _STRINGS[key]
    return (entry.get(lang) or entry["vi"]).format(**fmt)


# --------------------------------------------------------------------------
# Request parameters
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    """The sheet: paper size, orientation, output format and (for PNG) resolution."""

    size: str = DEFAULT_SIZE
    orientation: str = DEFAULT_ORIENTATION
    dpi: int = DEFAULT_DPI
    fmt: str = "png"

    @property
    def mm(self) -> tuple[float, float]:
        """Width and height of the sheet in millimetres."""
        short, long_ = PAPERS_MM[self.size]
        return (long_, short) if self.orientation == "landscape" else (short, long_)

    @property
    def pixels(self) -> tuple[int, int]:
        """Width and height of a PNG export in pixels (paper size × dpi, rounded)."""
        return tuple(int(round(v / 25.4 * self.dpi)) for v in self.mm)


@dataclass(frozen=True)
class ExportRequest:
    """A parsed export request: the view, the years of a small-multiples page (or None) and the sheet."""

    state: ViewState
    years: tuple[int, ...] | None
    page: Page


def parse_page(args: Mapping[str, str], fmt: str) -> Page:
    """Parse ``size``, ``orientation`` and ``dpi``; raise :class:`BadRequest` with a message."""
    if fmt not in FORMATS:
        raise BadRequest(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    raw = args.get("size") or DEFAULT_SIZE
    size = str(raw).strip().upper()
    if size not in PAPERS_MM:
        raise BadRequest(f"paper size {raw!r} is not supported; use one of: {', '.join(PAPERS_MM)}")
    raw = args.get("orientation") or DEFAULT_ORIENTATION
    orientation = str(raw).strip().lower()
    if orientation not in ORIENTATIONS:
        raise BadRequest(f"orientation {raw!r} is not supported; use portrait or landscape")
    raw = args.get("dpi")
    if raw is None or str(raw).strip() == "":
        dpi = DEFAULT_DPI
    else:
        try:
            dpi = int(str(raw).strip())
        except ValueError:
            raise BadRequest(f"dpi={raw!r} is not a whole number") from None
        if not MIN_DPI <= dpi <= MAX_DPI:
            raise BadRequest(f"dpi={dpi} is out of range; use {MIN_DPI} to {MAX_DPI} (150 or 300 for print)")
    return Page(size, orientation, dpi, fmt)


def parse_years(text_: str, config: Mapping) -> tuple[int, ...]:
    """Parse ``2016,2018,2020`` or ``2016-2024`` (or both mixed) into sorted distinct years."""
    years: set[int] = set()
    parts = [p.strip() for p in str(text_).split(",") if p.strip()]
    if not parts:
        raise BadRequest("years is empty; give years like 2016,2018,2020 or a range 2016-2024")
    for part in parts:
        match = re.fullmatch(r"(\d{4})\s*[-–]\s*(\d{4})", part)
        if match:
            first, last = (parse_year(g, config) for g in match.groups())
            if first > last:
                raise BadRequest(f"year range {part!r} runs backwards")
            years.update(range(first, last + 1))
        else:
            years.add(parse_year(part, config))
    if len(years) > MAX_MAPS:
        raise BadRequest(f"{len(years)} years asked for; one page holds at most {MAX_MAPS} maps")
    return tuple(sorted(years))


def parse_request(args: Mapping[str, str], fmt: str, config: Mapping, indicator_ids) -> ExportRequest:
    """Parse an export query string (the map's view parameters plus the sheet's).

    ``indicator`` and ``year`` (or ``years`` for small multiples) are required.
    """
    args = {key: args.get(key) for key in args}
    if not args.get("indicator"):
        raise BadRequest("the parameter indicator is required (e.g. indicator=poverty_rate)")
    years = None
    if args.get("years") not in (None, ""):
        years = parse_years(args["years"], config)
        args["year"] = str(years[0])
        if len(years) == 1:
            years = None
    elif args.get("year") in (None, ""):
        raise BadRequest("the parameter year (or years=2016,2018,...) is required (e.g. year=2021)")
    page = parse_page(args, fmt)
    state = parse(args, config, indicator_ids)
    return ExportRequest(state, years, page)


# --------------------------------------------------------------------------
# Geometry (projected once per boundary version)
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# The sheet's content (data only, no drawing)
# --------------------------------------------------------------------------

@dataclass
class MapPanel:
    """One map of the sheet: a year, its ``build_view`` payload and geometry, and its project sites."""

    year: int
    view: dict
    geometry: _VersionGeometry
    sites: list[dict] = field(default_factory=list)  # {"lon", "lat", "count"}


@dataclass
class Sheet:
    """Everything printed on one export, ready to draw."""

    state: ViewState
    panels: list[MapPanel]
    title: str
    unit: str
    legend: list[tuple[str, str, int]]  # (colour, label, count)
    no_data: tuple[str, int]  # (label, count)
    classes_note: str
    sources: list[dict]
    boundaries_note: str
    illustrative: bool
    project_count: int
    multiples: bool


def _years_text(years: Iterable[int]) -> str:
    years = list(years)
    if len(years) >= 3 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}–{years[-1]}"
    return ", ".join(map(str, years))


def _sites(conn, year: int) -> tuple[list[dict], int]:
    """Project sites of ``year`` grouped by position (one marker per commune)."""
    projects = query.projects_for_year(conn, year)
    by_place: dict[tuple[float, float], set] = {}
    for project_ in projects:
        for site in project_["sites"]:
            by_place.setdefault((site["lon"], site["lat"]), set()).add(project_["id"])
    sites = [{"lon": lon, "lat": lat, "count": len(ids)} for (lon, lat), ids in sorted(by_place.items())]
    return sites, len(projects)


def _check_has_data(conn, view: dict, state: ViewState) -> None:
    if any(r["value"] is not None for r in view["records"]):
        return
    years = query.indicator_years(conn).get(state.indicator, {}).get("years", [])
    name = view["indicator"]["name"]
    hint = f"years with data: {', '.join(map(str, years))}" if years else "this indicator has no data yet"
    raise BadRequest(f"no values of {name!r} ({state.indicator}) for {state.year}; {hint}")


def prepare(conn, state: ViewState, years: Iterable[int] | None = None) -> Sheet:
    """Read and classify everything one export shows.

    A single map (``years`` None) uses :func:`build_view` as is. Small multiples
    call ``build_view`` per year (values, sources, flags) and then classify the
    values of all years together with :func:`classify.build` — the function
    ``build_view`` uses — with the view's method, k and palette, so the page has
    one legend valid for every map.
    """
    lang = state.lang
    years = list(years) if years else [state.year]
    multiples = len(years) > 1
    panels, project_ids = [], 0
    for year in years:
        year_state = replace(state, year=year)
        view = build_view(conn, year_state)
        _check_has_data(conn, view, year_state)
        version = query.version_by_id(conn, view["version"]["id"])
        sites, n_projects = _sites(conn, year) if state.projects else ([], 0)
        project_ids = max(project_ids, n_projects) if multiples else n_projects
        panels.append(MapPanel(year, view, version_geometry(conn, version), sites))
    first = panels[0].view
    indicator = first["indicator"]
    cls = first["classification"]
    if multiples:
        records = [r for p in panels for r in p.view["records"]]
        classification, classes = classify.build([r["value"] for r in records], state.method, state.k,
                                                 cls["palette"])
        for record, index in zip(records, classes):
            record["class"] = index
            record["color"] = classification.colors[index] if index is not None else classify.NO_DATA_COLOR
        labels = classify.legend_labels(classification, indicator["decimals"], lang)
        colors, counts, no_data = classification.colors, classification.counts, classification.no_data_count
        n_classes = len(classification.upper_bounds)
        title = f"{indicator['name']} — {area_name(years[0], panels[0].view['version']['unit_count'], lang, conn)}, " \
                f"{_years_text(years)}"
    else:
        labels, colors, counts, no_data = first["legend"]["labels"], cls["colors"], cls["counts"], cls["no_data_count"]
        n_classes = len(cls["breaks"])
        title = first["title"]
    method = _s("diverging", lang) if cls.get("diverging") and not multiples else text(state.method, lang)
    classes_note = _s("classes_one" if n_classes == 1 else "classes", lang, method=method, n=n_classes)
    if multiples:
        classes_note += ". " + _s("shared", lang)
    sources = sorted({(s["title"], s["url"]) for p in panels for s in p.view["sources"]})
    return Sheet(
        state=state, panels=panels, title=title, unit=indicator["unit"],
        legend=list(zip(colors, labels, counts)), no_data=(first["legend"]["no_data"], no_data),
        classes_note=classes_note, sources=[{"title": t, "url": u} for t, u in sources],
        boundaries_note=_boundaries_note(panels, lang),
        illustrative=any(p.view["illustrative"] for p in panels),
        project_count=project_ids, multiples=multiples,
    )


def _boundaries_note(panels: list[MapPanel], lang: str) -> str:
    if len(panels) == 1:
        p = panels[0]
        return _s("boundaries", lang, year=p.year, n=p.view["version"]["unit_count"])
    groups: dict[str, list[MapPanel]] = {}
    for p in panels:
        groups.setdefault(p.view["version"]["id"], []).append(p)
    parts = [_s("boundaries_group", lang, years=", ".join(str(p.year) for p in ps),
                n=ps[0].view["version"]["unit_count"]) for ps in groups.values()]
    return _s("boundaries_many", lang, groups="; ".join(parts))


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

@dataclass
class Rendered:
    """An export: the file's bytes, its MIME type and download name, and where its maps are."""

    data: bytes
    mimetype: str
    filename: str
    frames: list[dict]
    page: Page
    page_mm: tuple[float, float]
    size_px: tuple[int, int] | None = None


def slug(text_: str) -> str:
    """ASCII file-name slug: ``Tỷ lệ hộ nghèo`` → ``ty-le-ho-ngheo``."""
    text_ = text_.replace("đ", "d").replace("Đ", "D")
    ascii_ = unicodedata.normalize("NFKD", text_).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-") or "map"


def filename_for(sheet: Sheet, fmt: str) -> str:
    """Download name, e.g. ``ty-le-ho-ngheo-2021.png``."""
    years = "-".join(str(p.year) for p in sheet.panels)
    return f"{slug(sheet.panels[0].view['indicator']['name'])}-{years}.{fmt}"


def export_date(today: dt.date, lang: str) -> str:
    """dd/mm/yyyy in Vietnamese, ISO 8601 in English."""
    return today.strftime("%d/%m/%Y") if lang == "vi" else today.isoformat()


def render(conn, state: ViewState, page: Page, years: Iterable[int] | None = None, *,
           labels: bool = True, today: dt.date | None = None) -> Rendered:
    """Render one export (a single map, or small multiples when ``years`` has several years).

    ``labels=False`` leaves out the commune labels (used by tests that sample colours).
    """
    sheet = prepare(conn, state, years)
    return draw(sheet, page, labels=labels, today=today or dt.date.today())


def lonlat_to_pixel(frame: Mapping, lon: float, lat: float) -> tuple[float, float]:
    """Pixel (column, row from the top) of ``lon``/``lat`` in a PNG export, for one of its frames."""
    x, y = project(lon, lat)
    x_mm = frame["origin_mm"][0] + (x - frame["extent_m"][0]) * frame["mm_per_m"]
    y_mm = frame["origin_mm"][1] + (y - frame["extent_m"][1]) * frame["mm_per_m"]
    width_mm, height_mm = frame["page_mm"]
    width_px, height_px = frame["size_px"]
    return x_mm / width_mm * width_px, (1 - y_mm / height_mm) * height_px


# --------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------

class _Measure:
    """Text widths in millimetres, independent of the output resolution.

    Widths are sums of unhinted glyph advances (kerning ignored), measured once
    per character at 10 pt and scaled: fast enough for word wrapping and label
    placement, and the same for PNG, PDF and SVG.
    """

    _advances: dict[tuple[str, bool], float] = {}

    def __init__(self):
        from matplotlib.font_manager import FontProperties
        from matplotlib.textpath import TextToPath

        self._tp = TextToPath()
        self._fp = FontProperties

    def _advance(self, char: str, bold: bool) -> float:
        key = (char, bold)
        width = self._advances.get(key)
        if width is None:
            prop = self._fp(family=FONT_FAMILY, size=10, weight="bold" if bold else "normal")
            # Measured between two letters so a space keeps its width.
            w3, _h, _d = self._tp.get_text_width_height_descent(f"x{char}x", prop, ismath=False)
            w2, _h, _d = self._tp.get_text_width_height_descent("xx", prop, ismath=False)
            width = self._advances[key] = (w3 - w2) * PT_MM / 10
        return width

    def width(self, s: str, size: float, bold: bool = False) -> float:
        return sum(self._advance(c, bold) for c in s) * size

    def wrap(self, s: str, size: float, width_mm: float, bold: bool = False) -> list[str]:
        """Greedy word wrap; words wider than the line are cut (long URLs)."""
        lines, line = [], ""
        for word in s.split():
            while self.width(word, size, bold) > width_mm and len(word) > 1:
                cut = len(word)
                while cut > 1 and self.width(word[:cut], size, bold) > width_mm:
                    cut -= 1
                head, word = word[:cut], word[cut:]
                if line:
                    lines.append(line)
                    line = ""
                lines.append(head)
            candidate = f"{line} {word}" if line else word
            if line and self.width(candidate, size, bold) > width_mm:
                lines.append(line)
                line = word
            else:
                line = candidate
        if line:
            lines.append(line)
        return lines or [""]


def _line_mm(size: float, spacing: float = 1.25) -> float:
    return size * spacing * PT_MM


@dataclass
class _Frame:
    panel: MapPanel
    x: float  # lower-left corner of the map box, mm
    y: float
    w: float
    h: float
    extent: tuple[float, float, float, float]  # metres: xmin, ymin, xmax, ymax
    k: float  # mm per metre

    def to_mm(self, x, y):
        return self.x + (x - self.extent[0]) * self.k, self.y + (y - self.extent[1]) * self.k

    def to_m(self, x_mm, y_mm):
        return self.extent[0] + (x_mm - self.x) / self.k, self.extent[1] + (y_mm - self.y) / self.k


class _Composer:
    """Lays out and draws one sheet on a full-page axes whose data units are millimetres."""

    def __init__(self, sheet: Sheet, page: Page, labels: bool, today: dt.date):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.sheet, self.page, self.labels, self.today = sheet, page, labels, today
        self.lang = sheet.state.lang
        if page.fmt == "png":  # whole pixels: the image is exactly paper × dpi
            self.W, self.H = (px / page.dpi * 25.4 for px in page.pixels)
        else:
            self.W, self.H = page.mm
        self.s = min(self.W, self.H) / 210.0  # 1 on A4, √2 on A3: an A3 sheet is an enlarged A4 sheet
        dpi = page.dpi if page.fmt == "png" else 72
        self.fig = Figure(figsize=(self.W / 25.4, self.H / 25.4), dpi=dpi, facecolor="white")
        FigureCanvasAgg(self.fig)
        ax = self.fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, self.W)
        ax.set_ylim(0, self.H)
        ax.set_axis_off()
        ax.patch.set_visible(False)
        self.ax = ax
        self.m = _Measure()
        self.margin = 10 * self.s
        self.obstacles: list[tuple[float, float, float, float]] = []

    # -- primitives ------------------------------------------------------

    def text(self, x, y, s, size, *, bold=False, color=INK, ha="left", va="baseline", **kw):
        return self.ax.text(x, y, s, fontsize=size, fontweight="bold" if bold else "normal", color=color,
                            ha=ha, va=va, fontfamily=FONT_FAMILY, **kw)

    def lines(self, x, top, lines, size, *, bold=False, color=INK, spacing=1.25, ha="left"):
        """Draw lines downwards from ``top``; return the y below the last line."""
        step = _line_mm(size, spacing)
        y = top
        for line in lines:
            y -= step
            self.text(x, y + step * 0.22, line, size, bold=bold, color=color, ha=ha)
        return y

    # -- layout ----------------------------------------------------------

    def layout(self):
        """Place the title, the map frames and the legend panel; the title starts where the maps do."""
        width = self.W - 2 * self.margin
        for _attempt in range(3):
            self._layout(width)
            narrower = self.W - self.margin - self.title_x
            if len(self.m.wrap(self.sheet.title, 15 * self.s, narrower, bold=True)) == len(self.title_lines):
                break
            width = narrower
        self.title_lines = self.m.wrap(self.sheet.title, 15 * self.s, self.W - self.margin - self.title_x, bold=True)

    def _layout(self, title_width: float):
        s, m, W, H = self.s, self.margin, self.W, self.H
        sheet = self.sheet
        title_size, sub_size = 15 * s, 9 * s
        self.title_lines = self.m.wrap(sheet.title, title_size, title_width, bold=True)
        title_h = len(self.title_lines) * _line_mm(title_size, 1.2) + _line_mm(sub_size) + 4 * s
        top = H - m - title_h
        bottom = m
        xmin = min(p.geometry.bounds[0] for p in sheet.panels)
        ymin = min(p.geometry.bounds[1] for p in sheet.panels)
        xmax = max(p.geometry.bounds[2] for p in sheet.panels)
        ymax = max(p.geometry.bounds[3] for p in sheet.panels)
        pad = 0.04 * max(xmax - xmin, ymax - ymin)
        ext = (xmin - pad, ymin - pad, xmax + pad, ymax + pad)
        ew, eh = ext[2] - ext[0], ext[3] - ext[1]
        n = len(sheet.panels)
        gutter = 5 * s
        caption_h = _line_mm(9 * s) + 1.5 * s if sheet.multiples else 0.0
        panel_w, panel_h, gap = 66 * s, 62 * s, 7 * s
        best = None
        for side in ("right", "bottom"):
            avail_w = W - 2 * m - (panel_w + gap if side == "right" else 0)
            avail_h = top - bottom - (panel_h + gap if side == "bottom" else 0)
            for cols in range(1, n + 1):
                rows = math.ceil(n / cols)
                cell_w = (avail_w - (cols - 1) * gutter) / cols
                cell_h = (avail_h - (rows - 1) * gutter) / rows - caption_h
                if cell_w <= 0 or cell_h <= 0:
                    continue
                k = min(cell_w / ew, cell_h / eh)
                if best is None or k > best[0] * 1.0001:
                    best = (k, side, cols, rows)
        k, side, cols, rows = best
        cw, ch = ew * k, eh * k
        block_w = cols * cw + (cols - 1) * gutter
        block_h = rows * (ch + caption_h) + (rows - 1) * gutter
        if side == "right":
            group_w = block_w + gap + panel_w
            x0 = m + max(0.0, (W - 2 * m - group_w) / 2)
            y_top = top
            # The panel spans the map block's height: notes end level with the map's frame.
            self.panel_box = (x0 + block_w + gap, top - block_h, panel_w, block_h)
        else:
            x0 = m + max(0.0, (W - 2 * m - block_w) / 2)
            y_top = top - max(0.0, (top - bottom - panel_h - gap - block_h) / 2)
            self.panel_box = (m, bottom, W - 2 * m, panel_h)
        self.side = side
        self.title_x = min(x0, self.panel_box[0]) if side == "right" else m
        self.title_top = H - m
        self.frames = []
        for i, panel in enumerate(sheet.panels):
            r, c = divmod(i, cols)
            fx = x0 + c * (cw + gutter)
            fy = y_top - r * (ch + caption_h + gutter) - caption_h - ch
            self.frames.append(_Frame(panel, fx, fy, cw, ch, ext, k))
        self.block = (x0, y_top - block_h, block_w, block_h)

    # -- parts -----------------------------------------------------------

    def draw_title(self):
        s = self.s
        y = self.lines(self.title_x, self.title_top, self.title_lines, 15 * s, bold=True, spacing=1.2)
        self.text(self.title_x, y - _line_mm(9 * s) * 0.8, _s("unit", self.lang, unit=self.sheet.unit), 9 * s,
                  color=GREY)

    def draw_maps(self):
        """Per frame: every unit in one collection (no-data units in a second, hatched), the outline, sites, labels.

        A unit's boundary is 0.4 pt when the unit is at least ``EDGE_FULL_MM`` across on the
        sheet (every unit of the district map), thinner in proportion below that: on the
        national map the wards of a city, a pixel or two wide, show their colour rather than
        a grey mesh of boundaries. The area's outline thins with the typical unit, to 0.9 pt.
        """
        from matplotlib.collections import PathCollection
        from matplotlib.patches import PathPatch, Rectangle
        from matplotlib.transforms import Affine2D

        s = self.s
        for frame in self.frames:
            geometry = frame.panel.geometry
            geometry.ensure_paths()
            to_mm = Affine2D().translate(-frame.extent[0], -frame.extent[1]).scale(frame.k) \
                .translate(frame.x, frame.y) + self.ax.transData
            edge_per_m = EDGE_WIDTH_PT * s * frame.k / EDGE_FULL_MM  # edge width (pt) per metre of unit size
            drawn = []  # (unit, colour or None for no data, edge width)
            units = geometry.units
            for record in frame.panel.view["records"]:
                unit = units.get((record["code"], record["valid_from"] or ""))
                if unit is not None:
                    drawn.append((unit, None if record["class"] is None else record["color"],
                                  min(EDGE_WIDTH_PT * s, math.sqrt(unit.area) * edge_per_m)))
            if len(drawn) > GROUP_MIN_UNITS:
                drawn = geometry.grouped(drawn, EDGE_WIDTH_PT * s / 16)
            else:
                drawn = [(unit.path, color, edge) for unit, color, edge in drawn]
            filled = [item for item in drawn if item[1] is not None]
            empty = [item for item in drawn if item[1] is None]
            detail = min(1.0, geometry.median_size_m * frame.k / EDGE_FULL_MM)
            outline = OUTLINE_WIDTH_PT * s * max(OUTLINE_MIN_FACTOR, detail)
            # Islands and holes less than about 4 line widths across would only be blots of outline ink.
            outline_path = geometry.outline_path((4 * outline * PT_MM / frame.k) ** 2)
            # autolim=False: the axes limits are the sheet; do not walk 11k paths for data limits.
            if filled:
                paths, colors, edges = zip(*filled)
                self.ax.add_collection(PathCollection(
                    paths, facecolors=colors, edgecolors=EDGE_COLOR, linewidths=edges, transform=to_mm, zorder=2),
                    autolim=False)
            if empty:
                paths, _colors, edges = zip(*empty)
                self.ax.add_collection(PathCollection(
                    paths, facecolors=classify.NO_DATA_COLOR, edgecolors=EDGE_COLOR, linewidths=edges,
                    hatch=HATCH, hatchcolor=HATCH_COLOR, transform=to_mm, zorder=2), autolim=False)
            # add_artist, not add_patch: add_patch walks every segment of the outline to update data limits.
            self.ax.add_artist(PathPatch(outline_path, facecolor="none", edgecolor=OUTLINE_COLOR,
                                         linewidth=outline, joinstyle="round", transform=to_mm, zorder=3))
            self.ax.add_patch(Rectangle((frame.x, frame.y), frame.w, frame.h, facecolor="none",
                                        edgecolor="#b0b0b0", linewidth=0.5 * s, zorder=1))
            if self.sheet.multiples:
                caption = _s("caption", self.lang, year=frame.panel.year, n=frame.panel.view["version"]["unit_count"])
                self.text(frame.x, frame.y + frame.h + 1.5 * s, caption, 9 * s, bold=True)
            self.obstacles = []
            self.draw_sites(frame)
            if self.labels and len(frame.panel.view["records"]) <= LABEL_MAX_UNITS:
                self.draw_labels(frame)

    def draw_sites(self, frame: _Frame):
        s = self.s
        r = 1.5 * s
        for site in frame.panel.sites:
            x, y = frame.to_mm(*project(site["lon"], site["lat"]))
            self._site_marker(x, y, r, site["count"])
            self.obstacles.append((x - r, y - r, x + r, y + r))

    def _site_marker(self, x, y, r, count):
        from matplotlib.patches import Circle

        self.ax.add_patch(Circle((x, y), r, facecolor=SITE_COLOR, edgecolor="white", linewidth=0.6 * self.s,
                                 zorder=6))
        if count > 1:
            self.text(x, y, str(count), 5.5 * self.s, bold=True, color="white", ha="center", va="center_baseline",
                      zorder=7)

    def draw_labels(self, frame: _Frame):
        """Greedy placement: the label point, then offsets around it; then smaller or shorter; else skip."""
        from matplotlib.patheffects import Stroke

        s = self.s
        size = (5.5 if self.sheet.multiples else 6.8) * s
        decimals_text = not self.sheet.multiples
        geometry = frame.panel.geometry
        items = []
        for record in frame.panel.view["records"]:
            unit = geometry.units.get((record["code"], record["valid_from"] or ""))
            if unit is not None:
                items.append((unit.area, unit, record))
        items.sort(key=lambda item: item[0])  # small communes first: they have the fewest places
        placed = self.obstacles
        for _area, unit, record in items:
            name = _short_name(unit.name)
            variants = []
            if decimals_text and record["value"] is not None:
                variants.append((f"{name}\n{record['value_text']}", size))
            variants += [(name, size), (name, size * 0.82)]
            lx, ly = frame.to_mm(*unit.label)
            done = False
            for allow_outside in (False, True):
                for label, fs in variants:
                    lines = label.split("\n")
                    w = max(self.m.width(line, fs) for line in lines) + 0.6 * s
                    h = len(lines) * _line_mm(fs, 1.15) + 0.3 * s
                    for ox, oy in _offsets(w, h, 1.2 * s):
                        cx, cy = lx + ox, ly + oy
                        box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                        if not (frame.x <= box[0] and box[2] <= frame.x + frame.w
                                and frame.y <= box[1] and box[3] <= frame.y + frame.h):
                            continue
                        if any(_overlap(box, other) for other in placed):
                            continue
                        centre = shapely.Point(*frame.to_m(cx, cy))
                        if not (unit.geom.contains(centre) if not allow_outside
                                else unit.geom.distance(centre) * frame.k < h / 2):
                            continue
                        for effects, color, z in (([Stroke(linewidth=2.0 * s, foreground="white")], "white", 8),
                                                  (None, INK, 9)):
                            self.ax.text(cx, cy, label, fontsize=fs, color=color, ha="center", va="center",
                                         multialignment="center", linespacing=1.05, fontfamily=FONT_FAMILY,
                                         path_effects=effects, zorder=z)
                        placed.append(box)
                        done = True
                        break
                    if done:
                        break
                if done:
                    break

    def draw_stamp(self):
        if not self.sheet.illustrative:
            return
        x, y, w, h = self.block
        stamp = _s("stamp", self.lang)
        angle = math.degrees(math.atan2(h, w))
        diagonal = math.hypot(w, h)
        size = 10 * 0.9 * diagonal / self.m.width(stamp, 10, bold=True)
        size = max(9 * self.s, min(size, 40 * self.s))
        self.text(x + w / 2, y + h / 2, stamp, size, bold=True, color=STAMP_COLOR, alpha=0.45, ha="center",
                  va="center", rotation=angle, rotation_mode="anchor", zorder=20)

    def draw_panel(self):
        from matplotlib.patches import Rectangle

        s, lang, sheet = self.s, self.lang, self.sheet
        px, py, pw, ph = self.panel_box
        if self.side == "right":
            legend_w = notes_w = pw
            legend_x = notes_x = px
        else:
            legend_w = min(95 * s, pw * 0.45)
            legend_x, notes_x = px, px + legend_w + 10 * s
            notes_w = pw - legend_w - 10 * s
        top = py + ph
        # Legend
        head = f"{sheet.panels[0].view['indicator']['name']} ({sheet.unit})"
        y = self.lines(legend_x, top, self.m.wrap(head, 9 * s, legend_w, bold=True), 9 * s, bold=True)
        y -= 1.0 * s
        count_label = _s("count_multi" if sheet.multiples else "count", lang)
        self.text(legend_x + legend_w, y - _line_mm(6.5 * s) * 0.75, count_label, 6.5 * s, color=GREY, ha="right")
        y -= _line_mm(6.5 * s) + 0.5 * s
        sw, sh, row = 9 * s, 5 * s, 6.6 * s
        rows = [(c, label, n, False) for c, label, n in sheet.legend]
        rows.append((classify.NO_DATA_COLOR, sheet.no_data[0], sheet.no_data[1], True))
        for color, label, count, hatched in rows:
            y -= row
            self.ax.add_patch(Rectangle((legend_x, y), sw, sh, facecolor=color, edgecolor=EDGE_COLOR,
                                        linewidth=0.4 * s, hatch=HATCH if hatched else None,
                                        **({"hatchcolor": HATCH_COLOR} if hatched else {}), zorder=3))
            self.text(legend_x + sw + 2.5 * s, y + sh / 2, label, 8 * s, va="center_baseline")
            self.text(legend_x + legend_w, y + sh / 2, str(count), 8 * s, va="center_baseline", ha="right")
        if any(p.sites for p in sheet.panels) or (sheet.state.projects and sheet.project_count):
            y -= row
            self._site_marker(legend_x + sw / 2, y + sh / 2, 1.5 * s, 1)
            label = _s("sites_multi" if sheet.multiples else "sites", lang, n=sheet.project_count)
            self.text(legend_x + sw + 2.5 * s, y + sh / 2, label, 8 * s, va="center_baseline")
        y -= 2.5 * s
        y = self.lines(legend_x, y, self.m.wrap(sheet.classes_note, 6.5 * s, legend_w), 6.5 * s, color=GREY)
        # Notes, anchored at the bottom of the panel (right) or beside the legend (bottom)
        size = 6.3 * s
        notes = []
        source_text = "; ".join(f"{src['title']} — {src['url']}" if src["url"] else src["title"]
                                for src in sheet.sources)
        notes.append((f"{text('source', lang)}: {source_text}", INK))
        notes.append((sheet.boundaries_note, INK))
        notes.append((_s("projection", lang), GREY))
        notes.append((_s("exported", lang, date=export_date(self.today, lang)), GREY))
        wrapped = [(line, color) for note, color in notes for line in self.m.wrap(note, size, notes_w)]
        step = _line_mm(size)
        scale_h = 16 * s
        if self.side == "right":
            notes_top = py + len(wrapped) * step
            scale_top = notes_top + scale_h + 3 * s
        else:
            scale_top = top
            notes_top = top - scale_h - 3 * s
        ny = notes_top
        for line, color in wrapped:
            ny -= step
            self.text(notes_x, ny + step * 0.22, line, size, color=color)
        self.draw_scale_and_north(notes_x, scale_top - scale_h, min(notes_w, 70 * s), scale_h)

    def draw_scale_and_north(self, x, y, w, h):
        """North arrow (true north, rotated by the UTM grid convergence) and a metric scale bar
        (ground distances at the map's centre: the projection's scale factor there is applied)."""
        from matplotlib.patches import Polygon, Rectangle

        s = self.s
        frame = self.frames[0]
        # North arrow
        cx, cy = x + 4 * s, y + h * 0.42
        ext = frame.extent
        lon, lat = _transformer().transform((ext[0] + ext[2]) / 2, (ext[1] + ext[3]) / 2, direction="INVERSE")
        x1, y1 = project(lon, lat)
        x2, y2 = project(lon, lat + 0.05)
        theta = math.atan2(x2 - x1, y2 - y1)  # clockwise from grid north
        length, half = 10 * s, 3 * s

        def rot(px_, py_):
            c, sn = math.cos(theta), math.sin(theta)
            return cx + px_ * c + py_ * sn, cy - px_ * sn + py_ * c

        tip, base = rot(0, length / 2), rot(0, -length / 2 + 2 * s)
        left, right = rot(-half, -length / 2), rot(half, -length / 2)
        self.ax.add_patch(Polygon([tip, left, base], closed=True, facecolor="white", edgecolor=INK,
                                  linewidth=0.6 * s, zorder=5))
        self.ax.add_patch(Polygon([tip, right, base], closed=True, facecolor=INK, edgecolor=INK,
                                  linewidth=0.6 * s, zorder=5))
        lx, ly = rot(0, length / 2 + 1.2 * s)
        self.text(lx, ly, _s("north", self.lang), 9 * s, bold=True, ha="center", va="bottom",
                  rotation=-math.degrees(theta), rotation_mode="anchor")
        # Scale bar: the longest "nice" length that fits. Ground distances at the map's centre:
        # a ground metre is scale_factor map metres there (UTM: 0.9996 on 105° E, 1.0025 at 109.5° E).
        bar_x = x + 14 * s
        room_mm = x + w - bar_x - 6 * s
        mm_per_km = 1000 * scale_factor(lon, lat) * frame.k
        km = max((v for v in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000) if v * mm_per_km <= room_mm),
                 default=1)
        segments = 4 if km in (2, 20, 100, 200, 1000) else 2 if km == 1 else 5
        seg_mm = km * mm_per_km / segments
        bar_y, bar_h = y + h * 0.42 - 0.9 * s, 1.8 * s
        for i in range(segments):
            self.ax.add_patch(Rectangle((bar_x + i * seg_mm, bar_y), seg_mm, bar_h,
                                        facecolor=INK if i % 2 == 0 else "white", edgecolor=INK,
                                        linewidth=0.5 * s, zorder=5))
        size = 6.5 * s
        for i in (0, segments // 2 if segments % 2 == 0 else None, segments):
            if i is None:
                continue
            value = km * i / segments
            label = classify.format_number(value, 0 if value == int(value) else 1, self.lang)
            if i == segments:
                label += " km"
            self.text(bar_x + i * seg_mm, bar_y - 1.2 * s, label, size, ha="center", va="top")

    # -- output ----------------------------------------------------------

    def frames_info(self) -> list[dict]:
        out = []
        for f in self.frames:
            out.append({
                "year": f.panel.year, "version": f.panel.view["version"]["id"], "crs": MAP_CRS,
                "extent_m": list(f.extent[:2]), "mm_per_m": f.k, "origin_mm": [f.x, f.y],
                "box_mm": [f.x, f.y, f.w, f.h], "page_mm": [self.W, self.H],
                "size_px": list(self.page.pixels) if self.page.fmt == "png" else None,
            })
        return out

    def save(self) -> bytes:
        sheet, page = self.sheet, self.page
        buffer = io.BytesIO()
        if page.fmt == "png":
            canvas = self.fig.canvas
            canvas.draw()
            rgb = np.asarray(canvas.buffer_rgba())[:, :, :3]
            buffer.write(png_bytes(rgb, page.dpi, [
                ("Title", sheet.title), ("Software", "mapapp (matplotlib)"),
                ("mapapp:maps", str(len(self.frames))), ("mapapp:frames", json.dumps(self.frames_info())),
            ]))
        elif page.fmt == "pdf":
            self.fig.savefig(buffer, format="pdf", metadata={
                "Title": sheet.title, "Creator": "mapapp", "Subject": _s("exported", self.lang,
                                                                          date=export_date(self.today, self.lang))})
        else:
            self.fig.savefig(buffer, format="svg", metadata={"Title": sheet.title, "Creator": "mapapp",
                                                              "Date": self.today.isoformat()})
        return buffer.getvalue()


def png_bytes(rgb: np.ndarray, dpi: int, texts: Iterable[tuple[str, str]] = (), level: int = 3) -> bytes:
    """Encode an RGB image (h × w × 3, uint8) as PNG, with its resolution and text chunks.

    Written directly (no row filters, zlib level 3): for flat-coloured maps this is
    about three times faster than the generic encoder and the file is no larger.
    """
    height, width, _ = rgb.shape
    rows = np.empty((height, 1 + width * 3), dtype=np.uint8)
    rows[:, 0] = 0  # filter type "None" for every row
    rows[:, 1:].reshape(height, width, 3)[...] = rgb  # a view of the rows: one copy of the pixels

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    per_metre = int(round(dpi / 0.0254))
    parts = [b"\x89PNG\r\n\x1a\n",
             chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
             chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))]
    for key, value in texts:
        if value.isascii():
            parts.append(chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1")))
        else:  # international text: UTF-8, uncompressed, no language tag
            parts.append(chunk(b"iTXt", key.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8")))
    parts.append(chunk(b"IDAT", zlib.compress(rows.tobytes(), level)))
    parts.append(chunk(b"IEND", b""))
    return b"".join(parts)


def _short_name(name: str) -> str:
    """Label text: ``Xã A Dơi`` → ``A Dơi``, ``Thị trấn Khe Sanh`` → ``TT. Khe Sanh``."""
    if name.startswith("Xã "):
        return name[3:]
    if name.startswith("Thị trấn "):
        return "TT. " + name[len("Thị trấn "):]
    return name


def _offsets(w: float, h: float, gap: float):
    """Candidate label centres around the label point, nearest first."""
    yield 0.0, 0.0
    for step in (1.0, 1.9):
        dx, dy = (w / 2 + gap) * step, (h / 2 + gap) * step
        yield from ((0, dy), (0, -dy), (dx, 0), (-dx, 0), (dx, dy), (-dx, dy), (dx, -dy), (-dx, -dy))


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def draw(sheet: Sheet, page: Page, *, labels: bool = True, today: dt.date | None = None) -> Rendered:
    """Draw a prepared sheet into PNG, PDF or SVG bytes."""
    import matplotlib

    today = today or dt.date.today()
    with _RENDER_LOCK, matplotlib.rc_context(_RC):
        composer = _Composer(sheet, page, labels, today)
        composer.layout()
        composer.draw_title()
        composer.draw_maps()
        composer.draw_stamp()
        composer.draw_panel()
        data = composer.save()
        frames = composer.frames_info()
        page_mm = (composer.W, composer.H)
        composer.fig.clear()
    return Rendered(data, FORMATS[page.fmt], filename_for(sheet, page.fmt), frames, page, page_mm,
                    page.pixels if page.fmt == "png" else None)
