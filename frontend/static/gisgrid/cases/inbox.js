/* The inbox (/cases/inbox/): the user's notices, newest first; marking one or all read. */
import { api } from "../core/api.js";
import { byId, el, formatTime } from "../core/format.js";
import { errorMessage } from "./errors.js";
import { refreshUnread } from "./nav.js";
import { busy, config, loading, ready, setStatus } from "./page.js";
import { T } from "./strings.js";
import { caseUrl, pager } from "./views.js";

export function startInbox() {
  let page = 1;

  function notice(n) {
    const li = el("li", "notice " + (n.read ? "read" : "unread"));
    li.dataset.id = String(n.id);
    const head = el("div", "notice-head");
    head.appendChild(el("span", "notice-time", formatTime(n.created_at)));
    if (n.case) {
      const a = el("a", "notice-subject", n.subject);
      a.href = caseUrl(n.case);
      head.appendChild(a);
    } else {
      head.appendChild(el("span", "notice-subject", n.subject));
    }
    head.appendChild(el("span", "notice-state", n.read ? T.read : T.unread));
    li.appendChild(head);
    if (n.body) li.appendChild(el("p", "notice-body", n.body));
    if (!n.read) {
      const b = el("button", "small mark-read", T.markRead);
      b.type = "button";
      b.addEventListener("click", () => markRead([n.id], b));
      li.appendChild(b);
    }
    return li;
  }

  async function load() {
    loading();
    // Unchecked means every notice: the filter is left out rather than sent as unread=false.
    const params = { page, unread: byId("only-unread").checked ? true : undefined };
    try {
      const data = await busy.track(api(config.api.inbox, { params }));
      const list = byId("inbox-list");
      list.textContent = "";
      byId("inbox-unread").textContent = data.unread ? "（" + T.unread + " " + data.unread + "）" : "";
      data.results.forEach((n) => list.appendChild(notice(n)));
      if (!data.results.length) list.appendChild(el("li", "empty", T.emptyInbox));
      pager(byId("pager"), data, (p) => { page = p; load(); });
    } catch (err) {
      setStatus(errorMessage(err), "error");
    }
    ready();
  }

  // ids null: every notice of the user.
  async function markRead(ids, button) {
    try {
      await busy.track(api(config.api.inboxRead, { method: "POST", body: ids ? { ids } : {} }), button);
    } catch (err) {
      setStatus(errorMessage(err), "error");
      return;
    }
    load();
    refreshUnread();
  }

  byId("only-unread").addEventListener("change", () => { page = 1; load(); });
  byId("read-all").addEventListener("click", (e) => markRead(null, e.currentTarget));
  load();
}
