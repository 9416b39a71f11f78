/* The planner's checks before publishing: validation, the diff against the active edition,
 * the publish dialog, and the active edition's blind spots. */
import { ApiError } from "../core/api.js";
import { byId as $, el, formatArea } from "../core/format.js";
import { errorMessage } from "./errors.js";

export function createReview(ctx) {
  const { cfg, T, map, root, state, call, layers, setStatus, statusName, levelName, gridText } = ctx;

  $("validate").addEventListener("click", () => {
    if (!state.edition) return;
    setStatus(T.loading);
    call(ctx.editor.editionUrl(state.edition.id, "validation")).then((res) => {
      if (res.edition) ctx.editions.setVersion(res.edition.version);
      ctx.findings.show(res.findings, res.errors);
      setStatus("");
    }).catch(ctx.showError);
  });

  function clearDiff() {
    layers.diff.clearLayers();
    $("diff-panel").hidden = true;
    $("diff-body").textContent = "";
  }
  function showDiff(d) {
    const body = $("diff-body");
    body.textContent = "";
    body.appendChild(el("p", "diff-against", T.diffAgainst + "：" + d.old.name + "（" + statusName(d.old.status) + "）"));
    const changes = d.changes || [];
    if (!changes.length) body.appendChild(el("p", "diff-none", T.diffNone));
    const ul = el("ul", "diff-list");
    changes.forEach((c) => {
      const li = el("li", "diff-" + c.change);
      li.dataset.code = c.code;
      const head = el("div", "diff-head");
      head.appendChild(el("span", "badge badge-chg-" + c.change,
        c.change === "added" ? T.diffAdded : c.change === "retired" ? T.diffRetired : T.diffChanged));
      head.appendChild(el("strong", null, " " + c.name + "（" + c.code + "）" + levelName(c.level)));
      li.appendChild(head);
      const parts = [];
      if (c.area_gained_m2 > 0) parts.push("+" + formatArea(c.area_gained_m2));
      if (c.area_lost_m2 > 0) parts.push("−" + formatArea(c.area_lost_m2));
      if (parts.length) li.appendChild(el("div", "diff-areas", parts.join(" / ")));
      if (c.gained_from && c.gained_from.length) {
        li.appendChild(el("div", "diff-from", T.diffFrom + "：" +
          c.gained_from.map((s) => s.name + "（" + s.code + "）" + formatArea(s.area_m2)).join("、")));
      }
      ul.appendChild(li);
    });
    body.appendChild(ul);
    const staff = d.staff_affected || [];
    const items = d.items_affected || [];
    body.appendChild(el("h3", null, T.diffStaff + "（" + staff.length + "）"));
    if (staff.length) {
      const sl = el("ul", "diff-staff");
      staff.forEach((s) => sl.appendChild(el("li", null, s.name + " · " + s.role + " · " + gridText(s.grid_code))));
      body.appendChild(sl);
    }
    body.appendChild(el("h3", null, T.diffItems + "（" + items.length + "）"));
    if (items.length) {
      const il = el("ul", "diff-items");
      items.forEach((it) => {
        const text = [it.number || it.id || "", it.title || it.category || "", it.grid_code || ""]
          .filter((x) => x !== "").join(" · ");
        il.appendChild(el("li", null, text || JSON.stringify(it)));
      });
      body.appendChild(il);
    }
    $("diff-panel").hidden = false;
    root.dataset.diffChanges = String(changes.length);
  }
  $("diff").addEventListener("click", () => {
    if (!state.edition) return;
    clearDiff();
    // One request: the diff answer carries its pieces as GeoJSON too (also at diff.geojson).
    call(ctx.editor.editionUrl(state.edition.id, "diff")).then((d) => {
      showDiff(d);
      if (d.geojson) layers.diff.addData(d.geojson);
      const b = layers.diff.getBounds();
      if (b.isValid()) map.fitBounds(b, { padding: [60, 60], maxZoom: 17, animate: false });
    }).catch(ctx.showError);
  });

  const dialog = $("publish-dialog");
  $("publish").addEventListener("click", () => {
    if (!ctx.isDraft()) return;
    $("publish-text").textContent = ctx.editions.editionLabel(state.edition) + "。" + T.publishText;
    if (dialog.showModal) dialog.showModal(); else dialog.setAttribute("open", "");
  });
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "ok" || !ctx.isDraft()) return;
    const e = state.edition;
    call(ctx.editor.editionUrl(e.id, "publish"), { method: "POST", body: { version: e.version, reroute: $("reroute").checked } })
      .then((published) => {
        setStatus(T.published + "：" + published.name, "ok published");
        root.dataset.published = String(published.id);
        state.edition = null;
        return ctx.editions.load(published.id);
      })
      .catch((err) => {
        if (err instanceof ApiError && err.code === "validation_failed") {
          root.dataset.errorCode = err.code;
          ctx.findings.show(err.body.findings);
          setStatus(T.publishBlocked + "：" + errorMessage(err, T), "error");
          return;
        }
        ctx.showError(err);
      });
  });

  $("blind-spots").addEventListener("change", (ev) => {
    if (!ev.target.checked) { map.removeLayer(layers.blind); return; }
    layers.blind.clearLayers();
    call(cfg.api.blindSpots).then((fc) => {
      layers.blind.addData(fc);
      layers.blind.addTo(map);
      root.dataset.blindSpots = String((fc.features || []).length);
    }).catch(ctx.showError);
  });

  return { clearDiff };
}
