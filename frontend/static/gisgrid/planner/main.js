/* 网格规划 (/planner/): planners and admins edit draft editions through the planner API.
 * This module wires the parts and holds what they share:
 *   layers.js    panes and the non-grid layers       editions.js  edition picker, new draft
 *   grids.js     the edition's grids, selection       editor.js    drawing and editing tools
 *   findings.js  the validation panel                 review.js    validate, diff, publish, blind spots
 *   errors.js    reacting to error codes (never to message text)
 * Configuration: json_script "planner-config"; strings: #planner-strings (web/planner.html).
 * window.gisgridPlanner is for tests and the console.
 */
import { ApiError, api } from "../core/api.js";
import { createBusy } from "../core/busy.js";
import { byId as $, formatArea } from "../core/format.js";
import { pageConfig, strings } from "../core/i18n.js";
import { createMap } from "../core/mapbase.js";
import { errorText } from "../core/messages.js";
import { DRAW_OPTIONS, createEditor } from "./editor.js";
import { createEditions } from "./editions.js";
import { RELOAD_CODES, errorMessage } from "./errors.js";
import { createFindings } from "./findings.js";
import { createGrids } from "./grids.js";
import { createLayers } from "./layers.js";
import { createReview } from "./review.js";

const cfg = pageConfig("planner-config");
const T = strings("planner-strings");
const root = document.documentElement;
const PANES = { layerPane: "drawing", vertexPane: "markerPane", markerPane: "markerPane" };

function setStatus(text, kind) {
  const s = $("status");
  s.textContent = text || "";
  s.className = "status" + (kind ? " " + kind : "");
}
function hint(text) { $("tool-hint").textContent = text || ""; }
function camelKey(prefix, value) {
  return prefix + String(value || "").split("_").map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("");
}

// Busy counter: tests (and the cursor) wait on data-busy="0".
const busy = createBusy();
const call = (path, opts) => busy.track(api(path, opts));

const map = createMap("map", Object.assign({}, cfg, { maxZoom: 20 }));
map.pm.setGlobalOptions(Object.assign({ panes: PANES }, DRAW_OPTIONS));
if (map.pm.setLang) map.pm.setLang(root.lang === "en" ? "en" : "zh");

const state = { editions: [], edition: null, level: 2, selected: null, mode: null, drawn: null, reshapeLayer: null,
                mergeOther: null };
const ctx = {
  cfg, T, map, root, state, call, setStatus, hint,
  levelName: (level) => T["levelName" + level] || String(level),
  statusName: (status) => T[camelKey("status", status)] || status,
  kindName: (kind) => T[camelKey("kind", kind)] || kind,
  gridText(code) {
    const f = ctx.grids.grids.byCode[code];
    return f ? f.properties.name + "（" + code + "）" : code;
  },
  isDraft: () => !!(state.edition && state.edition.status === "draft"),
  refreshToolState() {
    const editable = ctx.isDraft() && !state.mode;
    document.querySelectorAll(".edit-tool").forEach((b) => { b.disabled = !ctx.isDraft() || !!state.mode; });
    $("validate").disabled = !state.edition;
    $("diff").disabled = !state.edition;
    $("import-file").disabled = !ctx.isDraft();
    $("import-level").disabled = !ctx.isDraft();
    root.dataset.editable = editable ? "1" : "0";
  },
  /** A refused request: reload on the codes that say the page is out of date, show the
   * findings a refusal carries, and the message otherwise. Decided by err.code alone. */
  showError(err) {
    if (err instanceof ApiError) root.dataset.errorCode = err.code;
    if (err instanceof ApiError && RELOAD_CODES[err.code]) {
      setStatus(errorMessage(err, T), "error");
      if (err.code === "stale_version") root.dataset.stale = "1";
      // Reload the edition list and the draft's grids at their current version.
      return ctx.editions.load(state.edition && state.edition.id);
    }
    if (err instanceof ApiError && err.body && err.body.findings) ctx.findings.show(err.body.findings);
    setStatus(errorMessage(err, T), "error");
    if (window.console) console.error(err);
    return undefined;
  },
};
ctx.layers = createLayers(ctx);
ctx.grids = createGrids(ctx);
ctx.findings = createFindings(ctx);
ctx.editions = createEditions(ctx);
ctx.editor = createEditor(ctx);
ctx.review = createReview(ctx);

ctx.refreshToolState();
const county = map.countyReady.then((fc) => {
  if (!fc) setStatus(T.loadFailed + "：" + errorText(map.countyError), "error");
});
const ready = Promise.all([county, ctx.editions.load()]).then(() => {
  root.dataset.plannerReady = "1";
}).catch(ctx.showError);

window.gisgridPlanner = {
  map, state, grids: ctx.grids.grids, ready, select: ctx.grids.select, reload: ctx.grids.load, formatArea,
};
