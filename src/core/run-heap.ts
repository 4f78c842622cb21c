/** An item a {@link RunHeap} can hold: the heap keeps its position up to date. */
export interface HeapItem {
  /** The item's position in the heap, -1 when it is not in it. Maintained by the heap. */
  heapIndex: number;
}

const INITIAL_CAPACITY = 64;

/**
 * A binary min-heap of items keyed by a due instant (epoch ms). Keys live in a
 * Float64Array beside the items, so they cost no boxed number per item and
 * comparisons stay cache-friendly; each item stores its position, so `update`
 * and `remove` are O(log n). Finding the k due items is k pops: O(k log n).
 */
export class RunHeap<T extends HeapItem> {
  #items: T[] = [];
  #keys = new Float64Array(INITIAL_CAPACITY);

  /** Number of items. */
  get size(): number {
    return this.#items.length;
  }

  /** The item due first, without removing it. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** The key of the item due first, or null when empty. */
  peekKey(): number | null {
    return this.#items.length === 0 ? null : (this.#keys[0] as number);
  }

  /** The key of an item in the heap (NaN when absent). */
  keyOf(item: T): number {
    return this.has(item) ? (this.#keys[item.heapIndex] as number) : Number.NaN;
  }

  /** True when `item` is in this heap. */
  has(item: T): boolean {
    return item.heapIndex >= 0 && this.#items[item.heapIndex] === item;
  }

  /** Adds `item` with key `dueMs`, or re-keys it if present. O(log n). */
  push(item: T, dueMs: number): void {
    if (this.has(item)) {
      this.#set(item.heapIndex, item, dueMs);
      this.#up(item.heapIndex);
      this.#down(item.heapIndex);
      return;
    }
    const index = this.#items.length;
    if (index === this.#keys.length) {
      const grown = new Float64Array(this.#keys.length * 2);
      grown.set(this.#keys);
      this.#keys = grown;
    }
    this.#items.push(item);
    this.#set(index, item, dueMs);
    this.#up(index);
  }

  /** Removes and returns the item due first. O(log n). */
  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    if (top === undefined) return undefined;
    const lastIndex = items.length - 1;
    const last = items[lastIndex] as T;
    const lastKey = this.#keys[lastIndex] as number;
    items.pop();
    if (last !== top) {
      this.#set(0, last, lastKey);
      this.#down(0);
    }
    top.heapIndex = -1;
    return top;
  }

  /** Removes and returns the first item if its key is at or before `nowMs`. */
  popDue(nowMs: number): T | undefined {
    return this.#items.length > 0 && (this.#keys[0] as number) <= nowMs ? this.pop() : undefined;
  }

  /**
   * Appends to `out` the items whose key is at or before `untilMs`, without
   * removing them (in no particular order), stopping at `limit` items. O(k)
   * for k such items: only subtrees whose root is due are visited.
   */
  collectDue(untilMs: number, limit: number, out: T[]): void {
    const items = this.#items;
    const keys = this.#keys;
    if (items.length === 0 || (keys[0] as number) > untilMs) return;
    const stack = [0];
    let found = 0;
    while (stack.length > 0 && found < limit) {
      const index = stack.pop() as number;
      out.push(items[index] as T);
      found++;
      const left = 2 * index + 1;
      if (left < items.length && (keys[left] as number) <= untilMs) stack.push(left);
      if (left + 1 < items.length && (keys[left + 1] as number) <= untilMs) stack.push(left + 1);
    }
  }

  /** Removes `item` if present; returns whether it was. O(log n). */
  remove(item: T): boolean {
    if (!this.has(item)) return false;
    const items = this.#items;
    const index = item.heapIndex;
    const lastIndex = items.length - 1;
    const last = items[lastIndex] as T;
    const lastKey = this.#keys[lastIndex] as number;
    items.pop();
    if (last !== item) {
      this.#set(index, last, lastKey);
      this.#up(index);
      this.#down(last.heapIndex);
    }
    item.heapIndex = -1;
    return true;
  }

  /** Removes everything. */
  clear(): void {
    for (const item of this.#items) item.heapIndex = -1;
    this.#items = [];
    this.#keys = new Float64Array(INITIAL_CAPACITY);
  }

  #set(index: number, item: T, key: number): void {
    this.#items[index] = item;
    this.#keys[index] = key;
    item.heapIndex = index;
  }

  #up(index: number): void {
    const items = this.#items;
    const keys = this.#keys;
    const item = items[index] as T;
    const key = keys[index] as number;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentKey = keys[parent] as number;
      if (parentKey <= key) break;
      this.#set(index, items[parent] as T, parentKey);
      index = parent;
    }
    this.#set(index, item, key);
  }

  #down(index: number): void {
    const items = this.#items;
    const keys = this.#keys;
    const length = items.length;
    const item = items[index] as T;
    const key = keys[index] as number;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && (keys[right] as number) < (keys[left] as number)) child = right;
      const childKey = keys[child] as number;
      if (childKey >= key) break;
      this.#set(index, items[child] as T, childKey);
      index = child;
    }
    this.#set(index, item, key);
  }
}
