/* The map's surroundings, muted under the units: neighbouring districts and provinces (grey
 * names), the national border with "LÀO / LAOS" beyond it, the towns, and on a map of the
 * whole country the Hoàng Sa and Trường Sa archipelagos (points and names).
 *
 * Loaded once, after the first paint (/api/context, cached by its ETag), so it never delays
 * the map. Areas and lines go in a pane below the units; towns and archipelagos above them.
 */
import { escapeHtml } from "../html.js";
import { app } from "./state.js";

function panes(map) {
  if (!map.getPane("mapapp-context")) {
    map.createPane("mapapp-context").style.zIndex = 350;  // below the units (overlay pane: 400)
    const top = map.createPane("mapapp-context-top");
    top.style.zIndex = 560;  // above the units, below markers and popups
    top.style.pointerEvents = "none";
  }
}

function label(latlng, text, className) {
  return L.marker(latlng, {
    pane: "mapapp-context-top", interactive: false, keyboard: false,
    icon: L.divIcon({ className: "mapapp-context-label " + className, html: "<span>" + escapeHtml(text) + "</span>", iconSize: null })
  });
}

function drawAreas(map, ctx, group) {
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
  if (ctx.laos_label) group.addLayer(label([ctx.laos_label[1], ctx.laos_label[0]], app.t.laos_label, "context-country"));
}

function drawPoints(ctx, group) {
  ctx.towns.forEach(function (town) {
    L.circleMarker([town.lat, town.lon], { pane: "mapapp-context-top", radius: 3.5, weight: 1.2, color: "#ffffff", fillColor: "#333333", fillOpacity: 1, interactive: false, className: "mapapp-context-town" }).addTo(group);
    group.addLayer(label([town.lat, town.lon], town.name, "context-town"));
  });
  ctx.archipelagos.forEach(function (arch) {
    arch.islands.forEach(function (island) {
      L.circleMarker([island.lat, island.lon], { pane: "mapapp-context-top", radius: 2.5, weight: 1, color: "#1f3b57", fillColor: "#1f3b57", fillOpacity: 1, interactive: false, className: "mapapp-context-island" }).addTo(group);
    });
    const name = app.state.lang === "en" ? arch.name_en : arch.name_vi;
    group.addLayer(label([arch.label[1], arch.label[0]], name, "context-archipelago"));
  });
}

function archipelagoBounds(ctx) {
  const points = [];
  ctx.archipelagos.forEach(function (arch) {
    arch.islands.forEach(function (island) { points.push([island.lat, island.lon]); });
    points.push([arch.label[1], arch.label[0]]);
  });
  return points.length ? L.latLngBounds(points) : null;
}

export function loadContext(map) {  // once, after the first paint; resolves when drawn
  panes(map);
  return fetch(app.config.api + "/context").then(function (r) { return r.json(); }).then(function (ctx) {
    const group = L.layerGroup().addTo(map);
    drawAreas(map, ctx, group);
    drawPoints(ctx, group);
    const islands = archipelagoBounds(ctx);
    // A map of the national territory must show the archipelagos: widen the first view to them.
    if (islands && !app.state.focus && !map.getBounds().contains(islands)) {
      map.fitBounds(map.getBounds().extend(islands), { padding: [10, 10], animate: false });
    }
    document.body.setAttribute("data-context", String(ctx.districts.length + ctx.provinces.length + ctx.archipelagos.length));
  });
}
