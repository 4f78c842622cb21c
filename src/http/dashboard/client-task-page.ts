/**
 * A task's page (`/tasks/:name`) of `/assets/app.js`: its facts, actions
 * (cancel of a running run too), run history (a row per run, expandable to
 * its output tails, exit code or HTTP status, error and stack; filtered by
 * status, older runs on demand) and recent audited actions.
 */
import { RUN_STATUSES } from "../history-query.js";

export const CLIENT_TASK_PAGE = `
  var page = null;
  var openErrors = new Set();
  function renderTask(task, runs, audit) {
    if (!page) {
      var buttons = actionButtons(task.name);
      var tools = historyTools();
      page = {
        facts: el("dl", { className: "facts" }),
        buttons: buttons,
        history: el("tbody"),
        audit: el("tbody"),
        older: tools.older,
        cancel: tools.cancel,
      };
      replace(view, el("div", null, [
        el("h1", { text: task.name }),
        page.facts,
        buttons.node,
        el("h2", { id: "history-heading", text: "Run history" }),
        tools.node,
        el("div", { className: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": "history-heading" }, [
          el("table", { id: "history" }, [
            el("thead", null, [el("tr", null, ["Scheduled", "Started", "Duration", "Status", "Attempt", "Node", "Output and errors"].map(function (h) {
              return el("th", { scope: "col", text: h });
            }))]),
            page.history,
          ]),
        ]),
        tools.older,
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
    page.cancel.hidden = readOnly || !task.running;
    renderRuns(runs);
  }

  // Run history: the newest runList.pages × HISTORY_PAGE runs of the chosen statuses.
  var HISTORY_PAGE = 50, HISTORY_MAX = 1000;
  var RUN_STATUSES = ${JSON.stringify(RUN_STATUSES)};
  var runList = { pages: 1, status: "", more: false };
  function historyUrl(base) {
    return base + "/history?limit=" + Math.min(HISTORY_MAX, runList.pages * HISTORY_PAGE) +
      (runList.status ? "&status=" + encodeURIComponent(runList.status) : "");
  }
  function loadOlder() {
    if (runList.pages * HISTORY_PAGE >= HISTORY_MAX) return;
    runList.pages++;
    return refresh();
  }

  function historyTools() {
    var select = el("select", { id: "history-status" }, [el("option", { value: "", text: "any status" })].concat(
      RUN_STATUSES.map(function (status) { return el("option", { value: status, text: status }); })));
    select.addEventListener("change", function () {
      runList.status = select.value;
      runList.pages = 1;
      refresh();
    });
    var older = el("button", { type: "button", id: "older-runs", hidden: true, text: "Load older runs" });
    older.addEventListener("click", loadOlder);
    // A read-only session is offered no action (the server would refuse it anyway).
    var cancel = readOnly ? el("span", { hidden: true }) : el("button", { type: "button", id: "cancel-run", className: "danger", hidden: true, text: "Cancel the running run" });
    if (!readOnly) cancel.addEventListener("click", function () {
      if (cancel.getAttribute("aria-disabled") === "true") return;
      cancel.setAttribute("aria-disabled", "true");
      say("Cancelling " + taskName + "…");
      api("POST", "/api/tasks/" + encodeURIComponent(taskName) + "/cancel")
        .then(function (body) {
          say(body.cancelled > 0 ? "Cancelled " + body.cancelled + " run" + (body.cancelled === 1 ? "" : "s") + " of " + taskName + "." : "Nothing of " + taskName + " was running here.");
          return refresh();
        })
        .catch(function (error) { say("Could not cancel " + taskName + ": " + error.message, true); })
        .then(function () { cancel.removeAttribute("aria-disabled"); });
    });
    return { node: el("div", { className: "toolbar" }, [el("label", { className: "filter" }, ["Status ", select]), cancel]), older: older, cancel: cancel };
  }

  function outputSummary(run) {
    var parts = [];
    if (run.exitCode !== null) parts.push("exit " + run.exitCode);
    if (run.httpStatus !== null) parts.push("HTTP " + run.httpStatus);
    if (run.error) parts.push(run.error.message.split("\\n")[0].slice(0, 200) || "Error");
    else if (run.stdout) parts.push(lastLine(run.stdout));
    else if (run.output !== null && run.exitCode === null && run.httpStatus === null) parts.push("output");
    return parts.join(": ");
  }
  function lastLine(text) {
    var lines = ansiNodes(text).map(function (n) { return n.textContent; }).join("").split("\\n").filter(function (l) { return l.trim() !== ""; });
    return (lines[lines.length - 1] || "").slice(0, 120);
  }
  function block(label, text, className) {
    return el("div", { className: "run-part" }, [el("h3", { text: label }), el("pre", { className: "terminal " + (className || "") }, ansiNodes(text))]);
  }
  function runBody(run) {
    var parts = [];
    var facts = [["Attempt", String(run.attempt)], ["Duration", formatMs(run.durationMs)], ["Node", run.nodeId]];
    if (run.exitCode !== null) facts.unshift(["Exit code", String(run.exitCode)]);
    if (run.httpStatus !== null) facts.unshift(["HTTP status", String(run.httpStatus)]);
    parts.push(el("dl", { className: "run-facts" }, facts.reduce(function (all, f) {
      return all.concat([el("dt", { text: f[0] }), el("dd", { text: f[1] })]);
    }, [])));
    if (run.error) {
      parts.push(block("Error" + (run.error.code ? " (" + run.error.code + ")" : ""), run.error.message, "error-text"));
      if (run.error.stack) parts.push(block("Stack", run.error.stack));
    }
    if (run.stdout) parts.push(block("Standard output" + (run.truncated ? " (last part)" : ""), run.stdout, "stdout"));
    if (run.stderr) parts.push(block("Standard error" + (run.truncated ? " (last part)" : ""), run.stderr, "stderr"));
    if (run.output !== null && run.stdout === null && run.stderr === null) {
      parts.push(block("Output", JSON.stringify(run.output, null, 2)));
    }
    if (run.truncated) {
      var whole = el("button", { type: "button", className: "whole", text: "Show the whole output" });
      whole.addEventListener("click", function () {
        api("GET", "/api/tasks/" + encodeURIComponent(run.taskName) + "/runs/" + encodeURIComponent(run.id)).then(function (body) {
          wholeRuns.set(runKey(run), body.run);
          refresh();
        }).catch(function (error) { say("Could not load the run: " + error.message, true); });
      });
      parts.push(whole);
    }
    return parts;
  }
  function runKey(run) { return run.id + "#" + run.status; }
  var wholeRuns = new Map();

  function renderRuns(runs) {
    runList.more = runs.length >= runList.pages * HISTORY_PAGE && runList.pages * HISTORY_PAGE < HISTORY_MAX;
    page.older.hidden = !runList.more;
    replace(page.history, null);
    if (runs.length === 0) {
      page.history.appendChild(el("tr", null, [el("td", { colspan: "7", className: "muted", text: runList.status ? "No " + runList.status + " runs." : "No runs yet." })]));
    }
    runs.forEach(function (listed) {
      var key = runKey(listed);
      var run = wholeRuns.get(key) || listed;
      var details = el("details", { className: "run-output", open: openErrors.has(key) }, [
        el("summary", { text: outputSummary(run) || "Details" }),
      ].concat(runBody(run)));
      details.addEventListener("toggle", function () {
        if (details.open) openErrors.add(key); else openErrors.delete(key);
      });
      page.history.appendChild(el("tr", { className: "run", "data-run": run.id }, [
        el("td", null, [timeEl(run.scheduledAt, false)]),
        el("td", null, [timeEl(run.startedAt, false)]),
        el("td", { className: "num", text: formatMs(run.durationMs) }),
        el("td", null, [badge("status", run.status)]),
        el("td", { className: "num", text: String(run.attempt) }),
        el("td", { text: run.nodeId }),
        el("td", null, [details]),
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
`;
