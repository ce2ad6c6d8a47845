/* Proportional circles (area ∝ value), shared by the map page and the side-by-side page.
 *
 * A scale is a values payload's `circles` (the same one the exports use): the largest value
 * gets max_radius_px, any other max × √(value / max). Records carry `anchor` ([lon, lat]) and
 * `circle` (the value drawn).
 */
import { escapeHtml } from "./html.js";

let ExactCircle = null;

// Leaflet rounds a circle marker's radius to whole pixels (18.3 px → 18: 3.5 % of the area);
// the SVG path is drawn here with the exact radius, so areas stay proportional to the values.
function exactCircle() {
  if (!ExactCircle) {
    ExactCircle = L.CircleMarker.extend({
      _updatePath: function () {
        if (!(this._renderer instanceof L.SVG) || this._empty()) { L.CircleMarker.prototype._updatePath.call(this); return; }
        const p = this._point, r = this._radius, arc = "a" + r + "," + r + " 0 1,0 ";
        this._renderer._setPath(this, "M" + (p.x - r) + "," + p.y + arc + (r * 2) + ",0 " + arc + (-r * 2) + ",0 ");
      }
    });
  }
  return ExactCircle;
}

export function circlePane(map) {  // above the units, under the names
  if (!map.getPane("mapapp-circles")) map.createPane("mapapp-circles").style.zIndex = 440;
}

export function circleRadius(value, scale) {
  if (value === null || value === undefined || value <= 0 || !scale.max_value) return 0;
  return scale.max_radius_px * Math.sqrt(value / scale.max_value);
}

/* A feature group of the records' circles on `map`, largest below.
 * options: renderer (a canvas for thousands), weight, tooltip(record) -> HTML. */
export function drawCircles(map, records, scale, options) {
  circlePane(map);
  const layer = L.featureGroup().addTo(map);
  const drawn = records.filter(function (r) { return r.anchor && circleRadius(r.circle, scale) > 0; });
  drawn.sort(function (a, b) { return b.circle - a.circle; });  // small circles on top of big ones
  const Circle = exactCircle();
  drawn.forEach(function (record) {
    const marker = new Circle([record.anchor[1], record.anchor[0]], {
      pane: "mapapp-circles", renderer: options.renderer, radius: circleRadius(record.circle, scale),
      color: "#ffffff", weight: options.weight || 1, fillColor: scale.color, fillOpacity: 0.62, className: "mapapp-circle"
    });
    marker.bindTooltip(function () { return options.tooltip(record); }, { sticky: true, className: "mapapp-tooltip" });
    marker.on("add", function () {
      const el = marker.getElement();
      if (el) { el.setAttribute("data-code", record.code); el.setAttribute("data-value", String(record.circle)); }
    });
    layer.addLayer(marker);
  });
  return layer;
}

export function circleLegendHtml(scale) {  // nested reference circles with their values
  if (!scale || !scale.legend.length) return "";
  const r0 = scale.max_radius_px, size = 2 * r0 + 2;
  let shapes = "", lastY = -Infinity, bottom = size;
  scale.legend.forEach(function (item) {  // largest first: its top is the highest
    const r = circleRadius(item.value, scale), cy = size - 1 - r, top = cy - r;
    const textY = Math.max(top + 4, lastY + 12);  // value labels never overlap, however small the circles
    lastY = textY; bottom = Math.max(bottom, textY + 3);
    shapes += '<circle cx="' + (r0 + 1) + '" cy="' + cy + '" r="' + r + '" data-value="' + item.value + '" fill="none" stroke="#444"></circle>' +
      '<polyline points="' + (r0 + 1) + "," + top + " " + (size + 4) + "," + top + " " + (size + 8) + "," + (textY - 4) +
      '" fill="none" stroke="#999" stroke-dasharray="2 2"></polyline>' +
      '<text x="' + (size + 10) + '" y="' + textY + '">' + escapeHtml(item.text) + "</text>";
  });
  const svg = '<svg class="circle-legend" width="' + (size + 70) + '" height="' + bottom + '" role="img" aria-label="' +
    escapeHtml(scale.note) + '">' + shapes + "</svg>";
  return '<div class="legend-circles"><p class="legend-circles-title">' + escapeHtml(scale.title) + "</p>" + svg +
    '<p class="legend-unit">' + escapeHtml(scale.note) + "</p></div>";
}
