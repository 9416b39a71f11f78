/* /dispatch/: the dispatcher's workbench. Wires the modules of this folder together:
 *
 *   store.js        the cases (snapshot + pushed changes, filtered)
 *   cases_layer.js  clustered markers coloured by clock
 *   queue.js        the centre's queue beside the map
 *   case_panel.js   one case and the loop's actions
 *   people.js       inspectors and grid members live, with 30-minute trails
 *   grid_panel.js   a grid's staff, unit, open cases and this week's coverage
 *   overlays.js     grids, blind spots, the heatmap
 *   search.js       case number, grid code or address
 *
 * Order at start: the push stream is opened first and its events are held until the snapshot
 * is drawn, then applied on top (a record's version decides), so nothing that changes while
 * the snapshot loads is lost. `reset` (the server lost our place) reloads the snapshot.
 */
import { api } from "../core/api.js";
import { createBusy } from "../core/busy.js";
import { subscribe } from "../core/events.js";
import { byId, el, escapeHtml } from "../core/format.js";
import { fmt, pageConfig, strings } from "../core/i18n.js";
import { createMap } from "../core/mapbase.js";
import { showError, showMessage } from "../core/messages.js";
import { createCasePanel } from "./case_panel.js";
import { createCasesLayer } from "./cases_layer.js";
import { createGridPanel } from "./grid_panel.js";
import { createOverlays } from "./overlays.js";
import { createPeopleLayer } from "./people.js";
import { createQueue } from "./queue.js";
import { createSearch } from "./search.js";
import { createStore, fromDetail, fromEvent, fromPoints } from "./store.js";

const config = pageConfig();
const T = strings();
const busy = createBusy();
const root = document.documentElement;
const status = byId("status");
const unitIdByCode = {};
(config.units || []).forEach((u) => { unitIdByCode[u.code] = u.id; });

const map = createMap("map", config);
const store = createStore();
const detail = byId("detail");

let selected = null;
const casePanel = createCasePanel({
  root: byId("case-panel"), config, T, busy,
  onCase(c) {
    store.apply(fromDetail(c, unitIdByCode));
  },
});
const gridPanel = createGridPanel({ root: byId("grid-panel"), config, T, busy, store });
const personPanel = byId("person-panel");

function showDetail(which) {
  detail.hidden = false;
  byId("case-panel").hidden = which !== "case";
  byId("grid-panel").hidden = which !== "grid";
  personPanel.hidden = which !== "person";
}

function selectCase(number) {
  selected = number;
  root.dataset.selected = number || "";
  layer.select(number);
  queue.select(number);
  if (number) {
    showDetail("case");
    casePanel.load(number);
  }
}

function selectGrid(code) {
  showDetail("grid");
  gridPanel.load(code);
}

function selectPerson(p) {
  showDetail("person");
  const d = people.describe(p);
  personPanel.textContent = "";
  personPanel.dataset.person = p.key;
  personPanel.appendChild(el("h2", null, d.name));
  personPanel.appendChild(el("p", null, T.lastFix + ": " + d.at + " (" + d.age + ")"));
}

byId("detail-close").addEventListener("click", () => {
  detail.hidden = true;
  casePanel.clear();
  gridPanel.clear();
  selectCase(null);
});

const layer = createCasesLayer(map, store, selectCase);
const queue = createQueue({ list: byId("queue"), count: byId("queue-count"), more: byId("queue-more"), store,
                            config, T, onSelect: selectCase });
const people = createPeopleLayer(map, { config, T, onSelect: selectPerson });
const overlays = createOverlays(map, { config, onGrid: selectGrid });
createSearch(map, { form: byId("search-form"), input: byId("search-input"), results: byId("search-results"),
                    config, T, busy, onCase: selectCase, onGrid: selectGrid });

layer.group.addTo(map);
layer.selectedLayer.addTo(map);
people.trails.addTo(map);
people.markers.addTo(map);
overlays.grids.addTo(map);
const overlayControl = {};
// Leaflet's layer control renders names as HTML: escaped, though they are our own strings.
overlayControl[escapeHtml(T.layerCases)] = layer.group;
overlayControl[escapeHtml(T.layerPeople)] = people.markers;
overlayControl[escapeHtml(T.layerTrails)] = people.trails;
overlayControl[escapeHtml(T.layerGrids)] = overlays.grids;
overlayControl[escapeHtml(T.layerBlind)] = overlays.blind;
overlayControl[escapeHtml(fmt(T.layerHeat, { n: config.heatDays }))] = overlays.heat;
window.L.control.layers(null, overlayControl, { collapsed: true, position: "topright" }).addTo(map);

// -- filters ------------------------------------------------------------------------------------

const filterForm = byId("filters");
(function fillFilters() {
  const cat = byId("f-category");
  Object.keys(config.categories).forEach((code) => {
    const o = el("option", null, code + " " + config.categories[code]);
    o.value = code;
    cat.appendChild(o);
  });
  const unit = byId("f-unit");
  (config.units || []).forEach((u) => {
    const o = el("option", null, u.name);
    o.value = String(u.id);
    unit.appendChild(o);
  });
}());

function readFilter() {
  const f = {};
  ["state", "clock", "category", "unit", "grid"].forEach((k) => {
    const v = filterForm.elements[k].value.trim();
    if (v) f[k] = v;
  });
  return f;
}

function filterParams(f) {
  const unit = (config.units || []).find((u) => String(u.id) === f.unit);
  return { status: "open", state: f.state, clock: f.clock, category: f.category, grid: f.grid,
           unit: unit ? unit.code : undefined };
}

// -- snapshot + push ----------------------------------------------------------------------------

let held = [];          // events that arrived while a snapshot was loading
let loading = false;
let loadSeq = 0;

function loadCases() {
  const mine = ++loadSeq;
  const f = readFilter();
  loading = true;
  showMessage(status, T.loading, "");
  const t0 = performance.now();
  return busy.track(api(config.api.points, { params: filterParams(f) })).then((answer) => {
    if (mine !== loadSeq) return;
    store.load(fromPoints(answer), f);
    loading = false;
    const queuedEvents = held;
    held = [];
    queuedEvents.forEach(handleEvent);
    queue.render();
    const n = store.cases.size;
    showMessage(status, fmt(T.loaded, { n }) + (answer.truncated ? " · " + fmt(T.truncated, { n }) : ""), "ok");
    root.dataset.casesLoaded = String(n);
    root.dataset.casesLoadMs = String(Math.round(performance.now() - t0));
    if (selected && store.get(selected)) layer.select(selected, { pan: false });
  }).catch((err) => {
    if (mine !== loadSeq) return;
    loading = false;
    showError(status, err);
  });
}

function handleEvent(ev) {
  const { kind, data, id } = ev;
  if (kind === "case") {
    if (loading) { held.push(ev); return; }
    const t0 = performance.now();
    const rec = fromEvent(data);
    store.apply(rec);
    casePanel.changed(rec);
    // Shown = the marker moved (synchronously above) and the queue redrawn (next frame).
    window.requestAnimationFrame(() => {
      root.dataset.lastCaseShownMs = (performance.now() - t0).toFixed(1);
      root.dataset.lastCaseShownAt = String(Math.round(performance.timeOrigin + performance.now()));
      root.dataset.lastCaseEvent = data.number + ":" + data.state + ":" + (rec.paused ? "paused" : data.clock);
    });
  } else if (kind === "position") {
    people.position(data);
  } else if (kind === "edition") {
    overlays.loadGrids();
    notice(fmt(T.edition, { name: data.name }));
  } else if (kind === "notice") {
    notice(T.notice + ": " + data.subject);
  }
  if (id !== null && id !== undefined) root.dataset.lastEventId = String(id);
}

const notices = byId("notices");
function notice(text) {
  const n = el("div", "notice", text);
  notices.prepend(n);
  window.setTimeout(() => n.remove(), 15000);
  while (notices.children.length > 5) notices.lastChild.remove();
}

const liveState = byId("live-state");
subscribe({
  url: config.api.events,
  topics: ["case", "position", "edition", "notice"],
  onEvent(kind, data, id) { handleEvent({ kind, data, id }); },
  onReset() {
    notice(T.liveReset);
    loadCases();
    people.load().catch(() => null);
  },
  onState(state) {
    liveState.dataset.state = state;
    liveState.textContent = { open: T.liveOpen, reconnecting: T.liveReconnecting, closed: T.liveClosed }[state] || state;
    root.dataset.live = state;
  },
});

filterForm.addEventListener("submit", (e) => {
  e.preventDefault();
  loadCases();
});

map.countyReady.then(() => {
  loadCases();
  overlays.loadGrids().catch((err) => showError(status, err));
  people.load().catch((err) => showError(status, err));
});

// For tests and the bench: the page's parts, read-only use.
window.gisgridDispatch = { map, store, layer, queue, people, overlays, casePanel, selectCase };
