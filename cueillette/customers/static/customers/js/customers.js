// Customer pages: results as you type, live duplicate warning. Pages work without this file.
(function () {
  "use strict";

  function debounce(fn, wait) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, wait);
    };
  }

  // Fetch an HTML fragment of our own pages and put it in `target`; older answers are dropped.
  function fragmentLoader(target) {
    var controller = null;
    return function (url) {
      if (controller) controller.abort();
      controller = "AbortController" in window ? new AbortController() : null;
      return fetch(url, {
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
    };
  }

  function liveSearch(form) {
    var input = form.querySelector("input[type=search]");
    var target = document.querySelector(form.getAttribute("data-target") || "#results");
    if (!input || !target) return;
    var load = fragmentLoader(target);
    var last = input.value;
    var run = debounce(function () {
      var q = input.value.trim();
      if (q === last) return;
      last = q;
      var params = new URLSearchParams({ q: q, partial: "1" });
      target.setAttribute("aria-busy", "true");
      load(form.getAttribute("data-live-search") + "?" + params.toString());
      var pageParams = new URLSearchParams(q ? { q: q } : {});
      var query = pageParams.toString();
      window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
    }, 180);
    input.addEventListener("input", run);
  }

  function duplicateCheck(form) {
    var email = form.querySelector("input[name=email]");
    var phone = form.querySelector("input[name=phone]");
    var target = form.querySelector("#duplicates");
    if (!email || !phone || !target) return;
    var load = fragmentLoader(target);
    var last = "";
    var run = debounce(function () {
      var params = new URLSearchParams({ email: email.value.trim(), phone: phone.value.trim() });
      var exclude = form.getAttribute("data-exclude");
      if (exclude) params.append("exclude", exclude);
      var key = params.toString();
      if (key === last) return;
      last = key;
      if (!email.value.trim() && !phone.value.trim()) { target.innerHTML = ""; return; }
      load(form.getAttribute("data-dup-check") + "?" + key);
    }, 350);
    email.addEventListener("input", run);
    phone.addEventListener("input", run);
    email.addEventListener("change", run);
    phone.addEventListener("change", run);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-live-search]"), liveSearch);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-dup-check]"), duplicateCheck);
  });
})();
