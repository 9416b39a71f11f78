/* The fields of each transition's form on the case page and the request body they make. */
import { el } from "../core/format.js";
import { config } from "./page.js";
import { T } from "./strings.js";

// [name, kind, {required}]; kinds: severity, text, textarea, file, files, yesno, approve, days.
export const ACTION_FIELDS = {
  accept: [["severity", "severity"], ["lead_unit", "text"], ["assisting_units", "text"]],
  dispatch: [], acknowledge: [], arrive: [], archive: [], resume: [],
  complete: [["result_text", "textarea", { required: true }], ["document", "file"], ["photos", "files"]],
  verify: [["satisfied", "yesno"], ["reason", "textarea"], ["photos", "files"]],
  send_back: [["reason", "textarea", { required: true }]],
  return_to_centre: [["reason", "textarea", { required: true }]],
  void: [["reason", "textarea", { required: true }]],
  pause: [["reason", "textarea", { required: true }]],
  supervise: [["reason", "textarea", { required: true }]],
  request_extension: [["days", "days"], ["reason", "textarea", { required: true }]],
  decide_extension: [["approve", "approve"], ["reason", "textarea"]],
  merge: [["into", "text", { required: true }]],
};

const FIELD_LABELS = { severity: "fSeverity", lead_unit: "fLeadUnit", assisting_units: "fAssistingUnits",
                       result_text: "fResultText", document: "fDocument", photos: "fPhotos", reason: "fReason",
                       days: "fDays", satisfied: "fSatisfied", approve: "fSatisfied", into: "fInto" };

function radios(name, kind) {
  const box = el("span", "radios");
  [["true", kind === "yesno" ? T.fYes : T.fApprove], ["false", kind === "yesno" ? T.fNo : T.fReject]]
    .forEach(([value, text], i) => {
      const l = el("label", "radio");
      const r = el("input");
      r.type = "radio";
      r.name = name;
      r.value = value;
      r.checked = i === 0;
      l.appendChild(r);
      l.appendChild(document.createTextNode(" " + text));
      box.appendChild(l);
    });
  return box;
}

function input(name, kind, c, duplicates) {
  let node;
  if (kind === "severity") {
    node = el("select");
    Object.keys(config.severities).forEach((s) => {
      const o = el("option", "", config.severities[s]);
      o.value = s;
      o.selected = s === c.severity;
      node.appendChild(o);
    });
  } else if (kind === "textarea") {
    node = el("textarea");
    node.rows = 3;
    node.maxLength = name === "result_text" ? 4000 : 500;
  } else if (kind === "file" || kind === "files") {
    node = el("input");
    node.type = "file";
    if (kind === "files") { node.multiple = true; node.accept = "image/jpeg,image/png,image/webp"; }
  } else if (kind === "days") {
    node = el("input");
    node.type = "number";
    node.min = "1";
    node.max = "30";
    node.value = "2";
  } else {
    node = el("input");
    node.type = "text";
    // Merging: the nearest likely duplicate is the usual target.
    if (name === "into" && duplicates.length) node.value = duplicates[0].number;
  }
  node.name = name;
  return node;
}

/** One labelled field of an action's form, for case `c` (its severity preselected) and its
 * likely `duplicates`. */
export function actionField([name, kind, options], c, duplicates) {
  const wrap = el("label", "field field-" + name);
  wrap.appendChild(el("span", "field-label", T[FIELD_LABELS[name]] || name));
  if (kind === "yesno" || kind === "approve") {
    wrap.appendChild(radios(name, kind));
    return wrap;
  }
  const node = input(name, kind, c, duplicates);
  if (options && options.required) node.required = true;
  wrap.appendChild(node);
  return wrap;
}

/** The request for the filled form `values` of an action: JSON {version, ...} with booleans,
 * numbers and unit lists typed, or multipart when files were picked. Returns api() options. */
export function actionRequest(form, values, version) {
  const files = Array.from(form.querySelectorAll("input[type=file]")).filter((f) => f.files && f.files.length);
  if (files.length) {
    const data = new FormData();
    data.append("version", String(version));
    Object.keys(values).forEach((k) => { if (values[k] !== "") data.append(k, values[k]); });
    files.forEach((f) => Array.from(f.files).forEach((file) => data.append(f.name, file)));
    return { method: "POST", form: data };
  }
  const body = { version };
  Object.keys(values).forEach((k) => {
    let v = values[k];
    if (v === "") return;
    if (k === "satisfied" || k === "approve") v = v === "true";
    else if (k === "days") v = Number(v);
    else if (k === "assisting_units") v = v.split(/[,，\s]+/).filter(Boolean);
    body[k] = v;
  });
  return { method: "POST", body };
}
