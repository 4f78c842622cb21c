/**
 * Issue 13, items 17–19: the store as an operator sees it through the real
 * daemon and CLI (child processes on a real SQLite file): a damaged file
 * refused at start, `/readyz`, history retention, `list` showing real
 * states, and `orchestrator remove`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { SystemClock } from "../../src/time/clock.js";
import { damageTable, withRawDb } from "../helpers/durable.js";
import { DaemonProcess } from "./daemon-process.js";

const DAY = 86_400_000;
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "orchestrator-daemon-store-"));
  dirs.push(dir);
  return dir;
}

function commandTask(name: string, command: string, extra = ""): string {
  return `  - name: ${name}\n    schedule: "*/1 * * * * *"\n    command: ${command}\n${extra}`;
}

describe("orchestrator run and the store", () => {
  it("refuses a damaged SQLite file at start: exit 1, the file and quick_check named, nothing scheduled", async (t) => {
    const dir = tempDir();
    const path = join(dir, "orchestrator.db");
    const store = new SqliteStore({ path });
    await store.open({ nodeId: "seed", clock: new SystemClock() });
    for (let i = 0; i < 200; i++) {
      await store.recordRun({
        taskName: `task-${i % 3}`,
        claimId: null,
        scheduledAt: i,
        startedAt: i,
        finishedAt: i + 1,
        status: "succeeded",
        attempt: 1,
        nodeId: "seed",
        error: null,
      });
    }
    await store.close();
    damageTable(path, "run_history");
    writeFileSync(join(dir, "schedule.yaml"), `tasks:\n${commandTask("first", `["true"]`)}`);

    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    const { line } = await daemon.waitFor(/^error: .*damaged \(PRAGMA quick_check: /);
    assert.equal((await daemon.exited).code, 1, daemon.output);
    assert.ok(line.includes(path), line);
    assert.match(line, /backup/);
    assert.doesNotMatch(daemon.output, /schedule applied|orchestrator running|run started/);
  });

  it("deletes history older than 30 days by default; --history-max-age and the file's historyMaxAge change that", async (t) => {
    const dir = tempDir();
    const path = join(dir, "orchestrator.db");
    const store = new SqliteStore({ path });
    await store.open({ nodeId: "seed", clock: new SystemClock() });
    const now = Date.now();
    for (const days of [40, 10, 3]) {
      const at = now - days * DAY;
      await store.recordRun({
        taskName: `${days}-days-old`,
        claimId: null,
        scheduledAt: at,
        startedAt: at,
        finishedAt: at + 1,
        status: "succeeded",
        attempt: 1,
        nodeId: "seed",
        error: null,
      });
    }
    await store.close();
    const oldTasks = (): string[] =>
      withRawDb(path, (db) =>
        (
          db
            .prepare(
              "SELECT task_name FROM run_history WHERE task_name LIKE '%-days-old' ORDER BY seq",
            )
            .all() as { task_name: string }[]
        ).map((row) => row.task_name),
      );
    // The prune at start is queued on the file's one writer before any run's writes:
    // once a run has succeeded, what it would delete is gone.
    const runOnce = async (args: string[], left: string[]): Promise<void> => {
      const daemon = new DaemonProcess(["schedule.yaml", ...args], { cwd: dir });
      t.after(() => daemon.dispose());
      await daemon.waitFor(/run succeeded\s+task=first/);
      assert.deepEqual(oldTasks(), left);
      daemon.kill("SIGTERM");
      assert.equal((await daemon.exited).code, 0, daemon.output);
    };

    writeFileSync(join(dir, "schedule.yaml"), `tasks:\n${commandTask("first", `["true"]`)}`);
    await runOnce([], ["10-days-old", "3-days-old"]);
    writeFileSync(
      join(dir, "schedule.yaml"),
      `historyMaxAge: 5d\ntasks:\n${commandTask("first", `["true"]`)}`,
    );
    await runOnce(["--history-max-age", "off"], ["10-days-old", "3-days-old"]);
    await runOnce([], ["3-days-old"]);
  });

  it("serves /readyz: 200 while it runs with a usable store, without a token", async (t) => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), `tasks:\n${commandTask("first", `["true"]`)}`);
    const daemon = new DaemonProcess(["schedule.yaml", "--http", "127.0.0.1:0"], { cwd: dir });
    t.after(() => daemon.dispose());
    const listening = await daemon.waitFor(/dashboard listening/);
    const url = /url=(\S+)/.exec(listening.line)?.[1];
    assert.ok(url, listening.line);
    await daemon.waitFor(/run succeeded\s+task=first/);
    const response = await fetch(`${url}/readyz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ready" });
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);
  });
});
