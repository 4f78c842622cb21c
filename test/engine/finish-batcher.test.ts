/**
 * FinishBatcher: the ends of runs written together (issue 17). Batches are
 * formed per turn of the event loop and per window, bounded in size and in
 * how many wait; each caller learns its own answer; a failed batch fails
 * each of its finishes (the caller retries its own), and `flush()` sends
 * what waits without its window.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CronCache, compileSchedule } from "../../src/core/schedule.js";
import { resolveTaskOptions } from "../../src/core/task-options.js";
import { Task } from "../../src/core/task.js";
import { FinishBatcher, type FinishItem } from "../../src/engine/finish-batcher.js";
import { StoreError } from "../../src/errors.js";
import type { Claim, FinishRequest, RunRecord, TaskProgress } from "../../src/store/store.js";

const T = Date.parse("2026-01-01T12:00:00Z");
/** A window no test waits out: a batch after the first goes only when full, or flushed. */
const LONG = 3_600_000;

function item(name: string, release = true, task?: Task): FinishItem {
  const claim: Claim = {
    id: `claim-${name}`,
    taskName: name,
    scheduledAt: T,
    nodeId: "n1",
    claimedAt: T,
    leaseExpiresAt: T + 30_000,
    fencingToken: 1,
  };
  const record: RunRecord = {
    taskName: name,
    claimId: claim.id,
    scheduledAt: T,
    startedAt: T,
    finishedAt: T + 5,
    status: "succeeded",
    attempt: 1,
    nodeId: "n1",
    error: null,
  };
  return { record, claim, release, ...(task === undefined ? {} : { task }) };
}

function task(name: string): Task {
  const schedule = compileSchedule("* * * * * *", {
    nowMs: T,
    timezone: "UTC",
    cache: new CronCache(),
  });
  return new Task(name, schedule, () => {}, resolveTaskOptions({}));
}

/** A store's finishRuns that records each batch and answers `written(name)` per finish. */
function fakeStore(written: (name: string) => boolean = () => true) {
  const batches: FinishRequest[][] = [];
  let gate: Promise<void> | undefined;
  let open = (): void => {};
  return {
    batches,
    /** Holds the next batches until `release()`. */
    stall(): void {
      gate = new Promise<void>((resolve) => (open = resolve));
    },
    release(): void {
      gate = undefined;
      open();
    },
    finishRuns: async (finishes: readonly FinishRequest[]): Promise<boolean[]> => {
      batches.push([...finishes]);
      if (gate !== undefined) await gate;
      return finishes.map((f) => written(f.record.taskName));
    },
  };
}

const names = (batch: readonly FinishRequest[]) => batch.map((f) => f.record.taskName);

/** A batcher on `store` that writes no progress; `options` as FinishBatcher's. */
function batcherOn(
  store: ReturnType<typeof fakeStore>,
  options: Partial<ConstructorParameters<typeof FinishBatcher>[0]> = {},
): FinishBatcher {
  return new FinishBatcher({
    finishRuns: store.finishRuns,
    progressOf: () => undefined,
    ...options,
  });
}

describe("FinishBatcher", () => {
  it("writes the finishes of one turn as one batch and gives each caller its own answer", async () => {
    const store = fakeStore((name) => name !== "reaped");
    const batcher = batcherOn(store);
    const answers = await Promise.all(["a", "reaped", "c"].map((n) => batcher.add(item(n))));
    assert.deepEqual(answers, [true, false, true]);
    assert.deepEqual(store.batches.map(names), [["a", "reaped", "c"]]);
  });

  it("waits its window after a batch: finishes made meanwhile travel together, flush() sends them at once", async () => {
    const store = fakeStore();
    const batcher = batcherOn(store, {
      windowMs: LONG,
    });
    assert.equal(
      await batcher.add(item("first")),
      true,
      "a finish after a quiet spell goes at once",
    );
    const later = ["b", "c", "d"].map((n) => batcher.add(item(n)));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(store.batches.length, 1, "the next batch waits for its window");
    assert.equal(batcher.backlog, 3);
    await batcher.flush();
    assert.deepEqual(await Promise.all(later), [true, true, true]);
    assert.deepEqual(store.batches.map(names), [["first"], ["b", "c", "d"]]);
    assert.equal(batcher.backlog, 0);
  });

  it("sends a full batch without waiting, and never more than maxBatch in one", async () => {
    const store = fakeStore();
    const batcher = batcherOn(store, {
      windowMs: LONG,
      maxBatch: 2,
    });
    await batcher.add(item("first"));
    const rest = ["b", "c", "d", "e", "f"].map((n) => batcher.add(item(n)));
    await Promise.all(rest.slice(0, 4));
    assert.deepEqual(store.batches.map(names), [["first"], ["b", "c"], ["d", "e"]]);
    await batcher.flush();
    await rest[4];
    assert.deepEqual(names(store.batches[3] ?? []), ["f"]);
  });

  it("is bounded: past maxQueued, finishes are held back in order (and new runs wait) until a batch leaves", async () => {
    const store = fakeStore();
    const batcher = batcherOn(store, {
      windowMs: LONG,
      maxBatch: 2,
      maxQueued: 2,
      maxInFlight: 1,
    });
    store.stall();
    const all = ["a", "b", "c", "d", "e", "f", "g"].map((n) => batcher.add(item(n)));
    // "a" and "b" left at once (a full batch); "c", "d" fill the queue; the rest are held.
    assert.deepEqual(store.batches.map(names), [["a", "b"]]);
    assert.equal(batcher.inFlight, 1, "one batch in flight at most");
    assert.equal(batcher.backlog, 5);
    const room = batcher.room();
    assert.ok(room !== undefined, "new runs wait for room");
    store.release();
    await batcher.flush();
    await Promise.all(all);
    await room;
    assert.equal(batcher.room(), undefined);
    assert.deepEqual(store.batches.map(names), [["a", "b"], ["c", "d"], ["e", "f"], ["g"]]);
    assert.ok(store.batches.every((batch) => batch.length <= 2));
  });

  it("a failed batch fails each of its finishes, and the next batch is sent as usual", async () => {
    let fail = true;
    const store = fakeStore();
    const batcher = new FinishBatcher({
      finishRuns: async (finishes) => {
        if (fail) {
          fail = false;
          throw new StoreError("connection terminated");
        }
        return store.finishRuns(finishes);
      },
      progressOf: () => undefined,
    });
    const failed = await Promise.allSettled(["a", "b"].map((n) => batcher.add(item(n))));
    assert.deepEqual(
      failed.map((r) => r.status),
      ["rejected", "rejected"],
    );
    assert.equal(await batcher.add(item("c")), true);
    assert.deepEqual(store.batches.map(names), [["c"]]);
  });

  it("reads each task's progress once, as its batch leaves, and writes none for a task no longer wanted", async () => {
    const store = fakeStore();
    const kept = task("kept");
    const gone = task("gone");
    let reads = 0;
    const batcher = new FinishBatcher({
      finishRuns: store.finishRuns,
      progressOf: (t): TaskProgress | undefined => {
        reads++;
        return t === gone
          ? undefined
          : {
              state: "active",
              nextRunAt: null,
              lastRunAt: T,
              lastStatus: "succeeded",
              runCount: t.runCount,
            };
      },
    });
    const pending = [
      batcher.add(item("kept", true, kept)),
      batcher.add(item("gone", true, gone)),
      batcher.add(item("kept", true, kept)),
      batcher.add(item("plain")),
    ];
    kept.runCount = 2; // changed after the finishes were queued: the batch carries the newest
    await Promise.all(pending);
    assert.equal(reads, 2, "once per task");
    const [batch = []] = store.batches;
    assert.deepEqual(
      batch.map((f) => f.progress?.runCount ?? null),
      [2, null, 2, null],
    );
  });

  it("flush() of an idle batcher resolves at once; release: false travels as asked", async () => {
    const store = fakeStore();
    const batcher = batcherOn(store);
    await batcher.flush();
    await batcher.add(item("retrying", false));
    assert.equal(store.batches[0]?.[0]?.release, false);
  });
});
