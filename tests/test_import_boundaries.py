"""Boundary import on real SQLite stores: VN-2000 shapefiles with TCVN3 names, repairs, undo."""
from __future__ import annotations

import io
import json
import zipfile

import sqlalchemy as sa
from conftest import SHARED_DIR, client_as, needs_shared
from import_builders import import_count

from mapapp.geo import boundaries
from mapapp.ingest import encodings, transaction, undo
from mapapp.ingest.boundary_crs import resolve_crs
from mapapp.ingest.boundary_files import BoundaryRequest
from mapapp.ingest.boundary_import import apply_boundaries, read_boundary_file
from mapapp.store import db

pytestmark = needs_shared

SOURCE_2008 = SHARED_DIR / "geodata" / "huong-hoa-communes-2008.geojson"
DATUMLESS_PRJ = (
    'PROJCS["VN2000_Quang_Tri",GEOGCS["GCS_VN_2000",DATUM["Vietnam_2000",SPHEROID["WGS_1984",6378137,'
    '298.257223563]],PRIMEM["Greenwich",0],UNIT["Degree",0.017453292519943295]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",106.25],PARAMETER["scale_factor",0.9999],'
    'PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["Meter",1]]'
)


def source_frame():
    import geopandas as gpd

    return gpd.read_file(SOURCE_2008)


def vn2000_shapefile_zip(tmp_path, prj: str | None = "epsg", encoding="tcvn3") -> bytes:
    """The 2008 communes in EPSG:9212 (VN-2000 / TM-3 106-15) as a zipped shapefile, names in TCVN3."""
    import pyogrio

    frame = source_frame().to_crs("EPSG:9212")
    if encoding == "tcvn3":
        names = [encodings.encode_tcvn3(n).decode("latin-1") for n in frame["name"]]
    else:
        names = list(frame["name"])
    out = frame[["geometry"]].copy()
    out["TEN_XA"] = names
    folder = tmp_path / "shp"
    folder.mkdir(exist_ok=True)
    pyogrio.write_dataframe(out, folder / "xa.shp", encoding="latin1" if encoding == "tcvn3" else "utf-8")
    (folder / "xa.cpg").unlink(missing_ok=True)
    if prj is None:
        (folder / "xa.prj").unlink()
    elif prj != "epsg":
        (folder / "xa.prj").write_text(prj)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()


def parse(app, data, filename, **kw):
    with app.app_context():
        options = transaction.options_from_config(app.config, who="test", source="Sở TN&MT")
        request = BoundaryRequest(valid_from=kw.pop("valid_from", "2016-01-01"),
                                  valid_to=kw.pop("valid_to", "2019-12-31"), **kw)
        return read_boundary_file(db.get_engine(), data, filename, request, options), options


def versions(app):
    with app.app_context():
        with db.get_engine().connect() as conn:
            bv = db.boundary_versions.c
            return [tuple(r) for r in conn.execute(sa.select(bv.id, bv.valid_from, bv.valid_to, bv.checksum)
                                                   .order_by(bv.id))]


def all_boundary_rows(app):
    with app.app_context():
        with db.get_engine().connect() as conn:
            return ([tuple(r) for r in conn.execute(sa.select(db.boundary_versions).order_by(db.boundary_versions.c.id))],
                    [tuple(r) for r in conn.execute(sa.select(db.unit_boundaries).order_by(
                        db.unit_boundaries.c.version_id, db.unit_boundaries.c.unit_id))])


def max_distance_m(served: dict, source) -> float:
    """Largest Hausdorff distance (m) between served unit polygons and the source polygons."""
    import geopandas as gpd
    import shapely

    by_code = {str(c): g for c, g in zip(source["code"], source.to_crs(boundaries.PROJECTED_CRS).geometry)}
    served_frame = gpd.GeoDataFrame.from_features(served["features"], crs="EPSG:4326").to_crs(boundaries.PROJECTED_CRS)
    worst = 0.0
    for code, geom in zip(served_frame["code"], served_frame.geometry):
        worst = max(worst, shapely.hausdorff_distance(geom, by_code[str(code)], densify=0.25))
    return worst


def test_tm3_zone_datum_shift_is_the_7_parameter_one():
    crs, note = resolve_crs("EPSG:9212")
    assert note == "" and crs.to_epsg() == 9212
    from mapapp.ingest.boundary_crs import transformation_of
    assert "VN-2000 to WGS 84" in transformation_of(crs) and "allpark" not in transformation_of(crs)
    crs, note = resolve_crs(DATUMLESS_PRJ)
    assert crs.to_epsg() == 9212 and "TOWGS84" in note
    assert resolve_crs("EPSG:3405")[0].to_epsg() == 3405


def test_vn2000_shapefile_with_tcvn3_names(fresh_app, tmp_path):
    data = vn2000_shapefile_zip(tmp_path)
    parsed, options = parse(fresh_app, data, "xa-vn2000.zip")
    assert not parsed.errors, "\n".join(map(str, parsed.errors))
    assert parsed.report["encoding"].startswith("tcvn3")
    source = source_frame()
    assert sorted(f.decoded_name for f in parsed.features) == sorted(source["name"])
    assert any("\xad" in f.raw_name for f in parsed.features)  # the TCVN3 bytes, as read
    assert "VN-2000 to WGS 84" in parsed.report["transformation"]
    with fresh_app.app_context():
        import_id = apply_boundaries(db.get_engine(), parsed, options)
    client = fresh_app.test_client()
    served = client.get("/api/units?year=2018").get_json()
    assert served["version"] == f"import-{import_id}" and len(served["features"]) == 22
    assert max_distance_m(served, source) < 1.0
    assert {v[0]: v[2] for v in versions(fresh_app)}["2008"] == "2015-12-31"  # trimmed to make room


def test_datumless_vn2000_prj_lands_right(fresh_app, tmp_path):
    data = vn2000_shapefile_zip(tmp_path, prj=DATUMLESS_PRJ)
    parsed, options = parse(fresh_app, data, "xa.zip", encoding="tcvn3")
    assert not parsed.errors, "\n".join(map(str, parsed.errors))
    assert any("TOWGS84" in p.message for p in parsed.problems)
    with fresh_app.app_context():
        apply_boundaries(db.get_engine(), parsed, options)
    served = fresh_app.test_client().get("/api/units?year=2019").get_json()
    assert max_distance_m(served, source_frame()) < 1.0


def test_missing_crs_is_refused_then_accepted_with_crs(fresh_app, tmp_path):
    data = vn2000_shapefile_zip(tmp_path, prj=None)
    parsed, _ = parse(fresh_app, data, "xa.zip")
    assert any("--crs" in p.message and "200" in p.message for p in parsed.errors)
    parsed, _ = parse(fresh_app, data, "xa.zip", crs="EPSG:9212")
    assert not parsed.errors


def test_self_intersecting_polygon_is_repaired_and_reported(fresh_app, tmp_path):
    collection = json.loads(SOURCE_2008.read_text(encoding="utf-8"))
    feature = next(f for f in collection["features"] if f["properties"]["name"] == "Xã Húc")
    ring = feature["geometry"]["coordinates"][0] if feature["geometry"]["type"] == "Polygon" else \
        feature["geometry"]["coordinates"][0][0]
    # Swap two vertices: the ring crosses itself (a bow tie).
    ring[1], ring[len(ring) // 2] = ring[len(ring) // 2], ring[1]
    feature["geometry"] = {"type": "Polygon", "coordinates": [ring]}
    data = json.dumps(collection, ensure_ascii=False).encode()
    parsed, options = parse(fresh_app, data, "xa.geojson")
    assert not parsed.errors, "\n".join(map(str, parsed.errors))
    repaired = [p for p in parsed.problems if "Húc" in p.message and "repaired" in p.message]
    assert repaired and repaired[0].level == "warning"
    assert parsed.report["overlap_km2"] > 0 and "gap_km2" in parsed.report
    assert parsed.report["previous"]["version"] == "2008"
    with fresh_app.app_context():
        apply_boundaries(db.get_engine(), parsed, options)


def test_undo_restores_previous_versions_exactly(fresh_app, tmp_path):
    before = all_boundary_rows(fresh_app)
    data = json.dumps(json.loads(SOURCE_2008.read_text(encoding="utf-8"))).encode()
    parsed, options = parse(fresh_app, data, "xa.geojson", valid_from="2017-01-01", valid_to="2017-12-31")
    assert not parsed.errors, "\n".join(map(str, parsed.errors))
    with fresh_app.app_context():
        import_id = apply_boundaries(db.get_engine(), parsed, options)
    ids = {v[0]: v for v in versions(fresh_app)}
    assert ids["2008"][2] == "2016-12-31" and ids[f"2008-after-{import_id}"][1:3] == ("2018-01-01", "2019-12-31")
    client = fresh_app.test_client()
    assert client.get("/api/units?year=2017").get_json()["version"] == f"import-{import_id}"
    assert client.get("/api/units?year=2018").get_json()["version"] == f"2008-after-{import_id}"
    with fresh_app.app_context():
        undo.undo_import(db.get_engine(), import_id, "test")
    assert all_boundary_rows(fresh_app) == before
    assert client.get("/api/units?year=2017").get_json()["version"] == "2008"


def test_wrong_layout_and_unknown_names_are_errors(fresh_app, tmp_path):
    data = json.dumps(json.loads(SOURCE_2008.read_text(encoding="utf-8"))).encode()
    parsed, _ = parse(fresh_app, data, "xa.geojson", valid_from="2019-01-01", valid_to="2020-12-31")
    assert any("2020-01-01" in p.message for p in parsed.errors)
    parsed, _ = parse(fresh_app, data, "xa.geojson", valid_from="2021-01-01", valid_to="2021-12-31")
    assert parsed.errors and import_count(fresh_app) == 0


def test_boundary_cli_preview_and_web(fresh_app, tmp_path):
    path = tmp_path / "xa.zip"
    path.write_bytes(vn2000_shapefile_zip(tmp_path))
    runner = fresh_app.test_cli_runner()
    result = runner.invoke(args=["import-boundaries", str(path), "--valid-from", "2016-01-01", "--valid-to",
                                 "2019-12-31", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "tcvn3" in result.output and import_count(fresh_app) == 0
    assert "→ Xã Hướng Lộc → Xã Hướng Lộc" in result.output  # decoded name, then the unit it matched
    (tmp_path / "nocrs").mkdir()
    bare = tmp_path / "nocrs" / "xa.zip"
    bare.write_bytes(vn2000_shapefile_zip(tmp_path / "nocrs", prj=None))
    result = runner.invoke(args=["import-boundaries", str(bare), "--valid-from", "2016-01-01", "--valid-to",
                                 "2019-12-31"])
    assert result.exit_code != 0 and "--crs" in result.output
    client = client_as(fresh_app, "editor")
    page = client.post("/import/boundaries", data={"file": (io.BytesIO(path.read_bytes()), "xa.zip"),
                                                   "valid_from": "2016-01-01", "valid_to": "2019-12-31",
                                                   "csrf_token": client.csrf},
                       content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Xã Hướng Lộc" in html and "Xác nhận nhập" in html
    import re

    token = re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)
    done = client.post("/import/boundaries/confirm", data={"token": token, "valid_from": "2016-01-01",
                                                           "valid_to": "2019-12-31", "csrf_token": client.csrf})
    assert done.status_code == 302 and "/import/" in done.headers["Location"], done.get_data(as_text=True)[:500]


def test_datumless_prj_taken_literally_would_be_200_m_off():
    import pyproj

    point = (560000.0, 1840000.0)  # near Khe Sanh in VN-2000 / TM-3 106-15
    literal = pyproj.Transformer.from_crs(pyproj.CRS(DATUMLESS_PRJ), "EPSG:4326", always_xy=True)
    resolved = pyproj.Transformer.from_crs(resolve_crs(DATUMLESS_PRJ)[0], "EPSG:4326", always_xy=True)
    right = pyproj.Transformer.from_crs("EPSG:9212", "EPSG:4326", always_xy=True).transform(*point)
    geod = pyproj.Geod(ellps="WGS84")
    assert geod.inv(*literal.transform(*point), *right)[2] > 150
    assert geod.inv(*resolved.transform(*point), *right)[2] < 0.01


def test_geopackage_with_vni_names_and_kml(fresh_app, tmp_path):
    import pyogrio

    frame = source_frame()
    gpkg = frame[["geometry"]].copy()
    gpkg["ten_xa"] = [encodings.encode_vni(n).decode("latin-1") for n in frame["name"]]
    pyogrio.write_dataframe(gpkg, tmp_path / "xa.gpkg")
    parsed, _ = parse(fresh_app, (tmp_path / "xa.gpkg").read_bytes(), "xa.gpkg")
    assert not parsed.errors, "\n".join(map(str, parsed.errors))
    assert parsed.report["encoding"].startswith("vni")
    assert sorted(f.decoded_name for f in parsed.features) == sorted(frame["name"])
    pyogrio.write_dataframe(frame[["name", "geometry"]], tmp_path / "xa.kml", driver="KML")
    parsed, options = parse(fresh_app, (tmp_path / "xa.kml").read_bytes(), "xa.kml")
    assert not parsed.errors, "\n".join(map(str, parsed.errors))
    assert "EPSG:4326" in parsed.report["crs"] and len(parsed.geoms) == 22
