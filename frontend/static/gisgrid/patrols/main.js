/* 巡查覆盖 (/patrols/): who patrolled which grid in a period, which grids nobody visited, where
 * everyone is now, and one person's replay. This module holds the period controls and wires:
 *   time.js      county time of the periods      grids.js     the coloured grid map
 *   coverage.js  counts, unvisited, people        schedule.js  the inspectors' duty
 *   live.js      last positions                   replay.js    one person's tracks
 * Configuration: json_script "patrols-config"; strings: #patrols-strings (web/patrols.html).
 * window.gisgridPatrols is for tests and the console.
 */
import { api, apiUrl } from "../core/api.js";
import { createBusy } from "../core/busy.js";
import { byId as $, formatDuration } from "../core/format.js";
import { pageConfig, strings } from "../core/i18n.js";
import { createMap } from "../core/mapbase.js";
import { errorText, showMessage } from "../core/messages.js";
import { createCoveragePanel, personOf } from "./coverage.js";
import { COLORS, createGrids } from "./grids.js";
import { createLive } from "./live.js";
import { createReplay } from "./replay.js";
import { createSchedule } from "./schedule.js";
import { countyClock } from "./time.js";

const cfg = pageConfig("patrols-config");
const T = strings("patrols-strings");
const root = document.documentElement;
const clock = countyClock(cfg.utcOffsetMin);
const setStatus = (text, kind) => { const s = $("status"); s.textContent = text || ""; s.className = "status" + (kind ? " " + kind : ""); };
function roleName(role) {
  const key = "role" + String(role || "").split("_").map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join("");
  return T[key] || role || "";
}

// The county outline is context here; the map fits the grids of the chosen scope instead.
const map = createMap("map", Object.assign({}, cfg, { fitCounty: false }));
[["grids", 420], ["track", 450], ["idle", 455], ["live", 620], ["replay", 640]].forEach(([name, z]) => {
  map.createPane(name).style.zIndex = String(z);
});

const state = {
  start: 0, end: 0, preset: "week", scope: "3u",
  coverage: null, rows: {}, byCode: {}, layer: null, fittedScope: null, highlighted: null,
};
const busy = createBusy();
const ctx = { cfg, T, map, state, busy, roleName, setStatus };
const grids = createGrids(ctx);
const replayer = createReplay(ctx);
ctx.selectedPerson = () => replayer.replay.person;
const panel = createCoveragePanel(ctx, grids, (person) => replayer.start(person, period()));
const schedule = createSchedule(ctx, grids);
const live = createLive(ctx);

// ---- period and scope ----------------------------------------------------------------------
function period() { return { start: clock.isoParam(state.start), end: clock.isoParam(state.end) }; }
function scopeParams(scope) {
  if (scope === "2") return { level: 2, urban: false };
  return { level: 3, urban: scope === "3u" };
}
function coverageParams(format) {
  const s = scopeParams(state.scope);
  return Object.assign(period(), { level: s.level, urban: s.urban ? 1 : undefined, format });
}
function showPeriod() {
  $("period-start").value = clock.toInput(state.start);
  $("period-end").value = clock.toInput(state.end);
  document.querySelectorAll(".quick-periods button").forEach((b) => {
    b.setAttribute("aria-pressed", b.dataset.period === state.preset ? "true" : "false");
    b.classList.toggle("active", b.dataset.period === state.preset);
  });
}
function usePreset(name) {
  [state.start, state.end] = clock.presetPeriod(name);
  state.preset = name;
  showPeriod();
  return loadCoverage();
}
document.querySelectorAll(".quick-periods button").forEach((b) => {
  b.addEventListener("click", () => usePreset(b.dataset.period));
});
$("period-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const startText = $("period-start").value, endText = $("period-end").value;
  if (!startText || !endText) { setStatus(T.badPeriod, "error"); return; }
  // An input left as shown keeps the exact moment it stands for (the "now" of 本周 has seconds).
  const start = startText === clock.toInput(state.start) ? state.start : clock.fromInput(startText);
  const end = endText === clock.toInput(state.end) ? state.end : clock.fromInput(endText);
  if (!isFinite(start) || !isFinite(end)) { setStatus(T.badPeriod, "error"); return; }
  state.start = start;
  state.end = end;
  state.preset = null;
  showPeriod();
  loadCoverage();
});
document.querySelectorAll("#grid-scope input").forEach((input) => {
  input.addEventListener("change", () => {
    if (!input.checked) return;
    state.scope = input.value;
    loadCoverage();
  });
});

// ---- grids (fetched once per level) and coverage -----------------------------------------------
const geometry = {}; // level -> Promise of the level's FeatureCollection
function loadGeometry(level) {
  if (!geometry[level]) {
    const simplify = (cfg.simplify && cfg.simplify[level]) || 0;
    geometry[level] = busy.track(api(cfg.api.grids, { params: { level, simplify } }));
    geometry[level].catch(() => { delete geometry[level]; });
  }
  return geometry[level];
}

let loadSeq = 0;
function loadCoverage() {
  const seq = ++loadSeq;
  const scope = state.scope;
  const level = scopeParams(scope).level;
  $("csv-coverage").href = apiUrl(cfg.api.coverage, coverageParams("csv"));
  root.dataset.coverage = "";
  setStatus(T.loading);
  schedule.load(period(), () => seq === loadSeq, seq);
  return Promise.all([busy.track(api(cfg.api.coverage, { params: coverageParams() })), loadGeometry(level)])
    .then(([cov, fc]) => {
      if (seq !== loadSeq) return;
      panel.showCoverage(cov, fc, state.fittedScope !== scope);
      state.fittedScope = scope;
      setStatus("");
      root.dataset.coverage = String(seq);
      const current = replayer.replay.person;
      if (current) { // the same person, the new period
        const again = (cov.people || []).filter((p) => p.person_id === current.id)[0];
        replayer.start(again ? personOf(again) : Object.assign({}, current, { idle: [] }), period());
      }
    }).catch((err) => {
      if (seq !== loadSeq) return;
      panel.clearCoverage();
      setStatus(T.loadFailed + "：" + errorText(err), "error");
      root.dataset.coverage = "error";
    });
}

// ---- start -------------------------------------------------------------------------------------
const county = map.countyReady.then((fc) => {
  if (!fc) setStatus(T.loadFailed + "：" + errorText(map.countyError), "error");
});
const ready = Promise.all([county, usePreset("week")]).then(() => { root.dataset.patrolsReady = "1"; });
live.setLive(true);

window.gisgridPatrols = {
  map, state, replay: replayer.replay, live: live.live, ready,
  colorFor: grids.colorFor, coverageClass: grids.coverageClass, colors: COLORS,
  usePreset, reload: loadCoverage, loadLive: live.loadLive, seek: replayer.seek,
  isoParam: clock.isoParam, fmtDuration: formatDuration,
};
