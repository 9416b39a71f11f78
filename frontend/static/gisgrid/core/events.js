/* The push stream of gisgrid's pages (ES module; the contract is docs/dispatch.md, "Push").
 *
 *   import { subscribe } from "../core/events.js";
 *   const sub = subscribe({
 *     topics: ["case", "position"],          // default: everything the user may see
 *     lastEventId: snapshotEventId,          // optional: replay what came after a snapshot
 *     onEvent(kind, data, id) {},            // "case" | "position" | "edition" | "notice"
 *     onReset() {},                          // the server no longer has our place: reload the snapshot
 *     onState(state) {},                     // "open" | "reconnecting" | "closed"
 *   });
 *   sub.close();
 *
 * Built on the browser's EventSource, which reconnects by itself and sends Last-Event-ID. When
 * the browser gives up (an HTTP error such as a 502 while the push service restarts closes an
 * EventSource for good), this module opens a new one after a growing pause with
 * `?last_event_id=` the last id it saw, so nothing within the server's replay window is lost.
 * An id at or below the last one seen is not delivered twice. Reopened before any event arrived
 * (no id to resume from), it calls onReset() once open: the page reloads its snapshot.
 */

const KINDS = ["case", "position", "edition", "notice"];
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;

/** The stream's address: `url` (default /api/v1/events) with topics and the id to resume after. */
export function eventsUrl(url, topics, lastEventId) {
  const parts = [];
  if (topics && topics.length) parts.push("topics=" + encodeURIComponent(topics.join(",")));
  if (lastEventId !== undefined && lastEventId !== null && lastEventId !== "") {
    parts.push("last_event_id=" + encodeURIComponent(String(lastEventId)));
  }
  const base = url || "/api/v1/events";
  return parts.length ? base + (base.indexOf("?") >= 0 ? "&" : "?") + parts.join("&") : base;
}

export function subscribe(options = {}) {
  const { topics, url, onEvent, onReset, onState } = options;
  let lastId = options.lastEventId === undefined || options.lastEventId === null ? null : Number(options.lastEventId);
  let source = null;
  let closed = false;
  let retryMs = RETRY_MIN_MS;
  let timer = null;
  let state = "";
  let reloadOnOpen = false;

  function setState(next) {
    if (next === state) return;
    state = next;
    if (onState) onState(next);
  }

  function deliver(kind, ev) {
    const id = ev.lastEventId === "" || ev.lastEventId === undefined ? null : Number(ev.lastEventId);
    if (id !== null && !Number.isNaN(id)) {
      if (lastId !== null && id <= lastId) return; // already delivered before a reconnect
      lastId = id;
    }
    if (kind === "reset") {
      if (onReset) onReset();
      return;
    }
    let data;
    try {
      data = ev.data ? JSON.parse(ev.data) : {};
    } catch (err) {
      return; // a malformed message is dropped, never the stream
    }
    if (onEvent) {
      try {
        onEvent(kind, data, id);
      } catch (err) {
        // One page handler's bug must not stop later events; the console keeps it.
        window.setTimeout(() => { throw err; });
      }
    }
  }

  function open() {
    timer = null;
    if (closed) return;
    source = new EventSource(eventsUrl(url, topics, lastId), { withCredentials: true });
    source.onopen = () => {
      retryMs = RETRY_MIN_MS;
      setState("open");
      if (reloadOnOpen) {
        // Reopened by us without an id to resume from: what happened meanwhile is unknown.
        reloadOnOpen = false;
        if (onReset) onReset();
      }
    };
    source.onerror = () => {
      if (closed) return;
      if (source.readyState === EventSource.CONNECTING) {
        setState("reconnecting"); // the browser retries by itself, with Last-Event-ID
        return;
      }
      // CLOSED: the browser gave up; start again ourselves from the last id seen.
      source.close();
      setState("reconnecting");
      reloadOnOpen = lastId === null;
      timer = window.setTimeout(open, retryMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
    };
    KINDS.concat(["reset"]).forEach((kind) => {
      source.addEventListener(kind, (ev) => deliver(kind, ev));
    });
  }

  open();
  return {
    close() {
      closed = true;
      if (timer) window.clearTimeout(timer);
      if (source) source.close();
      setState("closed");
    },
    get lastEventId() {
      return lastId;
    },
  };
}
