/**
 * Another connection holding the SQLite write lock (a backup, the CLI, a
 * `sqlite3` session) makes the store's writes wait without blocking the event
 * loop: timers keep firing, and the writes land once the lock is released;
 * past `busyTimeoutMs` they fail with a StoreError.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { StoreError } from "../../src/errors.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { RunRecord } from "../../src/store/store.js";
import { SystemClock } from "../../src/time/clock.js";

function row(taskName: string, scheduledAt: number): RunRecord {
  return {
    taskName,
    claimId: null,
    scheduledAt,
    startedAt: scheduledAt,
    finishedAt: scheduledAt + 1,
    status: "succeeded",
    attempt: 1,
    nodeId: "n",
    error: null,
  };
}

/** A store on a fresh file, and a second connection that takes its write lock. */
async function lockedStore(busyTimeoutMs: number) {
  const dir = await mkdtemp(join(tmpdir(), "orch-lock-"));
  const path = join(dir, "lock.db");
  const store = new SqliteStore({ path, busyTimeoutMs });
  await store.open({ nodeId: "n", clock: new SystemClock() });
  const other = new Database(path);
  other.prepare("BEGIN IMMEDIATE").run();
  return {
    store,
    release: () => other.prepare("COMMIT").run(),
    cleanup: async () => {
      if (other.inTransaction) other.prepare("ROLLBACK").run();
      other.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe("SQLite store: another connection holds the write lock", () => {
  it("writes wait without blocking the event loop, and land once the lock is released", async () => {
    const locked = await lockedStore(60_000);
    try {
      let ticks = 0;
      const ticker = setInterval(() => void ticks++, 5);
      const written = locked.store.recordRun(row("t", 1));
      // The loop turns while the write waits: the ticker fires.
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (ticks >= 20) {
            clearInterval(check);
            resolve();
          }
        }, 5);
      });
      const history = locked.store.history({ taskName: "t" });
      let settled = false;
      void written.then(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(settled, false, "still waiting for the lock");
      locked.release();
      await written;
      clearInterval(ticker);
      assert.deepEqual(
        (await history).map((r) => r.scheduledAt),
        [1],
        "a read waits for the writes before it",
      );
    } finally {
      await locked.cleanup();
    }
  });

  it("fails with a StoreError once busyTimeoutMs has passed", async () => {
    const locked = await lockedStore(100);
    try {
      await assert.rejects(locked.store.recordRun(row("t", 2)), (error) => {
        assert.ok(error instanceof StoreError);
        assert.match(error.message, /locked|busy/i);
        return true;
      });
    } finally {
      await locked.cleanup();
    }
  });
});
