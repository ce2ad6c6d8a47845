"""Project import on real SQLite stores: parse, check, apply, count, undo."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from conftest import client_as, needs_shared
from import_builders import SOURCE, import_count, nfd, value_rows

from mapapp.ingest import project_import, transaction, undo
from mapapp.ingest.project_import import parse_budget, parse_point
from mapapp.store import db

pytestmark = needs_shared

HEADER = ["STT", "Tên dự án", "Nhà tài trợ", "Lĩnh vực", "Xã", "Thôn", "Năm bắt đầu", "Năm kết thúc", "Kinh phí",
          "Đơn vị tiền", "Tọa độ", "Nguồn"]


def projects_xlsx(rows) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Dự án"
    ws.append(["DANH SÁCH DỰ ÁN NGO TRÊN ĐỊA BÀN HUYỆN"])
    ws.append(HEADER)
    for i, row in enumerate(rows, start=1):
        ws.append([i] + row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD = [
    ["Nước sạch cho bản làng", "Quỹ Nhi đồng LHQ (UNICEF)", "nước sạch", "Lìa; Thuận", "Lìa: thôn A Ho, Pa Ry",
     2022, 2024, "1.200.000.000", "VND", "16°33'10\"N 106°35'20\"E", "QĐ 77/QĐ-UBND ngày 05/03/2022"],
    ["Sinh kế bền vững", "Tổ chức ABC", "sinh kế", nfd("Hướng Lộc, Ba Tầng"), "", 2023, "", "470.000 USD", "",
     "16.6345, 106.7231", ""],
    ["Trường học vùng cao", "Quỹ XYZ", "giáo dục", "19462", "", "2018", "2019", "2,5 tỷ đồng", "", "", ""],
]


def parse(app, data, **kw):
    kw.setdefault("source", SOURCE)
    with app.app_context():
        options = transaction.options_from_config(app.config, who="test", **kw)
        return project_import.read_projects_file(db.get_engine(), data, "du-an.xlsx", options), options


def stored_projects(app):
    with app.app_context():
        with db.get_engine().connect() as conn:
            return [tuple(r) for r in conn.execute(sa.select(db.projects).order_by(db.projects.c.id))]


def active(app, code, year, valid_from=""):
    with app.app_context():
        with db.get_engine().connect() as conn:
            v, u = db.indicator_values.c, db.units.c
            return conn.execute(sa.select(v.value).join(db.units, u.id == v.unit_id).where(
                u.code == code, u.valid_from == valid_from, v.year == year,
                v.indicator_id == "projects_active")).scalar()


def test_budget_and_coordinates():
    assert parse_budget(None, "11 tỷ đồng") == (11e9, "VND")
    assert parse_budget(None, "470.000", "USD") == (470000, "USD")
    assert isinstance(parse_budget(None, "nhiều tiền"), str)
    assert isinstance(parse_budget(None, "12"), str)  # no currency
    lon, lat = parse_point("16°33'10\"N 106°35'20\"E")
    assert lat == pytest.approx(16 + 33 / 60 + 10 / 3600) and lon == pytest.approx(106 + 35 / 60 + 20 / 3600)
    assert parse_point("106.7231 16.6345") == parse_point("16,6345 106,7231") == (106.7231, 16.6345)
    assert "ngoài" in parse_point("48.85, 2.35")


def test_project_import_apply_and_undo(fresh_app):
    before_values, before_projects = value_rows(fresh_app), stored_projects(fresh_app)
    lia_2022 = active(fresh_app, "19489", 2022, "2020-01-01")
    parsed, options = parse(fresh_app, projects_xlsx(GOOD))
    assert not parsed.errors, "\n".join(map(str, parsed.errors))
    first = parsed.projects[0]
    assert [name for _uid, name, _v in first.units] == ["Xã Lìa", "Xã Thuận"]
    assert first.units[0][2] == "thôn A Ho, Pa Ry" and first.budget == "1.200.000.000 VND"
    assert parsed.projects[1].end_year == 2023 and parsed.projects[1].budget == "470.000 USD"
    assert parsed.projects[2].units[0][1] == "Xã Tân Lập"
    with fresh_app.app_context():
        import_id = project_import.apply_projects(db.get_engine(), parsed, options)
    assert len(stored_projects(fresh_app)) == len(before_projects) + 3
    assert active(fresh_app, "19489", 2022, "2020-01-01") == lia_2022 + 1
    body = fresh_app.test_client().get("/api/projects?year=2023").get_json()
    names = {p["name"] for p in body["projects"]}
    assert {"Nước sạch cho bản làng", "Sinh kế bền vững"} <= names
    with fresh_app.app_context():
        undo.undo_import(db.get_engine(), import_id, "test")
    assert stored_projects(fresh_app) == before_projects and value_rows(fresh_app) == before_values


@pytest.mark.parametrize("column,value,message", [
    (3, "Hướng Hiệp", "Đa Krông"),  # another district
    (3, "Hướng Lôcc", "did you mean"),
    (5, "20x2", "not a year"),
    (6, 2010, "before"),
    (7, "nhiều", "not a number"),
    (9, "200, 300", "outside Vietnam"),
])
def test_project_errors_are_reported_and_nothing_is_written(fresh_app, column, value, message):
    rows = [list(r) for r in GOOD]
    rows[1][column] = value
    before = stored_projects(fresh_app)
    parsed, options = parse(fresh_app, projects_xlsx(rows))
    hits = [p for p in parsed.errors if message in p.message]
    assert hits, [str(p) for p in parsed.problems]
    assert hits[0].row == 4 and hits[0].sheet == "Dự án"
    with fresh_app.app_context(), pytest.raises(transaction.ImportRefused):
        project_import.apply_projects(db.get_engine(), parsed, options)
    assert stored_projects(fresh_app) == before and import_count(fresh_app) == 0


def test_project_cli_and_web(fresh_app, tmp_path):
    path = tmp_path / "du-an.xlsx"
    path.write_bytes(projects_xlsx(GOOD))
    result = fresh_app.test_cli_runner().invoke(args=["import-projects", str(path), "--source", SOURCE,
                                                      "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Nước sạch cho bản làng" in result.output and import_count(fresh_app) == 0
    client = client_as(fresh_app, "editor")
    html = client.post("/import/projects", data={"file": (io.BytesIO(path.read_bytes()), "du-an.xlsx"),
                                                 "source": SOURCE, "csrf_token": client.csrf},
                       content_type="multipart/form-data")
    text = html.get_data(as_text=True)
    assert html.status_code == 200 and "Xã Thuận" in text and "Xác nhận nhập" in text
    import re
    token = re.search(r'name="token" value="([0-9a-f]{32})"', text).group(1)
    done = client.post("/import/projects/confirm", data={"token": token, "source": SOURCE, "csrf_token": client.csrf})
    assert done.status_code == 302 and import_count(fresh_app) == 1


def test_projects_are_drawn_at_their_coordinates_else_at_the_inner_point(fresh_app):
    parsed, options = parse(fresh_app, projects_xlsx(GOOD))
    with fresh_app.app_context():
        project_import.apply_projects(db.get_engine(), parsed, options)
    client = fresh_app.test_client()
    body = client.get("/api/projects?year=2018").get_json()
    school = next(p for p in body["projects"] if p["name"] == "Trường học vùng cao")  # no coordinates
    units = {f["properties"]["code"]: f for f in client.get("/api/units?year=2018").get_json()["features"]}
    from shapely.geometry import Point, shape

    from mapapp.geo.inner_points import inner_point

    [site] = school["sites"]
    unit = shape(units[site["code"]]["geometry"])
    # the commune's label point: its inner point, to 5 decimals (about 1 m)
    assert site["at"] == "commune" and (site["lon"], site["lat"]) == tuple(round(c, 5) for c in inner_point(unit))
    assert unit.contains(Point(site["lon"], site["lat"]))
    livelihoods = next(p for p in client.get("/api/projects?year=2023").get_json()["projects"]
                       if p["name"] == "Sinh kế bền vững")
    assert [(s["at"], s["lon"], s["lat"]) for s in livelihoods["sites"]] == [("point", 106.7231, 16.6345)]
