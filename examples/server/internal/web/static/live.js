// Chatter admin UI: live updates of the ledger (Журнал доставки) and the
// event log (Логи). A table with data-live="<event stream URL>" gets new
// rows at the top and changed rows in place, from Server-Sent Events
// rendered by the same template as the table's rows. Without this file the
// pages work the same, with their refresh link.
"use strict";

(function () {
  var watchMax = 100;

  function liveTable(table) {
    var base = table.getAttribute("data-live");
    var tbody = table.tBodies[0];
    var status = document.getElementById(table.getAttribute("data-live-status"));
    var idle = parseInt(table.getAttribute("data-idle"), 10) || 0;
    var lastActive = Date.now();
    var es = null;
    var retry = 1000;
    var state = "off"; // off, on, paused, ended

    function say(what) {
      state = what;
      if (status) status.textContent = table.getAttribute("data-live-" + what) || "";
    }

    // The stream continues from the page as it is now: after its newest
    // row, following its rows that may still change.
    function streamURL() {
      var parts = [];
      var first = tbody.querySelector("tr[data-cursor]");
      if (first) parts.push("after=" + encodeURIComponent(first.getAttribute("data-cursor")));
      var watched = tbody.querySelectorAll("tr[data-watch]");
      for (var i = 0; i < watched.length && i < watchMax; i++) {
        parts.push("watch=" + encodeURIComponent(watched[i].getAttribute("data-watch")));
      }
      if (parts.length === 0) return base;
      return base + (base.indexOf("?") < 0 ? "?" : "&") + parts.join("&");
    }

    function parseRow(html) {
      var t = document.createElement("template");
      t.innerHTML = html.trim();
      return t.content.firstElementChild;
    }

    function put(html, prepend) {
      var tr = parseRow(html);
      if (!tr) return;
      var old = tr.id ? document.getElementById(tr.id) : null;
      if (old) {
        old.replaceWith(tr);
      } else if (prepend) {
        var empty = tbody.querySelector("tr.empty");
        if (empty) empty.remove();
        tbody.insertBefore(tr, tbody.firstChild);
      } else {
        return;
      }
      tr.classList.add("fresh");
    }

    function idleTooLong() {
      return idle > 0 && Date.now() - lastActive > idle;
    }

    function connect() {
      if (state === "ended" || es) return;
      if (idleTooLong()) {
        say("paused");
        return;
      }
      es = new EventSource(streamURL());
      es.onopen = function () {
        retry = 1000;
        say("on");
      };
      es.addEventListener("row", function (e) { put(e.data, true); });
      es.addEventListener("update", function (e) { put(e.data, false); });
      es.addEventListener("gap", function () {
        if (status) status.textContent = table.getAttribute("data-live-gap") || "";
      });
      es.addEventListener("end", function () {
        stop();
        say("ended");
      });
      es.onerror = function () {
        stop();
        if (state === "ended") return;
        say("off");
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 60000);
      };
    }

    function stop() {
      if (es) {
        es.close();
        es = null;
      }
    }

    // A page nobody looks at stops asking, so that its session can idle
    // out as configured; any key, click or scroll resumes it.
    function active() {
      lastActive = Date.now();
      if (state === "paused") connect();
    }
    ["keydown", "mousedown", "touchstart", "scroll"].forEach(function (name) {
      document.addEventListener(name, active, { passive: true });
    });
    setInterval(function () {
      if (es && idleTooLong()) {
        stop();
        say("paused");
      }
    }, 60000);
    window.addEventListener("pagehide", stop);
    connect();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var tables = document.querySelectorAll("table[data-live]");
    for (var i = 0; i < tables.length; i++) liveTable(tables[i]);
  });
})();
