"""Checks of a boundary file's coordinates: finite, on the Earth (WGS 84), near the previous version.

A file whose vertices are at latitude 95, longitude 190 or moved by 400° is refused:
pyproj would silently wrap such longitudes and the map would show the communes on the
other side of the globe. Coordinates at ±1e308 (or NaN, inf) are refused before any
GEOS operation sees them.
"""
from __future__ import annotations

import numpy as np

MIN_IOU = 0.5  # below: the file is refused unless the user says the units really moved
_LON, _LAT = 180.0, 90.0


def _first_bad(frame, bad_rows) -> int:
    return int(np.flatnonzero(bad_rows)[0]) + 1


def check_finite(frame, parsed) -> bool:
    """Refuse NaN, infinite or absurdly large coordinates (before reprojection).

    Returns
    -------
    bool
        False (with an error on ``parsed``) when a feature has such a coordinate.
    """
    import shapely

    bad = [not np.isfinite(c).all() or (np.abs(c) > 1e12).any() if len(c) else False
           for c in (shapely.get_coordinates(g) for g in frame.geometry.values)]
    if any(bad):
        row = _first_bad(frame, bad)
        parsed.error("tọa độ không hợp lệ (vô hạn, NaN hoặc quá lớn) / coordinates are not finite numbers "
                     "(NaN, infinite or absurdly large): check the file's export", row=row)
        return False
    return True


def check_geographic(frame, given_crs: str | None, parsed) -> bool:
    """In a geographic CRS (the file's, or ``given_crs``), longitudes must be within ±180°, latitudes ±90°."""
    import pyproj
    import shapely

    try:
        crs = pyproj.CRS.from_user_input(given_crs) if given_crs else frame.crs
    except pyproj.exceptions.CRSError:
        return True  # reported by the reprojection
    if crs is None or not crs.is_geographic:
        return True
    return _within(frame, [shapely.get_coordinates(g) for g in frame.geometry.values], parsed,
                   "tọa độ trong tệp")


def check_wgs84(projected, parsed) -> bool:
    """After reprojection, the features must lie on the Earth: lon within ±180°, lat within ±90°."""
    import shapely

    wgs84 = projected.to_crs("EPSG:4326")
    return _within(projected, [shapely.get_coordinates(g) for g in wgs84.geometry.values], parsed,
                   "tọa độ sau khi chuyển về WGS 84")


def _within(frame, coords: list, parsed, what_vi: str) -> bool:
    bad = [len(c) > 0 and (not np.isfinite(c).all() or (np.abs(c[:, 0]) > _LON).any() or
                           (np.abs(c[:, 1]) > _LAT).any()) for c in coords]
    if any(bad):
        row = _first_bad(frame, bad)
        c = coords[row - 1]
        parsed.error(f"{what_vi} nằm ngoài Trái Đất (kinh độ {np.nanmin(c[:, 0]):.1f}…{np.nanmax(c[:, 0]):.1f}, vĩ "
                     f"độ {np.nanmin(c[:, 1]):.1f}…{np.nanmax(c[:, 1]):.1f}): hãy kiểm tra hệ tọa độ / coordinates "
                     f"outside WGS 84 (longitude ±180°, latitude ±90°): check the coordinate system", row=row)
        return False
    return True


def check_moved(parsed, accept_moved: bool) -> None:
    """Refuse a file whose units overlap their previous boundaries at IoU < 0.5, unless confirmed."""
    previous = parsed.report.get("previous")
    if not previous or previous["min_iou"] >= MIN_IOU:
        return
    parsed.report["moved"] = True
    message = (f"ranh giới xã {previous['worst']} trùng với phiên bản {previous['version']} chỉ {previous['min_iou']:.2f}"
               f" (IoU < {MIN_IOU}): tệp có thể sai hệ tọa độ hoặc bị dời / the boundary of {previous['worst']} "
               f"overlaps version {previous['version']} at IoU {previous['min_iou']:.2f} (< {MIN_IOU}): wrong CRS "
               f"or moved features?")
    if accept_moved:
        parsed.warn(message + " — đã xác nhận / confirmed")
    else:
        parsed.error(message + " Nếu ranh giới thực sự thay đổi, hãy xác nhận / if the units really changed, "
                               "confirm it (--accept-moved)")
