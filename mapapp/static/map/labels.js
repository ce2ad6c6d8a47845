/* Commune names on the map, as in the exports: short names ("TT. Khe Sanh") at each unit's
 * inner point, computed once on the server (/api/points, cached by boundary checksum).
 *
 * Never before the first paint: the points are fetched and the names placed after the units
 * are on screen (one frame later). Placement is greedy, as the export's: the units whose
 * name is largest for them first (they have the fewest places), at the point, else at
 * offsets around it whose centre is still inside the unit, else (a second round) inside its
 * bounding box; a name that would overlap another, a map control or the edge of the map is
 * left out. With more than config.labelsMaxInView units on screen (LABELS_MAX_IN_VIEW, 600:
 * the country seen whole) no name could be read: none is drawn, nor are the points fetched,
 * until the user zooms in. Toggles: app.state.labels,
 * app.state.label_values (the value under the name), both kept in the query string.
 *
 * body[data-labels] says how many names are drawn (for tests), once placed.
 */
import { app, geographyYear, mark, showError, versionOf } from "./state.js";
import * as units from "./units_layer.js";
import { unitKey } from "./unit_view.js";

const GAP = 2;  // pixels kept free between two names
const pointRequests = {};  // version id -> Promise<points>
let pane = null, points = null, pointsVersion = null, spans = {}, drawQueued = false;

export function loadPoints(version) {  // a version's label points, fetched once
  if (!pointRequests[version.id]) {
    const url = app.config.api + "/points?version=" + encodeURIComponent(version.id) + "&v=" + version.checksum;
    pointRequests[version.id] = fetch(url).then(function (r) {
      if (!r.ok) throw new Error("points " + r.status);
      return r.json();
    });
  }
  return pointRequests[version.id];
}

export function addLabelLayer(map) {
  pane = map.createPane("mapapp-labels");  // above the units (400), under markers (600) and popups
  pane.setAttribute("aria-hidden", "true");  // the ranking and the tooltips carry the names for screen readers
  map.on("zoomstart", function () { pane.classList.add("moving"); });
  map.on("moveend resize", function () {
    if (pointsVersion === units.builtVersion()) queueDraw(); else if (app.current) refreshLabels();
  });
}

export function refreshLabels() {  // after a paint: the version's points, then the names
  const version = versionOf(geographyYear());
  if (!app.state.labels || !version) { clear(); return; }
  if (pointsVersion === version.id) { queueDraw(); return; }
  // A country seen whole: no name would fit, so nothing is fetched until the user zooms in.
  if (crowded()) { clear(); return; }
  loadPoints(version).then(function (body) {
    if (pointsVersion !== version.id) { clear(); points = body; pointsVersion = version.id; }
    queueDraw();
  }).catch(showError);
}

function crowded() {
  const most = app.config.labelsMaxInView, on = units.unitsInView(most + 1) > most;
  if (on) document.body.setAttribute("data-labels-crowded", "1"); else document.body.removeAttribute("data-labels-crowded");
  return on;
}

export function redrawLabels() { queueDraw(); }  // something over the map (the legend) changed size

function queueDraw() {  // on the next frame after the map's own drawing
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(function () { setTimeout(function () { drawQueued = false; draw(); }, 0); });
}

function clear() {
  Object.keys(spans).forEach(function (key) { spans[key].remove(); });
  spans = {};
  document.body.setAttribute("data-labels", "0");
}

function labelText(i) {
  const name = points["short"][i];
  if (!app.state.label_values || !app.current) return name;
  const record = app.current.byKey[unitKey({ code: points.code[i], valid_from: points.valid_from[i] })];
  return record && record.value !== null ? name + "\n" + record.value_text : name;
}

function spanFor(i, text) {
  let span = spans[i];
  if (!span) {
    span = L.DomUtil.create("div", "mapapp-label", pane);
    span.setAttribute("data-code", points.code[i]);
    spans[i] = span;
  }
  if (span.textContent !== text) span.textContent = text;
  return span;
}

function obstacles() {  // the map's controls (legend, zoom, scale) and the search box, in container pixels
  const map = app.map, box = map.getContainer().getBoundingClientRect();
  const els = Array.prototype.slice.call(map.getContainer().querySelectorAll(".leaflet-control"));
  const search = document.getElementById("search-form");
  if (search) els.push(search);
  return els.map(function (el) {
    const r = el.getBoundingClientRect();
    return [r.left - box.left, r.top - box.top, r.right - box.left, r.bottom - box.top];
  }).filter(function (r) { return r[2] > r[0] && r[3] > r[1]; });
}

function overlaps(a, b) { return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]; }

function offsets(w, h) {  // candidate centres around the point, nearest first (as the export's)
  const out = [[0, 0]];
  [1.0, 1.9].forEach(function (step) {
    const dx = (w / 2 + GAP) * step, dy = (h / 2 + GAP) * step;
    out.push([0, dy], [0, -dy], [dx, 0], [-dx, 0], [dx, dy], [-dx, dy], [dx, -dy], [-dx, -dy]);
  });
  return out;
}

function candidatesInView() {  // [{i, x, y, box}] of the units whose point is on screen
  const map = app.map, size = map.getSize(), found = [];
  for (let i = 0; i < points.code.length; i++) {
    if (points.lon[i] === null) continue;
    const p = map.latLngToContainerPoint([points.lat[i], points.lon[i]]);
    if (p.x < 0 || p.y < 0 || p.x > size.x || p.y > size.y) continue;
    const bounds = units.unitBounds(points.code[i]);
    if (!bounds) continue;
    const nw = map.latLngToContainerPoint(bounds.getNorthWest()), se = map.latLngToContainerPoint(bounds.getSouthEast());
    found.push({ i: i, x: p.x, y: p.y, box: [nw.x, nw.y, se.x, se.y] });
  }
  return found;
}

function place(item, w, h, placed, size, inside) {  // the box of the first free candidate, or null
  // inside: its centre inside the unit; else inside the unit's bounding box (a small unit's
  // name beside it rather than none)
  const map = app.map, code = points.code[item.i], list = offsets(w, h), unitBox = item.box;
  for (let k = 0; k < list.length; k++) {
    const cx = item.x + list[k][0], cy = item.y + list[k][1];
    const box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
    if (box[0] < 0 || box[1] < 0 || box[2] > size.x || box[3] > size.y) continue;
    if (placed.some(function (other) { return overlaps(box, other); })) continue;
    if (k > 0 && inside && !units.unitContains(code, map.containerPointToLayerPoint([cx, cy]))) continue;
    if (!inside && (cx < unitBox[0] || cx > unitBox[2] || cy < unitBox[1] || cy > unitBox[3])) continue;
    return box;
  }
  return null;
}

function draw() {
  if (!pane) return;
  pane.classList.remove("moving");
  if (!app.state.labels || !points || pointsVersion !== units.builtVersion()) { clear(); return; }
  if (crowded()) { clear(); return; }
  const items = candidatesInView();
  const keep = {};
  items.forEach(function (item) {
    item.span = spanFor(item.i, labelText(item.i));
    item.span.classList.remove("small");
    item.span.style.display = "";
    item.span.style.visibility = "hidden";
    keep[item.i] = true;
  });
  Object.keys(spans).forEach(function (key) { if (!keep[key]) { spans[key].remove(); delete spans[key]; } });
  items.forEach(function (item) { item.w = item.span.offsetWidth; item.h = item.span.offsetHeight; });  // one layout
  // The hardest first: units whose name is large for them (small units, long names).
  items.forEach(function (item) {
    const b = item.box;
    item.crowding = item.w * item.h / Math.max(1, (b[2] - b[0]) * (b[3] - b[1]));
  });
  items.sort(function (a, b) { return b.crowding - a.crowding; });
  const size = app.map.getSize(), placed = obstacles();
  let count = 0;
  [true, false].forEach(function (inside) {
    items.forEach(function (item) {
      if (item.placed) return;
      const box = place(item, item.w + GAP, item.h + GAP, placed, size, inside);
      if (!box) { item.span.style.display = "none"; return; }
      placed.push(box);
      item.placed = true;
      item.span.style.display = "";
      item.span.style.visibility = "";
      L.DomUtil.setPosition(item.span, app.map.containerPointToLayerPoint([box[0] + GAP / 2, box[1] + GAP / 2]));
      count += 1;
    });
  });
  // A name that fits nowhere gets one more try in a smaller size, beside its unit if need be,
  // as a cartographer would letter a small commune, rather than leaving it unnamed.
  items.forEach(function (item) {
    if (item.placed) return;
    item.span.classList.add("small");
    item.span.style.display = "";
    const box = place(item, item.span.offsetWidth + GAP, item.span.offsetHeight + GAP, placed, size, false);
    if (!box) { item.span.style.display = "none"; item.span.classList.remove("small"); return; }
    placed.push(box);
    item.placed = true;
    item.span.style.visibility = "";
    L.DomUtil.setPosition(item.span, app.map.containerPointToLayerPoint([box[0] + GAP / 2, box[1] + GAP / 2]));
    count += 1;
  });
  document.body.setAttribute("data-labels", String(count));
  mark("labels");
}
