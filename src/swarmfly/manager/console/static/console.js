/* The Swarmfly console's own script: small, no build step, no inline handlers (the CSP forbids
   them). htmx does the live updates; this file only makes the forms nicer:
   - the preheat form's File/Image switch (shows, hides and disables the fields of each mode,
     and checks an image URL looks like a manifest URL before it is sent),
   - "add row" / "remove row" buttons for URLs and headers,
   - the "Copy" button of a new token,
   - a confirmation before a form with data-confirm is sent (revoking a token). */
(function () {
  "use strict";

  // an HTML pattern: anchored, and compiled with the "v" flag (so "/" is escaped in a class)
  var MANIFEST = "https?://[^\\/]+/v2/.+/manifests/[^\\/]+";
  var MANIFEST_MESSAGE =
    "An image is preheated from its manifest URL: " +
    "https://registry/v2/<repository>/manifests/<tag or digest>";

  function setMode(form) {
    var checked = form.querySelector('input[name="type"]:checked');
    var mode = checked ? checked.value : "file";
    form.dataset.mode = mode;
    form.querySelectorAll("[data-only]").forEach(function (el) {
      var on = el.dataset.only === mode;
      el.hidden = !on;
      el.querySelectorAll("input, select, textarea, button").forEach(function (input) {
        input.disabled = !on;
      });
      if (el.matches("input, select, textarea, button")) { el.disabled = !on; }
    });
    var first = form.querySelector("#url-0");
    if (first) {
      if (mode === "image") { first.setAttribute("pattern", MANIFEST); }
      else { first.removeAttribute("pattern"); }
      first.setCustomValidity("");
      checkManifest(first);
    }
  }

  function checkManifest(input) {
    var form = input.form;
    if (!form || form.dataset.mode !== "image" || input.id !== "url-0") { return; }
    input.setCustomValidity("");
    if (input.value && input.validity.patternMismatch) { input.setCustomValidity(MANIFEST_MESSAGE); }
  }

  function addRow(button) {
    var template = document.getElementById(button.dataset.addRow);
    var into = document.getElementById(button.dataset.into);
    if (!template || !into) { return; }
    var row = template.content.firstElementChild.cloneNode(true);
    var n = into.children.length;
    row.querySelectorAll("input").forEach(function (input, i) {
      var id = input.name.replace("_", "-") + "-" + n + (i ? "-" + i : "");
      if (input.name === "url") { id = "url-" + n; }
      input.id = id;
      var label = input.previousElementSibling;
      if (label && label.tagName === "LABEL") { label.htmlFor = id; }
    });
    into.appendChild(row);
    var focus = row.querySelector("input");
    if (focus) { focus.focus(); }
  }

  function copy(button) {
    var input = document.getElementById(button.dataset.copy);
    var status = button.parentElement.querySelector(".copied");
    if (!input) { return; }
    function done(ok) { if (status) { status.textContent = ok ? "Copied" : "Select it and copy"; } }
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () { done(true); }, function () {
        done(document.execCommand("copy"));
      });
    } else {
      done(document.execCommand("copy"));
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("button");
    if (!target) { return; }
    if (target.type === "submit" && target.form) {
      var url = target.form.querySelector("#url-0");
      if (url) { checkManifest(url); }  // before the browser validates the form
    }
    if (target.dataset.addRow) { addRow(target); }
    else if (target.hasAttribute("data-remove-row")) {
      var row = target.closest(".row");
      var next = row && (row.previousElementSibling || row.parentElement);
      if (row) { row.remove(); }
      if (next) { (next.querySelector("input") || next).focus(); }
    }
    else if (target.dataset.copy) { copy(target); }
  });

  document.addEventListener("change", function (event) {
    if (event.target.name === "type" && event.target.form) { setMode(event.target.form); }
  });

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("#url-0")) { checkManifest(event.target); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { event.preventDefault(); }
  }, true);

  function ready() {
    document.querySelectorAll("form[data-mode]").forEach(setMode);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); }
  else { ready(); }
})();
