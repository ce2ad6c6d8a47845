/* The map page's shared state, and the view's query string.
 *
 * `app` is the one object the page's modules share: the page config (#mapapp-config),
 * its strings (t), the view state (app.state, kept in the query string, so every view
 * is a shareable link), the Leaflet map, and the last values payload painted
 * (app.current). main.js fills it at start; the controls and the focus change app.state.
 */
export const app = { config: null, t: null, state: null, map: null, current: null };

export function init(config, map) {
  app.config = config;
  app.t = config.strings;
  app.state = Object.assign({}, config.state);
  app.map = map;
}

export function queryString(state) {  // of app.state, or of another state
  state = state || app.state;
  const params = new URLSearchParams();
  params.set("indicator", state.indicator);
  params.set("year", state.year);
  if (state.method !== "quantiles") params.set("method", state.method);
  if (Number(state.k) !== 5) params.set("k", state.k);
  if (state.classes && state.classes !== "auto") params.set("classes", state.classes);
  if (state.breaks && state.breaks.length) params.set("breaks", state.breaks.join(","));
  if (state.palette) params.set("palette", state.palette);
  if (state.lang !== "vi") params.set("lang", state.lang);
  if (!state.projects) params.set("projects", "0");
  if (state.units_year) params.set("units_year", state.units_year);
  if (state.compare) params.set("compare", state.compare);
  if (state.min !== null && state.min !== undefined) params.set("min", state.min);
  if (state.max !== null && state.max !== undefined) params.set("max", state.max);
  if (state.focus) params.set("focus", state.focus);
  if (state.circles === true || state.circles === false) params.set("circles", state.circles ? "1" : "0");
  if (!state.labels) params.set("labels", "0");
  if (state.label_values) params.set("label_values", "1");
  return params.toString();
}

export function viewQuery(state) {  // the view without page-only state (projects layer, focused commune, labels)
  const params = new URLSearchParams(queryString(state));
  ["projects", "focus", "labels", "label_values"].forEach(function (key) { params.delete(key); });
  return params.toString();
}

export function langQuery() {  // the same view in the other language
  const params = new URLSearchParams(queryString());
  if (app.state.lang === "vi") params.set("lang", "en"); else params.delete("lang");
  return params.toString();
}

export function versionOf(year) {
  return app.config.versions[String(year)];
}

export function geographyYear() {  // the year whose units the view is drawn on
  const state = app.state;
  if (state.units_year) return Number(state.units_year);
  return state.compare ? Math.max(Number(state.year), Number(state.compare)) : Number(state.year);
}

export function mark(name) {  // performance marks, read by bench/bench_scale.py
  if (window.performance && performance.mark) performance.mark("mapapp:" + name);
}

export function showError(err) {
  document.getElementById("status").textContent = app.t.error + ": " + err.message;
}
