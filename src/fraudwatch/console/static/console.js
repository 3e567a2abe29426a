// fraudwatch console: small enhancements; every page works without this file.
(function () {
  "use strict";
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function csrf() { var i = $("input[name=csrf]"); return i ? i.value : ""; }

  // the browser's time zone, sent with the sign-in form
  $all(".browser-tz").forEach(function (input) {
    try { input.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* keep empty */ }
  });

  // "/" focuses the search box
  document.addEventListener("keydown", function (ev) {
    var tag = (ev.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "/") { var s = $("input[data-key='/']"); if (s) { ev.preventDefault(); s.focus(); } }
  });

  // ---------------------------------------------------------------- rule editor
  var text = $("#rule-text");
  if (text) {
    var gutter = $(".editor .gutter");
    var box = $("#rule-errors");
    var bad = {};
    var renderGutter = function () {
      var n = text.value.split("\n").length;
      var html = [];
      for (var i = 1; i <= n; i++) html.push(bad[i] ? '<li class="bad"></li>' : "<li></li>");
      gutter.innerHTML = html.join("");  // no user text goes in here
      gutter.scrollTop = text.scrollTop;
    };
    var jump = function (line, column) {
      var lines = text.value.split("\n"), pos = 0;
      for (var i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i].length + 1;
      pos += Math.max(0, column - 1);
      text.focus();
      text.setSelectionRange(pos, pos + 1);
      text.scrollTop = Math.max(0, (line - 5) * 18);
    };
    var showErrors = function (result) {
      bad = {};
      box.textContent = "";
      if (result.valid) {
        var ok = document.createElement("p");
        ok.className = "notice"; ok.id = "check-result";
        ok.textContent = box.dataset.valid || "OK";
        box.appendChild(ok);
      }
      (result.errors || []).forEach(function (e) {
        bad[e.line] = true;
        var pre = document.createElement("pre");
        pre.className = "rule-error";
        pre.dataset.line = e.line; pre.dataset.column = e.column;
        var gutterWidth = String(e.line).length;
        pre.textContent = e.line + ":" + e.column + ": " + e.message + "\n  " + e.line + " | " + e.source_line +
          "\n  " + " ".repeat(gutterWidth) + " | " + " ".repeat(Math.max(0, e.column - 1)) + "^".repeat(e.length || 1) +
          (e.hint ? "\n  hint: " + e.hint : "");
        box.appendChild(pre);
      });
      renderGutter();
    };
    var timer = null;
    var check = function () {
      var body = new URLSearchParams();
      body.set("text", text.value);
      body.set("csrf", csrf());
      fetch("/console/rules/check", {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": csrf() }
      }).then(function (r) { return r.json(); }).then(showErrors).catch(function () { /* the button still works */ });
    };
    box.dataset.valid = box.getAttribute("data-valid-text") || "✓";
    $all(".rule-error").forEach(function (pre) { bad[pre.dataset.line] = true; });
    renderGutter();
    text.addEventListener("input", function () { renderGutter(); clearTimeout(timer); timer = setTimeout(check, 600); });
    text.addEventListener("scroll", function () { gutter.scrollTop = text.scrollTop; });
    box.addEventListener("click", function (ev) {
      var pre = ev.target.closest(".rule-error");
      if (pre) jump(Number(pre.dataset.line), Number(pre.dataset.column));
    });
    var first = $(".rule-error");
    if (first) jump(Number(first.dataset.line), Number(first.dataset.column));
  }

  // ---------------------------------------------------------------- backtest progress
  var progress = $("#progress");
  if (progress) {
    var bar = $("#progress-bar"), label = $("#progress-text");
    var poll = function () {
      fetch(progress.dataset.poll, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (job) {
          bar.value = job.progress; label.textContent = Math.round(job.progress * 100) + " %";
          if (job.state === "done" || job.state === "failed") { window.location.reload(); }
          else { setTimeout(poll, 400); }
        }).catch(function () { setTimeout(poll, 2000); });
    };
    setTimeout(poll, 300);
  }

  // ---------------------------------------------------------------- keyboard navigation of tables
  var rows = $all("table[data-nav] tbody tr");
  if (rows.length) {
    var at = -1;
    var select = function (i) {
      if (at >= 0 && rows[at]) rows[at].classList.remove("selected");
      at = Math.max(0, Math.min(rows.length - 1, i));
      rows[at].classList.add("selected");
      rows[at].scrollIntoView({ block: "nearest" });
    };
    document.addEventListener("keydown", function (ev) {
      var tag = (ev.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select") return;
      if (ev.key === "j" || ev.key === "ArrowDown") { ev.preventDefault(); select(at + 1); }
      else if (ev.key === "k" || ev.key === "ArrowUp") { ev.preventDefault(); select(at - 1); }
      else if (ev.key === "Enter" && at >= 0) { var a = rows[at].querySelector("a[href]"); if (a) window.location = a.href; }
    });
  }
})();
