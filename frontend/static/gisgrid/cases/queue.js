/* The centre's queue (/cases/): every open case, the most urgent clock first, with the counts
 * per clock and the filters. The hotline form on the same page is hotline.js. */
import { api } from "../core/api.js";
import { byId, el, formatTime } from "../core/format.js";
import { clockBadge, dueText } from "./clock.js";
import { config } from "./page.js";
import { T } from "./strings.js";
import { caseLink, cell, pagedList, stateBadge } from "./views.js";

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

  const load = pagedList({
    url: config.api.cases, bodyId: "queue-body", row, emptyText: T.empty, columns: 8,
    params(f, page) {
      const q = { order: "clock", page, clock: f.clock, category: f.category, grid: f.grid, unit: f.unit, q: f.q };
      if (f.state) q.state = f.state;
      else q.status = "open";
      return q;
    },
  });
  counts();
  load();
}
