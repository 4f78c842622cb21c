/**
 * Issue 13, item 18: a task's `keepLast` bounds its history (a chatty task
 * wrote 131 KB per row, forever): stored with the task, applied by the
 * scheduler's pruning with or without `historyRetention`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateKey } from "../../src/crypto/key-material.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { ManualClock } from "../../src/time/clock.js";
import { shutdown, sqliteScheduler, tempDb } from "../helpers/durable.js";
import { waitFor } from "../helpers/pg.js";

const KEY = generateKey();

describe("keepLast", () => {
  it("keeps at most a task's newest N rows, is stored with the task, and leaves other tasks alone", async () => {
    const db = await tempDb();
    try {
      const first = sqliteScheduler(db.path, { encryptionKey: KEY });
      first.scheduler.defineHandler("h", () => ({ big: "x".repeat(1000) }));
      await first.scheduler.runPending(); // opens the store
      await first.scheduler.registerTask("chatty", "* * * * *", "h", { keepLast: 3 });
      await first.scheduler.registerTask("quiet", "* * * * *", "h");
      await assert.rejects(
        async () => first.scheduler.registerTask("none", "* * * * *", "h", { keepLast: 0 }),
        (error: unknown) =>
          error instanceof InvalidArgumentError && error.argument === "options.keepLast",
      );
      await first.scheduler.advanceTo("2026-01-01T00:10:00Z");
      assert.equal((await first.scheduler.history("chatty", { limit: 100 })).length, 10);
      await shutdown(first);

      // Restored from the store (not registered again): its keepLast came with it.
      const second = sqliteScheduler(db.path, {
        encryptionKey: KEY,
        clock: new ManualClock("2026-01-01T00:10:30Z"),
      });
      second.scheduler.defineHandler("h", () => {});
      await second.scheduler.start();
      const chatty = await waitFor("the chatty task pruned", async () => {
        const rows = await second.scheduler.history("chatty", { limit: 100 });
        return rows.length === 3 ? rows : undefined;
      });
      assert.deepEqual(
        chatty.map((run) => new Date(run.scheduledAt).toISOString().slice(11, 16)),
        ["00:10", "00:09", "00:08"],
      );
      assert.equal((await second.scheduler.history("quiet", { limit: 100 })).length, 10);
      await shutdown(second);
    } finally {
      await db.cleanup();
    }
  });
});
