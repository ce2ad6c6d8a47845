/* mapapp canvas choropleth: thousands of units drawn on one canvas, from a geometry pack.
 *
 * Measured: 11,163 communes as Leaflet polygons took seconds to build, project and
 * draw, and tracing 125,000 vertices with moveTo/lineTo took 300 ms a frame. Here each
 * unit's rings become SVG path data straight from the pack's integers (relative "l"
 * commands in grid units: the pack's deltas as they are); a style change joins them
 * into one Path2D per style (parsed natively), and a frame fills and strokes those few
 * paths under one canvas transform (grid units -> zoom-0 pixels -> screen). Zoom-0
 * pixel coordinates are kept for the bounding boxes and the hit test.
 * Hover and click find the unit under the pointer with a grid index of bounding boxes
 * and an even-odd point-in-polygon test.
 *
 * An ES module (Leaflet's global L must be loaded first, by a classic script):
 * create(map, pack, handlers) -> a Leaflet layer with
 *   setStyles(styleOf(i)), setGeometry(pack), boundsOf(i), countInView(limit), indexAt(layerPoint)
 * handlers: { hover(i | -1, latlng), click(i, latlng) }
 */

var TILE = 256, EARTH_RADIUS = 6378137, GRID = 64, OUTLINE_WIDTH = 2, OUTLINE_COLOUR = "#333333";

function pathData(polygons) {  // SVG path data of a unit, in the pack's grid units
  var parts = [];
  polygons.forEach(function (polygon) {
    polygon.forEach(function (ring) {
      parts.push("M" + ring[0] + " " + ring[1] + "l" + ring.slice(2).join(" ") + "z");
    });
  });
  return parts.join("");
}

function gridToPixels(pack) {  // [a, bx, by]: zoom-0 pixel x = a * gx + bx, y = -a * gy + by
  var k = TILE * 0.5 / (Math.PI * EARTH_RADIUS);
  return [k * pack.grid, k * pack.origin[0] + TILE / 2, TILE / 2 - k * pack.origin[1]];
}

function ringsOf(pack, geometry) {  // per unit: [Float64Array ring in zoom-0 pixels, ...] and the bounding box
  var k = 0.5 / (Math.PI * EARTH_RADIUS), units = new Array(geometry.length);
  geometry.forEach(function (polygons, i) {
    var rings = [], box = [Infinity, Infinity, -Infinity, -Infinity];
    polygons.forEach(function (polygon) {
      polygon.forEach(function (ring) {
        var out = new Float64Array(ring.length), x = 0, y = 0;
        for (var j = 0; j < ring.length; j += 2) {
          x += ring[j]; y += ring[j + 1];
          var px = TILE * (k * (pack.origin[0] + x * pack.grid) + 0.5);
          var py = TILE * (0.5 - k * (pack.origin[1] + y * pack.grid));
          out[j] = px; out[j + 1] = py;
          if (px < box[0]) box[0] = px; if (py < box[1]) box[1] = py;
          if (px > box[2]) box[2] = px; if (py > box[3]) box[3] = py;
        }
        rings.push(out);
      });
    });
    units[i] = { rings: rings, box: box };
  });
  return units;
}

function gridIndex(units) {  // cells of a GRID x GRID grid over the data -> unit indexes
  var all = [Infinity, Infinity, -Infinity, -Infinity];
  units.forEach(function (u) {
    all[0] = Math.min(all[0], u.box[0]); all[1] = Math.min(all[1], u.box[1]);
    all[2] = Math.max(all[2], u.box[2]); all[3] = Math.max(all[3], u.box[3]);
  });
  var cw = (all[2] - all[0]) / GRID || 1, ch = (all[3] - all[1]) / GRID || 1, cells = {};
  units.forEach(function (u, i) {
    if (!u.rings.length) return;
    for (var cx = Math.floor((u.box[0] - all[0]) / cw); cx <= Math.floor((u.box[2] - all[0]) / cw); cx++) {
      for (var cy = Math.floor((u.box[1] - all[1]) / ch); cy <= Math.floor((u.box[3] - all[1]) / ch); cy++) {
        (cells[cx + "," + cy] = cells[cx + "," + cy] || []).push(i);
      }
    }
  });
  return function (x, y) {
    return cells[Math.floor((x - all[0]) / cw) + "," + Math.floor((y - all[1]) / ch)] || [];
  };
}

function inside(unit, x, y) {  // even-odd rule over every ring (holes and islands included)
  if (x < unit.box[0] || x > unit.box[2] || y < unit.box[1] || y > unit.box[3]) return false;
  var hit = false;
  unit.rings.forEach(function (r) {
    for (var i = 0, j = r.length - 2; i < r.length; j = i, i += 2) {
      if ((r[i + 1] > y) !== (r[j + 1] > y) && x < (r[j] - r[i]) * (y - r[i + 1]) / (r[j + 1] - r[i + 1]) + r[i]) hit = !hit;
    }
  });
  return hit;
}

function styleKey(s) {
  return [s.fillColor, s.fillOpacity, s.color, s.weight, s.dashArray || ""].join("|");
}

// Defined on first use: the page's modules run before Leaflet is loaded (map/live_assets.js).
var Layer = null;

function defineLayer() {
  return L.Canvas.extend({
    initialize: function (pack, handlers) {
      L.Canvas.prototype.initialize.call(this, { padding: 0.3 });
      this._handlers = handlers;
      this._groups = [];
      this._hovered = -1;
      this._afterDraw = [];
      this.setGeometry(pack);
    },

    setGeometry: function (pack) {
      this._pack = pack;
      this._paths = pack.geometry.map(pathData);
      this._outlinePath = new Path2D(pathData(pack.outline));
      this._gridToPixels = gridToPixels(pack);
      this._hit = null;  // built on the first hover, click or focus: not needed to paint
      if (this._styleOf) this.setStyles(this._styleOf);
    },

    _hitTest: function () {  // zoom-0 pixel rings, boxes and a grid index of the units
      if (!this._hit) {
        var units = ringsOf(this._pack, this._pack.geometry);
        this._hit = { units: units, lookup: gridIndex(units) };
      }
      return this._hit;
    },

    setStyles: function (styleOf) {  // group the units by style: one path per group and frame
      this._styleOf = styleOf;
      var groups = {}, byObject = new Map(), order = [], last = [];
      for (var i = 0; i < this._paths.length; i++) {
        var style = styleOf(i), group = byObject.get(style);  // units often share one style object
        if (!group) {
          var key = styleKey(style);
          group = groups[key];
          if (!group) { group = groups[key] = { style: style, units: [] }; (style.front ? last : order).push(group); }
          byObject.set(style, group);
        }
        group.units.push(i);
      }
      var paths = this._paths;
      this._groups = order.concat(last);  // outlined units (threshold, focus) drawn last, on top
      this._groups.forEach(function (group) {
        group.path = new Path2D(group.units.map(function (i) { return paths[i]; }).join(""));
      });
      this._requestRedraw(null);
    },

    countInView: function (limit) {  // how many units the view shows, counted up to limit
      var map = this._map, scale = Math.pow(2, map.getZoom()), b = map.getPixelBounds(), units = this._hitTest().units;
      var x0 = b.min.x / scale, y0 = b.min.y / scale, x1 = b.max.x / scale, y1 = b.max.y / scale, count = 0;
      for (var i = 0; i < units.length && count < limit; i++) {
        var box = units[i].box;
        if (box[0] <= x1 && box[2] >= x0 && box[1] <= y1 && box[3] >= y0) count += 1;
      }
      return count;
    },

    boundsOf: function (i) {
      var b = this._hitTest().units[i].box;
      return L.latLngBounds(this._map.unproject([b[0], b[3]], 0), this._map.unproject([b[2], b[1]], 0));
    },

    // Leaflet asks for a redraw on every move, zoom and resize: draw once per frame at most.
    _updatePaths: function () { this._requestRedraw(); },

    _requestRedraw: function () {
      if (this._map && !this._redrawRequest) this._redrawRequest = L.Util.requestAnimFrame(this._redraw, this);
    },

    _redraw: function () {
      this._redrawRequest = null;
      if (!this._map || !this._ctx || !this._bounds) return;
      var ctx = this._ctx, b = this._bounds, size = b.getSize();
      ctx.clearRect(b.min.x, b.min.y, size.x, size.y);
      this._draw();
      var waiting = this._afterDraw;
      this._afterDraw = [];
      waiting.forEach(function (fn) { fn(); });
    },

    whenDrawn: function (fn) {  // call fn once the next frame is on the canvas
      this._afterDraw.push(fn);
      this._requestRedraw();
    },

    _draw: function () {
      if (!this._paths || !this._bounds) return;
      var ctx = this._ctx, map = this._map, scale = Math.pow(2, map.getZoom()), origin = map.getPixelOrigin();
      var g = this._gridToPixels;
      ctx.save();
      ctx.translate(-origin.x, -origin.y);
      ctx.scale(scale, scale);
      ctx.transform(g[0], 0, 0, -g[0], g[1], g[2]);
      scale *= g[0];  // screen pixels per grid unit: line widths and dashes are divided by it
      // Zoomed out, thousands of white boundaries would wash the colours out: thinner, fainter lines.
      var thin = Math.min(1, Math.max(0.15, (map.getZoom() - 4) / 6));
      this._groups.forEach(function (group) {
        var s = group.style;
        ctx.globalAlpha = s.fillOpacity;
        ctx.fillStyle = s.fillColor;
        ctx.fill(group.path, "evenodd");
        ctx.globalAlpha = 1;
        ctx.lineWidth = (s.front ? s.weight : s.weight * Math.max(thin, 0.3)) / scale;
        ctx.globalAlpha = s.front ? 1 : Math.min(1, thin * 1.5);
        ctx.strokeStyle = s.color;
        ctx.setLineDash(s.dashArray ? String(s.dashArray).split(/[ ,]+/).map(function (v) { return Number(v) / scale; }) : []);
        ctx.lineJoin = "round";
        ctx.stroke(group.path);
      });
      this._drawOutline(ctx, scale);
      ctx.restore();
    },

    _drawOutline: function (ctx, scale) {  // the area's outline, over the units
      ctx.setLineDash([]);
      ctx.globalAlpha = 1;
      ctx.lineWidth = OUTLINE_WIDTH / scale;
      ctx.strokeStyle = OUTLINE_COLOUR;
      ctx.stroke(this._outlinePath);
    },

    bounds: function () {  // the whole area: the pack's [west, south, east, north]
      var b = this._pack.bbox;
      return L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
    },

    _unitAt: function (e) {
      return this.indexAt(this._map.mouseEventToLayerPoint(e));
    },

    indexAt: function (layerPoint) {  // the unit under a layer point, or -1
      var map = this._map, scale = Math.pow(2, map.getZoom()), origin = map.getPixelOrigin();
      var x = (layerPoint.x + origin.x) / scale, y = (layerPoint.y + origin.y) / scale;
      var hit = this._hitTest(), candidates = hit.lookup(x, y), units = hit.units;
      for (var c = candidates.length - 1; c >= 0; c--) {
        if (inside(units[candidates[c]], x, y)) return candidates[c];
      }
      return -1;
    },

    _onMouseMove: function (e) {
      if (!this._map || this._map.dragging.moving() || this._map._animatingZoom) return;
      var i = this._unitAt(e);
      L.DomUtil[i >= 0 ? "addClass" : "removeClass"](this._container, "leaflet-interactive");
      this._hovered = i;
      this._handlers.hover(i, this._map.mouseEventToLatLng(e));
    },

    _handleMouseOut: function () {
      this._hovered = -1;
      this._handlers.hover(-1, null);
    },

    _onClick: function (e) {
      if (e.type !== "click" || (this._map.dragging && this._map.dragging.moved && this._map.dragging.moved())) return;
      var i = this._unitAt(e);
      if (i >= 0) {
        L.DomEvent.stopPropagation(e);
        this._handlers.click(i, this._map.mouseEventToLatLng(e));
      }
    }
  });
}

export function create(map, pack, handlers) {
  Layer = Layer || defineLayer();
  const layer = new Layer(pack, handlers);
  map.addLayer(layer);
  return layer;
}
