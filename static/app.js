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
  // A large shop's page holds a product twice, in the basket (#bp12) and in a section or
  // the search's results (#p12): a change says which copies the page has (`w`: "B" the
  // basket, "b" and "p" this product's), and the answer refreshes the other one or adds
  // the product to the basket (web/ordering/lines.py).
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (event.detail.verb === "get" || !elt.closest("[data-request-keys]")) return;
    event.detail.parameters.k = newKey();
    var line = elt.closest(".products > li"), basket = document.getElementById("basket-lines");
    if (!line || !basket) return;
    var id = line.id.replace(/^b/, "");
    event.detail.parameters.w = "B" + (document.getElementById("b" + id) ? "b" : "") +
      (document.getElementById(id) ? "p" : "");
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

  // Focus after an htmx swap: htmx keeps it on an element whose id comes back, and on an
  // [autofocus] element of the new content; otherwise (an inline editor closed, a member's
  // order opened) it would fall to the page's top. It goes back to the same cell of the
  // swapped row, or to the first control of the new content.
  var FOCUSABLE = "a[href], button:not([disabled]), input:not([type=hidden]), select, textarea, [tabindex]";
  var lost = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target, active = document.activeElement;
    lost = null;
    if (!target || !target.id || !active || active === document.body || !target.contains(active)) return;
    var cell = active.closest("td, th");
    var row = cell && cell.parentElement;
    lost = {
      id: target.id,
      row: row && target.contains(row) ? Array.prototype.indexOf.call(target.querySelectorAll("tr"), row) : -1,
      cell: cell ? Array.prototype.indexOf.call(cell.parentElement.children, cell) : -1
    };
  });
  document.addEventListener("htmx:afterSettle", function () {
    var was = lost;
    lost = null;
    var active = document.activeElement;
    if (!was || (active && active !== document.body && document.body.contains(active))) return;
    var fresh = document.getElementById(was.id);
    if (!fresh) return;
    var place = fresh;
    if (was.cell >= 0) {
      var rows = fresh.matches("tr") ? [fresh] : fresh.querySelectorAll("tr");
      var row = rows[Math.max(was.row, 0)] || rows[0];
      if (row && row.children[was.cell] && row.children[was.cell].querySelector(FOCUSABLE)) place = row.children[was.cell];
    }
    var control = place.querySelector(FOCUSABLE) || fresh.querySelector(FOCUSABLE);
    if (!control) { fresh.setAttribute("tabindex", "-1"); control = fresh; }
    control.focus();
  });

  // A refused form: focus goes to its first field in error (the page's, or the fragment's).
  function focusFirstError(root) {
    if (document.querySelector("[autofocus]:focus")) return;
    var bad = root.querySelector('[aria-invalid="true"]');
    if (bad) bad.focus();
  }
  document.addEventListener("DOMContentLoaded", function () { focusFirstError(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    var elt = event.detail.elt;
    // a form sent whole (not a + of the ordering page: focus stays on what was pressed)
    if (elt && elt.matches && elt.matches("form") && event.detail.target) focusFirstError(event.detail.target);
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
