/**
 * A node id belongs to one live daemon per store. The daemon's default id is
 * the host and the database, stable across restarts: a second daemon on the
 * same store is refused with a hint to pass --node-id, and a daemon restarted
 * after SIGKILL finds its predecessor's in-flight run for its own and records
 * it interrupted before it reports running (not after the lease expires).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { SystemClock } from "../../src/time/clock.js";
import { DaemonProcess, tempDirs } from "./daemon-process.js";

const tempDir = tempDirs("orchestrator-node-id");

const SCHEDULE = `tasks:
  - name: long
    schedule: "*/1 * * * * *"
    command: ["sleep", "60"]
    overlap: skip
`;

describe("the daemon's node id", () => {
  it("is host/database by default; a second daemon on the store is refused until given its own --node-id", async (t) => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), SCHEDULE);
    const first = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => first.dispose());
    const running = await first.waitFor(/orchestrator running/);
    assert.ok(running.line.includes(`node=${hostname()}/orchestrator.db`), running.line);

    const second = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => second.dispose());
    const { code } = await second.exited;
    assert.equal(code, 1, second.output);
    assert.match(second.output, /in use by another live process.*--node-id/s);
    assert.doesNotMatch(second.output, /orchestrator running/);

    const third = new DaemonProcess(["schedule.yaml", "--node-id", "second"], { cwd: dir });
    t.after(() => third.dispose());
    await third.waitFor(/orchestrator running/);
    third.kill("SIGTERM");
    first.kill("SIGTERM");
    assert.equal((await third.exited).code, 0, third.output);
    assert.equal((await first.exited).code, 0, first.output);
  });

  it("after SIGKILL, the restarted daemon records its predecessor's in-flight run interrupted before it runs", async (t) => {
    const dir = tempDir();
    writeFileSync(join(dir, "schedule.yaml"), SCHEDULE);
    const first = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => first.dispose());
    await first.waitFor(/run started\s+task=long/);
    first.kill("SIGKILL");
    await first.exited;

    const restarted = new DaemonProcess(["schedule.yaml"], { cwd: dir });
    t.after(() => restarted.dispose());
    const interrupted = await restarted.waitFor(/interrupted/i);
    const running = await restarted.waitFor(/orchestrator running/);
    assert.ok(interrupted.index < running.index, restarted.output);
    // Read the file without taking a node id (as the CLI's commands do).
    const store = new SqliteStore({ path: join(dir, "orchestrator.db") });
    await store.open({ nodeId: "reader", clock: new SystemClock() });
    try {
      const rows = await store.history({ taskName: "long", limit: 50 });
      const statuses = rows.map((row) => row.status);
      assert.ok(statuses.includes("interrupted"), statuses.join(","));
    } finally {
      await store.close();
    }
    restarted.kill("SIGTERM");
    await restarted.exited;
  });
});
