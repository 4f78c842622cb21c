/**
 * Runs under a store that stops taking writes for a while (a real SQLite file
 * whose write lock another connection holds; real clock):
 *
 * - A due run whose claim could not be made (the store locked or unreachable
 *   for longer than the claim may wait) still ends with a row: it is recorded
 *   `missed` once the store takes writes again, unless another node claimed
 *   it meanwhile. Before, it vanished: no row, no catch-up (issue 15, the
 *   SQLite write lock of 2–10 s and the PostgreSQL restart of the fault suite).
 *   Its row is written before any later run of the task releases its claim:
 *   a release raises the task's claim mark, which the store's settling then
 *   refuses. Under load that order was lost, and the slot was left with no
 *   row (seen at a load average of 30).
 * - A retry that cannot start (its claim's lease nearly gone because the store
 *   could not renew it, or the scheduler stopping) is no missed occurrence.
 *   It is left to the reaper, as if this process had died: recorded
 *   interrupted, then retried per policy. Before, it was recorded `missed` as
 *   attempt 1 after the failed attempt 1. A retry waits for its previous
 *   attempt's row (test/engine/retry-after-row.test.ts): here that row cannot
 *   be written before the lease is lost, so the retry never starts, and the
 *   reaper records that attempt interrupted and retries it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import type { Scheduler } from "../../src/scheduler/index.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Claim, RunRecord } from "../../src/store/store.js";
import { realTimeScheduler, tempDb } from "../helpers/durable.js";
import { setTimeout as sleep } from "node:timers/promises";
import { waitFor } from "../helpers/pg.js";

const WAIT = { timeoutMs: 30_000, intervalMs: 50 };

/** The slots of an every-second task from its first row to its last that have no row. */
function slotsWithoutRow(rows: readonly RunRecord[]): number[] {
  const covered = new Set<number>();
  for (const row of rows) {
    for (let s = row.scheduledAt; s <= (row.missedThrough ?? row.scheduledAt); s += 1_000)
      covered.add(s);
  }
  const first = Math.min(...covered);
  const last = Math.max(...covered);
  const without: number[] = [];
  for (let s = first; s <= last; s += 1_000) if (!covered.has(s)) without.push(s);
  return without;
}

/** Waits until the task's rows include a missed one and leave no slot without a row. */
async function waitForEverySlot(
  history: () => Promise<RunRecord[]>,
  events: readonly string[] = [],
): Promise<void> {
  let without: number[] = [];
  let seen: readonly RunRecord[] = [];
  await waitFor(
    "a row for every slot from the first run on",
    async () => {
      const rows = await history();
      seen = rows;
      without = slotsWithoutRow(rows);
      // Rows on both sides of the lock, and none missing between.
      return rows.some((r) => r.status === "missed") && without.length === 0;
    },
    WAIT,
  ).catch((error: unknown) => {
    throw new Error(
      `slots without a row: ${without.map((s) => new Date(s).toISOString()).join(", ")}; rows: ${[
        ...seen,
      ]
        .sort((a, b) => a.scheduledAt - b.scheduledAt)
        .map(
          (r) =>
            `${r.status}#${r.attempt}@${new Date(r.scheduledAt).toISOString().slice(17, 23)}${r.status === "skipped" || r.status === "missed" ? `(${r.error?.code ?? r.error?.message ?? ""})` : ""}`,
        )
        .join(" ")}; events: ${events.join(" ")}`,
      { cause: error },
    );
  });
}

interface Rig {
  readonly scheduler: Scheduler;
  readonly store: SqliteStore;
  readonly logger: ReturnType<typeof realTimeScheduler>["logger"];
  /** Another connection to the file, to take its write lock. */
  readonly lock: Database.Database;
}

/**
 * A scheduler (lease 1 s unless said) on a fresh SQLite file (a SqliteStore
 * unless `open` makes another), and a second connection to lock it.
 */
async function withLockableStore(
  test: (rig: Rig) => Promise<void>,
  { leaseMs = 1_000, open = (path: string) => new SqliteStore({ path, busyTimeoutMs: 100 }) } = {},
): Promise<void> {
  const db = await tempDb();
  const store = open(db.path);
  const { scheduler, dispatcher, logger } = realTimeScheduler(store, {
    nodeId: "node-a",
    leaseMs,
    timezone: "UTC",
  });
  const lock = new Database(db.path, { timeout: 2_000 });
  try {
    await test({ scheduler, store, logger, lock });
  } finally {
    if (lock.inTransaction) lock.exec("ROLLBACK");
    lock.close();
    await scheduler.stop();
    await store.close();
    await dispatcher.close();
    await db.cleanup();
  }
}

/**
 * Runs "tick" every second (a grace a loaded machine keeps within: only the
 * lock makes a run miss), holds the write lock from its first row until
 * `notStarted` due runs did not start (claims that gave up, occurrences held
 * back behind them), or until `until()`, and returns its history.
 */
async function lockWhileTicking(
  { scheduler, store, lock }: Rig,
  notStarted: number,
  until: () => boolean = () => scheduler.storeStatus.runsNotStarted >= notStarted,
): Promise<() => Promise<RunRecord[]>> {
  scheduler.defineHandler("tick", () => undefined);
  await scheduler.registerTask("tick", "* * * * * *", "tick", { misfireGraceMs: 60_000 });
  await scheduler.start();
  const history = () => store.history({ taskName: "tick", limit: 1_000 });
  await waitFor("a first run", async () => (await history()).length > 0, WAIT);
  // Another process holds the write lock until claims have given up on the due runs.
  lock.exec("BEGIN IMMEDIATE");
  await waitFor(`${notStarted} due runs not started`, until, WAIT);
  lock.exec("COMMIT");
  return history;
}

describe("a due run whose claim failed", () => {
  it("is recorded missed once the store is usable again: every slot has a row", async () => {
    // A lease a loaded machine renews and starts runs within.
    await withLockableStore(
      async (rig) => {
        // What the failure message shows beside the rows: refused claims and store errors.
        const events: string[] = [];
        const at = (date: Date) => date.toISOString().slice(17, 23);
        rig.scheduler.on("run:skipped", ({ scheduledAt, reason }) => {
          if (reason === "claimed") events.push(`refused@${at(scheduledAt)}`);
        });
        rig.scheduler.on("scheduler:error", ({ context, error }) => {
          events.push(
            `error(${context}: ${error instanceof Error ? error.message : String(error)})`,
          );
        });
        const history = await lockWhileTicking(rig, 2);
        await waitForEverySlot(history, events);
        const missed = (await history()).filter((r) => r.status === "missed");
        assert.ok(
          missed.every((r) => /claim/.test(r.error?.message ?? "")),
          `a missed row says its claim could not be made: ${missed.map((r) => r.error?.message).join("; ")}`,
        );
      },
      { leaseMs: 2_000 },
    );
  });

  it("gets its row even when a later run of the task is released first (its slot is not refused)", async () => {
    /**
     * Holds the rows of runs whose claim failed until a later run of the task
     * has been recorded and its claim released (the order a loaded machine
     * can take once the lock is gone), or 3 s at most: long enough to see the
     * release go first when nothing waits for these rows.
     */
    class HeldSettles extends SqliteStore {
      laterReleased: () => void = () => undefined;
      readonly #released = new Promise<void>((resolve) => (this.laterReleased = resolve));
      firstHeldAt: number | undefined;

      override async settleSlots(records: readonly RunRecord[]): Promise<boolean[]> {
        if (records.some((r) => /claim could not be made/.test(r.error?.message ?? ""))) {
          this.firstHeldAt ??= Math.min(...records.map((r) => r.scheduledAt));
          await Promise.race([this.#released, sleep(3_000)]);
        }
        return super.settleSlots(records);
      }

      override async finishRun(
        record: RunRecord,
        claim: Claim,
        options?: { readonly release?: boolean },
      ): Promise<boolean> {
        const written = await super.finishRun(record, claim, options);
        const held = this.firstHeldAt;
        if (held !== undefined && record.scheduledAt > held && options?.release !== false)
          this.laterReleased();
        return written;
      }
    }
    await withLockableStore(
      async (rig) => {
        // Until a claim gave up and its row is on its way (the occurrences behind it held back).
        const store = rig.store as HeldSettles;
        const history = await lockWhileTicking(rig, 1, () => store.firstHeldAt !== undefined);
        await waitForEverySlot(history);
      },
      { leaseMs: 2_000, open: (path) => new HeldSettles({ path, busyTimeoutMs: 100 }) },
    );
  });
});

describe("a retry whose lease is lost before it may start", () => {
  it("is left to the reaper: interrupted, then retried, never recorded missed", async () => {
    await withLockableStore(async ({ scheduler, store, logger, lock }) => {
      // Attempt 1 fails and leaves the store locked: neither its row nor the lease's
      // renewal gets through before the lease (1 s) is lost; the retry never starts here.
      scheduler.defineHandler("flaky", (ctx) => {
        if (ctx.attempt > 1) return;
        lock.exec("BEGIN IMMEDIATE");
        throw new Error("attempt 1 fails");
      });
      await scheduler.start();
      await scheduler.registerTask("flaky", new Date(Date.now() + 300), "flaky", {
        retries: { attempts: 2, backoffMs: 800, factor: 1 },
      });
      await waitFor(
        "the retry's turn",
        () => logger.entries.some((e) => /recorded as lost|could not start/.test(e.msg ?? "")),
        WAIT,
      );
      lock.exec("COMMIT");
      const rows = await waitFor(
        "the run's story to end",
        async () => {
          const all = await store.history({ taskName: "flaky" });
          const ended = all.some((r) => r.status === "succeeded" || r.status === "missed");
          return ended ? all : null;
        },
        WAIT,
      );
      const story = rows
        .filter((r) => r.status !== "lost")
        .map((r) => `${r.status}#${r.attempt}`)
        .sort();
      assert.deepEqual(story, ["interrupted#1", "succeeded#2"]);
    });
  });
});
