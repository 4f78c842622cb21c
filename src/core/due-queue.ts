import { RunHeap, type HeapItem } from "./run-heap.js";

/** An item a {@link DueQueue} can hold: the queue keeps these two fields up to date. */
export interface QueueItem {
  /** The bucket holding the item, null when it is not queued. Maintained by the queue. */
  queueBucket: DueBucket<QueueItem> | null;
  /** The item's position in its bucket, -1 when it is not queued. Maintained by the queue. */
  queueSlot: number;
}

/** Every item due at one instant. */
export class DueBucket<T extends QueueItem> implements HeapItem {
  heapIndex = -1;
  readonly key: number;
  readonly items: T[] = [];
  constructor(key: number) {
    this.key = key;
  }
}

/**
 * Items keyed by a due instant (epoch ms), grouped in one bucket per instant,
 * with a min-heap of buckets. Cron bursts share their instant (ten thousand
 * tasks on `0 * * * *` fall due together), so taking what is due is one heap
 * pop plus a walk of the bucket, and putting the tasks back at their next
 * instant appends to one bucket: O(k + log b) for k items in b buckets,
 * where a heap of items costs O(k log n). Removing an item is O(1) unless it
 * empties its bucket (then O(log b)).
 */
export class DueQueue<T extends QueueItem> {
  readonly #buckets = new Map<number, DueBucket<T>>();
  readonly #heap = new RunHeap<DueBucket<T>>();
  /** The bucket last appended to: pushes in a burst go to one bucket without a Map lookup. */
  #recent: DueBucket<T> | undefined;
  #size = 0;

  /** Number of items. */
  get size(): number {
    return this.#size;
  }

  /** Number of distinct due instants. */
  get bucketCount(): number {
    return this.#heap.size;
  }

  /** The earliest due instant, or null when empty. */
  peekKey(): number | null {
    return this.#heap.peekKey();
  }

  /** Number of items due at the earliest instant. */
  peekCount(): number {
    return this.#heap.peek()?.items.length ?? 0;
  }

  /** The key of an item in the queue (NaN when absent). */
  keyOf(item: T): number {
    return this.has(item) ? (item.queueBucket as DueBucket<T>).key : Number.NaN;
  }

  /** True when `item` is in this queue. */
  has(item: T): boolean {
    const bucket = item.queueBucket as DueBucket<T> | null;
    return bucket !== null && this.#heap.has(bucket);
  }

  /** Adds `item` due at `dueMs`, or moves it there if present. O(1) when the instant has a bucket. */
  push(item: T, dueMs: number): void {
    if (item.queueBucket !== null) {
      if (item.queueBucket.key === dueMs && this.has(item)) return;
      this.remove(item);
    }
    let bucket = this.#recent;
    if (bucket === undefined || bucket.key !== dueMs || bucket.heapIndex < 0) {
      bucket = this.#buckets.get(dueMs);
      if (bucket === undefined) {
        bucket = new DueBucket<T>(dueMs);
        this.#buckets.set(dueMs, bucket);
        this.#heap.push(bucket, dueMs);
      }
      this.#recent = bucket;
    }
    item.queueBucket = bucket;
    item.queueSlot = bucket.items.length;
    bucket.items.push(item);
    this.#size++;
  }

  /** Removes `item` if present; returns whether it was. */
  remove(item: T): boolean {
    if (!this.has(item)) return false;
    const bucket = item.queueBucket as DueBucket<T>;
    const items = bucket.items;
    const last = items.pop() as T;
    if (last !== item) {
      items[item.queueSlot] = last;
      last.queueSlot = item.queueSlot;
    }
    item.queueBucket = null;
    item.queueSlot = -1;
    this.#size--;
    if (items.length === 0) this.#drop(bucket);
    return true;
  }

  /**
   * Removes and returns every item due at the earliest instant if that is at
   * or before `nowMs` (undefined otherwise). The caller owns the array.
   */
  takeDue(nowMs: number): T[] | undefined {
    const bucket = this.#heap.peek();
    if (bucket === undefined || bucket.key > nowMs) return undefined;
    this.#drop(bucket);
    const items = bucket.items;
    for (const item of items) {
      item.queueBucket = null;
      item.queueSlot = -1;
    }
    this.#size -= items.length;
    return items;
  }

  /**
   * Appends to `out` the items due after `afterMs` and at or before
   * `untilMs`, earliest instant first, without removing them, stopping at
   * `limit` items.
   */
  collectDue(untilMs: number, limit: number, out: T[], afterMs = Number.NEGATIVE_INFINITY): void {
    const buckets: DueBucket<T>[] = [];
    this.#heap.collectDue(untilMs, Number.POSITIVE_INFINITY, buckets);
    buckets.sort((a, b) => a.key - b.key);
    let found = 0;
    for (const bucket of buckets) {
      if (bucket.key <= afterMs) continue;
      for (const item of bucket.items) {
        if (found++ >= limit) return;
        out.push(item);
      }
    }
  }

  /** Removes everything. */
  clear(): void {
    for (const bucket of this.#buckets.values()) {
      for (const item of bucket.items) {
        item.queueBucket = null;
        item.queueSlot = -1;
      }
    }
    this.#buckets.clear();
    this.#heap.clear();
    this.#recent = undefined;
    this.#size = 0;
  }

  #drop(bucket: DueBucket<T>): void {
    this.#heap.remove(bucket);
    this.#buckets.delete(bucket.key);
    if (this.#recent === bucket) this.#recent = undefined;
  }
}
