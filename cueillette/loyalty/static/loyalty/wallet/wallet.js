/* The phone wallet: registers its service worker (offline QR), says when offline, and offers
   "Add to home screen" where the browser allows it. No inline script: CSP script-src 'self'. */
(function () {
  "use strict";
  var root = document.documentElement;
  var sw = root.getAttribute("data-sw");
  if (sw && "serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(sw).catch(function () { /* the page still works */ });
    });
  }

  function showOffline() {
    var note = document.getElementById("wallet-offline");
    if (note) { note.hidden = navigator.onLine !== false; }
  }
  window.addEventListener("online", showOffline);
  window.addEventListener("offline", showOffline);
  document.addEventListener("DOMContentLoaded", showOffline);

  var deferred = null;
  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();
    deferred = event;
    var button = document.getElementById("wallet-install");
    if (button) { button.hidden = false; }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("#wallet-install") : null;
    if (!button || !deferred) { return; }
    deferred.prompt();
    deferred.userChoice.finally(function () {
      deferred = null;
      button.hidden = true;
    });
  });
})();
