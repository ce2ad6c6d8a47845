/* Moving the map to the units: the whole area, one focused unit, and, for tests and
 * scripts, the unit under a point and a unit's box (container pixels).
 */
import { app } from "./state.js";
import * as units from "./units_layer.js";

// The folium start-up script fits the map with an animated zoom; when that animation
// ends after our first paint, Leaflet (1.9) resets the view to its target, undoing our
// fit or focus and moving markers and popups under the user's pointer. Finish it now.
function settleZoom() {
  const map = app.map;
  if (map._animatingZoom && map._onZoomTransitionEnd) map._onZoomTransitionEnd();
}

export function fitArea() {
  settleZoom();
  app.map.invalidateSize();  // the banner may have changed the map's height
  app.map.fitBounds(units.areaBounds(), { padding: [10, 10], animate: false });  // settled when data-painted is seen
}

export function focusOnMap(code) {  // zoom to a unit and open its popup
  const bounds = units.unitBounds(code);
  if (!bounds) return;
  settleZoom();
  app.map.fitBounds(bounds, { padding: [40, 40], maxZoom: 12, animate: false });
  units.openUnitPopup(code, bounds.getCenter());
  document.body.setAttribute("data-focused", code);
}

export function codeAt(x, y) {  // the unit under a container point
  return units.codeAtLayerPoint(app.map.containerPointToLayerPoint([x, y]));
}

export function unitBox(code) {  // a unit's box in container pixels, or null
  const bounds = units.unitBounds(code);
  if (!bounds) return null;
  const nw = app.map.latLngToContainerPoint(bounds.getNorthWest()), se = app.map.latLngToContainerPoint(bounds.getSouthEast());
  return { left: nw.x, top: nw.y, right: se.x, bottom: se.y };
}
