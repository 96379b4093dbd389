/* Service worker of the phone wallet. Served by the application under the wallet's own path
   (/o/<slug>/wallet/<token>/sw.js), with WALLET_ASSETS and WALLET_VERSION prepended, so its
   scope is exactly the wallet page.

   The page: network first (fresh balance), the cached copy when offline or very slow; a 410
   or 404 answer (card closed, link no longer valid) removes the cached card.
   The assets (CSS, JS, icons): cache first. */
/* global WALLET_ASSETS, WALLET_VERSION */
"use strict";

var PAGE = self.registration.scope;
var PREFIX = "wallet:" + PAGE + ":";
var CACHE = PREFIX + WALLET_VERSION;
var SLOW_MS = 4000;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE)
      .then(function (cache) { return cache.addAll([PAGE].concat(WALLET_ASSETS)); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys()
      .then(function (keys) {
        return Promise.all(keys.filter(function (key) {
          return key.indexOf(PREFIX) === 0 && key !== CACHE;
        }).map(function (key) { return caches.delete(key); }));
      })
      .then(function () { return self.clients.claim(); })
  );
});

function fromNetwork(request) {
  return fetch(request).then(function (response) {
    return caches.open(CACHE).then(function (cache) {
      if (response.ok) {
        return cache.put(PAGE, response.clone()).then(function () { return response; });
      }
      if (response.status === 404 || response.status === 410) {
        return cache.delete(PAGE).then(function () { return response; });
      }
      return response;
    });
  });
}

function cachedPage() {
  return caches.open(CACHE).then(function (cache) { return cache.match(PAGE); });
}

function page(request) {
  var network = fromNetwork(request);
  var slow = new Promise(function (resolve) {
    setTimeout(function () { cachedPage().then(resolve); }, SLOW_MS);
  });
  return Promise.race([network, slow.then(function (hit) { return hit || network; })])
    .catch(function () {
      return cachedPage().then(function (hit) { return hit || Response.error(); });
    });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.origin + url.pathname === PAGE) {
    event.respondWith(page(request));
    return;
  }
  if (WALLET_ASSETS.indexOf(url.pathname) !== -1) {
    event.respondWith(
      caches.open(CACHE).then(function (cache) {
        return cache.match(request, { ignoreSearch: true }).then(function (hit) {
          return hit || fetch(request);
        });
      })
    );
  }
});
