/* The case pages (案件办理): the centre's queue, a unit's work orders, one case, the inbox and the
 * phone page share one entry; the page's config (`page`) chooses its part:
 *
 *   queue.js        the centre's queue        hotline.js      the hotline desk on the queue page
 *   work_orders.js  a unit's work orders       place_lookup.js the hotline address lookup (place_list.js draws it)
 *   case_view.js    one case                   actions.js      its transition forms (action_fields.js)
 *   inbox.js        the inbox                  phone.js        the phone page
 *
 * Shared: page.js (config, busy, status line, the casesReady flag), strings.js, errors.js (a
 * refusal's text by its code), clock.js, views.js, forms.js, nav.js. Configuration: json_script
 * "cases-config" (gisgrid/cases/pages.py); strings: #cases-strings (cases/_strings.html) and
 * #hotline-strings (queue.html). Every value from the API enters the page as text.
 * window.gisgridCases is for tests and the console.
 */
import { startCaseView } from "./case_view.js";
import { startHotline } from "./hotline.js";
import { startInbox } from "./inbox.js";
import { refreshUnread } from "./nav.js";
import { config } from "./page.js";
import { startPhone } from "./phone.js";
import { startQueue } from "./queue.js";
import { T } from "./strings.js";
import { startWorkOrders } from "./work_orders.js";

const PARTS = {
  queue() { startQueue(); startHotline(); },
  unit: startWorkOrders,
  inbox: startInbox,
  case: startCaseView,
  phone: startPhone,
};

refreshUnread();
if (PARTS[config.page]) PARTS[config.page]();

window.gisgridCases = { config, strings: T, refreshUnread };
