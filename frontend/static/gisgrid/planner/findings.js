/* The planner's validation panel: findings (gaps, overlaps, invalid shapes, blind spots) listed
 * by severity and drawn on the map; a click zooms to one. */
import { byId as $, el, formatArea } from "../core/format.js";
import { geoJsonLayer } from "../core/mapbase.js";
import { FINDING_STYLES } from "./layers.js";

export function createFindings(ctx) {
  const { T, map, root, layers, kindName, gridText } = ctx;
  const L = window.L;

  function findingStyle(f) {
    if (f.kind === "blind_spot") return FINDING_STYLES.blind;
    return FINDING_STYLES[f.severity] || FINDING_STYLES.info;
  }
  // An invalid geometry is found at a point (where GEOS says the ring crosses itself): a ring
  // marker drawn on the findings pane, not a default pin image.
  function findingPoint(f, latlng) {
    return L.circleMarker(latlng, Object.assign({}, findingStyle(f), {
      pane: "findings", renderer: layers.findingsRenderer, radius: 9, fillOpacity: 0.25,
    }));
  }
  function findingLocation(f) {
    const loc = f.details && f.details.location;
    if (!loc || loc.length !== 2) return "";
    return T.location + "：" + Number(loc[0]).toFixed(6) + ", " + Number(loc[1]).toFixed(6);
  }
  function findingTitle(f) {
    const what = f.kind === "invalid" || f.kind === "repaired" ? findingLocation(f) : formatArea(f.area_m2);
    return "[" + (T["sev" + f.severity.charAt(0).toUpperCase() + f.severity.slice(1)] || f.severity) + "] " +
      kindName(f.kind) + (what ? " · " + what : "");
  }

  function clear() {
    layers.findings.clearLayers();
    $("findings").hidden = true;
    $("findings-list").textContent = "";
  }

  function show(findings, errors) {
    findings = findings || [];
    clear();
    const counts = { error: 0, warning: 0, info: 0 };
    findings.forEach((f) => { counts[f.severity] = (counts[f.severity] || 0) + 1; });
    if (errors === undefined || errors === null) errors = counts.error;
    const summary = $("findings-summary");
    summary.textContent = T.errors + " " + errors + " · " + T.warnings + " " + counts.warning + " · " + T.infos + " " +
      counts.info;
    summary.dataset.errors = String(errors);
    summary.dataset.warnings = String(counts.warning);
    summary.classList.toggle("has-errors", errors > 0);
    const list = $("findings-list");
    const order = { error: 0, warning: 1, info: 2 };
    findings.slice().sort((a, b) => (order[a.severity] - order[b.severity]) || (b.area_m2 - a.area_m2)).forEach((f) => {
      const li = el("li", "finding finding-" + f.severity + (f.kind === "blind_spot" ? " finding-blind" : ""));
      li.dataset.kind = f.kind;
      const btn = el("button", "finding-btn");
      btn.type = "button";
      btn.appendChild(el("span", "finding-title", findingTitle(f)));
      btn.appendChild(el("span", "finding-codes", (f.codes || []).map(gridText).join("、")));
      if (f.message) btn.appendChild(el("span", "finding-msg", f.message));
      let layer = null;
      if (f.geometry) {
        layer = geoJsonLayer(map, { type: "Feature", geometry: f.geometry, properties: f }, Object.assign({
          pane: "findings", renderer: layers.findingsRenderer,
          style: () => findingStyle(f),
          pointToLayer: (feature, latlng) => findingPoint(f, latlng),
          onEachFeature: (feature, l) => l.bindTooltip(el("span", null, findingTitle(f)), { sticky: true }),
        }, layers.IGNORE));
        layers.findings.addLayer(layer);
      } else {
        btn.disabled = true;
      }
      btn.addEventListener("click", () => {
        if (!layer) return;
        const b = layer.getBounds();
        if (b.isValid()) map.fitBounds(b, { padding: [60, 60], maxZoom: 18, animate: false });
      });
      li.appendChild(btn);
      list.appendChild(li);
    });
    if (!findings.length) list.appendChild(el("li", "finding-none", T.noFindings));
    $("findings").hidden = false;
    root.dataset.findingsErrors = String(errors);
  }

  return { show, clear };
}
