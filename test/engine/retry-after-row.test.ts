/**
 * A retry starts only once its previous attempt's row is written (real
 * SQLite file, real clock). The fault suite's `pg-terminate` found work done
 * twice: attempt 1 failed, its `failed` row (kept claim, `release: false`)
 * was cut by a lost connection, yet the retry started at once under the same
 * claim and completed; the node then died, and the reaper, finding no row of
 * attempt 1, recorded it `interrupted` and ran the retry again (issue 15).
 *
 * Here the store fails the writes of attempt 1's row (a StoreError, as a cut
 * connection gives): the row is retried through the store's health gate
 * while the claim is held, and the retry starts only after it landed; when
 * the claim is lost meanwhile, the retry never starts under it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { StoreError } from "../../src/errors.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Claim, FinishRequest, RunRecord, Store } from "../../src/store/store.js";
import { SystemClock } from "../../src/time/clock.js";
import { tempDb } from "../helpers/durable.js";
import { waitFor } from "../helpers/pg.js";

const WAIT = { timeoutMs: 30_000, intervalMs: 20 };

interface Faults {
  /** Whether a write of this row fails now (it is not written). */
  failRow(record: RunRecord): boolean;
  /** Whether a renewal of this claim answers "not yours" now. */
  refuseRenewal?(claim: Claim): boolean;
}

/** `store`, with the faults of `faults` on its finishing writes and renewals. */
function faulty(store: SqliteStore, faults: Faults, written: (record: RunRecord) => void): Store {
  const finishRun: Store["finishRun"] = async (record, claim, options) => {
    if (faults.failRow(record)) throw new StoreError("connection terminated (test)");
    const ok = await store.finishRun(record, claim, options);
    if (ok) written(record);
    return ok;
  };
  const finishRuns = async (finishes: readonly FinishRequest[]): Promise<boolean[]> => {
    if (finishes.some((f) => faults.failRow(f.record)))
      throw new StoreError("connection terminated (test)");
    const ok = (await store.finishRuns?.(finishes)) ?? [];
    finishes.forEach((f, i) => ok[i] === true && written(f.record));
    return ok;
  };
  const renewLease: Store["renewLease"] = (claim, leaseMs) =>
    faults.refuseRenewal?.(claim) === true
      ? Promise.resolve(false)
      : store.renewLease(claim, leaseMs);
  const wrapped: Store = new Proxy(store, {
    get(target, prop) {
      if (prop === "finishRun") return finishRun;
      if (prop === "finishRuns") return finishRuns;
      if (prop === "renewLease") return renewLease;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as () => unknown).bind(target) : value;
    },
  });
  return wrapped;
}

async function withScheduler(
  faults: Faults,
  test: (rig: {
    scheduler: Scheduler;
    log: string[];
    starts: { attempt: number; token: number }[];
  }) => Promise<void>,
): Promise<void> {
  const db = await tempDb();
  const sqlite = new SqliteStore({ path: db.path });
  const log: string[] = [];
  const starts: { attempt: number; token: number }[] = [];
  const store = faulty(sqlite, faults, (r) => log.push(`row ${r.status}#${r.attempt}`));
  const dispatcher = new Dispatcher();
  const scheduler = new Scheduler(dispatcher, {
    store,
    nodeId: "n1",
    leaseMs: 1_000,
    timezone: "UTC",
    clock: new SystemClock(),
    testMode: true,
    logger: silentLogger,
  });
  scheduler.on("scheduler:error", () => undefined);
  scheduler.defineHandler("flaky", (ctx) => {
    log.push(`start#${ctx.attempt}`);
    starts.push({ attempt: ctx.attempt, token: ctx.fencingToken });
    if (ctx.attempt === 1) throw new Error("attempt 1 fails");
  });
  try {
    await scheduler.start();
    await scheduler.registerTask("flaky", new Date(Date.now() + 200), "flaky", {
      retries: { attempts: 1, backoffMs: 0, factor: 1 },
    });
    await test({ scheduler, log, starts });
  } finally {
    await scheduler.stop();
    await sqlite.close();
    await dispatcher.close();
    await db.cleanup();
  }
}

const attempt1Failed = (r: RunRecord): boolean => r.status === "failed" && r.attempt === 1;

describe("a retry and its previous attempt's row", () => {
  it("starts only once the row is written, after its write failed and was sent again", async () => {
    let cuts = 0;
    const faults: Faults = {
      // The first three writes of attempt 1's row fail; the health gate sends it again.
      failRow: (r) => attempt1Failed(r) && ++cuts <= 3,
    };
    await withScheduler(faults, async ({ log }) => {
      await waitFor("the retry's row", () => log.includes("row succeeded#2"), WAIT);
      assert.ok(cuts > 3, "attempt 1's row was cut before it was written");
      assert.deepEqual(log, ["start#1", "row failed#1", "start#2", "row succeeded#2"]);
    });
  });

  it("never starts under the claim when the claim is lost before the row is written", async () => {
    let ended = false;
    const faults: Faults = {
      // Attempt 1's row never gets through, and the lease is lost once the attempt ended.
      failRow: (r) => {
        if (attempt1Failed(r)) ended = true;
        return attempt1Failed(r);
      },
      refuseRenewal: () => ended,
    };
    await withScheduler(faults, async ({ scheduler, starts }) => {
      let lost = false;
      scheduler.on("run:lost", () => void (lost = true));
      await waitFor("attempt 1 found lost", () => lost, WAIT);
      await scheduler.stop();
      const first = starts[0];
      assert.equal(first?.attempt, 1);
      // The reaper may retry the run under a claim of its own (a new token); never under this one.
      assert.deepEqual(
        starts.filter((s) => s.token === first?.token).map((s) => s.attempt),
        [1],
        "no retry started under the lost claim",
      );
    });
  });
});
