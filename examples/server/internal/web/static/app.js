// Chatter admin UI: small progressive enhancements; every page works
// without this file.
"use strict";

// The keyboard layout indicator of password fields: after each key it
// says which layout the last letter came from (раскладка: RU / EN) and
// whether Caps Lock is on. A password typed in the wrong layout is the
// commonest reason for "wrong password" (the support guide).
function layoutIndicator(input) {
  var out = document.getElementById(input.getAttribute("data-layout"));
  if (!out) return;
  var layout = "";
  var caps = false;
  function show() {
    var parts = [];
    if (layout) parts.push(out.getAttribute("data-label") + " " + layout);
    if (caps) parts.push(out.getAttribute("data-caps"));
    out.textContent = parts.join(" · ");
    out.hidden = parts.length === 0;
    out.classList.toggle("warn", caps || layout === "RU");
  }
  function letter(ch) {
    if (!ch || ch.length !== 1) return;
    if (/[\u0400-\u04FF]/.test(ch)) layout = "RU";
    else if (/[A-Za-z]/.test(ch)) layout = "EN";
  }
  input.addEventListener("keydown", function (e) {
    if (e.getModifierState) caps = e.getModifierState("CapsLock");
    letter(e.key);
    show();
  });
  input.addEventListener("input", function (e) {
    letter(e.data || (input.value ? input.value.slice(-1) : ""));
    if (!input.value) layout = "";
    show();
  });
}

document.addEventListener("DOMContentLoaded", function () {
  var fields = document.querySelectorAll("input[data-layout]");
  for (var i = 0; i < fields.length; i++) layoutIndicator(fields[i]);
});

/* ---- amoCRM and field mapping pages (mapping.html) ---- */
// A problem's "строка N" link selects line N in the editor (without the
// script it jumps to the numbered listing below).
function specLineLinks() {
  var editor = document.getElementById("spec");
  if (!editor) return;
  var links = document.querySelectorAll("a[data-spec-line]");
  for (var i = 0; i < links.length; i++) {
    links[i].addEventListener("click", function (e) {
      var n = parseInt(this.getAttribute("data-spec-line"), 10);
      var lines = editor.value.split("\n");
      if (!(n >= 1 && n <= lines.length)) return;
      e.preventDefault();
      var start = 0;
      for (var j = 0; j < n - 1; j++) start += lines[j].length + 1;
      editor.focus();
      editor.setSelectionRange(start, start + lines[n - 1].length);
      var lineHeight = editor.scrollHeight / Math.max(lines.length, 1);
      editor.scrollTop = Math.max(0, (n - 3) * lineHeight);
    });
  }
}
document.addEventListener("DOMContentLoaded", specLineLinks);
/* ---- end of amoCRM and field mapping pages ---- */
