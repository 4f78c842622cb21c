#!/usr/bin/env node
// Runs the tests with Node's test runner. A test file belongs to one of two
// sets, by its name:
//   unit     test/**/*.test.ts except the ones below: in this process only (real
//            SQLite files and the PostgreSQL server are fine, child processes
//            are not: test/helpers/no-child-processes.mjs fails a unit file that
//            starts one). Well under a minute.
//   process  test/**/*.process.test.ts: the daemon and the CLI as child
//            processes, cluster nodes, SIGKILL, the browser. Some need the
//            build (dist/), which `npm test` and `npm run test:process` make first.
// With no argument (npm test): unit; the cron and time tests again with
// TZ=Asia/Tokyo (results never depend on the process zone); the scheduler's
// behavioural suites again with TEST_PLAN_AHEAD=off (planning ahead changes
// when phase 1 happens, never what it decides); then process; then the short
// subset of the fault-injection suite (`npm run chaos -- --short`, about 75 s:
// real nodes on a PostgreSQL server of its own, killed and frozen; skipped,
// saying so, only when PostgreSQL's binaries are not installed). Every part
// runs; a summary says which failed, and the exit code is non-zero if any did.
// `run-tests.mjs chaos` runs that subset alone.
// `run-tests.mjs unit` or `run-tests.mjs process` runs one set;
// `run-tests.mjs test/cron test/time/zone.test.ts` runs those files once.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const GUARD = "./test/helpers/no-child-processes.mjs";
/** The suites whose schedulers take their planning mode from TEST_PLAN_AHEAD (test/helpers/plan-ahead.ts). */
const PLAN_AHEAD_SUITES = ["test/scheduler/", "test/durable/durable-tasks.test.ts"];

function collect(path) {
  if (statSync(path).isFile()) return [path];
  const files = readdirSync(path, { recursive: true }).map((entry) => join(path, String(entry)));
  const misnamed = files.filter(
    (f) => /\.(test|spec)\.[cm]?[jt]sx?$/.test(f) && !f.endsWith(".test.ts"),
  );
  if (misnamed.length > 0)
    throw new Error(`test files end in .test.ts; these would not run: ${misnamed.join(", ")}`);
  return files.filter((f) => f.endsWith(".test.ts") && statSync(f).isFile()).sort();
}

const isProcess = (file) => file.endsWith(".process.test.ts");
const inFolders = (file, folders) => folders.some((folder) => file.startsWith(folder));

/** Runs a part's files in one `node --test`; returns its counts and failed tests (read from a TAP copy of the report). */
function run(part) {
  console.log(`\n━━ ${part.name}: ${part.files.length} files ━━`);
  const tapFile = join(mkdtempSync(join(tmpdir(), "orchestrator-tests-")), "report.tap");
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      ...(part.guard ? ["--import", GUARD] : []),
      "--test",
      "--test-concurrency=2",
      "--test-timeout=600000",
      "--test-reporter=spec",
      "--test-reporter-destination=stdout",
      "--test-reporter=tap",
      `--test-reporter-destination=${tapFile}`,
      ...part.files,
    ],
    { stdio: "inherit", env: { ...process.env, ...part.env } },
  );
  const seconds = (performance.now() - started) / 1000;
  const tap = existsSync(tapFile) ? readFileSync(tapFile, "utf8").split("\n") : [];
  rmSync(join(tapFile, ".."), { recursive: true, force: true });
  const count = (name) =>
    Number(tap.findLast((l) => l.startsWith(`# ${name} `))?.split(" ")[2] ?? 0);
  const failed = [];
  tap.forEach((line, i) => {
    const match = /^(\s*)not ok \d+ - (.*)$/.exec(line);
    if (match === null) return;
    const block = tap.slice(i + 1, tap.indexOf(`${match[1]}  ...`, i + 1));
    if (block.some((l) => l.includes("failureType: 'subtestsFailed'"))) return; // a suite: its tests say it
    const where = block.find((l) => l.includes("location: '"))?.split("'")[1] ?? "";
    failed.push(where ? `${match[2]} (${relative(process.cwd(), where)})` : match[2]);
  });
  const [pass, fail, skipped] = ["pass", "fail", "skipped"].map(count);
  return { ...part, ok: result.status === 0, seconds, pass, fail, skipped, failed };
}

/** The exit code of chaos/run.ts when PostgreSQL's binaries are not installed. */
const CHAOS_SKIPPED = 77;

/** Runs the fault-injection suite's short subset; its table is its report. */
function runChaos(part) {
  console.log(`\n━━ ${part.name} ━━`);
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "chaos/run.ts", "--short", "--skip-without-postgres"],
    { stdio: "inherit" },
  );
  const seconds = (performance.now() - started) / 1000;
  const skipped = result.status === CHAOS_SKIPPED;
  const ok = result.status === 0 || skipped;
  return {
    ...part,
    ok,
    seconds,
    pass: result.status === 0 ? 1 : 0,
    fail: ok ? 0 : 1,
    skipped: skipped ? 1 : 0,
    failed: ok ? [] : ["invariants broken or a scenario could not run (see the table above)"],
  };
}

function summarize(results) {
  console.log("\n━━ Summary ━━");
  for (const r of results) {
    const counts = `${r.pass} passed, ${r.fail} failed, ${r.skipped} skipped`;
    console.log(
      `${r.ok ? "ok    " : "FAILED"}  ${r.name.padEnd(28)} ${counts.padEnd(36)} ${r.seconds.toFixed(1).padStart(6)} s`,
    );
    for (const test of r.failed.slice(0, 20)) console.log(`          ✖ ${test}`);
    if (!r.ok && r.failed.length === 0)
      console.log("          (no failed test: the run itself failed; see its output above)");
  }
  const total = results.reduce((sum, r) => sum + r.seconds, 0);
  console.log(
    `${results.every((r) => r.ok) ? "all passed" : "SOME PARTS FAILED"}, ${total.toFixed(1)} s in all`,
  );
}

const all = collect("test");
const unit = all.filter((f) => !isProcess(f));
const zoneSuites = unit.filter(
  (f) => inFolders(f, ["test/cron/", "test/time/"]) && !f.includes("timer-loop"),
);
const planAheadSuites = unit.filter((f) => inFolders(f, PLAN_AHEAD_SUITES));
for (const path of PLAN_AHEAD_SUITES) {
  if (!planAheadSuites.some((f) => f.startsWith(path)))
    throw new Error(`no unit test file at ${path}`);
}
const UNIT = { name: "unit", files: unit, guard: true };
const PROCESS = { name: "process", files: all.filter(isProcess) };
const ZONE = {
  name: "unit, TZ=Asia/Tokyo",
  files: zoneSuites,
  guard: true,
  env: { TZ: "Asia/Tokyo" },
};
const PLAN_AHEAD_OFF = {
  name: "unit, TEST_PLAN_AHEAD=off",
  files: planAheadSuites,
  guard: true,
  env: { TEST_PLAN_AHEAD: "off" },
};

const CHAOS = { name: "chaos --short", files: [], chaos: true };

const [first, ...rest] = process.argv.slice(2);
let parts;
if (first === undefined) parts = [UNIT, ZONE, PLAN_AHEAD_OFF, PROCESS, CHAOS];
else if (first === "unit" && rest.length === 0) parts = [UNIT];
else if (first === "process" && rest.length === 0) parts = [PROCESS];
else if (first === "chaos" && rest.length === 0) parts = [CHAOS];
else {
  const files = [first, ...rest].flatMap(collect).map((f) => relative(process.cwd(), f));
  parts = [{ name: "selected", files, guard: !files.some(isProcess) }];
}
const results = parts.map((part) => (part.chaos ? runChaos(part) : run(part)));
summarize(results);
process.exit(results.every((r) => r.ok) ? 0 : 1);
