/* The small pieces the case pages' lists are made of: links to a case, the state badge, table
 * cells, the empty row, the pager and a whole filtered, paged list. Values enter as text only. */
import { api } from "../core/api.js";
import { byId, el } from "../core/format.js";
import { fmt } from "../core/i18n.js";
import { showError } from "./errors.js";
import { formValues } from "./forms.js";
import { busy, config, loading, ready, setStatus } from "./page.js";
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

/** A list page: the #filters form's values and the page number make the query (`params`), the
 * answer's rows are drawn into tbody `bodyId` by `row`, the pager follows and a refusal shows in
 * #filter-error. Submitting the form starts again from page 1. Returns load(). */
export function pagedList({ url, params, bodyId, row, emptyText, columns }) {
  let page = 1;

  async function load() {
    loading();
    setStatus(T.loading);
    showError(byId("filter-error"), null);
    try {
      const data = await busy.track(api(url, { params: params(formValues(byId("filters")), page) }));
      const body = byId(bodyId);
      body.textContent = "";
      data.results.forEach((r) => body.appendChild(row(r)));
      if (!data.results.length) body.appendChild(emptyRow(emptyText, columns));
      pager(byId("pager"), data, (p) => { page = p; load(); });
    } catch (err) {
      showError(byId("filter-error"), err);
    }
    setStatus("");
    ready();
  }

  byId("filters").addEventListener("submit", (e) => { e.preventDefault(); page = 1; load(); });
  return load;
}
