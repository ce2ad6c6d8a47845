"""Classes that mean the same every year: shared, per year, preset and manual breaks; empty indicators;
the default year; boundary labels in the page's language. Real SQLite store, Flask test client."""
from __future__ import annotations

import re
from collections import Counter

import pytest
import sqlalchemy as sa
from conftest import needs_shared, store_engine
from shapely.geometry import shape
from test_export import _close, _hex, _interior_points, _pixels, _render_png, _rgb

from mapapp.present import classify
from mapapp.present.export.sheet import prepare
from mapapp.present.viewstate import BadRequest, ViewState, parse
from mapapp.store.db import connection

pytestmark = needs_shared

CONFIG = {"DEFAULT_INDICATOR": "poverty_rate", "DEFAULT_YEAR": 2021, "FIRST_YEAR": 2016, "LAST_YEAR": 2025}
IDS = ("poverty_rate", "near_poverty_rate", "population")


def values(client, query: str) -> dict:
    response = client.get("/api/values?" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# --------------------------------------------------------------------------
# Shared across years by default, per year on request
# --------------------------------------------------------------------------

@pytest.mark.parametrize("extra", ["", "&classes=shared", "&classes=shared&method=natural_breaks&k=4"])
def test_breaks_are_the_same_every_year_by_default(client, extra):
    old, new = (values(client, f"indicator=poverty_rate&year={y}{extra}") for y in (2016, 2024))
    assert old["classification"]["breaks"] == new["classification"]["breaks"]
    assert old["classification"]["colors"] == new["classification"]["colors"]
    assert old["legend"]["labels"] == new["legend"]["labels"]
    assert old["version"]["unit_count"] == 22 and new["version"]["unit_count"] == 21


def test_poverty_rate_uses_its_preset_bands_by_default(client):
    body = values(client, "indicator=poverty_rate&year=2016")
    assert body["classification"]["mode"] == "preset"
    assert body["classification"]["breaks"][:5] == [10, 20, 30, 40, 50]
    assert body["legend"]["labels"][0] == "≤ 10,0" and body["legend"]["labels"][-1] == "> 50,0"
    assert "thang cố định" in body["legend"]["note"]
    for record in body["records"]:  # every value in the band its label names
        if record["value"] is not None:
            assert record["class"] == sum(record["value"] > b for b in (10, 20, 30, 40, 50))


def test_per_year_classes_differ_between_years(client):
    old, new = (values(client, f"indicator=poverty_rate&year={y}&classes=year") for y in (2016, 2024))
    assert old["classification"]["breaks"] != new["classification"]["breaks"]
    assert old["classification"]["mode"] == new["classification"]["mode"] == "year"
    assert "2016" in old["legend"]["note"] and "2024" in new["legend"]["note"]


def test_shared_classes_pool_every_year_and_say_so(client):
    body = values(client, "indicator=near_poverty_rate&year=2020")  # no preset: shared by default
    assert body["classification"]["mode"] == "shared"
    assert body["classification"]["years"] == list(range(2016, 2026))
    assert body["legend"]["note"].startswith("phân lớp chung 2016–2025")
    english = values(client, "indicator=near_poverty_rate&year=2020&lang=en")
    assert english["legend"]["note"].startswith("classes shared 2016–2025")
    # The pool spans the years: a shared class holds values no single year's quantiles would put there.
    per_year = [values(client, f"indicator=near_poverty_rate&year={y}&classes=year") for y in (2016, 2025)]
    assert per_year[0]["classification"]["breaks"] != per_year[1]["classification"]["breaks"]
    counts = body["classification"]["counts"]
    assert sum(counts) + body["classification"]["no_data_count"] == len(body["records"])


def test_shared_classes_on_the_units_of_a_later_year(client):
    old, new = (values(client, f"indicator=near_poverty_rate&year={y}&units_year=2025") for y in (2016, 2024))
    assert old["classification"]["breaks"] == new["classification"]["breaks"]
    assert old["version"]["unit_count"] == new["version"]["unit_count"] == 7
    own = values(client, "indicator=near_poverty_rate&year=2016")
    assert own["classification"]["breaks"] != old["classification"]["breaks"]  # pooled on 7 communes, not 22


def test_the_values_of_all_years_are_read_once_per_data_generation(app, client):
    values(client, "indicator=cultural_villages_rate&year=2018")
    cache = app.extensions["mapapp_answers"]["series"]
    before = {k for k in cache._items if "cultural_villages_rate|" in k[3]}
    assert len(before) == 1
    for year in (2019, 2020, 2021):
        values(client, f"indicator=cultural_villages_rate&year={year}")
    assert {k for k in cache._items if "cultural_villages_rate|" in k[3]} == before


def test_real_years_are_never_pooled_with_illustrative_ones(fresh_app):
    """A year of real figures is classified on the real years alone, and the invented years without it."""
    with store_engine(fresh_app).begin() as conn:
        conn.execute(sa.text("UPDATE indicator_values SET illustrative = :no WHERE indicator_id = 'near_poverty_rate' "
                             "AND year IN (2019, 2020)"), {"no": False})
    client = fresh_app.test_client()
    kinds = {i["id"]: i for i in client.get("/api/indicators").get_json()["indicators"]}["near_poverty_rate"]
    assert 2020 not in kinds["illustrative_years"] and 2016 in kinds["illustrative_years"]
    real = values(client, "indicator=near_poverty_rate&year=2020")
    assert real["classification"]["years"] == [2019, 2020]
    assert "minh họa" not in real["legend"]["note"]
    pooled = [r["value"] for y in (2019, 2020)
              for r in values(client, f"indicator=near_poverty_rate&year={y}&classes=year")["records"]]
    expected = classify.breaks(pooled, classify.DEFAULT_METHOD, classify.DEFAULT_K)
    assert real["classification"]["breaks"] == pytest.approx(expected)
    invented = values(client, "indicator=near_poverty_rate&year=2016")
    assert 2019 not in invented["classification"]["years"] and 2020 not in invented["classification"]["years"]
    assert "minh họa" in invented["legend"]["note"]


# --------------------------------------------------------------------------
# Manual breaks
# --------------------------------------------------------------------------

def test_manual_breaks_are_honoured_in_every_year(client):
    for year in (2016, 2024):
        body = values(client, f"indicator=near_poverty_rate&year={year}&breaks=10,20,30,40")
        cls = body["classification"]
        assert cls["mode"] == "manual" and cls["breaks"][:4] == [10, 20, 30, 40] and len(cls["colors"]) == 5
        assert body["legend"]["labels"] == ["≤ 10,0", "> 10,0 – 20,0", "> 20,0 – 30,0", "> 30,0 – 40,0", "> 40,0"]
        for record in body["records"]:
            if record["value"] is not None:
                assert record["class"] == sum(record["value"] > b for b in (10, 20, 30, 40))


@pytest.mark.parametrize("breaks, word", [
    ("10,abc", "not a number"), ("nan", "finite"), ("inf", "finite"), ("1e400", "finite"),
    ("1e13", "too large"), ("30,20", "increasing"), ("10,10", "increasing"), ("1,2,3,4,5,6,7", "at most 6"),
])
def test_bad_breaks_are_refused_with_a_clear_400(client, breaks, word):
    response = client.get(f"/api/values?indicator=poverty_rate&year=2020&breaks={breaks}")
    assert response.status_code == 400
    assert word in response.get_json()["error"] and "breaks" in response.get_json()["error"]
    page = client.get(f"/?indicator=poverty_rate&year=2020&breaks={breaks}")
    assert page.status_code == 200 and 'class="notice"' in page.get_data(as_text=True)
    assert word in page.get_data(as_text=True).replace("&#39;", "'")
    assert client.get(f"/export.png?indicator=poverty_rate&year=2020&breaks={breaks}").status_code == 400


def test_unknown_classes_value_is_refused(client):
    response = client.get("/api/values?indicator=poverty_rate&year=2020&classes=sometimes")
    assert response.status_code == 400 and "classes" in response.get_json()["error"]


@pytest.mark.parametrize("query", ["indicator=poverty_rate&year=2020&classes=year",
                                   "indicator=poverty_rate&year=2020&breaks=5,12.5,40",
                                   "indicator=poverty_rate&year=2020&classes=shared&k=4"])
def test_class_parameters_round_trip_in_the_query_string(query):
    from urllib.parse import parse_qsl
    state = parse(dict(parse_qsl(query)), CONFIG, IDS)
    assert dict(parse_qsl(state.query_string())) == dict(parse_qsl(query))  # (commas written %2C, as the page does)
    assert parse(dict(parse_qsl(state.query_string())), CONFIG, IDS) == state


def test_the_default_view_keeps_its_short_query_string():
    state = parse({}, CONFIG, IDS, {"poverty_rate": [2016, 2025]})
    assert state.year == 2025 and state.classes == "auto" and state.breaks == ()
    assert state.query_string() == "indicator=poverty_rate&year=2025"
    with pytest.raises(BadRequest):
        parse({"breaks": "1;x"}, CONFIG, IDS)


# --------------------------------------------------------------------------
# The same classes on the side-by-side page and in every export
# --------------------------------------------------------------------------

def test_side_by_side_uses_the_map_classes(client):
    pair = client.get("/compare.json?indicator=near_poverty_rate&year=2016&year2=2024").get_json()
    alone = values(client, "indicator=near_poverty_rate&year=2016")
    assert pair["classification"]["breaks"] == alone["classification"]["breaks"]
    assert [r["color"] for r in pair["left"]["records"]] == [r["color"] for r in alone["records"]]
    assert pair["legend"]["note"] == alone["legend"]["note"]


@pytest.mark.parametrize("year", [2016, 2024])
def test_png_exports_of_two_years_use_the_api_colours(app, client, year):
    body = values(client, f"indicator=near_poverty_rate&year={year}&classes=shared")
    expected = {(r["code"], r["valid_from"]): r["color"] for r in body["records"]}
    rendered, image = _render_png(app, ViewState("near_poverty_rate", year, classes="shared", projects=False))
    frame = rendered.frames[0]
    for feature in client.get(f"/api/units?year={year}").get_json()["features"]:
        key = (feature["properties"]["code"], feature["properties"]["valid_from"])
        modal, _n = Counter(_pixels(image, frame, _interior_points(shape(feature["geometry"])))).most_common(1)[0]
        assert _close(modal, _rgb(expected[key])), (key, _hex(modal), expected[key])


def test_small_multiples_keep_the_shared_classes_of_the_map(app, client):
    years = [2016, 2020, 2024]
    with app.app_context():
        sheet = prepare(connection(), ViewState("near_poverty_rate", 2016), years)
    api = {y: values(client, f"indicator=near_poverty_rate&year={y}") for y in years}
    assert [c for c, _label, _n in sheet.legend] == api[2016]["classification"]["colors"]
    assert [label for _c, label, _n in sheet.legend] == api[2016]["legend"]["labels"]
    for panel in sheet.panels:
        assert [r["color"] for r in panel.view["records"]] == [r["color"] for r in api[panel.year]["records"]]
    assert "2016–2025" in sheet.classes_note


def test_small_multiples_of_change_views_keep_zero_centred_classes(app):
    with app.app_context():
        sheet = prepare(connection(), ViewState("poverty_rate", 2018, compare=2016), [2018, 2020, 2022])
    assert "đối xứng quanh 0" in sheet.classes_note
    labels = [label for _c, label, _n in sheet.legend]
    assert labels[0].startswith("-") and labels[-1].split(" ")[-1].startswith("+")
    bounds = [float(x.replace(",", ".")) for x in re.findall(r"[+-]\d+,\d", " ".join(labels))]
    assert bounds[0] == pytest.approx(-bounds[-1])  # the lowest and highest bounds: -m and +m
    assert classify.PALETTES["RdBu"][5] == [c for c, _l, _n in sheet.legend][::-1]


# --------------------------------------------------------------------------
# Indicators without data, the default year, labels in the page's language
# --------------------------------------------------------------------------

def test_indicators_without_data_are_offered_disabled(client):
    page = client.get("/").get_data(as_text=True)
    for indicator in ("households", "ethnic_minority_share"):
        option = re.search(rf'<option value="{indicator}"[^>]*>[^<]*', page).group(0)
        assert "disabled" in option and "chưa có số liệu — nhập tại Nhập dữ liệu" in option
    option = re.search(r'<option value="poverty_rate"[^>]*>', page).group(0)
    assert "disabled" not in option


def test_an_empty_indicator_never_gives_an_empty_map(client):
    page = client.get("/?indicator=households&year=2020&lang=en").get_data(as_text=True)
    assert "Households: no data yet — import it under Import data" in page
    assert re.search(r'<option value="poverty_rate" selected', page)


def test_the_default_view_is_the_latest_year_with_data(client):
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'id="year"[^>]*value="2025"', page)
    assert re.search(r'<option value="population_density"', page)
    density = client.get("/?indicator=population_density").get_data(as_text=True)
    assert re.search(r'id="year"[^>]*value="2022"', density)  # its only year with data


def test_boundary_labels_follow_the_page_language(client):
    en = client.get("/api/versions?lang=en").get_json()["versions"]
    vi = client.get("/api/versions").get_json()["versions"]
    assert [v["label"] for v in en] == [v["label_en"] for v in vi]
    assert all("Ranh giới" in v["label"] for v in vi) and not any("Ranh giới" in v["label"] for v in en)
    assert values(client, "indicator=poverty_rate&year=2025&lang=en")["version"]["label"] == \
        "Commune boundaries from 1 July 2025 (7 communes)"
    ranking = client.get("/ranking.json?indicator=poverty_rate&year=2016&lang=en").get_json()
    assert ranking["version"]["label"] == "Commune boundaries 2008-2019 (22 units)"


def test_api_indicators_says_which_have_data_and_their_preset_bands(client):
    by_id = {i["id"]: i for i in client.get("/api/indicators").get_json()["indicators"]}
    assert by_id["households"]["has_data"] is False and by_id["households"]["years"] == []
    assert by_id["poverty_rate"]["has_data"] is True
    assert by_id["poverty_rate"]["legend_breaks"] == [10, 20, 30, 40, 50]
    assert by_id["near_poverty_rate"]["legend_breaks"] == []


def test_change_maps_keep_one_zero_centred_scale_across_years(client):
    views = [values(client, f"indicator=poverty_rate&year={y}&compare=2016") for y in (2018, 2024)]
    assert views[0]["classification"]["breaks"] == views[1]["classification"]["breaks"]
    assert views[0]["legend"]["labels"] == views[1]["legend"]["labels"]
    breaks = views[0]["classification"]["breaks"]
    assert breaks[-1] == pytest.approx(-(breaks[0] - (breaks[1] - breaks[0])))  # [-m, m] in equal steps
    assert "2016" in views[0]["legend"]["note"] and "đối xứng quanh 0" in views[0]["legend"]["note"]
    own = [values(client, f"indicator=poverty_rate&year={y}&compare=2016&classes=year") for y in (2018, 2024)]
    assert own[0]["classification"]["breaks"] != own[1]["classification"]["breaks"]
    # The pooled extent is the largest change of any year: at least each year's own.
    assert breaks[-1] >= max(abs(v) for v in (own[0]["classification"]["breaks"][-1],
                                               own[1]["classification"]["breaks"][-1])) - 1e-9


def test_build_with_a_pool_classifies_by_the_pool_and_counts_the_values():
    pool = list(range(1, 101))
    result, classes = classify.build([5, 50, 95, None], pool=pool)
    assert result.upper_bounds == classify.breaks(pool)
    assert classes == [0, 2, 4, None] and result.counts == [1, 0, 1, 0, 1] and result.no_data_count == 1
    assert (result.min, result.max) == (1, 100)  # the legend reads the same for every year pooled


def test_manual_bounds_are_independent_of_the_data():
    low, _ = classify.build([1, 2, 3], manual=[10, 20])
    high, classes = classify.build([15, 25, 999], manual=[10, 20])
    assert low.upper_bounds == high.upper_bounds == [10, 20, 20]
    assert classes == [1, 2, 2] and high.method == "manual" and len(high.colors) == 3
    assert classify.legend_labels(high, 0, "en") == ["≤ 10", "> 10 – 20", "> 20"]
    with pytest.raises(ValueError):
        classify.build([1], manual=[20, 10])


def test_a_data_change_recomputes_the_shared_classes(fresh_app):
    """The values of all years are kept per data generation: a write (an import) makes them be read again."""
    from mapapp.store import db

    client = fresh_app.test_client()
    before = values(client, "indicator=near_poverty_rate&year=2021")
    assert before["classification"]["years"] == list(range(2016, 2026))
    with fresh_app.app_context():
        conn = connection()
        conn.exec_driver_sql("UPDATE indicator_values SET illustrative = false WHERE indicator_id = 'near_poverty_rate' "
                             "AND year = 2021")
        db.bump_generation(conn)
        conn.commit()
    after = values(client, "indicator=near_poverty_rate&year=2021")
    assert after["classification"]["years"] == [2021]
    assert after["classification"]["breaks"] == values(client, "indicator=near_poverty_rate&year=2021&classes=year")[
        "classification"]["breaks"]


def test_side_by_side_page_with_an_empty_indicator_shows_another_with_a_notice(client):
    response = client.get("/compare?indicator=ethnic_minority_share&year=2016&year2=2024")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Tỷ lệ dân tộc thiểu số: chưa có số liệu — nhập tại Nhập dữ liệu" in page
    assert re.search(r'<option value="poverty_rate" selected', page)
    assert re.search(r'<option value="ethnic_minority_share"[^>]*disabled', page)
