/* The map page's popups and labels, built as DOM nodes: data never becomes HTML. */
import { el, formatArea } from "../core/format.js";

export function createPopups(ctx) {
  const { cfg, T } = ctx;

  function kindLabel(kind) { return (cfg.kinds && cfg.kinds[kind]) || kind || ""; }
  function levelLabel(level) { return T["levelName" + level] || String(level); }

  function definitionList() {
    const dl = el("dl");
    dl.row = (label, value) => {
      dl.appendChild(el("dt", null, label));
      dl.appendChild(el("dd", null, value === null || value === undefined || value === "" ? T.none : value));
    };
    return dl;
  }

  /** A grid's popup: name, code, level, kind, parent, unit, area. */
  function buildPopupContent(props) {
    props = props || {};
    const box = el("div", "grid-popup");
    box.appendChild(el("h3", "grid-popup-name", props.name));
    const dl = definitionList();
    dl.row(T.code, props.code);
    dl.row(T.level, levelLabel(props.level));
    dl.row(T.kind, kindLabel(props.kind));
    if (props.parent_code) dl.row(T.parent, props.parent_code);
    dl.row(T.unit, props.unit);
    dl.row(T.area, formatArea(props.area_m2));
    box.appendChild(dl);
    return box;
  }

  function buildLabel(props) { return el("span", "grid-label-text", props && props.name); }

  /** A blind spot's popup: its community, area and the reports inside it. */
  function buildBlindSpotPopup(props) {
    const box = el("div", "grid-popup blind-popup");
    box.appendChild(el("h3", "grid-popup-name", (props.community_name || "") + " · " + T.statusBlindSpot));
    const dl = definitionList();
    dl.row(T.communityCode, props.community_code);
    // A blind spot is closed by drawing a grid over it: the planner wants its exact m² beside
    // the readable size ("5.17 公顷 (51,710 m²)").
    const a = Number(props.area_m2) || 0;
    dl.row(T.area, formatArea(a) + (Math.abs(a) >= 1e4 ? " (" + Math.round(a).toLocaleString("en-US") + " m²)" : ""));
    const items = props.items;
    dl.row(T.reportsInside, Array.isArray(items) ? items.length : (Number(items) || 0));
    box.appendChild(dl);
    return box;
  }

  return { kindLabel, levelLabel, buildPopupContent, buildLabel, buildBlindSpotPopup };
}
