/* Geometry and values loading.
 *
 * Geometry is fetched once per boundary version and level of detail and kept (packs.js);
 * a year or indicator change fetches only the small values payload.
 */
import * as packs from "../packs.js";
import { app, viewQuery } from "./state.js";

export const geometryRequests = {};  // "version/level" -> Promise<geometry pack>

export function geometry(version, level) {  // the raw pack of a level, fetched once
  return packs.load(geometryRequests, app.config.api, version, level || 0);
}

export function fetchValues() {
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
