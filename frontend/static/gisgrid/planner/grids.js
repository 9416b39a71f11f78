/* The planner's grids of the chosen edition and level: drawn with labels, a click selects one
 * (or picks the second grid of a merge), the target list of 划入. */
import { byId as $, el, formatArea } from "../core/format.js";
import { geoJsonLayer } from "../core/mapbase.js";
import { errorText } from "../core/messages.js";
import { STYLES } from "./layers.js";

const SELECTED = { color: "#e6007e", weight: 4, opacity: 1, fillOpacity: 0.15 };
const MERGE_OTHER = { color: "#6a1b9a", weight: 4, opacity: 1, dashArray: "6 4", fillOpacity: 0.15 };

export function createGrids(ctx) {
  const { cfg, T, map, root, state, call, layers, setStatus } = ctx;
  const grids = { layer: null, byCode: {}, features: [] };

  function gridStyle(feature) {
    const code = feature.properties.code;
    if (state.selected === code) return Object.assign({}, STYLES[state.level], SELECTED);
    if (state.mergeOther === code) return Object.assign({}, STYLES[state.level], MERGE_OTHER);
    return STYLES[state.level];
  }

  function load() {
    const e = state.edition;
    if (!e) return Promise.resolve();
    const level = state.level;
    const simplify = (l) => (cfg.simplify && cfg.simplify[l]) || 0;
    root.dataset.gridsLoaded = "";
    const contextReq = level > 1
      ? call(cfg.api.grids, { params: { edition: e.id, level: 1, simplify: simplify(1) } })
      : Promise.resolve({ type: "FeatureCollection", features: [] });
    return Promise.all([call(cfg.api.grids, { params: { edition: e.id, level, simplify: simplify(level) } }), contextReq])
      .then(([fc, context]) => {
        if (state.edition !== e || state.level !== level) return; // a newer choice won
        layers.context.clearLayers();
        layers.context.addData(context);
        if (grids.layer) map.removeLayer(grids.layer);
        grids.byCode = {};
        grids.features = (fc && fc.features) || [];
        grids.layer = geoJsonLayer(map, fc, {
          pane: "grids",
          style: gridStyle,
          onEachFeature(feature, layer) {
            const p = feature.properties;
            grids.byCode[p.code] = feature;
            feature.__layer = layer;
            layer.bindTooltip(el("span", "grid-label-text", p.name), {
              permanent: true, direction: "center", interactive: false, className: "grid-label grid-label-" + level,
            });
            layer.on("click", (ev) => onGridClick(p.code, ev));
          },
        }).addTo(map);
        fillTargetSelect();
        if (state.selected && !grids.byCode[state.selected]) state.selected = null;
        showSelected();
        root.dataset.gridsLoaded = e.id + ":" + level + ":" + e.version;
      }).catch((err) => setStatus(T.loadFailed + "：" + errorText(err), "error"));
  }

  function restyle() {
    if (grids.layer) grids.layer.eachLayer((l) => l.setStyle(gridStyle(l.feature)));
  }
  function showSelected() {
    const box = $("selected-grid");
    if (!state.selected || !grids.byCode[state.selected]) {
      box.textContent = T.none;
      box.dataset.code = "";
    } else {
      const p = grids.byCode[state.selected].properties;
      box.textContent = p.name + "（" + p.code + "）· " + formatArea(p.area_m2);
      box.dataset.code = p.code;
      $("assign-target").value = p.code;
    }
    restyle();
  }
  function select(code) {
    state.selected = code;
    showSelected();
  }
  function onGridClick(code, ev) {
    if (state.mode === "merge-pick") { ctx.editor.pickMergeOther(code); return; }
    if (state.mode) return; // drawing or editing: clicks belong to Geoman
    if (ev && ev.originalEvent) window.L.DomEvent.stopPropagation(ev);
    select(code);
  }
  function fillTargetSelect() {
    const sel = $("assign-target");
    sel.textContent = "";
    grids.features.slice().sort((a, b) => String(a.properties.code).localeCompare(String(b.properties.code)))
      .forEach((f) => {
        const opt = el("option", null, f.properties.name + "（" + f.properties.code + "）");
        opt.value = f.properties.code;
        sel.appendChild(opt);
      });
    if (state.selected) sel.value = state.selected;
  }

  document.querySelectorAll("#level-switch input").forEach((input) => {
    input.addEventListener("change", () => {
      if (!input.checked) return;
      ctx.editor.cancelMode();
      state.level = Number(input.value);
      state.selected = null;
      load();
    });
  });

  return { grids, load, select, restyle };
}
