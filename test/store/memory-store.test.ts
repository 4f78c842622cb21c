import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../src/errors.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { ManualClock } from "../../src/time/clock.js";
import { runStoreContract } from "./contract.js";

runStoreContract("memory", () =>
  Promise.resolve({ store: new MemoryStore(), cleanup: () => Promise.resolve() }),
);

/** What the contract leaves to each store: the memory store's own flags and limit. */
describe("MemoryStore", () => {
  it("is neither durable nor shared", () => {
    const store = new MemoryStore();
    assert.equal(store.kind, "memory");
    assert.equal(store.durable, false);
    assert.equal(store.shared, false);
  });

  it("caps history at maxHistoryRows", async () => {
    const store = new MemoryStore({ maxHistoryRows: 10 });
    await store.open({ nodeId: "n", clock: new ManualClock() });
    for (let i = 0; i < 100; i++) {
      await store.recordRun({
        taskName: "t",
        claimId: null,
        scheduledAt: i,
        startedAt: null,
        finishedAt: null,
        status: "missed",
        attempt: 1,
        nodeId: "n",
        error: null,
      });
    }
    const rows = await store.history({ limit: 1000 });
    assert.equal(rows.length, 10);
    assert.equal(rows[0]?.scheduledAt, 99);
    assert.throws(() => new MemoryStore({ maxHistoryRows: -1 }), InvalidArgumentError);
  });
});
