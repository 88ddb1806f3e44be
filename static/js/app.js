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
})();
