"""Print-quality map exports (PNG, PDF, SVG) rendered on the server with matplotlib.

One export is one sheet of paper (A4 or A3): a title, the choropleth drawn in
UTM zone 48N (EPSG:32648), commune labels placed without collisions (maps of up
to ``LABEL_MAX_UNITS`` units), the area outline, project sites, a legend with
class counts and the no-data class, a scale bar, a north arrow and the notes
(sources, boundary version, projection, export date). Illustrative data is
stamped across the map; the stamp cannot be turned off.

The scale bar measures ground distances at the map's centre: map metres are
divided by the projection's point scale factor there (:func:`scale_factor`:
0.9996 on 105° E, up to 1.0025 at the eastern edge of Vietnam, which lies in zone
49), so it stays right for a province or the whole country, not only for Hướng Hóa.

Large atlases (a province, the 11,163 communes of Vietnam): a version's geometry is
parsed once and projected with one vectorised pyproj call (cached per checksum);
all units of a map are one ``PathCollection`` (above ``GROUP_MIN_UNITS`` units,
one compound path per colour); boundaries thin out where units are small on paper.

Colours and classes are never computed here: a single map shows exactly what
:func:`mapapp.choropleth.build_view` returns (the same payload as
``/api/values``). Small multiples (several years on one page) need classes
shared by all the maps, so :func:`prepare` calls :func:`mapapp.classify.build` —
the very function ``build_view`` uses — once on the values of every year shown,
and recolours the records of each year's ``build_view`` with that result.

Everything on the sheet is laid out in millimetres on one full-page axes; the
map frames map metres (EPSG:32648) to millimetres with one scale factor. Each
frame is described in ``Rendered.frames`` (and in PNG files as the ``mapapp:frames``
text chunk) so :func:`lonlat_to_pixel` can find any place on the image.

matplotlib is imported lazily, inside the functions that draw.
"""
from mapapp.core.names import short_name as _short_name
from mapapp.present.export.composer import Rendered, draw
from mapapp.present.export.geometry import project, scale_factor, version_geometry
from mapapp.present.export.page import ExportRequest, Page, parse_page, parse_request, parse_years
from mapapp.present.export.png import png_bytes
from mapapp.present.export.render import lonlat_to_pixel, render
from mapapp.present.export.sheet import MapPanel, Sheet, export_date, filename_for, prepare, slug
from mapapp.present.export.style import FORMATS, LABEL_MAX_UNITS, MAP_CRS, SITE_COLOR

__all__ = ["ExportRequest", "FORMATS", "LABEL_MAX_UNITS", "MAP_CRS", "MapPanel", "Page", "Rendered", "SITE_COLOR",
           "Sheet", "draw", "export_date", "filename_for", "lonlat_to_pixel", "parse_page", "parse_request",
           "parse_years", "png_bytes", "prepare", "project", "render", "scale_factor", "slug", "version_geometry",
           "_short_name"]
