// Cueillette: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // Ask before destructive actions: <form data-confirm="...">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  // Copy buttons: <button data-copy="#target">.
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target || !navigator.clipboard) return;
    navigator.clipboard.writeText(target.value || target.textContent || "").then(function () {
      button.setAttribute("data-copied", "true");
    });
  });
  // Print buttons: <button data-print>.
  document.addEventListener("click", function (event) {
    if (event.target instanceof Element && event.target.closest("[data-print]")) window.print();
  });
  // Move focus to the first invalid field after a failed submit.
  document.addEventListener("DOMContentLoaded", function () {
    var invalid = document.querySelector("[aria-invalid='true']");
    if (invalid instanceof HTMLElement) invalid.focus();
  });
})();
