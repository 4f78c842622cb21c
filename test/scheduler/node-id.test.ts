/**
 * A Scheduler takes its node id for itself on a shared store: a second live
 * Scheduler with the same id is refused at start (it would take the first's
 * in-flight runs for a dead predecessor's); a one-shot one (the CLI's
 * commands) takes nothing.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { NodeIdInUseError } from "../../src/errors.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";

describe("Scheduler node id", () => {
  it("refuses a second live Scheduler with the same id on one SQLite file; a one-shot one is let in", async () => {
    const dir = await mkdtemp(join(tmpdir(), "orch-sched-nodeid-"));
    const path = join(dir, "s.db");
    const make = (nodeId: string, oneShot = false) => {
      const store = new SqliteStore({ path });
      const dispatcher = new Dispatcher();
      return {
        store,
        dispatcher,
        scheduler: new Scheduler(dispatcher, { store, nodeId, oneShot, testMode: true }),
      };
    };
    const a = make("same");
    const b = make("same");
    const c = make("same", true);
    try {
      await a.scheduler.start();
      await assert.rejects(b.scheduler.start(), (error: unknown) => {
        assert.ok(error instanceof NodeIdInUseError);
        assert.equal(error.nodeId, "same");
        return true;
      });
      assert.deepEqual(await c.scheduler.history(undefined, { limit: 1 }), []);
      await a.scheduler.stop();
      await a.store.close();
      await b.scheduler.start();
      await b.scheduler.stop();
    } finally {
      for (const { scheduler, store, dispatcher } of [a, b, c]) {
        await scheduler.stop();
        await dispatcher.close();
        await store.close();
      }
      await rm(dir, { recursive: true, force: true });
    }
  });
});
