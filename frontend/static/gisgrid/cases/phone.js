/* The phone page (/cases/phone/, 手机上报) for grid members and inspectors: report a problem
 * with the phone's position (the browser's Geolocation, WGS-84) and camera photos; my open
 * reports; the open cases of my grids. */
import { api } from "../core/api.js";
import { byId, el } from "../core/format.js";
import { fmt } from "../core/i18n.js";
import { clockBadge } from "./clock.js";
import { errorMessage, showError } from "./errors.js";
import { loadCategories } from "./forms.js";
import { busy, config, loading, ready } from "./page.js";
import { T } from "./strings.js";
import { caseLink, stateBadge } from "./views.js";

export function startPhone() {
  let position = null;

  function locate() {
    const node = byId("r-position");
    node.textContent = T.locating;
    node.className = "hint";
    function failed() {
      position = null;
      node.textContent = T.noPosition;
      node.className = "hint error";
    }
    if (!navigator.geolocation) { failed(); return; }
    navigator.geolocation.getCurrentPosition((p) => {
      position = { lon: p.coords.longitude, lat: p.coords.latitude, accuracy: p.coords.accuracy };
      node.textContent = fmt(T.located, { lon: position.lon.toFixed(6), lat: position.lat.toFixed(6),
                                          acc: Math.round(position.accuracy || 0) });
      node.dataset.located = "1";
    }, failed, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  }

  async function list(node, params) {
    let data;
    try {
      data = await busy.track(api(config.api.cases,
        { params: { status: "open", order: "clock", page_size: 50, ...params } }));
    } catch (err) {
      node.textContent = "";
      node.appendChild(el("li", "api-error", errorMessage(err)));
      return;
    }
    node.textContent = "";
    data.results.forEach((c) => {
      const li = el("li", "case-item clock-row-" + c.clock);
      li.dataset.number = c.number;
      li.appendChild(clockBadge(c.clock));
      li.appendChild(caseLink(c.number));
      li.appendChild(stateBadge(c.state));
      li.appendChild(el("span", "case-what", c.category.name + " · " + (c.address || c.description)));
      node.appendChild(li);
    });
    if (!data.results.length) node.appendChild(el("li", "empty", T.empty));
  }

  async function lists() {
    await Promise.all([list(byId("mine-list"), { mine: true }), list(byId("grid-list"), { my_grids: true })]);
    ready();
  }

  // A check of the page's own (no position, too many photos): the error line without a code.
  function refuse(error, text) {
    error.textContent = text;
    error.hidden = false;
  }

  async function submit(e) {
    e.preventDefault();
    const error = byId("report-error");
    const done = byId("report-done");
    showError(error, null);
    done.hidden = true;
    if (!position) {
      refuse(error, T.needPosition);
      locate();
      return;
    }
    const files = byId("r-photos").files;
    if (files.length > config.maxPhotos) {
      refuse(error, fmt(T.tooManyPhotos, { n: config.maxPhotos }));
      return;
    }
    const form = new FormData();
    form.append("category", byId("r-category").value);
    form.append("lon", String(position.lon));
    form.append("lat", String(position.lat));
    form.append("crs", "wgs84");
    form.append("description", byId("r-description").value.trim());
    form.append("address", byId("r-address").value.trim());
    Array.from(files).forEach((f) => form.append("photos", f));
    loading();
    let c;
    try {
      c = await busy.track(api(config.api.cases, { method: "POST", form }), byId("r-submit"));
    } catch (err) {
      showError(error, err);
      ready();
      return;
    }
    done.textContent = fmt(T.filed, { number: "" });
    done.appendChild(caseLink(c.number));
    done.hidden = false;
    done.dataset.number = c.number;
    byId("r-description").value = "";
    byId("r-address").value = "";
    byId("r-photos").value = "";
    lists();
  }

  byId("report-form").addEventListener("submit", submit);
  byId("r-locate").addEventListener("click", locate);
  loadCategories(byId("r-category")).catch((err) => showError(byId("report-error"), err));
  locate();
  lists();
}
