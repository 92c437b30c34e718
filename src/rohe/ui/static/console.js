// rohe console: live updates over server-sent events, the plan preview and the gateway policy controls.
(function () {
  "use strict";
  var body = document.body, topic = body.dataset.topic;
  var updates = 0;

  function esc(s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"}[c];
    });
  }
  var ICONS = {"ok": "✔", "at risk": "▲", "violated": "✖", "no contract": "–", "healthy": "✔", "degraded": "▲",
    "failing": "✖", "ready": "✔", "cordoned": "‖", "draining": "‖"};
  function status(v) {
    return "<span class=\"status s-" + esc(v).replace(/ /g, "-") + "\" data-status=\"" + esc(v) + "\"><span aria-hidden=\"true\">" +
      (ICONS[v] || "•") + "</span> " + esc(v) + "</span>";
  }
  function num(v) { return v === null || v === undefined ? "<span class=\"na\">n/a</span>" : esc(v); }
  function setText(node, text) { if (node && node.textContent !== String(text)) node.textContent = text; }

  // -- cluster ----------------------------------------------------------------------------------------------
  function cluster(data) {
    Object.keys(data.totals).forEach(function (k) {
      document.querySelectorAll("[data-total=\"" + k + "\"]").forEach(function (n) { setText(n, data.totals[k]); });
    });
    document.querySelectorAll("#nodes tr[data-node]").forEach(function (row) {
      var v = data.nodes[row.dataset.node];
      if (!v) { row.classList.add("gone"); return; }
      var cells = row.querySelectorAll("[data-col]");
      cells.forEach(function (cell) {
        var col = +cell.dataset.col;
        if (col === 0) {
          if (cell.textContent.indexOf(v[0]) < 0) cell.innerHTML = status(v[0]);
        } else if (col === 5) {
          setText(cell.querySelector("a") || cell, v[5]);
        } else { setText(cell, v[col]); }
      });
    });
    var tbody = document.querySelector("#queue tbody");
    if (tbody) {
      tbody.innerHTML = data.queue.length ? data.queue.map(function (q) {
        return "<tr><td>" + esc(q.replica) + "</td><td>" + esc(q.service) + "</td><td>" + esc(q.reason) + "</td></tr>";
      }).join("") : "<tr class=\"empty\"><td colspan=\"3\">Nothing queued.</td></tr>";
    }
  }

  // -- applications -----------------------------------------------------------------------------------------
  function drawCharts(card, c) {
    var times = c.series.map(function (p) { return p.t; });
    function col(k) { return c.series.map(function (p) { return p[k]; }); }
    card.querySelectorAll("svg[data-chart]").forEach(function (svg) {
      var kind = svg.dataset.chart, opts;
      if (kind === "latency") {
        opts = {unit: "ms", series: [{label: "p50", values: col("p50")}, {label: "p99", values: col("p99")}],
          limit: c.deadline_ms !== null ? {value: c.deadline_ms, label: "deadline"} : null, yMin: 0};
      } else if (kind === "accuracy") {
        opts = {unit: "accuracy (0–1)", series: [{label: "accuracy", values: col("accuracy")}],
          limit: c.accuracy_floor !== null ? {value: c.accuracy_floor, label: "floor"} : null};
      } else if (kind === "throughput") {
        opts = {unit: "req/s", series: [{label: "throughput", values: col("throughput")}], limit: null, yMin: 0};
      } else {
        opts = {unit: "price units", series: [{label: "cost", values: col("cost")}], limit: null, yMin: 0};
      }
      opts.times = times;
      window.roheCharts.lineChart(svg, opts);
    });
  }
  function apps(data) {
    data.apps.forEach(function (a) {
      a.consumers.forEach(function (c) {
        var card = document.querySelector("[data-consumer=\"" + CSS.escape(a.app + "/" + a.run + "/" + c.consumer) + "\"]");
        if (!card) return;
        var st = card.querySelector("[data-field=status]");
        if (st && st.textContent.indexOf(c.status) < 0) st.innerHTML = status(c.status);
        ["p50", "p99", "accuracy", "throughput", "cost"].forEach(function (k) {
          var v = c.latest ? c.latest[k] : null;
          setText(card.querySelector("[data-field=" + k + "]"), v === null || v === undefined ? "n/a" : v);
        });
        var rows = card.querySelector("[data-field=clauses]");
        if (rows && c.clauses.length) {
          rows.innerHTML = c.clauses.map(function (cl) {
            return "<tr><td>" + esc(cl.clause) + "</td><td class=\"n\">" + num(cl.observed) + "</td><td>" + status(cl.status) + "</td></tr>";
          }).join("");
        }
        drawCharts(card, c);
      });
    });
  }

  // -- violations -------------------------------------------------------------------------------------------
  function violations(data) {
    setText(document.querySelector("[data-total=violation_count]"), data.violation_count);
    setText(document.querySelector("[data-total=incident_count]"), data.incident_count);
    var list = document.getElementById("violations");
    if (!list) return;
    list.innerHTML = data.violations.length ? data.violations.map(function (v) {
      var causes = v.causes.length ? "<ol class=\"causes\" aria-label=\"Ranked causes\">" + v.causes.map(function (c) {
        return "<li>" + esc(c.kind) + " <b>" + esc(c.name) + "</b> – " + (c.share * 100).toFixed(1) + " % of the blame: " + esc(c.evidence) + "</li>";
      }).join("") + "</ol>" : "";
      return "<li class=\"violation\" data-id=\"" + esc(v.id) + "\"><p class=\"head\">" + status("violated") + " <b>" + esc(v.app) +
        "</b> / " + esc(v.consumer) + " · <code>" + esc(v.clause) + "</code> · observed " + num(v.observed) + " (threshold " +
        esc(v.operator) + " " + esc(v.threshold) + ") · <time datetime=\"" + esc(v.window_end) + "\">" +
        esc(v.window_end.slice(0, 19).replace("T", " ")) + "</time></p><p>" + esc(v.explanation || "No explanation recorded.") +
        "</p>" + causes + "<p><a class=\"evidence\" href=\"/ui/violations/" + encodeURIComponent(v.id) +
        "\">Evidence: the window it was judged on →</a></p></li>";
    }).join("") : "<li class=\"empty\">No violation stored.</li>";
  }

  // -- serving ----------------------------------------------------------------------------------------------
  function serving(data) {
    data.apps.forEach(function (a) {
      var section = document.querySelector("[data-app=\"" + CSS.escape(a.app + "/" + a.run) + "\"]");
      if (!section) return;
      a.models.forEach(function (m) {
        var row = section.querySelector("tr[data-model=\"" + CSS.escape(m.model) + "\"]");
        if (!row) return;
        var cells = row.querySelectorAll("td");
        if (cells[0].textContent.indexOf(m.health) < 0) cells[0].innerHTML = status(m.health);
        [m.requests, m.rps, m.late_pct, m.p50_ms, m.p99_ms, m.accuracy].forEach(function (v, i) {
          setText(cells[i + 1], v === null ? "n/a" : v);
        });
      });
      ((a.gateway && a.gateway.consumers) || []).forEach(function (c) {
        var row = section.querySelector("tr[data-policy=\"" + CSS.escape(c.consumer) + "\"]");
        if (!row) return;
        setText(row.querySelector("[data-field=algorithm]"), c.algorithm);
        var d = row.querySelector("[data-field=degrade]");
        var shown = d.textContent.indexOf("degraded") >= 0;
        if (shown !== c.degrade) d.innerHTML = c.degrade ? status("degraded") : "no";
        row.querySelector(".clear-degrade").disabled = !c.degrade;
      });
    });
  }

  var HANDLERS = {cluster: cluster, apps: apps, violations: violations, serving: serving};

  function connect() {
    var live = document.getElementById("live"), text = document.getElementById("live-text");
    var source = new EventSource("/ui/events?topic=" + encodeURIComponent(topic));
    source.addEventListener(topic, function (e) {
      HANDLERS[topic](JSON.parse(e.data));
      updates += 1;
      body.dataset.updates = String(updates);
      live.classList.add("on");
      setText(text, "live · updated " + new Date().toLocaleTimeString());
    });
    source.onerror = function () { live.classList.remove("on"); setText(text, "reconnecting…"); };
  }

  // -- plan preview (a dry run: POST /orchestration/plan stores nothing) --------------------------------------
  function planPreview() {
    var form = document.getElementById("plan-form");
    if (!form) return;
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var out = document.getElementById("plan-status"), table = document.getElementById("plan");
      var q = "algorithm=" + encodeURIComponent(form.algorithm.value) + (form.replan.checked ? "&replan=true" : "");
      setText(out, "planning…");
      fetch("/orchestration/plan?" + q, {method: "POST", credentials: "same-origin"}).then(function (r) {
        return r.json().then(function (j) { return {ok: r.ok, body: j}; });
      }).then(function (res) {
        if (!res.ok) { setText(out, "refused: " + (res.body.message || res.body.detail || "error")); return; }
        var p = res.body, placed = p.entries.filter(function (x) { return x.node; }).length;
        setText(out, p.algorithm + ": " + placed + " of " + p.entries.length + " replicas would be placed" +
          (p.proven_optimal ? " (proven optimal)" : ""));
        table.hidden = false;
        table.querySelector("tbody").innerHTML = p.entries.slice(0, 500).map(function (x) {
          return "<tr><td>" + esc(x.service + "-" + x.index) + "</td><td>" + esc(x.currently || "–") + "</td><td>" +
            (x.node ? esc(x.node) : status("violated").replace("violated", "nowhere")) + "</td><td class=\"n\">" +
            (x.score === null ? "" : esc(x.score.toFixed(3))) + "</td><td class=\"n\">" + esc(x.feasible_nodes) + "</td><td>" + esc(x.reason) + "</td></tr>";
        }).join("");
      }).catch(function () { setText(out, "the API did not answer"); });
    });
  }

  // -- gateway policy controls (mutating: they send the token the operator typed) ------------------------------
  function policyControls() {
    var out = document.getElementById("control-status");
    function send(form, payload) {
      var token = document.getElementById("token");
      var headers = {"Content-Type": "application/json"};
      if (token && token.value) headers.Authorization = "Bearer " + token.value;
      var url = "/ui/api/serving/" + [form.dataset.app, form.dataset.run, "consumers", form.dataset.consumer]
        .map(encodeURIComponent).join("/") + "/policy";
      out.className = "";
      setText(out, "sending…");
      fetch(url, {method: "POST", headers: headers, body: JSON.stringify(payload), credentials: "omit"}).then(function (r) {
        return r.json().then(function (j) { return {status: r.status, body: j}; });
      }).then(function (res) {
        if (res.status === 401) { out.className = "error"; setText(out, "✖ Not changed: this control needs the API token (type it above)."); return; }
        if (res.status >= 400) { out.className = "error"; setText(out, "✖ Not changed: " + (res.body.message || "error")); return; }
        setText(out, "✔ " + res.body.consumer + ": scheduler " + res.body.algorithm + ", degraded " + (res.body.degrade ? "yes" : "no"));
      }).catch(function () { out.className = "error"; setText(out, "✖ the API did not answer"); });
    }
    document.querySelectorAll("form.policy").forEach(function (form) {
      form.addEventListener("submit", function (e) { e.preventDefault(); send(form, {algorithm: form.algorithm.value, degrade: false}); });
      form.querySelector(".clear-degrade").addEventListener("click", function () {
        send(form, {algorithm: form.algorithm.value, degrade: false});
      });
    });
  }

  var initial = document.getElementById("initial");
  if (initial && topic && HANDLERS[topic]) HANDLERS[topic](JSON.parse(initial.textContent));
  planPreview();
  policyControls();
  if (topic && HANDLERS[topic] && window.EventSource) connect();
})();
