/* One view change: fetch what it needs, paint the map and the page around it.
 *
 * Geometry is fetched once per boundary version and kept; a year or indicator change
 * fetches only the small values payload and restyles the units (a small map has fetched the
 * indicator's other years once painted: data.js prefetchYears). The projects and the
 * ranking panel follow the map.
 */
import { fetchProjects, fetchValues, geometry, prefetchYears } from "./data.js";
import { paintCircles } from "./circles.js";
import { renderLegend } from "./legend.js";
import { updateLinks } from "./links.js";
import { paintProjects } from "./projects.js";
import { refreshLabels } from "./labels.js";
import { updateRanking } from "./ranking_panel.js";
import { app, geographyYear, mark, showError, versionOf } from "./state.js";
import { fitFrame, focusOnMap } from "./unit_focus.js";
import * as units from "./units_layer.js";

let requestSeq = 0, prefetchTimer = null;
const PREFETCH_DELAY_MS = 400;

function paint(values) {
  const t = app.t;
  app.current = values;
  const byKey = {};
  values.records.forEach(function (r) { byKey[r.code + "@" + r.valid_from] = r; });
  values.byKey = byKey;
  units.paintUnits(values);
  paintCircles(values);
  renderLegend(values);
  syncCirclesControl(values);
  document.getElementById("map-title").textContent = values.title;
  document.title = values.title + " — " + t.app_title;
  const banner = document.getElementById("illustrative-banner");
  if (banner.hidden === values.illustrative) {
    banner.hidden = !values.illustrative;
    app.map.invalidateSize();
  }
  document.getElementById("sources").textContent = values.sources.length
    ? t.source + ": " + values.sources.map(function (s) { return s.title; }).join("; ") : "";
  document.getElementById("status").textContent =
    t.units_count.replace("{n}", values.version.unit_count) + " · " + values.version.label;
  const painted = values.indicator.id + ":" + values.year;
  // Say "painted" once the units are on screen (a canvas draws on the next frame).
  // The names follow in a task of their own, once that frame is shown.
  units.whenDrawn(function () {
    if (app.current !== values) return;
    document.body.setAttribute("data-painted", painted);
    const frame = document.getElementById("map-frame");  // the server's first frame gives way
    if (frame) frame.remove();
    requestAnimationFrame(function () { setTimeout(function () { if (app.current === values) refreshLabels(); }, 0); });
  });
}

function syncCirclesControl(values) {  // the switch says what it does for this indicator
  const box = document.getElementById("circles");
  if (!box) return;
  const kind = values.indicator.kind, t = app.t;
  const offered = !values.change && (kind === "count" || (kind === "rate" && values.records.some(function (r) { return r.numerator !== null && r.numerator !== undefined; })));
  box.closest("label").style.display = offered ? "" : "none";  // the label's flex display beats [hidden]
  box.checked = !!values.circles;
  document.getElementById("circles-label").textContent = kind === "count" ? t.circles_count : t.circles_layer;
}

export function update() {  // app.state changed: redraw; returns a promise of the map drawn
  mark("update");
  const seq = ++requestSeq;
  const version = versionOf(geographyYear());
  updateLinks();
  document.getElementById("year-label").textContent = app.state.year;
  const drawn = Promise.all([geometry(version), fetchValues()]).then(function (res) {
    if (seq !== requestSeq) return;  // a newer change superseded this one
    mark("data");
    const firstPaint = units.builtVersion() === null;
    if (firstPaint) fitFrame(res[0].bbox);  // before the units are drawn: they are projected once
    if (units.builtVersion() !== version.id) units.buildUnitLayer(version, res[0]);
    mark("layer");
    paint(res[1]);
    if (firstPaint && app.state.focus) focusOnMap(app.state.focus);
    units.showLevelForZoom();
  }).catch(showError);
  // The map first: the projects and the ranking panel, which compete with it for the
  // server (a country's ranking takes it most of a second) and the page, follow it.
  drawn.then(function () {
    if (seq !== requestSeq) return;
    fetchProjects().then(function (payload) {
      if (seq === requestSeq) paintProjects(payload);
    }).catch(showError);
    updateRanking().catch(showError);
    clearTimeout(prefetchTimer);  // once the page has settled: the other years, for the slider and ▶ play
    prefetchTimer = setTimeout(function () { prefetchYears().catch(showError); }, PREFETCH_DELAY_MS);
  });
  return drawn;
}
