/* The hotline desk on the centre's queue (热线受理, #hotline-form, only for roles that may file
 * hotline cases): the caller's matter, name, phone, the address with its place lookup
 * (place_lookup.js) or a typed point, and the description; filed, the page opens the new case. */
import { api } from "../core/api.js";
import { byId } from "../core/format.js";
import { showError } from "./errors.js";
import { formValues, loadCategories } from "./forms.js";
import { busy, config } from "./page.js";
import { startPlaceLookup } from "./place_lookup.js";
import { caseUrl } from "./views.js";

export function startHotline() {
  const form = byId("hotline-form");
  if (!form) return;
  const error = byId("hotline-error");
  loadCategories(byId("h-category")).catch((err) => showError(error, err));
  startPlaceLookup();
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = formValues(form);
    const body = { category: f.category, caller_name: f.caller_name, caller_phone: f.caller_phone,
                   address: f.address, description: f.description, crs: f.crs };
    if (f.lon !== "" || f.lat !== "") { body.lon = Number(f.lon); body.lat = Number(f.lat); }
    showError(error, null);
    try {
      const c = await busy.track(api(config.api.hotline, { method: "POST", body }),
                                 form.querySelector("button[type=submit]"));
      window.location.href = caseUrl(c.number);
    } catch (err) {
      showError(error, err);
    }
  });
}
