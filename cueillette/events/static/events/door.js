// The door's scanner: the camera reads a registration's QR code (BarcodeDetector where the
// browser has it, the bundled jsQR otherwise) and submits it to the check-in form. Without
// JavaScript or a camera, the code can be typed or pasted into the same field.
(function () {
  "use strict";
  var form = document.querySelector("[data-scan-form]");
  if (!form || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  var button = form.querySelector("[data-scan-camera]");
  var video = form.querySelector("[data-scan-video]");
  var input = form.querySelector("input[name=code]");
  if (!button || !video || !input) return;
  button.hidden = false;
  var canvas = document.createElement("canvas");
  var detector = ("BarcodeDetector" in window) ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;

  function found(value) {
    input.value = value;
    var stream = video.srcObject;
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    form.submit();
  }

  function tick() {
    if (video.readyState < 2) { requestAnimationFrame(tick); return; }
    if (detector) {
      detector.detect(video).then(function (codes) {
        if (codes.length) found(codes[0].rawValue); else requestAnimationFrame(tick);
      }).catch(function () { requestAnimationFrame(tick); });
      return;
    }
    if (window.jsQR) {
      canvas.width = video.videoWidth; canvas.height = video.videoHeight;
      var ctx = canvas.getContext("2d");
      ctx.drawImage(video, 0, 0);
      var img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var code = window.jsQR(img.data, img.width, img.height);
      if (code && code.data) { found(code.data); return; }
    }
    requestAnimationFrame(tick);
  }

  button.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream; video.hidden = false; video.play(); requestAnimationFrame(tick);
    }).catch(function () { input.focus(); });
  });
})();
