// Suggest the public address from the business name until the person edits it themselves.
(function () {
  "use strict";
  function slugify(text) {
    return text
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 50)
      .replace(/-+$/g, "");
  }
  document.addEventListener("DOMContentLoaded", function () {
    var source = document.querySelector("[data-slug-source]");
    var target = document.querySelector("[data-slug-target]");
    if (!(source instanceof HTMLInputElement) || !(target instanceof HTMLInputElement)) return;
    var touched = target.value !== "" && target.value !== slugify(source.value);
    target.addEventListener("input", function () {
      touched = target.value !== "";
    });
    source.addEventListener("input", function () {
      if (!touched) target.value = slugify(source.value);
    });
  });
})();
