/* mapapp map page entry: paints the choropleth on the folium/Leaflet map.
 *
 * Planner tools: boundaries of a later year (units_year), a change view since a base
 * year (compare), a threshold filter (min/max) outlining the matching communes, and
 * the ranking panel beside the map (/ranking.json): clicking a row focuses the commune
 * on the map, clicking a commune selects its row.
 *
 * Modules, by concern: state.js (shared state, query string), data.js (geometry and
 * values), units_layer.js and unit_view.js (the units, their styles and popups),
 * unit_focus.js (fitting and focusing), labels.js (commune names), search.js (finding a
 * commune by name), phone.js (the folding panel on phones), legend.js, ranking_panel.js, focus.js,
 * projects.js, context.js (the surroundings), links.js, update.js (one view change), controls.js; ../packs.js,
 * ../canvas_units.js and ../html.js are shared with the side-by-side page.
 *
 * Hand-over from folium: this module is loaded by a <script type="module"> in the page
 * head (mapapp/mapview.py), so it runs once the document is parsed. Leaflet and the folium
 * start-up script (/map-script/<digest>.js) are not in the page's markup: live_assets.js
 * adds them (config.liveAssets) once the server-drawn first frame is on screen. That script stores the map in
 * window.mapappLeafletMap and dispatches "mapapp:map" on document, and we start with it.
 *
 * Caching: the page loads this entry from /static-v/<digest of the static folder>/, where
 * every file is immutable (mapapp/web/versioned.py); relative imports resolve under the same
 * prefix, so every module is versioned too. Normally the page loads one file instead,
 * /static-v/<digest>/bundle/map/main.js: these modules joined, each in its own function
 * scope (mapapp/web/bundle.py, which says which import/export forms it handles; any other
 * form makes the page load the modules one by one, all named in <link rel="modulepreload">).
 */
import { loadContext } from "./context.js";
import { bindControls } from "./controls.js";
import { geometryRequests } from "./data.js";
import { setFocus } from "./focus.js";
import { addLabelLayer } from "./labels.js";
import { addLegend } from "./legend.js";
import { loadLiveMap } from "./live_assets.js";
import { bindPhonePanel } from "./phone.js";
import { addProjectLayer } from "./projects.js";
import { bindSearch } from "./search.js";
import { app, init, showError } from "./state.js";
import { codeAt, unitBox } from "./unit_focus.js";
import { onSelect, showLevelForZoom } from "./units_layer.js";
import { update } from "./update.js";

function start(config, map) {
  init(config, map);
  map.setMinZoom(app.config.minZoom);
  map.setMaxZoom(16);  // no tile layer to set it, and marker clustering needs it
  addLegend(map);
  addLabelLayer(map);
  addProjectLayer(map, app.state.projects);
  onSelect(function (code) { setFocus(code, false); });
  bindControls();
  bindSearch();
  bindPhonePanel();
  map.on("zoomend", showLevelForZoom);
  // For tests, benchmarks and scripts.
  window.mapapp = { state: app.state, update: update, map: map, geometryRequests: geometryRequests,
                    codeAt: codeAt, unitBox: unitBox };
  // The surroundings follow the first paint: they never delay it.
  framePainted().then(update).then(function () { return loadContext(map); }).catch(showError);
}

// A large map's first frame is an image (present/first_frame.py): let it paint before the long
// work of building the live map takes the page's thread (at most FRAME_WAIT_MS for it to load).
const FRAME_WAIT_MS = 800;

function framePainted() {
  const image = document.querySelector("#map-frame img");
  if (!image) return Promise.resolve();
  const loaded = image.complete ? Promise.resolve() : new Promise(function (resolve) {
    image.addEventListener("load", resolve, { once: true });
    image.addEventListener("error", resolve, { once: true });
    setTimeout(resolve, FRAME_WAIT_MS);
  });
  return loaded.then(function () {
    return new Promise(function (resolve) { requestAnimationFrame(function () { setTimeout(resolve, 0); }); });
  });
}

const config = JSON.parse(document.getElementById("mapapp-config").textContent);
loadLiveMap(config.liveAssets).then(function (map) { start(config, map); }).catch(function (err) {
  // Leaflet did not load: say so under the first frame, which stays.
  const file = err.message.split("?")[0].split("/").pop();
  document.getElementById("status").textContent = config.strings.live_map_failed.replace("{file}", file);
});
