/* "Who sent you?" on the counter's registration form: the matching customers appear as staff
   type (a fragment of our own page), to pick with one tap. Without this file the form asks
   the server to search when it is sent, then shows the same list. */
(function () {
  "use strict";

  function setup(box) {
    var input = box.querySelector("input[type=search]");
    var target = box.querySelector("#referrer-choices");
    var url = box.getAttribute("data-search-url");
    if (!input || !target || !url) return;
    var timer = null;
    var controller = null;
    var last = input.value.trim();

    function load() {
      var q = input.value.trim();
      if (q === last) return;
      last = q;
      if (!q) { target.innerHTML = ""; return; }
      if (controller) controller.abort();
      controller = "AbortController" in window ? new AbortController() : null;
      target.setAttribute("aria-busy", "true");
      fetch(url + "?" + new URLSearchParams({ referrer_search: q }).toString(), {
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      }).then(function (html) {
        target.innerHTML = html;
        target.setAttribute("aria-busy", "false");
      }).catch(function () {
        target.setAttribute("aria-busy", "false");
      });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(load, 250);
    });
    // Enter searches now instead of sending the whole registration form.
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        window.clearTimeout(timer);
        load();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-who-sent-you]"), setup);
  });
})();
