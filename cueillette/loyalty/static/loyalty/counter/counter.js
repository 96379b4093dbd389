// The counter screen, enhanced. Every form works without this file; it adds:
// - scanning a card's QR code with the camera (only when asked) or from a photo: the
//   browser's BarcodeDetector when it reads QR codes, else the bundled jsQR (loaded only then);
// - the points preview as the amount is typed (a small fragment from the server);
// - no double submit (the server is idempotent anyway: a receipt id per confirm form);
// - the Undo button leaves when its five minutes are over.
(function () {
  "use strict";

  var MAX_SIDE = 1024; // pixels: larger photos are scaled down before decoding
  var SCAN_EVERY = 250; // ms between two camera frames: light on a cheap phone

  // ------------------------------------------------------------------ card number

  // What a card's QR code says: the 12 digits, or a link ending with /card/<digits>/.
  function cardNumber(text) {
    var value = String(text || "");
    var match = /\/card\/([\d\s]+)\/?/.exec(value);
    var digits = (match ? match[1] : value).replace(/[\s.\-\u00a0\u202f]/g, "");
    return /^\d{12}$/.test(digits) ? digits : null;
  }

  // ------------------------------------------------------------------ decoders

  var jsqrPromise = null;
  function loadJsQR(src) {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    if (!jsqrPromise) {
      jsqrPromise = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.async = true;
        script.addEventListener("load", function () {
          if (window.jsQR) resolve(window.jsQR);
          else reject(new Error("jsQR did not load"));
        });
        script.addEventListener("error", function () {
          jsqrPromise = null;
          reject(new Error("jsQR did not load"));
        });
        document.head.appendChild(script);
      });
    }
    return jsqrPromise;
  }

  var detectorPromise = null;
  function getDetector() {
    if (!("BarcodeDetector" in window)) return Promise.resolve(null);
    if (!detectorPromise) {
      var formats = window.BarcodeDetector.getSupportedFormats
        ? window.BarcodeDetector.getSupportedFormats()
        : Promise.resolve(["qr_code"]);
      detectorPromise = Promise.resolve(formats)
        .then(function (list) {
          return list.indexOf("qr_code") >= 0 ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
        })
        .catch(function () {
          return null;
        });
    }
    return detectorPromise;
  }

  var canvas = null;
  function pixels(source, width, height) {
    var scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    var w = Math.max(1, Math.round(width * scale));
    var h = Math.max(1, Math.round(height * scale));
    canvas = canvas || document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(source, 0, 0, w, h);
    return ctx.getImageData(0, 0, w, h);
  }

  // Resolves with the text of the first QR code seen in ``source``, or null.
  // ``fallback``: also try jsQR when a BarcodeDetector exists but saw nothing (photos).
  function decode(source, width, height, jsqrSrc, fallback) {
    return getDetector()
      .then(function (detector) {
        if (!detector) return { tried: false, value: null };
        return detector
          .detect(source)
          .then(function (codes) {
            for (var i = 0; i < codes.length; i++) {
              if (codes[i].rawValue) return { tried: true, value: codes[i].rawValue };
            }
            return { tried: true, value: null };
          })
          .catch(function () {
            return { tried: false, value: null };
          });
      })
      .then(function (result) {
        if (result.value !== null || (result.tried && !fallback)) return result.value;
        return loadJsQR(jsqrSrc).then(function (jsQR) {
          var image = pixels(source, width, height);
          var code = jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" });
          return code && code.data ? code.data : null;
        });
      });
  }

  function imageFromFile(file) {
    if (window.createImageBitmap) {
      return window.createImageBitmap(file).catch(function () {
        return imageElement(file);
      });
    }
    return imageElement(file);
  }

  function imageElement(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.addEventListener("load", function () {
        URL.revokeObjectURL(url);
        resolve(img);
      });
      img.addEventListener("error", function () {
        URL.revokeObjectURL(url);
        reject(new Error("not an image"));
      });
      img.src = url;
    });
  }

  // ------------------------------------------------------------------ scan section

  function setupScan(section) {
    var jsqrSrc = section.getAttribute("data-jsqr");
    var lookup = section.getAttribute("data-lookup");
    var start = section.querySelector("[data-scan-start]");
    var stop = section.querySelector("[data-scan-stop]");
    var file = section.querySelector("[data-scan-file]");
    var video = section.querySelector("[data-scan-video]");
    var status = section.querySelector("[data-scan-status]");
    var stream = null;
    var timer = null;
    var busy = false;

    function say(key, isError, number) {
      var text = section.getAttribute("data-msg-" + key) || "";
      if (number) text = text.replace("%s", number.replace(/(\d{4})(?=\d)/g, "$1 "));
      status.textContent = text;
      status.classList.toggle("counter-scan__status--error", !!isError);
    }

    function found(value) {
      var number = cardNumber(value);
      if (!number) {
        say("notcard", true);
        return false;
      }
      stopCamera();
      say("found", false, number);
      window.location.assign(lookup + "?q=" + encodeURIComponent(number));
      return true;
    }

    function stopCamera() {
      if (timer) window.clearTimeout(timer);
      timer = null;
      if (stream) {
        stream.getTracks().forEach(function (track) {
          track.stop();
        });
      }
      stream = null;
      video.srcObject = null;
      video.hidden = true;
      stop.hidden = true;
      start.hidden = false;
    }

    function tick() {
      timer = null;
      if (!stream) return;
      if (busy || video.readyState < 2 || !video.videoWidth) {
        timer = window.setTimeout(tick, SCAN_EVERY);
        return;
      }
      busy = true;
      decode(video, video.videoWidth, video.videoHeight, jsqrSrc, false)
        .then(function (value) {
          busy = false;
          if (value && found(value)) return;
          if (stream) timer = window.setTimeout(tick, SCAN_EVERY);
        })
        .catch(function () {
          busy = false;
          if (stream) timer = window.setTimeout(tick, SCAN_EVERY);
        });
    }

    start.addEventListener("click", function () {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        say("nocamera", true);
        return;
      }
      say("starting", false);
      navigator.mediaDevices
        .getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false })
        .then(function (media) {
          stream = media;
          video.srcObject = media;
          video.hidden = false;
          stop.hidden = false;
          start.hidden = true;
          stop.focus();
          return video.play();
        })
        .then(function () {
          say("looking", false);
          tick();
        })
        .catch(function () {
          stopCamera();
          say("nocamera", true);
        });
    });

    stop.addEventListener("click", function () {
      stopCamera();
      say("stopped", false);
      start.focus();
    });

    file.addEventListener("change", function () {
      var chosen = file.files && file.files[0];
      if (!chosen) return;
      stopCamera();
      say("reading", false);
      imageFromFile(chosen)
        .then(function (image) {
          var w = image.naturalWidth || image.width;
          var h = image.naturalHeight || image.height;
          return decode(image, w, h, jsqrSrc, true);
        })
        .then(function (value) {
          if (!value) say("notfound", true);
          else found(value);
        })
        .catch(function () {
          say("notfound", true);
        })
        .then(function () {
          file.value = "";
        });
    });

    window.addEventListener("pagehide", stopCamera);
    section.hidden = false;
  }

  // ------------------------------------------------------------------ preview as you type

  function setupPreview(form) {
    var input = form.querySelector("input[name=amount]");
    var target = document.querySelector("[data-preview-target]");
    if (!input || !target || !window.fetch) return;
    var timer = null;
    var seq = 0;
    var controller = null;

    function run(focusConfirm) {
      var mine = ++seq;
      if (!input.value.trim()) {
        target.innerHTML = "";
        input.removeAttribute("aria-invalid");
        return;
      }
      if (controller && controller.abort) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-Requested-With": "fetch" },
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined,
      })
        .then(function (response) {
          return response.text().then(function (text) {
            return { ok: response.ok, text: text };
          });
        })
        .then(function (result) {
          if (mine !== seq) return;
          target.innerHTML = result.text;
          var stale = form.querySelector("#amount-error");
          if (stale) stale.remove();
          if (result.ok) input.removeAttribute("aria-invalid");
          else input.setAttribute("aria-invalid", "true");
          if (focusConfirm) {
            var confirm = target.querySelector("button[type=submit]");
            if (confirm) confirm.focus();
          }
        })
        .catch(function () {
          /* offline or aborted: the Preview button still works without script */
        });
    }

    input.addEventListener("input", function () {
      // The preview on screen is for the previous amount: it cannot be confirmed any more.
      target.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = true;
      });
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        run(false);
      }, 300);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      window.clearTimeout(timer);
      run(true);
    });
  }

  // ------------------------------------------------------------------ double submit

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-once")) return;
    if (event.defaultPrevented) return;
    if (form.hasAttribute("data-sent")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "");
    // After the submission has captured the button's name and value.
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = true;
      });
    }, 0);
  });

  // Back from the next page (bfcache): the forms can be used again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      form.removeAttribute("data-sent");
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.disabled = false;
      });
    });
  });

  // ------------------------------------------------------------------ undo window

  function setupUndo(form) {
    var seconds = parseInt(form.getAttribute("data-undo-seconds"), 10);
    if (!(seconds > 0)) return;
    window.setTimeout(function () {
      form.hidden = true;
    }, seconds * 1000);
  }

  function init() {
    document.querySelectorAll("[data-scan]").forEach(setupScan);
    document.querySelectorAll("form[data-preview]").forEach(setupPreview);
    document.querySelectorAll("form[data-undo-seconds]").forEach(setupUndo);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();

  // For the page's tests and for curious developers.
  window.cueilletteCounter = { cardNumber: cardNumber };
})();
