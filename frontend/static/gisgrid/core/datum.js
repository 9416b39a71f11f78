/* WGS-84 <-> GCJ-02 <-> BD-09 in the browser (ES module), the same published formulas as
 * gisgrid/boundaries/datums.py (tests/test_frontend_core.py checks the two agree to < 0.5 m on a
 * grid of points over the county). WGS-84 and CGCS2000 agree to centimetres: one datum here.
 *
 * The inverses iterate the forward transform (as datums.py does): the usual one-step inverse
 * is off by up to ~2 m, enough to put a grid edge on the wrong side of a street.
 * All functions take and return [lon, lat].
 */

const A = 6378245.0;
const EE = 0.00669342162296594323;
const X_PI = (Math.PI * 3000.0) / 180.0;

function transformLat(x, y) {
  let ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  ret += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  ret += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0;
  ret += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
  return ret;
}

function transformLon(x, y) {
  let ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  ret += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  ret += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0;
  ret += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
  return ret;
}

/** The rough box the obfuscation applies in; outside it GCJ-02 == WGS-84. */
export function inChina(lon, lat) {
  return lon > 72.004 && lon < 137.8347 && lat > 0.8293 && lat < 55.8271;
}

export function wgs84ToGcj02(lon, lat) {
  if (!inChina(lon, lat)) return [lon, lat];
  let dlat = transformLat(lon - 105.0, lat - 35.0);
  let dlon = transformLon(lon - 105.0, lat - 35.0);
  const radlat = (lat / 180.0) * Math.PI;
  const s = Math.sin(radlat);
  const magic = 1 - EE * s * s;
  const sqrtmagic = Math.sqrt(magic);
  dlat = (dlat * 180.0) / (((A * (1 - EE)) / (magic * sqrtmagic)) * Math.PI);
  dlon = (dlon * 180.0) / ((A / sqrtmagic) * Math.cos(radlat) * Math.PI);
  return [lon + dlon, lat + dlat];
}

export function gcj02ToWgs84(lon, lat, iterations = 6) {
  let wlon = lon, wlat = lat;
  for (let i = 0; i < iterations; i++) {
    const t = wgs84ToGcj02(wlon, wlat);
    wlon -= t[0] - lon;
    wlat -= t[1] - lat;
  }
  return [wlon, wlat];
}

export function gcj02ToBd09(lon, lat) {
  const z = Math.sqrt(lon * lon + lat * lat) + 0.00002 * Math.sin(lat * X_PI);
  const theta = Math.atan2(lat, lon) + 0.000003 * Math.cos(lon * X_PI);
  return [z * Math.cos(theta) + 0.0065, z * Math.sin(theta) + 0.006];
}

export function bd09ToGcj02(lon, lat, iterations = 4) {
  const x = lon - 0.0065, y = lat - 0.006;
  const z = Math.sqrt(x * x + y * y) - 0.00002 * Math.sin(y * X_PI);
  const theta = Math.atan2(y, x) - 0.000003 * Math.cos(x * X_PI);
  let glon = z * Math.cos(theta), glat = z * Math.sin(theta);
  for (let i = 0; i < iterations; i++) {
    const t = gcj02ToBd09(glon, glat);
    glon -= t[0] - lon;
    glat -= t[1] - lat;
  }
  return [glon, glat];
}

export function wgs84ToBd09(lon, lat) { return gcj02ToBd09(...wgs84ToGcj02(lon, lat)); }
export function bd09ToWgs84(lon, lat) { return gcj02ToWgs84(...bd09ToGcj02(lon, lat)); }

export const DATUMS = ["wgs84", "cgcs2000", "gcj02", "bd09"];

/** [lon, lat] from WGS-84 into `datum` (wgs84 | cgcs2000 | gcj02 | bd09). */
export function fromWgs84(lon, lat, datum = "wgs84") {
  switch (String(datum || "wgs84").toLowerCase()) {
    case "wgs84": case "cgcs2000": return [lon, lat];
    case "gcj02": return wgs84ToGcj02(lon, lat);
    case "bd09": return wgs84ToBd09(lon, lat);
    default: throw new Error("unknown datum " + datum);
  }
}

/** [lon, lat] in `datum` to WGS-84. */
export function toWgs84(lon, lat, datum = "wgs84") {
  switch (String(datum || "wgs84").toLowerCase()) {
    case "wgs84": case "cgcs2000": return [lon, lat];
    case "gcj02": return gcj02ToWgs84(lon, lat);
    case "bd09": return bd09ToWgs84(lon, lat);
    default: throw new Error("unknown datum " + datum);
  }
}
