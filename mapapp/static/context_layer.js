/* A map's surroundings (the /api/context answer), muted under the units: neighbouring districts
 * and provinces (grey names), the national border with "LÀO / LAOS" beyond it, the towns, and on
 * a map of the whole country the Hoàng Sa and Trường Sa archipelagos (points and names).
 * Shared by the map page (map/context.js) and the side-by-side page (compare.js). Areas and lines
 * go in a pane below the units; towns and archipelagos above them. Every name is escaped.
 *
 *   drawContext(map, ctx, {laosLabel, lang}) -> {layers: count drawn, islands: LatLngBounds or null}
 *     (islands: where the archipelagos and their names are, for a first view that must show them)
 */
import { escapeHtml } from "./html.js";

function panes(map) {
  if (!map.getPane("mapapp-context")) {
    map.createPane("mapapp-context").style.zIndex = 350;  // below the units (overlay pane: 400)
    const top = map.createPane("mapapp-context-top");
    top.style.zIndex = 560;  // above the units, below markers and popups
    top.style.pointerEvents = "none";
  }
}

// Names are plain elements in their pane, neither markers nor tooltips: those are the projects'
// and the units' (and what the page's tests look for). Hidden while a zoom animates.
let Label = null;

function label(latlng, text, className) {
  if (!Label) {
    Label = L.Layer.extend({
      initialize: function (where, html, cls) { this._where = L.latLng(where); this._html = html; this._cls = cls; },
      onAdd: function (map) {
        this._el = L.DomUtil.create("div", "mapapp-context-label leaflet-zoom-hide " + this._cls, map.getPane("mapapp-context-top"));
        this._el.innerHTML = this._html;
        map.on("zoomend viewreset", this._place, this);
        this._place();
      },
      onRemove: function (map) { L.DomUtil.remove(this._el); map.off("zoomend viewreset", this._place, this); },
      _place: function () { L.DomUtil.setPosition(this._el, this._map.latLngToLayerPoint(this._where)); }
    });
  }
  // "Quần đảo Hoàng Sa (TP. Đà Nẵng)": the parenthesis on a second line keeps the name narrow.
  const lines = className.indexOf("context-archipelago") >= 0 ? text.split(" (") : [text];
  const html = lines.map(function (line, i) { return escapeHtml(i ? "(" + line : line); }).join("<br>");
  return new Label(latlng, "<span>" + html + "</span>", className);
}

function drawAreas(ctx, group, laosLabel) {
  const muted = { pane: "mapapp-context", interactive: false };
  ctx.districts.forEach(function (d) {
    L.geoJSON(d.geometry, Object.assign({ style: { color: "#c4c4c4", weight: 0.8, fillColor: "#f4f4f1", fillOpacity: 1, className: "mapapp-context-district" } }, muted)).addTo(group);
    if (d.label) group.addLayer(label([d.label[1], d.label[0]], d.name, "context-district-name"));
  });
  ctx.provinces.forEach(function (p) {
    L.geoJSON(p.geometry, Object.assign({ style: { color: "#8c8c8c", weight: 1.6, fill: !ctx.districts.length, fillColor: "#f4f4f1", fillOpacity: 1, className: "mapapp-context-province" } }, muted)).addTo(group);
  });
  if (ctx.border && ctx.border.coordinates && ctx.border.coordinates.length) {
    L.geoJSON(ctx.border, Object.assign({ style: { color: "#5a5a5a", weight: 2.2, dashArray: "7 3 2 3", className: "mapapp-context-border" } }, muted)).addTo(group);
  }
  if (ctx.laos_label) group.addLayer(label([ctx.laos_label[1], ctx.laos_label[0]], laosLabel, "context-country"));
}

function drawPoints(ctx, group, lang) {
  ctx.towns.forEach(function (town) {
    L.circleMarker([town.lat, town.lon], { pane: "mapapp-context-top", radius: 3.5, weight: 1.2, color: "#ffffff", fillColor: "#333333", fillOpacity: 1, interactive: false, className: "mapapp-context-town" }).addTo(group);
    group.addLayer(label([town.lat, town.lon], town.name, "context-town"));
  });
  ctx.archipelagos.forEach(function (arch) {
    arch.islands.forEach(function (island) {
      L.circleMarker([island.lat, island.lon], { pane: "mapapp-context-top", radius: 2.5, weight: 1, color: "#1f3b57", fillColor: "#1f3b57", fillOpacity: 1, interactive: false, className: "mapapp-context-island" }).addTo(group);
    });
    const name = lang === "en" ? arch.name_en : arch.name_vi;
    group.addLayer(label([arch.label[1], arch.label[0]], name, "context-archipelago align-" + (arch.align || "center")));
  });
}

const NAME_SPAN_DEG = 2.5;  // about how far a name reaches from its label point on a national map

function archipelagoBounds(ctx) {
  const points = [];
  ctx.archipelagos.forEach(function (arch) {
    arch.islands.forEach(function (island) { points.push([island.lat, island.lon]); });
    const reach = arch.align === "left" ? NAME_SPAN_DEG : arch.align === "right" ? -NAME_SPAN_DEG : 0;
    points.push([arch.label[1], arch.label[0]], [arch.label[1], arch.label[0] + reach]);
  });
  return points.length ? L.latLngBounds(points) : null;
}

export function drawContext(map, ctx, options) {
  panes(map);
  const group = L.layerGroup().addTo(map);
  drawAreas(ctx, group, options.laosLabel);
  drawPoints(ctx, group, options.lang);
  return { layers: ctx.districts.length + ctx.provinces.length + ctx.archipelagos.length, islands: archipelagoBounds(ctx) };
}
