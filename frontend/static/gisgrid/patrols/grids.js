/* The patrols page's grid map: grids coloured by how well they were patrolled in the period,
 * with tooltips, popups and zoom-to from the lists. */
import { el, formatDistance, formatDuration, formatPercent } from "../core/format.js";
import { geoJsonLayer } from "../core/mapbase.js";
import { fmtTime } from "./time.js";

// Coverage classes, worst to best: nobody came (red), then an amber scale, then green.
export const COLORS = {
  none: { fill: "#d32f2f", line: "#8e1b1b" },
  low: { fill: "#ef6c00", line: "#a84300" },
  mid: { fill: "#ffa000", line: "#a86a00" },
  high: { fill: "#ffd54f", line: "#a68a1f" },
  good: { fill: "#43a047", line: "#1b5e20" },
};
const HIGHLIGHT = { color: "#e6007e", weight: 4, opacity: 1 };

export function createGrids(ctx) {
  const { cfg, T, map, state } = ctx;
  const SHARE_GOOD = cfg.shareGood || 0.8;

  function coverageClass(row) {
    if (!row || !row.visited) return "none";
    const s = Number(row.share) || 0;
    if (s >= SHARE_GOOD) return "good";
    if (s >= 0.5) return "high";
    if (s >= 0.2) return "mid";
    return "low";
  }
  function colorFor(row) { return COLORS[coverageClass(row)].fill; }
  function gridStyle(row) {
    const c = COLORS[coverageClass(row)];
    return { color: c.line, weight: 1, opacity: 0.9, fillColor: c.fill, fillOpacity: 0.55 };
  }

  function buildGridTooltip(row) {
    const box = el("span", "grid-tip");
    box.appendChild(el("strong", null, row.name));
    box.appendChild(document.createTextNode(" · " + (row.visited ? formatPercent(row.share) : T.unvisited)));
    return box;
  }
  function buildGridPopup(row) {
    const box = el("div", "grid-popup");
    box.appendChild(el("h3", "grid-popup-name", row.name));
    const dl = el("dl");
    function line(label, value) {
      dl.appendChild(el("dt", null, label));
      dl.appendChild(el("dd", null, value === null || value === undefined || value === "" ? T.none : value));
    }
    line(T.code, row.code);
    line(T.status, row.visited ? T.visited : T.unvisited);
    line(T.share, formatPercent(Number(row.share) || 0));
    line(T.time, formatDuration(row.time_s));
    line(T.distance, formatDistance(Number(row.distance_m) || 0));
    line(T.visitors, (row.visitors || []).map((v) => v.name).join("、"));
    line(T.firstSeen, fmtTime(row.first_seen));
    line(T.lastSeen, fmtTime(row.last_seen));
    box.appendChild(dl);
    return box;
  }

  function drawGrids(fc, rows, fit) {
    if (state.layer) map.removeLayer(state.layer);
    state.byCode = {};
    state.highlighted = null;
    state.layer = geoJsonLayer(map, null, {
      pane: "grids",
      filter: (f) => !!rows[f.properties.code],
      style: (f) => gridStyle(rows[f.properties.code]),
      onEachFeature(feature, layer) {
        const row = rows[feature.properties.code];
        state.byCode[row.code] = layer;
        layer.bindTooltip(() => buildGridTooltip(row), { sticky: true, className: "grid-tip-box" });
        layer.bindPopup(() => buildGridPopup(row), { maxWidth: 340 });
        layer.on("mouseover", () => layer.setStyle({ weight: 2.5 }));
        layer.on("mouseout", () => { if (state.highlighted !== layer) layer.setStyle(gridStyle(row)); });
      },
    });
    state.layer.addData(fc);
    state.layer.addTo(map);
    // For tests and the stylesheet: each path says which grid it is and how it is covered.
    Object.keys(state.byCode).forEach((code) => {
      const path = state.byCode[code].getElement && state.byCode[code].getElement();
      if (path) {
        path.setAttribute("data-code", code);
        path.setAttribute("data-coverage", coverageClass(rows[code]));
      }
    });
    if (fit) {
      const b = state.layer.getBounds();
      if (b.isValid()) map.fitBounds(b, { padding: [20, 20], animate: false });
    }
  }

  function zoomToGrid(code) {
    const layer = state.byCode[code];
    if (!layer) return;
    if (state.highlighted && state.highlighted !== layer) {
      state.highlighted.setStyle(gridStyle(state.rows[state.highlighted.feature.properties.code]));
    }
    layer.setStyle(HIGHLIGHT);
    layer.bringToFront();
    state.highlighted = layer;
    map.fitBounds(layer.getBounds(), { padding: [40, 40], maxZoom: 17, animate: false });
    layer.openPopup(layer.getBounds().getCenter());
  }

  /** A list item that zooms to a grid (disabled when the grid is not drawn). */
  function gridButton(code, name) {
    const li = el("li");
    const btn = el("button", "grid-link");
    btn.type = "button";
    btn.dataset.code = code;
    btn.appendChild(el("span", "grid-name", name));
    btn.appendChild(el("span", "grid-code", code));
    btn.disabled = !state.byCode[code];
    btn.addEventListener("click", () => zoomToGrid(code));
    li.appendChild(btn);
    return li;
  }

  return { coverageClass, colorFor, drawGrids, zoomToGrid, gridButton };
}
