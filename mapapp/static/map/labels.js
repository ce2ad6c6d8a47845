/* Commune names on the map, as in the exports: short names ("TT. Khe Sanh") at each unit's
 * inner point, computed once on the server (/api/points, cached by boundary checksum), placed
 * by ../name_placement.js (as on the side-by-side page).
 *
 * Never before the first paint: the points are fetched and the names placed after the units
 * are on screen (one frame later). With more than config.labelsMaxInView units on screen
 * (LABELS_MAX_IN_VIEW, 600: the country seen whole) no name could be read: none is drawn, nor
 * are the points fetched, until the user zooms in. Toggles: app.state.labels,
 * app.state.label_values (the value under the name), both kept in the query string.
 *
 * body[data-labels] says how many names are drawn (for tests), once placed.
 */
import { obstacleBoxes, createNames, loadPoints as fetchPoints } from "../name_placement.js";
import { app, geographyYear, mark, showError, versionOf } from "./state.js";
import * as units from "./units_layer.js";
import { unitKey } from "./unit_view.js";

const pointRequests = {};  // version id -> Promise<points>
let names = null, points = null, pointsVersion = null, drawQueued = false;

export function loadPoints(version) { return fetchPoints(app.config.api, version, pointRequests); }

export function addLabelLayer(map) {  // above the units (400), under markers (600) and popups
  names = createNames(map, "mapapp-labels", { bounds: units.unitBounds, contains: units.unitContains });
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
  requestAnimationFrame(function () { setTimeout(function () { drawQueued = false; drawLabels(); }, 0); });
}

function clear() {
  if (names) names.clear();
  document.body.setAttribute("data-labels", "0");
}

function labelText(i) {
  const name = points["short"][i];
  if (!app.state.label_values || !app.current) return name;
  const record = app.current.byKey[unitKey({ code: points.code[i], valid_from: points.valid_from[i] })];
  return record && record.value !== null ? name + "\n" + record.value_text : name;
}

function entries() {  // every point of the version, with its text
  const out = [];
  for (let i = 0; i < points.code.length; i++) {
    out.push({ key: i, code: points.code[i], text: labelText(i), lat: points.lat[i], lon: points.lon[i] });
  }
  return out;
}

export function drawLabels() {  // now (not on the next frame): what else is on the map has been drawn
  if (!names) return;
  if (!app.state.labels || !points || pointsVersion !== units.builtVersion()) { clear(); return; }
  if (crowded()) { clear(); return; }
  const search = document.getElementById("search-form");  // over the map, not a Leaflet control
  const count = names.draw(entries(), obstacleBoxes(app.map, search ? [search] : []));
  document.body.setAttribute("data-labels", String(count));
  mark("labels");
}
