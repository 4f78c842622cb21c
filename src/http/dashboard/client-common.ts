/**
 * The dashboard script's shared helpers (a part of `/assets/app.js`, inside
 * its closure): DOM building without innerHTML, the JSON API with the CSRF
 * token, time, duration and status formatting, sparklines and the task
 * action buttons.
 */
export const CLIENT_COMMON = `
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
`;
