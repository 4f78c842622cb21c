import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { RunView } from "../../src/http/run-view.js";
import { cli, DaemonProcess } from "./daemon-process.js";
import { goneSoon, killAll, pidsIn } from "./processes.js";

// `orchestrator cancel <task>` reaches the daemon running the task through the store.
const SCHEDULE = `tasks:
  - name: long
    every: 1h
    command: ["sh", "-c", "sleep 120 & echo $$ $! > pids; wait"]
`;

describe("orchestrator cancel", () => {
  it("stops a running command's process group in the daemon and records the run cancelled", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "orchestrator-cancel-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "schedule.yaml"), SCHEDULE);
    const token = "cancel-process-token-91c2";
    const daemon = new DaemonProcess(["schedule.yaml", "--http", "127.0.0.1:0"], {
      cwd: dir,
      env: { ORCHESTRATOR_TOKEN: token },
    });
    t.after(() => daemon.dispose());
    const listening = await daemon.waitFor(/dashboard listening/);
    const url = /url=(\S+)/.exec(listening.line)?.[1] ?? assert.fail(listening.line);

    const idle = cli(["cancel", "long"], { cwd: dir });
    assert.equal(idle.code, 1, idle.stderr);
    assert.match(idle.stderr, /Nothing of "long" is running in a daemon on this store/);
    assert.equal(cli(["cancel", "nope"], { cwd: dir }).code, 2);

    const started = await fetch(new URL("/api/tasks/long/trigger", url), {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(started.status, 202);
    const pids = await pidsIn(join(dir, "pids"), 2);
    t.after(() => killAll(pids));

    const cancelled = cli(["cancel", "long"], { cwd: dir });
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(cancelled.stdout, /Cancelled the running run of "long"/);
    for (const pid of pids) assert.ok(await goneSoon(pid), `process ${pid} still runs`);

    let runs: RunView[] = [];
    for (let tries = 0; tries < 300 && runs[0]?.status !== "cancelled"; tries++) {
      const history = cli(["history", "long", "--json", "--status", "cancelled"], { cwd: dir });
      runs = JSON.parse(history.stdout) as RunView[];
      if (runs.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(runs[0]?.status, "cancelled");
    assert.equal(runs[0]?.error?.code, "ERR_ACTION_FAILED");
    assert.match(runs[0]?.error?.message ?? "", /aborted/);
  });

  it("reaches a run of orchestrator trigger too", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "orchestrator-cancel-trigger-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, "schedule.yaml"), SCHEDULE);
    assert.equal(cli(["validate", "schedule.yaml"], { cwd: dir }).code, 0);
    // A daemon adds the task to the store, then stops; the trigger runs it on its own.
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    await daemon.waitFor(/orchestrator running/);
    daemon.child.kill("SIGTERM");
    await daemon.exited;
    rmSync(join(dir, "pids"), { force: true });
    const trigger = new DaemonProcess(["long"], { cwd: dir, command: "trigger" });
    t.after(() => trigger.dispose());
    const pids = await pidsIn(join(dir, "pids"), 2);
    t.after(() => killAll(pids));
    const cancelled = cli(["cancel", "long"], { cwd: dir });
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.deepEqual(await trigger.exited, { code: 1, signal: null });
    for (const pid of pids) assert.ok(await goneSoon(pid), `process ${pid} still runs`);
    const history = cli(["history", "long", "--json", "--limit", "1"], { cwd: dir });
    assert.equal((JSON.parse(history.stdout) as RunView[])[0]?.status, "cancelled");
  });
});
