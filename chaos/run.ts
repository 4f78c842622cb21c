/**
 * The fault-injection suite: `npm run chaos [-- --only <scenario>[,<scenario>…]] [--short] [--keep] [--list]`.
 *
 * `--race` runs every node with the scheduler's internal `shareWork` off:
 * every node claims every due run (the default before issue 17).
 *
 * `--tasks <n>` sets the workload's size: n tasks due every second (100 by
 * default), to try the guarantees under load (issue 17: 5,000 runs a second).
 *
 * `--skip-without-postgres` (how `npm test` runs `--short`): when PostgreSQL's
 * binaries are absent, say so and exit 77 (skipped) instead of failing.
 *
 * Each scenario runs real scheduler processes against a real store (the
 * suite's own PostgreSQL server, or SQLite files), injects one kind of fault,
 * and checks history and the handlers' side effects (chaos/checker.ts). One
 * table row per scenario; the exit code is 1 when any invariant count is not
 * zero (or a scenario could not run), 0 otherwise. `--short` runs the CI
 * subset; `--keep` keeps the work directory (node logs, SQLite files, the
 * server's data and log) and prints where it is.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cleanupAll, onCleanup } from "./cleanup.js";
import { violations, type CheckResult } from "./checker.js";
import type { Scenario, ScenarioOutcome, SuiteEnv } from "./harness.js";
import { PG_BIN_PLACES, PostgresInstance, findPostgresBin } from "./postgres-instance.js";
import { SCENARIOS } from "./scenarios/index.js";

const { values } = parseArgs({
  options: {
    only: { type: "string", multiple: true },
    short: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    race: { type: "boolean", default: false },
    tasks: { type: "string", default: "100" },
    list: { type: "boolean", default: false },
    "skip-without-postgres": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help || values.list) {
  if (values.help) {
    console.log(
      "npm run chaos [-- --only <scenario>[,…]] [--short] [--keep] [--race] [--tasks <n>] [--list] [--skip-without-postgres]\n",
    );
  }
  for (const s of SCENARIOS)
    console.log(`${s.short === true ? "*" : " "} ${s.name.padEnd(20)} ${s.description}`);
  console.log("\n* = in --short (the CI subset)");
  process.exit(0);
}

const wanted = (values.only ?? []).flatMap((v) => v.split(",")).filter((v) => v !== "");
const unknown = wanted.filter((name) => !SCENARIOS.some((s) => s.name === name));
if (unknown.length > 0) {
  console.error(`unknown scenario(s): ${unknown.join(", ")} (npm run chaos -- --list)`);
  process.exit(2);
}
const taskCount = Number(values.tasks);
if (!Number.isInteger(taskCount) || taskCount < 5 || taskCount > 20_000) {
  console.error(
    `--tasks must be a whole number from 5 to 20000 (runs due a second), got "${values.tasks}"`,
  );
  process.exit(2);
}
const chosen = SCENARIOS.filter((s) =>
  wanted.length > 0 ? wanted.includes(s.name) : !values.short || s.short === true,
);

/** The exit code of a suite skipped for want of PostgreSQL (as automake's test drivers read it). */
const SKIPPED = 77;
if (values["skip-without-postgres"] && findPostgresBin() === undefined) {
  console.log(
    `chaos: SKIPPED: PostgreSQL's binaries (initdb, pg_ctl) are not installed (looked in ${PG_BIN_PLACES}; set PG_BIN to their directory). The fault-injection suite starts a PostgreSQL server of its own.`,
  );
  process.exit(SKIPPED);
}

// Read by each node process (chaos/node.ts), which inherits the environment.
if (values.race) process.env.CHAOS_RACE = "1";

const root = mkdtempSync(join(tmpdir(), "orchestrator-chaos-"));
// The postgres user must reach its data directory inside.
chmodSync(root, 0o755);
if (!values.keep) onCleanup(() => rmSync(root, { recursive: true, force: true }));

let server: PostgresInstance | undefined;
let starting: Promise<PostgresInstance> | undefined;
async function postgres(): Promise<PostgresInstance> {
  if (server !== undefined) {
    await server.ensureRunning();
    return server;
  }
  starting ??= (async () => {
    const instance = new PostgresInstance(root);
    await instance.init();
    await instance.start();
    server = instance;
    console.log(`PostgreSQL: ${instance.url} (data ${instance.dataDir})`);
    return instance;
  })();
  return starting;
}

interface Row {
  readonly scenario: Scenario;
  readonly outcome: ScenarioOutcome | undefined;
  readonly error: string | undefined;
  readonly seconds: number;
}

const suiteStart = performance.now();
const rows: Row[] = [];
console.log(
  `chaos: ${chosen.length} scenario(s): ${chosen.map((s) => s.name).join(", ")}` +
    `${values.race ? " (every node racing for every run)" : ""}\n`,
);
for (const scenario of chosen) {
  const dir = join(root, scenario.name);
  const env: SuiteEnv = {
    dir,
    postgres,
    short: values.short,
    tasks: taskCount,
    log: (text) => console.log(`  [${scenario.name}] ${text}`),
  };
  console.log(`▶ ${scenario.name}: ${scenario.description}`);
  const started = performance.now();
  let outcome: ScenarioOutcome | undefined;
  let error: string | undefined;
  try {
    outcome = await scenario.run(env);
  } catch (e) {
    error = e instanceof Error ? (e.stack ?? e.message) : String(e);
  }
  const seconds = (performance.now() - started) / 1000;
  rows.push({ scenario, outcome, error, seconds });
  printDetails(scenario, outcome, error, seconds);
}

if (server !== undefined) await server.stop("fast").catch(() => void server?.killSync());
const total = (performance.now() - suiteStart) / 1000;
console.log(`\n${table(rows)}`);
console.log(`\nsuite: ${total.toFixed(0)} s${values.keep ? `; work directory kept: ${root}` : ""}`);
const failed = rows.filter(
  (r) => r.error !== undefined || (r.outcome !== undefined && violations(r.outcome.result) > 0),
);
console.log(
  failed.length === 0
    ? "every invariant held"
    : `invariants broken in: ${failed.map((r) => r.scenario.name).join(", ")}`,
);
cleanupAll();
process.exit(failed.length === 0 ? 0 : 1);

function printDetails(
  scenario: Scenario,
  outcome: ScenarioOutcome | undefined,
  error: string | undefined,
  seconds: number,
): void {
  if (outcome === undefined) {
    console.log(`  ✗ could not run (${seconds.toFixed(0)} s): ${error ?? "?"}\n`);
    return;
  }
  const { result } = outcome;
  console.log(`  window: ${outcome.window}`);
  for (const note of outcome.notes) console.log(`  · ${note}`);
  if ((result.redone ?? 0) > 0) {
    console.log(
      `  · redone: ${result.redone} slot(s) completed just before a kill or stall (recorded interrupted or lost) and done again by the retry`,
    );
  }
  for (const [kind, list] of Object.entries(result.examples)) {
    for (const example of list) console.log(`  ${kind}: ${example}`);
  }
  const n = violations(result);
  console.log(
    `  ${n === 0 ? "✓" : "✗"} ${scenario.name}: ${n} violation(s) in ${seconds.toFixed(0)} s\n`,
  );
}

function cell(value: number | undefined): string {
  return value === undefined ? "-" : String(value);
}

function ms(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? "-" : String(Math.round(value));
}

function table(list: readonly Row[]): string {
  const header = [
    "scenario",
    "slots",
    "exec",
    "twice",
    "dblOk",
    "noRow",
    "story",
    "dup",
    "unretried",
    "early",
    "other",
    "lost",
    "redo",
    "refused",
    "late p50/p99/max ms",
    "time",
  ];
  const lines = list.map((row) => {
    const r: CheckResult | undefined = row.outcome?.result;
    if (r === undefined) {
      return [
        row.scenario.name,
        "error",
        ...header.slice(2, -1).map(() => ""),
        `${row.seconds.toFixed(0)}s`,
      ];
    }
    const other = Object.entries(r.extra)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    return [
      row.scenario.name,
      String(r.slots),
      cell(r.executions),
      cell(r.twice),
      String(r.doubleSuccess),
      String(r.noRow),
      String(r.stories),
      String(r.duplicates),
      String(r.notRetried),
      cell(r.early),
      other || "0",
      String(r.lost),
      cell(r.redone),
      cell(r.refused),
      r.lateness === undefined
        ? "-"
        : `${ms(r.lateness.p50)}/${ms(r.lateness.p99)}/${ms(r.lateness.max)}`,
      `${row.seconds.toFixed(0)}s`,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const format = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join("  ");
  return [format(header), format(widths.map((w) => "─".repeat(w))), ...lines.map(format)].join(
    "\n",
  );
}
