/* A unit's work orders (/cases/unit/): its open (or all) orders with their clocks; the centre
 * may name any unit. */
import { el, formatTime } from "../core/format.js";
import { clockBadge, dueText } from "./clock.js";
import { config } from "./page.js";
import { T, label } from "./strings.js";
import { caseLink, cell, pagedList } from "./views.js";

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
  pagedList({
    url: config.api.workorders, bodyId: "orders-body", row, emptyText: T.emptyOrders, columns: 9,
    params: (f, page) => ({ page, open: f.open ? "true" : "", clock: f.clock, q: f.q, unit: f.unit }),
  })();
}
