/* Live updates for Holdfast's pages.
 *
 * A logged-in page (body[data-live-socket]) opens one WebSocket to /ws/live/ (authenticated by the
 * session cookie). The server sends {"type": "update", "topic": "escrow:42", "data": {...}} when
 * something the user sees changed; every element marked
 *   <section data-live-part="escrow-42" data-live-topics="escrow:42 task:7">
 * listening to that topic is reloaded: the page's own URL is fetched again and those parts are
 * swapped for their new versions (a part with a field being typed in is left alone). The bell
 * ([data-live-unread]) follows the "notifications" topic's unread count.
 *
 * When the socket is down the page polls (every body[data-live-poll] seconds) for its parts, and
 * reconnects with exponential backoff (1 s doubling to 30 s, with jitter). <html data-live> says
 * which: "connecting", "open" or "polling".
 */
(function () {
  "use strict";

  const MAX_BACKOFF_MS = 30000;
  const PING_MS = 25000;
  const CLOSE_UNAUTHENTICATED = 4401;

  function backoff(attempt, random) {
    const base = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, attempt));
    return Math.round(base / 2 + (base / 2) * (random === undefined ? Math.random() : random));
  }

  function topicsOf(element) {
    return (element.getAttribute("data-live-topics") || "").split(/\s+/).filter(Boolean);
  }

  if (typeof module !== "undefined" && module.exports) {
    module.exports = { backoff, topicsOf };  // node tests
  }
  if (typeof document === "undefined" || !document.body) return;

  const body = document.body;
  const socketPath = body.getAttribute("data-live-socket");
  if (!socketPath) return;  // logged out: nothing is live
  const root = document.documentElement;
  const pollMs = Math.max(2, Number(body.getAttribute("data-live-poll") || 10)) * 1000;
  let socket = null;
  let attempts = 0;
  let stopped = false;
  let pollTimer = null;
  let pingTimer = null;
  let refreshTimer = null;
  let refreshing = null;
  let missed = false;

  function status(value) {
    root.setAttribute("data-live", value);
  }

  function parts() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-live-part]"));
  }

  function typingIn(element) {
    const active = document.activeElement;
    if (!active || !element.contains(active)) return false;
    return active.tagName === "TEXTAREA" || (active.tagName === "INPUT" && /^(text|number|email|search|tel|url|password)$/.test(active.type));
  }

  // Each rendering of a form carries a new CSRF token: not a change worth swapping a part for.
  function comparable(html) {
    return html.replace(/name="csrfmiddlewaretoken" value="[^"]*"/g, "");
  }

  function setUnread(count) {
    document.querySelectorAll("[data-live-unread]").forEach(function (badge) {
      badge.textContent = String(count);
      badge.hidden = !count;
      const bell = badge.closest("[data-live-bell]");
      if (bell) bell.setAttribute("aria-label", "Notifications, " + count + " unread");
    });
  }

  // Fetch this page again and swap the parts that changed (all of them when ``topic`` is null).
  function refresh(topic) {
    if (refreshing) return refreshing.then(function () { return refresh(topic); });
    const wanted = parts().filter(function (part) { return topic === null || topicsOf(part).indexOf(topic) !== -1; });
    if (!wanted.length && topic !== null) return Promise.resolve();
    refreshing = fetch(window.location.href, { credentials: "same-origin", headers: { "X-Holdfast-Live": "1" } })
      .then(function (response) {
        if (!response.ok || response.redirected) throw new Error("page answered " + response.status);
        return response.text();
      })
      .then(function (html) {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        (topic === null ? parts() : wanted).forEach(function (part) {
          const name = part.getAttribute("data-live-part");
          const next = fresh.querySelector('[data-live-part="' + name + '"]');
          if (!next || comparable(next.innerHTML) === comparable(part.innerHTML) || typingIn(part)) return;
          part.replaceWith(document.importNode(next, true));
        });
        const badge = fresh.querySelector("[data-live-unread]");
        if (badge) setUnread(Number(badge.textContent) || 0);
        document.dispatchEvent(new CustomEvent("holdfast:live-refreshed", { detail: { topic: topic } }));
      })
      .catch(function () { /* the next message or poll tries again */ })
      .then(function () { refreshing = null; });
    return refreshing;
  }

  function scheduleRefresh(topic) {
    // Events come in bursts (an escrow, its task and the wallet): one fetch for them all.
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () { refresh(topic); }, 80);
  }

  function onMessage(event) {
    let message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    if (message.type === "ready") {
      attempts = 0;
      status("open");
      stopPolling();
      // Catch up on what happened while the socket was away (or between rendering and now).
      missed = false;
      if (parts().length) refresh(null);
    } else if (message.type === "update") {
      const data = message.data || {};
      if (message.topic === "notifications" && typeof data.unread === "number") setUnread(data.unread);
      if (parts().some(function (part) { return topicsOf(part).indexOf(message.topic) !== -1; })) {
        scheduleRefresh(message.topic);
      }
      document.dispatchEvent(new CustomEvent("holdfast:live", { detail: message }));
    }
  }

  function startPolling() {
    status("polling");
    if (pollTimer || !parts().length) return;
    pollTimer = setInterval(function () { refresh(null); }, pollMs);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  function connect() {
    if (stopped) return;
    status(attempts ? "polling" : "connecting");
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    try {
      socket = new WebSocket(scheme + window.location.host + socketPath);
    } catch (e) {
      reconnectLater();
      return;
    }
    socket.addEventListener("message", onMessage);
    socket.addEventListener("open", function () {
      clearInterval(pingTimer);
      pingTimer = setInterval(function () {
        if (socket && socket.readyState === 1) socket.send('{"type":"ping"}');
      }, PING_MS);
    });
    socket.addEventListener("close", function (event) {
      clearInterval(pingTimer);
      socket = null;
      missed = true;
      startPolling();
      if (event.code === CLOSE_UNAUTHENTICATED) return;  // logged out: polling only (it stops at the log-in page)
      reconnectLater();
    });
  }

  function reconnectLater() {
    const delay = backoff(attempts);
    attempts += 1;
    startPolling();
    setTimeout(connect, delay);
  }

  window.addEventListener("pagehide", function () {
    stopped = true;
    if (socket) socket.close();
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;  // back from the browser's page cache: catch up and listen again
    stopped = false;
    missed = true;
    attempts = 0;
    connect();
  });
  window.HoldfastLive = { refresh: refresh, backoff: backoff };
  connect();
})();
