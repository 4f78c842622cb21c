/**
 * The task list page (`/`) of `/assets/app.js`: one row per task, updated
 * in place so that keyboard focus survives a refresh.
 */
export const CLIENT_TASK_LIST = `
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
`;
