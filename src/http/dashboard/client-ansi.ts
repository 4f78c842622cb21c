/**
 * Terminal output as DOM (a part of `/assets/app.js`): `ansiNodes(text)`
 * turns text with ANSI SGR colour codes into text nodes and `<span>`s with
 * classes (`ansi-fg-1`, `ansi-bold`, …), built with textContent only. Every
 * other escape sequence (cursor moves, OSC titles and links) and control
 * character but newline and tab is dropped, so output can neither inject
 * markup nor reach the page's terminal-like state.
 */
export const CLIENT_ANSI = `
  // CSI sequences (ESC [ … final byte), OSC (ESC ] … BEL or ESC \\\\), other ESC pairs.
  var ANSI_ESCAPE = /\\u001b\\[([0-?]*)[ -\\/]*([@-~])|\\u001b\\][^\\u0007\\u001b]*(?:\\u0007|\\u001b\\\\)?|\\u001b[@-_]?|\\u009b[0-?]*[ -\\/]*[@-~]/g;
  var CONTROL = /[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]/g;
  function ansiNodes(text) {
    var nodes = [];
    var style = { fg: null, bg: null, bold: false, underline: false };
    function push(chunk) {
      chunk = chunk.replace(CONTROL, "");
      if (chunk === "") return;
      var classes = [];
      if (style.fg !== null) classes.push("ansi-fg-" + style.fg);
      if (style.bg !== null) classes.push("ansi-bg-" + style.bg);
      if (style.bold) classes.push("ansi-bold");
      if (style.underline) classes.push("ansi-underline");
      nodes.push(classes.length === 0 ? document.createTextNode(chunk) : el("span", { className: classes.join(" "), text: chunk }));
    }
    function sgr(params) {
      var codes = params === "" ? [0] : params.split(";").map(function (p) { return p === "" ? 0 : Number(p); });
      for (var i = 0; i < codes.length; i++) {
        var c = codes[i];
        if (c === 0) style = { fg: null, bg: null, bold: false, underline: false };
        else if (c === 1) style.bold = true;
        else if (c === 22) style.bold = false;
        else if (c === 4) style.underline = true;
        else if (c === 24) style.underline = false;
        else if (c >= 30 && c <= 37) style.fg = c - 30;
        else if (c >= 90 && c <= 97) style.fg = c - 90 + 8;
        else if (c === 39) style.fg = null;
        else if (c >= 40 && c <= 47) style.bg = c - 40;
        else if (c >= 100 && c <= 107) style.bg = c - 100 + 8;
        else if (c === 49) style.bg = null;
        else if (c === 38 || c === 48) {
          // 256-colour and true-colour forms are skipped (their arguments too), not shown.
          i += codes[i + 1] === 5 ? 2 : codes[i + 1] === 2 ? 4 : 0;
        }
      }
    }
    var last = 0;
    String(text).replace(ANSI_ESCAPE, function (match, params, final, offset) {
      push(text.slice(last, offset));
      last = offset + match.length;
      if (final === "m" && params !== undefined && /^[0-9;]*$/.test(params)) sgr(params);
      return "";
    });
    push(text.slice(last));
    return nodes;
  }
`;
