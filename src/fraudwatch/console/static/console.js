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
  // j/k (or the arrows) move, Enter opens the row's first link, c presses the row's claim button
  var navTable = $("table[data-nav]");
  var selected = null;  // the selected row's data-case (kept across refreshes), or its index
  var navRows = function () { return navTable ? $all("tbody tr:not(.empty)", navTable) : []; };
  var selectRow = function (i) {
    var rows = navRows();
    if (!rows.length) return;
    rows.forEach(function (r) { r.classList.remove("selected"); });
    var row = rows[Math.max(0, Math.min(rows.length - 1, i))];
    row.classList.add("selected");
    row.scrollIntoView({ block: "nearest" });
    selected = row.dataset.case || row.rowIndex;
  };
  var selectedIndex = function () {
    var rows = navRows();
    for (var i = 0; i < rows.length; i++) if (rows[i].classList.contains("selected")) return i;
    return -1;
  };
  if (navTable) {
    document.addEventListener("keydown", function (ev) {
      var tag = (ev.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
      var at = selectedIndex(), rows = navRows();
      if (ev.key === "j" || ev.key === "ArrowDown") { ev.preventDefault(); selectRow(at + 1); }
      else if (ev.key === "k" || ev.key === "ArrowUp") { ev.preventDefault(); selectRow(at < 0 ? 0 : at - 1); }
      else if (ev.key === "Enter" && at >= 0) { var a = rows[at].querySelector("a[href]"); if (a) window.location = a.href; }
      else if (ev.key === "c" && at >= 0) {
        var claim = rows[at].querySelector("form.claim");
        if (claim) { ev.preventDefault(); claim.submit(); }
      }
    });
  }

  // ---------------------------------------------------------------- the queue refreshes without a reload
  var queueRows = $("#queue-rows");
  if (queueRows && navTable && navTable.dataset.refresh) {
    var version = null, stamp = $("#queue-refreshed");
    var refresh = function () {
      fetch(navTable.dataset.refresh, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (q) {
          // not while an analyst's name is being typed in a row: the next round replaces the rows
          if (q.version !== version && !(version !== null && queueRows.contains(document.activeElement))) {
            if (version !== null) {
              queueRows.innerHTML = q.rows;  // rendered and escaped by the server's template
              var rows = navRows(), keep = -1;
              rows.forEach(function (r, i) { if (r.dataset.case && r.dataset.case === selected) keep = i; });
              if (keep >= 0) selectRow(keep);
            }
            version = q.version;
          }
          var summary = $("#queue-summary");
          if (summary) summary.textContent = q.summary;
          $all("[data-count]").forEach(function (el) {
            var n = q.counts[el.dataset.count];
            if (el.tagName === "OPTION") el.textContent = el.dataset.label + (n === undefined ? "" : " (" + n + ")");
            else el.textContent = String(n || 0);
          });
          if (stamp) { stamp.dataset.refreshed = String(Number(stamp.dataset.refreshed) + 1); }
        })
        .catch(function () { /* the next round tries again */ })
        .then(function () { setTimeout(refresh, 5000); });
    };
    refresh();
  }
})();
