/* The map page's surroundings (../context_layer.js draws them).
 *
 * Loaded once, after the first paint (/api/context, cached by its ETag), so it never delays
 * the map. A map of the national territory must show the archipelagos: its first view is
 * widened to take them in, beside the legend.
 */
import { drawContext } from "../context_layer.js";
import { drawLabels } from "./labels.js";
import { app } from "./state.js";
import { areaBounds } from "./units_layer.js";

function legendPadding() {  // the legend sits at the bottom right: keep the islands beside it
  const legend = document.querySelector(".mapapp-legend");
  return legend ? [legend.offsetWidth + 20, 20] : [20, 20];
}

export function loadContext(map) {  // once, after the first paint; resolves when drawn
  return fetch(app.config.api + "/context").then(function (r) { return r.json(); }).then(function (ctx) {
    const drawn = drawContext(map, ctx, { laosLabel: app.t.laos_label, lang: app.state.lang });
    if (drawn.islands && !app.state.focus) {
      const all = L.latLngBounds(areaBounds().getSouthWest(), areaBounds().getNorthEast());
      map.fitBounds(all.extend(drawn.islands), { paddingTopLeft: [20, 20], paddingBottomRight: legendPadding(), animate: false });
    }
    drawLabels();  // the names now keep clear of the towns' dots
    document.body.setAttribute("data-context", String(drawn.layers));
  });
}
