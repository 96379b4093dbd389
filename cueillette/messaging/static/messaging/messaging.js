// The campaign editor's live preview: the French body, rendered and sanitised by the server
// (the same function as the send), shown at phone or desktop width. No third party, no inline.
(function () {
  "use strict";
  var form = document.getElementById("campaign-form");
  var preview = document.getElementById("preview");
  if (!form || !preview) return;
  document.querySelectorAll("[data-preview-size]").forEach(function (button) {
    button.addEventListener("click", function () {
      var size = button.getAttribute("data-preview-size");
      preview.classList.toggle("msg-preview--phone", size === "phone");
      preview.classList.toggle("msg-preview--desktop", size === "desktop");
      document.querySelectorAll("[data-preview-size]").forEach(function (b) {
        b.setAttribute("aria-pressed", String(b === button));
      });
    });
  });
  var timer = null;
  var last = null;
  function refresh(textarea) {
    var data = new FormData();
    data.append("body", textarea.value);
    data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    fetch(form.getAttribute("data-preview-url"), { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) { preview.innerHTML = html; });
  }
  ["id_body_fr", "id_body_en"].forEach(function (id) {
    var textarea = document.getElementById(id);
    if (!textarea) return;
    textarea.addEventListener("input", function () {
      last = textarea;
      clearTimeout(timer);
      timer = setTimeout(function () { refresh(last); }, 300);
    });
  });
})();
