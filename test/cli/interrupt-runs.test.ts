import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ProcessGroups } from "../../src/cli/handlers/process-groups.js";
import { interruptRuns } from "../../src/cli/interrupt-runs.js";
import { silentLogger } from "../../src/logger.js";
import { PostgresStore } from "../../src/store/postgres/index.js";
import { SqliteStore } from "../../src/store/sqlite/index.js";
import type { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { requirePg, withTestSchema } from "../helpers/pg.js";

// interruptRuns on real stores: what an exit at once leaves in history and claims.

const T = Date.UTC(2026, 0, 1, 12);
const dir = mkdtempSync(join(tmpdir(), "orchestrator-interrupt-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function claim(store: Store, taskName: string, scheduledAt: number, nodeId = "me") {
  const claimed = await store.claimRun({ taskName, scheduledAt, nodeId, leaseMs: 60_000 });
  assert.ok(claimed, `claim of ${taskName}`);
  return claimed;
}

async function checkInterrupt(store: Store): Promise<void> {
  const clock = new ManualClock(T);
  await store.open({ nodeId: "me", clock });
  try {
    // In flight; between two attempts (attempt 1 failed); claimed ahead; another node's.
    await claim(store, "running", T - 1_000);
    const retrying = await claim(store, "retrying", T - 2_000);
    await store.recordRun({
      taskName: "retrying",
      claimId: retrying.id,
      scheduledAt: T - 2_000,
      startedAt: T - 2_000,
      finishedAt: T - 1_500,
      status: "failed",
      attempt: 1,
      nodeId: "me",
      error: { message: "boom" },
    });
    await claim(store, "ahead", T + 500);
    await claim(store, "elsewhere", T - 1_000, "other");

    const groups = new ProcessGroups();
    const recorded = await interruptRuns({
      groups,
      store,
      nodeId: "me",
      clock,
      logger: silentLogger,
      reason: "stopped at once",
    });
    assert.equal(recorded, 2);
    assert.equal(groups.halted, true);

    const rows = await store.history({ limit: 10 });
    const interrupted = rows
      .filter((row) => row.status === "interrupted")
      .map((row) => [row.taskName, row.attempt, row.error?.message, row.finishedAt])
      .sort();
    assert.deepEqual(interrupted, [
      ["retrying", 2, "stopped at once", T],
      ["running", 1, "stopped at once", T],
    ]);
    // The claims are released (at once, no lease to wait for); another node's is left alone.
    assert.equal(
      await store.claimRun({
        taskName: "running",
        scheduledAt: T - 1_000,
        nodeId: "x",
        leaseMs: 1,
      }),
      null,
    );
    assert.deepEqual(
      (await store.reapExpiredClaims({ nodeId: "me", atStart: true })).map((c) => c.taskName),
      [],
    );
    assert.deepEqual(
      (await store.reapExpiredClaims({ nodeId: "other", atStart: true })).map((c) => c.taskName),
      ["elsewhere"],
    );
  } finally {
    await store.close();
  }
}

describe("interruptRuns", () => {
  it("on SQLite: records this node's runs in flight interrupted and releases their claims", async () => {
    await checkInterrupt(new SqliteStore({ path: join(dir, "interrupt.db") }));
  });

  it("never rejects: a store that fails is logged, and nothing is recorded", async () => {
    const errors: unknown[] = [];
    const recorded = await interruptRuns({
      groups: new ProcessGroups(),
      store: new SqliteStore({ path: join(dir, "never-opened.db") }),
      nodeId: "me",
      clock: new ManualClock(T),
      logger: { ...silentLogger, error: (obj) => void errors.push(obj) },
      reason: "stopped at once",
    });
    assert.equal(recorded, 0);
    assert.equal(errors.length, 1);
  });
});

if (await requirePg("interruptRuns on PostgreSQL")) {
  describe("interruptRuns on PostgreSQL", () => {
    const db = withTestSchema();
    it("records this node's runs in flight interrupted and releases their claims", async () => {
      await checkInterrupt(
        new PostgresStore({ connectionString: db.connectionString, schema: db.name }),
      );
    });
  });
}
