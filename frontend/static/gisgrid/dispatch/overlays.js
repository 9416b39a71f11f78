/* The map's other layers: the grids (levels 2 and 3, click for the grid panel), blind spots
 * (the API /map/ uses) and a heatmap of the cases reported in the last days (Leaflet.heat over
 * the points endpoint). Blind spots and heat are fetched the first time they are switched on.
 */
import { api } from "../core/api.js";
import { geoJsonLayer } from "../core/mapbase.js";

const GRID_STYLE = {
  2: { color: "#3b5b92", weight: 1.5, fillOpacity: 0.02 },
  3: { color: "#6b8cc7", weight: 1, dashArray: "3 3", fillOpacity: 0.02 },
};

export function createOverlays(map, { config, onGrid }) {
  const L = window.L;
  map.createPane("grids").style.zIndex = "350";
  const grids = L.layerGroup();

  function loadGrids() {
    grids.clearLayers();
    return Promise.all([2, 3].map((level) => api(config.api.grids, {
      params: { level, simplify: (config.simplify && config.simplify[level]) || 0 },
    }).then((fc) => {
      const layer = geoJsonLayer(map, fc, { pane: "grids", style: GRID_STYLE[level] });
      layer.on("click", (e) => {
        const props = e.layer && e.layer.feature && e.layer.feature.properties;
        if (props) onGrid(props.code);
      });
      grids.addLayer(layer);
      return fc.features.length;
    }))).then((n) => {
      document.documentElement.dataset.gridsLoaded = String(n[0] + n[1]);
    });
  }

  const blind = L.layerGroup();
  let blindLoaded = null;
  function loadBlind() {
    if (!blindLoaded) {
      blindLoaded = api(config.api.blindSpots).then((fc) => {
        blind.addLayer(geoJsonLayer(map, fc, { style: { color: "#c0392b", weight: 1, fillOpacity: 0.35 } }));
        document.documentElement.dataset.blindSpotsLoaded = String(fc.features.length);
      }).catch((err) => { blindLoaded = null; throw err; });
    }
    return blindLoaded;
  }

  const heat = L.layerGroup();
  let heatLoaded = null;
  function loadHeat() {
    if (!heatLoaded) {
      const start = new Date(Date.now() - (config.heatDays || 30) * 86400000).toISOString();
      heatLoaded = api(config.api.points, { params: { start } }).then((answer) => {
        const iLon = answer.fields.indexOf("lon"), iLat = answer.fields.indexOf("lat");
        const pts = answer.rows.map((r) => { const ll = map.toMap(r[iLon], r[iLat]); return [ll.lat, ll.lng, 1]; });
        heat.addLayer(L.heatLayer(pts, { radius: 18, blur: 20, maxZoom: 15 }));
        document.documentElement.dataset.heatPoints = String(pts.length);
      }).catch((err) => { heatLoaded = null; throw err; });
    }
    return heatLoaded;
  }

  map.on("overlayadd", (e) => {
    if (e.layer === blind) loadBlind().catch(() => null);
    if (e.layer === heat) loadHeat().catch(() => null);
  });

  return { grids, blind, heat, loadGrids, loadBlind, loadHeat };
}
