/* The assessment pages (考核): /assessment/ (rankings.js), a bulletin (bulletin.js), the reports
 * list (reports.js); tables.js and charts.js draw what they load. The template says which page
 * this is (config.page) and gives every string (#gisgrid-strings, translated).
 */
import { byId } from "../core/format.js";
import { createBusy } from "../core/busy.js";
import { pageConfig, strings } from "../core/i18n.js";
import { showError } from "../core/messages.js";
import { startBulletin } from "./bulletin.js";
import { startRankings } from "./rankings.js";
import { startReports } from "./reports.js";

const config = pageConfig();
const T = strings();
const busy = createBusy();
const status = byId("status");

/** A failed request into the status line: the server's words, and its code as data-error-code.
 * "aborted" is a request a newer one replaced, not a failure. */
function fail(err) {
  if (err && err.code === "aborted") return;
  if (!(err && err.code) && window.console) console.error(err);
  showError(status, err);
}

const PAGES = { index: startRankings, bulletin: startBulletin, reports: startReports };
const reload = PAGES[config.page]({ config, T, busy, status, fail });
window.gisgridAssessment = { config, reload };
