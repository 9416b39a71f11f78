/* The map page's grid layers: three levels from the grid API (level 3 on zoom or on demand),
 * their counts in the legend, labels by zoom, highlighting, and the blind-spot layer. */
import { api } from "../core/api.js";
import { escapeHtml } from "../core/format.js";
import { geoJsonLayer } from "../core/mapbase.js";
import { errorText } from "../core/messages.js";

export const LEVELS = [1, 2, 3];
export const STYLES = {
  1: { color: "#1b2a3a", weight: 3, opacity: 0.95, fillColor: "#3b6ea5", fillOpacity: 0.04 },
  2: { color: "#3b6ea5", weight: 1.2, opacity: 0.9, fillColor: "#3b6ea5", fillOpacity: 0.03 },
  3: { color: "#b35400", weight: 1, opacity: 0.9, fillColor: "#f39c34", fillOpacity: 0.28 },
};
const HIGHLIGHT = { color: "#e6007e", weight: 4, opacity: 1 };
const BLIND_STYLE = { color: "#5f6368", weight: 1.2, dashArray: "4 3", fillColor: "#9aa0a6", fillOpacity: 0.45,
                      className: "blind-spot" };

export function createGridLayers(ctx) {
  const { cfg, T, map, popups, setStatus } = ctx;
  const root = document.documentElement;

  // Panes keep the stacking fixed whatever order data arrives in: county < 1 < 2 < 3 < blind.
  [["grid1", 410], ["grid2", 420], ["grid3", 430], ["blind", 435]].forEach(([name, z]) => {
    map.createPane(name).style.zIndex = String(z);
  });

  const state = {};
  let highlighted = null; // { layer: the level's GeoJSON group, feature: the highlighted path }
  LEVELS.forEach((level) => {
    state[level] = { features: [], loaded: false, promise: null, userHidden: false };
    state[level].layer = geoJsonLayer(map, null, {
      pane: "grid" + level,
      style: () => STYLES[level],
      onEachFeature(feature, layer) {
        const props = feature.properties || {};
        layer.bindPopup(() => popups.buildPopupContent(props), { maxWidth: 320 });
        layer.bindTooltip(popups.buildLabel(props), {
          permanent: true, direction: "center", interactive: false, className: "grid-label grid-label-" + level,
        });
        layer.on("mouseover", () => layer.setStyle({ weight: STYLES[level].weight + 1.5 }));
        layer.on("mouseout", () => {
          if (!highlighted || highlighted.feature !== layer) state[level].layer.resetStyle(layer);
        });
        feature.__layer = layer;
      },
    });
    state[level].layer.on("add", () => loadLevel(level));
  });

  // 盲点: parts of urban communities no level-3 grid covers (hatched grey, on demand).
  const blind = { layer: null, promise: null, count: 0 };
  blind.layer = geoJsonLayer(map, null, {
    pane: "blind",
    style: () => BLIND_STYLE,
    onEachFeature(feature, layer) {
      const props = feature.properties || {};
      layer.bindPopup(() => popups.buildBlindSpotPopup(props), { maxWidth: 320 });
    },
  });
  blind.layer.on("add", () => loadBlindSpots());

  const overlays = {};
  overlays[escapeHtml(T.county)] = map.countyLayer;
  LEVELS.forEach((level) => {
    overlays['<span class="swatch swatch-' + level + '"></span>' + escapeHtml(T["level" + level])] = state[level].layer;
  });
  overlays['<span class="swatch swatch-blind"></span>' + escapeHtml(T.blindSpots)] = blind.layer;
  window.L.control.layers(null, overlays, { collapsed: false, position: "topright" }).addTo(map);

  map.on("overlayadd", (e) => LEVELS.forEach((l) => { if (e.layer === state[l].layer) state[l].userHidden = false; }));
  map.on("overlayremove", (e) => LEVELS.forEach((l) => { if (e.layer === state[l].layer) state[l].userHidden = true; }));

  function setCount(level) {
    const c = document.getElementById("count-" + level);
    const s = state[level];
    c.textContent = s.loaded ? String(s.features.length) : (s.promise ? T.loading : T.notLoaded);
    c.dataset.count = s.loaded ? String(s.features.length) : "";
  }

  /** Fetch a level once; resolves with its features. Adding the layer to the map is separate. */
  function loadLevel(level) {
    const s = state[level];
    if (s.promise) return s.promise;
    const simplify = (cfg.simplify && cfg.simplify[level]) || 0;
    s.promise = api(cfg.api.grids, { params: { level, simplify } }).then((fc) => {
      s.features = (fc && fc.features) || [];
      s.layer.addData(fc);
      s.loaded = true;
      setCount(level);
      updateLabels();
      root.dataset["level" + level + "Loaded"] = "1";
      return s.features;
    }).catch((err) => {
      s.promise = null;
      setCount(level);
      setStatus(T.loadFailed + " (" + popups.levelLabel(level) + ")", true);
      if (window.console) console.error(err);
      return [];
    });
    setCount(level);
    return s.promise;
  }

  function loadBlindSpots() {
    if (blind.promise) return blind.promise;
    blind.promise = api(ctx.API.blindSpots).then((fc) => {
      blind.layer.addData(fc);
      blind.count = ((fc && fc.features) || []).length;
      root.dataset.blindSpotsLoaded = String(blind.count);
      return fc;
    }).catch((err) => {
      blind.promise = null;
      setStatus(T.loadFailed + " (" + T.blindSpots + "): " + errorText(err), true);
      return null;
    });
    return blind.promise;
  }

  function updateLabels() {
    const z = map.getZoom();
    const container = map.getContainer();
    LEVELS.forEach((level) => {
      const min = (cfg.labelMinZoom && cfg.labelMinZoom[level]) || 0;
      container.classList.toggle("hide-labels-" + level, z < min);
    });
  }

  function maybeShowLevel3() {
    const s = state[3];
    if (map.getZoom() >= cfg.level3LoadZoom && !s.userHidden && !map.hasLayer(s.layer)) {
      map.addLayer(s.layer); // the layer's "add" handler fetches it
    }
  }
  map.on("zoomend", () => { updateLabels(); maybeShowLevel3(); });

  function allFeatures() {
    return LEVELS.reduce((out, l) => out.concat(state[l].features), []);
  }

  function zoomToFeature(f) {
    const s = state[f.properties.level];
    if (!map.hasLayer(s.layer)) map.addLayer(s.layer);
    const layer = f.__layer;
    if (!layer) return;
    if (highlighted) highlighted.layer.resetStyle(highlighted.feature);
    layer.setStyle(HIGHLIGHT);
    layer.bringToFront();
    highlighted = { layer: s.layer, feature: layer };
    map.fitBounds(layer.getBounds(), { padding: [40, 40], maxZoom: 17, animate: false });
    layer.openPopup(layer.getBounds().getCenter());
  }

  function zoomToCode(level, code) {
    return loadLevel(level).then((features) => {
      const f = features.find((x) => x.properties && x.properties.code === code);
      if (f) zoomToFeature(f);
      return f || null;
    });
  }

  function start() {
    state[1].layer.addTo(map);
    state[2].layer.addTo(map);
    LEVELS.forEach(setCount);
    updateLabels();
  }

  return { state, blind, loadLevel, loadBlindSpots, setCount, updateLabels, maybeShowLevel3, allFeatures,
           zoomToFeature, zoomToCode, start };
}
