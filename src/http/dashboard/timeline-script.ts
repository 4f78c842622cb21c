import { CLIENT_COMMON } from "./client-common.js";
import { TIMELINE_CHART } from "./timeline-chart.js";

export { TIMELINE_CSS } from "./timeline-style.js";

/**
 * `/assets/timeline.js`: the timeline page (`/timeline`). Fetches the plan
 * (`/api/plan`) and the recent runs (`/api/timeline/recent`), draws one row
 * per task on a shared time axis (planned runs as ticks, daylight-saving
 * marks, recent runs as bars coloured by status) with DOM calls only, and
 * repeats the same data as lists and tables for keyboards and screen readers.
 * The window, its start and the zone are kept in the address.
 */
export const TIMELINE_JS = `"use strict";
(function () {
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var readOnly = true;
  var view = document.getElementById("view");
  var statusBox = document.getElementById("status");
  var live = document.getElementById("live");
  var SVG = "http://www.w3.org/2000/svg";
  var HOUR = 3600000;
  var WINDOWS = [6, 12, 24, 48, 168];
  var MAX_RECENT_MS = 31 * 24 * HOUR - 60000;

${CLIENT_COMMON}
${TIMELINE_CHART}

  function browserZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { return "UTC"; }
  }

  var query = (function () {
    var params = new URLSearchParams(location.search);
    var hours = Number(params.get("hours"));
    return {
      hours: WINDOWS.indexOf(hours) >= 0 ? hours : 24,
      from: params.get("from") || "",
      tz: params.get("tz") || browserZone(),
    };
  })();

  function keepInAddress() {
    var params = new URLSearchParams();
    if (query.hours !== 24) params.set("hours", String(query.hours));
    if (query.from) params.set("from", query.from);
    params.set("tz", query.tz);
    history.replaceState(null, "", location.pathname + "?" + params.toString());
  }

  var heading = el("h1", { text: "Timeline" });
  var hoursSelect = el("select", { id: "tl-hours", name: "hours" }, WINDOWS.map(function (h) {
    return el("option", { value: String(h), text: h === 168 ? "7 days" : h + " hours", selected: h === query.hours });
  }));
  var fromInput = el("input", { id: "tl-from", name: "from", type: "datetime-local", value: query.from });
  var zoneList = el("datalist", { id: "tl-zones" });
  try {
    (Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : []).forEach(function (zone) {
      zoneList.appendChild(el("option", { value: zone }));
    });
  } catch (e) { /* an older browser: type any zone */ }
  var zoneInput = el("input", { id: "tl-tz", name: "tz", type: "text", list: "tl-zones", value: query.tz, autocomplete: "off", spellcheck: "false" });
  var nowButton = el("button", { type: "button", id: "tl-now" }, ["From now"]);
  var form = el("form", { className: "toolbar", id: "tl-form", "aria-label": "Timeline settings" }, [
    el("label", { className: "filter", for: "tl-hours" }, ["Window"]), hoursSelect,
    el("label", { className: "filter", for: "tl-from" }, ["Starting (local time in the zone; empty for now)"]), fromInput,
    el("label", { className: "filter", for: "tl-tz" }, ["Time zone"]), zoneInput, zoneList,
    el("button", { type: "submit", className: "primary" }, ["Show"]), nowButton,
  ]);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    query.hours = Number(hoursSelect.value) || 24;
    query.from = fromInput.value;
    query.tz = zoneInput.value.trim() || browserZone();
    keepInAddress();
    refresh();
  });
  nowButton.addEventListener("click", function () {
    fromInput.value = "";
    form.requestSubmit();
  });
  var chartBox = el("div", { id: "tl-content" }, [el("p", { className: "muted", text: "Loading…" })]);
  replace(view, heading);
  view.appendChild(form);
  view.appendChild(legend());
  view.appendChild(chartBox);

  function planUrl() {
    var params = new URLSearchParams();
    params.set("tz", query.tz);
    params.set("from", query.from || new Date().toISOString());
    params.set("hours", String(query.hours));
    params.set("perTask", "500");
    return "/api/plan?" + params.toString();
  }

  var loading = null, again = false, renders = 0;
  function refresh() {
    if (loading) { again = true; return loading; }
    var work = api("GET", planUrl()).then(function (plan) {
      var from = Date.parse(plan.from), to = Date.parse(plan.to), now = Date.now();
      var start = Math.min(from, now) - (to - from) / 4;
      var since = Math.max(start, now - MAX_RECENT_MS);
      // Only runs that started on the axis: none when the window lies wholly ahead or long past.
      var recent = since >= Math.min(now, to) ? Promise.resolve({ runs: [], truncated: false })
        : api("GET", "/api/timeline/recent?since=" + encodeURIComponent(new Date(since).toISOString()));
      return recent.then(function (recentRuns) {
        recentRuns.runs = recentRuns.runs.filter(function (run) {
          return Date.parse(run.startedAt || run.scheduledAt) <= to;
        });
        say("");
        replace(chartBox, renderTimeline(plan, recentRuns, { start: start, end: to, now: now }));
        // How many times it was drawn: tests wait for a refresh by it.
        chartBox.setAttribute("data-rendered", String(++renders));
      });
    });
    loading = work.catch(function (error) {
      if (error.message !== "Logged out") say("Could not load the timeline: " + error.message, true);
    }).then(function () {
      loading = null;
      if (again) { again = false; return refresh(); }
    });
    return loading;
  }

  keepInAddress();
  refresh();
  live.textContent = "Updated every minute";
  setInterval(function () { if (!query.from) refresh(); }, 60000);
})();
`;
