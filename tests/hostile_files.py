"""Crafted hostile and broken inputs, generated small inside the tests (never stored in git).

Each builder returns bytes; :data:`SPREADSHEETS`, :data:`BOUNDARIES` name them with the
words the refusal must contain, so a test can assert that the message names the problem.
"""
from __future__ import annotations

import io
import json
import struct
import zipfile


def good_xlsx(rows: int = 3) -> bytes:
    """A small valid annex (for variations)."""
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["STT", "Tên xã", "Tỷ lệ hộ nghèo (%)"])
    for i in range(rows):
        ws.append([i + 1, f"Xã {i}", 12.5])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rezip(data: bytes, replace: dict[str, bytes]) -> bytes:
    """``data`` (a zip) with some members' bytes replaced."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info.filename)))
        for name in set(replace) - set(source.namelist()):
            target.writestr(name, replace[name])
    return out.getvalue()


def broken_content_types() -> bytes:
    """An .xlsx whose ``[Content_Types].xml`` is malformed XML."""
    return _rezip(good_xlsx(), {"[Content_Types].xml": b"<?xml version='1.0'?><Types><Default"})


def truncated_sheet() -> bytes:
    """An .xlsx whose sheet XML stops in the middle of a row."""
    sheet = zipfile.ZipFile(io.BytesIO(good_xlsx())).read("xl/worksheets/sheet1.xml")
    return _rezip(good_xlsx(), {"xl/worksheets/sheet1.xml": sheet[: len(sheet) // 2]})


def entity_bomb_sheet() -> bytes:
    """An .xlsx whose sheet declares nested entities (billion laughs)."""
    lol = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                      for i in range(1, 10))
           + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>')
    return _rezip(good_xlsx(), {"xl/worksheets/sheet1.xml": lol})


def declared_huge_member() -> bytes:
    """An .xlsx whose sheet member declares 1 GiB uncompressed (headers patched, the data is small)."""
    data = bytearray(good_xlsx())
    name = b"xl/worksheets/sheet1.xml"
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at:name_at + len(name)] == name:
                data[start + size_at:start + size_at + 4] = struct.pack("<I", 1 << 30)
            start += 4
    return bytes(data)


def high_ratio_member() -> bytes:
    """An .xlsx with a 3 MB member of spaces (compresses > 1000:1: a zip bomb's signature)."""
    return _rezip(good_xlsx(), {"xl/worksheets/sheet2.xml": b" " * (3 * 1024 * 1024)})


def not_a_zip() -> bytes:
    return b"PK\x03\x04 this is not really a zip file" + bytes(range(256))


def utf16_csv_without_bom(text: str) -> bytes:
    return text.encode("utf-16-le")


#: name → (file name, bytes builder, words the refusal names)
SPREADSHEETS = {
    "content-types": ("a.xlsx", broken_content_types, ("xlsx",)),
    "truncated-sheet": ("a.xlsx", truncated_sheet, ("xlsx",)),
    "entity-bomb": ("a.xlsx", entity_bomb_sheet, ("xlsx",)),
    "declared-1gib": ("a.xlsx", declared_huge_member, ("MB",)),
    "ratio-bomb": ("a.xlsx", high_ratio_member, (":1",)),
    "not-a-zip": ("a.xlsx", not_a_zip, ("xlsx",)),
    "garbage-xls": ("a.xls", lambda: b"\xd0\xcf\x11\xe0 not an OLE file" * 20, (".xls",)),
    "empty-xlsx": ("a.xlsx", lambda: b"", ("xlsx",)),
    "nul-csv": ("a.csv", lambda: b"T\x00\x00n x\x00\n\x00\x00\x00", ("table",)),
    "binary-csv": ("a.csv", lambda: bytes(range(256)) * 8, ("table",)),
}


def geojson(features: list[dict]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def square(name: str, lon: float, lat: float, size: float = 0.05) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Feature", "properties": {"name": name}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def shifted(source: dict, dlon: float = 0.0, dlat: float = 0.0) -> bytes:
    """Every vertex of a GeoJSON moved by ``dlon``, ``dlat`` degrees."""
    def move(coords):
        if coords and isinstance(coords[0], (int, float)):
            return [coords[0] + dlon, coords[1] + dlat]
        return [move(c) for c in coords]

    features = [dict(f, geometry=dict(f["geometry"], coordinates=move(f["geometry"]["coordinates"])))
                for f in source["features"]]
    return geojson(features)


def one_vertex(source: dict, lon: float | None = None, lat: float | None = None) -> bytes:
    """The source with the first vertex of its first feature replaced."""
    features = json.loads(json.dumps(source["features"]))
    geometry = features[0]["geometry"]
    ring = geometry["coordinates"][0] if geometry["type"] == "Polygon" else geometry["coordinates"][0][0]
    if lon is not None:
        ring[0][0] = ring[-1][0] = lon
    if lat is not None:
        ring[0][1] = ring[-1][1] = lat
    return geojson(features)


def huge_ring(source: dict) -> bytes:
    """The source with one feature whose ring is at ±1e308."""
    features = json.loads(json.dumps(source["features"]))
    features[0]["geometry"] = {"type": "Polygon", "coordinates": [[[-1e308, -1e308], [1e308, -1e308],
                                                                   [1e308, 1e308], [-1e308, -1e308]]]}
    return geojson(features)


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def shapefile_bomb() -> bytes:
    """A "shapefile" .zip whose .shp member is 3 MB of zeros (> 1000:1)."""
    return zipped({"xa.shp": bytes(3 * 1024 * 1024), "xa.dbf": b"", "xa.shx": b""})


def shapefile_declared_huge() -> bytes:
    """A .zip whose .shp member declares 1 GiB (headers patched)."""
    data = bytearray(zipped({"xa.shp": b"x" * 100, "xa.dbf": b"", "xa.shx": b""}))
    name = b"xa.shp"
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            if data[start + name_at:start + name_at + len(name)] == name:
                data[start + size_at:start + size_at + 4] = struct.pack("<I", 1 << 30)
            start += 4
    return bytes(data)
