import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DueQueue, type DueBucket, type QueueItem } from "../../src/core/due-queue.js";

interface Item extends QueueItem {
  readonly id: number;
}

const item = (id: number): Item => ({ id, queueBucket: null, queueSlot: -1 });
const ids = (items: readonly Item[] | undefined): number[] =>
  (items ?? []).map((entry) => entry.id).sort((a, b) => a - b);

describe("DueQueue", () => {
  it("takes every item of the earliest instant at once, and only when it is due", () => {
    const queue = new DueQueue<Item>();
    const [a, b, c, d] = [item(1), item(2), item(3), item(4)];
    queue.push(a, 2_000);
    queue.push(b, 1_000);
    queue.push(c, 1_000);
    queue.push(d, 3_000);
    assert.equal(queue.size, 4);
    assert.equal(queue.bucketCount, 3);
    assert.equal(queue.peekKey(), 1_000);
    assert.equal(queue.peekCount(), 2);
    assert.equal(queue.takeDue(999), undefined);
    assert.deepEqual(ids(queue.takeDue(2_500)), [2, 3]);
    assert.equal(b.queueBucket, null);
    assert.equal(b.queueSlot, -1);
    assert.equal(queue.has(b), false);
    // One instant per call: the caller decides whether to take the next one.
    assert.deepEqual(ids(queue.takeDue(2_500)), [1]);
    assert.equal(queue.takeDue(2_500), undefined);
    assert.equal(queue.size, 1);
    assert.equal(queue.peekKey(), 3_000);
  });

  it("moves an item to a new instant, removes it, and drops instants left empty", () => {
    const queue = new DueQueue<Item>();
    const [a, b, c] = [item(1), item(2), item(3)];
    queue.push(a, 1_000);
    queue.push(b, 1_000);
    queue.push(c, 1_000);
    queue.push(a, 5_000);
    assert.equal(queue.keyOf(a), 5_000);
    assert.equal(queue.size, 3);
    assert.equal(queue.remove(b), true);
    assert.equal(queue.remove(b), false);
    assert.ok(Number.isNaN(queue.keyOf(b)));
    assert.equal(queue.peekCount(), 1);
    assert.equal(queue.remove(c), true);
    assert.equal(queue.bucketCount, 1);
    assert.equal(queue.peekKey(), 5_000);
    queue.push(a, 5_000);
    assert.equal(queue.size, 1);
    queue.clear();
    assert.equal(queue.size, 0);
    assert.equal(queue.peekKey(), null);
    assert.equal(a.queueBucket, null);
  });

  it("keeps slots consistent through swap-removal (checked against a model)", () => {
    const queue = new DueQueue<Item>();
    const model = new Map<Item, number>();
    const items = Array.from({ length: 200 }, (_, i) => item(i));
    let seed = 7;
    const random = (n: number): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n;
    for (let step = 0; step < 5_000; step++) {
      const chosen = items[random(items.length)] as Item;
      const action = random(3);
      if (action === 0) {
        const key = 1_000 * (1 + random(10));
        queue.push(chosen, key);
        model.set(chosen, key);
      } else if (action === 1) {
        assert.equal(queue.remove(chosen), model.delete(chosen));
      } else if (queue.size > 0) {
        const key = queue.peekKey() as number;
        const taken = queue.takeDue(key) as Item[];
        const expected = [...model].filter(([, k]) => k === key).map(([entry]) => entry);
        assert.deepEqual(ids(taken), ids(expected));
        for (const entry of expected) model.delete(entry);
      }
      assert.equal(queue.size, model.size);
      for (const [entry, key] of model) {
        assert.equal(queue.keyOf(entry), key);
        const bucket = entry.queueBucket as DueBucket<Item>;
        assert.equal(bucket.items[entry.queueSlot], entry);
      }
    }
  });

  it("lists what falls due by an instant, earliest first, up to a limit, without removing it", () => {
    const queue = new DueQueue<Item>();
    for (let i = 0; i < 30; i++) queue.push(item(i), 1_000 * (3 - (i % 3)));
    const out: Item[] = [];
    queue.collectDue(2_000, 15, out);
    assert.equal(out.length, 15);
    assert.ok(out.slice(0, 10).every((entry) => queue.keyOf(entry) === 1_000));
    assert.ok(out.slice(10).every((entry) => queue.keyOf(entry) === 2_000));
    assert.equal(queue.size, 30);
  });

  it("takes k items due together in O(k), whatever else is queued", () => {
    // Counts every write to an item's queue fields: what a burst costs.
    let touched = 0;
    class Counted implements QueueItem {
      readonly id: number;
      #bucket: DueBucket<QueueItem> | null = null;
      #slot = -1;
      constructor(id: number) {
        this.id = id;
      }
      get queueBucket(): DueBucket<QueueItem> | null {
        return this.#bucket;
      }
      set queueBucket(value: DueBucket<QueueItem> | null) {
        touched++;
        this.#bucket = value;
      }
      get queueSlot(): number {
        return this.#slot;
      }
      set queueSlot(value: number) {
        this.#slot = value;
      }
    }
    const queue = new DueQueue<Counted>();
    const n = 100_000;
    const k = 1_000;
    // k items on one instant, the rest spread over 5,000 later instants.
    for (let i = 0; i < n; i++) queue.push(new Counted(i), i < k ? 1_000 : 2_000 + (i % 5_000));
    touched = 0;
    const due = queue.takeDue(1_000) as Counted[];
    assert.equal(due.length, k);
    assert.equal(touched, k);
    // Putting them all back at one later instant touches each once more.
    touched = 0;
    for (const entry of due) queue.push(entry, 60_000);
    assert.equal(touched, k);
    assert.equal(queue.size, n);
  });
});
