/* The unread count beside 消息 in the case pages' navigation. */
import { api } from "../core/api.js";
import { byId } from "../core/format.js";
import { config } from "./page.js";

export async function refreshUnread() {
  const badge = byId("nav-unread");
  if (!badge) return;
  try {
    const data = await api(config.api.inbox, { params: { unread: true, page_size: 1 } });
    badge.textContent = data.unread ? String(data.unread) : "";
    badge.hidden = !data.unread;
  } catch (err) {
    badge.hidden = true; // a count that cannot be had is not shown; the inbox page says why
  }
}
