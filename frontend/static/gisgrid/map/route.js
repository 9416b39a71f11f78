/* The map page's routing box: the matter list, and who handles a matter at the located point. */
import { api } from "../core/api.js";
import { el } from "../core/format.js";
import { clearError, showError } from "../core/messages.js";

export function createRoute(ctx, getCurrent, helpers) {
  const { T, API } = ctx;
  const routeBox = document.getElementById("route-box");
  const routeSelect = document.getElementById("route-category");
  const routeBody = document.getElementById("route-body");
  let routeSeq = 0;
  let categoriesPromise = null;

  function categoryOption(c) {
    const o = el("option", null, c.code + " " + c.name);
    o.value = c.code;
    return o;
  }

  function loadCategories() {
    if (categoriesPromise) return categoriesPromise;
    categoriesPromise = api(API.categories).then((cats) => {
      cats = cats || [];
      const children = {};
      cats.forEach((c) => { if (c.parent_code) (children[c.parent_code] = children[c.parent_code] || []).push(c); });
      const other = [];
      cats.forEach((c) => {
        if (c.parent_code) return;
        const kids = children[c.code];
        if (!kids) { other.push(c); return; }
        const group = el("optgroup");
        group.label = c.code + " " + c.name;
        kids.forEach((k) => group.appendChild(categoryOption(k)));
        routeSelect.appendChild(group);
      });
      // Children whose parent is not listed, and parents without children.
      cats.forEach((c) => {
        if (c.parent_code && !cats.some((p) => p.code === c.parent_code)) other.push(c);
      });
      if (other.length) {
        const g = el("optgroup");
        g.label = T.other;
        other.forEach((c) => g.appendChild(categoryOption(c)));
        routeSelect.appendChild(g);
      }
      routeSelect.dataset.loaded = String(cats.length);
      return cats;
    }).catch((err) => {
      categoriesPromise = null;
      showError(routeBody, err);
      return [];
    });
    return categoriesPromise;
  }

  function timeLimitText(days) {
    const n = Number(days);
    return n === 0 ? T.onTheSpot : T.workingDays.replace("{n}", String(n));
  }

  function renderRoute(r) {
    routeBody.textContent = "";
    clearError(routeBody);
    const dl = el("dl", "route");
    function row(label, node) {
      dl.appendChild(el("dt", null, label));
      const dd = el("dd");
      if (node instanceof Node) dd.appendChild(node);
      else dd.textContent = node === null || node === undefined || node === "" ? T.none : String(node);
      dl.appendChild(dd);
    }
    if (r.category) row(T.matter, r.category.code + " " + r.category.name);
    row(T.leadUnit, r.lead_unit && r.lead_unit.name);
    row(T.assistingUnits, (r.assisting_units || []).map((u) => u && u.name).filter(Boolean).join("、"));
    row(T.timeLimit, el("span", "time-limit", timeLimitText(r.limit_working_days)));
    row(T.reason, r.reason);
    routeBody.appendChild(dl);
    const nb = helpers.section(T.notify);
    nb.appendChild(helpers.staffList(r.notify));
    routeBody.appendChild(nb);
  }

  function routeCurrent(category) {
    const seq = ++routeSeq;
    const current = getCurrent();
    routeBody.textContent = "";
    if (!category || !current || !current.wgs84) { routeBox.dataset.state = ""; return Promise.resolve(null); }
    routeBox.dataset.state = "loading";
    routeBody.appendChild(el("p", "loading", T.lookingUp));
    return api(API.route, { params: { lon: current.wgs84[0], lat: current.wgs84[1], crs: "wgs84", category } })
      .then((r) => {
        if (seq !== routeSeq) return r;
        renderRoute(r);
        routeBox.dataset.state = "done";
        return r;
      }, (err) => {
        if (seq !== routeSeq) return null;
        showError(routeBody, err);
        routeBox.dataset.state = "error";
        return null;
      });
  }
  routeSelect.addEventListener("change", () => routeCurrent(routeSelect.value));

  /** A new point is being located: forget the last route, hide the box. */
  function reset() {
    routeSeq++;
    routeBox.hidden = true;
    routeBody.textContent = "";
  }
  /** The point is located: offer the matter list. */
  function offer() {
    routeBox.hidden = false;
    routeSelect.value = "";
    loadCategories();
  }

  return { routeCurrent, loadCategories, reset, offer, cancel() { routeSeq++; } };
}
