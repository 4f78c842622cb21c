import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { RunHeap, type HeapItem } from "../../src/core/run-heap.js";

interface Item extends HeapItem {
  id: number;
}

const item = (id: number): Item => ({ id, heapIndex: -1 });

describe("RunHeap", () => {
  it("pops in key order and reports the first key", () => {
    const heap = new RunHeap<Item>();
    const keys = [50, 10, 40, 20, 30, 10];
    keys.forEach((key, id) => heap.push(item(id), key));
    assert.equal(heap.peekKey(), 10);
    const out: number[] = [];
    for (let next = heap.popDue(35); next !== undefined; next = heap.popDue(35))
      out.push(keys[next.id] as number);
    assert.deepEqual(out, [10, 10, 20, 30]);
    assert.equal(heap.size, 2);
    assert.equal(heap.peekKey(), 40);
  });

  it("re-keys and removes in place", () => {
    const heap = new RunHeap<Item>();
    const a = item(1);
    const b = item(2);
    const c = item(3);
    heap.push(a, 1);
    heap.push(b, 2);
    heap.push(c, 3);
    heap.push(a, 10);
    assert.equal(heap.keyOf(a), 10);
    assert.equal(heap.pop(), b);
    assert.ok(heap.remove(c));
    assert.ok(!heap.remove(c));
    assert.equal(c.heapIndex, -1);
    assert.equal(heap.pop(), a);
    assert.equal(heap.pop(), undefined);
    assert.equal(heap.peekKey(), null);
  });

  it("matches a sorted list under any sequence of push, re-key, remove and pop", () => {
    type Op =
      { kind: "push"; id: number; key: number } | { kind: "remove"; id: number } | { kind: "pop" };
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("push" as const),
        id: fc.integer({ min: 0, max: 30 }),
        key: fc.integer({ min: 0, max: 1000 }),
      }),
      fc.record({ kind: fc.constant("remove" as const), id: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ kind: fc.constant("pop" as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops: Op[]) => {
        const heap = new RunHeap<Item>();
        const items = new Map<number, Item>();
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === "push") {
            const it = items.get(o.id) ?? item(o.id);
            items.set(o.id, it);
            heap.push(it, o.key);
            model.set(o.id, o.key);
          } else if (o.kind === "remove") {
            const it = items.get(o.id);
            assert.equal(it !== undefined && heap.remove(it), model.delete(o.id));
          } else {
            const popped = heap.pop();
            if (model.size === 0) {
              assert.equal(popped, undefined);
            } else {
              const min = Math.min(...model.values());
              assert.ok(popped !== undefined);
              assert.equal(model.get(popped.id), min);
              model.delete(popped.id);
            }
          }
          assert.equal(heap.size, model.size);
        }
      }),
    );
  });

  it("finds k due items among n by touching O(k log n) items, never all of them", () => {
    let touched = 0;
    class Counted implements HeapItem {
      #index = -1;
      readonly id: number;
      constructor(id: number) {
        this.id = id;
      }
      get heapIndex(): number {
        touched++;
        return this.#index;
      }
      set heapIndex(value: number) {
        touched++;
        this.#index = value;
      }
    }
    const heap = new RunHeap<Counted>();
    const n = 100_000;
    for (let i = 0; i < n; i++) heap.push(new Counted(i), 1_000 + ((i * 7919) % n));
    const k = 10;
    touched = 0;
    const due: number[] = [];
    for (
      let next = heap.popDue(1_000 + k - 1);
      next !== undefined;
      next = heap.popDue(1_000 + k - 1)
    ) {
      due.push(next.id);
    }
    assert.equal(due.length, k);
    assert.equal(heap.size, n - k);
    // Each pop sifts one path of about log2(n) = 17 levels; a scan would touch 100,000 items.
    const bound = 4 * k * Math.ceil(Math.log2(n));
    assert.ok(touched <= bound, `${touched} item accesses for ${k} pops (bound ${bound})`);
  });
});
