// Import progress: poll the import's progress and update the bar; reload for the report.
// Without JavaScript the page refreshes itself (meta refresh in <noscript>).
(function () {
  "use strict";
  var box = document.querySelector("[data-import-progress]");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-import-progress");
  var bar = document.getElementById("import-bar");
  var text = document.getElementById("import-progress-text");
  var template = text ? text.getAttribute("data-template") || "" : "";
  function tick() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (!data.running) { window.location.reload(); return; }
        if (bar) { bar.value = data.percent; bar.textContent = data.percent + " %"; }
        if (text && template) {
          text.textContent = template.replace("{n}", data.processed).replace("{total}", data.total)
            .replace("{p}", data.percent);
        }
        window.setTimeout(tick, 1500);
      })
      .catch(function () { window.setTimeout(tick, 5000); });
  }
  window.setTimeout(tick, 1000);
})();
