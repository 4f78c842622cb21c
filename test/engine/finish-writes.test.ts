/**
 * The ends of runs against a store that is slow or loses answers (issue 17).
 * Real SQLite file, ManualClock.
 *
 * - Backpressure from the ends of runs to their claims (bounded queues):
 *   while the store has not taken the queued ends of runs (the finish
 *   batcher's backlog at its bound), new runs wait before they are claimed
 *   and started, instead of piling their ends up without bound; the misfire
 *   policy, applied when they really start, decides what a late one becomes.
 * - A finishing write that committed but whose answer was lost (the
 *   connection cut after the commit): writing it again is refused, since its
 *   claim was released with it, and the run used to be recorded `lost` beside
 *   its own `succeeded` row. Now the recorder finds its row and counts it written.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateKey } from "../../src/crypto/key-material.js";
import { FINISH_BATCHER_DEFAULTS } from "../../src/engine/finish-batcher.js";
import { StoreError } from "../../src/errors.js";
import { silentLogger } from "../../src/logger.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { ClaimAnswer, ClaimRequest, FinishRequest, RunRecord } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { sqliteScheduler, tempDb } from "../helpers/durable.js";

/** A scheduler (sealed records, silent) on a fresh SQLite file opened by `open`, at 00:00:30 UTC. */
async function schedulerOn<S extends SqliteStore>(open: (path: string) => S) {
  const db = await tempDb();
  const parts = sqliteScheduler(
    db.path,
    {
      clock: new ManualClock("2026-01-01T00:00:30Z"),
      logger: silentLogger,
      encryptionKey: generateKey(),
    },
    open,
  );
  const close = async (): Promise<void> => {
    await parts.scheduler.stop();
    await parts.store.close();
    await parts.dispatcher.close();
    await db.cleanup();
  };
  return { ...parts, close };
}

/** A SQLite store whose batched finishes wait until `release()`. */
class HeldFinishes extends SqliteStore {
  batches = 0;
  #release: () => void = () => {};
  readonly #held = new Promise<void>((resolve) => (this.#release = resolve));

  release(): void {
    this.#release();
  }

  override async finishRuns(finishes: readonly FinishRequest[]): Promise<boolean[]> {
    this.batches++;
    await this.#held;
    return super.finishRuns(finishes);
  }
}

async function turns(until: () => boolean, max = 10_000): Promise<void> {
  for (let turn = 0; turn < max && !until(); turn++)
    await new Promise((resolve) => setImmediate(resolve));
}

describe("backpressure from finishes to claims", () => {
  it("new runs wait before their claims while the ends of runs are queued to the bound", async () => {
    const { maxBatch, maxInFlight, maxQueued } = FINISH_BATCHER_DEFAULTS;
    // Enough runs at one instant that, with the first batches held in flight, the backlog reaches the bound.
    const tasks = maxBatch * maxInFlight + maxQueued + 100;
    const { scheduler, store, clock, close } = await schedulerOn(
      (path) => new HeldFinishes({ path }),
    );
    let calls = 0;
    scheduler.defineHandler("count", () => void calls++);
    try {
      // Overlap "allow": with "skip" a run whose end is not written yet still counts as running,
      // and the next one is skipped before it gets here.
      for (let i = 0; i < tasks; i++)
        await scheduler.registerTask(`t${i}`, "* * * * *", "count", { overlap: "allow" });
      clock.set("2026-01-01T00:01:00Z");
      const first = scheduler.runPending();
      await turns(() => calls === tasks && store.batches === maxInFlight);
      assert.equal(calls, tasks, "the first instant's runs all started");
      assert.equal(store.batches, maxInFlight, "their first batches wait in the store");

      clock.set("2026-01-01T00:02:00Z");
      const second = scheduler.runPending();
      await turns(() => calls > tasks, 2_000);
      assert.equal(calls, tasks, "no run of the next instant started while the backlog is full");

      store.release();
      await Promise.all([first, second]);
      const outcomes = new Map<string, number>();
      for (const row of await store.history({ limit: 3 * tasks })) {
        const key = `${row.status} ${new Date(row.scheduledAt).toISOString()} ${row.error?.message ?? ""}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }
      assert.equal(
        calls,
        2 * tasks,
        `once the store took the backlog, the next instant's runs ran: ${JSON.stringify([...outcomes])}`,
      );
      const rows = await store.history({ limit: 3 * tasks });
      assert.equal(rows.filter((r) => r.status === "succeeded").length, 2 * tasks);
    } finally {
      store.release();
      await close();
    }
  });
});

/** {@link HeldFinishes} that also notes the occurrences it was asked to claim. */
class HeldFinishesNotingClaims extends HeldFinishes {
  readonly claimedAt = new Set<number>();

  override async claimRuns<R extends ClaimRequest>(
    requests: readonly R[],
  ): Promise<ClaimAnswer<R>[]> {
    for (const request of requests) this.claimedAt.add(request.scheduledAt);
    return super.claimRuns(requests);
  }
}

/** 00:00 + `m` minutes, epoch ms. */
const minute = (m: number): number => Date.parse(`2026-01-01T00:0${m}:00Z`);

/**
 * Enough "allow" tasks on every minute that 00:01's ends fill the finish
 * batcher's backlog (its batches held in the store); 00:02's runs then wait
 * for room before their claims, and 00:03 and 00:04 fall due behind them.
 * Returns with 00:02's `runPending()` calls still pending.
 */
async function holdBehindClaims(
  store: HeldFinishes,
  parts: Awaited<ReturnType<typeof schedulerOn>>,
) {
  const { maxBatch, maxInFlight, maxQueued } = FINISH_BATCHER_DEFAULTS;
  const tasks = maxBatch * maxInFlight + maxQueued + 100;
  const { scheduler, clock } = parts;
  const counted = { calls: 0 };
  scheduler.defineHandler("count", () => void counted.calls++);
  for (let i = 0; i < tasks; i++)
    await scheduler.registerTask(`t${i}`, "* * * * *", "count", { overlap: "allow" });
  clock.set(minute(1));
  const pending = [scheduler.runPending()];
  await turns(() => counted.calls === tasks && store.batches === maxInFlight);
  clock.set(minute(2));
  pending.push(scheduler.runPending());
  await turns(() => false, 200);
  for (const m of [3, 4]) {
    clock.set(minute(m));
    // Nothing to wait for: each task still has a run waiting for its claim, so nothing is added behind it.
    await scheduler.runPending();
  }
  return { tasks, counted, pending };
}

/** How many rows tell each `task at` occurrence (missed ranges every minute). */
function rowsPerOccurrence(rows: readonly RunRecord[]): Map<string, number> {
  const told = new Map<string, number>();
  for (const row of rows) {
    for (let at = row.scheduledAt; at <= (row.missedThrough ?? row.scheduledAt); at += 60_000)
      told.set(`${row.taskName} ${at}`, (told.get(`${row.taskName} ${at}`) ?? 0) + 1);
  }
  return told;
}

describe("admission by task", () => {
  it("holds a task's next occurrences back while its run waits for its claim, then records them as one missed range", async () => {
    const parts = await schedulerOn((path) => new HeldFinishesNotingClaims({ path }));
    const { scheduler, store, clock, close } = parts;
    try {
      const { tasks, counted, pending } = await holdBehindClaims(store, parts);
      clock.set(minute(5));
      store.release();
      await Promise.all(pending);
      await scheduler.runPending();
      await scheduler.stop();

      assert.ok(!store.claimedAt.has(minute(3)), "no run of 00:03 was made, so none was claimed");
      assert.ok(!store.claimedAt.has(minute(4)), "no run of 00:04 was made, so none was claimed");
      const rows = await store.history({ limit: 10 * tasks });
      const told = rowsPerOccurrence(rows);
      for (let i = 0; i < tasks; i++) {
        for (let m = 1; m <= 5; m++) {
          assert.equal(told.get(`t${i} ${minute(m)}`), 1, `t${i} at 00:0${m} has one row`);
        }
      }
      const gaps = rows.filter((row) => row.scheduledAt === minute(3));
      assert.equal(gaps.length, tasks, "one row per task for the held-back occurrences");
      for (const row of gaps) {
        assert.equal(row.status, "missed");
        assert.equal(row.missedThrough, minute(4), "the range covers 00:03 and 00:04");
      }
      assert.equal(
        counted.calls,
        2 * tasks,
        "00:01 and 00:05 ran; 00:02 was claimed past its grace",
      );
    } finally {
      store.release();
      await close();
    }
  });

  it("records the occurrences held back as missed before stop() resolves", async () => {
    const parts = await schedulerOn((path) => new HeldFinishes({ path }));
    const { scheduler, store, clock, close } = parts;
    try {
      const { tasks, pending } = await holdBehindClaims(store, parts);
      // Stopped before anything takes the held-back tasks again: no other node would claim them.
      clock.set(minute(4) + 30_000);
      store.release();
      await scheduler.stop();
      await Promise.all(pending);
      const told = rowsPerOccurrence(await store.history({ limit: 10 * tasks }));
      for (let i = 0; i < tasks; i++) {
        for (let m = 1; m <= 4; m++)
          assert.equal(told.get(`t${i} ${minute(m)}`), 1, `t${i} at 00:0${m} has one row`);
      }
    } finally {
      store.release();
      await close();
    }
  });
});

/** A SQLite store whose next `lostAnswers` batches of finishes commit, then fail. */
class LostAnswers extends SqliteStore {
  lostAnswers = 0;

  override async finishRuns(finishes: readonly FinishRequest[]): Promise<boolean[]> {
    const written = await super.finishRuns(finishes);
    if (this.lostAnswers > 0) {
      this.lostAnswers--;
      throw new StoreError("Connection terminated unexpectedly (after the commit)");
    }
    return written;
  }
}

describe("a finish whose answer was lost", () => {
  it("is found written, not recorded lost beside its own row", async () => {
    const { scheduler, store, clock, close } = await schedulerOn(
      (path) => new LostAnswers({ path }),
    );
    scheduler.defineHandler("work", () => undefined);
    try {
      for (const name of ["a", "b", "c"]) await scheduler.registerTask(name, "* * * * *", "work");
      store.lostAnswers = 1;
      clock.set("2026-01-01T00:01:00Z");
      await scheduler.runPending();
      await scheduler.stop();
      const rows = await store.history({ limit: 100 });
      assert.deepEqual(rows.map((r) => `${r.taskName} ${r.status}`).sort(), [
        "a succeeded",
        "b succeeded",
        "c succeeded",
      ]);
      assert.equal(store.lostAnswers, 0, "the answer of a batch was lost");
    } finally {
      await close();
    }
  });
});
