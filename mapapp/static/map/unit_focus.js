/* Moving the map to the units: the whole area, one focused unit, and, for tests and
 * scripts, the unit under a point and a unit's box (container pixels).
 */
import { app } from "./state.js";
import * as units from "./units_layer.js";

// A zoom animation still running (a reader's zoom) would, when it ends, reset the view to
// its target (Leaflet 1.9), undoing this fit or focus and moving markers and popups under
// the reader's pointer. Finish it now.
function settleZoom() {
  const map = app.map;
  if (map._animatingZoom && map._onZoomTransitionEnd) map._onZoomTransitionEnd();
}

export function fitFrame(bbox) {  // the first view: exactly the first frame's box (present/first_frame.py)
  const map = app.map, snap = map.options.zoomSnap;
  settleZoom();
  map.invalidateSize();  // the banner may have changed the map's height
  map.options.zoomSnap = 0;  // as the frame is scaled; later zooms snap again
  map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]], { padding: [10, 10], animate: false });
  map.options.zoomSnap = snap;
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
