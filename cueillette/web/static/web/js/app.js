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
  // Community post form: stars go with a review only. Choosing another kind clears the stars
  // (the CSS hides the picker), so a forgotten choice cannot block the post.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || input.name !== "kind" || !input.form) return;
    if (input.value === "review") return;
    var none = input.form.querySelector("input[name='rating'][value='']");
    if (none instanceof HTMLInputElement) none.checked = true;
  });
  // Print buttons: <button data-print>.
  document.addEventListener("click", function (event) {
    if (event.target instanceof Element && event.target.closest("[data-print]")) window.print();
  });
  // Move focus to the first invalid field after a failed submit. One selector list, so
  // querySelector returns the first match in document order: groups of radios or boxes marked
  // only by their container (.field--invalid) count as much as fields with aria-invalid.
  var INVALID = [
    "[aria-invalid='true']",
    ".field--invalid input:not([type='hidden'])",
    ".field--invalid select",
    ".field--invalid textarea"
  ].join(", ");
  document.addEventListener("DOMContentLoaded", function () {
    var invalid = document.querySelector(INVALID);
    if (!(invalid instanceof HTMLElement)) return;
    // In a group of radios, the checked one is where the keyboard enters the group.
    if (invalid instanceof HTMLInputElement && invalid.type === "radio" && invalid.form && invalid.name) {
      var name = window.CSS && CSS.escape ? CSS.escape(invalid.name) : invalid.name;
      var checked = invalid.form.querySelector("input[type='radio'][name='" + name + "']:checked");
      if (checked instanceof HTMLElement) invalid = checked;
    }
    invalid.focus();
  });
})();
