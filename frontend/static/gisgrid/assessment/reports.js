/* /assessment/reports/: the reports made (daily, weekly, monthly, special) with their files. */
import { api } from "../core/api.js";
import { byId, el, formatTime } from "../core/format.js";
import { clearMessage, showMessage } from "../core/messages.js";

export function startReports({ config, T, busy, status, fail }) {
  function load() {
    showMessage(status, T.loading);
    return busy.track(api(config.api.reports)).then((list) => {
      const tbody = byId("reports").tBodies[0];
      tbody.textContent = "";
      list.forEach((r) => {
        const files = el("td");
        Object.entries(r.downloads).forEach(([format, url], i) => {
          const a = el("a", null, format.toUpperCase());
          a.href = url;
          if (i) files.append(" ");
          files.append(a);
        });
        const tr = el("tr");
        tr.append(el("td", null, r.title), el("td", null, r.start + " – " + r.end), el("td", null, formatTime(r.created_at)),
                  files);
        tbody.appendChild(tr);
      });
      clearMessage(status);
    }).catch(fail);
  }
  load();
  return load;
}
