/* The centre's queue beside the map: the same cases as the markers (one store), most urgent
 * first; a click selects in both. Redrawn at most once per animation frame however many events
 * arrive; only the first LIMIT rows are in the DOM (the count says how many there are).
 */
import { formatDuration, el } from "../core/format.js";
import { fmt } from "../core/i18n.js";
import { queueOrder, shownClock } from "./store.js";

const LIMIT = 300;

export function createQueue({ list, count, more, store, config, T, onSelect }) {
  let selected = null;
  let pending = false;

  function dueText(rec, now) {
    if (rec.paused) return T.paused;
    if (rec.stage_due === null || rec.stage_due === undefined) return "";
    const left = rec.stage_due - now;
    return left < 0 ? fmt(T.overdueBy, { t: formatDuration(-left) }) : fmt(T.dueIn, { t: formatDuration(left) });
  }

  function row(rec, now) {
    const li = el("li", "queue-row clock-" + shownClock(rec));
    li.dataset.number = rec.number;
    li.tabIndex = 0;
    if (rec.number === selected) li.classList.add("selected");
    const top = el("div", "q-top");
    top.appendChild(el("span", "q-dot"));
    top.appendChild(el("span", "q-number", rec.number));
    top.appendChild(el("span", "q-state", config.states[rec.state] || rec.state));
    if (rec.supervised) top.appendChild(el("span", "q-flag", T.supervised));
    li.appendChild(top);
    const grid = rec.grids[2] || rec.grids[1] || rec.grids[0];
    const sub = el("div", "q-sub");
    sub.appendChild(el("span", "q-category", config.categories[rec.category] || rec.category));
    sub.appendChild(el("span", "q-grid", (grid && config.gridNames[grid]) || grid || ""));
    sub.appendChild(el("span", "q-due", dueText(rec, now)));
    li.appendChild(sub);
    return li;
  }

  // The queue order, kept between changes: one pushed change moves one record (a binary
  // search and a splice), not a sort of 5,000; the DOM is redrawn only when the change touches
  // the rows shown.
  let order = null;

  function place(rec) {
    let lo = 0, hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (queueOrder(order[mid], rec) < 0) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  function changed(number, rec) {
    if (number === "*" || order === null) { order = null; schedule(); return; }
    let shown = false;
    const i = order.findIndex((r) => r.number === number);
    if (i >= 0) { order.splice(i, 1); shown = i < LIMIT; }
    if (rec) {
      const j = place(rec);
      order.splice(j, 0, rec);
      shown = shown || j < LIMIT;
    }
    if (shown) schedule(); else counted(order.length);
  }

  function counted(n) {
    count.textContent = "(" + n + ")";
    count.dataset.count = String(n);
    more.hidden = n <= LIMIT;
  }

  function render() {
    pending = false;
    const now = Date.now() / 1000;
    if (order === null) order = store.sorted();
    const all = order;
    const frag = document.createDocumentFragment();
    all.slice(0, LIMIT).forEach((rec) => frag.appendChild(row(rec, now)));
    list.textContent = "";
    list.appendChild(frag);
    counted(all.length);
    more.textContent = fmt(T.queueMore, { n: LIMIT });
  }

  function schedule() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(render);
  }

  list.addEventListener("click", (e) => {
    const li = e.target.closest("li[data-number]");
    if (li) onSelect(li.dataset.number);
  });
  list.addEventListener("keydown", (e) => {
    const li = e.target.closest("li[data-number]");
    if (li && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); onSelect(li.dataset.number); }
  });
  store.onChange(changed);
  // The remaining time moves even without events.
  window.setInterval(schedule, 30000);

  return {
    render,
    select(number) {
      selected = number;
      list.querySelectorAll("li.selected").forEach((li) => li.classList.remove("selected"));
      const li = number ? list.querySelector('li[data-number="' + CSS.escape(number) + '"]') : null;
      if (li) {
        li.classList.add("selected");
        li.scrollIntoView({ block: "nearest" });
      }
    },
  };
}
