/* The planner's edition picker: the list (drafts first), the chosen edition's status and
 * version, and a new draft. */
import { byId as $, el } from "../core/format.js";

export function createEditions(ctx) {
  const { cfg, T, root, state, call, statusName, setStatus } = ctx;

  function editionLabel(e) { return e.name + " · " + statusName(e.status) + " · v" + e.version; }
  function find(id) { return state.editions.filter((e) => String(e.id) === String(id))[0] || null; }

  function showInfo() {
    const info = $("edition-info");
    info.textContent = "";
    const e = state.edition;
    if (!e) return;
    info.appendChild(el("span", "badge badge-" + e.status, statusName(e.status)));
    info.appendChild(el("span", "version", " " + T.version + " " + e.version + " · "));
    info.appendChild(el("span", "mode", ctx.isDraft() ? T.editable : T.viewOnly));
    root.dataset.editionId = String(e.id);
    root.dataset.editionStatus = e.status;
    root.dataset.version = String(e.version);
  }

  function select(e) {
    ctx.editor.cancelMode();
    state.edition = e;
    state.selected = null;
    showInfo();
    ctx.findings.clear();
    ctx.review.clearDiff();
    ctx.refreshToolState();
    return ctx.grids.load();
  }

  /** (Re)load the list and select `selectId`, else the current one, else the newest draft. */
  function load(selectId) {
    return call(cfg.api.editions).then((list) => {
      state.editions = list || [];
      const sel = $("edition-select");
      sel.textContent = "";
      const order = { draft: 0, active: 1, retired: 2 };
      state.editions.slice().sort((a, b) => (order[a.status] - order[b.status]) || (b.id - a.id)).forEach((e) => {
        const opt = el("option", null, editionLabel(e));
        opt.value = String(e.id);
        sel.appendChild(opt);
      });
      let pick = null;
      if (selectId) pick = find(selectId);
      if (!pick && state.edition) pick = find(state.edition.id);
      if (!pick) {
        pick = state.editions.filter((e) => e.status === "draft").sort((a, b) => b.id - a.id)[0] ||
          state.editions.filter((e) => e.status === "active")[0] || state.editions[0];
      }
      if (pick) sel.value = String(pick.id);
      return pick ? select(pick) : null;
    });
  }

  function setVersion(v) {
    if (!state.edition || v === undefined || v === null) return;
    state.edition.version = v;
    const opt = $("edition-select").querySelector("option[value='" + state.edition.id + "']");
    if (opt) opt.textContent = editionLabel(state.edition);
    showInfo();
  }

  $("edition-select").addEventListener("change", (ev) => {
    const e = find(ev.target.value);
    if (e) select(e);
  });
  $("draft-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    let name = $("draft-name").value.trim();
    if (!name) {
      const d = new Date();
      const pad = (n) => (n < 10 ? "0" : "") + n;
      name = T.draftDefault + " " + d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
        pad(d.getHours()) + ":" + pad(d.getMinutes());
    }
    setStatus(T.loading);
    call(cfg.api.editions, { method: "POST", body: { name } }).then((created) => {
      $("draft-name").value = "";
      setStatus(T.draftCreated + "：" + created.name, "ok");
      return load(created.id);
    }).catch(ctx.showError);
  });

  return { load, select, setVersion, editionLabel };
}
