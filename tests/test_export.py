"""Print exports (/export.png|pdf|svg and ``flask export-map``) on the real seeded store."""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter

import pypdf
import pytest
from conftest import needs_shared
from PIL import Image
from shapely.geometry import Point, shape

from mapapp.present import classify, export
from mapapp.present.viewstate import ViewState
from mapapp.query import read as query
from mapapp.store.db import connection

pytestmark = needs_shared

STAMP_VI = "DỮ LIỆU MINH HỌA — không phải số liệu chính thức"
STAMP_EN = "ILLUSTRATIVE DATA — not official figures"
SVG_NS = "{http://www.w3.org/2000/svg}"


def _squash(text: str) -> str:
    """Text without any whitespace (PDF extraction breaks lines where the layout wraps them)."""
    return re.sub(r"\s+", "", text)


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb[:3])


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))


def _close(a, b, tol=2) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def _interior_points(geom, steps=14):
    """A grid of points well inside a commune (away from its boundary lines)."""
    inner = geom.buffer(-0.004)
    if inner.is_empty:
        inner = geom.buffer(-0.0015)
    minx, miny, maxx, maxy = inner.bounds
    return [p for i in range(steps) for j in range(steps)
            if inner.contains(p := Point(minx + (i + 0.5) * (maxx - minx) / steps,
                                         miny + (j + 0.5) * (maxy - miny) / steps))]


def _pixels(image, frame, points):
    out = []
    for p in points:
        x, y = export.lonlat_to_pixel(frame, p.x, p.y)
        out.append(image.getpixel((int(x), int(y)))[:3])
    return out


def _render_png(app, state: ViewState, dpi=100, years=None, labels=False):
    with app.app_context():
        rendered = export.render(connection(), state, export.Page("A4", "landscape", dpi, "png"), years,
                                 labels=labels)
    return rendered, Image.open(io.BytesIO(rendered.data)).convert("RGB")


# --------------------------------------------------------------------------
# Sizes and formats
# --------------------------------------------------------------------------

def test_page_export_link_gives_a4_landscape_300dpi_png(client):
    page = client.get("/?indicator=poverty_rate&year=2021").get_data(as_text=True)
    href = re.search(r'id="export-png" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    response = client.get(href)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"] == "attachment; filename=ty-le-ho-ngheo-2021.png"
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "PNG"
    width, height = image.size
    assert abs(width - 3508) <= 1 and abs(height - 2480) <= 1
    assert round(image.info["dpi"][0]) == 300  # printed at the right size


def test_png_a3_portrait_150dpi_size(client):
    response = client.get("/export.png?indicator=population_density&year=2022&size=A3&orientation=portrait&dpi=150")
    assert response.status_code == 200
    width, height = Image.open(io.BytesIO(response.data)).size
    assert abs(width - round(297 / 25.4 * 150)) <= 1 and abs(height - round(420 / 25.4 * 150)) <= 1
    assert width < height


@pytest.mark.parametrize("size, orientation, points", [
    ("A4", "landscape", (841.89, 595.28)),
    ("A4", "portrait", (595.28, 841.89)),
    ("A3", "portrait", (841.89, 1190.55)),
])
def test_pdf_page_size(client, size, orientation, points):
    response = client.get(f"/export.pdf?indicator=population_density&year=2022&size={size}&orientation={orientation}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    box = pypdf.PdfReader(io.BytesIO(response.data)).pages[0].mediabox
    assert abs(float(box.width) - points[0]) < 0.5 and abs(float(box.height) - points[1]) < 0.5


def test_pdf_text_title_source_date_and_no_stamp_for_official_data(client):
    values = client.get("/api/values?indicator=population_density&year=2022").get_json()
    response = client.get("/export.pdf?indicator=population_density&year=2022")
    assert response.headers["Content-Disposition"] == "attachment; filename=mat-do-dan-so-2022.pdf"
    text = _squash(_pdf_text(response.data))
    assert _squash(values["title"]) in text  # Vietnamese diacritics survive as text
    for source in values["sources"]:
        assert _squash(source["title"]) in text
    assert _squash(f"Xuất ngày {dt.date.today():%d/%m/%Y}") in text
    assert _squash("Ranh giới xã năm 2022, 21 đơn vị") in text
    for label in values["legend"]["labels"] + [values["legend"]["no_data"]]:
        assert _squash(label) in text
    assert _squash(STAMP_VI) not in text
    assert b"/FontFile2" in response.data  # TrueType embedded (Type 42): selectable text


def test_pdf_illustrative_data_is_stamped(client):
    values = client.get("/api/values?indicator=poverty_rate&year=2021").get_json()
    assert values["illustrative"] is True
    text = _squash(_pdf_text(client.get("/export.pdf?indicator=poverty_rate&year=2021").data))
    assert _squash(STAMP_VI) in text
    assert _squash(values["title"]) in text


def _stamp_pixels(png: bytes):
    """Pixels of the stamp's red (#b2182b at 45 %) on a map drawn in blues: (count, x span, y span) in pixels."""
    import numpy as np

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    red = (rgb[..., 0] > rgb[..., 1] + 40) & (rgb[..., 0] > rgb[..., 2] + 30)
    ys, xs = np.nonzero(red)
    return int(red.sum()), (int(xs.max() - xs.min()) if len(xs) else 0), (int(ys.max() - ys.min()) if len(ys) else 0)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_png_illustrative_data_is_stamped_across_the_map(client, lang):
    """The stamp found by its pixels: red text across the map on illustrative data, none on official data."""
    query = f"palette=Blues&projects=0&dpi=72&lang={lang}"
    stamped = client.get(f"/export.png?indicator=poverty_rate&year=2021&{query}")
    official = client.get(f"/export.png?indicator=population_density&year=2022&{query}")
    width, height = Image.open(io.BytesIO(stamped.data)).size
    count, x_span, y_span = _stamp_pixels(stamped.data)
    assert count > 500 and x_span > 0.3 * width and y_span > 0.3 * height, (count, x_span, y_span)
    assert _stamp_pixels(official.data)[0] < 20


def test_stamp_cannot_be_disabled(client):
    for extra in ("&illustrative=0", "&stamp=0", "&projects=0", "&lang=vi&palette=Blues"):
        text = _squash(_pdf_text(client.get(f"/export.pdf?indicator=poverty_rate&year=2021{extra}").data))
        assert _squash(STAMP_VI) in text


def test_svg_is_xml_with_text_title_and_rotated_stamp(client):
    values = client.get("/api/values?indicator=poverty_rate&year=2021&lang=en").get_json()
    response = client.get("/export.svg?indicator=poverty_rate&year=2021&lang=en")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Content-Disposition"] == "attachment; filename=poverty-rate-2021.svg"
    root = ET.fromstring(response.data)
    texts = {el.text: el for el in root.iter(f"{SVG_NS}text")}
    assert values["title"] in texts
    assert STAMP_EN in texts
    angle = float(re.search(r"rotate\((-?[\d.]+)", texts[STAMP_EN].get("transform")).group(1))
    assert 20 <= abs(angle) <= 80  # diagonal across the map
    assert f"Exported {dt.date.today().isoformat()}" in texts
    assert "2021 commune boundaries, 21 units" in texts


def test_svg_official_data_has_no_stamp(client):
    root = ET.fromstring(client.get("/export.svg?indicator=population_density&year=2022&lang=en").data)
    assert STAMP_EN not in {el.text for el in root.iter(f"{SVG_NS}text")}


# --------------------------------------------------------------------------
# Colours: the export shows exactly what /api/values says
# --------------------------------------------------------------------------

@pytest.mark.parametrize("indicator, year", [("poverty_rate", 2021), ("population_density", 2022)])
def test_png_colour_of_each_commune_is_the_api_colour(app, client, indicator, year):
    values = client.get(f"/api/values?indicator={indicator}&year={year}").get_json()
    units = client.get(f"/api/units?year={year}").get_json()
    expected = {(r["code"], r["valid_from"]): r["color"] for r in values["records"]}
    rendered, image = _render_png(app, ViewState(indicator, year), labels=False)
    frame = rendered.frames[0]
    towns = client.get("/api/context").get_json()["towns"]
    with app.app_context():
        conn = connection()
        label_points = {(u["code"], u["valid_from"]): (u["label_lon"], u["label_lat"])
                        for u in query.version_units(conn, values["version"]["id"])}
    for feature in units["features"]:
        key = (feature["properties"]["code"], feature["properties"]["valid_from"])
        geom = shape(feature["geometry"])
        want = _rgb(expected[key])
        # The label point itself (labels are off; project markers and the stamp may still cover it)...
        at_label = _pixels(image, frame, [Point(*label_points[key])])[0]
        # ...and the colour of most of the commune.
        modal, _n = Counter(_pixels(image, frame, _interior_points(geom))).most_common(1)[0]
        assert _close(modal, want), (feature["properties"]["name"], _hex(modal), expected[key])
        # A town of the surroundings (Khe Sanh, Lao Bảo) is marked and named inside its thị trấn.
        in_town = any(geom.contains(Point(t["lon"], t["lat"])) for t in towns)
        if not values["illustrative"] and not in_town and not _close(at_label, want):
            assert _close(at_label, _rgb(export.SITE_COLOR), 40) or _close(at_label, (255, 255, 255), 10)


def test_no_data_communes_are_grey_and_hatched(app, client):
    values = client.get("/api/values?indicator=population&year=2021").get_json()
    missing = {(r["code"], r["valid_from"]) for r in values["records"] if r["value"] is None}
    assert missing and len(missing) < len(values["records"])
    units = client.get("/api/units?year=2021").get_json()
    rendered, image = _render_png(app, ViewState("population", 2021, projects=False), dpi=150)
    frame = rendered.frames[0]
    grey = _rgb(classify.NO_DATA_COLOR)
    for feature in units["features"]:
        key = (feature["properties"]["code"], feature["properties"]["valid_from"])
        if key not in missing:
            continue
        pixels = _pixels(image, frame, _interior_points(shape(feature["geometry"]), steps=30))
        counts = Counter(pixels)
        assert _close(counts.most_common(1)[0][0], grey)
        darker = sum(n for rgb, n in counts.items() if max(rgb) < min(grey) - 25)
        assert darker / len(pixels) > 0.03, feature["properties"]["name"]  # the hatch


# --------------------------------------------------------------------------
# Small multiples
# --------------------------------------------------------------------------

def test_small_multiples_one_png_four_maps(client):
    response = client.get("/export.png?indicator=poverty_rate&years=2016,2018,2020,2022&dpi=100")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == \
        "attachment; filename=ty-le-ho-ngheo-2016-2018-2020-2022.png"
    image = Image.open(io.BytesIO(response.data))
    assert image.size == export.Page("A4", "landscape", 100, "png").pixels
    assert image.info["mapapp:maps"] == "4"
    frames = json.loads(image.info["mapapp:frames"])
    assert [f["year"] for f in frames] == [2016, 2018, 2020, 2022]
    assert [f["version"] for f in frames] == ["2008", "2008", "2020", "2020"]  # each year on its own units
    boxes = [f["box_mm"] for f in frames]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]


def test_small_multiples_share_one_classification(app, client):
    """With classes per year (``classes=year``) the sheet still has one legend: the panels' values pooled."""
    years = [2016, 2018, 2020, 2022]
    views = {y: client.get(f"/api/values?indicator=poverty_rate&year={y}&classes=year").get_json() for y in years}
    # The shared classes: the same classify.build as /api/values, over the values of all years.
    records = [r for y in years for r in views[y]["records"]]
    classification, classes = classify.build([r["value"] for r in records], classify.DEFAULT_METHOD,
                                             classify.DEFAULT_K, views[2016]["classification"]["palette"])
    keys = [(year, r["code"], r["valid_from"]) for year in years for r in views[year]["records"]]
    expected = {key: classification.colors[c] for key, c in zip(keys, classes)}
    rendered, image = _render_png(app, ViewState("poverty_rate", 2016, classes="year"), dpi=100, years=years)
    assert len(rendered.frames) == 4
    differs = 0
    for frame in rendered.frames:
        year = frame["year"]
        for feature in client.get(f"/api/units?year={year}").get_json()["features"]:
            key = (year, feature["properties"]["code"], feature["properties"]["valid_from"])
            modal, _n = Counter(_pixels(image, frame, _interior_points(shape(feature["geometry"])))).most_common(1)[0]
            assert _close(modal, _rgb(expected[key])), (key, _hex(modal), expected[key])
            own = {(r["code"], r["valid_from"]): r["color"] for r in views[year]["records"]}
            differs += own[key[1:]] != expected[key]
    assert differs  # shared classes are not each year's own classes


# --------------------------------------------------------------------------
# Bad requests
# --------------------------------------------------------------------------

@pytest.mark.parametrize("url, word", [
    ("/export.png?indicator=no_such_thing&year=2021", "indicator"),
    ("/export.png?indicator=population_density&year=2021", "2021"),  # no data that year
    ("/export.png?indicator=poverty_rate&year=2031", "2031"),
    ("/export.png?indicator=poverty_rate&year=abc", "year"),
    ("/export.png?indicator=poverty_rate", "year"),
    ("/export.png?year=2021", "indicator"),
    ("/export.png?indicator=poverty_rate&year=2021&dpi=5000", "dpi"),
    ("/export.png?indicator=poverty_rate&year=2021&dpi=high", "dpi"),
    ("/export.pdf?indicator=poverty_rate&year=2021&size=A0", "A0"),
    ("/export.svg?indicator=poverty_rate&year=2021&orientation=sideways", "orientation"),
    ("/export.png?indicator=poverty_rate&year=2021&k=99", "k"),
    ("/export.png?indicator=poverty_rate&year=2021&lang=fr", "language"),
    ("/export.png?indicator=poverty_rate&years=2016,2040", "2040"),
    ("/export.png?indicator=poverty_rate&years=2016-2018,x", "year"),
    ("/export.png?indicator=population_density&years=2021,2022", "2021"),
])
def test_bad_requests_answer_400_json(client, url, word):
    response = client.get(url)
    assert response.status_code == 400
    assert response.is_json
    assert word in response.get_json()["error"]


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def test_cli_export_map_writes_a_file(app, tmp_path):
    out = tmp_path / "ngheo.png"
    result = app.test_cli_runner().invoke(args=[
        "export-map", "--indicator", "poverty_rate", "--year", "2021", "--format", "png", "--dpi", "72",
        "--out", str(out)])
    assert result.exit_code == 0, result.output
    image = Image.open(out)
    assert image.size == export.Page("A4", "landscape", 72, "png").pixels


def test_cli_export_map_years_writes_one_file_per_year(app, tmp_path):
    out = tmp_path / "maps" / "ngheo.svg"
    result = app.test_cli_runner().invoke(args=[
        "export-map", "--indicator", "poverty_rate", "--years", "2019-2021", "--format", "svg", "--lang", "en",
        "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.parent.iterdir())
    assert files == ["ngheo-2019.svg", "ngheo-2020.svg", "ngheo-2021.svg"]
    for year in (2019, 2020, 2021):
        root = ET.fromstring((out.parent / f"ngheo-{year}.svg").read_bytes())
        assert f"Poverty rate — Hướng Hóa district, {year}" in {el.text for el in root.iter(f"{SVG_NS}text")}


def test_cli_export_map_bad_year_fails_with_message(app, tmp_path):
    result = app.test_cli_runner().invoke(args=[
        "export-map", "--indicator", "poverty_rate", "--year", "2031", "--out", str(tmp_path / "x.pdf")])
    assert result.exit_code != 0
    assert "2031" in result.output
    assert not (tmp_path / "x.pdf").exists()


def test_change_map_export_names_its_diverging_classes_and_signed_legend(client):
    response = client.get("/export.pdf?indicator=poverty_rate&year=2024&compare=2016")
    assert response.status_code == 200
    text = _squash(_pdf_text(response.data))
    legend = client.get("/api/values?indicator=poverty_rate&year=2024&compare=2016").get_json()["legend"]["labels"]
    assert _squash("đối xứng quanh 0") in text
    assert all(_squash(label) in text for label in legend)
