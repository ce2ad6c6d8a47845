/* Proportional circles (area ∝ value) over the units: counts by default, or a rate's numerator
 * ("tỷ lệ và số hộ"). The scale comes with the values payload (values.circles, the same one the
 * exports use); ../circle_symbols.js draws them, as on the side-by-side page.
 */
import { drawCircles } from "../circle_symbols.js";
import { app } from "./state.js";
import { recordFor, tooltipHtml } from "./unit_view.js";

let circleLayer = null, canvasRenderer = null;

export function paintCircles(values) {  // after the units: redraw the circles of this payload (or none)
  const map = app.map, scale = values.circles;
  if (circleLayer) { map.removeLayer(circleLayer); circleLayer = null; }
  document.body.setAttribute("data-circles", scale ? scale.mode : "none");
  if (!scale) return;
  // Thousands of circles (a country's communes) go on one canvas, like the units do.
  const many = values.records.length >= app.config.canvasMinUnits;
  if (many && !canvasRenderer) canvasRenderer = L.canvas({ pane: "mapapp-circles" });
  circleLayer = drawCircles(map, values.records, scale, {
    renderer: many ? canvasRenderer : undefined, weight: many ? 0.5 : 1,
    tooltip: function (record) { return tooltipHtml(recordFor(record)); }
  });
}
