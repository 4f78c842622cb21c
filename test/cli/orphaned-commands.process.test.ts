import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it, type TestContext } from "node:test";
import Database from "better-sqlite3";
import { generateKey } from "../../src/crypto/key-material.js";
import { PG_URL, pgMissing, withTestSchema } from "../helpers/pg.js";
import { DaemonProcess, WAIT_MS, cli, tempDirs } from "./daemon-process.js";
import { isGone, killAll } from "./processes.js";

// Issue 15, observation 11: a SIGKILLed daemon's command lives on; the
// restarted daemon must stop it (or wait for it, `orphans: wait`) before the
// run's retry starts, never run beside it. Each execution of the command
// checks for itself that no earlier execution still runs (a file of pids)
// and writes what it saw, so that two live executions cannot go unnoticed.

const tempDir = tempDirs("orchestrator-orphans");

interface Files {
  dir: string;
  /** "<sh pid> <background sleep pid>" per execution. */
  pids: string;
  /** One line per execution: its run variables. */
  runs: string;
  /** Written by an execution that found an earlier one still running. */
  overlaps: string;
}

function files(dir: string): Files {
  return {
    dir,
    pids: join(dir, "pids"),
    runs: join(dir, "runs"),
    overlaps: join(dir, "overlaps"),
  };
}

/**
 * The command: checks every pid of earlier executions (live unless gone or a
 * zombie), records its own, prints its run variables, then `wait`s on a
 * background sleep (so the group has two processes) — or, with `gate`, until
 * that file exists, then exits 0.
 */
function script(f: Files, gate?: string): string {
  const check = `for p in $(cat ${f.pids} 2>/dev/null); do s=$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null); if [ -n "$s" ] && [ "$s" != Z ]; then echo "$$ saw $p" >> ${f.overlaps}; fi; done`;
  const vars =
    'echo "$ORCHESTRATOR_ATTEMPT $ORCHESTRATOR_TASK_NAME $ORCHESTRATOR_SCHEDULED_AT $ORCHESTRATOR_FENCING_TOKEN $ORCHESTRATOR_NODE_ID"';
  const body =
    gate === undefined
      ? "wait"
      : `while [ ! -e ${gate} ]; do sleep 0.05; done; kill $!; echo "$$ done" >> ${f.runs}.done`;
  return `${check}; sleep 1000 & echo "$$ $!" >> ${f.pids}; ${vars} >> ${f.runs}; ${body}`;
}

function writeSchedule(f: Files, command: string, extra: string): void {
  writeFileSync(
    join(f.dir, "schedule.yaml"),
    `tasks:\n  - name: job\n    schedule: "*/1 * * * * *"\n    command: ${JSON.stringify(command)}\n    shell: true\n${extra}`,
  );
}

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

/** Resolves with the file's lines once it has `count`; rejects after a bounded wait. */
async function linesIn(file: string, count: number): Promise<string[]> {
  for (let waited = 0; waited < WAIT_MS; waited += 20) {
    if (lines(file).length >= count) return lines(file);
    await sleep(20);
  }
  throw new Error(`${file} did not get ${count} line(s) in time: ${lines(file).join(" | ")}`);
}

/** Where the daemons keep their claims: flags, environment, and a look at the claims. */
interface StoreUnderTest {
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  /** The process group recorded on the held claim of "job", if any. */
  recordedGroup(dir: string): Promise<number | undefined>;
}

const SQLITE: StoreUnderTest = {
  args: [],
  env: {},
  recordedGroup(dir) {
    const db = new Database(join(dir, "orchestrator.db"), { readonly: true, fileMustExist: true });
    try {
      const row = db
        .prepare(
          "SELECT process_group AS pgid FROM claims WHERE task_name = 'job' AND process_group IS NOT NULL",
        )
        .get() as { pgid: number } | undefined;
      return Promise.resolve(row?.pgid);
    } finally {
      db.close();
    }
  },
};

/** A store on the test PostgreSQL server, in a schema of its own. */
function postgresStore(schema: ReturnType<typeof withTestSchema>): StoreUnderTest {
  const name = schema.freshName();
  return {
    args: ["--store", `${PG_URL}?schema=${name}`],
    env: { ORCHESTRATOR_ENCRYPTION_KEY: generateKey() },
    async recordedGroup() {
      const { rows } = await schema.admin.query<{ pgid: number }>(
        `select process_group as pgid from "${name}".claims
         where task_name = 'job' and released_at is null and process_group is not null`,
      );
      return rows[0]?.pgid;
    },
  };
}

/** Waits until the running claim of "job" has its process group recorded (the daemon writes it after the spawn). */
async function processRecorded(store: StoreUnderTest, dir: string): Promise<number> {
  for (let waited = 0; waited < WAIT_MS; waited += 20) {
    const pgid = await store.recordedGroup(dir).catch(() => undefined);
    if (pgid !== undefined) return pgid;
    await sleep(20);
  }
  throw new Error("the command's process group was never recorded");
}

/** The pids every execution wrote: [sh, sleep] each. */
function executions(f: Files): number[][] {
  return lines(f.pids).map((line) => line.split(" ").map(Number));
}

interface HistoryRow {
  status: string;
  attempt: number;
  error: { message: string } | null;
}

function history(dir: string, store: StoreUnderTest = SQLITE): HistoryRow[] {
  const result = cli(["history", "job", "--json", ...store.args], { cwd: dir, env: store.env });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as HistoryRow[];
}

/** `orchestrator run schedule.yaml` on `store`, disposed of after the test. */
function daemon(t: TestContext, f: Files, store: StoreUnderTest = SQLITE): DaemonProcess {
  const started = new DaemonProcess(["schedule.yaml", ...store.args], {
    cwd: f.dir,
    env: store.env,
  });
  t.after(() => started.dispose());
  return started;
}

/**
 * Starts a daemon, waits for the first execution and its recorded group,
 * SIGKILLs the daemon and checks that the execution lives on (the fault).
 * Resolves with that execution's [sh, sleep] pids.
 */
async function killDaemonDuringRun(
  t: TestContext,
  f: Files,
  store: StoreUnderTest = SQLITE,
): Promise<number[]> {
  const first = daemon(t, f, store);
  t.after(() => killAll(executions(f).flat()));
  await linesIn(f.runs, 1);
  const [sh = 0, sleeper = 0] = executions(f)[0] ?? [];
  assert.equal(await processRecorded(store, f.dir), sh, "the group is the shell's");
  first.kill("SIGKILL");
  assert.equal((await first.exited).signal, "SIGKILL");
  assert.equal(isGone(sh), false, "the command outlived the daemon");
  assert.equal(isGone(sleeper), false);
  return [sh, sleeper];
}

/** A command of a killed daemon, with retries: 1, is stopped before its retry starts. */
async function stoppedBeforeRetry(t: TestContext, store: StoreUnderTest): Promise<void> {
  const f = files(tempDir());
  writeSchedule(f, script(f), "    retries: 1\n");
  const old = await killDaemonDuringRun(t, f, store);

  const second = daemon(t, f, store);
  await second.waitFor(/stopping the command of task "job" left running by a daemon that died/);
  const runs = await linesIn(f.runs, 2);
  for (const pid of old) assert.ok(isGone(pid), `${pid} of the old execution is gone`);
  assert.deepEqual(lines(f.overlaps), [], "no execution saw another one still running");
  // The retry of the same occurrence: attempt 2, same scheduled instant, a newer token.
  const [first, retry] = runs.map((line) => line.split(" "));
  assert.equal(first?.[0], "1");
  assert.equal(retry?.[0], "2");
  assert.equal(retry?.[2], first?.[2]);
  assert.ok(Number(retry?.[3]) > Number(first?.[3]), "a newer fencing token");
  const interrupted = history(f.dir, store).find((row) => row.status === "interrupted");
  assert.match(
    interrupted?.error?.message ?? "",
    new RegExp(`its command \\(process group ${old[0]}\\) was still running and was stopped`),
  );
}

describe("commands a SIGKILLed daemon left running", () => {
  const schema = withTestSchema("orch_orphans");
  it("are stopped before the run's retry starts: one live execution at a time", (t) =>
    stoppedBeforeRetry(t, SQLITE));

  it("are stopped before the run's retry starts on PostgreSQL too", async (t) => {
    // Skipped only without a PostgreSQL server, and never under CI=true: pgMissing throws there.
    const missing = await pgMissing();
    if (missing !== undefined) return t.skip(missing);
    await stoppedBeforeRetry(t, postgresStore(schema));
  });

  it("are stopped with retries: 0 too, before the daemon starts its tasks", async (t) => {
    const f = files(tempDir());
    writeSchedule(f, script(f), "");
    const old = await killDaemonDuringRun(t, f);

    const second = daemon(t, f);
    const stopping = await second.waitFor(/stopping the command of task "job"/);
    const [pgid] = old;
    assert.match(stopping.line, new RegExp(`pgid=${pgid}\\b`));
    // Logged once the store is open and recovery done, before any run starts.
    await second.waitFor(/orchestrator running/, stopping.index);
    for (const pid of old) assert.ok(isGone(pid), `${pid} of the old execution is gone`);
    await linesIn(f.runs, 2); // the next occurrence ran, alone
    assert.deepEqual(lines(f.overlaps), []);
    const rows = history(f.dir).filter((row) => row.status === "interrupted");
    assert.equal(rows.length, 1);
    assert.match(rows[0]?.error?.message ?? "", /was still running and was stopped/);
  });

  it("are waited for with orphans: wait, and the retry starts only once they exit", async (t) => {
    const f = files(tempDir());
    const gate = join(f.dir, "gate");
    writeSchedule(f, script(f, gate), "    retries: 1\n    orphans: wait\n");
    const old = await killDaemonDuringRun(t, f);

    const second = daemon(t, f);
    await second.waitFor(/waiting for the command of task "job" left running/);
    assert.equal(lines(f.runs).length, 1, "no retry while the old execution runs");
    writeFileSync(gate, "");
    await linesIn(f.runs, 2);
    assert.deepEqual(lines(`${f.runs}.done`).slice(0, 1), [`${old[0]} done`], "it ran to its end");
    assert.deepEqual(lines(f.overlaps), []);
    const interrupted = history(f.dir).find((row) => row.status === "interrupted");
    assert.match(interrupted?.error?.message ?? "", /was still running; the daemon waited for it/);
  });
});
