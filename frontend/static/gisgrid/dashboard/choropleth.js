/* The choropleth: the grids of the chosen level coloured by their number of cases (the stats
 * API's by_grid), on the common map base (core/mapbase.js). Grid outlines are fetched once per
 * level; a recount only restyles them.
 */
import { api } from "../core/api.js";
import { escapeHtml } from "../core/format.js";
import { geoJsonLayer } from "../core/mapbase.js";

const SCALE = ["#fff5eb", "#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603"];

function colour(n, max) {
  if (!n) return "#f4f4f4";
  const i = Math.min(SCALE.length - 1, 1 + Math.floor((n / max) * (SCALE.length - 1)));
  return SCALE[i];
}

export function createChoropleth(map, config) {
  const layers = {};
  let shown = null;
  let counts = {};

  function style(feature) {
    const max = Math.max(1, ...Object.values(counts));
    return { color: "#555", weight: 0.7, fillOpacity: 0.75, fillColor: colour(counts[feature.properties.code] || 0, max) };
  }

  function outline(level) {
    if (!layers[level]) {
      layers[level] = api(config.api.grids, { params: { level, simplify: (config.simplify && config.simplify[level]) || 0 } })
        .then((fc) => geoJsonLayer(map, fc, { style }).bindTooltip((l) => {
          const p = l.feature.properties;
          return escapeHtml(p.name) + ": " + (counts[p.code] || 0);
        }));
      layers[level].catch(() => { delete layers[level]; });
    }
    return layers[level];
  }

  return {
    show(level, rows) {
      counts = {};
      rows.forEach((r) => { if (r.code) counts[r.code] = r.count; });
      return outline(level).then((layer) => {
        const first = !shown;
        if (shown && shown !== layer) map.removeLayer(shown);
        shown = layer;
        if (first) {
          map.invalidateSize();
          map.fitBounds(layer.getBounds(), { padding: [8, 8], animate: false });
        }
        layer.addTo(map);
        layer.setStyle(style);
        document.documentElement.dataset.choroplethLevel = String(level);
      });
    },
  };
}
