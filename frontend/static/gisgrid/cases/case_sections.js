/* The lists on one case's page (/cases/<number>/): photos with their EXIF check, work orders and
 * extensions, the timeline and the likely duplicates. Each draws from the case as the API gave it. */
import { api } from "../core/api.js";
import { byId, el, formatTime } from "../core/format.js";
import { fmt } from "../core/i18n.js";
import { config } from "./page.js";
import { T, label, str } from "./strings.js";
import { caseLink, cell } from "./views.js";

export function showPhotos(c) {
  const list = byId("photos");
  list.textContent = "";
  c.photos.forEach((p) => {
    const li = el("li", "photo" + (p.exif && p.exif.flagged ? " flagged" : ""));
    li.dataset.id = String(p.id);
    const a = el("a");
    a.href = p.original || p.public;
    a.target = "_blank";
    a.rel = "noopener";
    const img = el("img");
    img.src = p.thumbnail;
    img.alt = label(config.photoStages, p.stage);
    a.appendChild(img);
    li.appendChild(a);
    li.appendChild(el("span", "photo-stage", label(config.photoStages, p.stage)));
    // exif comes in staff answers only; null when the photo carried no position.
    if (p.exif !== undefined) {
      let note;
      if (!p.exif) note = T.exifNone;
      else if (p.exif.flagged) note = fmt(T.exifFar, { m: Math.round(p.exif.distance_m) });
      else note = fmt(T.exifNear, { m: Math.round(p.exif.distance_m || 0) });
      li.appendChild(el("span", "photo-exif", note));
    }
    list.appendChild(li);
  });
  if (!c.photos.length) list.appendChild(el("li", "empty", T.none));
}

export function showOrders(c) {
  const body = byId("orders-body");
  body.textContent = "";
  c.work_orders.forEach((o) => {
    const tr = el("tr", "order-" + o.work_state);
    tr.dataset.unit = o.unit.code;
    tr.appendChild(cell(String(o.round)));
    tr.appendChild(cell(o.unit.name));
    tr.appendChild(cell(o.role === "lead" ? T.lead : T.assist));
    tr.appendChild(cell(label(config.workStates, o.work_state)));
    [o.dispatched_at, o.acknowledged_at, o.on_site_at, o.completed_at, o.due]
      .forEach((at) => tr.appendChild(cell(formatTime(at))));
    const result = el("span", "", o.result_text || o.return_reason || "");
    if (o.document) {
      const a = el("a", "document", T.document);
      a.href = o.document.url;
      result.appendChild(document.createTextNode(" "));
      result.appendChild(a);
    }
    tr.appendChild(cell(result));
    body.appendChild(tr);
  });
  const ext = byId("extensions");
  ext.textContent = "";
  c.extensions.forEach((x) => {
    ext.appendChild(el("li", "extension extension-" + x.decision,
      str("ev", "extension_" + x.decision, x.decision) + " · " + fmt(T.extensionDays, { days: x.days }) +
      (x.reason ? " · " + x.reason : "") + (x.decision_reason ? " · " + x.decision_reason : "")));
  });
}

export function showTimeline(c) {
  const list = byId("timeline");
  list.textContent = "";
  c.timeline.forEach((e) => {
    const li = el("li", "event event-" + e.action);
    li.dataset.action = e.action;
    li.appendChild(el("span", "event-time", formatTime(e.at)));
    li.appendChild(el("span", "event-action", str("ev", e.action, e.action)));
    if (e.from_state !== e.to_state && e.to_state) {
      li.appendChild(el("span", "event-states",
        (e.from_state ? label(config.states, e.from_state) + " → " : "") + label(config.states, e.to_state)));
    }
    if (e.actor) li.appendChild(el("span", "event-actor", e.actor));
    if (e.reason) li.appendChild(el("span", "event-reason", e.reason));
    list.appendChild(li);
  });
}

/** The likely duplicates (for roles that may merge, while the case is open); resolves with them
 * ([] when not shown), so the merge form can offer the nearest. */
export async function showDuplicates(c) {
  const box = byId("duplicates-box");
  if (!config.canDuplicates || c.state === "archived" || c.state === "voided") { box.hidden = true; return []; }
  let data;
  try {
    data = await api(config.duplicatesApi);
  } catch (err) {
    box.hidden = true; // a side list: the case itself is shown all the same
    return [];
  }
  const list = byId("duplicates");
  list.textContent = "";
  data.suggestions.forEach((s) => {
    const li = el("li");
    li.appendChild(caseLink(s.number));
    li.appendChild(el("span", "", " " + label(config.states, s.state) + " · " +
      fmt(T.distanceM, { m: Math.round(s.distance_m) }) + " · " + (s.address || s.description)));
    list.appendChild(li);
  });
  if (!data.suggestions.length) list.appendChild(el("li", "empty", T.noDuplicates));
  box.hidden = false;
  return data.suggestions;
}
