/* The member's "refer a friend" page: copy the message, keep the mailto:/sms: links in step
   with what they typed, switch the message's language, and the phone's own share sheet when
   the browser has one (Web Share API). The page works without this file: the links and the
   text area are plain HTML. Nothing here talks to another site. */
(function () {
  "use strict";

  function announce(status, text) {
    if (!status) return;
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 30);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy")); }
    });
  }

  function setup(root) {
    var message = root.querySelector("[data-share-message]");
    var status = root.querySelector("[data-share-status]");
    var subject = root.getAttribute("data-share-subject") || "";
    var url = root.getAttribute("data-share-url") || "";

    function refreshLinks() {
      if (!message) return;
      var body = message.value;
      Array.prototype.forEach.call(root.querySelectorAll("[data-share-mail]"), function (a) {
        a.href = "mailto:?subject=" + encodeURIComponent(subject) + "&body=" + encodeURIComponent(body);
      });
      Array.prototype.forEach.call(root.querySelectorAll("[data-share-sms]"), function (a) {
        a.href = "sms:?&body=" + encodeURIComponent(body);
      });
    }

    Array.prototype.forEach.call(root.querySelectorAll("[data-copy]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-copy"));
        if (!target) return;
        var text = "value" in target ? target.value : target.textContent;
        copyText(text).then(function () {
          announce(status, button.getAttribute("data-copied") || "Copied");
        }, function () {
          if (target.select) target.select();
          announce(status, button.getAttribute("data-copy-failed") || "");
        });
      });
    });

    Array.prototype.forEach.call(root.querySelectorAll("[data-share-lang]"), function (link) {
      link.addEventListener("click", function (event) {
        if (!message) return;
        var text = link.getAttribute("data-share-text");
        if (text === null) return;
        event.preventDefault();
        message.value = text;
        message.setAttribute("lang", link.getAttribute("hreflang") || "");
        subject = link.getAttribute("data-share-subject-text") || subject;
        Array.prototype.forEach.call(root.querySelectorAll("[data-share-lang]"), function (other) {
          if (other === link) { other.setAttribute("aria-current", "true"); } else { other.removeAttribute("aria-current"); }
        });
        refreshLinks();
        announce(status, link.getAttribute("data-share-switched") || "");
      });
    });

    var native = root.querySelector("[data-share-native]");
    if (native && typeof navigator.share === "function") {
      native.hidden = false;
      native.addEventListener("click", function () {
        var data = { title: subject, text: message ? message.value : "" };
        // The link is already in the text; giving it again makes some apps print it twice.
        if (message && message.value.indexOf(url) === -1) data.url = url;
        navigator.share(data).catch(function () { /* the person closed the sheet */ });
      });
    }

    if (message) {
      message.addEventListener("input", refreshLinks);
      refreshLinks();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-share]"), setup);
  });
})();
