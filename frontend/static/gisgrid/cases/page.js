/* What every case page shares: its configuration (json_script "cases-config", from
 * gisgrid/cases/pages.py), the busy count, the status line and the ready flag.
 *
 * `<html data-cases-ready>` is "0" while a page loads its data and "1" once it is shown, again
 * after each reload, for people and for browser tests waiting on it. `data-busy` (core/busy.js)
 * counts the requests under way.
 */
import { createBusy } from "../core/busy.js";
import { byId } from "../core/format.js";
import { pageConfig } from "../core/i18n.js";
import { showMessage } from "../core/messages.js";

export const config = pageConfig("cases-config");
export const busy = createBusy();

const root = document.documentElement;

export function loading() { root.dataset.casesReady = "0"; }
export function ready() { root.dataset.casesReady = "1"; }

/** A line in the page's #status ("" clears it); kind "info" or "error" colours it. */
export function setStatus(text, kind) { showMessage(byId("status"), text, kind || ""); }
