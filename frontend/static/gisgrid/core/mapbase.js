/* The map every gisgrid page starts from (ES module; Leaflet is window.L).
 * Changes since first written (additive only): geometryFromMap(map, geometry) added; the county
 * layer carries pmIgnore/snapIgnore for the planner's drawing tools.
 *
 *   import { createMap, geoJsonLayer } from "../core/mapbase.js";
 *   const map = createMap("map", cfg);          // cfg: the page's json_script config
 *   map.countyReady.then((fc) => ...);         // the county outline, drawn and fitted
 *   const grids = geoJsonLayer(map, fc, { pane: "grid2", style });
 *   L.marker(map.toMap(lon, lat)).addTo(map);  // any WGS-84 point onto the map
 *   const [lon, lat] = map.fromMap(e.latlng);  // a click back to WGS-84
 *
 * Our data is WGS-84 (CGCS2000). A GCJ-02 basemap (AMap, Tencent) is drawn in its own
 * obfuscated datum, so every overlay is shifted onto it when drawn (toMap), and every position
 * read off the map (clicks, drawn shapes) is shifted back (fromMap) before it goes to the API.
 * With a WGS-84/CGCS2000 basemap, or none, both are the identity.
 *
 * `config` keys used: basemap, center [lat, lon], zoom, api.county; optional: minZoom (6),
 * maxZoom (19), county (false: no outline), countyStyle, fitCounty (true), zoomPosition
 * ("bottomright"), scale (true). The map gets panes "county" (z 402) for the outline.
 */
import { api } from "./api.js";
import { addBasemap, basemapDatum } from "./basemap.js";
import { fromWgs84, toWgs84 } from "./datum.js";

export const COUNTY_STYLE = { color: "#7a1f1f", weight: 3, dashArray: "8 4", fill: false, interactive: false };

/** toMap/fromMap for a datum: (lon, lat) WGS-84 -> L.LatLng on the map, and back to [lon, lat]. */
export function shifter(datum) {
  if (datum === "wgs84") {
    return {
      toMap: (lon, lat) => window.L.latLng(Number(lat), Number(lon)),
      fromMap: (ll) => { const p = window.L.latLng(ll); return [p.lng, p.lat]; },
    };
  }
  return {
    toMap: (lon, lat) => { const p = fromWgs84(Number(lon), Number(lat), datum); return window.L.latLng(p[1], p[0]); },
    fromMap: (ll) => { const p = window.L.latLng(ll); return toWgs84(p.lng, p.lat, datum); },
  };
}

/**
 * A Leaflet map with the configured basemap (or none), the county outline and the datum shift.
 * Returns the L.Map, extended with: toMap(lon, lat), fromMap(latlng), datum, basemapLayer,
 * countyLayer, countyReady (a promise of the county FeatureCollection, null when it failed).
 */
export function createMap(element, config = {}) {
  const L = window.L;
  const map = L.map(element, {
    center: config.center || [35.2385, 110.1449],
    zoom: config.zoom || 10,
    zoomControl: false,
    minZoom: config.minZoom || 6,
    maxZoom: config.maxZoom || 19,
  });
  L.control.zoom({ position: config.zoomPosition || "bottomright" }).addTo(map);
  if (config.scale !== false) L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);

  map.datum = basemapDatum(config.basemap);
  const s = shifter(map.datum);
  map.toMap = s.toMap;
  map.fromMap = s.fromMap;
  // The centre in the page config is WGS-84 as well.
  if (map.datum !== "wgs84" && config.center) map.setView(map.toMap(config.center[1], config.center[0]), map.getZoom());
  map.basemapLayer = addBasemap(map, config.basemap);

  map.createPane("county").style.zIndex = "402";
  // pmIgnore/snapIgnore: the planner's drawing tools (Leaflet-Geoman) neither edit nor snap to it.
  map.countyLayer = geoJsonLayer(map, null, { pane: "county", style: config.countyStyle || COUNTY_STYLE,
                                              interactive: false, pmIgnore: true, snapIgnore: true });
  if (config.county === false || !(config.api && config.api.county)) {
    map.countyReady = Promise.resolve(null);
    return map;
  }
  map.countyLayer.addTo(map);
  map.countyReady = api(config.api.county).then((fc) => {
    map.countyLayer.addData(fc);
    const b = map.countyLayer.getBounds();
    if (config.fitCounty !== false && b.isValid()) map.fitBounds(b, { padding: [10, 10], animate: false });
    document.documentElement.dataset.countyLoaded = "1";
    return fc;
  }).catch((err) => {
    if (window.console) console.error(err);
    map.countyError = err;
    return null;
  });
  return map;
}

/**
 * L.geoJSON whose WGS-84 coordinates are drawn shifted onto the map's basemap (also for data
 * added later with addData). `map` is a map from createMap (or anything with a `datum`).
 */
export function geoJsonLayer(map, data, options = {}) {
  const datum = (map && map.datum) || "wgs84";
  const opts = Object.assign({}, options);
  if (datum !== "wgs84" && !opts.coordsToLatLng) {
    const toMap = shifter(datum).toMap;
    opts.coordsToLatLng = (c) => {
      const ll = toMap(c[0], c[1]);
      if (c.length > 2) ll.alt = c[2];
      return ll;
    };
  }
  return window.L.geoJSON(data || null, opts);
}

/** [lon, lat] pairs (WGS-84) as map LatLngs: for polylines (tracks) and polygons. */
export function toMapLatLngs(map, coords) {
  return (coords || []).map((c) => map.toMap(c[0], c[1]));
}

/**
 * A GeoJSON geometry read off the map (a drawn or edited shape, in the map's datum) back in
 * WGS-84 for the API. With a WGS-84 basemap (or none) the geometry is returned unchanged, so
 * full-precision coordinates stay exactly as they were.
 */
export function geometryFromMap(map, geometry) {
  if (!geometry || !map || map.datum === "wgs84" || !map.datum) return geometry;
  const back = (c) => {
    if (typeof c[0] === "number") {
      const p = map.fromMap(window.L.latLng(c[1], c[0]));
      return c.length > 2 ? [p[0], p[1], c[2]] : [p[0], p[1]];
    }
    return c.map(back);
  };
  if (geometry.type === "GeometryCollection") {
    return Object.assign({}, geometry, { geometries: geometry.geometries.map((g) => geometryFromMap(map, g)) });
  }
  return Object.assign({}, geometry, { coordinates: back(geometry.coordinates) });
}
