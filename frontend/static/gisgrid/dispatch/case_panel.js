/* The selected case: what the case API gives the caller, and the centre's steps of the loop as
 * buttons (POST /api/v1/cases/<number>/<action> with the version read). A 409 stale_version
 * (someone acted first) reloads the case and says so; other errors are shown by code and field
 * (core/messages.js). Reporter name and phone appear only when the API gave them.
 */
import { api } from "../core/api.js";
import { formatTime, el } from "../core/format.js";
import { fmt } from "../core/i18n.js";
import { showError, showMessage } from "../core/messages.js";

// allowed_actions (gisgrid/cases/workflow.py) -> the URL segment, the string key, the body.
const ACTIONS = {
  accept: { path: "accept", label: "actAccept" },
  dispatch: { path: "dispatch", label: "actDispatch" },
  verify: { path: "verify", label: "actVerify", body: () => ({ satisfied: true }) },
  send_back: { path: "send-back", label: "actSendBack", reason: true },
  archive: { path: "archive", label: "actArchive" },
  supervise: { path: "supervise", label: "actSupervise", reason: true },
  void: { path: "void", label: "actVoid", reason: true },
  pause: { path: "pause", label: "actPause", reason: true },
  resume: { path: "resume", label: "actResume" },
};

export function createCasePanel({ root, config, T, busy, onCase }) {
  let current = null;
  let seq = 0;

  function field(dl, label, value) {
    if (value === null || value === undefined || value === "") return;
    dl.appendChild(el("dt", null, label));
    dl.appendChild(el("dd", null, value));
  }

  function render(c, message) {
    root.textContent = "";
    root.dataset.number = c.number;
    root.dataset.version = String(c.version);
    root.dataset.state = c.state;
    const h = el("h2", "case-title");
    h.appendChild(el("span", "case-number", c.number));
    h.appendChild(el("span", "badge clock-" + (c.paused ? "paused" : c.clock), config.clocks[c.paused ? "paused" : c.clock]));
    root.appendChild(h);
    const dl = el("dl", "case-fields");
    field(dl, T.category, c.category.name + " (" + c.category.code + ")");
    field(dl, T.state, config.states[c.state] || c.state);
    field(dl, T.stage, config.stages[c.stage] || c.stage);
    field(dl, T.stageDue, c.stage_due ? formatTime(c.stage_due) : "");
    field(dl, T.completeDue, c.clock_detail && c.clock_detail.complete_due ? formatTime(c.clock_detail.complete_due) : "");
    field(dl, T.address, c.address);
    field(dl, T.description, c.description);
    const grids = (c.routing && c.routing.grids) || {};
    const code = grids.level3 || grids.level2 || grids.level1;
    field(dl, T.grid, code ? (config.gridNames[code] || "") + " " + code : "");
    field(dl, T.leadUnit, c.lead_unit ? c.lead_unit.name : "");
    field(dl, T.reportedAt, formatTime(c.reported_at));
    if (c.reporter) field(dl, T.reporter, c.reporter.name + (c.reporter.phone ? " " + c.reporter.phone : ""));
    if (c.supervised) field(dl, T.supervised, c.supervised_reason || "✓");
    root.appendChild(dl);

    const msg = el("div", "panel-message");
    msg.id = "case-message";
    msg.setAttribute("role", "status");
    root.appendChild(msg);
    if (message) showMessage(msg, message, message === T.stale ? "warn" : "ok");

    const actions = (config.canAct ? c.allowed_actions || [] : []).filter((a) => ACTIONS[a]);
    if (actions.length) {
      const form = el("form", "case-actions");
      form.addEventListener("submit", (e) => e.preventDefault());
      if (actions.some((a) => ACTIONS[a].reason)) {
        const label = el("label", "reason", T.reason + " ");
        const input = el("input");
        input.name = "reason";
        input.id = "case-reason";
        input.maxLength = 500;
        input.placeholder = T.reasonHint;
        label.appendChild(input);
        form.appendChild(label);
      }
      const buttons = el("div", "buttons");
      actions.forEach((a) => {
        const spec = ACTIONS[a];
        const text = a === "supervise" && c.supervised ? T.actUnsupervise : T[spec.label];
        const b = el("button", "act act-" + spec.path, text);
        b.type = "button";
        b.dataset.action = a;
        b.addEventListener("click", () => act(c, a, b, msg, form));
        buttons.appendChild(b);
      });
      form.appendChild(buttons);
      root.appendChild(form);
    }
    const link = el("a", "case-link", T.openCase);
    link.href = config.api.casePage.replace("NUMBER", encodeURIComponent(c.number));
    root.appendChild(link);
    root.hidden = false;
  }

  function act(c, action, button, msg, form) {
    const spec = ACTIONS[action];
    const body = Object.assign({ version: c.version }, spec.body ? spec.body() : {});
    if (spec.reason) {
      const reason = form.querySelector("input[name=reason]");
      body.reason = reason ? reason.value.trim() : "";
    }
    if (action === "supervise") body.active = !c.supervised;
    const url = config.api.case.replace("NUMBER", encodeURIComponent(c.number)) + "/" + spec.path;
    busy.track(api(url, { method: "POST", body }), button).then((fresh) => {
      current = fresh;
      render(fresh, fmt(T.done, { a: button.textContent }));
      onCase(fresh);
    }).catch((err) => {
      if (err.code === "stale_version") {
        // Someone else acted first: show the case as it is now, with the notice.
        return load(c.number, T.stale);
      }
      showError(msg, err);
      return null;
    });
  }

  function load(number, message) {
    const mine = ++seq;
    return busy.track(api(config.api.case.replace("NUMBER", encodeURIComponent(number)))).then((c) => {
      if (mine !== seq) return null;
      current = c;
      render(c, message);
      onCase(c);
      return c;
    }).catch((err) => {
      if (mine !== seq) return null;
      root.textContent = "";
      const msg = el("div", "panel-message");
      root.appendChild(msg);
      showError(msg, err);
      root.hidden = false;
      return null;
    });
  }

  return {
    load,
    /** A pushed change of the shown case: reload it unless the panel already has that version. */
    changed(rec) {
      if (!current || current.number !== rec.number) return;
      const newer = rec.version !== null && rec.version !== undefined && rec.version > current.version;
      if (newer || rec.clock !== current.clock || rec.paused !== current.paused) load(rec.number);
    },
    get current() { return current; },
    clear() { current = null; seq++; root.hidden = true; root.textContent = ""; delete root.dataset.number; },
  };
}
