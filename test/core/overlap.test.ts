import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_QUEUED_RUNS, decideOverlap } from "../../src/core/overlap.js";

describe("decideOverlap", () => {
  it("runs when nothing is running, whatever the policy", () => {
    for (const policy of ["skip", "queue", "allow"] as const)
      assert.equal(decideOverlap(policy, 0, 0), "run");
  });
  it("skips, queues or allows when a run is in flight", () => {
    assert.equal(decideOverlap("skip", 1, 0), "skip");
    assert.equal(decideOverlap("queue", 1, 0), "queue");
    assert.equal(decideOverlap("allow", 1, 0), "run");
  });
  it("queues behind queued runs and bounds the queue", () => {
    assert.equal(decideOverlap("queue", 0, 1), "queue");
    assert.equal(decideOverlap("queue", 1, MAX_QUEUED_RUNS), "skip");
  });
});
