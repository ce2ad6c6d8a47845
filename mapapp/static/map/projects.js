/* The projects layer: markers (clustered when the plugin is loaded) of the year's projects.
 *
 * Leaflet.markercluster is not needed for the first paint (the projects follow the map), so
 * it is loaded with the first projects (app.config.lazyAssets), and the plain layer group the
 * page starts with is swapped for a cluster group then.
 */
import { escapeHtml, safeUrl } from "../html.js";
import { addScript, addStylesheet } from "./live_assets.js";
import { app } from "./state.js";

let projectLayer = null;
let clusterPlugin = null;  // Promise: the plugin loaded (or failed: the markers stay unclustered)

function loadClusterPlugin() {
  if (clusterPlugin) return clusterPlugin;
  const assets = app.config.lazyAssets || { js: [], css: [] };
  assets.css.forEach(addStylesheet);
  clusterPlugin = Promise.all(assets.js.map(function (src) {
    return addScript(src).catch(function () { /* unclustered markers */ });
  })).then(function () {
    if (!L.markerClusterGroup) return;
    const clustered = L.markerClusterGroup({ showCoverageOnHover: false });
    if (app.map.hasLayer(projectLayer)) { app.map.removeLayer(projectLayer); app.map.addLayer(clustered); }
    projectLayer = clustered;
  });
  return clusterPlugin;
}

export function addProjectLayer(map, shown) {
  projectLayer = L.markerClusterGroup ? L.markerClusterGroup({ showCoverageOnHover: false }) : L.layerGroup();
  if (shown) map.addLayer(projectLayer);
}

export function showProjects(shown) {
  if (shown) app.map.addLayer(projectLayer); else app.map.removeLayer(projectLayer);
}

function popupHtml(p, site) {
  const t = app.t;
  let html = "<strong>" + escapeHtml(p.name) + "</strong><br>" +
    escapeHtml(t.donor) + ": " + escapeHtml(p.donor) + "<br>" +
    escapeHtml(t.sector) + ": " + escapeHtml(p.sector) + "<br>" +
    escapeHtml(t.years) + ": " + escapeHtml(p.years_text) + "<br>" +
    escapeHtml(t.budget) + ": " + escapeHtml(p.budget) + "<br>" +
    escapeHtml(t.communes) + ": " + escapeHtml(site.name) +
    (site.villages ? " (" + escapeHtml(site.villages) + ")" : "") + "<br><small>" +
    escapeHtml(t.source) + ": " + escapeHtml(p.source) + "</small>";
  const url = safeUrl(p.source_url.split(" ; ")[0]);
  if (url) html += '<br><a href="' + escapeHtml(url) + '" target="_blank" rel="noopener noreferrer">' + escapeHtml(url) + "</a>";
  return html;
}

export function paintProjects(payload) {  // payload: /api/projects, or null when the layer is off
  if (payload) return loadClusterPlugin().then(function () { fillProjects(payload); });
  projectLayer.clearLayers();
}

function fillProjects(payload) {
  projectLayer.clearLayers();
  payload.projects.forEach(function (p) {
    p.sites.forEach(function (site) {
      const marker = L.marker([site.lat, site.lon], { title: p.name });
      marker.bindPopup(popupHtml(p, site), { maxWidth: 320 });
      projectLayer.addLayer(marker);
    });
  });
}
