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

// The page keeps the values it has fetched, and fetches the other years of its indicator once
// it is painted (prefetchYears), nearest years first: the slider and ▶ play then repaint with
// no request. A country's answer is 100 KB a year, so it keeps fewer views.
const valuesByView = {};
const KEPT_VIEWS = 200, KEPT_LARGE_VIEWS = 24;

function keptViews() {
  const version = versionOf(geographyYear());
  return version && packs.drawsOnCanvas(version, app.config) ? KEPT_LARGE_VIEWS : KEPT_VIEWS;
}

function valuesOf(query) {  // a promise of the columns answer of a view query, fetched once
  if (!valuesByView[query]) {
    if (Object.keys(valuesByView).length >= keptViews()) Object.keys(valuesByView).forEach(function (k) { delete valuesByView[k]; });
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
  if (first) {
    valuesByView[viewQuery()] = Promise.resolve(first);
    return Promise.resolve(packs.recordsFromColumns(Object.assign({}, first)));
  }
  // The kept answer is shared: each paint gets its own records (paint() adds to the view).
  return valuesOf(viewQuery()).then(function (body) { return packs.recordsFromColumns(Object.assign({}, body)); });
}

export function prefetchYears() {  // the other years of the indicator shown, nearest first, one after another
  const info = app.config.indicators[app.state.indicator] || {}, years = info.years || [];
  const shown = Number(app.state.year);
  return years.filter(function (year) { return year !== shown; })
    .sort(function (a, b) { return Math.abs(a - shown) - Math.abs(b - shown) || b - a; })
    .reduce(function (chain, year) {
      const query = viewQuery(Object.assign({}, app.state, { year: year }));
      return chain.then(function () { return valuesOf(query).catch(function () {}); });
    }, Promise.resolve());
}

export function fetchProjects() {
  if (!app.state.projects) return Promise.resolve(null);
  return fetch(app.config.api + "/projects?year=" + app.state.year).then(function (r) { return r.json(); });
}
