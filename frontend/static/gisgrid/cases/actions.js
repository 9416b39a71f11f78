/* The case page's actions: a button per transition the viewer may take (the case's
 * allowed_actions), its form, and the POST carrying the version the page read.
 *
 * A refusal is handled by its code: stale_version (someone acted first), wrong_state and
 * permission_denied (the case moved on, or away from the viewer) mean the page's copy is out of
 * date, so the form closes, the case is reloaded and the error line says why; any other code
 * (invalid, too_many_photos, ...) leaves the form open to be corrected. */
import { api } from "../core/api.js";
import { byId, el } from "../core/format.js";
import { ACTION_FIELDS, actionField, actionRequest } from "./action_fields.js";
import { showError } from "./errors.js";
import { formValues } from "./forms.js";
import { busy, config, loading, ready } from "./page.js";
import { T, str } from "./strings.js";

const RELOAD_CODES = { stale_version: true, wrong_state: true, permission_denied: true };
// Action names whose URL segment differs from the name.
const SEGMENTS = { send_back: "send-back", return_to_centre: "return", request_extension: "extension" };

function actionUrl(action, c) {
  if (action === "decide_extension") {
    const pending = c.extensions.find((x) => x.decision === "requested");
    return config.caseApi + "/extensions/" + (pending ? pending.id : 0) + "/decide";
  }
  return config.caseApi + "/" + (SEGMENTS[action] || action);
}

/**
 * getCase(): the case as last shown; getDuplicates(): its likely duplicates;
 * onSaved(case): the transition's answer, to show; reload(): fetch and show the case again.
 */
export function createActions({ getCase, getDuplicates, onSaved, reload }) {
  const form = byId("action-form");
  const errorNode = byId("action-error");
  let openAction = null;

  function hideForm() {
    openAction = null;
    form.hidden = true;
    form.textContent = "";
  }

  function showForm(action) {
    openAction = action;
    form.textContent = "";
    form.dataset.action = action;
    form.appendChild(el("h3", "", str("act", action)));
    (ACTION_FIELDS[action] || []).forEach((f) => form.appendChild(actionField(f, getCase(), getDuplicates())));
    const buttons = el("p", "buttons");
    const ok = el("button", "primary", T.confirm);
    ok.type = "submit";
    const cancel = el("button", "", T.cancel);
    cancel.type = "button";
    cancel.addEventListener("click", hideForm);
    buttons.appendChild(ok);
    buttons.appendChild(cancel);
    form.appendChild(buttons);
    form.hidden = false;
    showError(errorNode, null);
    const first = form.querySelector("textarea, input[type=text]");
    if (first) first.focus();
  }

  /** The buttons for case `c`; an open form for an action no longer allowed is closed. */
  function render(c) {
    const box = byId("actions");
    box.textContent = "";
    c.allowed_actions.forEach((action) => {
      const b = el("button", "action action-" + action, str("act", action));
      b.type = "button";
      b.dataset.action = action;
      b.addEventListener("click", () => showForm(action));
      box.appendChild(b);
    });
    byId("no-actions").hidden = c.allowed_actions.length > 0;
    if (openAction && !c.allowed_actions.includes(openAction)) hideForm();
  }

  async function submit(e) {
    e.preventDefault();
    const action = form.dataset.action;
    const c = getCase();
    const request = actionRequest(form, formValues(form), c.version);
    loading();
    let updated;
    try {
      updated = await busy.track(api(actionUrl(action, c), request), form.querySelector("button[type=submit]"));
    } catch (err) {
      showError(errorNode, err);
      if (RELOAD_CODES[err.code]) {
        hideForm();
        await reload();
        showError(errorNode, err); // the reload drew the case as it is now; the line says why
      } else {
        ready();
      }
      return;
    }
    hideForm();
    onSaved(updated);
  }

  form.addEventListener("submit", submit);
  return { render };
}
