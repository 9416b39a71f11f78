/* A unit's work orders (/cases/unit/): its open (or all) orders with their clocks; the centre
 * may name any unit. */
import { api } from "../core/api.js";
import { byId, el, formatTime } from "../core/format.js";
import { clockBadge, dueText } from "./clock.js";
import { showError } from "./errors.js";
import { formValues } from "./forms.js";
import { busy, config, loading, ready, setStatus } from "./page.js";
import { T, label } from "./strings.js";
import { caseLink, cell, emptyRow, pager } from "./views.js";

function row(o) {
  const tr = el("tr", "clock-row-" + o.case.clock);
  tr.dataset.number = o.case.number;
  tr.appendChild(cell(clockBadge(o.case.clock)));
  tr.appendChild(cell(caseLink(o.case.number)));
  tr.appendChild(cell(o.case.category.code + " " + o.case.category.name));
  tr.appendChild(cell(o.case.address || o.case.description));
  tr.appendChild(cell(o.unit.name));
  tr.appendChild(cell(o.role === "lead" ? T.lead : T.assist));
  tr.appendChild(cell(label(config.workStates, o.work_state)));
  // Until it is signed for, the order's acknowledge deadline; after, when it was.
  tr.appendChild(cell(o.work_state === "dispatched" ? dueText(o.ack_due) : formatTime(o.acknowledged_at)));
  tr.appendChild(cell(dueText(o.due)));
  return tr;
}

export function startWorkOrders() {
  let page = 1;

  async function load() {
    loading();
    const f = formValues(byId("filters"));
    setStatus(T.loading);
    showError(byId("filter-error"), null);
    const params = { page, open: f.open ? "true" : "", clock: f.clock, q: f.q, unit: f.unit };
    try {
      const data = await busy.track(api(config.api.workorders, { params }));
      const body = byId("orders-body");
      body.textContent = "";
      data.results.forEach((o) => body.appendChild(row(o)));
      if (!data.results.length) body.appendChild(emptyRow(T.emptyOrders, 9));
      pager(byId("pager"), data, (p) => { page = p; load(); });
    } catch (err) {
      showError(byId("filter-error"), err);
    }
    setStatus("");
    ready();
  }

  byId("filters").addEventListener("submit", (e) => { e.preventDefault(); page = 1; load(); });
  load();
}
