/* The one script of the pages (no inline script: the Content-Security-Policy allows only
   this file and htmx). Everything works without it; it only adds comfort. */
(function () {
  "use strict";

  // A refused or failed htmx request always says so, where the user acted. The server
  // answers a refusal with its French sentence (web/errors.py); a lost connection has none.
  function showError(element, text) {
    var place = element.closest("li, tr, form, section, .card") || element;
    var note = place.querySelector(":scope > .htmx-error");
    if (!note) {
      note = document.createElement("p");
      note.className = "error htmx-error";
      note.setAttribute("role", "alert");
      place.appendChild(note);
    }
    note.textContent = text;
  }
  function clearError(element) {
    var place = element.closest("li, tr, form, section, .card");
    var note = place && place.querySelector(":scope > .htmx-error");
    if (note) note.remove();
  }
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var text = (xhr.getResponseHeader("content-type") || "").indexOf("text/plain") === 0
      ? xhr.responseText
      : "Une erreur est survenue : rechargez la page et recommencez.";
    showError(event.detail.elt, text);
  });
  document.addEventListener("htmx:sendError", function (event) {
    showError(event.detail.elt,
      "Pas de connexion : votre changement n'a pas été envoyé. Vérifiez le réseau et recommencez.");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) clearError(event.detail.elt);
  });

  // Each htmx request sent from inside [data-request-keys] (the ordering page's form) gets a
  // key of its own, made when it is sent: the server applies a request with a key it has
  // seen once only, so a request the network sends twice counts once, while every tap of
  // "+" is a tap of its own (the form's hx-sync queues them: none is dropped).
  function newKey() {
    var cryptography = window.crypto;
    if (cryptography.randomUUID) return cryptography.randomUUID();  // secure contexts only
    var bytes = cryptography.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt.closest("[data-request-keys]")) event.detail.parameters.k = newKey();
  });

  // The + and − of a product line keep their place when the line is swapped (hx-preserve,
  // so that taps queued behind them are still sent): the new line says whether there is a
  // quantity (class "in") and whether it is sold out (data-out), the buttons follow. A tap
  // on one of them makes the other one usable at once: "+" then "−" is no dropped tap.
  function qcButtons(element) {
    var controls = element.closest(".qc");
    return controls ? controls.querySelectorAll("button") : [];
  }
  document.addEventListener("htmx:load", function (event) {
    var line = event.target;
    if (!line.matches || !line.matches(".products > li")) return;
    var buttons = line.querySelectorAll(".qc button");
    if (buttons.length !== 2) return;
    buttons[0].disabled = !line.classList.contains("in");
    buttons[1].disabled = line.hasAttribute("data-out");
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".products .qc button");
    if (!button) return;
    qcButtons(button).forEach(function (other) { if (other !== button) other.disabled = false; });
  });

  // Escape in an inline editor cancels it: htmx's trigger filters need eval, which the
  // policy forbids, so the elements say `hx-trigger="escape" data-on-escape` instead.
  document.addEventListener("keyup", function (event) {
    if (event.key !== "Escape" || !window.htmx) return;
    var editor = event.target.closest("[data-on-escape]");
    if (editor) window.htmx.trigger(editor, "escape");
  });

  // A link with an anchor (#r1) that leads to the login page: the anchor is not sent to the
  // server, so it is added to where the login goes back to.
  document.addEventListener("DOMContentLoaded", function () {
    if (!location.hash) return;
    document.querySelectorAll('form input[type=hidden][name=next]').forEach(function (input) {
      if (input.value && input.value.indexOf("#") < 0) input.value += location.hash;
    });
  });

  // « Imprimer » (the émargement, the commande en gros).
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) window.print();
  });

  // « Copier » next to a share link: the text of the input it names.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.querySelector(button.dataset.copy);
    var done = button.nextElementSibling;
    function ok() { if (done) done.hidden = false; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(ok);
    } else {
      input.select();
      document.execCommand("copy");
      ok();
    }
  });
})();
