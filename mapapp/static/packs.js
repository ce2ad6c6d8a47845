/* mapapp geometry packs and column values, shared by the map page and the side-by-side page.
 *
 * A pack (mapapp/packs.py) holds a boundary version's units at one level of detail,
 * quantised and delta-encoded in Web Mercator metres; /api/values?format=columns holds
 * a view's records as columns. This ES module exports:
 *   load(cache, api, version, level) -> Promise<pack> (fetched once per version and level;
 *     a finer level gets the unit columns of level 0)
 *   decode(pack, units) -> GeoJSON FeatureCollection (for SVG layers), decodePolygons(polygons, pack)
 *   levelForZoom(version, zoom), drawsOnCanvas(version, config)
 *   recordsFromColumns(view) -> view with .records
 */

var EARTH_RADIUS = 6378137, DEGREES = 180 / Math.PI;

function decodeRing(ring, pack) {
  var x = 0, y = 0, out = new Array(ring.length / 2 + 1);
  for (var i = 0; i < ring.length; i += 2) {
    x += ring[i]; y += ring[i + 1];
    var mx = pack.origin[0] + x * pack.grid, my = pack.origin[1] + y * pack.grid;
    out[i / 2] = [mx / EARTH_RADIUS * DEGREES, (2 * Math.atan(Math.exp(my / EARTH_RADIUS)) - Math.PI / 2) * DEGREES];
  }
  out[out.length - 1] = out[0];
  return out;
}

export function decodePolygons(polygons, pack) {
  return {
    type: "MultiPolygon",
    coordinates: polygons.map(function (rings) {
      return rings.map(function (ring) { return decodeRing(ring, pack); });
    })
  };
}

export function decode(pack, units) {  // units: the level-0 pack's unit columns
  return {
    type: "FeatureCollection",
    level: pack.level,
    features: pack.geometry.map(function (polygons, i) {
      return {
        type: "Feature",
        properties: { code: units.code[i], valid_from: units.valid_from[i], name: units.name[i], parent: units.parent[i] },
        geometry: decodePolygons(polygons, pack)
      };
    }),
    outline: decodePolygons(pack.outline, pack),
    bbox: pack.bbox,
    units: units
  };
}

function fetchPack(api, version, level) {
  var url = api + "/geometry?version=" + encodeURIComponent(version.id) + "&level=" + level +
    "&v=" + version.levels[level].checksum;
  return fetch(url).then(function (r) {
    if (!r.ok) throw new Error("geometry " + r.status);
    return r.json();
  });
}

export function load(cache, api, version, level) {
  var key = version.id + "/" + level;
  if (!cache[key]) {
    var base = level === 0 ? null : load(cache, api, version, 0);
    cache[key] = Promise.all([fetchPack(api, version, level), base]).then(function (res) {
      if (level !== 0) res[0].units = res[1].units;
      return res[0];
    });
  }
  return cache[key];
}

export function levelForZoom(version, zoom) {  // the coarsest level drawn well at this zoom
  for (var i = 0; i < version.levels.length; i++) {
    if (zoom <= version.levels[i].max_zoom) return i;
  }
  return version.levels.length - 1;
}

export function drawsOnCanvas(version, config) {  // thousands of SVG elements make the browser slow
  return version.unit_count >= config.canvasMinUnits;
}

export function recordsFromColumns(view) {  // the column form of a view back into records
  var cols = view.columns, keys = Object.keys(cols), records = new Array(view.count);
  for (var i = 0; i < view.count; i++) {
    var record = {};
    for (var k = 0; k < keys.length; k++) {
      var col = cols[keys[k]];
      record[keys[k]] = Array.isArray(col) ? col[i] : col.all;
    }
    var source = view.record_sources[record.source] || { title: "", url: "" };
    record.source = source.title;
    record.source_url = source.url;
    record.color = record["class"] === null ? view.no_data_color : view.classification.colors[record["class"]];
    records[i] = record;
  }
  view.records = records;
  return view;
}
