"""Exports of an atlas of many units: the 141 communes of Quảng Trị (``ATLAS=quang-tri``).

The same checks as tests/test_export.py, on a map six times larger: each commune's
colour in the PNG is the colour ``/api/values`` gives it — drawn one path per unit, and
drawn grouped (one compound path per colour, as maps of more than ``GROUP_MIN_UNITS``
units are); names are left out above ``LABEL_MAX_UNITS``; the geometry read in one
vectorised pass equals a feature-by-feature projection; the scale factor behind the
scale bar matches geodesic distances.
"""
from __future__ import annotations

import io
import json
import math
import xml.etree.ElementTree as ET
from collections import Counter

import numpy as np
import pytest
import shapely
from conftest import needs_shared
from PIL import Image
from pyproj import Geod
from shapely.geometry import Point, shape

from mapapp.present import export
from mapapp.present.viewstate import ViewState
from mapapp.query import read as query
from mapapp.store.db import connection

pytestmark = needs_shared
SVG_NS = "{http://www.w3.org/2000/svg}"


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))


def _close(a, b, tol=2) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def _interior_points(geom, steps=10):
    """A grid of points well inside a commune (about 250 m or more from its boundary)."""
    inner = geom.buffer(-0.0025)
    minx, miny, maxx, maxy = inner.bounds if not inner.is_empty else (0, 0, 0, 0)
    return [p for i in range(steps) for j in range(steps)
            if inner.contains(p := Point(minx + (i + 0.5) * (maxx - minx) / steps,
                                         miny + (j + 0.5) * (maxy - miny) / steps))]


def _year(client) -> int:
    return client.get("/api/values?indicator=area&year=2024").get_json()["year"]


@pytest.mark.parametrize("grouped", [False, True], ids=["one-path-per-unit", "grouped-by-colour"])
def test_png_colour_of_each_commune_is_the_api_colour(atlas_app, atlas_client, monkeypatch, grouped):
    if grouped:  # draw this province the way the national map is drawn
        monkeypatch.setattr(export.style, "GROUP_MIN_UNITS", 50)
    year = _year(atlas_client)
    values = atlas_client.get(f"/api/values?indicator=area&year={year}").get_json()
    assert not values["illustrative"]  # official figures: no stamp across the map
    assert len({r["color"] for r in values["records"]}) >= 5
    expected = {(r["code"], r["valid_from"]): r["color"] for r in values["records"]}
    units = atlas_client.get(f"/api/units?year={year}").get_json()["features"]
    assert len(units) == 141
    with atlas_app.app_context():
        rendered = export.render(connection(), ViewState("area", year, projects=False),
                                 export.Page("A4", "landscape", 150, "png"), labels=False)
    image = Image.open(io.BytesIO(rendered.data)).convert("RGB")
    frame = rendered.frames[0]
    checked = 0
    for feature in units:
        key = (feature["properties"]["code"], feature["properties"]["valid_from"])
        points = _interior_points(shape(feature["geometry"]))
        if len(points) < 3:  # a ward a few hundred metres wide: no pixel far enough from its edges
            continue
        pixels = Counter(image.getpixel(tuple(int(v) for v in export.lonlat_to_pixel(frame, p.x, p.y)))[:3]
                         for p in points)
        modal = pixels.most_common(1)[0][0]
        assert _close(modal, _rgb(expected[key])), (feature["properties"]["name"], modal, expected[key])
        checked += 1
    assert checked >= 0.9 * len(units)


def test_names_are_printed_up_to_the_label_limit_and_left_out_above(atlas_app, atlas_client, monkeypatch):
    year = _year(atlas_client)
    names = {export._short_name(u["name"]) for u in atlas_client.get(
        f"/api/values?indicator=area&year={year}").get_json()["records"]}

    def texts():
        root = ET.fromstring(atlas_client.get(f"/export.svg?indicator=area&year={year}&lang=en").data)
        return {line for el in root.iter(f"{SVG_NS}text") if el.text for line in el.text.split("\n")}

    assert 141 <= export.LABEL_MAX_UNITS
    printed = texts() & names
    assert len(printed) >= 40  # most communes have room for their name at this scale
    monkeypatch.setattr(export.style, "LABEL_MAX_UNITS", 100)
    shown = texts()
    assert not shown & names
    assert any("141 units" in t for t in shown)  # the rest of the sheet is unchanged


def test_small_multiples_of_the_province(atlas_client):
    response = atlas_client.get("/export.png?indicator=poverty_rate&years=2023,2024&dpi=72")
    assert response.status_code == 200
    image = Image.open(io.BytesIO(response.data))
    frames = json.loads(image.info["mapapp:frames"])
    assert [f["year"] for f in frames] == [2023, 2024]
    assert "Quảng Trị" in image.info["Title"] and "Hướng Hóa" not in image.info["Title"]  # the atlas's area


def test_geometry_read_in_one_pass_equals_feature_by_feature_projection(atlas_app):
    with atlas_app.app_context():
        conn = connection()
        version = query.versions(conn)[0]
        geometry = export.version_geometry(conn, version)
        assert export.version_geometry(conn, version) is geometry  # cached by checksum
        data = json.loads(query.units_geojson(conn, version.id))
        labels = {(u["code"], u["valid_from"]): (u["label_lon"], u["label_lat"])
                  for u in query.version_units(conn, version.id)}
    assert len(geometry.units) == len(data["features"]) == 141

    def projected(geojson):
        return shapely.transform(shape(geojson), lambda xy: np.column_stack(export.project(xy[:, 0], xy[:, 1])))

    for feature in data["features"]:
        key = (feature["properties"]["code"], feature["properties"]["valid_from"])
        unit = geometry.units[key]
        want = shapely.MultiPolygon(list(shapely.get_parts(projected(feature["geometry"]))))
        assert shapely.equals_exact(shapely.normalize(unit.geom), shapely.normalize(want), tolerance=1e-6)
        assert math.isclose(unit.area, want.area, rel_tol=1e-9)
        assert np.allclose(unit.label, export.project(*labels[key]))
    outline = projected(data["outline"])
    assert np.allclose(geometry.bounds, outline.bounds)
    geometry.ensure_paths()
    # One path per unit, its vertices the unit's (counter-clockwise exteriors: filled with the nonzero rule).
    for unit in list(geometry.units.values())[:20]:
        assert len(unit.path.vertices) == shapely.get_num_coordinates(unit.geom)
        assert shapely.is_ccw(unit.geom.geoms[0].exterior)
    rings = sum(1 + len(p.interiors) for p in shapely.get_parts(outline))
    from matplotlib.path import Path
    assert (geometry.outline_path(0.0).codes == Path.MOVETO).sum() == rings
    assert len(geometry.outline_path(outline.area * 2).vertices) == 1  # nothing big enough: an empty path


@pytest.mark.parametrize("lon, lat", [(105.0, 16.0), (106.7, 16.6), (109.3, 12.2), (102.2, 22.4)])
def test_scale_factor_matches_geodesic_distances(lon, lat):
    """The scale bar's factor: projected metres per metre on the ground, checked against WGS 84 geodesics."""
    geod = Geod(ellps="WGS84")
    for azimuth in (0, 45, 90):  # 1 km centred on the point
        lon1, lat1, _back = geod.fwd(lon, lat, azimuth + 180, 500.0)
        lon2, lat2, _back = geod.fwd(lon, lat, azimuth, 500.0)
        x1, y1 = export.project(lon1, lat1)
        x2, y2 = export.project(lon2, lat2)
        assert math.isclose(math.hypot(x2 - x1, y2 - y1) / 1000.0, export.scale_factor(lon, lat), abs_tol=1e-6)
    assert export.scale_factor(105.0, 16.0) == pytest.approx(0.9996, abs=1e-6)  # UTM 48N's central meridian
    assert export.scale_factor(109.3, 12.2) > 1.0015  # zone 49 country: the bar must be shorter there
