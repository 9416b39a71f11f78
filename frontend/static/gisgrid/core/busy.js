/* One busy/progress state per page (ES module).
 *
 * The count of requests under way is on <html data-busy="N"> (tests and the cursor wait on
 * "0"), and body gets class "busy" while it is above 0. `track` counts a promise in and out,
 * optionally disabling a button meanwhile so a double click cannot send twice.
 */

export function createBusy(root = document.documentElement) {
  let count = 0;
  function set(delta) {
    count = Math.max(0, count + delta);
    root.dataset.busy = String(count);
    document.body.classList.toggle("busy", count > 0);
  }
  root.dataset.busy = root.dataset.busy || "0";
  return {
    start() { set(1); },
    end() { set(-1); },
    get count() { return count; },
    /** `promise` counted while it runs; `button` (optional) disabled meanwhile. Returns it. */
    track(promise, button) {
      set(1);
      if (button) button.disabled = true;
      const done = () => { set(-1); if (button) button.disabled = false; };
      return Promise.resolve(promise).then((v) => { done(); return v; }, (e) => { done(); throw e; });
    },
  };
}

/** A progress text "done / total" (or a percentage) into `node`, with data-done/data-total. */
export function setProgress(node, done, total) {
  if (!node) return;
  node.dataset.done = String(done);
  node.dataset.total = String(total);
  node.textContent = total ? done + " / " + total : "";
  node.hidden = !total;
}
