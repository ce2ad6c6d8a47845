"""The folium part of the map page: the Leaflet map shell, with assets from our own server.

folium builds the map (no basemap tiles: the app must work with no internet) and
hands it to ``static/map/main.js``, which loads geometry once per boundary version and
repaints values on year or indicator changes without reloading the page.
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import folium
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template


class AppBootstrap(JSCSSMixin, MacroElement):
    """Loads our stylesheet and module entry, and hands the folium map to it.

    Our page scripts are ES modules, deferred: they run once the page is parsed, after
    this start-up script, which leaves the map in ``window.mapappLeafletMap`` and
    signals ``mapapp:map`` (see static/map/main.js).
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        window.mapappLeafletMap = {{ this._parent.get_name() }};
        document.dispatchEvent(new Event("mapapp:map"));
        {% endmacro %}
    """)

    def __init__(self, js: list, css: list, module: str):
        super().__init__()
        self._name = "AppBootstrap"
        self.default_js = js
        self.default_css = css
        self.module = module

    def render(self, **kwargs):
        super().render(**kwargs)
        self.get_root().header.add_child(Element(f'<script type="module" src="{self.module}"></script>'),
                                         name="mapapp")


@lru_cache(maxsize=8)
def render_parts(bounds: tuple, static_prefix: str, vendor_prefix: str, version: str,
                 module_url: str = "") -> dict[str, str]:
    """Render the folium map once; return its ``header``, ``html``, ``leaflet_css``, ``leaflet_js`` and ``script``.

    ``leaflet_css`` and ``leaflet_js`` are the URLs of Leaflet's stylesheet and script, which the page script
    loads after the first frame; ``script`` is the map's start-up script, served as a file.

    Parameters
    ----------
    bounds : ((south, west), (north, east)) of the mapped area
    static_prefix, vendor_prefix : URL prefixes of our static files and vendored assets
    version : cache-busting token for our own static files
    module_url : the page script's URL (default: ``map/main.js`` under ``static_prefix``; a bundle of it)
    """
    (south, west), (north, east) = bounds
    fmap = folium.Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=10, tiles=None,
                      control_scale=True, width="100%", height="100%", zoom_snap=0.25)
    fmap._id = "mapapp"  # a stable name: every worker process renders the same script and digest
    fmap.default_js = [("leaflet", f"{vendor_prefix}/leaflet/leaflet.js")]
    fmap.default_css = [("leaflet_css", f"{vendor_prefix}/leaflet/leaflet.css")]
    # No fit here: the page script fits the map once, to the first frame's box (present/first_frame.py).
    # Leaflet.markercluster is loaded by the page after the first paint (see lazy_assets).
    # Our stylesheet is inlined by the page (map.html); Leaflet's goes to the end of the body.
    fmap.add_child(AppBootstrap(
        js=[],
        css=[],
        module=module_url or f"{static_prefix}/map/main.js?v={version}",  # its imports are relative: see main.js
    ))
    figure = fmap.get_root()
    for child in figure._children.values():
        child.render()
    # folium's inline header script only restates Leaflet's defaults; dropping it, and
    # serving the map script as a file, lets the page run under a script-src 'self' policy.
    header = _INLINE_SCRIPT.sub("", figure.header.render())
    # Leaflet is not in the page's markup: a script or stylesheet in it, even at the end of the body,
    # holds back the first frame (present/first_frame.py) until it has arrived and run.
    leaflet_css, leaflet_js = _LEAFLET_CSS.search(header).group(1), _LEAFLET_SCRIPT.search(header).group(1)
    header = _LEAFLET_SCRIPT.sub("", _LEAFLET_CSS.sub("", header))
    # folium forbids zooming the page (maximum-scale=1, user-scalable=no): readers with low vision need it.
    header = _VIEWPORT.sub('<meta name="viewport" content="width=device-width, initial-scale=1">', header)
    script = figure.script.render()
    return {"header": header, "html": figure.html.render(), "script": script,
            "leaflet_css": leaflet_css, "leaflet_js": leaflet_js,
            "digest": hashlib.sha256(script.encode()).hexdigest()[:16]}


def lazy_assets(vendor_prefix: str) -> dict[str, list[str]]:
    """Assets the page loads after its first paint: the marker clustering plugin (static/map/projects.js)."""
    folder = f"{vendor_prefix}/leaflet.markercluster"
    return {"js": [f"{folder}/leaflet.markercluster.js"],
            "css": [f"{folder}/MarkerCluster.css", f"{folder}/MarkerCluster.Default.css"]}


_INLINE_SCRIPT = re.compile(r"<script>.*?</script>", re.S)
_LEAFLET_SCRIPT = re.compile(r'<script src="([^"]*/leaflet\.js)"></script>\s*')
_LEAFLET_CSS = re.compile(r'<link rel="stylesheet" href="([^"]*/leaflet\.css)"/>\s*')
_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>', re.S)
