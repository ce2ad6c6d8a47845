"""Label points, short names and search keys of the web map (/api/points), on the real seeded database."""
import gzip
import json

import shapely

from mapapp.core.names import search_key, short_name
from mapapp.geo import label_points


def test_short_names_as_the_export_writes_them():
    assert short_name("Thị trấn Khe Sanh") == "TT. Khe Sanh"
    assert short_name("Xã A Dơi") == "A Dơi"
    assert short_name("Thi\u0323 trấn Lao Bảo") == "TT. Lao Bảo"  # NFD input
    assert short_name("Phường 1") == "Phường 1"


def test_search_keys_fold_prefixes_and_diacritics():
    assert search_key("Xã Hướng Lập") == "huong lap"
    assert search_key("Thị trấn Khe Sanh") == "khe sanh"
    assert search_key("Xã Đakrông") == "dakrong"
    for typed in ("huong lap", "Hướng Lập", "xa huong lap", "XÃ HƯỚNG LẬP"):
        assert search_key(typed) == "huong lap"
    for typed in ("TT Khe Sanh", "tt. khe sanh", "thi tran khe sanh"):
        assert search_key(typed) == "khe sanh"


def test_points_of_2021_lie_inside_their_communes(client):
    response = client.get("/api/points?year=2021", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    body = json.loads(gzip.decompress(response.data))
    assert body["format"] == label_points.POINTS_FORMAT
    assert len(body["code"]) == 21
    assert "TT. Khe Sanh" in body["short"] and "Hướng Lập" in body["short"]
    assert "huong lap" in body["search"]
    units = client.get("/api/units?year=2021").get_json()
    shapes = {f["properties"]["code"]: shapely.geometry.shape(f["geometry"]) for f in units["features"]}
    for code, lon, lat in zip(body["code"], body["lon"], body["lat"]):
        assert shapes[code].contains(shapely.Point(lon, lat)), code


def test_points_are_cached_by_boundary_checksum(client):
    first = client.get("/api/points?year=2021")
    assert first.status_code == 200 and first.get_json()["code"]
    again = client.get("/api/points?year=2021", headers={"If-None-Match": first.headers["ETag"].strip('"')})
    assert again.status_code == 304
    other = client.get("/api/points?year=2025").get_json()
    assert len(other["code"]) == 7 and other["checksum"] != first.get_json()["checksum"]


def test_points_are_computed_once_not_per_request(app, monkeypatch):
    client = app.test_client()
    client.get("/api/points?year=2016")  # computed (or read from the disk cache) and kept
    calls = []
    monkeypatch.setattr(label_points, "label_points", lambda collection: calls.append(1) or {})
    assert client.get("/api/points?year=2016").status_code == 200
    assert calls == []


def test_bad_points_requests_answer_400(client):
    assert client.get("/api/points?version=nope").status_code == 400
    assert client.get("/api/points?year=abc").status_code == 400
    assert client.get("/api/points?year=1800").status_code == 400


def test_atlas_points_cover_every_commune(atlas_client):
    body = atlas_client.get("/api/points?year=2021").get_json()
    assert len(body["code"]) == 141
    assert all(lon is not None and lat is not None for lon, lat in zip(body["lon"], body["lat"]))


def test_favicon_is_ours_and_needs_no_login(client):
    for path in ("/favicon.ico", "/static/favicon.svg"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == "image/svg+xml"
        assert b"<svg" in response.data
    assert 'rel="icon"' in client.get("/").get_data(as_text=True)
    assert 'rel="icon"' in client.get("/login").get_data(as_text=True)


def test_prewarming_computes_the_points_before_anyone_asks(tmp_path):
    from conftest import make_app

    from mapapp.query.prewarm import prewarm

    app = make_app(tmp_path, ATLAS="quang-tri")
    assert list((tmp_path / "cache").glob("points-*.json.gz")) == []
    prewarm(app, delay_s=0).join(timeout=120)
    cached = list((tmp_path / "cache").glob("points-*.json.gz"))
    assert len(cached) == 1
    assert len(json.loads(gzip.decompress(cached[0].read_bytes()))["code"]) == 141
