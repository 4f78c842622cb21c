/** waitAtMost (src/time/wait-at-most.ts): true once the promise settles, either way; false when the time runs out; never rejects. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { waitAtMost } from "../../src/time/wait-at-most.js";

describe("waitAtMost", () => {
  it("resolves true when the promise fulfils or rejects in time", async () => {
    assert.equal(await waitAtMost(Promise.resolve(1), 1_000), true);
    assert.equal(await waitAtMost(Promise.reject(new Error("refused")), 1_000), true);
  });

  it("resolves false when the time runs out first, and leaves no timer behind once settled", async () => {
    assert.equal(await waitAtMost(new Promise(() => {}), 5), false);
    await waitAtMost(Promise.resolve(), 60_000);
    assert.equal(process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length, 0);
  });
});
