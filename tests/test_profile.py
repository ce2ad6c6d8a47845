"""Commune profiles (history across mergers), the district summary and the side-by-side payload."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from conftest import SHARED_DIR, needs_shared, store_engine

pytestmark = needs_shared


def _csv_rows(path) -> int:
    import csv

    with open(path, encoding="utf-8-sig", newline="") as fh:
        return sum(1 for _ in csv.DictReader(fh))


def profile(client, code: str, valid_from: str, lang: str = "vi") -> dict:
    response = client.get(f"/communes/{code}.json?valid_from={valid_from}&lang={lang}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def series(body: dict, indicator: str) -> dict:
    return next(s for s in body["series"] if s["id"] == indicator)


def test_lia_2025_history_is_built_from_its_predecessors(client):
    body = profile(client, "19489", "2025-07-01")
    assert body["unit"]["name"] == "Xã Lìa" and body["unit"]["valid_from"] == "2025-07-01"
    assert {(u["name"], u["valid_from"]) for u in body["predecessors"]} == {
        ("Xã Thuận", ""), ("Xã Thanh", ""), ("Xã Lìa", "2020-01-01")}
    assert {u["name"] for u in body["ancestors"]} >= {"Xã A Túc", "Xã A Xing"}
    assert body["successor"] is None
    poverty = series(body, "poverty_rate")
    statuses = {p["year"]: p["status"] for p in poverty["points"]}
    assert statuses[2025] == "own" and all(statuses[y] == "aggregated" for y in range(2016, 2025))
    for year in (2019, 2022):
        expected = next(r for r in client.get(f"/api/values?indicator=poverty_rate&year={year}&units_year=2025")
                        .get_json()["records"] if r["code"] == "19489")
        point = next(p for p in poverty["points"] if p["year"] == year)
        assert point["value"] == pytest.approx(expected["value"]) and point["numerator"] == expected["numerator"]
    assert poverty["illustrative"] is True and body["illustrative"] is True
    population = series(body, "population")
    assert next(p for p in population["points"] if p["year"] == 2022)["value"] == 3633 + 4005 + 5260


def test_a_tuc_ends_in_2019_and_points_to_lia(client):
    body = profile(client, "19489", "")
    assert body["unit"]["name"] == "Xã A Túc"
    assert body["successor"]["name"] == "Xã Lìa" and body["successor"]["valid_from"] == "2020-01-01"
    points = series(body, "poverty_rate")["points"]
    assert all(p["status"] == "own" for p in points if p["year"] <= 2019)
    assert all(p["status"] == "ended" and p["value"] is None for p in points if p["year"] >= 2020)
    assert "Xã Lìa" in points[-1]["note"]
    assert body["map_year"] == 2019


def test_profile_lists_projects_of_the_commune_and_its_predecessors(client):
    body = profile(client, "19489", "2025-07-01")
    names = {p["name"] for p in body["projects"]}
    assert names, "Lìa and the communes that became part of it have projects"
    for project in body["projects"]:
        assert project["places"] and project["source"]
    assert body["sources"] and all("title" in s and "url" in s for s in body["sources"])


def test_profile_page_has_one_svg_chart_per_indicator_with_values_and_no_script(client):
    response = client.get("/communes/19489?valid_from=2025-07-01")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    body = profile(client, "19489", "2025-07-01")
    with_values = [s for s in body["series"] if s["has_values"]]
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == len(with_values) >= 6
    assert "<script" not in html  # charts are markup, no script at all
    assert "Xã Thuận" in html and "Xã Thanh" in html
    assert re.search(r'href="/communes/19489\?valid_from=2020-01-01"', html)
    assert "<circle" in html and "<title>" in html
    assert "minh họa" in html.lower()


def test_profile_in_english_and_unknown_unit(client):
    html = client.get("/communes/19429?valid_from=&lang=en").get_data(as_text=True)
    assert "Successor" in html and "Indicators over the years" in html
    assert client.get("/communes/00000").status_code == 404
    assert client.get("/communes/00000.json").get_json()["error"].startswith("no unit")


def test_profile_escapes_hostile_names(fresh_app):
    with store_engine(fresh_app).begin() as conn:
        conn.execute(sa.text("""UPDATE units SET name = '<img src=x onerror=alert(1)>Thuận' WHERE code = '19471'"""))
        conn.execute(sa.text("""UPDATE projects SET name = '<script>alert(2)</script>'"""))
    html = fresh_app.test_client().get("/communes/19489?valid_from=2025-07-01").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;Thuận" in html
    assert "<script>alert(2)" not in html


# --- district summary ------------------------------------------------------------------------------

def test_district_summary_comes_from_the_store_and_shows_both_conflicting_figures(client, app):
    from mapapp.store.db import connection, district_facts

    with app.app_context():
        stored = connection().execute(district_facts.select()).all()
    facts, report = (_csv_rows(SHARED_DIR / "data" / name) for name in ("district-facts.csv", "report-161-figures.csv"))
    assert len(stored) == facts + report  # both files, loaded at seed time
    body = client.get("/district.json").get_json()
    poverty = {(p["year"], p["value"]) for p in body["poverty"]}
    assert {(2005, 41.7), (2017, 28.37), (2018, 31.17), (2018, 18.7)} <= poverty
    conflict = next(c for c in body["conflicts"] if c["indicator"] == "poverty_rate" and c["period"] == "2018")
    assert sorted(f["value"] for f in conflict["figures"]) == [18.7, 31.17]
    assert all(f["source_url"].startswith("https://") for f in conflict["figures"])
    assert any(c["indicator"] == "population_total" for c in body["conflicts"])
    assert len(body["report"]) == report and all(f["source"] and f["quote"] for f in body["report"])
    html = client.get("/district").get_data(as_text=True)
    assert "31,17" in html and "18,7" in html and "Các nguồn không thống nhất" in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in html and "<script" not in html


def test_map_page_has_the_district_panel(client):
    html = client.get("/?indicator=poverty_rate&year=2021").get_data(as_text=True)
    assert 'id="district-panel"' in html and "31,17" in html and "18,7" in html


# --- side by side ------------------------------------------------------------------------------------

def test_side_by_side_payload_shares_one_classification(client):
    body = client.get("/compare.json?indicator=poverty_rate&year=2016&year2=2024").get_json()
    assert body["years"] == [2016, 2024]
    assert len(body["left"]["records"]) == 22 and len(body["right"]["records"]) == 21
    cls = body["classification"]
    assert body["left"]["classification"] == body["right"]["classification"] == cls
    for record in body["left"]["records"] + body["right"]["records"]:
        # Preset bands (poverty rate): the last class is open ("> 50"), above the last bound.
        upper = next((i for i, b in enumerate(cls["breaks"]) if record["value"] <= b + 1e-9), len(cls["breaks"]) - 1)
        assert record["color"] == cls["colors"][upper]
    on_2025 = client.get("/compare.json?indicator=poverty_rate&year=2016&year2=2024&units_year=2025").get_json()
    assert len(on_2025["left"]["records"]) == len(on_2025["right"]["records"]) == 7
    bad = client.get("/compare.json?indicator=poverty_rate&year=2016&year2=2024&units_year=2020")
    assert bad.status_code == 400


def test_side_by_side_circles_have_one_scale_for_both_years(client):
    pair = client.get("/compare.json?indicator=poverty_rate&year=2016&year2=2024&circles=1").get_json()
    left, right = pair["left"]["circles"], pair["right"]["circles"]
    assert left == right and left["mode"] == "numerator"
    largest = [max(r["circle"] for r in pair[side]["records"] if r["circle"] is not None) for side in ("left", "right")]
    assert left["max_value"] >= max(largest) and min(largest) < max(largest)
    single = client.get("/api/values?indicator=poverty_rate&year=2024&circles=1").get_json()["circles"]
    assert single["max_value"] == left["max_value"]  # the map page's scale, the same in every year
    own = client.get("/compare.json?indicator=poverty_rate&year=2016&year2=2024&circles=1&classes=year").get_json()
    assert own["left"]["circles"] == own["right"]["circles"]  # the years' own classes: the two years' largest
    assert own["left"]["circles"]["max_value"] == max(largest) and own["left"]["circles"]["years"] == [2016, 2024]
    assert own["left"]["circles"]["legend"][0]["value"] <= max(largest)
    counts = client.get("/compare.json?indicator=projects_active&year=2016&year2=2024").get_json()
    assert counts["left"]["circles"]["mode"] == counts["right"]["circles"]["mode"] == "count"


def test_side_by_side_page_has_no_inline_script(client):
    html = client.get("/compare?indicator=poverty_rate&year=2016&year2=2024").get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert all('type="application/json"' in attrs or not body.strip() for attrs, body in scripts)
    assert "/static/compare.js" in html and "/vendor/leaflet/leaflet.js" in html


def test_without_the_district_files_the_app_still_works(copy_of_shared, tmp_path):
    from conftest import make_app

    for name in ("district-facts.csv", "report-161-figures.csv"):
        (copy_of_shared / "data" / name).unlink()
    app = make_app(tmp_path / "instance", SHARED_DIR=str(copy_of_shared))
    client = app.test_client()
    body = client.get("/district.json").get_json()
    assert body["poverty"] == [] and body["report"] == [] and body["conflicts"] == []
    page = client.get("/?indicator=poverty_rate&year=2021")
    assert page.status_code == 200 and 'id="district-panel"' not in page.get_data(as_text=True)
    assert client.get("/district").status_code == 200
