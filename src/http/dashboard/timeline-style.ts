/** `/assets/timeline.css`: the timeline page's chart, legend and tables (on top of style.css). */
export const TIMELINE_CSS = `
.tl-chart { border: 1px solid var(--border); border-radius: 6px; overflow-x: auto; margin: 0 0 0.5rem; }
.tl-chart svg { display: block; width: 100%; min-width: 48rem; height: auto; }
.tl-chart text { fill: var(--fg); font-size: 12px; font-family: inherit; }
.tl-chart a text { fill: var(--accent); }
.tl-chart .tl-axis text { fill: var(--muted); }
.tl-axis line, .tl-grid { stroke: var(--border); stroke-width: 1; }
.tl-row-even { fill: var(--panel); }
.tl-row-odd { fill: transparent; }
.tl-tick { stroke: var(--accent); stroke-width: 1.5; }
.tl-dst { fill: var(--warn); stroke: var(--fg); stroke-width: 0.75; }
.tl-change { stroke: var(--warn); stroke-width: 2; stroke-dasharray: 4 3; }
.tl-change-day { fill: var(--warn); }
.tl-now { stroke: var(--bad); stroke-width: 1.5; }
.tl-bar { fill: currentColor; fill-opacity: 0.85; stroke: currentColor; stroke-width: 0.5; }
.tl-legend { display: flex; flex-wrap: wrap; gap: 0.4rem 1.25rem; list-style: none; padding: 0; margin: 0 0 1rem; font-size: 0.875rem; color: var(--muted); }
.tl-legend li { display: flex; align-items: center; gap: 0.35rem; }
.tl-legend svg { flex: none; }
.tl-note { color: var(--warn); font-size: 0.875rem; }
.tl-dst-list li { margin: 0.25rem 0; }
details.tl-table { margin: 0.75rem 0; }
details.tl-table summary { cursor: pointer; font-weight: 600; }
`;
