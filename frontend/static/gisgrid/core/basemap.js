/* The configured basemap as a Leaflet tile layer (ES module; Leaflet is the classic script
 * loaded before, window.L).
 *
 * The configuration is gisgrid/web/basemap.py's basemap_config(), in every page's config as
 * `basemap`: {url, datum, subdomains, attribution, maxZoom}; url "" means none (the polygons
 * alone, which is also how the map works offline). A malformed setting never reaches here: the
 * server drops it and says why at start.
 */
import { escapeHtml } from "./format.js";

const SHIFTED = { gcj02: true };

/** The datum overlays must be drawn in to sit on this basemap's streets: "wgs84" or "gcj02". */
export function basemapDatum(basemap) {
  const d = String((basemap && basemap.url && basemap.datum) || "wgs84").toLowerCase();
  return SHIFTED[d] ? d : "wgs84"; // cgcs2000 is WGS-84 at map scale
}

/**
 * Add the basemap to `map` (below every overlay); returns the tile layer, or null when none is
 * configured (the container then gets class "no-basemap"). `maxZoom` of the source is its
 * native zoom: beyond it Leaflet scales the last tiles, so the grids stay zoomable to street level.
 */
export function addBasemap(map, basemap) {
  const container = map.getContainer();
  container.dataset.basemapDatum = basemapDatum(basemap);
  if (!basemap || !basemap.url) {
    container.classList.add("no-basemap");
    return null;
  }
  const opts = {
    // Attribution is deployment configuration; escaped anyway so it shows as text.
    attribution: escapeHtml(basemap.attribution || ""),
    maxNativeZoom: Number(basemap.maxZoom) || 18,
    maxZoom: map.getMaxZoom(),
    className: "gisgrid-basemap",
  };
  if (basemap.subdomains && basemap.subdomains.length) opts.subdomains = basemap.subdomains;
  const layer = window.L.tileLayer(basemap.url, opts);
  layer.addTo(map);
  container.classList.remove("no-basemap");
  return layer;
}
