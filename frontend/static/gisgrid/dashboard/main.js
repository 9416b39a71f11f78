/* /dashboard/: the leaders' dashboard. One request (GET /api/v1/cases/stats) feeds every figure:
 * tiles, four charts (charts.js), the choropleth (choropleth.js) and the overdue list. Live:
 * every `case` event schedules a recount, debounced (config.debounceMs), so a burst of changes
 * costs one request.
 */
import { api } from "../core/api.js";
import { createBusy } from "../core/busy.js";
import { subscribe } from "../core/events.js";
import { byId, el, formatDuration, formatPercent, formatTime } from "../core/format.js";
import { fmt, pageConfig, strings } from "../core/i18n.js";
import { createMap } from "../core/mapbase.js";
import { showError, showMessage } from "../core/messages.js";
import { categoryOption, createChart, onTimeOption, stateOption, townOption } from "./charts.js";
import { createChoropleth } from "./choropleth.js";

const config = pageConfig();
const T = strings();
const busy = createBusy();
const root = document.documentElement;
const status = byId("status");
const form = byId("period");

const charts = {
  state: createChart(byId("c-state")),
  category: createChart(byId("c-category")),
  town: createChart(byId("c-town")),
  onTime: createChart(byId("c-ontime")),
};
const map = createMap("map", Object.assign({}, config, { scale: false }));
const choropleth = createChoropleth(map, config);

function day(ms) {
  return formatTime(ms, { time: false });
}

(function defaults() {
  const now = Date.now();
  byId("p-end").value = day(now);
  byId("p-start").value = day(now - (config.periodDays - 1) * 86400000);
}());

function params() {
  const start = byId("p-start").value, end = byId("p-end").value;
  // County days: [start 00:00, the day after end 00:00) at +08:00.
  const next = new Date(Date.parse(end + "T00:00:00+08:00") + 86400000);
  return { start: start + "T00:00:00+08:00", end: day(next.getTime()) + "T00:00:00+08:00",
           bucket: byId("p-bucket").value, level: byId("p-level").value };
}

function overdue(rows, count) {
  const body = byId("overdue-body");
  body.textContent = "";
  rows.forEach((r) => {
    const tr = el("tr");
    tr.dataset.number = r.number;
    const td = el("td");
    const a = el("a", null, r.number);
    a.href = config.api.casePage.replace("NUMBER", encodeURIComponent(r.number));
    td.appendChild(a);
    tr.appendChild(td);
    tr.appendChild(el("td", null, r.category_name));
    tr.appendChild(el("td", null, r.address));
    tr.appendChild(el("td", null, r.lead_unit || ""));
    tr.appendChild(el("td", null, config.stages[r.stage] || r.stage));
    tr.appendChild(el("td", "num", r.overdue_s === null ? "" : formatDuration(r.overdue_s)));
    body.appendChild(tr);
  });
  byId("overdue-count").textContent = "(" + count + ")";
}

let seq = 0;
function recount() {
  if (!byId("p-start").value || !byId("p-end").value) {
    showMessage(status, T.badPeriod, "error");
    return Promise.resolve();
  }
  const mine = ++seq;
  const p = params();
  return busy.track(api(config.api.stats, { params: p })).then((s) => {
    if (mine !== seq) return;
    byId("t-total").textContent = String(s.summary.total);
    byId("t-open").textContent = String(s.summary.open);
    byId("t-red").textContent = String(s.summary.red);
    byId("t-yellow").textContent = String(s.summary.yellow);
    const done = s.on_time.reduce((n, r) => n + r.completed, 0);
    const kept = s.on_time.reduce((n, r) => n + r.on_time, 0);
    byId("t-ontime").textContent = done ? formatPercent(kept / done) : "–";
    charts.state.setOption(stateOption(s.by_state, T), true);
    charts.category.setOption(categoryOption(s.by_category, T), true);
    charts.town.setOption(townOption(s.by_town, T, config.gridNames), true);
    charts.onTime.setOption(onTimeOption(s.on_time, T), true);
    overdue(s.overdue, s.overdue_count);
    showMessage(status, fmt(T.updated, { t: formatTime(s.at, { seconds: true }) }), "ok");
    root.dataset.statsTotal = String(s.summary.total);
    root.dataset.statsAt = s.at;
    return choropleth.show(Number(p.level), s.by_grid);
  }).catch((err) => {
    if (mine === seq) showError(status, err);
  });
}

let timer = null;
function schedule() {
  if (timer) return;
  timer = window.setTimeout(() => { timer = null; recount(); }, config.debounceMs);
}

form.addEventListener("submit", (e) => { e.preventDefault(); recount(); });
["p-bucket", "p-level"].forEach((id) => byId(id).addEventListener("change", () => recount()));

const liveState = byId("live-state");
subscribe({
  url: config.api.events,
  topics: ["case"],
  onEvent(kind, data, id) {
    root.dataset.lastEventId = String(id);
    schedule();
  },
  onReset() { recount(); },
  onState(state) {
    liveState.dataset.state = state;
    liveState.textContent = { open: T.liveOpen, reconnecting: T.liveReconnecting, closed: T.liveClosed }[state] || state;
    root.dataset.live = state;
  },
});

recount();
window.gisgridDashboard = { charts, map, recount };
