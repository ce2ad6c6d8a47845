"""Proportional circles: the scale, the view state, the values payload and the exports (real store, real PNG)."""
from __future__ import annotations

import io
import math

import pytest
import sqlalchemy as sa
from conftest import needs_shared, store_engine
from PIL import Image
from shapely.geometry import Point, shape

from mapapp.present import circles, export
from mapapp.present.viewstate import BadRequest, ViewState, parse
from mapapp.store.db import connection

pytestmark = needs_shared

CONFIG = {"DEFAULT_INDICATOR": "poverty_rate", "DEFAULT_YEAR": 2021, "FIRST_YEAR": 2016, "LAST_YEAR": 2025}
IDS = ("poverty_rate", "population", "projects_active", "area")


def test_area_is_proportional_to_the_value():
    top = circles.radius(1000, 1000, 28)
    assert top == 28
    for value in (1, 10, 250, 999):
        assert circles.radius(value, 1000, 28) ** 2 / top ** 2 == pytest.approx(value / 1000)
    assert circles.radius(0, 1000, 28) == 0 and circles.radius(None, 1000, 28) == 0


def test_circles_shrink_on_dense_maps():
    assert circles.size_share(21) == circles.size_share(300) == 1.0
    assert circles.size_share(1200) == pytest.approx(0.5)
    assert circles.size_share(11163) == circles.MIN_SHARE


def test_reference_values_are_round_and_decreasing():
    assert circles.reference_values(12986) == [10000, 2500, 500]
    assert circles.reference_values(280) == [250, 50, 10]
    assert circles.reference_values(3) == [2.5]
    assert circles.reference_values(0) == []


@pytest.mark.parametrize("query, expected", [("", None), ("circles=1", True), ("circles=0", False),
                                             ("circles=on", True)])
def test_circles_round_trip_in_the_query_string(query, expected):
    state = parse(dict(p.split("=") for p in filter(None, ["indicator=population", query])), CONFIG, IDS)
    assert state.circles is expected
    again = parse(dict(p.split("=") for p in state.query_string().split("&")), CONFIG, IDS)
    assert again == state


def test_a_bad_switch_is_refused():
    with pytest.raises(BadRequest, match="circles"):
        parse({"circles": "maybe"}, CONFIG, IDS)


def test_counts_are_circles_by_default_at_their_inner_points(client):
    view = client.get("/api/values?indicator=population&year=2022").get_json()
    scale = view["circles"]
    assert scale["mode"] == "count" and scale["field"] == "value"
    units = {f["properties"]["code"]: shape(f["geometry"])
             for f in client.get("/api/units?year=2022").get_json()["features"]}
    for record in view["records"]:
        assert record["circle"] == record["value"]
        assert units[record["code"]].contains(Point(record["anchor"])), record["name"]
    assert [item["value"] for item in scale["legend"]] == circles.reference_values(scale["max_value"])


@pytest.mark.parametrize("indicator, extra", [("population", ""), ("poverty_rate", "&circles=1")])
def test_one_circle_scale_for_every_year_play_shows(client, indicator, extra):
    """A circle means the same count in every year whose colours share their classes; with
    ``classes=year`` each year is drawn to its own largest value."""
    def scale(year, more=""):
        return client.get(f"/api/values?indicator={indicator}&year={year}{extra}{more}").get_json()["circles"]

    shown = scale(2022)
    assert len(shown["years"]) >= 3 and 2022 in shown["years"]
    own = {year: scale(year, "&classes=year") for year in shown["years"]}
    assert all(own[year]["years"] == [year] for year in own)
    assert shown["max_value"] == max(s["max_value"] for s in own.values())
    assert len({own[year]["max_value"] for year in own}) > 1  # the years' own largest values differ...
    for year in shown["years"]:  # ... and every year of the run is drawn to the one largest
        assert scale(year)["max_value"] == shown["max_value"] and scale(year)["legend"] == shown["legend"]
    assert str(shown["years"][0]) in shown["note"] and "thang" in shown["note"] and "thang" not in own[2022]["note"]


def test_real_and_illustrative_years_side_by_side_have_the_two_years_scale(fresh_app):
    """A real year beside an illustrative one: the colours are classed on those two years alone,
    and so are the circles, never on the invented years' largest count."""
    with store_engine(fresh_app).begin() as conn:
        conn.execute(sa.text("UPDATE indicator_values SET illustrative = :no WHERE indicator_id = 'poverty_rate' "
                             "AND year IN (2019, 2020)"), {"no": False})
    client = fresh_app.test_client()
    real = client.get("/api/values?indicator=poverty_rate&year=2020&circles=1").get_json()["circles"]
    assert real["years"] == [2019, 2020]  # a real map's scale never depends on invented numbers
    pair = client.get("/compare.json?indicator=poverty_rate&year=2016&year2=2020&circles=1").get_json()
    scale = pair["left"]["circles"]
    assert scale == pair["right"]["circles"] and scale["years"] == [2016, 2020]
    own = [client.get(f"/api/values?indicator=poverty_rate&year={y}&circles=1&classes=year").get_json()["circles"]
           for y in (2016, 2020)]
    assert scale["max_value"] == max(o["max_value"] for o in own)
    invented = client.get("/api/values?indicator=poverty_rate&year=2016&circles=1").get_json()["circles"]
    assert 2020 not in invented["years"] and scale["max_value"] <= invented["max_value"]


def test_rates_draw_their_numerator_on_request(client):
    assert client.get("/api/values?indicator=poverty_rate&year=2022").get_json()["circles"] is None
    view = client.get("/api/values?indicator=poverty_rate&year=2022&circles=1").get_json()
    assert view["circles"]["mode"] == "numerator" and view["circles"]["title"] == "Số hộ nghèo"
    assert all(r["circle"] == r["numerator"] for r in view["records"])
    assert view["classification"]["colors"]  # the rate keeps its colours


def test_circles_off_and_change_views_have_no_circles(client):
    assert client.get("/api/values?indicator=population&year=2022&circles=0").get_json()["circles"] is None
    change = client.get("/api/values?indicator=poverty_rate&year=2024&compare=2016&circles=1").get_json()
    assert change["circles"] is None
    assert client.get("/api/values?indicator=area&year=2022&circles=1").get_json()["circles"] is None


def test_columns_carry_the_anchors(client):
    view = client.get("/api/values?indicator=population&year=2022&format=columns").get_json()
    assert len(view["columns"]["anchor"]) == view["count"] and view["circles"]["mode"] == "count"


def _png(app, state):
    with app.app_context():
        rendered = export.render(connection(), state, export.Page("A4", "landscape", 150, "png"), None,
                                 labels=False)
    return rendered, Image.open(io.BytesIO(rendered.data)).convert("RGB")


def test_png_export_draws_count_circles_sized_by_value(app, client):
    """The circles in the PNG: their dark pixels counted (units neutral underneath) give a
    radius within a pixel of the scale's (area ∝ value; the white 0.5 pt ring eats half its width)."""
    view = client.get("/api/values?indicator=population&year=2022").get_json()
    rendered, image = _png(app, ViewState("population", 2022, projects=False))
    frame = rendered.frames[0]
    px_per_mm = rendered.size_px[0] / rendered.page_mm[0]
    top = circles.MAX_RADIUS_MM * min(rendered.page_mm) / 210.0 * px_per_mm
    # Xã Hướng Lập and Hướng Sơn: big communes far from others, their circles drawn whole.
    for name in ("Xã Hướng Lập", "Xã Hướng Sơn"):
        record = next(r for r in view["records"] if r["name"] == name)
        x, y = export.lonlat_to_pixel(frame, *record["anchor"])
        r = circles.radius(record["value"], view["circles"]["max_value"], top)
        inside = outside = 0
        for dx in range(-int(r) - 3, int(r) + 4):
            for dy in range(-int(r) - 3, int(r) + 4):
                rgb = image.getpixel((int(x + dx), int(y + dy)))
                dark = sum(rgb) < 3 * 200  # the circle's blue-grey over the pale unit
                if dark:
                    inside += 1
                elif math.hypot(dx, dy) < r - 2:
                    outside += 1
        edge = 0.5 / 72 * 150 * min(rendered.page_mm) / 210.0  # the white 0.5 pt ring, half of it inside r
        measured = math.sqrt(inside / math.pi)
        assert abs(measured - (r - edge / 2)) <= 0.75, (name, measured, r)
        area = math.pi * r * r
        assert outside < 0.02 * area, name
    # The units under count circles are neutral: no choropleth colour.
    lap = next(r for r in view["records"] if r["name"] == "Xã Hướng Lập")
    x, y = export.lonlat_to_pixel(frame, lap["anchor"][0], lap["anchor"][1] + 0.05)
    assert all(abs(a - b) <= 3 for a, b in zip(image.getpixel((int(x), int(y))), (0xef, 0xee, 0xe8)))


def test_cli_export_map_circles_switch(app, tmp_path):
    from PIL import ImageStat

    runner = app.test_cli_runner()
    out_on, out_off = tmp_path / "on.png", tmp_path / "off.png"
    for out, flag in ((out_on, "--circles"), (out_off, "--no-circles")):
        result = runner.invoke(args=["export-map", "--indicator", "poverty_rate", "--year", "2022", "--dpi", "72",
                                     "--out", str(out), flag])
        assert result.exit_code == 0, result.output
    assert "--circles / --no-circles" in runner.invoke(args=["export-map", "--help"]).output
    on, off = (Image.open(p).convert("RGB") for p in (out_on, out_off))
    assert ImageStat.Stat(on).mean != ImageStat.Stat(off).mean  # the count circles are drawn only with --circles
