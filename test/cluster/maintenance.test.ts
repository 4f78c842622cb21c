/**
 * `stop()` waits for a round of reaping in progress: reaping releases the
 * claims of dead nodes first and then records each run interrupted (and
 * retries it), so a process that stopped in between would leave runs with no
 * row at all (issue 15: the kill-restart scenario of the fault suite, whose
 * nodes are stopped once no claim is held).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Maintenance } from "../../src/cluster/maintenance.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { SystemClock } from "../../src/time/clock.js";

describe("Maintenance.stop", () => {
  it("resolves only once the round of reaping in progress has recorded what it reaped", async () => {
    const store = new MemoryStore();
    Object.defineProperty(store, "shared", { value: true });
    let reaping: () => void = () => {};
    let reapStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => (reapStarted = resolve));
    const maintenance = new Maintenance({
      store,
      clock: new SystemClock(),
      leaseMs: 100,
      retention: undefined,
      keepLast: () => new Map(),
      reap: () => {
        reapStarted();
        return new Promise<void>((resolve) => (reaping = resolve));
      },
      storeUsable: () => true,
      emit: () => {},
    });
    const tick = maintenance.tick();
    await started;
    let stopped = false;
    const stopping = maintenance.stop().then(() => void (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped, false, "stop() waits while the reaped runs are being recorded");
    reaping();
    await stopping;
    await tick;
    assert.equal(stopped, true);
  });
});
