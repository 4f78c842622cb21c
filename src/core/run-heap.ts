/** An item a {@link RunHeap} can hold: its key and the slot the heap keeps up to date. */
export interface HeapItem {
  /** The key (epoch ms when the item is next due); change it only through the heap. */
  dueMs: number;
  /** The item's position in the heap, -1 when it is not in it. Maintained by the heap. */
  heapIndex: number;
}

/**
 * A binary min-heap keyed on `dueMs`, with the position stored in each item
 * so that `update` and `remove` are O(log n). Ties keep no particular order.
 * Finding the k due items is k `pop`s: O(k log n), never a scan.
 */
export class RunHeap<T extends HeapItem> {
  readonly #items: T[] = [];

  /** Number of items. */
  get size(): number {
    return this.#items.length;
  }

  /** The item due first, without removing it. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** True when `item` is in this heap. */
  has(item: T): boolean {
    return item.heapIndex >= 0 && this.#items[item.heapIndex] === item;
  }

  /** Adds `item` (or re-keys it if present) with key `dueMs`. O(log n). */
  push(item: T, dueMs: number): void {
    if (this.has(item)) {
      this.update(item, dueMs);
      return;
    }
    item.dueMs = dueMs;
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#up(item.heapIndex);
  }

  /** Changes the key of an item already in the heap. O(log n). */
  update(item: T, dueMs: number): void {
    const old = item.dueMs;
    item.dueMs = dueMs;
    if (dueMs < old) this.#up(item.heapIndex);
    else this.#down(item.heapIndex);
  }

  /** Removes and returns the item due first. O(log n). */
  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    if (top === undefined) return undefined;
    const last = items.pop() as T;
    if (last !== top) {
      items[0] = last;
      last.heapIndex = 0;
      this.#down(0);
    }
    top.heapIndex = -1;
    return top;
  }

  /** Removes and returns the first item if it is due at or before `nowMs`. */
  popDue(nowMs: number): T | undefined {
    const top = this.#items[0];
    return top !== undefined && top.dueMs <= nowMs ? this.pop() : undefined;
  }

  /** Removes `item` if present; returns whether it was. O(log n). */
  remove(item: T): boolean {
    if (!this.has(item)) return false;
    const items = this.#items;
    const index = item.heapIndex;
    const last = items.pop() as T;
    if (last !== item) {
      items[index] = last;
      last.heapIndex = index;
      this.#up(index);
      this.#down(last.heapIndex);
    }
    item.heapIndex = -1;
    return true;
  }

  /** Removes everything. */
  clear(): void {
    for (const item of this.#items) item.heapIndex = -1;
    this.#items.length = 0;
  }

  #up(index: number): void {
    const items = this.#items;
    const item = items[index] as T;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (parent.dueMs <= item.dueMs) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = item;
    item.heapIndex = index;
  }

  #down(index: number): void {
    const items = this.#items;
    const length = items.length;
    const item = items[index] as T;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && (items[right] as T).dueMs < (items[left] as T).dueMs) child = right;
      const childItem = items[child] as T;
      if (childItem.dueMs >= item.dueMs) break;
      items[index] = childItem;
      childItem.heapIndex = index;
      index = child;
    }
    items[index] = item;
    item.heapIndex = index;
  }
}
