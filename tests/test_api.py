"""The JSON API and the map page, through the Flask test client on a real SQLite store."""
from __future__ import annotations

import pytest
from conftest import REPO_ROOT, make_app, needs_shared

pytestmark = needs_shared


def test_indicators_lists_the_catalogue_with_years_and_illustrative_flag(client):
    body = client.get("/api/indicators").get_json()
    by_id = {i["id"]: i for i in body["indicators"]}
    for ind in ("poverty_rate", "near_poverty_rate", "cultural_families_rate", "cultural_villages_rate",
                "population", "area", "population_density", "projects_active"):
        assert ind in by_id
    assert by_id["poverty_rate"]["illustrative"] is True
    assert by_id["poverty_rate"]["years"] == list(range(2016, 2026))
    assert by_id["population_density"]["illustrative"] is False
    assert 2022 in by_id["population_density"]["years"]
    assert by_id["poverty_rate"]["name_en"] == "Poverty rate"


def test_values_one_record_per_unit_with_source(client):
    body = client.get("/api/values?indicator=poverty_rate&year=2021").get_json()
    assert len(body["records"]) == 21
    assert body["illustrative"] is True
    for record in body["records"]:
        assert {"code", "value", "source", "illustrative"} <= set(record)
        assert record["illustrative"] is True
        assert record["source"] and "minh họa" in record["source"].lower()
        assert record["value"] == pytest.approx(round(100 * record["numerator"] / record["denominator"], 2))


def test_real_values_carry_their_source_url(client):
    body = client.get("/api/values?indicator=population_density&year=2022").get_json()
    assert body["illustrative"] is False
    values = {r["name"]: r for r in body["records"]}
    assert values["Thị trấn Khe Sanh"]["value"] == pytest.approx(1008.4)
    assert values["Thị trấn Khe Sanh"]["value_text"] == "1.008,4"
    assert all(r["source_url"].startswith("https://csdldautu.quangtri.gov.vn") for r in body["records"])


def test_values_for_a_year_without_data_are_no_data(client):
    body = client.get("/api/values?indicator=population_density&year=2017").get_json()
    assert len(body["records"]) == 22
    assert all(r["value"] is None and r["class"] is None for r in body["records"])
    assert body["classification"]["no_data_count"] == 22
    assert body["illustrative"] is False


def test_classes_colours_and_legend_are_consistent(client):
    body = client.get("/api/values?indicator=poverty_rate&year=2018&method=natural_breaks&k=4").get_json()
    cls = body["classification"]
    assert cls["method"] == "natural_breaks" and len(cls["colors"]) == len(cls["breaks"]) == 4
    assert sum(cls["counts"]) == 22
    for record in body["records"]:
        assert record["color"] == cls["colors"][record["class"]]
    assert len(body["legend"]["labels"]) == 4


def test_english_formats_numbers_the_english_way(client):
    vi = client.get("/api/values?indicator=population&year=2022").get_json()
    en = client.get("/api/values?indicator=population&year=2022&lang=en").get_json()
    assert vi["indicator"]["name"] == "Dân số" and en["indicator"]["name"] == "Population"
    khe_sanh_vi = next(r for r in vi["records"] if r["code"] == "19429")
    khe_sanh_en = next(r for r in en["records"] if r["code"] == "19429")
    assert (khe_sanh_vi["value_text"], khe_sanh_en["value_text"]) == ("12.986", "12,986")


def test_2025_values_are_titled_for_the_former_district_area(client):
    body = client.get("/api/values?indicator=population&year=2025").get_json()
    assert len(body["records"]) == 7
    assert "huyện Hướng Hóa cũ" in body["title"]
    assert all(r["value"] for r in body["records"])  # real 2025 population from the merger data


@pytest.mark.parametrize("url, fragment", [
    ("/api/values?indicator=nope&year=2021", "unknown indicator"),
    ("/api/values?indicator=poverty_rate&year=1990", "out of range"),
    ("/api/values?indicator=poverty_rate&year=20x1", "not a whole number"),
    ("/api/values?indicator=poverty_rate", "year is required"),
    ("/api/values?year=2021", "indicator is required"),
    ("/api/values?indicator=poverty_rate&year=2021&method=magic", "classification method"),
    ("/api/values?indicator=poverty_rate&year=2021&k=12", "out of range"),
    ("/api/values?indicator=poverty_rate&year=2021&lang=fr", "language"),
    ("/api/units?year=2031", "out of range"),
    ("/api/units", "year is required"),
    ("/api/units?version=1999", "unknown boundary version"),
    ("/api/projects?year=abc", "not a whole number"),
])
def test_bad_parameters_give_400_with_a_message(client, url, fragment):
    response = client.get(url)
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]


def test_geometry_is_cached_by_etag(client):
    first = client.get("/api/units?year=2021")
    assert first.headers["ETag"] and "max-age" in first.headers["Cache-Control"]
    again = client.get("/api/units?year=2022", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304  # same boundary version: nothing downloaded
    other = client.get("/api/units?year=2025", headers={"If-None-Match": first.headers["ETag"]})
    assert other.status_code == 200


def test_projects_active_in_a_year_with_their_sites(client):
    body = client.get("/api/projects?year=2023").get_json()
    names = {p["name"]: p for p in body["projects"]}
    wvi = next(p for n, p in names.items() if n.startswith("Chương trình vùng"))
    assert sorted(s["name"] for s in wvi["sites"]) == sorted(
        ["Xã Hướng Tân", "Xã Hướng Linh", "Xã Hướng Phùng", "Xã Hướng Sơn", "Xã Hướng Việt", "Xã Hướng Lập"])
    assert wvi["source_url"].startswith("https://")
    # 2025: the same programme sits on the 2025 communes that absorbed those units.
    later = client.get("/api/projects?year=2025").get_json()
    wvi_2025 = next(p for p in later["projects"] if p["name"].startswith("Chương trình vùng"))
    assert {s["name"] for s in wvi_2025["sites"]} == {"Xã Khe Sanh", "Xã Hướng Phùng", "Xã Hướng Lập"}


def test_projects_active_indicator_counts_projects_per_unit(client):
    body = client.get("/api/values?indicator=projects_active&year=2023").get_json()
    counts = {r["name"]: r["value"] for r in body["records"]}
    assert counts["Xã Hướng Tân"] == 1 and counts["Xã Lìa"] == 1 and counts["Thị trấn Lao Bảo"] == 0
    assert body["illustrative"] is False
    assert client.get("/api/values?indicator=projects_active&year=2019").get_json()["records"]


def test_map_page_renders_with_state_from_the_query_string(client):
    page = client.get("/?indicator=population_density&year=2022&lang=en").get_data(as_text=True)
    assert '<option value="population_density" selected>' in page
    assert 'value="2022"' in page
    assert "Population density" in page
    for host in ("cdn.jsdelivr", "cdnjs", "unpkg", "code.jquery", "netdna", "googleapis"):
        assert host not in page
    assert "/vendor/leaflet/leaflet.js" in page


def test_map_page_with_a_bad_parameter_explains_and_falls_back(client):
    response = client.get("/?indicator=<script>alert(1)</script>&year=2021")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "unknown indicator" in page


def test_vendor_assets_are_served_by_our_server(client):
    response = client.get("/vendor/leaflet/leaflet.js")
    assert response.status_code == 200 and b"Leaflet" in response.data[:2000]
    assert client.get("/vendor/left-pad/index.js").status_code == 404
    assert client.get("/vendor/leaflet/../package.json").status_code == 404


def test_without_shared_data_the_app_explains_what_is_missing(tmp_path):
    app = make_app(tmp_path, SHARED_DIR=str(tmp_path / "no-such-folder"))
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert "admin-units.csv" in text and "MAPAPP_SHARED_DIR" in text
    api = client.get("/api/values?indicator=poverty_rate&year=2021")
    assert api.status_code == 503 and "missing" in api.get_json()


def test_init_db_is_idempotent(fresh_app):
    runner = fresh_app.test_cli_runner()
    engine = fresh_app.extensions["mapapp_engine"]
    count = lambda: engine.connect().exec_driver_sql("select count(*) from indicator_values").scalar()  # noqa: E731
    before = count()
    assert runner.invoke(args=["init-db"]).exit_code == 0
    assert count() == before
    result = runner.invoke(args=["init-db", "--force"])
    assert result.exit_code == 0, result.output
    assert count() == before


def test_init_db_without_shared_data_fails_clearly(tmp_path):
    app = make_app(tmp_path, SHARED_DIR=str(tmp_path / "nothing"))
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code != 0
    assert "missing input file" in result.output and "MAPAPP_SHARED_DIR" in result.output


def test_map_script_is_served_by_a_worker_that_never_rendered_the_page(app, tmp_path):
    import re
    import subprocess
    import sys

    page = app.test_client().get("/").get_data(as_text=True)
    src = re.search(r'"(/map-script/[0-9a-f]+\.js)"', page).group(1)  # in the page config (liveAssets)
    # Another worker process (as under a multi-process WSGI server) sharing the same database.
    code = (
        "import sys; sys.path[:0] = ['tests', '.']\n"
        "from pathlib import Path; from conftest import make_app\n"
        f"app = make_app(Path({str(tmp_path)!r}), DATABASE_URL={app.config['DATABASE_URL']!r})\n"
        f"r = app.test_client().get({src!r}); print(r.status_code, b'L.map(' in r.data)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=str(REPO_ROOT))
    assert out.stdout.split()[-2:] == ["200", "True"], out.stderr[-2000:]
    assert app.test_client().get("/map-script/0000000000000000.js").status_code == 404
