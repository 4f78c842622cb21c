/**
 * `/assets/app.js`: renders the task list (`/`) or a task page
 * (`/tasks/:name`) from the JSON API with DOM calls only (no innerHTML, so no
 * markup injection from task names or error texts), sends actions with the
 * session's CSRF token, and refreshes on server-sent events, falling back to
 * polling when the stream is unavailable. Rows are updated in place so that
 * keyboard focus survives a refresh.
 */
export const APP_JS = `"use strict";
(function () {
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var roleMeta = document.querySelector('meta[name="orchestrator-role"]');
  // The server refuses a read-only session's actions anyway; the page does not offer them.
  var readOnly = roleMeta !== null && roleMeta.getAttribute("content") === "read-only";
  var view = document.getElementById("view");
  var statusBox = document.getElementById("status");
  var live = document.getElementById("live");
  var taskMatch = /^\\/tasks\\/([^/]+)$/.exec(location.pathname);
  var taskName = taskMatch ? decodeURIComponent(taskMatch[1]) : null;
  var SVG = "http://www.w3.org/2000/svg";

  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (key) {
        var value = props[key];
        if (value === undefined || value === null || value === false) return;
        if (key === "text") node.textContent = value;
        else if (key === "className") node.className = value;
        else if (key === "onclick") node.addEventListener("click", value);
        else node.setAttribute(key, value === true ? "" : String(value));
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function say(message, isError) {
    statusBox.textContent = message;
    statusBox.className = isError ? "error" : "";
  }

  function toLogin() {
    location.assign("/login?next=" + encodeURIComponent(location.pathname));
  }

  function api(method, url) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    return fetch(url, { method: method, headers: headers, credentials: "same-origin" }).then(
      function (response) {
        if (response.status === 401) {
          toLogin();
          throw new Error("Logged out");
        }
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body && body.message ? body.message : response.statusText);
          return body;
        });
      },
    );
  }

  var dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  function relative(iso) {
    var seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
    var abs = Math.abs(seconds);
    var unit = "second", value = seconds;
    if (abs >= 86400) { unit = "day"; value = Math.round(seconds / 86400); }
    else if (abs >= 3600) { unit = "hour"; value = Math.round(seconds / 3600); }
    else if (abs >= 60) { unit = "minute"; value = Math.round(seconds / 60); }
    try {
      return new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }).format(value, unit);
    } catch (e) {
      return "";
    }
  }
  function timeEl(iso, withRelative) {
    if (!iso) return el("span", { className: "muted", text: "—" });
    var text = dateFormat.format(new Date(iso));
    if (withRelative) text += " (" + relative(iso) + ")";
    return el("time", { datetime: iso, title: iso, text: text });
  }
  function formatMs(ms) {
    if (ms === null || ms === undefined) return "—";
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + " s";
    return Math.floor(ms / 60000) + " min " + Math.round((ms % 60000) / 1000) + " s";
  }
  function badge(kind, value) {
    var text = value || "none";
    return el("span", { className: "badge " + kind + "-" + text, text: text });
  }

  function sparkline(durations) {
    if (!durations || durations.length === 0) return el("span", { className: "muted", text: "No runs yet" });
    var width = 120, height = 28, pad = 3;
    var max = Math.max.apply(null, durations), min = Math.min.apply(null, durations);
    var span = max - min || 1;
    var step = durations.length > 1 ? (width - 2 * pad) / (durations.length - 1) : 0;
    var points = durations.map(function (d, i) {
      var x = pad + i * step;
      var y = height - pad - ((d - min) / span) * (height - 2 * pad);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    var label = "Last " + durations.length + " run durations: latest " + formatMs(durations[durations.length - 1]) +
      ", shortest " + formatMs(min) + ", longest " + formatMs(max);
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("width", String(width));
    svg.setAttribute("height", String(height));
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    var title = document.createElementNS(SVG, "title");
    title.textContent = label;
    svg.appendChild(title);
    var line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", points.join(" "));
    svg.appendChild(line);
    var last = points[points.length - 1].split(",");
    var dot = document.createElementNS(SVG, "circle");
    dot.setAttribute("cx", last[0]);
    dot.setAttribute("cy", last[1]);
    dot.setAttribute("r", "2");
    svg.appendChild(dot);
    return svg;
  }

  /** The expression as written (cron and one-time tasks) over its description in words. */
  function scheduleCell(task) {
    if (task.kind === "interval") return el("span", { text: task.description });
    return el("span", null, [el("code", { text: task.schedule }), el("span", { className: "desc", text: task.description })]);
  }

  function replace(node, child) {
    while (node.firstChild) node.removeChild(node.firstChild);
    if (child) node.appendChild(child);
  }

  function act(action, name, button) {
    // aria-disabled rather than disabled: a disabled button would drop keyboard focus.
    if (button.getAttribute("aria-disabled") === "true") return;
    button.setAttribute("aria-disabled", "true");
    say((action === "trigger" ? "Triggering " : action === "pause" ? "Pausing " : "Resuming ") + name + "…");
    return api("POST", "/api/tasks/" + encodeURIComponent(name) + "/" + action)
      .then(function () {
        say(action === "trigger" ? "Triggered " + name + "." : (action === "pause" ? "Paused " : "Resumed ") + name + ".");
        return refresh();
      })
      .catch(function (error) { say("Could not " + action + " " + name + ": " + error.message, true); })
      .then(function () { button.removeAttribute("aria-disabled"); });
  }

  /** Buttons whose labels follow the task; the same elements persist across refreshes. */
  function actionButtons(name) {
    if (readOnly) return { node: null, update: function () {} };
    var trigger = el("button", { type: "button", className: "primary" }, ["Trigger", el("span", { className: "visually-hidden", text: " " + name })]);
    var toggle = el("button", { type: "button" });
    var state = { paused: false };
    trigger.addEventListener("click", function () { act("trigger", name, trigger); });
    toggle.addEventListener("click", function () { act(state.paused ? "resume" : "pause", name, toggle); });
    return {
      node: el("div", { className: "actions" }, [trigger, toggle]),
      update: function (task) {
        state.paused = task.state === "paused";
        replace(toggle, document.createTextNode(state.paused ? "Resume" : "Pause"));
        toggle.appendChild(el("span", { className: "visually-hidden", text: " " + name }));
        toggle.disabled = task.state !== "active" && task.state !== "paused";
        trigger.disabled = task.state === "quarantined";
      },
    };
  }

  var rows = new Map();
  var listBody = null;
  function renderList(body) {
    if (!listBody) {
      listBody = el("tbody");
      var headers = ["Task", "Schedule", "Time zone", "Next run", "State", "Last status", "Recent durations"];
      if (!readOnly) headers.push("Actions");
      var head = el("tr", null, headers.map(function (h) {
        return el("th", { scope: "col", text: h });
      }));
      replace(view, el("section", { "aria-labelledby": "tasks-heading" }, [
        el("h1", { id: "tasks-heading", text: "Tasks" }),
        el("div", { className: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": "tasks-heading" }, [
          el("table", { id: "tasks" }, [el("caption", { id: "tasks-caption" }), el("thead", null, [head]), listBody]),
        ]),
      ]));
    }
    document.getElementById("tasks-caption").textContent = body.total + (body.total === 1 ? " task" : " tasks") +
      (body.total > body.tasks.length ? " (showing " + body.tasks.length + ")" : "");
    var seen = new Set();
    body.tasks.forEach(function (task) {
      seen.add(task.name);
      var row = rows.get(task.name);
      if (!row) {
        var cells = [];
        for (var i = 0; i < 7; i++) cells.push(el(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : null));
        var buttons = actionButtons(task.name);
        var tr = el("tr", { "data-task": task.name }, readOnly ? cells : cells.concat([el("td", null, [buttons.node])]));
        row = { tr: tr, cells: cells, buttons: buttons };
        rows.set(task.name, row);
      }
      listBody.appendChild(row.tr);
      var c = row.cells;
      replace(c[0], el("a", { href: "/tasks/" + encodeURIComponent(task.name), text: task.name }));
      replace(c[1], scheduleCell(task));
      replace(c[2], document.createTextNode(task.timezone || "—"));
      replace(c[3], timeEl(task.nextRun, true));
      replace(c[4], badge("state", task.state));
      replace(c[5], badge("status", task.lastStatus));
      replace(c[6], sparkline(task.recentDurationsMs));
      row.buttons.update(task);
    });
    rows.forEach(function (row, name) {
      if (!seen.has(name)) { row.tr.remove(); rows.delete(name); }
    });
    if (body.total === 0) say("No tasks are registered.");
  }

  var page = null;
  var openErrors = new Set();
  function renderTask(task, runs, audit) {
    if (!page) {
      var buttons = actionButtons(task.name);
      page = {
        facts: el("dl", { className: "facts" }),
        buttons: buttons,
        history: el("tbody"),
        audit: el("tbody"),
      };
      replace(view, el("div", null, [
        el("h1", { text: task.name }),
        page.facts,
        buttons.node,
        el("h2", { id: "history-heading", text: "Run history" }),
        el("div", { className: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": "history-heading" }, [
          el("table", { id: "history" }, [
            el("thead", null, [el("tr", null, ["Scheduled", "Started", "Duration", "Status", "Attempt", "Node", "Output and errors"].map(function (h) {
              return el("th", { scope: "col", text: h });
            }))]),
            page.history,
          ]),
        ]),
        el("h2", { id: "audit-heading", text: "Recent actions" }),
        el("div", { className: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": "audit-heading" }, [
          el("table", { id: "audit" }, [
            el("thead", null, [el("tr", null, ["When", "Who", "Action", "Result", "Detail"].map(function (h) {
              return el("th", { scope: "col", text: h });
            }))]),
            page.audit,
          ]),
        ]),
      ]));
    }
    renderAudit(audit);
    var facts = [
      ["Schedule", task.kind === "interval" ? document.createTextNode(task.description) : el("code", { text: task.schedule })],
      ["In words", document.createTextNode(task.description)],
      ["Time zone", document.createTextNode(task.timezone || "—")],
      ["State", badge("state", task.state)],
      ["Running now", document.createTextNode(task.running ? "yes" : "no")],
      ["Next run", timeEl(task.nextRun, true)],
      ["Last run", timeEl(task.lastRun, true)],
      ["Last status", badge("status", task.lastStatus)],
      ["Finished runs", document.createTextNode(String(task.runCount))],
      ["Recent durations", sparkline(task.recentDurationsMs)],
      ["Overlap, misfire", document.createTextNode(task.overlap + ", " + task.misfire)],
    ];
    replace(page.facts, null);
    facts.forEach(function (f) {
      page.facts.appendChild(el("dt", { text: f[0] }));
      page.facts.appendChild(el("dd", null, [f[1]]));
    });
    page.buttons.update(task);
    replace(page.history, null);
    if (runs.length === 0) {
      page.history.appendChild(el("tr", null, [el("td", { colspan: "7", className: "muted", text: "No runs yet." })]));
    }
    runs.forEach(function (run) {
      var key = run.scheduledAt + "#" + run.attempt + "#" + run.status;
      var output = el("span", { className: "muted", text: "—" });
      if (run.error) {
        var details = el("details", { open: openErrors.has(key) }, [
          el("summary", { text: run.error.message.split("\\n")[0].slice(0, 200) || "Error" }),
          el("pre", { text: run.error.stack || run.error.message }),
        ]);
        details.addEventListener("toggle", function () {
          if (details.open) openErrors.add(key); else openErrors.delete(key);
        });
        output = details;
      }
      page.history.appendChild(el("tr", { className: "run" }, [
        el("td", null, [timeEl(run.scheduledAt, false)]),
        el("td", null, [timeEl(run.startedAt, false)]),
        el("td", { className: "num", text: formatMs(run.durationMs) }),
        el("td", null, [badge("status", run.status)]),
        el("td", { className: "num", text: String(run.attempt) }),
        el("td", { text: run.nodeId }),
        el("td", null, [output]),
      ]));
    });
  }

  function renderAudit(audit) {
    replace(page.audit, null);
    var entries = audit && audit.entries ? audit.entries : [];
    if (entries.length === 0) {
      var note = !audit ? "Could not load the audit log." : audit.available === false ? "This store keeps no audit log." : "No actions recorded yet.";
      page.audit.appendChild(el("tr", null, [el("td", { colspan: "5", className: "muted", text: note })]));
    }
    entries.forEach(function (entry) {
      page.audit.appendChild(el("tr", { className: "audit-entry" }, [
        el("td", null, [timeEl(entry.at, false)]),
        el("td", null, [el("code", { text: entry.actor })]),
        el("td", { text: entry.action }),
        el("td", null, [el("span", { className: "badge result-" + entry.result, text: entry.result })]),
        el("td", { text: entry.detail || "—" }),
      ]));
    });
  }

  var loading = null, again = false;
  function refresh() {
    if (loading) { again = true; return loading; }
    var work;
    if (taskName === null) {
      work = api("GET", "/api/tasks").then(renderList);
    } else {
      var base = "/api/tasks/" + encodeURIComponent(taskName);
      var audit = api("GET", base + "/audit?limit=20").catch(function (error) {
        if (error.message === "Logged out") throw error;
        return null;
      });
      // The history table shows no outputs: leave them out (up to 150 KiB a run).
      work = Promise.all([api("GET", base), api("GET", base + "/history?limit=50&output=none"), audit]).then(function (r) {
        renderTask(r[0].task, r[1].runs, r[2]);
      });
    }
    loading = work.catch(function (error) {
      if (error.message !== "Logged out") say("Could not load: " + error.message, true);
    }).then(function () {
      loading = null;
      if (again) { again = false; return refresh(); }
    });
    return loading;
  }

  var debounce = null;
  function soon() {
    if (debounce) return;
    debounce = setTimeout(function () { debounce = null; refresh(); }, 150);
  }

  var pollTimer = null;
  function poll(ms) {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = setInterval(refresh, ms);
  }
  function connect() {
    if (typeof EventSource !== "function") {
      live.textContent = "Updating every 5 s";
      poll(5000);
      return;
    }
    var source = new EventSource("/api/events");
    source.addEventListener("open", function () {
      live.textContent = "Live";
      poll(30000);
    });
    source.addEventListener("task", soon);
    source.addEventListener("run", soon);
    source.addEventListener("error", function () {
      live.textContent = "Reconnecting (updating every 5 s)";
      poll(5000);
    });
  }

  refresh();
  connect();
})();
`;
