/* One case (/cases/<number>/): its head (state, clock, flags), facts, clocks, photos, work
 * orders, timeline and likely duplicates (case_sections.js), and the actions the viewer may take
 * (actions.js). After a transition the page shows the case the API answered with. */
import { api } from "../core/api.js";
import { byId, el, formatTime } from "../core/format.js";
import { fmt } from "../core/i18n.js";
import { createActions } from "./actions.js";
import { showDuplicates, showOrders, showPhotos, showTimeline } from "./case_sections.js";
import { dueText } from "./clock.js";
import { errorMessage } from "./errors.js";
import { refreshUnread } from "./nav.js";
import { busy, config, loading, ready, setStatus } from "./page.js";
import { T, label } from "./strings.js";

function fact(id, value) {
  byId(id).textContent = value === null || value === undefined ? "" : value;
}

function showHead(c) {
  const stateNode = byId("c-state");
  stateNode.textContent = label(config.states, c.state);
  stateNode.className = "state-badge state-" + c.state;
  stateNode.dataset.state = c.state;
  const clockNode = byId("c-clock");
  clockNode.textContent = label(config.clocks, c.clock);
  clockNode.className = "clock-badge clock-" + c.clock;
  clockNode.dataset.clock = c.clock;
  const flags = byId("c-flags");
  flags.textContent = "";
  if (c.supervised) flags.appendChild(el("span", "flag flag-supervised", T.supervised));
  if (c.paused) flags.appendChild(el("span", "flag flag-paused", T.paused));
  if (c.outside) flags.appendChild(el("span", "flag flag-outside", T.outside));
  if (c.round > 1) flags.appendChild(el("span", "flag", fmt(T.round, { n: c.round })));
  byId("c-summary").textContent = c.category.name + " · " + (c.address || "") + " · " + formatTime(c.reported_at);
}

function showFacts(c) {
  fact("c-category", c.category.code + " " + c.category.name);
  fact("c-severity", label(config.severities, c.severity));
  fact("c-channel", label(config.channels, c.channel));
  fact("c-address", c.address);
  fact("c-description", c.description);
  // The point as stored (WGS-84), and as it was given when given in another datum.
  fact("c-point", c.wgs84[0].toFixed(6) + ", " + c.wgs84[1].toFixed(6) +
    (c.input.crs !== "wgs84" ? "（" + c.input.crs + ": " + c.input.lon + ", " + c.input.lat + "）" : ""));
  const g = c.routing.grids;
  fact("c-grids", [g.level1, g.level2, g.level3].filter(Boolean).join(" / "));
  fact("c-rule", c.routing.rule);
  fact("c-lead", c.units.lead ? c.units.lead.name : "");
  fact("c-assisting", c.units.assisting.map((u) => u.name).join("、"));
  fact("c-reporter", c.reporter ? c.reporter.name + (c.reporter.phone ? " " + c.reporter.phone : "") : "");
  fact("c-result", c.result_text);
}

function showClock(c) {
  const k = c.clock_detail;
  fact("k-stage", label(config.stages, k.stage));
  fact("k-stage-due", dueText(k.stage_due));
  fact("k-dispatch-due", formatTime(k.dispatch_due));
  fact("k-complete-due", formatTime(k.complete_due));
  fact("k-extended", k.extended_days ? fmt(T.extensionDays, { days: k.extended_days }) : T.none);
  const fallback = byId("k-fallback");
  fallback.hidden = !k.calendar_fallback;
  fallback.textContent = k.calendar_fallback ? T.fallback : "";
}

export function startCaseView() {
  let current = null;
  let duplicates = [];

  function render(c) {
    showHead(c);
    showFacts(c);
    showClock(c);
    showPhotos(c);
    showOrders(c);
    showTimeline(c);
    actions.render(c);
    showDuplicates(c).then((list) => { duplicates = list; });
  }

  async function load() {
    loading();
    try {
      current = await busy.track(api(config.caseApi));
      render(current);
      setStatus("");
    } catch (err) {
      setStatus(errorMessage(err), "error");
    }
    ready();
  }

  const actions = createActions({
    getCase: () => current,
    getDuplicates: () => duplicates,
    onSaved(c) {
      current = c;
      render(c);
      setStatus(T.saved, "info");
      refreshUnread();
      ready();
    },
    reload: load,
  });

  load();
}
