/* The centre's queue (/cases/): every open case, the most urgent clock first, with the counts
 * per clock and the filters. The hotline form on the same page is hotline.js. */
import { api } from "../core/api.js";
import { byId, el, formatTime } from "../core/format.js";
import { clockBadge, dueText } from "./clock.js";
import { showError } from "./errors.js";
import { formValues } from "./forms.js";
import { busy, config, loading, ready, setStatus } from "./page.js";
import { T } from "./strings.js";
import { caseLink, cell, emptyRow, pager, stateBadge } from "./views.js";

const CLOCKS = ["red", "yellow", "green", "paused"];

function row(c) {
  const tr = el("tr", "clock-row-" + c.clock);
  tr.dataset.number = c.number;
  tr.appendChild(cell(clockBadge(c.clock)));
  tr.appendChild(cell(caseLink(c.number)));
  tr.appendChild(cell(c.category.code + " " + c.category.name));
  tr.appendChild(cell(c.address || c.description));
  const state = el("span");
  state.appendChild(stateBadge(c.state));
  if (c.supervised) state.appendChild(el("span", "flag flag-supervised", T.supervised));
  if (c.outside) state.appendChild(el("span", "flag flag-outside", T.outside));
  tr.appendChild(cell(state));
  tr.appendChild(cell(c.lead_unit ? c.lead_unit.name : ""));
  tr.appendChild(cell(dueText(c.stage_due)));
  tr.appendChild(cell(formatTime(c.reported_at)));
  return tr;
}

export function startQueue() {
  let page = 1;
  const stateSelect = byId("f-state");
  Object.keys(config.states).forEach((s) => {
    const o = el("option", "", config.states[s]);
    o.value = s;
    stateSelect.appendChild(o);
  });

  function counts() {
    CLOCKS.forEach((clock) => {
      api(config.api.cases, { params: { status: "open", clock, page_size: 1 } }).then(
        (data) => { byId("count-" + clock).textContent = String(data.count); },
        () => { byId("count-" + clock).textContent = "?"; });
    });
  }

  async function load() {
    loading();
    const f = formValues(byId("filters"));
    const params = { order: "clock", page, clock: f.clock, category: f.category, grid: f.grid, unit: f.unit, q: f.q };
    if (f.state) params.state = f.state;
    else params.status = "open";
    setStatus(T.loading);
    showError(byId("filter-error"), null);
    try {
      const data = await busy.track(api(config.api.cases, { params }));
      const body = byId("queue-body");
      body.textContent = "";
      data.results.forEach((c) => body.appendChild(row(c)));
      if (!data.results.length) body.appendChild(emptyRow(T.empty, 8));
      pager(byId("pager"), data, (p) => { page = p; load(); });
    } catch (err) {
      showError(byId("filter-error"), err);
    }
    setStatus("");
    ready();
  }

  byId("filters").addEventListener("submit", (e) => { e.preventDefault(); page = 1; load(); });
  counts();
  load();
}
