/**
 * Issue 13, items 17–19: the store as an operator sees it through the real
 * daemon and CLI (child processes on a real SQLite file): a damaged file
 * refused at start, `/readyz`, history retention, `list` showing real
 * states, and `orchestrator remove`.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";

import { join } from "node:path";
import { describe, it } from "node:test";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { SystemClock } from "../../src/time/clock.js";
import { generateKey } from "../../src/crypto/key-material.js";
import { damageTable, realTimeScheduler, withRawDb } from "../helpers/durable.js";
import { DaemonProcess, cli, tempDirs } from "./daemon-process.js";

const DAY = 86_400_000;
const tempDir = tempDirs("orchestrator-daemon-store");

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

describe("list and remove, as an operator sees them", () => {
  it("list shows a task whose record does not open with the key as quarantined, not active", async (t) => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), `tasks:\n${commandTask("beat", `["true"]`)}`);
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    await daemon.waitFor(/run succeeded\s+task=beat/);
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);

    const right = cli(["list"], { cwd: dir });
    assert.equal(right.code, 0, right.stderr);
    assert.match(right.stdout, /^beat\s.*\sactive$/m);
    assert.equal(right.stderr, "");

    const wrongKey = { ORCHESTRATOR_ENCRYPTION_KEY: generateKey() };
    const wrong = cli(["list"], { cwd: dir, env: wrongKey });
    assert.equal(wrong.code, 0, wrong.stderr);
    assert.match(
      wrong.stdout,
      /^beat\s+\S+ \* \* \* \* \* \(\S+\)\s+-\s+succeeded\s+quarantined \(/m,
    );
    assert.match(wrong.stderr, /1 task is quarantined: .*orchestrator remove/);
    const json = JSON.parse(cli(["list", "--json"], { cwd: dir, env: wrongKey }).stdout) as {
      state: string;
      quarantineReason: string | null;
      nextRun: string | null;
    }[];
    assert.equal(json[0]?.state, "quarantined");
    assert.ok(json[0]?.quarantineReason);
    assert.equal(json[0]?.nextRun, null);
  });

  it("remove: refuses a task from the schedule file without --force; with it, a running daemon drops the task and a reload adds it back", async (t) => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "schedule.yaml"),
      `tasks:\n${commandTask("beat", `["true"]`)}${commandTask("other", `["true"]`)}`,
    );
    const daemon = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => daemon.dispose());
    const ran = await daemon.waitFor(/run succeeded\s+task=beat/);

    const refused = cli(["remove", "beat"], { cwd: dir });
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /added from a schedule file: remove it from the file .*--force/);
    assert.equal(cli(["remove", "nope"], { cwd: dir }).code, 2);

    const forced = cli(["remove", "beat", "--force"], { cwd: dir });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /"beat" removed from the store \(its run history is kept\)/);
    assert.match(forced.stderr, /warning: a schedule file defines "beat": the daemon adds it back/);
    const dropped = await daemon.waitFor(
      /task removed \(orchestrator remove\)\s+task=beat/,
      ran.index,
    );
    // No run of it starts after the daemon dropped it; the other task goes on.
    await daemon.waitFor(/run succeeded\s+task=other/, dropped.index + 1);
    assert.ok(
      !daemon.lines.slice(dropped.index).some((line) => /run started\s+task=beat/.test(line)),
      daemon.output,
    );
    const listed = JSON.parse(cli(["list", "--json"], { cwd: dir }).stdout) as { name: string }[];
    assert.deepEqual(
      listed.map((task) => task.name),
      ["other"],
    );
    const history = cli(["history", "beat", "--json"], { cwd: dir });
    assert.equal(history.code, 0, history.stderr);
    assert.ok((JSON.parse(history.stdout) as unknown[]).length > 0, "history is kept");

    daemon.kill("SIGHUP");
    await daemon.waitFor(
      /schedule reloaded: 1 added, 0 changed, 0 removed, 1 unchanged/,
      dropped.index,
    );
    daemon.kill("SIGTERM");
    assert.equal((await daemon.exited).code, 0, daemon.output);

    // A quarantined task (a wrong key) can be removed: that is the way out.
    const wrongKey = { ORCHESTRATOR_ENCRYPTION_KEY: generateKey() };
    const quarantined = cli(["remove", "other"], { cwd: dir, env: wrongKey });
    assert.equal(quarantined.code, 0, quarantined.stderr);
    assert.match(quarantined.stderr, /did not open with this key/);
  });

  it("remove: a task registered in code goes without --force", async () => {
    const dir = tempDir();
    const path = join(dir, "orchestrator.db");
    const key = generateKey();
    const store = new SqliteStore({ path });
    const { scheduler, dispatcher } = realTimeScheduler(store, { encryptionKey: key });
    scheduler.defineHandler("report", () => {});
    await scheduler.registerTask("coded", "0 3 * * *", "report", { payload: { to: "ops" } });
    await scheduler.stop();
    await store.close();
    await dispatcher.close();
    const removed = cli(["remove", "coded"], {
      cwd: dir,
      env: { ORCHESTRATOR_ENCRYPTION_KEY: key },
    });
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stderr, "");
    const noKey = cli(["list", "--json"], { cwd: dir });
    assert.deepEqual(JSON.parse(noKey.stdout), []);
  });
});
