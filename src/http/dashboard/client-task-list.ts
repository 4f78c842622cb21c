/**
 * The task list page (`/`) of `/assets/app.js`: one page of rows at a time
 * (the server filters and pages, so 10,000 tasks cost what 100 do), a search
 * by name, filters by state and last status, kept in the address so that a
 * filtered list can be linked to; rows are updated in place so that keyboard
 * focus survives a refresh.
 */
import { LAST_STATUSES } from "../task-filter.js";

export const CLIENT_TASK_LIST = `
  var PAGE_SIZE = 100;
  var STATES = ["active", "paused", "completed", "quarantined"];
  var LAST_STATUSES = ${JSON.stringify(LAST_STATUSES)};
  var listQuery = (function () {
    var params = new URLSearchParams(location.search);
    var offset = Number(params.get("offset"));
    return {
      q: params.get("q") || "",
      state: params.get("state") || "",
      status: params.get("status") || "",
      offset: Number.isInteger(offset) && offset > 0 ? offset : 0,
    };
  })();

  /** The API address of the list as it is filtered and paged now. */
  function listUrl() {
    var params = new URLSearchParams();
    if (listQuery.q) params.set("q", listQuery.q);
    if (listQuery.state) params.set("state", listQuery.state);
    if (listQuery.status) params.set("status", listQuery.status);
    params.set("limit", String(PAGE_SIZE));
    params.set("offset", String(listQuery.offset));
    return "/api/tasks?" + params.toString();
  }

  var searchInput = null;
  var typing = null;
  function setListQuery(changes) {
    // A search still being typed goes with any other change, not after it.
    if (typing) { clearTimeout(typing); typing = null; listQuery.q = searchInput.value.trim(); }
    Object.keys(changes).forEach(function (key) { listQuery[key] = changes[key]; });
    var params = new URLSearchParams();
    ["q", "state", "status"].forEach(function (key) { if (listQuery[key]) params.set(key, listQuery[key]); });
    if (listQuery.offset > 0) params.set("offset", String(listQuery.offset));
    var search = params.toString();
    history.replaceState(null, "", location.pathname + (search ? "?" + search : ""));
    refresh();
  }

  function choice(label, name, values, anyText, current) {
    var select = el("select", { id: "filter-" + name, name: name }, [el("option", { value: "", text: anyText })].concat(
      values.map(function (value) {
        return el("option", { value: value, text: value === "none" ? "never ran" : value, selected: value === current });
      }),
    ));
    select.addEventListener("change", function () {
      var change = { offset: 0 };
      change[name] = select.value;
      setListQuery(change);
    });
    return el("label", { className: "filter" }, [label + " ", select]);
  }

  var rows = new Map();
  var listBody = null;
  var pager = null;
  function renderList(body) {
    if (!listBody) {
      listBody = el("tbody");
      var headers = ["Task", "Schedule", "Time zone", "Next run", "State", "Last status", "Recent durations"];
      if (!readOnly) headers.push("Actions");
      var head = el("tr", null, headers.map(function (h) {
        return el("th", { scope: "col", text: h });
      }));
      var search = el("input", { type: "search", id: "task-search", name: "q", value: listQuery.q, placeholder: "Name contains…", autocomplete: "off" });
      searchInput = search;
      search.addEventListener("input", function () {
        if (typing) clearTimeout(typing);
        typing = setTimeout(function () { typing = null; setListQuery({ q: search.value.trim(), offset: 0 }); }, 200);
      });
      var previous = el("button", { type: "button", id: "page-previous", text: "Previous" });
      var next = el("button", { type: "button", id: "page-next", text: "Next" });
      previous.addEventListener("click", function () { setListQuery({ offset: Math.max(0, listQuery.offset - PAGE_SIZE) }); });
      next.addEventListener("click", function () { setListQuery({ offset: listQuery.offset + PAGE_SIZE }); });
      pager = { previous: previous, next: next, where: el("span", { id: "page-where", className: "muted", "aria-live": "polite" }) };
      replace(view, el("section", { "aria-labelledby": "tasks-heading" }, [
        el("h1", { id: "tasks-heading", text: "Tasks" }),
        el("form", { className: "toolbar", role: "search", "aria-label": "Filter tasks" }, [
          el("label", { className: "filter" }, ["Search ", search]),
          choice("State", "state", STATES, "any state", listQuery.state),
          choice("Last status", "status", LAST_STATUSES, "any status", listQuery.status),
        ]),
        el("div", { className: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": "tasks-heading" }, [
          el("table", { id: "tasks" }, [el("caption", { id: "tasks-caption" }), el("thead", null, [head]), listBody]),
        ]),
        el("nav", { className: "pager", "aria-label": "Pages of tasks" }, [previous, pager.where, next]),
      ]));
      view.querySelector("form.toolbar").addEventListener("submit", function (event) { event.preventDefault(); });
    }
    var matched = body.matched === undefined ? body.total : body.matched;
    if (body.offset > 0 && body.offset >= matched) {
      // The page emptied (tasks removed or the filter narrowed): show the last one.
      setListQuery({ offset: Math.max(0, Math.floor((matched - 1) / PAGE_SIZE) * PAGE_SIZE) });
      return;
    }
    var first = matched === 0 ? 0 : body.offset + 1;
    var last = body.offset + body.tasks.length;
    document.getElementById("tasks-caption").textContent = body.total + (body.total === 1 ? " task" : " tasks") +
      (matched !== body.total ? ", " + matched + " matching" : "") +
      (matched > body.tasks.length ? " (showing " + first + "–" + last + ")" : "");
    pager.where.textContent = matched > PAGE_SIZE ? "Page " + (Math.floor(body.offset / PAGE_SIZE) + 1) + " of " + Math.ceil(matched / PAGE_SIZE) : "";
    pager.previous.disabled = body.offset === 0;
    pager.next.disabled = last >= matched;
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
    else if (matched === 0) say("No task matches the search and filters.");
    else if (statusBox.textContent === "No task matches the search and filters.") say("");
  }
`;
