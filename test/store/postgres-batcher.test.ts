/** The write combiner of the PostgreSQL store (no server needed). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Batcher } from "../../src/store/postgres/batcher.js";

describe("Batcher", () => {
  it("sends a lone call at once, as a batch of one", async () => {
    const batches: number[][] = [];
    const batcher = new Batcher<number, number>((items) => {
      batches.push([...items]);
      return Promise.resolve(items.map((item) => item * 2));
    });
    assert.equal(await batcher.add(21), 42);
    assert.deepEqual(batches, [[21]]);
  });

  it("combines calls made in one turn and while batches are in flight, keeping call order", async () => {
    const batches: number[][] = [];
    const release: (() => void)[] = [];
    const batcher = new Batcher<number, string>(
      (items) => {
        batches.push([...items]);
        return new Promise((resolve) => release.push(() => resolve(items.map(String))));
      },
      { maxInFlight: 1, maxBatch: 3 },
    );
    const first = [1, 2].map((n) => batcher.add(n));
    await Promise.resolve();
    const later = [3, 4, 5, 6].map((n) => batcher.add(n));
    assert.deepEqual(batches, [[1, 2]], "one batch in flight, the rest wait");
    while (release.length > 0 || batches.length < 3) {
      release.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(await Promise.all([...first, ...later]), ["1", "2", "3", "4", "5", "6"]);
    assert.deepEqual(batches, [[1, 2], [3, 4, 5], [6]]);
  });

  it("rejects every call of a failed batch, and goes on with the next", async () => {
    let fail = true;
    const batcher = new Batcher<number, number>((items) =>
      fail ? Promise.reject(new Error("connection lost")) : Promise.resolve([...items]),
    );
    const failed = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    assert.deepEqual(
      failed.map((r) => r.status),
      ["rejected", "rejected"],
    );
    fail = false;
    assert.equal(await batcher.add(3), 3);
  });

  it("never splits a group across batches, even past maxBatch", async () => {
    const batches: number[][] = [];
    const batcher = new Batcher<number, number>(
      (items) => {
        batches.push([...items]);
        return Promise.resolve([...items]);
      },
      { maxBatch: 2, maxInFlight: 1 },
    );
    const results = await Promise.all([
      batcher.add(1),
      batcher.addGroup([2, 3]),
      batcher.addGroup([4, 5, 6]),
      batcher.add(7),
    ]);
    assert.deepEqual(results, [1, [2, 3], [4, 5, 6], 7]);
    assert.deepEqual(batches, [[1], [2, 3], [4, 5, 6], [7]]);
  });

  it("rejects when the batch gives the wrong number of results", async () => {
    const batcher = new Batcher<number, number>(() => Promise.resolve([]));
    await assert.rejects(batcher.add(1), /gave 0 results/);
  });
});
