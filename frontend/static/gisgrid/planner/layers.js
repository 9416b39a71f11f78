/* The planner's map layers besides the grids: context (level 1 under finer levels), findings
 * (with the blind-spot hatch), diff pieces and the blind-spot layer. None is editable or a
 * snapping target for the drawing tools. */
import { el, formatArea } from "../core/format.js";
import { geoJsonLayer } from "../core/mapbase.js";

export const STYLES = {
  context: { color: "#1b2a3a", weight: 2.5, opacity: 0.7, fill: false, interactive: false },
  1: { color: "#1b2a3a", weight: 2.5, opacity: 0.95, fillColor: "#3b6ea5", fillOpacity: 0.05 },
  2: { color: "#3b6ea5", weight: 1.4, opacity: 0.95, fillColor: "#3b6ea5", fillOpacity: 0.05 },
  3: { color: "#b35400", weight: 1.2, opacity: 0.95, fillColor: "#f39c34", fillOpacity: 0.2 },
};
export const FINDING_STYLES = {
  error: { color: "#d50000", weight: 3, fillColor: "#ff1744", fillOpacity: 0.45 },
  warning: { color: "#ef6c00", weight: 2, fillColor: "#ff9800", fillOpacity: 0.4 },
  info: { color: "#616161", weight: 1, dashArray: "3 3", fillColor: "#9e9e9e", fillOpacity: 0.35 },
  blind: { color: "#616161", weight: 1, dashArray: "3 3", fillColor: "url(#planner-hatch)", fillOpacity: 0.6 },
};
const DIFF_STYLES = {
  gained: { color: "#1b5e20", weight: 2, fillColor: "#43a047", fillOpacity: 0.5 },
  lost: { color: "#b71c1c", weight: 2, fillColor: "#e53935", fillOpacity: 0.5 },
};
const IGNORE = { pmIgnore: true, snapIgnore: true };

// Hatch pattern for blind spots, inside the findings renderer's SVG.
function addHatch(renderer) {
  const svg = renderer._container;
  if (!svg) return;
  const ns = "http://www.w3.org/2000/svg";
  const defs = document.createElementNS(ns, "defs");
  const pat = document.createElementNS(ns, "pattern");
  pat.setAttribute("id", "planner-hatch");
  pat.setAttribute("patternUnits", "userSpaceOnUse");
  pat.setAttribute("width", "8");
  pat.setAttribute("height", "8");
  pat.setAttribute("patternTransform", "rotate(45)");
  const bg = document.createElementNS(ns, "rect");
  bg.setAttribute("width", "8"); bg.setAttribute("height", "8"); bg.setAttribute("fill", "rgba(158,158,158,0.35)");
  const line = document.createElementNS(ns, "line");
  line.setAttribute("x1", "0"); line.setAttribute("y1", "0"); line.setAttribute("x2", "0"); line.setAttribute("y2", "8");
  line.setAttribute("stroke", "#616161"); line.setAttribute("stroke-width", "3");
  pat.appendChild(bg); pat.appendChild(line); defs.appendChild(pat); svg.insertBefore(defs, svg.firstChild);
}

export function createLayers(ctx) {
  const { T, map } = ctx;
  [["context", 405], ["grids", 420], ["diffs", 440], ["findings", 450], ["drawing", 460]].forEach(([name, z]) => {
    map.createPane(name).style.zIndex = String(z);
  });
  const findingsRenderer = window.L.svg({ pane: "findings" });
  map.addLayer(findingsRenderer);
  addHatch(findingsRenderer);

  const context = geoJsonLayer(map, null, Object.assign({ pane: "context", style: STYLES.context, interactive: false },
    IGNORE)).addTo(map);
  const findings = geoJsonLayer(map, null, Object.assign({ pane: "findings", renderer: findingsRenderer }, IGNORE))
    .addTo(map);
  const diff = geoJsonLayer(map, null, Object.assign({
    pane: "diffs",
    style: (f) => DIFF_STYLES[f.properties.diff] || DIFF_STYLES.gained,
    onEachFeature(feature, layer) {
      const p = feature.properties;
      layer.bindTooltip(el("span", null, (p.diff === "gained" ? T.diffGained : T.diffLost) + " · " + p.name + " · " +
        formatArea(p.area_m2)), { sticky: true });
    },
  }, IGNORE)).addTo(map);
  const blind = geoJsonLayer(map, null, Object.assign({
    pane: "findings", renderer: findingsRenderer,
    style: () => FINDING_STYLES.blind,
    onEachFeature(feature, layer) {
      const p = feature.properties || {};
      layer.bindPopup(() => {
        const box = el("div", "grid-popup");
        box.appendChild(el("h3", null, T.blindSpot));
        const dl = el("dl");
        [[T.area, formatArea(p.area_m2)], [T.community, (p.community_name || "") + "（" + (p.community_code || "") + "）"],
         [T.items, String((p.items || []).length)]].forEach(([label, value]) => {
          dl.appendChild(el("dt", null, label));
          dl.appendChild(el("dd", null, value));
        });
        box.appendChild(dl);
        return box;
      });
    },
  }, IGNORE));
  return { context, findings, diff, blind, findingsRenderer, IGNORE };
}
