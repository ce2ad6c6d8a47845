"""Reading a boundary file (GeoJSON, zipped Shapefile, GeoPackage, KML): what the user says about it, what was found in it, its polygon layer and its reprojection to WGS 84."""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from mapapp.geo import boundaries
from mapapp.geo.units import Unit
from mapapp.ingest import workbooks
from mapapp.ingest.boundary_crs import _crs_label, _is_wgs84_like, resolve_crs, transformation_of
from mapapp.ingest.transaction import Problem

SUFFIXES = {".geojson": "geojson", ".json": "geojson", ".zip": "shapefile", ".gpkg": "gpkg", ".kml": "kml"}


@dataclass
class BoundaryRequest:
    """What the user says about a boundary file."""

    valid_from: str
    valid_to: str = ""
    crs: str | None = None
    encoding: str | None = None
    accept_moved: bool = False  # the user confirms that units moved far from their previous boundaries


@dataclass
class FeatureInfo:
    """One feature of the file as the preview shows it."""

    index: int
    raw_name: str
    decoded_name: str
    code: str = ""
    unit_key: tuple[str, str] | None = None
    unit_name: str = ""
    area_km2: float | None = None


@dataclass
class ParsedBoundaries:
    """A read and checked boundary file (nothing written yet)."""

    filename: str
    checksum: str
    request: BoundaryRequest
    problems: list[Problem] = field(default_factory=list)
    features: list[FeatureInfo] = field(default_factory=list)
    report: dict = field(default_factory=dict)
    geoms: dict = field(default_factory=dict)  # unit key → polygon in boundaries.PROJECTED_CRS
    units: list[Unit] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """The problems that block the import."""
        return [p for p in self.problems if p.level == "error"]

    def error(self, message: str, row: int | None = None, text: str | None = None) -> None:
        self.problems.append(Problem("error", message, self.filename, "", row, "", "", text))

    def warn(self, message: str, row: int | None = None, text: str | None = None) -> None:
        self.problems.append(Problem("warning", message, self.filename, "", row, "", "", text))

    def report_lines(self) -> list[str]:
        """The report as lines (CLI output, web preview)."""
        r = self.report
        lines = []
        if "crs" in r:
            lines.append(f"hệ tọa độ / CRS: {r['crs']}" + (f" — {r['crs_note']}" if r.get("crs_note") else ""))
            lines.append(f"phép chuyển / transformation: {r.get('transformation', '')}")
        if "encoding" in r:
            lines.append(f"bảng mã tên / name encoding: {r['encoding']}")
        if "features" in r:
            lines.append(f"{r['features']} đối tượng / features, {len(self.geoms)} đơn vị / units")
        for key, label in (("overlap_km2", "chồng lấn / overlaps"), ("gap_km2", "khe hở / gaps"),
                           ("area_km2", "tổng diện tích / total area")):
            if key in r:
                lines.append(f"{label}: {r[key]:.3f} km²")
        for pair in r.get("overlaps", [])[:10]:
            lines.append(f"  chồng lấn / overlap {pair[0]} × {pair[1]}: {pair[2]:.3f} km²")
        if r.get("previous"):
            p = r["previous"]
            lines.append(f"so với phiên bản trước / against the previous version {p['version']}: "
                         f"khác nhau / differs by {p['changed_km2']:.3f} km² (IoU min {p['min_iou']:.3f})")
        return lines


def _read_frame(data: bytes, filename: str, request: BoundaryRequest, parsed: ParsedBoundaries, tmp: Path):
    """Write the upload under a server-chosen name in ``tmp`` and read its polygon layer."""
    import pyogrio

    kind = SUFFIXES.get(os.path.splitext(filename)[1].lower())
    if kind is None:
        parsed.error(f"loại tệp không hỗ trợ / unsupported file type; dùng / use: {', '.join(SUFFIXES)}")
        return None
    path = tmp / f"input{os.path.splitext(filename)[1].lower()}"
    path.write_bytes(data)
    source = _source_path(path, kind, parsed)
    if source is None:
        return None
    legacy = kind == "shapefile" and (request.encoding or "").lower() not in ("utf-8", "utf8")
    try:
        layer = _polygon_layer(source, parsed)
        kwargs = {"encoding": "latin1"} if legacy else {}
        frame = pyogrio.read_dataframe(source, layer=layer, **kwargs)
    except Exception as error:  # GDAL reports damaged files with many exception types
        parsed.error(f"không đọc được tệp / cannot read the file: {scrub_paths(str(error), tmp, filename)}")
        return None
    if len(frame) == 0:
        parsed.error("tệp không có đối tượng nào / the file has no features")
        return None
    frame.attrs["legacy_read"] = legacy
    return frame


def scrub_paths(message: str, folder: Path, filename: str) -> str:
    """``message`` with the server's temporary paths replaced by the user's file name."""
    for prefix in ("/vsizip/", "/vsigzip/", ""):
        for variant in {str(folder), str(folder.resolve())}:
            message = message.replace(prefix + variant + os.sep + "input" + os.path.splitext(filename)[1].lower(),
                                      filename).replace(prefix + variant, "")
    return " ".join(message.split())[:300]


def _source_path(path: Path, kind: str, parsed: ParsedBoundaries) -> str | None:
    if kind != "shapefile":
        return str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            workbooks.check_archive(archive)
            shapes = [n for n in archive.namelist() if n.lower().endswith(".shp") and not n.startswith("__MACOSX")]
    except workbooks.ReadLimit as error:
        parsed.error(str(error))
        return None
    except (zipfile.BadZipFile, ValueError, OSError):
        parsed.error("tệp .zip hỏng / the .zip file is damaged")
        return None
    if not shapes:
        parsed.error("tệp .zip không có shapefile (.shp) / no .shp inside the .zip")
        return None
    if len(shapes) > 1:
        parsed.warn(f"có {len(shapes)} shapefile, dùng / using {shapes[0]}")
    return f"/vsizip/{path}/{shapes[0]}"


def _polygon_layer(source: str, parsed: ParsedBoundaries):
    import pyogrio

    layers = pyogrio.list_layers(source)
    polygons = [name for name, geom in layers if geom and "polygon" in str(geom).lower()]
    if len(layers) > 1:
        chosen = polygons[0] if polygons else layers[0][0]
        parsed.warn(f"tệp có {len(layers)} lớp, dùng lớp / the file has several layers, using '{chosen}'")
        return chosen
    return None


def _reproject(frame, request: BoundaryRequest, parsed: ParsedBoundaries):
    import pyproj

    crs = frame.crs
    if request.crs:
        try:
            given = pyproj.CRS.from_user_input(request.crs)
        except pyproj.exceptions.CRSError as error:
            parsed.error(f"--crs không hợp lệ / invalid --crs {request.crs!r}: {error}")
            return None
        if crs is not None and not given.equals(crs):
            parsed.warn(f"tệp ghi hệ tọa độ {crs.name}; dùng --crs {request.crs} theo yêu cầu / the file says "
                        f"{crs.name}; using --crs as asked")
        crs = given
    if crs is None:
        parsed.error(_no_crs_message(frame))
        return None
    try:
        crs, note = resolve_crs(crs)
    except ValueError as error:
        parsed.error(str(error))
        return None
    parsed.report.update(crs=_crs_label(crs), crs_note=note, transformation=transformation_of(crs))
    if note:
        parsed.warn(note)
    if "ballpark" in parsed.report["transformation"].lower() and not _is_wgs84_like(crs):
        parsed.warn(f"không có phép chuyển datum chính xác về WGS84 ({parsed.report['transformation']}): sai số có "
                    f"thể hàng trăm mét / no exact datum shift to WGS 84: errors may reach hundreds of metres")
    return frame.set_crs(crs, allow_override=True).to_crs(boundaries.PROJECTED_CRS)


def _no_crs_message(frame) -> str:
    minx, miny, maxx, maxy = frame.total_bounds
    hint = ("tọa độ có dạng mét (VN-2000?), vd. / coordinates look like metres (VN-2000?), e.g. --crs EPSG:9212"
            if max(abs(minx), abs(maxx)) > 360 else
            "tọa độ có dạng độ: WGS84 (EPSG:4326) hay VN-2000 (EPSG:4756)? / coordinates look like degrees: "
            "WGS 84 (EPSG:4326) or VN-2000 (EPSG:4756)?")
    return ("tệp không ghi hệ tọa độ (thiếu .prj): hãy cho biết bằng --crs. Không tự coi là WGS84 vì tọa độ VN-2000 "
            "đọc nhầm thành WGS84 sẽ lệch hơn 200 m hoặc sai hoàn toàn / the file does not say its coordinate "
            "system (no .prj): give --crs. It is not assumed to be WGS 84: VN-2000 read as WGS 84 is 200+ m off. "
            + hint)
