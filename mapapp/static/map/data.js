/* Geometry and values loading.
 *
 * Geometry is fetched once per boundary version and level of detail and kept (packs.js);
 * a year or indicator change fetches only the small values payload.
 */
import * as packs from "../packs.js";
import { app, geographyYear, versionOf, viewQuery } from "./state.js";

export const geometryRequests = {};  // "version/level" -> Promise<geometry pack>

// The page carries its first view's values (and a small map's level-0 pack) in JSON
// blocks: the first paint needs no request. Each block is read once, then removed.
function inlineBlock(id, key) {
  const el = document.getElementById(id);
  if (!el || (key !== undefined && el.dataset.key !== key)) return null;
  el.remove();
  return JSON.parse(el.textContent);
}

export function geometry(version, level) {  // the raw pack of a level, fetched once
  const key = version.id + "/" + (level || 0);
  const first = geometryRequests[key] ? null : inlineBlock("mapapp-first-geometry", key);
  if (first) geometryRequests[key] = Promise.resolve(first);
  return packs.load(geometryRequests, app.config.api, version, level || 0);
}

// A small map keeps the values it has fetched, and fetches the other years of its indicator
// once it is painted (prefetchYears): the slider and ▶ play then repaint with no request.
const valuesByView = {};
const KEPT_VIEWS = 200;

function valuesOf(query) {  // a promise of the columns answer of a view query, fetched once
  if (!valuesByView[query]) {
    if (Object.keys(valuesByView).length >= KEPT_VIEWS) Object.keys(valuesByView).forEach(function (k) { delete valuesByView[k]; });
    valuesByView[query] = fetch(app.config.api + "/values?" + query + "&format=columns").then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || ("values " + r.status));
        return body;
      });
    });
    valuesByView[query].catch(function () { delete valuesByView[query]; });  // asked again next time
  }
  return valuesByView[query];
}

export function fetchValues() {
  const first = inlineBlock("mapapp-first-values");
  if (first) return Promise.resolve(packs.recordsFromColumns(first));
  const query = viewQuery();
  if (!keepsValues()) return fetch(app.config.api + "/values?" + query + "&format=columns").then(function (r) {
    return r.json().then(function (body) {
      if (!r.ok) throw new Error(body.error || ("values " + r.status));
      return packs.recordsFromColumns(body);
    });
  });
  // The kept answer is shared: each paint gets its own records (paint() adds to the view).
  return valuesOf(query).then(function (body) { return packs.recordsFromColumns(Object.assign({}, body)); });
}

function keepsValues() {  // a country's values are 100 KB a year: those are fetched when shown
  const version = versionOf(geographyYear());
  return !!version && !packs.drawsOnCanvas(version, app.config);
}

export function prefetchYears() {  // the other years of the indicator shown, one request after another
  if (!keepsValues()) return Promise.resolve();
  const info = app.config.indicators[app.state.indicator] || {}, years = info.years || [];
  return years.filter(function (year) { return year !== Number(app.state.year); }).reduce(function (chain, year) {
    const query = viewQuery(Object.assign({}, app.state, { year: year }));
    return chain.then(function () { return valuesOf(query).catch(function () {}); });
  }, Promise.resolve());
}

export function fetchProjects() {
  if (!app.state.projects) return Promise.resolve(null);
  return fetch(app.config.api + "/projects?year=" + app.state.year).then(function (r) { return r.json(); });
}
