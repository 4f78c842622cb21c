/**
 * The timeline's drawing (a part of `/assets/timeline.js`, inside its
 * closure): the legend, the SVG chart (one row per task on a shared axis) and
 * the same data as a list of daylight-saving changes and two tables.
 */
export const TIMELINE_CHART = `
  var STATUS_WORDS = ["succeeded", "failed", "timed-out", "skipped", "missed", "interrupted", "lost"];
  var DST_WORDS = {
    shifted: "moved by daylight saving (spring forward)",
    "first-pass": "in a repeated hour (fall back), first pass",
    "second-pass": "in a repeated hour (fall back), second pass",
  };
  var WIDTH = 1000, LABEL = 190, ROW = 26, AXIS = 34, TABLE_ROWS = 1000, MAX_ROWS = 300;
  var openTables = {};

  function svgEl(tag, attrs, children) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, String(attrs[key])); });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function titled(node, text) {
    var title = svgEl("title");
    title.textContent = text;
    node.insertBefore(title, node.firstChild);
    return node;
  }
  function diamond(x, y, r, className) {
    return svgEl("polygon", {
      points: [x + "," + (y - r), (x + r) + "," + y, x + "," + (y + r), (x - r) + "," + y].join(" "),
      class: className,
    });
  }
  function swatch(node) {
    var svg = svgEl("svg", { width: 18, height: 14, viewBox: "0 0 18 14", "aria-hidden": "true" }, [node]);
    return svg;
  }

  function legend() {
    var items = [
      [svgEl("line", { x1: 9, x2: 9, y1: 1, y2: 13, class: "tl-tick" }), "Planned run"],
      [diamond(9, 7, 5, "tl-dst"), "Planned run moved or repeated by daylight saving"],
      [svgEl("line", { x1: 9, x2: 9, y1: 0, y2: 14, class: "tl-change" }), "Daylight-saving change (point at it for what it does)"],
      [svgEl("line", { x1: 9, x2: 9, y1: 0, y2: 14, class: "tl-now" }), "Now"],
    ];
    STATUS_WORDS.forEach(function (status) {
      items.push([svgEl("rect", { x: 1, y: 3, width: 16, height: 8, class: "tl-bar status-" + status }), "Recent run: " + status]);
    });
    return el("ul", { className: "tl-legend", id: "tl-legend", "aria-label": "Legend" }, items.map(function (item) {
      return el("li", null, [swatch(item[0]), item[1]]);
    }));
  }

  function formatters(zone) {
    return {
      time: new Intl.DateTimeFormat(undefined, { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }),
      day: new Intl.DateTimeFormat(undefined, { timeZone: zone, weekday: "short", day: "numeric", month: "short" }),
      full: new Intl.DateTimeFormat(undefined, { timeZone: zone, dateStyle: "medium", timeStyle: "medium" }),
    };
  }

  /** Local minus UTC in ms in the zone at the instant, so that axis labels fall on local hours. */
  function zoneOffset(zone, ms) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric",
    }).formatToParts(ms).forEach(function (part) { parts[part.type] = Number(part.value); });
    var at = Math.floor(ms / 1000) * 1000;
    return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) - at;
  }

  /** Axis steps: the smallest of these giving at most 12 labels. */
  function axisStep(span) {
    var steps = [1, 2, 3, 6, 12, 24, 48];
    for (var i = 0; i < steps.length; i++) if (span / (steps[i] * HOUR) <= 12) return steps[i] * HOUR;
    return 48 * HOUR;
  }

  function rowNames(plan, recent) {
    var names = plan.tasks.map(function (task) { return task.name; });
    var known = {};
    names.forEach(function (name) { known[name] = true; });
    recent.runs.forEach(function (run) {
      if (!known[run.taskName]) { known[run.taskName] = true; names.push(run.taskName); }
    });
    return names;
  }

  function chart(plan, recent, axis, f, names) {
    var rowOf = {};
    names.forEach(function (name, i) { rowOf[name] = i; });
    var height = AXIS + names.length * ROW + 6;
    var span = axis.end - axis.start;
    function x(ms) { return LABEL + ((ms - axis.start) / span) * (WIDTH - LABEL - 10); }
    function yOf(name) { return AXIS + rowOf[name] * ROW; }
    var summary = "Timeline of " + names.length + " tasks from " + f.full.format(axis.start) + " to " + f.full.format(axis.end) +
      " (" + plan.timezone + "): " + plan.runs.length + " planned runs, " + recent.runs.length + " recent runs, " +
      plan.dstChanges.length + " daylight-saving changes. The lists and tables below hold the same data.";
    var svg = svgEl("svg", { viewBox: "0 0 " + WIDTH + " " + height, role: "img", "aria-label": summary, id: "tl-svg" });
    var axisGroup = svgEl("g", { class: "tl-axis" });
    var step = axisStep(span);
    var offsetMs = zoneOffset(plan.timezone, axis.start);
    for (var t = Math.ceil((axis.start + offsetMs) / step) * step - offsetMs; t <= axis.end; t += step) {
      var gx = x(t);
      axisGroup.appendChild(svgEl("line", { x1: gx, x2: gx, y1: AXIS - 6, y2: height, class: "tl-grid" }));
      if (gx > WIDTH - 45) continue;
      var label = svgEl("text", { x: gx + 2, y: 14 });
      label.textContent = step >= 24 * HOUR ? f.day.format(t) : f.time.format(t);
      axisGroup.appendChild(label);
    }
    svg.appendChild(axisGroup);
    names.forEach(function (name, i) {
      var y = yOf(name);
      svg.appendChild(svgEl("rect", { x: 0, y: y, width: WIDTH, height: ROW, class: i % 2 === 0 ? "tl-row-even" : "tl-row-odd" }));
      var text = svgEl("text", { x: 6, y: y + ROW / 2 + 4 });
      text.textContent = name.length > 26 ? name.slice(0, 25) + "…" : name;
      var link = svgEl("a", { href: "/tasks/" + encodeURIComponent(name), class: "tl-label" }, [text]);
      svg.appendChild(titled(link, name));
    });
    var seenDays = {};
    plan.dstChanges.forEach(function (change) {
      if (!(change.taskName in rowOf)) return;
      var cx = x(Date.parse(change.at)), y = yOf(change.taskName);
      svg.appendChild(titled(svgEl("line", { x1: cx, x2: cx, y1: y + 1, y2: y + ROW - 1, class: "tl-change" }), change.taskName + ": " + change.description));
      var key = change.timezone + change.at;
      if (!seenDays[key]) {
        seenDays[key] = true;
        svg.appendChild(titled(diamond(cx, AXIS - 10, 5, "tl-change-day"), change.timezone + " changes its clocks at " + f.full.format(Date.parse(change.at))));
      }
    });
    recent.runs.forEach(function (run) {
      if (!(run.taskName in rowOf)) return;
      var startMs = Date.parse(run.startedAt || run.scheduledAt);
      var endMs = run.finishedAt ? Date.parse(run.finishedAt) : startMs;
      var bx = x(startMs), y = yOf(run.taskName);
      var text = run.taskName + ": " + run.status + ", " + (run.startedAt ? "started " : "due ") + f.full.format(startMs) +
        (run.durationMs === null ? "" : ", took " + formatMs(run.durationMs)) + (run.attempt > 1 ? ", attempt " + run.attempt : "");
      svg.appendChild(titled(svgEl("rect", { x: bx, y: y + 5, width: Math.max(2, x(endMs) - bx), height: ROW - 10, class: "tl-bar status-" + run.status }), text));
    });
    plan.runs.forEach(function (run) {
      if (!(run.taskName in rowOf)) return;
      var at = Date.parse(run.at), rx = x(at), y = yOf(run.taskName);
      var text = run.taskName + ": planned " + f.full.format(at) + (run.dst ? ", " + DST_WORDS[run.dst] : "");
      var node = run.dst
        ? diamond(rx, y + ROW / 2, 6, "tl-dst tl-dst-" + run.dst)
        : svgEl("line", { x1: rx, x2: rx, y1: y + 6, y2: y + ROW - 6, class: "tl-tick" });
      svg.appendChild(titled(node, text));
    });
    if (axis.now >= axis.start && axis.now <= axis.end) {
      var nx = x(axis.now);
      svg.appendChild(titled(svgEl("line", { x1: nx, x2: nx, y1: AXIS - 6, y2: height, class: "tl-now" }), "Now"));
    }
    return el("div", { className: "tl-chart" }, [svg]);
  }

  function table(id, caption, headers, rows) {
    return el("div", { className: "table-wrap" }, [el("table", { id: id }, [
      el("caption", { text: caption }),
      el("thead", null, [el("tr", null, headers.map(function (h) { return el("th", { scope: "col", text: h }); }))]),
      el("tbody", null, rows),
    ])]);
  }

  /** A details element that stays open across refreshes once opened. */
  function openable(key, children) {
    var details = el("details", { className: "tl-table", open: openTables[key] === true }, children);
    details.addEventListener("toggle", function () { openTables[key] = details.open; });
    return details;
  }

  function renderTimeline(plan, recent, axis) {
    var f = formatters(plan.timezone);
    var names = rowNames(plan, recent);
    var parts = [chart(plan, recent, axis, f, names.slice(0, MAX_ROWS))];
    if (names.length > MAX_ROWS) {
      parts.push(el("p", { className: "tl-note", id: "tl-rows-cut" }, ["The chart shows the first " + MAX_ROWS + " of " +
        names.length + " tasks; the tables below list the runs of all of them."]));
    }
    var left = plan.tasks.filter(function (task) { return task.listed < task.count; });
    if (left.length) {
      parts.push(el("p", { className: "tl-note", id: "tl-truncated" }, ["Not every planned run is shown: " + left.map(function (task) {
        return task.name + " (" + task.listed + " of " + task.count + ")";
      }).join(", ") + "."]));
    }
    parts.push(el("h2", { text: "Daylight saving" }));
    parts.push(plan.dstChanges.length === 0
      ? el("p", { className: "muted", id: "tl-dst-none", text: "No daylight-saving change moves, drops or repeats a run in this window." })
      : el("ul", { className: "tl-dst-list", id: "tl-dst-list" }, plan.dstChanges.map(function (change) {
          return el("li", null, [el("strong", { text: change.taskName }), ": " + change.description]);
        })));
    var planned = plan.runs.slice(0, TABLE_ROWS).map(function (run) {
      return el("tr", null, [
        el("th", { scope: "row", text: run.taskName }),
        el("td", null, [el("time", { datetime: run.at, text: f.full.format(Date.parse(run.at)) })]),
        el("td", null, [el("code", { text: run.at })]),
        el("td", { text: run.dst ? DST_WORDS[run.dst] : "" }),
      ]);
    });
    parts.push(openable("tl-planned", [
      el("summary", { text: "Planned runs as a table (" + plan.runs.length + ")" }),
      table("tl-planned", plan.runs.length + " planned runs from " + f.full.format(Date.parse(plan.from)) + " to " +
        f.full.format(Date.parse(plan.to)) + ", times in " + plan.timezone + (plan.runs.length > TABLE_ROWS ? " (the first " + TABLE_ROWS + ")" : ""),
        ["Task", "When (" + plan.timezone + ")", "UTC", "Daylight saving"], planned),
    ]));
    var runs = recent.runs.slice(-TABLE_ROWS).reverse().map(function (run) {
      var startMs = Date.parse(run.startedAt || run.scheduledAt);
      return el("tr", null, [
        el("th", { scope: "row", text: run.taskName }),
        el("td", null, [el("time", { datetime: run.startedAt || run.scheduledAt, text: f.full.format(startMs) })]),
        el("td", { className: "num", text: formatMs(run.durationMs) }),
        el("td", null, [badge("status", run.status)]),
      ]);
    });
    parts.push(openable("tl-recent", [
      el("summary", { text: "Recent runs as a table (" + recent.runs.length + ")" }),
      table("tl-recent", recent.runs.length + " recent runs, newest first" + (recent.truncated ? " (older ones not shown)" : ""),
        ["Task", "Started (" + plan.timezone + ")", "Duration", "Status"], runs),
    ]));
    return el("div", null, parts);
  }
`;
