/**
 * A task's page (`/tasks/:name`) of `/assets/app.js`: its facts, actions,
 * run history and recent audited actions.
 */
export const CLIENT_TASK_PAGE = `
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
`;
