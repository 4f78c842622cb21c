import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";

import { join } from "node:path";
import { describe, it } from "node:test";
import { DaemonProcess, cli, tempDirs } from "./daemon-process.js";
import { errorsOf, specOf } from "./helpers.js";
import { goneSoon, isGone, killAll, pidsIn } from "./processes.js";

// Issue 13, items 14–16: what becomes of a command's processes, seen from
// outside: the daemon and `orchestrator trigger` as child processes on a real
// SQLite file; each command writes the pids of its processes to a file.

const tempDir = tempDirs("orchestrator-processes");

/** A schedule file with one shell task; `extra` is more YAML of the task. */
function writeSchedule(dir: string, script: string, extra = "", schedule = "*/1 * * * * *"): void {
  writeFileSync(
    join(dir, "schedule.yaml"),
    `tasks:\n  - name: job\n    schedule: "${schedule}"\n    command: ${JSON.stringify(script)}\n    shell: true\n${extra}`,
  );
}

interface HistoryRow {
  status: string;
  error: { message: string } | null;
  output: {
    stdout?: string;
    leftovers?: string;
    timedOut?: boolean;
    signal?: string | null;
  } | null;
}

function history(dir: string): HistoryRow[] {
  const result = cli(["history", "job", "--json"], { cwd: dir });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as HistoryRow[];
}

describe("command processes", () => {
  it("a background child holding stdout neither keeps the run running nor outlives it (item 14)", async (t) => {
    const dir = tempDir();
    const pids = join(dir, "pids");
    writeSchedule(dir, `sleep 1008 & echo $! >> ${pids}; echo started`);
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    // Two runs: the first one ended, so overlap "skip" let the next one start.
    const first = await daemon.waitFor(/run succeeded\s+task=job .*leftovers=stopped/);
    await daemon.waitFor(/run succeeded\s+task=job/, first.index + 1);
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);

    const sleeps = await pidsIn(pids, 2);
    t.after(() => killAll(sleeps));
    for (const pid of sleeps) assert.ok(await goneSoon(pid), `sleep ${pid} is gone`);
    const runs = history(dir);
    const succeeded = runs.filter((run) => run.status === "succeeded");
    assert.ok(succeeded.length >= 2, JSON.stringify(runs));
    assert.equal(succeeded[0]?.output?.stdout, "started\n");
    assert.equal(succeeded[0]?.output?.leftovers, "stopped");
  });

  it("keeps the background child with leftovers: keep (item 14)", async (t) => {
    const dir = tempDir();
    const pids = join(dir, "pids");
    writeSchedule(dir, `sleep 1008 & echo $! >> ${pids}; echo started`, "    leftovers: keep\n");
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    await daemon.waitFor(/run succeeded\s+task=job .*leftovers=kept/);
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);

    const sleeps = await pidsIn(pids);
    t.after(() => killAll(sleeps));
    // Every run started one; all of them outlive the daemon.
    for (const pid of sleeps) assert.equal(isGone(pid), false, `sleep ${pid} still runs`);
    assert.equal(history(dir)[0]?.output?.leftovers, "kept");
  });

  it("records a timed-out command with its output (item 15)", async (t) => {
    const dir = tempDir();
    writeSchedule(dir, "echo begin; sleep 1008", "    timeoutMs: 500\n");
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    await daemon.waitFor(/run failed\s+task=job .*status=timed-out/);
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);

    const run = history(dir).find((row) => row.status === "timed-out");
    assert.ok(run, JSON.stringify(history(dir)));
    assert.match(run.error?.message ?? "", /"job" timed out after 500 ms and was killed: begin/);
    assert.equal(run.output?.stdout, "begin\n");
    assert.equal(run.output?.timedOut, true);
    assert.equal(run.output?.signal, "SIGTERM");
  });

  it("a second SIGTERM stops the commands' process groups and records the run interrupted before exiting (item 16)", async (t) => {
    const dir = tempDir();
    const pids = join(dir, "pids");
    // The shell (the group's leader) and its child, both waiting for ever.
    writeSchedule(dir, `sleep 1008 & echo $$ $! > ${pids}; wait`);
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    await daemon.waitFor(/run started\s+task=job/);
    const processes = await pidsIn(pids, 2);
    t.after(() => killAll(processes));
    daemon.kill("SIGTERM");
    await daemon.waitFor(/stopping: waiting for running runs/);
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 130, daemon.output);

    for (const pid of processes) assert.ok(await goneSoon(pid), `process ${pid} is gone`);
    // At once: no lease had to expire, no other process had to reap it.
    const [last] = history(dir);
    assert.equal(last?.status, "interrupted", JSON.stringify(last));
    assert.match(last.error?.message ?? "", /stopped at once \(SIGTERM twice\)/);
    // Logged in the daemon's last turn: the held lines are written as the process ends.
    assert.match(daemon.output, /run interrupted\s+task=job/);
  });

  it("Ctrl-C on orchestrator trigger stops the command's process group and records the run interrupted (item 16)", async (t) => {
    const dir = tempDir();
    const pids = join(dir, "pids");
    // Registered by a daemon, never due: only the trigger runs it.
    writeSchedule(dir, `sleep 1008 & echo $$ $! > ${pids}; wait`, "", "0 0 1 1 *");
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    await daemon.waitFor(/orchestrator running/);
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);

    const trigger = new DaemonProcess(["job"], { cwd: dir, command: "trigger" });
    t.after(() => trigger.dispose());
    const processes = await pidsIn(pids, 2);
    t.after(() => killAll(processes));
    trigger.kill("SIGINT");
    assert.equal((await trigger.exited).code, 130, trigger.output);
    assert.match(trigger.output, /"job" was stopped; its run is recorded interrupted/);

    for (const pid of processes) assert.ok(await goneSoon(pid), `process ${pid} is gone`);
    const [last] = history(dir);
    assert.equal(last?.status, "interrupted", JSON.stringify(last));
    assert.match(last.error?.message ?? "", /orchestrator trigger was interrupted \(SIGINT\)/);
  });
});

describe("the leftovers key of a schedule file", () => {
  it("takes stop or keep, on command tasks only, and is left out of the action when not written", () => {
    const task = (extra: string): string => `tasks:\n  - name: job\n    every: 5m\n${extra}`;
    const action = (extra: string): unknown => specOf(task(extra)).tasks[0]?.action;
    assert.deepEqual(action("    command: [serve]\n    leftovers: keep\n"), {
      kind: "command",
      env: {},
      leftovers: "keep",
      shell: false,
      argv: ["serve"],
    });
    // Absent from the action (and so from the task's fingerprint) unless written.
    assert.equal("leftovers" in (action("    command: [serve]\n") as object), false);

    const [wrong] = errorsOf(task("    command: [serve]\n    leftovers: detach\n"));
    assert.match(wrong?.message ?? "", /`leftovers` must be one of stop, keep/);
    const [notCommand] = errorsOf(
      task("    http: { url: http://localhost/ }\n    leftovers: keep\n"),
    );
    assert.match(notCommand?.message ?? "", /`leftovers` applies only to `command` tasks/);
  });
});
