"""Coordinate systems of boundary files: VN-2000 (national and 3° TM zones) with its proper datum shift, WGS 84, and how a file's CRS is recognised."""
from __future__ import annotations

from mapapp.ingest.annex import fold

VN2000_UTM = {105.0: "EPSG:3405", 111.0: "EPSG:3406"}
VN2000_GEOGRAPHIC = "EPSG:4756"
_VN2000_NAMES = ("vn 2000", "vn2000", "vietnam 2000", "viet nam 2000", "vn 2000 datum")


def _tm3_codes() -> dict[float, str]:
    import pyproj

    out = {}
    for code in range(9205, 9219):
        params = {p.name: p.value for p in pyproj.CRS.from_epsg(code).coordinate_operation.params}
        out[round(float(params["Longitude of natural origin"]), 4)] = f"EPSG:{code}"
    return out


def resolve_crs(crs) -> tuple[object, str]:
    """The CRS to transform from, and a note when a datum-less VN-2000 CRS was replaced.

    Raises
    ------
    ValueError
        For a VN-2000 projection that matches none of the EPSG VN-2000 systems.
    """
    import pyproj

    crs = pyproj.CRS.from_user_input(crs)
    if not _is_vn2000(crs) or _has_datum_shift(crs):
        return crs, ""
    substitute = _vn2000_equivalent(crs)
    if substitute is None:
        raise ValueError("hệ tọa độ VN-2000 không rõ múi chiếu (không có TOWGS84); hãy ghi --crs EPSG:xxxx / a VN-2000 "
                         "projection without TOWGS84 that matches no EPSG VN-2000 system: give --crs")
    return pyproj.CRS.from_user_input(substitute), (
        f"tệp .prj ghi VN-2000 nhưng thiếu tham số chuyển đổi (TOWGS84): dùng {substitute} / the .prj names "
        f"VN-2000 without TOWGS84: using {substitute} (7-parameter datum shift)")


def _is_vn2000(crs) -> bool:
    datum = crs.datum.name if crs.datum else ""
    text = fold(f"{datum} {crs.name} {crs.geodetic_crs.name if crs.geodetic_crs else ''}")
    return any(name in text for name in _VN2000_NAMES)


def _has_datum_shift(crs) -> bool:
    """True for a CRS that is itself an EPSG VN-2000 system (PROJ knows its 7-parameter shift)
    or that carries an explicit TOWGS84; a VN-2000 CRS described only by names (a .prj)
    is replaced by the EPSG system with the same projection, whatever PROJ would guess."""
    identity = crs.to_json_dict().get("id", {})
    return identity.get("authority") == "EPSG" or "TOWGS84" in (crs.to_wkt("WKT1_GDAL") or "")


def _vn2000_equivalent(crs) -> str | None:
    if crs.is_geographic:
        return VN2000_GEOGRAPHIC
    op = crs.coordinate_operation
    if op is None or "transverse mercator" not in op.method_name.lower():
        return None
    params = {p.name: p.value for p in op.params}
    lon0 = round(float(params.get("Longitude of natural origin", -999)), 4)
    scale = round(float(params.get("Scale factor at natural origin", 0)), 6)
    easting = float(params.get("False easting", 0))
    if easting != 500000 or float(params.get("False northing", 0)) != 0:
        return None
    if scale == 0.9999:
        return _tm3_codes().get(lon0)
    if scale == 0.9996:
        return VN2000_UTM.get(lon0)
    return None


def transformation_of(crs) -> str:
    """pyproj's description of the best operation from ``crs`` to WGS 84."""
    from pyproj.transformer import TransformerGroup

    group = TransformerGroup(crs, "EPSG:4326", always_xy=True)
    return group.transformers[0].description if group.transformers else "?"


def _crs_label(crs) -> str:
    code = crs.to_epsg()
    return f"{crs.name} (EPSG:{code})" if code else crs.name


def _is_wgs84_like(crs) -> bool:
    datum = fold(crs.datum.name if crs.datum else "")
    return "wgs" in datum and "84" in datum or "world geodetic system 1984" in datum


def _project(transformer, coords):
    import numpy as np

    x, y = transformer.transform(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])
