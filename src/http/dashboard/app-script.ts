import { CLIENT_ANSI } from "./client-ansi.js";
import { CLIENT_COMMON } from "./client-common.js";
import { CLIENT_TASK_LIST } from "./client-task-list.js";
import { CLIENT_TASK_PAGE } from "./client-task-page.js";

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

${CLIENT_COMMON}
${CLIENT_ANSI}
${CLIENT_TASK_LIST}
${CLIENT_TASK_PAGE}
  var loading = null, again = false;
  function refresh() {
    if (loading) { again = true; return loading; }
    var work;
    if (taskName === null) {
      work = api("GET", listUrl()).then(renderList);
    } else {
      var base = "/api/tasks/" + encodeURIComponent(taskName);
      var audit = api("GET", base + "/audit?limit=20").catch(function (error) {
        if (error.message === "Logged out") throw error;
        return null;
      });
      work = Promise.all([api("GET", base), api("GET", historyUrl(base)), audit]).then(function (r) {
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
