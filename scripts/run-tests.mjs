#!/usr/bin/env node
// Runs the tests with Node's test runner. A test file belongs to one of two
// sets, by its name:
//   unit     test/**/*.test.ts except the ones below: in the test runner's
//            processes only (real SQLite files and the PostgreSQL server are
//            fine, child processes are not: test/helpers/no-child-processes.mjs
//            fails a unit file that starts one). About 70 s of CPU in all, for
//            under a minute on two quiet cores: the files that compute run two
//            processes at a time, each process up to BATCH_FILES files of one
//            folder, one after another (a process that loads the TypeScript
//            loader costs half a second of CPU before its first test); the
//            files that wait on PostgreSQL or on real time (`waits`) run beside
//            them, a process each, WAITING_CONCURRENCY at a time.
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
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";

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

/**
 * How many waiting unit files run at once: they mostly wait, so more than the
 * two cores, but not so many that the PostgreSQL server becomes the bottleneck
 * (measured on a quiet machine: 6 at a time 60 s for the unit part, 10 about
 * 53 s, all 17 from 50 to 75 s).
 */
const WAITING_CONCURRENCY = 10;
/** Unit files that mostly wait on real time (their clocks are the machine's) rather than compute. */
const REAL_TIME = [
  "test/engine/store-outage-runs.test.ts", // a task every second on a SQLite file locked for seconds
  "test/cluster/store-health.test.ts", // a store that fails and recovers under a running scheduler: ~19 s, 2.6 s of CPU
  "test/cli/store-state-sync.test.ts", // polls for another process's changes: ~4 s, 1.1 s of CPU
  "test/leasing/ahead-claimer.test.ts", // claims taken ahead on the real timer: ~4 s, 1.1 s of CPU
  "test/engine/retry-after-row.test.ts", // a retry waits for a slow SQLite write: ~2 s, 1.1 s of CPU
  "test/cluster/share-default.test.ts", // waits for heartbeats: ~2 s
];
/**
 * The waiting files that take longest (measured: 15-35 s each, beside the
 * rest), started first: started last, any of them outlasted everything else.
 */
const LONGEST_WAITING = [
  "test/store/postgres-store.test.ts",
  "test/store/postgres-history.test.ts",
  "test/engine/store-outage-runs.test.ts",
  "test/cluster/store-health.test.ts",
];
/** A unit file that mostly waits: it uses the PostgreSQL server (calls requirePg), or is in REAL_TIME. */
const waits = (file) =>
  REAL_TIME.includes(file) || /\brequirePg\(/.test(readFileSync(file, "utf8"));

/** The most computing unit files one process runs, one after another. */
const BATCH_FILES = 16;
/** Computing unit files that run in a process of their own (none today: add one whose tests leave process-wide state behind). */
const ALONE = [];

/**
 * The computing files as `node --test` entries: batches of up to BATCH_FILES
 * files of one folder, each a module written in `dir` that imports them in
 * order (their tests run one after another in one process, as in their own),
 * and the ALONE files as they are. A process that loads the TypeScript loader
 * costs about half a second of CPU before its first test.
 */
function batches(files, dir) {
  const byFolder = new Map();
  for (const f of files.filter((f) => !ALONE.includes(f))) {
    const folder = f.slice(0, f.lastIndexOf("/"));
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), f]);
  }
  const entries = files.filter((f) => ALONE.includes(f));
  /** A batch's entry → the bytes of the files it imports. */
  const bytes = new Map();
  for (const [folder, inFolder] of byFolder) {
    for (let i = 0; i < inFolder.length; i += BATCH_FILES) {
      const batch = inFolder.slice(i, i + BATCH_FILES);
      if (batch.length === 1) {
        entries.push(batch[0]);
        continue;
      }
      const entry = join(dir, `${folder.replaceAll("/", "-")}-${i / BATCH_FILES + 1}.test.mjs`);
      const imports = batch.map((f) => `import ${JSON.stringify(pathToFileURL(f).href)};\n`);
      writeFileSync(entry, `// ${batch.join(", ")}\n${imports.join("")}`);
      bytes.set(
        entry,
        batch.reduce((sum, f) => sum + statSync(f).size, 0),
      );
      entries.push(entry);
    }
  }
  // Largest first (by source size, a rough measure of work), so that no long batch starts last.
  const size = (entry) => bytes.get(entry) ?? statSync(entry).size;
  return entries.sort((a, b) => size(b) - size(a));
}

/** One `node --test` over `files`, `concurrency` at a time; its spec report goes to stdout, or to `reportFile`. */
function nodeTest(part, files, concurrency, tapFile, reportFile) {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      ...(part.guard ? ["--import", GUARD] : []),
      "--test",
      `--test-concurrency=${concurrency}`,
      "--test-timeout=600000",
      "--test-reporter=spec",
      `--test-reporter-destination=${reportFile ?? "stdout"}`,
      "--test-reporter=tap",
      `--test-reporter-destination=${tapFile}`,
      ...files,
    ],
    { stdio: "inherit", env: { ...process.env, ...part.env } },
  );
  const started = performance.now();
  return new Promise((resolve) =>
    child.once("close", (code) =>
      resolve({ ok: code === 0, seconds: (performance.now() - started) / 1000 }),
    ),
  );
}

/** The counts and failed tests of a TAP report. */
function readTap(tap) {
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
  return { pass, fail, skipped, failed };
}

/**
 * Runs a part: its computing files in one `node --test`, two at a time, and
 * its waiting files (see `waits`) in a second one beside it, WAITING_CONCURRENCY
 * at a time, whose report is printed when it ends. Returns the counts and
 * failed tests, read from TAP copies of the reports.
 */
async function run(part) {
  const rank = (file) => {
    const i = LONGEST_WAITING.indexOf(file);
    return i < 0 ? LONGEST_WAITING.length : i;
  };
  const waiting = part.split ? part.files.filter(waits).sort((a, b) => rank(a) - rank(b)) : [];
  const groups = [
    { files: part.files.filter((f) => !waiting.includes(f)), concurrency: 2, batched: part.split },
    {
      files: waiting,
      concurrency: WAITING_CONCURRENCY,
      name: "waiting on PostgreSQL or real time",
    },
  ]
    .filter((group) => group.files.length > 0)
    .map((group, i) => ({ ...group, report: i > 0 })); // the first one reports as it goes
  const split =
    groups.length > 1
      ? ` (${groups[1]?.files.length} of them waiting on PostgreSQL or real time, beside the rest)`
      : "";
  console.log(`\n━━ ${part.name}: ${part.files.length} files${split} ━━`);
  const dir = mkdtempSync(join(tmpdir(), "orchestrator-tests-"));
  const started = performance.now();
  const outcomes = await Promise.all(
    groups.map((group, i) =>
      nodeTest(
        part,
        group.batched ? batches(group.files, dir) : group.files,
        group.concurrency,
        join(dir, `report-${i}.tap`),
        group.report ? join(dir, `report-${i}.txt`) : undefined,
      ),
    ),
  );
  groups.forEach((group, i) => {
    if (!group.report) return;
    console.log(
      `\n━━ ${part.name}, ${group.name}: ${group.files.length} files, ${group.concurrency} at a time, ${outcomes[i].seconds.toFixed(1)} s ━━`,
    );
    const report = join(dir, `report-${i}.txt`);
    if (existsSync(report)) process.stdout.write(readFileSync(report, "utf8"));
  });
  const seconds = (performance.now() - started) / 1000;
  const taps = groups.map((_, i) => join(dir, `report-${i}.tap`));
  const reports = taps.map((tap) =>
    readTap(existsSync(tap) ? readFileSync(tap, "utf8").split("\n") : []),
  );
  rmSync(dir, { recursive: true, force: true });
  const sum = (key) => reports.reduce((total, r) => total + r[key], 0);
  return {
    ...part,
    ok: outcomes.every((o) => o.ok),
    seconds,
    pass: sum("pass"),
    fail: sum("fail"),
    skipped: sum("skipped"),
    failed: reports.flatMap((r) => r.failed),
  };
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
const UNIT = { name: "unit", files: unit, guard: true, split: true };
const PROCESS = { name: "process", files: all.filter(isProcess) };
const ZONE = {
  name: "unit, TZ=Asia/Tokyo",
  files: zoneSuites,
  guard: true,
  split: true,
  env: { TZ: "Asia/Tokyo" },
};
const PLAN_AHEAD_OFF = {
  name: "unit, TEST_PLAN_AHEAD=off",
  files: planAheadSuites,
  guard: true,
  split: true,
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
  const guard = !files.some(isProcess);
  parts = [{ name: "selected", files, guard, split: guard }];
}
const results = [];
for (const part of parts) results.push(part.chaos ? runChaos(part) : await run(part));
summarize(results);
process.exit(results.every((r) => r.ok) ? 0 : 1);
