/* The small pieces the case pages' lists are made of: links to a case, the state badge, table
 * cells, the empty row and the pager. Values enter as text only. */
import { el } from "../core/format.js";
import { fmt } from "../core/i18n.js";
import { config } from "./page.js";
import { T, label } from "./strings.js";

export function caseUrl(number) { return config.casePage.replace("NUMBER", encodeURIComponent(number)); }

export function caseLink(number) {
  const a = el("a", "case-link", number);
  a.href = caseUrl(number);
  return a;
}

export function stateBadge(state) {
  const s = el("span", "state-badge state-" + state, label(config.states, state));
  s.dataset.state = state;
  return s;
}

/** A <td> holding a node, or text (null and undefined as ""). */
export function cell(content, className) {
  const td = el("td", className || "");
  if (content instanceof Node) td.appendChild(content);
  else td.textContent = content === null || content === undefined ? "" : content;
  return td;
}

/** The one row of a table body with nothing to show. */
export function emptyRow(text, columns) {
  const tr = el("tr", "empty");
  const td = cell(text);
  td.colSpan = columns;
  tr.appendChild(td);
  return tr;
}

/** Previous / "page n of m" / next for a paged answer ({count, page, page_size}); go(page). */
export function pager(node, meta, go) {
  node.textContent = "";
  const pages = Math.max(1, Math.ceil(meta.count / meta.page_size));
  const prev = el("button", "", T.prev);
  prev.type = "button";
  prev.disabled = meta.page <= 1;
  prev.addEventListener("click", () => go(meta.page - 1));
  const next = el("button", "", T.next);
  next.type = "button";
  next.disabled = meta.page >= pages;
  next.addEventListener("click", () => go(meta.page + 1));
  node.appendChild(prev);
  node.appendChild(el("span", "page-info", fmt(T.pageOf, { page: meta.page, pages, count: meta.count })));
  node.appendChild(next);
}
