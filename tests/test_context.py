"""The map's surroundings: derived from the real context layer, stored, served, printed.

Real files of ../shared, a real SQLite store, real exports (PNG pixels, SVG and PDF text).
The archipelagos of a national map are checked on the Quảng Trị atlas with
``archipelagos`` switched on (seeding the whole country takes minutes).
"""
from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import pypdf
import shapely
from conftest import REPO_ROOT, SHARED_DIR, needs_shared
from PIL import Image
from shapely.geometry import Point, shape

from mapapp.geo import context
from mapapp.present import export
from mapapp.present.export.surroundings import CONTEXT_FILL, ISLAND_COLOR
from mapapp.present.viewstate import ViewState
from mapapp.store.db import connection

pytestmark = needs_shared

HOANG_SA = "Quần đảo Hoàng Sa (TP. Đà Nẵng)"
TRUONG_SA = "Quần đảo Trường Sa (tỉnh Khánh Hòa)"


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))


def _near(a, b, tol=6) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def test_district_context_has_neighbours_provinces_border_and_towns(client):
    ctx = client.get("/api/context").get_json()
    names = {d["name"] for d in ctx["districts"]}
    assert {"Huyện Đa Krông", "Huyện Gio Linh", "Thành phố Huế"} <= names and len(names) == 26
    assert [d["label"] for d in ctx["districts"] if d["name"] == "Huyện Hướng Hóa"] == [None]  # our own: unnamed
    assert {p["name"] for p in ctx["provinces"]} == {"Tỉnh Quảng Bình", "Tỉnh Quảng Trị", "Tỉnh Thừa Thiên Huế"}
    assert {t["name"] for t in ctx["towns"]} == {"Khe Sanh", "Lao Bảo"} and all(t["source"] for t in ctx["towns"])
    assert ctx["archipelagos"] == []


def test_the_border_is_the_western_edge_and_laos_lies_beyond_it(client):
    ctx = client.get("/api/context").get_json()
    units = client.get("/api/units?year=2016").get_json()
    area = shape(units["outline"])
    border = shape(ctx["border"])
    assert border.length > 2.0  # degrees: several hundred km of the Lao border
    # The border follows the west edge of Hướng Hóa (Lao Bảo and the Sê Pôn river) ...
    assert border.distance(Point(area.bounds[0], area.centroid.y)) < 0.08
    # ... lies west of the coast, and never on the coast.
    coast = Point(107.2, 16.75)  # the sea east of Đông Hà
    assert border.distance(coast) > 0.3
    lon, lat = ctx["laos_label"]
    assert not area.contains(Point(lon, lat)) and lon < area.centroid.x
    west = shapely.LineString([(lon, lat), (lon - 1, lat)])
    assert not west.intersects(area)


def test_towns_lie_in_their_thi_tran(client):
    ctx = client.get("/api/context").get_json()
    units = client.get("/api/units?year=2016").get_json()["features"]
    by_name = {f["properties"]["name"]: shape(f["geometry"]) for f in units}
    for town in ctx["towns"]:
        assert by_name["Thị trấn " + town["name"]].contains(Point(town["lon"], town["lat"])), town


def test_context_is_cached_by_etag(client):
    first = client.get("/api/context")
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get("/api/context", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_context_is_derived_once_and_read_from_the_cache(tmp_path):
    outline = json.loads(shapely.to_geojson(shapely.box(106.5, 16.5, 106.9, 16.9)))
    built = context.load_context(SHARED_DIR, REPO_ROOT / "geodata", tmp_path, outline=outline)
    files = list(tmp_path.glob("boundaries-context-*.json"))
    assert len(files) == 1
    files[0].write_text(json.dumps({**built, "source": "from the cache"}), encoding="utf-8")
    assert context.load_context(SHARED_DIR, REPO_ROOT / "geodata", tmp_path, outline=outline)["source"] == \
        "from the cache"


def test_png_export_shows_the_surroundings_and_svg_names_laos(app, client):
    with app.app_context():
        rendered = export.render(connection(), ViewState("poverty_rate", 2016),
                                 export.Page("A4", "landscape", 100, "png"), None, labels=False)
        svg = export.render(connection(), ViewState("poverty_rate", 2016),
                            export.Page("A4", "landscape", 100, "svg"), None).data.decode()
    image = Image.open(io.BytesIO(rendered.data)).convert("RGB")
    frame = rendered.frames[0]
    # The north-east corner of the district's box is outside it: a neighbour, in the context fill.
    area = shape(client.get("/api/units?year=2016").get_json()["outline"])
    corner = (area.bounds[2] - 0.01, area.bounds[3] - 0.01)
    assert not area.contains(Point(corner))
    x, y = export.lonlat_to_pixel(frame, *corner)
    assert _near(image.getpixel((int(x), int(y))), _rgb(CONTEXT_FILL), 3)
    assert "LÀO / LAOS" in svg and "Khe Sanh" in svg and "Lao Bảo" in svg


def test_province_atlas_draws_the_provinces_around_it(atlas_client):
    ctx = atlas_client.get("/api/context").get_json()
    assert {"Quảng Bình", "Thừa Thiên Huế"} <= {p["name"] for p in ctx["provinces"]}
    assert "Quảng Trị" not in {p["name"] for p in ctx["provinces"]}
    assert ctx["laos_label"] and shape(ctx["border"]).length > 1.0
    assert ctx["archipelagos"] == []


def test_national_map_shows_both_archipelagos_in_api_pdf_svg_and_png(archipelago_app):
    client = archipelago_app.test_client()
    ctx = client.get("/api/context").get_json()
    assert {a["name_vi"] for a in ctx["archipelagos"]} == {HOANG_SA, TRUONG_SA}
    assert all(a["source"] and len(a["islands"]) >= 4 for a in ctx["archipelagos"])
    pdf = client.get("/export.pdf?indicator=poverty_rate&year=2024")
    assert pdf.status_code == 200
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    squash = "".join(text.split())
    assert "".join(HOANG_SA.split()) in squash and "".join(TRUONG_SA.split()) in squash
    svg = ET.fromstring(client.get("/export.svg?indicator=poverty_rate&year=2024&lang=en").data)
    words = " ".join(" ".join(el.itertext()) for el in svg.iter("{http://www.w3.org/2000/svg}text"))
    words = " ".join(words.split())  # a name is set on two or three lines
    assert "Hoàng Sa (Paracel) Islands (Đà Nẵng city)" in words
    assert "Trường Sa (Spratly) Islands (Khánh Hòa province)" in words
    with archipelago_app.app_context():
        rendered = export.render(connection(), ViewState("poverty_rate", 2024),
                                 export.Page("A4", "landscape", 100, "png"), None, labels=False)
    image = Image.open(io.BytesIO(rendered.data)).convert("RGB")
    frame = rendered.frames[0]
    for arch in ctx["archipelagos"]:
        island = arch["islands"][0]
        x, y = export.lonlat_to_pixel(frame, island["lon"], island["lat"])
        around = [image.getpixel((int(x) + dx, int(y) + dy)) for dx in range(-2, 3) for dy in range(-2, 3)]
        assert any(_near(p, _rgb(ISLAND_COLOR), 30) for p in around), arch["id"]


def test_the_national_atlas_carries_the_archipelagos(tmp_path):
    """The real ``vietnam`` atlas: its context is the archipelagos file (cheap: the layer is not read)."""
    from mapapp.core.atlas import load

    atlas = load("vietnam", REPO_ROOT / "geodata")
    assert atlas.archipelagos
    ctx = context.load_context(SHARED_DIR, REPO_ROOT / "geodata", tmp_path, atlas=atlas)
    assert {a["name_vi"] for a in ctx["archipelagos"]} == {HOANG_SA, TRUONG_SA}
    islands = {i["name"]: (i["lon"], i["lat"]) for a in ctx["archipelagos"] for i in a["islands"]}
    assert {"Phú Lâm", "Hoàng Sa", "Trường Sa Lớn", "Song Tử Tây", "Sinh Tồn"} <= set(islands)
    assert all(111 < lon < 115 and 7 < lat < 17.5 for lon, lat in islands.values())
    assert "Wikipedia" in ctx["archipelagos"][0]["source"]
    assert load("quang-tri", REPO_ROOT / "geodata").archipelagos is False
