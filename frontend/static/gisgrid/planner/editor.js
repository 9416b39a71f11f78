/* The planner's editing tools on a draft: 划入 (draw a piece and give it to a grid), 编辑边界
 * (move a grid's vertices), 拆分 (cut with a line), 合并 (two siblings into one), undo/redo, and
 * importing a layer file. Drawing and vertex editing use Leaflet-Geoman; the shapes it gives
 * are in the map's datum and go back to WGS-84 (geometryFromMap) before they are sent. The
 * integrity of shared edges is the server's job: the page only sends drawings. */
import { byId as $ } from "../core/format.js";
import { geoJsonLayer, geometryFromMap } from "../core/mapbase.js";

export const DRAW_OPTIONS = { snappable: true, snapDistance: 12, allowSelfIntersection: false, finishOn: null };

export function createEditor(ctx) {
  const { cfg, T, map, root, state, call, hint, setStatus } = ctx;

  function editionUrl(id, suffix) {
    return cfg.api.editions + "/" + encodeURIComponent(id) + (suffix ? "/" + suffix : "");
  }

  function handleEditResult(res, message) {
    ctx.editions.setVersion(res.version);
    ctx.findings.show(res.findings, res.errors);
    const changed = res.changed && res.changed.length ? " · " + T.changed + "：" + res.changed.join("、") : "";
    setStatus((message || T.saved) + " · v" + res.version + changed, "ok");
    ctx.review.clearDiff();
    return ctx.grids.load();
  }

  /** One edit of the draft at the version the page has; a refusal goes to showError. */
  function edit(op, body, message) {
    if (!ctx.isDraft()) return Promise.resolve();
    body = Object.assign({ version: state.edition.version }, body || {});
    return call(editionUrl(state.edition.id, op), { method: "POST", body })
      .then((res) => handleEditResult(res, message))
      .catch(ctx.showError);
  }

  function showBox(id, show) { $(id).hidden = !show; }
  function cancelMode() {
    if (map.pm.globalDrawModeEnabled && map.pm.globalDrawModeEnabled()) map.pm.disableDraw();
    if (state.drawn) { map.removeLayer(state.drawn); state.drawn = null; }
    if (state.reshapeLayer) {
      if (state.reshapeLayer.pm) state.reshapeLayer.eachLayer((l) => l.pm.disable());
      map.removeLayer(state.reshapeLayer);
      state.reshapeLayer = null;
      if (ctx.grids.grids.layer && !map.hasLayer(ctx.grids.grids.layer)) map.addLayer(ctx.grids.grids.layer);
    }
    state.mode = null;
    state.mergeOther = null;
    ["draw-box", "assign-box", "reshape-box", "split-box", "merge-box"].forEach((id) => showBox(id, false));
    hint("");
    map.getContainer().classList.remove("drawing");
    ctx.grids.restyle();
    ctx.refreshToolState();
  }
  function startDraw(shape, mode, hintText) {
    cancelMode();
    state.mode = mode;
    map.pm.enableDraw(shape, DRAW_OPTIONS);
    map.getContainer().classList.add("drawing");
    showBox("draw-box", true);
    hint(hintText);
    ctx.refreshToolState();
  }

  map.on("pm:create", (e) => {
    map.getContainer().classList.remove("drawing");
    showBox("draw-box", false);
    if (state.mode === "assign-draw") {
      state.drawn = e.layer;
      if (e.layer.setStyle) e.layer.setStyle({ color: "#e6007e", weight: 2, fillColor: "#e6007e", fillOpacity: 0.3 });
      state.mode = "assign-target";
      if (state.selected) $("assign-target").value = state.selected;
      showBox("assign-box", true);
      hint(T.hintAssignTarget);
      root.dataset.drawn = "polygon";
    } else if (state.mode === "split-draw") {
      const line = geometryFromMap(map, e.layer.toGeoJSON().geometry);
      map.removeLayer(e.layer);
      const code = state.selected;
      const name = $("split-name").value.trim();
      cancelMode();
      $("split-name").value = "";
      edit("split", name ? { code, line, name } : { code, line });
    } else {
      map.removeLayer(e.layer);
    }
  });

  $("draw-finish").addEventListener("click", () => {
    const shape = map.pm.Draw.getActiveShape && map.pm.Draw.getActiveShape();
    const drawer = shape && map.pm.Draw[shape];
    if (drawer && drawer._finishShape) drawer._finishShape();
  });
  $("draw-cancel").addEventListener("click", cancelMode);

  // 1. 划入
  $("tool-assign").addEventListener("click", () => startDraw("Polygon", "assign-draw", T.hintAssign));
  $("assign-cancel").addEventListener("click", cancelMode);
  $("assign-confirm").addEventListener("click", () => {
    if (!state.drawn) return;
    const geometry = geometryFromMap(map, state.drawn.toGeoJSON().geometry);
    const code = $("assign-target").value;
    cancelMode();
    edit("assign", { code, geometry });
  });

  // 2. 编辑边界: edit a full-precision copy of the selected grid, then send it as a whole.
  $("tool-reshape").addEventListener("click", () => {
    if (!state.selected) { hint(T.selectFirst); return; }
    const code = state.selected;
    cancelMode();
    state.mode = "reshape";
    ctx.refreshToolState();
    call(cfg.api.grids + "/" + encodeURIComponent(code), { params: { edition: state.edition.id } }).then((g) => {
      if (state.mode !== "reshape") return;
      state.reshapeLayer = geoJsonLayer(map, { type: "Feature", geometry: g.geometry, properties: { code } }, {
        pane: "drawing",
        style: () => ({ color: "#e6007e", weight: 3, fillOpacity: 0.1 }),
      }).addTo(map);
      state.reshapeLayer.eachLayer((l) => l.pm.enable({ allowSelfIntersection: false, snappable: true, snapDistance: 12 }));
      state.reshapeCode = code;
      showBox("reshape-box", true);
      hint(T.hintReshape);
    }).catch((err) => { cancelMode(); ctx.showError(err); });
  });
  $("reshape-cancel").addEventListener("click", cancelMode);
  $("reshape-finish").addEventListener("click", () => {
    if (!state.reshapeLayer) return;
    // Full precision (false): Leaflet rounds to 6 decimals by default, which would move every
    // untouched vertex by up to ~5 cm and turn the whole outline into gained/lost slivers.
    const feature = state.reshapeLayer.toGeoJSON(false);
    const geometry = geometryFromMap(map, feature.features && feature.features[0]
      ? feature.features[0].geometry : feature.geometry);
    const code = state.reshapeCode;
    cancelMode();
    edit("reshape", { code, geometry });
  });

  // 3. 拆分
  $("tool-split").addEventListener("click", () => {
    if (!state.selected) { hint(T.selectFirst); return; }
    startDraw("Line", "split-draw", T.hintSplit);
    showBox("split-box", true);
  });

  // 4. 合并: the selected grid keeps, a sibling clicked next is merged into it.
  $("tool-merge").addEventListener("click", () => {
    if (!state.selected) { hint(T.selectFirst); return; }
    cancelMode();
    state.mode = "merge-pick";
    hint(T.hintMerge);
    ctx.refreshToolState();
  });
  function pickMergeOther(code) {
    if (code === state.selected) return;
    const byCode = ctx.grids.grids.byCode;
    const a = byCode[state.selected].properties, b = byCode[code].properties;
    if (a.parent_code !== b.parent_code) { hint(T.mergeSibling); return; }
    state.mergeOther = code;
    ctx.grids.restyle();
    $("merge-text").textContent = ctx.gridText(code) + " → " + T.mergeInto + " → " + ctx.gridText(state.selected);
    $("merge-box").hidden = false;
    state.mode = "merge-confirm";
  }
  $("merge-cancel").addEventListener("click", cancelMode);
  $("merge-confirm").addEventListener("click", () => {
    const keep = state.selected, other = state.mergeOther;
    cancelMode();
    if (keep && other) edit("merge", { keep, other });
  });

  // 5. 撤销 / 重做
  $("undo").addEventListener("click", () => edit("undo"));
  $("redo").addEventListener("click", () => edit("redo"));

  // 6. 导入图层
  $("import-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!ctx.isDraft()) return;
    const file = $("import-file").files[0];
    if (!file) { setStatus(T.chooseFile, "error"); return; }
    const form = new FormData();
    form.append("file", file);
    if ($("import-level").value) form.append("level", $("import-level").value);
    form.append("version", String(state.edition.version));
    if ($("import-repair").checked) form.append("repair", "1");
    call(editionUrl(state.edition.id, "import"), { method: "POST", form }).then((res) => {
      $("import-file").value = "";
      const repairs = (res.repairs || []).length;
      root.dataset.repairs = String(repairs);
      // Every repair is listed with the findings; the status says how many there were.
      return handleEditResult(res, T.imported + (repairs ? " · " + T.repairedCount + " " + repairs : ""));
    }).catch(ctx.showError);
  });

  return { edit, cancelMode, pickMergeOther, editionUrl };
}
