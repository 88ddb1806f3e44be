// Branchdesk console: small progressive enhancements. Everything works without this file.
(function () {
  "use strict";

  // Forms marked data-submit-once cannot be sent twice by a double click.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-submit-once")) return;
    if (form.dataset.submitted === "true") {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "true";
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.setAttribute("aria-disabled", "true");
    });
  });

  // "Print" buttons (receipts): shown only when script can print, so the page never offers
  // a button that does nothing.
  function showPrintButtons(root) {
    (root || document).querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
    });
  }
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target.closest("[data-print]") : null;
    if (!target) return;
    event.preventDefault();
    window.print();
  });
  document.addEventListener("DOMContentLoaded", function () { showPrintButtons(document); });
  document.addEventListener("htmx:afterSettle", function (event) { showPrintButtons(event.target); });

  // The journal composer: "Submit for approval" is disabled while the live totals say the
  // journal does not balance (the server refuses it anyway; without script it stays
  // enabled and the server explains).
  function syncBalanced(root) {
    (root || document).querySelectorAll("[data-balanced]").forEach(function (box) {
      var balanced = box.getAttribute("data-balanced") === "true";
      box.querySelectorAll("[data-submit-when-balanced]").forEach(function (button) {
        button.disabled = !balanced;
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { syncBalanced(document); });
  document.addEventListener("htmx:afterSettle", function () { syncBalanced(document); });

  // After a boosted navigation, move focus to the new page so screen readers announce it.
  document.addEventListener("htmx:afterSettle", function (event) {
    var detail = event.detail || {};
    if (!detail.boosted) return;
    var main = document.getElementById("main");
    if (main) main.focus({ preventScroll: true });
  });

  // "Copy" buttons beside a secret shown once (API keys, webhook secrets): shown only when
  // script can copy, so the page never offers a button that does nothing.
  function showCopyButtons(root) {
    if (!navigator.clipboard) return;
    (root || document).querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false;
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    navigator.clipboard.writeText(field.value).then(function () {
      button.textContent = "Copied";
    });
  });
  document.addEventListener("DOMContentLoaded", function () { showCopyButtons(document); });
  document.addEventListener("htmx:afterSettle", function (event) { showCopyButtons(event.target); });

  // Live updates (the SSE extension on <body>). When the session ends (signed out in
  // another tab, or timed out) the server says so and the stream closes: say it here too,
  // rather than let the page look alive.
  function sayLiveEnded() {
    if (document.getElementById("live-ended")) return;
    var main = document.getElementById("main");
    if (!main) return;
    var notice = document.createElement("div");
    notice.id = "live-ended";
    notice.className = "notice notice--warn";
    notice.setAttribute("role", "alert");
    var text = document.createElement("p");
    text.appendChild(document.createTextNode("Your session has ended, so this page no longer updates. "));
    var link = document.createElement("a");
    link.href = "/login?" + new URLSearchParams({ expired: "1", next: location.pathname + location.search });
    link.textContent = "Sign in again";
    text.appendChild(link);
    text.appendChild(document.createTextNode(" to carry on."));
    notice.appendChild(text);
    main.insertBefore(notice, main.firstChild);
  }
  document.addEventListener("htmx:sseClose", function (event) {
    var detail = event.detail || {};
    if (detail.type === "message") sayLiveEnded();
  });

  // A refresh the page made by itself (a live signal) that finds the session gone must not
  // carry the staff member off to the sign-in page mid-read: it says so in place, like the
  // stream does. What they click themselves still goes to sign-in.
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var detail = event.detail || {};
    var config = detail.requestConfig || {};
    var trigger = config.triggeringEvent;
    if (!trigger || typeof trigger.type !== "string" || trigger.type.indexOf("sse:") !== 0) return;
    var xhr = detail.xhr;
    var redirect = xhr && xhr.getResponseHeader("HX-Redirect");
    if (!redirect || redirect.indexOf("/login") !== 0) return;
    event.preventDefault();
    sayLiveEnded();
  });

  // Events sent while the stream was down (a console restarted, a network blip) are not
  // replayed: after a reconnect, everything that listens for them asks again once.
  var streamOpens = 0;
  document.addEventListener("htmx:sseOpen", function () {
    streamOpens += 1;
    if (streamOpens < 2 || typeof htmx === "undefined") return;
    document.querySelectorAll("[hx-trigger*='sse:approvals']").forEach(function (element) {
      htmx.trigger(element, "sse:approvals");
    });
  });

  // The approvals queue refreshes itself when the stream says it changed; boxes already
  // ticked for "Approve selected" stay ticked on the items still there.
  var ticked = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "approvals-live") return;
    ticked = Array.prototype.map.call(
      target.querySelectorAll("input[name=ids]:checked"), function (box) { return box.value; });
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!ticked.length) return;
    var live = document.getElementById("approvals-live");
    if (live) {
      live.querySelectorAll("input[name=ids]").forEach(function (box) {
        if (ticked.indexOf(box.value) !== -1) box.checked = true;
      });
    }
    ticked = [];
  });
})();
