/* Reading the case pages' forms, and the category picker the hotline and phone forms share. */
import { api } from "../core/api.js";
import { el } from "../core/format.js";
import { config } from "./page.js";

/** A form's named fields as {name: value}: text trimmed, a checkbox as a boolean, the checked
 * radio's value; buttons and file inputs left out (files go as multipart). */
export function formValues(form) {
  const out = {};
  Array.from(form.elements).forEach((f) => {
    if (!f.name || f.type === "submit" || f.type === "button" || f.type === "file") return;
    if (f.type === "checkbox") out[f.name] = f.checked;
    else if (f.type === "radio") { if (f.checked) out[f.name] = f.value; }
    else out[f.name] = f.value.trim();
  });
  return out;
}

/** Fills `select` with the matter list's items (the categories that have a parent). */
export async function loadCategories(select) {
  const list = await api(config.api.categories);
  select.textContent = "";
  list.filter((c) => c.parent_code).forEach((c) => {
    const o = el("option", "", c.code + " " + c.name);
    o.value = c.code;
    select.appendChild(o);
  });
  return list;
}
