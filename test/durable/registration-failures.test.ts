/**
 * Issue 15, obs. 14: an un-awaited `registerTask` on a durable store whose
 * key is missing used to end the process with an unhandled rejection whose
 * message ("Could not store task") hid the cause. Now the failure is logged,
 * naming the task and the cause, and an awaited registration still rejects.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryStore } from "../../src/store/memory-store.js";
import { StoreError } from "../../src/errors.js";
import { shutdown, sqliteScheduler, tempDb } from "../helpers/durable.js";
import { manualScheduler, turns } from "../helpers/scheduler.js";

const saved: Record<string, string | undefined> = {};
before(() => {
  for (const name of ["ORCHESTRATOR_ENCRYPTION_KEY", "ORCHESTRATOR_ENCRYPTION_KEYS"]) {
    saved[name] = process.env[name];
    delete process.env[name];
  }
});
after(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value !== undefined) process.env[name] = value;
  }
});

/** Collects unhandled rejections while `body` runs (and a few turns after). */
async function unhandledDuring(body: () => Promise<void>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    await body();
    await turns(20);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  return unhandled;
}

describe("registerTask failures (issue 15, obs. 14)", () => {
  it("an un-awaited registration on a durable store without a key: no unhandled rejection, a log line naming the task and the key", async () => {
    const db = await tempDb();
    const parts = sqliteScheduler(db.path);
    try {
      parts.scheduler.defineHandler("h", () => {});
      const unhandled = await unhandledDuring(async () => {
        void parts.scheduler.registerTask("nightly", "0 3 * * *", "h");
        await new Promise((resolve) => setTimeout(resolve, 50));
      });
      assert.deepEqual(unhandled, []);
      const errors = parts.logger.entries.filter((entry) => entry.level === "error");
      assert.equal(errors.length, 1);
      assert.equal(errors[0]?.obj.taskName, "nightly");
      assert.match(errors[0]?.msg ?? "", /^Task "nightly" was not registered: .*encryptionKey/);
      assert.equal(parts.scheduler.getTask("nightly"), undefined, "the registration was undone");
      // Awaited, the same failure rejects, with the key named in its message.
      await assert.rejects(parts.scheduler.registerTask("nightly", "0 3 * * *", "h"), (error) => {
        assert.match((error as Error).message, /encryptionKey.*ORCHESTRATOR_ENCRYPTION_KEY/s);
        return true;
      });
    } finally {
      await shutdown(parts);
      await db.cleanup();
    }
  });

  it("a store failure's message says what the store said, not only that it failed", async () => {
    const store = new MemoryStore();
    Object.assign(store, { putTaskSync: undefined });
    store.putTask = () => Promise.reject(new Error("disk full"));
    const { scheduler, logger } = manualScheduler({ store });
    const unhandled = await unhandledDuring(async () => {
      void scheduler.registerTask("t", "* * * * *", () => {});
      await assert.rejects(
        scheduler.registerTask("u", "* * * * *", () => {}),
        (error) => {
          assert.ok(error instanceof StoreError);
          assert.equal(error.message, 'Could not store task "u": disk full');
          return true;
        },
      );
    });
    assert.deepEqual(unhandled, []);
    assert.deepEqual(
      logger.entries.filter((entry) => entry.level === "error").map((entry) => entry.msg),
      [
        'Task "t" was not registered: Could not store task "t": disk full',
        'Task "u" was not registered: Could not store task "u": disk full',
      ],
    );
  });
});
