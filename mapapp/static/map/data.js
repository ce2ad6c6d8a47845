/* Geometry and values loading.
 *
 * Geometry is fetched once per boundary version and level of detail and kept (packs.js);
 * a year or indicator change fetches only the small values payload.
 */
import * as packs from "../packs.js";
import { app, viewQuery } from "./state.js";

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

export function fetchValues() {
  const first = inlineBlock("mapapp-first-values");
  if (first) return Promise.resolve(packs.recordsFromColumns(first));
  return fetch(app.config.api + "/values?" + viewQuery() + "&format=columns").then(function (r) {
    return r.json().then(function (body) {
      if (!r.ok) throw new Error(body.error || ("values " + r.status));
      return packs.recordsFromColumns(body);
    });
  });
}

export function fetchProjects() {
  if (!app.state.projects) return Promise.resolve(null);
  return fetch(app.config.api + "/projects?year=" + app.state.year).then(function (r) { return r.json(); });
}
