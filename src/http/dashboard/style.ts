/** The dashboard's stylesheet (`/assets/style.css`): system fonts, light and dark schemes, visible focus. */
export const STYLE_CSS = `
:root {
  color-scheme: light dark;
  --bg: #ffffff;
  --fg: #1b1f24;
  --muted: #57606a;
  --border: #d0d7de;
  --panel: #f6f8fa;
  --accent: #0a58ca;
  --ok: #1a7f37;
  --bad: #c62828;
  --warn: #9a6700;
  --focus: #0a58ca;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Ubuntu, sans-serif;
  font-size: 16px;
  line-height: 1.45;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117;
    --fg: #e6edf3;
    --muted: #9da7b3;
    --border: #30363d;
    --panel: #161b22;
    --accent: #6cb6ff;
    --ok: #3fb950;
    --bad: #ff7b72;
    --warn: #d29922;
    --focus: #6cb6ff;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip-link { position: absolute; left: -9999px; top: 0; }
.skip-link:focus { left: 1rem; top: 1rem; background: var(--bg); padding: 0.5rem; z-index: 10; }
.visually-hidden {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
header.site {
  display: flex; flex-wrap: wrap; align-items: center; gap: 1rem;
  padding: 0.75rem 1.5rem; border-bottom: 1px solid var(--border); background: var(--panel);
}
header.site .brand { font-weight: 700; font-size: 1.1rem; color: var(--fg); text-decoration: none; }
header.site nav { flex: 1; }
header.site form { margin: 0; }
.live { color: var(--muted); font-size: 0.875rem; }
main { padding: 1rem 1.5rem 3rem; max-width: 80rem; }
h1 { font-size: 1.5rem; margin: 0.5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.75rem; }
.table-wrap { overflow-x: auto; border: 1px solid var(--border); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; padding: 0.5rem 0.75rem; color: var(--muted); caption-side: top; }
th, td { padding: 0.5rem 0.75rem; text-align: left; vertical-align: top; border-top: 1px solid var(--border); }
thead th { background: var(--panel); font-size: 0.875rem; color: var(--muted); font-weight: 600; }
tbody th[scope="row"] { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
.desc { display: block; color: var(--muted); font-size: 0.875rem; }
.badge {
  display: inline-block; padding: 0.05rem 0.5rem; border-radius: 999px; font-size: 0.8rem;
  border: 1px solid currentColor; white-space: nowrap;
}
.status-succeeded, .state-active { color: var(--ok); }
.status-failed, .status-timed-out, .status-interrupted, .state-quarantined { color: var(--bad); }
.status-skipped, .status-missed, .status-cancelled, .state-paused { color: var(--warn); }
.state-completed, .status-none { color: var(--muted); }
.result-ok { color: var(--ok); }
.result-failed, .result-refused { color: var(--bad); }
.role-read-only { color: var(--warn); }
.actions { display: flex; gap: 0.5rem; }
td .actions { flex-wrap: nowrap; }
button {
  font: inherit; font-size: 0.875rem; padding: 0.3rem 0.8rem; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border); background: var(--panel); color: var(--fg);
}
button:hover { border-color: var(--accent); }
button[disabled] { opacity: 0.5; cursor: not-allowed; }
button[aria-disabled="true"] { opacity: 0.7; cursor: progress; }
button.primary { background: var(--accent); color: var(--bg); border-color: var(--accent); }
.toolbar { display: flex; flex-wrap: wrap; gap: 0.75rem 1.25rem; align-items: center; margin: 0 0 0.75rem; }
.toolbar .filter { font-size: 0.875rem; color: var(--muted); }
.toolbar input, .toolbar select {
  font: inherit; font-size: 0.875rem; padding: 0.3rem 0.5rem; border: 1px solid var(--border);
  border-radius: 6px; background: var(--bg); color: var(--fg);
}
.toolbar input[type="search"] { min-width: 16rem; }
.pager { display: flex; gap: 1rem; align-items: center; margin-top: 0.75rem; }
.spark { display: block; }
.spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; }
.spark circle { fill: var(--accent); }
.muted { color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.35rem 1.5rem; margin: 0 0 1rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
details pre {
  white-space: pre-wrap; word-break: break-word; background: var(--panel); padding: 0.5rem;
  border-radius: 4px; max-height: 20rem; overflow: auto; font-size: 0.8rem;
}
button.danger { color: var(--bad); border-color: var(--bad); }
[hidden] { display: none !important; }
details.run-output summary { cursor: pointer; max-width: 40rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
details.run-output h3 { font-size: 0.8rem; margin: 0.5rem 0 0.2rem; color: var(--muted); }
dl.run-facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 1rem; margin: 0.5rem 0; font-size: 0.875rem; }
dl.run-facts dt { color: var(--muted); }
dl.run-facts dd { margin: 0; }
pre.terminal { background: #0d1117; color: #e6edf3; }
.ansi-bold { font-weight: 700; }
.ansi-underline { text-decoration: underline; }
.ansi-fg-0 { color: #6e7681; } .ansi-fg-1 { color: #ff7b72; } .ansi-fg-2 { color: #3fb950; } .ansi-fg-3 { color: #d29922; }
.ansi-fg-4 { color: #58a6ff; } .ansi-fg-5 { color: #bc8cff; } .ansi-fg-6 { color: #39c5cf; } .ansi-fg-7 { color: #b1bac4; }
.ansi-fg-8 { color: #8b949e; } .ansi-fg-9 { color: #ffa198; } .ansi-fg-10 { color: #56d364; } .ansi-fg-11 { color: #e3b341; }
.ansi-fg-12 { color: #79c0ff; } .ansi-fg-13 { color: #d2a8ff; } .ansi-fg-14 { color: #56d4dd; } .ansi-fg-15 { color: #ffffff; }
.ansi-bg-0 { background: #484f58; } .ansi-bg-1 { background: #8e1519; } .ansi-bg-2 { background: #1a7f37; } .ansi-bg-3 { background: #9a6700; }
.ansi-bg-4 { background: #0969da; } .ansi-bg-5 { background: #8250df; } .ansi-bg-6 { background: #1b7c83; } .ansi-bg-7 { background: #6e7781; }
.ansi-bg-8 { background: #6e7681; } .ansi-bg-9 { background: #a40e26; } .ansi-bg-10 { background: #2da44e; } .ansi-bg-11 { background: #bf8700; }
.ansi-bg-12 { background: #218bff; } .ansi-bg-13 { background: #a475f9; } .ansi-bg-14 { background: #3192aa; } .ansi-bg-15 { background: #8c959f; }
#status:not(:empty) {
  margin: 0 0 1rem; padding: 0.5rem 0.75rem; border-left: 4px solid var(--accent); background: var(--panel);
}
#status.error { border-left-color: var(--bad); }
.login { max-width: 24rem; margin: 10vh auto; padding: 2rem; border: 1px solid var(--border); border-radius: 8px; }
.login label { display: block; font-weight: 600; margin-bottom: 0.25rem; }
.login input {
  width: 100%; font: inherit; padding: 0.5rem; border: 1px solid var(--border); border-radius: 6px;
  background: var(--bg); color: var(--fg); margin-bottom: 1rem;
}
.login .hint { color: var(--muted); font-size: 0.875rem; }
.login .error { color: var(--bad); font-weight: 600; }
@media (prefers-reduced-motion: reduce) { * { transition: none !important; animation: none !important; } }
`;
