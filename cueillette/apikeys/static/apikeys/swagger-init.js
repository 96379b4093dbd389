// Swagger UI for /api/v1/docs, started from a static file: the CSP forbids inline scripts.
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  if (!node || typeof window.SwaggerUIBundle !== "function") return;
  window.SwaggerUIBundle({
    url: node.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    // Deep links put a link inside each operation's toggle button (nested interactive
    // controls for a screen reader): the reference page at /api/v1/docs has the anchors.
    deepLinking: false,
    presets: [window.SwaggerUIBundle.presets.apis],
  });
})();
