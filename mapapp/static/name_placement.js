/* Commune names over a Leaflet map, placed as the export places them; shared by the map page
 * (map/labels.js) and the side-by-side page.
 *
 * Greedy: the units whose name is largest for them first (they have the fewest places), at
 * the label point, else at offsets around it whose centre is still inside the unit, else (a
 * second round) inside its bounding box; a name that would overlap another, an obstacle (a
 * map control, a town's dot, an island) or the edge of the map is left out, after one more try in a smaller size.
 */

const GAP = 2;  // pixels kept free between two names

export function loadPoints(api, version, requests) {  // a version's label points (/api/points), fetched once
  if (!requests[version.id]) {
    const url = api + "/points?version=" + encodeURIComponent(version.id) + "&v=" + version.checksum;
    requests[version.id] = fetch(url).then(function (r) {
      if (!r.ok) throw new Error("points " + r.status);
      return r.json();
    });
  }
  return requests[version.id];
}

/* What names must stay clear of, in container pixels: the map's controls, the towns' dots
 * (their own names give way to the communes', so a name never covers the dot it stands for),
 * the archipelagos' islands and `extra` elements. */
const OBSTACLES = ".leaflet-control, .mapapp-context-town, .mapapp-context-island";

export function obstacleBoxes(map, extra) {
  const box = map.getContainer().getBoundingClientRect();
  const els = Array.prototype.slice.call(map.getContainer().querySelectorAll(OBSTACLES)).concat(extra || []);
  return els.map(function (el) {
    const r = el.getBoundingClientRect();
    return [r.left - box.left, r.top - box.top, r.right - box.left, r.bottom - box.top];
  }).filter(function (r) { return r[2] > r[0] && r[3] > r[1]; });
}

function overlaps(a, b) { return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]; }

function offsets(w, h) {  // candidate centres around the point, nearest first (as the export's)
  const out = [[0, 0]];
  [1.0, 1.9].forEach(function (step) {
    const dx = (w / 2 + GAP) * step, dy = (h / 2 + GAP) * step;
    out.push([0, dy], [0, -dy], [dx, 0], [-dx, 0], [dx, dy], [-dx, dy], [dx, -dy], [-dx, -dy]);
  });
  return out;
}

/* A names layer in its own pane of `map` (created here, above the units).
 * geometry: bounds(code) -> LatLngBounds or null (units not drawn), contains(code, layerPoint). */
export function createNames(map, paneName, geometry) {
  const pane = map.getPane(paneName) || map.createPane(paneName);
  pane.setAttribute("aria-hidden", "true");  // the tooltips and tables carry the names for screen readers
  let spans = {};

  function spanFor(key, code, text) {
    let span = spans[key];
    if (!span) {
      span = L.DomUtil.create("div", "mapapp-label", pane);
      span.setAttribute("data-code", code);
      spans[key] = span;
    }
    if (span.textContent !== text) span.textContent = text;
    return span;
  }

  function candidates(entries) {  // the entries whose point is on screen, with their unit's box
    const size = map.getSize(), found = [];
    entries.forEach(function (entry) {
      if (entry.lon === null) return;
      const p = map.latLngToContainerPoint([entry.lat, entry.lon]);
      if (p.x < 0 || p.y < 0 || p.x > size.x || p.y > size.y) return;
      const bounds = geometry.bounds(entry.code);
      if (!bounds) return;
      const nw = map.latLngToContainerPoint(bounds.getNorthWest()), se = map.latLngToContainerPoint(bounds.getSouthEast());
      found.push({ entry: entry, x: p.x, y: p.y, box: [nw.x, nw.y, se.x, se.y] });
    });
    return found;
  }

  function place(item, w, h, placed, inside) {  // the box of the first free candidate, or null
    // inside: its centre inside the unit; else inside the unit's bounding box (a small unit's
    // name beside it rather than none)
    const size = map.getSize(), list = offsets(w, h), unitBox = item.box;
    for (let k = 0; k < list.length; k++) {
      const cx = item.x + list[k][0], cy = item.y + list[k][1];
      const box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2];
      if (box[0] < 0 || box[1] < 0 || box[2] > size.x || box[3] > size.y) continue;
      if (placed.some(function (other) { return overlaps(box, other); })) continue;
      if (k > 0 && inside && !geometry.contains(item.entry.code, map.containerPointToLayerPoint([cx, cy]))) continue;
      if (!inside && (cx < unitBox[0] || cx > unitBox[2] || cy < unitBox[1] || cy > unitBox[3])) continue;
      return box;
    }
    return null;
  }

  function show(item, box, placed) {
    placed.push(box);
    item.placed = true;
    item.span.style.display = "";
    item.span.style.visibility = "";
    L.DomUtil.setPosition(item.span, map.containerPointToLayerPoint([box[0] + GAP / 2, box[1] + GAP / 2]));
  }

  function clear() {
    Object.keys(spans).forEach(function (key) { spans[key].remove(); });
    spans = {};
  }

  /* Place `entries` ({key, code, text, lat, lon}) clear of `obstacles` (boxes); the count placed. */
  function draw(entries, obstacles) {
    pane.classList.remove("moving");
    const items = candidates(entries), keep = {};
    items.forEach(function (item) {
      item.span = spanFor(item.entry.key, item.entry.code, item.entry.text);
      item.span.classList.remove("small");
      item.span.style.display = "";
      item.span.style.visibility = "hidden";
      keep[item.entry.key] = true;
    });
    Object.keys(spans).forEach(function (key) { if (!keep[key]) { spans[key].remove(); delete spans[key]; } });
    items.forEach(function (item) { item.w = item.span.offsetWidth; item.h = item.span.offsetHeight; });  // one layout
    // The hardest first: units whose name is large for them (small units, long names).
    items.forEach(function (item) {
      const b = item.box;
      item.crowding = item.w * item.h / Math.max(1, (b[2] - b[0]) * (b[3] - b[1]));
    });
    items.sort(function (a, b) { return b.crowding - a.crowding; });
    const placed = obstacles.slice();
    [true, false].forEach(function (inside) {
      items.forEach(function (item) {
        if (item.placed) return;
        const box = place(item, item.w + GAP, item.h + GAP, placed, inside);
        if (box) show(item, box, placed); else item.span.style.display = "none";
      });
    });
    // A name that fits nowhere gets one more try in a smaller size, beside its unit if need be,
    // as a cartographer would letter a small commune, rather than leaving it unnamed.
    items.forEach(function (item) {
      if (item.placed) return;
      item.span.classList.add("small");
      item.span.style.display = "";
      const box = place(item, item.span.offsetWidth + GAP, item.span.offsetHeight + GAP, placed, false);
      if (box) show(item, box, placed);
      else { item.span.style.display = "none"; item.span.classList.remove("small"); }
    });
    return items.filter(function (item) { return item.placed; }).length;
  }

  map.on("zoomstart", function () { pane.classList.add("moving"); });
  return { draw: draw, clear: clear, pane: pane };
}
