"""Atlases beyond the district: a province's 141 communes from the national boundary file.

The same pages, API, ranking and packs as the district map, on a layer configured by
``geodata/atlases/<id>.json`` (here ``quang-tri``: the national file filtered to one province).
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import re
import shutil

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from conftest import REPO_ROOT, SHARED_DIR, make_app, needs_shared, store_url

from mapapp.core import atlas as atlas_mod
from mapapp.geo import packs
from mapapp.ingest import atlas_seed
from mapapp.store import db

pytestmark = needs_shared
PROVINCE = "quang-tri"


def decode(pack: dict, polygons: list) -> shapely.Geometry:
    """A pack's (multi)polygon back in Web Mercator metres (the format of mapapp/packs.py)."""
    parts = []
    for rings in polygons:
        coords = [np.cumsum(np.array(r).reshape(-1, 2), axis=0) * pack["grid"] + pack["origin"] for r in rings]
        parts.append(shapely.Polygon(coords[0], coords[1:]))
    return shapely.MultiPolygon(parts)


# --- configuration -------------------------------------------------------------------------
def test_every_atlas_file_loads_and_names_its_area():
    geodata = REPO_ROOT / "geodata"
    ids = atlas_mod.available(geodata)
    assert {"huong-hoa", "quang-tri", "thanh-hoa", "vietnam"} <= set(ids)
    for atlas_id in ids[1:]:
        atlas = atlas_mod.load(atlas_id, geodata)
        assert atlas.id == atlas_id and atlas.name("vi") and atlas.name("en")
        assert [lv.max_zoom for lv in atlas.levels] == sorted(lv.max_zoom for lv in atlas.levels)


def test_an_unknown_atlas_is_refused_with_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match=r"unknown atlas 'mars'.*vietnam"):
        make_app(tmp_path, ATLAS="mars")


def test_a_layer_whose_key_repeats_is_refused_and_nothing_is_written(tmp_path):
    geodata = tmp_path / "geodata"
    shutil.copytree(REPO_ROOT / "geodata", geodata)
    spec = json.loads((geodata / "atlases" / "quang-tri.json").read_text(encoding="utf-8"))
    spec.update(id="bad-key", unit_key="district")  # many communes share a district
    (geodata / "atlases" / "bad-key.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError, match=r"unit key 'district' must be unique.*repeated: Huyện"):
        make_app(tmp_path, ATLAS="bad-key", GEODATA_DIR=str(geodata))
    engine = db.make_engine(store_url(tmp_path))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM units")).scalar() == 0


# --- the store -----------------------------------------------------------------------------
def test_the_province_is_stored_with_parents_values_and_packs(atlas_app):
    with atlas_app.app_context():
        with db.get_engine().connect() as conn:
            units = conn.execute(sa.select(db.units.c.name, db.units.c.parent, db.units.c.type)).all()
            assert len(units) == 141
            assert all(u.parent.endswith("Quảng Trị") for u in units)
            assert ("Thị trấn Khe Sanh", "Huyện Hướng Hóa, Quảng Trị", "Thị trấn") in units
            values = conn.execute(sa.text(
                "SELECT indicator_id, year, count(*), min(CAST(illustrative AS INTEGER)), max(CAST(illustrative AS INTEGER))"
                " FROM indicator_values GROUP BY indicator_id, year ORDER BY indicator_id, year")).all()
            poverty = [v for v in values if v[0] == "poverty_rate"]
            assert [v[1] for v in poverty] == list(range(2016, 2026))
            assert all(v[2] == 141 and v[3] == v[4] == 1 for v in poverty)  # every one illustrative
            assert all(v[3] == v[4] == 0 for v in values if v[0] == "area")  # computed, real
            stored = conn.execute(sa.select(packs.geometry_packs.c.level, packs.geometry_packs.c.unit_count)).all()
            assert stored == [(0, 141)]


def test_the_illustrative_series_is_seeded_and_its_rates_come_from_counts():
    atlas = atlas_mod.load(PROVINCE, REPO_ROOT / "geodata")
    units = [{"code": str(i), "parent": f"Huyện {i % 3}, Tỉnh"} for i in range(20)]
    first, again = atlas_seed.illustrative_poverty(atlas, units), atlas_seed.illustrative_poverty(atlas, units)
    assert first == again
    for row in first:
        assert row["value"] == round(100 * row["numerator"] / row["denominator"], 2)
        assert 0 < row["value"] <= 95


def test_a_restart_reads_the_derived_geometry_from_the_disk_cache(atlas_app, tmp_path, monkeypatch):
    """A new store with the same cache: the layer is not read or cleaned again."""
    def must_not_run(*_args, **_kwargs):
        raise AssertionError("the layer was processed again instead of read from the cache")

    monkeypatch.setattr(atlas_seed, "read_layer", must_not_run)
    monkeypatch.setattr(atlas_seed, "clean", must_not_run)
    again = make_app(tmp_path, ATLAS=PROVINCE, CACHE_DIR=atlas_app.config["CACHE_DIR"])
    assert again.test_client().get("/api/versions").get_json()["versions"][0]["unit_count"] == 141


def test_new_levels_of_detail_are_derived_from_the_cached_layer(atlas_app, tmp_path, monkeypatch):
    """Editing an atlas's levels builds new packs from the cleaned layer, not from the file."""
    def must_not_run(*_args, **_kwargs):
        raise AssertionError("the layer was read and cleaned again for a change of levels")

    geodata = tmp_path / "geodata"
    shutil.copytree(REPO_ROOT / "geodata", geodata)
    path = geodata / "atlases" / f"{PROVINCE}.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    spec["levels"] = [{"max_zoom": 8, "tolerance_m": 500}, {"max_zoom": 99, "tolerance_m": 60}]
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setattr(atlas_seed, "read_layer", must_not_run)
    monkeypatch.setattr(atlas_seed, "clean", must_not_run)
    again = make_app(tmp_path, ATLAS=PROVINCE, CACHE_DIR=atlas_app.config["CACHE_DIR"], GEODATA_DIR=str(geodata))
    page = again.test_client().get("/?year=2021").get_data(as_text=True)
    config = re.search(r'id="mapapp-config">(.*?)</script>', page, re.S).group(1)  # not the inline pack
    levels = config.count('"max_zoom"')
    assert levels == 2 * 10  # two levels, listed for each of the ten years
    coarse = json.loads(again.test_client().get("/api/geometry?year=2021&level=0").data)
    assert coarse["max_zoom"] == 8 and coarse["grid"] == 125.0


# --- API -----------------------------------------------------------------------------------
def test_the_geometry_pack_decodes_to_the_stored_boundaries(atlas_client):
    response = atlas_client.get("/api/geometry?year=2020&level=0", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip"
    pack = json.loads(gzip.decompress(response.data))
    assert pack["format"] == "mapapp-pack/2" and len(pack["geometry"]) == len(pack["units"]["code"]) == 141
    units = json.loads(atlas_client.get("/api/units?year=2020").data)["features"]
    stored = {f["properties"]["code"]: shapely.geometry.shape(f["geometry"]) for f in units}
    for code, polygons in zip(pack["units"]["code"], pack["geometry"]):
        mine = shapely.make_valid(decode(pack, polygons))  # quantising can pinch a ring
        theirs = packs.to_web_mercator(np.array([stored[code]]))[0]
        overlap = mine.intersection(theirs).area / mine.union(theirs).area
        assert overlap > 0.97, (code, overlap)


def test_the_geometry_is_cached_by_etag_and_served_plain_to_clients_without_gzip(atlas_client):
    plain = atlas_client.get("/api/geometry?year=2020", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and json.loads(plain.data)["level"] == 0
    again = atlas_client.get("/api/geometry?year=2020", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304
    assert atlas_client.get("/api/geometry?year=2020&level=7").status_code == 400
    assert "level" in atlas_client.get("/api/geometry?year=2020&level=x").get_json()["error"]


def test_values_in_columns_carry_the_same_records(atlas_client):
    query = "/api/values?indicator=poverty_rate&year=2021&min=30"
    full = atlas_client.get(query).get_json()
    cols = atlas_client.get(query + "&format=columns").get_json()
    assert cols["count"] == len(full["records"]) == 141
    assert cols["columns"]["illustrative"] == {"all": True}
    assert cols["names"] == "geometry" and "name" not in cols["columns"]  # the pack has them
    for i, record in enumerate(full["records"]):
        for key in ("code", "value_text", "class", "highlight"):
            column = cols["columns"][key]
            assert (column[i] if isinstance(column, list) else column["all"]) == record[key]
        source = cols["record_sources"][cols["columns"]["source"]["all"]]
        assert source["title"] == record["source"]
        colour = cols["no_data_color"] if record["class"] is None else cols["classification"]["colors"][record["class"]]
        assert colour == record["color"]
    assert cols["title"] == full["title"] and "Quảng Trị" in full["title"]


def test_values_carry_names_again_once_they_differ_from_the_geometry(tmp_path):
    app = make_app(tmp_path, ATLAS=PROVINCE)
    with app.app_context():
        with db.get_engine().begin() as conn:
            conn.execute(sa.text("UPDATE units SET name = '<b>Xã đổi tên</b>' WHERE name = 'Thị trấn Khe Sanh'"))
            db.bump_generation(conn)
    cols = app.test_client().get("/api/values?indicator=poverty_rate&year=2021&format=columns").get_json()
    assert cols["names"] == "columns" and "<b>Xã đổi tên</b>" in cols["columns"]["name"]


def test_text_responses_are_gzipped_and_timed(atlas_client):
    response = atlas_client.get("/api/values?indicator=poverty_rate&year=2021", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(response.data))["year"] == 2021
    assert response.headers["Server-Timing"].startswith("app;dur=")
    plain = atlas_client.get("/api/values?indicator=poverty_rate&year=2021")
    assert "Content-Encoding" not in plain.headers and plain.get_json()["year"] == 2021


# --- pages ---------------------------------------------------------------------------------
def test_the_map_page_names_the_province_and_preloads_the_pack(atlas_client):
    html = atlas_client.get("/?indicator=poverty_rate&year=2021").get_data(as_text=True)
    assert "Bản đồ xã — Tỉnh Quảng Trị" in html
    assert "DỮ LIỆU MINH HỌA" in html and "số liệu thật của huyện" not in html
    # the level-0 pack of 141 communes is small: it travels in the page (a country's is preloaded)
    assert 'id="mapapp-first-geometry" data-key="qt2008/0"' in html
    config = json.loads(html.split('id="mapapp-config">', 1)[1].split("</script>", 1)[0])
    assert config["versions"]["2021"]["levels"][0]["level"] == 0


def test_the_atlas_pages_do_not_link_to_the_district_summary(atlas_client, client):
    assert 'id="link-district"' not in atlas_client.get("/").get_data(as_text=True)
    assert 'id="nav-district"' not in atlas_client.get("/ranking").get_data(as_text=True)
    assert 'id="link-district"' in client.get("/").get_data(as_text=True)


def test_a_long_ranking_is_paged_and_names_each_communes_district(atlas_client):
    page = atlas_client.get("/ranking.json?indicator=poverty_rate&year=2021&limit=50&offset=50").get_json()
    assert len(page["rows"]) == 50 and page["shown"] == 141 and page["next_offset"] == 100
    assert page["previous_offset"] == 0 and page["rows"][0]["rank"] == 51
    assert all(row["parent"].endswith("Quảng Trị") for row in page["rows"])
    html = atlas_client.get("/ranking?indicator=poverty_rate&year=2021&limit=100").get_data(as_text=True)
    assert 'id="ranking-pager"' in html and "offset=100" in html and "Dòng 1–100 / 141" in html
    assert atlas_client.get("/ranking.json?indicator=poverty_rate&year=2021&limit=-1").status_code == 400
    text = atlas_client.get("/ranking.csv?indicator=poverty_rate&year=2021").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][3] == "Thuộc" and len(rows) == 142  # every commune, with its district


def test_the_district_ranking_has_no_parent_column(client):
    text = client.get("/ranking.csv?indicator=poverty_rate&year=2018").data.decode("utf-8-sig")
    assert "Thuộc" not in text.splitlines()[0]


ATLAS_AREA = "Tỉnh Quảng Trị (141 xã, phường, thị trấn; ranh giới 2008)"


@pytest.mark.parametrize("path", ["/ranking?indicator=poverty_rate&year=2021", "/compare?indicator=poverty_rate&year=2016&compare=2024",
                                  "/district", "/export.svg?indicator=poverty_rate&year=2021"])
def test_the_other_pages_work_on_the_atlas(atlas_client, path):
    response = atlas_client.get(path)
    text = response.get_data(as_text=True)
    assert response.status_code == 200, text[:400]
    title = re.search(r"<title>(.*?)</title>", text, re.S).group(1)
    assert ATLAS_AREA in title, title  # the page is the atlas's, not the district's


def test_the_atlas_twins_hold_every_commune(atlas_client):
    ranking = atlas_client.get("/ranking.json?indicator=poverty_rate&year=2021").get_json()
    assert len(ranking["rows"]) == 141
    compared = atlas_client.get("/compare.json?indicator=poverty_rate&year=2016&compare=2024").get_json()
    assert compared["years"] == [2016, 2024]
    assert len(compared["left"]["records"]) == len(compared["right"]["records"]) == 141
    assert compared["left"]["area"] == ATLAS_AREA


def test_the_shared_folder_is_only_referenced():
    assert not list((REPO_ROOT / "geodata").rglob("*.geojson*")), "boundary files belong in ../shared"
    assert SHARED_DIR.joinpath("geodata", "vietnam-communes-2008.geojson.gz").is_file()


def test_the_outline_is_read_without_the_units(atlas_app, app):
    from mapapp.query import read as query

    for each in (atlas_app, app):
        with each.app_context():
            with db.get_engine().connect() as conn:
                for version in query.versions(conn):
                    whole = json.loads(query.units_geojson(conn, version.id))
                    assert query.version_outline(conn, version.id) == whole["outline"]


def test_prewarming_builds_every_years_values_once(tmp_path):
    from mapapp.present.precompute import precompute

    app = make_app(tmp_path, ATLAS=PROVINCE)
    assert "mapapp_answers" not in app.extensions  # tests do not prewarm unless asked
    precompute(app, every_indicator=False)
    kept = list(app.extensions["mapapp_answers"]["values-columns"]._items)
    assert {f"indicator=poverty_rate&year={y}" for y in range(2016, 2026)} <= {key[3] for key in kept}
    first = app.test_client().get("/api/values?indicator=poverty_rate&year=2019&format=columns").get_json()
    assert first["year"] == 2019 and first["count"] == 141
