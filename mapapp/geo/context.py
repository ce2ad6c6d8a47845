"""The map's surroundings: what lies around the mapped area, drawn muted under the units.

For the district map: the neighbouring districts of ``context-districts-2008.geojson``
(names in grey), the provincial borders (the districts dissolved by province), the
national border on the west (the outer boundary of the Vietnamese districts that faces
Laos) with "LÀO / LAOS" beyond it, and the towns of ``geodata/towns.csv``. For a province
atlas: the other provinces around it, dissolved from the national commune layer, and
the national border in the same way. A map of the whole country shows the Hoàng Sa and
Trường Sa archipelagos (``geodata/archipelagos.json``).

Derived once, in UTM 48N metres, and cached on disk by the checksum of every input; the
result is lon/lat JSON (rounded to 1e-4°, about 10 m: the context is drawn small).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from mapapp.geo import boundaries
from mapapp.geo.inner_points import inner_point

CONTEXT_VERSION = "context-2"  # bump when the derivation changes: invalidates caches
CONTEXT_FILE = "geodata/context-districts-2008.geojson"
SIMPLIFY_M = 150.0  # the context is drawn thin and grey: a coarse outline is enough
MIN_BORDER_M = 3000.0  # border pieces shorter than this are noise of the western-edge test
NEIGHBOUR_PAD_M = 60_000.0  # provinces within this distance of a province atlas are drawn


def _metric(frame):
    return frame.to_crs(boundaries.PROJECTED_CRS)


def _lonlat(geom, decimals: int = 4) -> dict:
    """A metric geometry as rounded lon/lat GeoJSON."""
    import shapely

    wgs = boundaries.to_wgs84({"g": geom})["g"]
    return json.loads(shapely.to_geojson(shapely.set_precision(wgs, 10 ** -decimals)))


def _point(geom) -> list[float]:
    wgs = boundaries.to_wgs84({"p": geom})["p"]
    return [round(wgs.x, 4), round(wgs.y, 4)]


def western_border(land, region=None):
    """The part of ``land``'s outer boundary that faces west: no land of ``land`` west of it.

    Parameters
    ----------
    land : shapely (multi)polygon in metres — the Vietnamese land around the area
    region : optional polygon; only the border inside it is kept

    Returns
    -------
    shapely MultiLineString (possibly empty) in metres.
    """
    import shapely

    xmin = land.bounds[0] - 1000.0
    shapely.prepare(land)
    pieces, current = [], []
    for ring in shapely.get_parts(shapely.get_exterior_ring(shapely.get_parts(land))):
        coords = list(ring.coords)
        for a, b in zip(coords, coords[1:]):
            mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
            ray = shapely.LineString([(xmin, my), (mx - 50.0, my)])
            if not land.intersects(ray):
                current.append((a, b))
                continue
            if current:
                pieces.append(current)
                current = []
        if current:
            pieces.append(current)
            current = []
    lines = [shapely.LineString([seg[0][0]] + [s[1] for s in seg]) for seg in pieces]
    merged = shapely.line_merge(shapely.MultiLineString(lines)) if lines else shapely.MultiLineString()
    # A piece running east-west is a provincial edge at the north or south end, not the western border.
    kept = [g for g in shapely.get_parts(merged)
            if g.length >= MIN_BORDER_M and _height(g) >= 0.6 * _width(g)]
    border = shapely.MultiLineString(kept)
    return border.intersection(region) if region is not None and not border.is_empty else border


def _width(geom) -> float:
    return geom.bounds[2] - geom.bounds[0]


def _height(geom) -> float:
    return geom.bounds[3] - geom.bounds[1]


def _laos_label(border, area) -> list[float] | None:
    """Where "LÀO / LAOS" goes: west of the border point nearest the area, a quarter of its width beyond."""
    import shapely
    from shapely.ops import nearest_points

    if border.is_empty:
        return None
    nearest = nearest_points(border, area.centroid)[0]
    width = area.bounds[2] - area.bounds[0]
    return _point(shapely.Point(nearest.x - max(8000.0, 0.25 * width), nearest.y))


def read_towns(path: Path) -> list[dict]:
    """The towns drawn as points: ``name``, ``lon``, ``lat``, ``source``."""
    with open(path, encoding="utf-8", newline="") as fh:
        return [{"name": r["name"], "lon": float(r["lon"]), "lat": float(r["lat"]), "source": r["source"]}
                for r in csv.DictReader(fh)]


def read_archipelagos(path: Path) -> dict:
    """The archipelagos file: ``source`` and ``archipelagos`` (names vi/en, label, islands)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def district_context(shared_dir: Path, geodata_dir: Path, outline: dict) -> dict:
    """The surroundings of the district map.

    Parameters
    ----------
    shared_dir, geodata_dir : the input folders
    outline : lon/lat GeoJSON of the mapped area (the union of its units)

    Returns
    -------
    dict: ``districts`` (name, province, geometry, label), ``provinces``, ``border``,
    ``laos_label``, ``towns``, ``archipelagos`` (empty), ``source``.
    """
    import geopandas as gpd
    import shapely

    frame = _metric(gpd.read_file(Path(shared_dir) / CONTEXT_FILE))
    area = _metric(gpd.GeoSeries([shapely.geometry.shape(outline)], crs="EPSG:4326")).iloc[0]
    geoms = boundaries.clean_coverage(frame.geometry.values, 200.0, SIMPLIFY_M)
    districts = []
    for (_, row), geom in zip(frame.iterrows(), geoms):
        inside = geom.intersection(area).area / max(geom.area, 1.0)
        districts.append({
            "name": row["name"], "province": row["province"], "geometry": _lonlat(geom),
            "label": None if inside > 0.5 else list(inner_point(boundaries.to_wgs84({"g": geom})["g"])),
        })
    provinces = []
    for name in sorted(set(frame["province"])):
        parts = [g for g, p in zip(geoms, frame["province"]) if p == name]
        provinces.append({"name": name, "geometry": _lonlat(shapely.coverage_union_all(parts))})
    land = shapely.coverage_union_all(list(geoms))
    border = western_border(land)
    return {
        "districts": districts, "provinces": provinces, "border": _lonlat(border),
        "laos_label": _laos_label(border, area), "towns": read_towns(Path(geodata_dir) / "towns.csv"),
        "archipelagos": [], "source": "vietnam63 (context-districts-2008.geojson)",
    }


def atlas_context(atlas, shared_dir: Path, geodata_dir: Path) -> dict:
    """The surroundings of an atlas: the provinces around a province; the archipelagos for the country.

    Parameters
    ----------
    atlas : :class:`mapapp.core.atlas.Atlas`
    shared_dir, geodata_dir : the input folders

    Returns
    -------
    dict with the keys of :func:`district_context` (``districts`` empty, ``towns`` empty).
    """
    import geopandas as gpd
    import shapely

    out = {"districts": [], "provinces": [], "border": _lonlat(shapely.MultiLineString()), "laos_label": None,
           "towns": [], "archipelagos": [], "source": atlas.source or atlas.boundaries}
    if atlas.archipelagos:
        data = read_archipelagos(Path(geodata_dir) / "archipelagos.json")
        out["archipelagos"] = [{**a, "source": data["source"]} for a in data["archipelagos"]]
    if "province" not in atlas.filter:
        return out
    path = atlas.boundary_path(shared_dir)
    frame = _metric(gpd.read_file(f"/vsigzip/{path}" if path.suffix == ".gz" else str(path)))
    frame["geometry"] = shapely.simplify(shapely.make_valid(frame.geometry.values), SIMPLIFY_M)
    own = frame["province"] == atlas.filter["province"]
    area = shapely.union_all(frame.geometry.values[own.values])
    window = shapely.box(*area.bounds).buffer(NEIGHBOUR_PAD_M)
    near = frame[frame.intersects(window)]
    land_parts = []
    for name, group in near.groupby("province"):
        merged = shapely.union_all(shapely.buffer(group.geometry.values, 1.0)).buffer(-1.0)
        land_parts.append(merged)
        if name != atlas.filter["province"]:
            out["provinces"].append({"name": name, "geometry": _lonlat(merged.intersection(window.buffer(40_000)))})
    land = shapely.union_all(land_parts)
    border = western_border(land, window)
    out["border"] = _lonlat(border)
    out["laos_label"] = _laos_label(border, area)
    return out


def input_checksum(shared_dir: Path, geodata_dir: Path, atlas=None) -> str:
    """Checksum of everything the context depends on (its cache key)."""
    geodata_dir = Path(geodata_dir)
    parts = [CONTEXT_VERSION, (geodata_dir / "towns.csv").read_bytes(), (geodata_dir / "archipelagos.json").read_bytes()]
    if atlas is None:
        parts.append((Path(shared_dir) / CONTEXT_FILE).read_bytes())
    else:
        parts += [atlas.id, json.dumps(atlas.filter, sort_keys=True), str(atlas.archipelagos),
                  boundaries.file_digest(atlas.boundary_path(shared_dir))]
    return boundaries.checksum(*parts)


def load_context(shared_dir: Path, geodata_dir: Path, cache_dir: Path, outline: dict | None = None,
                 atlas=None) -> dict | None:
    """The context of the district map (``outline`` given) or of an atlas, from the disk cache when possible.

    Returns None when the context file of the district map is missing (the map is drawn without it).
    """
    if atlas is None and not (Path(shared_dir) / CONTEXT_FILE).is_file():
        return None
    key = "context-" + input_checksum(shared_dir, geodata_dir, atlas)
    cached = boundaries._read_cache(cache_dir, key)
    if cached is not None:
        return cached
    built = district_context(shared_dir, geodata_dir, outline) if atlas is None \
        else atlas_context(atlas, shared_dir, geodata_dir)
    built["checksum"] = key[8:40]
    boundaries._write_cache(cache_dir, key, built)
    return built
