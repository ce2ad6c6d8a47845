"""A common geography across mergers: values brought onto later units along the registry's successor links.

Counts are summed, rates recomputed from summed numerators and denominators (never
averaged), a missing member gives "no data" with the reason; the change map subtracts
values on one geography.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import needs_shared, store_engine

pytestmark = needs_shared

A_TUC, A_XING, LIA = "19489", "19486", "19489"
LIA_2020, LIA_2025 = "2020-01-01", "2025-07-01"
KHE_SANH_2025_MEMBERS = {"19429", "19450", "19453", "19468"}  # Khe Sanh, Tân Hợp, Hướng Tân, Húc


def values(client, query: str) -> dict:
    response = client.get("/api/values?" + query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def by_key(body: dict) -> dict:
    return {(r["code"], r["valid_from"]): r for r in body["records"]}


def writing(app):
    """A transaction on ``app``'s store (through the store layer, whichever database it is)."""
    return store_engine(app).begin()


def registry_successors(client, year_from: int, year_to: int) -> dict[str, set[str]]:
    """Target code -> codes of the ``year_from`` units, read from the API's member lists."""
    body = values(client, f"indicator=population&year={year_from}&units_year={year_to}")
    return {r["code"]: {m["code"] for m in r["members"]} for r in body["records"]}


# --- 2019 A Túc + A Xing → 2020 Lìa ------------------------------------------------------------

def test_2019_a_tuc_and_a_xing_give_lia_with_summed_counts_and_recomputed_rate(client):
    raw = by_key(values(client, "indicator=poverty_rate&year=2019"))
    a_tuc, a_xing = raw[(A_TUC, "")], raw[(A_XING, "")]
    body = values(client, "indicator=poverty_rate&year=2019&units_year=2020")
    assert len(body["records"]) == 21 and body["version"]["id"] == "2020"
    lia = by_key(body)[(LIA, LIA_2020)]
    assert lia["numerator"] == a_tuc["numerator"] + a_xing["numerator"]
    assert lia["denominator"] == a_tuc["denominator"] + a_xing["denominator"]
    assert lia["value"] == pytest.approx(100 * lia["numerator"] / lia["denominator"], abs=1e-12)
    # never the average of the two rates
    assert lia["value"] != pytest.approx((a_tuc["value"] + a_xing["value"]) / 2, abs=1e-6)
    assert lia["aggregated"] is True
    assert {m["name"] for m in lia["members"]} == {"Xã A Túc", "Xã A Xing"}
    assert "A Túc" in lia["members_text"] and "A Xing" in lia["members_text"]
    assert lia["illustrative"] is True
    # a unit whose geography did not change keeps its stored value, unmarked
    khe_sanh = by_key(body)[("19429", "")]
    assert khe_sanh["value"] == raw[("19429", "")]["value"] and khe_sanh["aggregated"] is False
    assert khe_sanh["members_text"] == ""


def test_2019_data_on_2020_units_titles_the_boundaries(client):
    body = values(client, "indicator=poverty_rate&year=2019&units_year=2020")
    assert "2019" in body["title"] and "ranh giới 2020" in body["title"]
    assert body["units_year"] == 2020 and body["year"] == 2019


# --- 2021 units → 2025 communes ------------------------------------------------------------------

def test_2021_rates_on_the_7_communes_of_2025_are_recomputed_from_sums(client):
    raw = by_key(values(client, "indicator=poverty_rate&year=2021"))
    body = values(client, "indicator=poverty_rate&year=2021&units_year=2025")
    assert len(body["records"]) == 7 and body["version"]["id"] == "2025"
    members = registry_successors(client, 2021, 2025)
    assert members["19429"] == KHE_SANH_2025_MEMBERS
    assert sorted(c for group in members.values() for c in group) == sorted(c for c, _ in raw)
    for record in body["records"]:
        group = [r for (code, _), r in raw.items() if code in members[record["code"]]]
        numerator = sum(r["numerator"] for r in group)
        denominator = sum(r["denominator"] for r in group)
        assert record["numerator"] == numerator and record["denominator"] == denominator
        assert record["value"] == pytest.approx(100 * numerator / denominator, abs=1e-12)
        assert record["valid_from"] == LIA_2025


def test_population_2022_on_2025_units_gives_7_exact_sums(client):
    raw = by_key(values(client, "indicator=population&year=2022"))
    body = values(client, "indicator=population&year=2022&units_year=2025")
    assert len(body["records"]) == 7
    members = registry_successors(client, 2022, 2025)
    for record in body["records"]:
        assert record["value"] == sum(r["value"] for (code, _), r in raw.items() if code in members[record["code"]])
    assert sum(r["value"] for r in body["records"]) == sum(r["value"] for r in raw.values())
    khe_sanh = next(r for r in body["records"] if r["code"] == "19429")
    assert khe_sanh["value"] == 12986 + 4701 + 3382 + 4162
    assert body["illustrative"] is False


def test_density_is_recomputed_from_summed_population_and_area(client):
    population = by_key(values(client, "indicator=population&year=2022"))
    area = by_key(values(client, "indicator=area&year=2022"))
    body = values(client, "indicator=population_density&year=2022&units_year=2025")
    members = registry_successors(client, 2022, 2025)
    for record in body["records"]:
        pop = sum(r["value"] for (c, _), r in population.items() if c in members[record["code"]])
        km2 = sum(r["value"] for (c, _), r in area.items() if c in members[record["code"]])
        assert record["value"] == pytest.approx(pop / km2, rel=1e-12)


def test_2016_data_reaches_2025_through_both_mergers(client):
    """A Túc (2019) → Lìa (2020) → Lìa (2025): two successor links."""
    members = registry_successors(client, 2016, 2025)
    assert members["19489"] == {"19471", "19480", "19486", "19489"}  # Thuận, Thanh, A Xing, A Túc
    body = values(client, "indicator=poverty_rate&year=2016&units_year=2025")
    assert len(body["records"]) == 7 and all(r["value"] is not None for r in body["records"])


# --- missing members: "no data" with a reason, not a guess ------------------------------------------

def test_a_missing_denominator_gives_no_data_with_the_reason(fresh_app):
    with writing(fresh_app) as conn:
        changed = conn.execute(sa.text(
            """UPDATE indicator_values SET denominator = NULL
               WHERE indicator_id = 'poverty_rate' AND year = 2019
                 AND unit_id = (SELECT id FROM units WHERE code = :code AND valid_from = '')"""),
            {"code": A_XING}).rowcount
    assert changed == 1
    client = fresh_app.test_client()
    body = values(client, "indicator=poverty_rate&year=2019&units_year=2020")
    lia = by_key(body)[(LIA, LIA_2020)]
    assert lia["value"] is None and lia["class"] is None and lia["color"] == body["classification"]["no_data_color"]
    assert "A Xing" in lia["no_data_reason"] and "mẫu số" in lia["no_data_reason"]
    english = by_key(values(client, "indicator=poverty_rate&year=2019&units_year=2020&lang=en"))[(LIA, LIA_2020)]
    assert "denominator missing" in english["no_data_reason"] and "never averaged" in english["no_data_reason"]
    # the other units are unaffected; A Xing itself still shows its stored rate on its own year
    assert sum(r["value"] is None for r in body["records"]) == 1
    assert by_key(values(client, "indicator=poverty_rate&year=2019"))[(A_XING, "")]["value"] is not None


def test_a_missing_count_member_gives_no_data_with_the_reason(fresh_app):
    with writing(fresh_app) as conn:
        conn.execute(sa.text("""DELETE FROM indicator_values WHERE indicator_id = 'population' AND year = 2022
                        AND unit_id = (SELECT id FROM units WHERE code = '19468' AND valid_from = '')"""))
    body = values(fresh_app.test_client(), "indicator=population&year=2022&units_year=2025")
    khe_sanh = next(r for r in body["records"] if r["code"] == "19429")
    assert khe_sanh["value"] is None and "Xã Húc" in khe_sanh["no_data_reason"]
    assert sum(r["value"] is None for r in body["records"]) == 1


def test_a_share_without_denominators_is_not_aggregated(fresh_app):
    """ethnic_minority_share has values but no numerators/denominators: no data with a reason."""
    with writing(fresh_app) as conn:
        source = conn.execute(sa.text("SELECT min(id) FROM sources")).scalar()
        for code, value in (("19435", 95.0), ("19438", 97.0)):  # Hướng Lập + Hướng Việt → Hướng Lập 2025
            unit = conn.execute(sa.text("SELECT id FROM units WHERE code = :c AND valid_from = ''"), {"c": code}).scalar()
            conn.execute(sa.text("""INSERT INTO indicator_values (unit_id, year, indicator_id, value, source_id,
                            illustrative, origin) VALUES (:u, 2022, 'ethnic_minority_share', :v, :s, false, 'test')"""),
                         {"u": unit, "v": value, "s": source})
    client = fresh_app.test_client()
    own = by_key(values(client, "indicator=ethnic_minority_share&year=2022"))
    assert own[("19435", "")]["value"] == 95.0  # on its own units the stored value is shown
    merged = next(r for r in values(client, "indicator=ethnic_minority_share&year=2022&units_year=2025")["records"]
                  if r["code"] == "19435")
    assert merged["value"] is None and merged["no_data_reason"]
    assert "96" not in (merged["value_text"] or "")  # not the average of 95 and 97


def test_projects_are_recounted_not_summed(fresh_app):
    """A project working in two units that merged is counted once in the merged commune."""
    with writing(fresh_app) as conn:
        source = conn.execute(sa.text("SELECT min(id) FROM sources")).scalar()
        project = conn.execute(sa.text(
            """INSERT INTO projects (name, donor, sector, communes_text, start_year, end_year, years_text, budget,
               source_id) VALUES ('Test', 'Donor', 'WASH', 'Hướng Lập; Hướng Việt', 2023, 2023, '2023', '', :s)
               RETURNING id"""), {"s": source}).scalar()
        for code in ("19435", "19438"):
            unit = conn.execute(sa.text("SELECT id FROM units WHERE code = :c AND valid_from = ''"), {"c": code}).scalar()
            conn.execute(sa.text("INSERT INTO project_units (project_id, unit_id, villages) VALUES (:p, :u, '')"),
                         {"p": project, "u": unit})
            conn.execute(sa.text("""UPDATE indicator_values SET value = value + 1 WHERE indicator_id = 'projects_active'
                            AND year = 2023 AND unit_id = :u"""), {"u": unit})
    client = fresh_app.test_client()
    own = by_key(values(client, "indicator=projects_active&year=2023"))
    summed = own[("19435", "")]["value"] + own[("19438", "")]["value"]
    merged = next(r for r in values(client, "indicator=projects_active&year=2023&units_year=2025")["records"]
                  if r["code"] == "19435")
    projects = client.get("/api/projects?year=2023").get_json()["projects"]
    distinct = {p["id"] for p in projects if {s["code"] for s in p["sites"]} & {"19435", "19438"}}
    assert merged["value"] == len(distinct)
    assert merged["value"] < summed


# --- parameters ------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, fragment", [
    ("indicator=poverty_rate&year=2024&units_year=2019", "cannot be split"),
    ("indicator=poverty_rate&year=2024&units_year=1990", "out of range"),
    ("indicator=poverty_rate&year=2024&units_year=abc", "not a whole number"),
    ("indicator=poverty_rate&year=2024&compare=2016&units_year=2020", "cannot be split"),
    ("indicator=poverty_rate&year=2021&min=40&max=3", "above max"),
    ("indicator=poverty_rate&year=2021&min=x", "not a number"),
])
def test_bad_planner_parameters_answer_400(client, query, fragment):
    response = client.get("/api/values?" + query)
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]


# --- change map ------------------------------------------------------------------------------------

def test_change_map_subtracts_on_the_later_units_in_percentage_points(client):
    now = by_key(values(client, "indicator=poverty_rate&year=2024"))
    base = by_key(values(client, "indicator=poverty_rate&year=2016&units_year=2024"))
    body = values(client, "indicator=poverty_rate&year=2024&compare=2016")
    assert body["change"] is True and body["compare"] == 2016 and len(body["records"]) == 21
    assert body["indicator"]["unit"] == "điểm phần trăm" and body["legend"]["unit"] == "điểm phần trăm"
    for record in body["records"]:
        key = (record["code"], record["valid_from"])
        assert record["value"] == pytest.approx(now[key]["value"] - base[key]["value"], abs=1e-9)
        assert record["value_year"] == now[key]["value"] and record["value_base"] == base[key]["value"]
    lia = by_key(body)[(LIA, LIA_2020)]
    assert lia["aggregated"] is True and "A Túc" in lia["members_text"]


def test_change_map_palette_is_diverging_and_centred_on_zero(client):
    body = values(client, "indicator=poverty_rate&year=2024&compare=2016&k=5")
    cls = body["classification"]
    assert cls["palette"] == "RdBu" and cls["diverging"] is True
    bounds = cls["breaks"]
    extent = max(abs(r["value"]) for r in body["records"] if r["value"] is not None)
    assert bounds[-1] == pytest.approx(extent)
    # symmetric: b[i] + b[k-2-i] == 0 for the inner bounds
    inner = bounds[:-1]
    assert all(a == pytest.approx(-b) for a, b in zip(inner, reversed(inner)))
    # poverty going down is good: blue; the most negative class is the bluest
    assert cls["colors"][0] == "#0571b0" and cls["colors"][-1] == "#ca0020"
    assert all(label.startswith(("-", ">")) for label in body["legend"]["labels"])
    assert any("+" in label for label in body["legend"]["labels"])


def test_change_map_on_2025_units(client):
    body = values(client, "indicator=poverty_rate&year=2024&compare=2016&units_year=2025")
    assert len(body["records"]) == 7 and body["version"]["id"] == "2025"
    assert all(r["value"] is not None for r in body["records"])
    assert "2016 → 2024" in body["title"]
