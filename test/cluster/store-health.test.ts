/**
 * Issue 13, item 17: a store that fails under a running scheduler (a real
 * Scheduler on a real SQLite file, real time, the real dashboard server for
 * `/readyz`). A full disk is the store's `maxSizeBytes` cap (PRAGMA
 * max_page_count: writes fail with SQLITE_FULL); a damaged file has a page
 * overwritten with garbage. What must hold: one log line when the store
 * becomes unusable and one when it is usable again (with counts), never a
 * "usable again" that is not true; `/readyz` 503 meanwhile; no task shown
 * running for nothing; a run whose end could not be written reaped once the
 * store works.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { StoreReconnectedEvent, StoreUnreachableEvent } from "../../src/events.js";
import { startHttpServer, type HttpServer } from "../../src/http/server.js";
import type { Scheduler } from "../../src/scheduler/index.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { RunRecord } from "../../src/store/store.js";
import { SystemClock } from "../../src/time/clock.js";
import { damageTable, realTimeScheduler, tempDb, withRawDb } from "../helpers/durable.js";
import { deferred } from "../helpers/events.js";
import { waitFor } from "../helpers/pg.js";

const cleanups: (() => Promise<void>)[] = [];
after(() => Promise.all(cleanups.map((cleanup) => cleanup())));

const WAIT = { timeoutMs: 30_000, intervalMs: 20 };
const FILLER = "filler";
/** The claims that fill the claims' table: sorted before "tick", of its length. */
const FILLER_CLAIMS = "fill";

interface Rig {
  readonly scheduler: Scheduler;
  readonly store: SqliteStore;
  readonly path: string;
  readonly logger: ReturnType<typeof realTimeScheduler>["logger"];
  readonly http: HttpServer;
  readonly unusable: StoreUnreachableEvent[];
  readonly usable: StoreReconnectedEvent[];
  readyz(): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Log lines whose message starts with `prefix`. */
  lines(prefix: string): number;
}

async function rig(options: { maxSizeBytes?: number; damage?: string } = {}): Promise<Rig> {
  const { path, cleanup } = await tempDb();
  if (options.damage !== undefined) {
    const seed = new SqliteStore({ path });
    await seed.open({ nodeId: "seed", clock: new SystemClock() });
    await seed.close();
    damageTable(path, options.damage);
  }
  const store = new SqliteStore({
    path,
    ...(options.maxSizeBytes === undefined ? {} : { maxSizeBytes: options.maxSizeBytes }),
  });
  const { scheduler, logger, dispatcher } = realTimeScheduler(store, {
    nodeId: "node-a",
    leaseMs: 1_000,
  });
  const unusable: StoreUnreachableEvent[] = [];
  const usable: StoreReconnectedEvent[] = [];
  scheduler.on("store:unreachable", (event) => unusable.push(event));
  scheduler.on("store:reconnected", (event) => usable.push(event));
  const http = await startHttpServer({ scheduler, port: 0, token: "t0ken-for-the-test" });
  cleanups.push(async () => {
    await http.close();
    await scheduler.stop();
    await store.close();
    await dispatcher.close();
    await cleanup();
  });
  return {
    scheduler,
    store,
    path,
    logger,
    http,
    unusable,
    usable,
    async readyz() {
      const response = await fetch(`${http.url}/readyz`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    lines: (prefix) => logger.entries.filter((entry) => entry.msg?.startsWith(prefix)).length,
  };
}

/** Writes history rows of a task no one runs, big then smaller, until not even a small one fits. */
async function fillTheDisk(store: SqliteStore): Promise<void> {
  let i = 0;
  for (const size of [60_000, 4_000, 400, 40]) {
    await fillWith(store, { text: "x".repeat(size) }, () => i++);
  }
}

async function fillWith(store: SqliteStore, output: unknown, next: () => number): Promise<void> {
  for (;;) {
    const i = next();
    try {
      await store.recordRun({
        taskName: FILLER,
        claimId: null,
        scheduledAt: i,
        startedAt: i,
        finishedAt: null,
        status: "succeeded",
        attempt: 1,
        nodeId: "filler",
        error: null,
        output,
      });
    } catch (error) {
      assert.equal((error as { cause?: { code?: string } }).cause?.code, "SQLITE_FULL");
      return;
    }
  }
}

/**
 * Fills what room the claims' table and indexes have left with claims of the
 * size of a run's claim (a four-letter task before "tick", this node, instants
 * and lease of its magnitude), until 200 tries in a row fail: no claim of the
 * task fits anywhere. Called while no claim is held, so that none is released
 * (and its room freed) afterwards.
 */
async function fillTheClaims(store: SqliteStore): Promise<void> {
  const base = Date.now();
  let failedInARow = 0;
  for (let i = 0; failedInARow < 200; i++) {
    try {
      await store.claimRun({
        taskName: FILLER_CLAIMS,
        scheduledAt: base + i * 1_000,
        nodeId: "node-a",
        leaseMs: 3_600_000,
      });
      failedInARow = 0;
    } catch (error) {
      assert.equal((error as { cause?: { code?: string } }).cause?.code, "SQLITE_FULL");
      failedInARow++;
    }
  }
}

/** Frees the room the fillers took (from another connection, as an operator would). */
function clearTheDisk(path: string): void {
  withRawDb(path, (db) => {
    db.prepare("DELETE FROM run_history WHERE task_name = ?").run(FILLER);
    db.prepare("DELETE FROM claims WHERE task_name = ?").run(FILLER_CLAIMS);
  });
}

/** How many claims the file holds (read from another connection). */
function claimsHeld(path: string): number {
  return withRawDb(
    path,
    (db) => (db.prepare("SELECT count(*) AS n FROM claims").get() as { n: number }).n,
  );
}

function rows(runs: RunRecord[], status: RunRecord["status"]): RunRecord[] {
  return runs.filter((run) => run.taskName !== FILLER && run.status === status);
}

describe("store health under a running scheduler", () => {
  it("a full disk: one line when unusable, one when usable again, /readyz 503 meanwhile, no flapping", async () => {
    const r = await rig({ maxSizeBytes: 512 * 1024 });
    r.scheduler.defineHandler("tick", () => {});
    await r.scheduler.registerTask("tick", { every: 100 }, "tick");
    await r.scheduler.start();
    assert.equal((await r.readyz()).status, 200);
    await waitFor(
      "a few runs recorded",
      async () => rows(await r.scheduler.history("tick"), "succeeded").length >= 3,
      WAIT,
    );

    // The disk fills while no claim is held: none is released later, freeing room in
    // which a claim would fit while history rows do not (the store usable for a moment).
    await r.scheduler.pauseTask("tick");
    await waitFor("no claim held", () => claimsHeld(r.path) === 0, WAIT);
    await fillTheDisk(r.store);
    await fillTheClaims(r.store);
    await r.scheduler.resumeTask("tick");
    await waitFor("the store found unusable", () => r.unusable.length > 0, WAIT);
    // Due runs keep coming and failing, for a second at least (10 at 100 ms).
    await waitFor("due runs not started", () => r.scheduler.storeStatus.runsNotStarted >= 10, WAIT);
    const ready = await r.readyz();
    assert.equal(ready.status, 503);
    assert.equal(ready.body.reason, "store-unusable");
    assert.equal(ready.body.store, "full");
    assert.equal(r.scheduler.storeStatus.reason, "full");
    // Claims fail at once on a full disk: nothing waits for them, nothing is shown running.
    assert.equal(r.scheduler.getTask("tick")?.running, false);
    assert.equal(r.unusable.length, 1);
    assert.equal(r.usable.length, 0);
    assert.equal(r.lines("Store unusable (the disk is full)"), 1);
    assert.equal(r.lines("Store usable again"), 0);
    assert.equal(r.lines("Could not claim"), 0);

    clearTheDisk(r.path);
    const back = await waitFor("the store usable again", () => r.usable[0], WAIT);
    assert.ok(back.failures >= 1);
    assert.ok(back.runsNotStarted >= 10);
    assert.equal((await r.readyz()).status, 200);
    const since = rows(await r.scheduler.history("tick", { limit: 1000 }), "succeeded").length;
    await waitFor(
      "runs recorded again",
      async () =>
        rows(await r.scheduler.history("tick", { limit: 1000 }), "succeeded").length >= since + 3,
      WAIT,
    );
    assert.equal(r.unusable.length, 1);
    assert.equal(r.usable.length, 1);
    assert.equal(r.lines("Store unusable"), 1);
    const again = r.logger.entries.filter((entry) => entry.msg?.startsWith("Store usable again"));
    assert.equal(again.length, 1);
    assert.match(again[0]?.msg ?? "", /\d+ failed attempts?, \d+ due runs? not started/);
  });

  it("a run whose end cannot be written is not shown running, and its result is written once there is room", async () => {
    const r = await rig({ maxSizeBytes: 512 * 1024 });
    const started = deferred();
    const release = deferred();
    let calls = 0;
    r.scheduler.defineHandler("slow", async () => {
      calls++;
      started.resolve();
      await release.promise;
      return { answer: 42 };
    });
    await r.scheduler.registerTask("slow", new Date(Date.now() + 200), "slow");
    await r.scheduler.start();
    await started.promise;
    await fillTheDisk(r.store);
    release.resolve();

    await waitFor("the store found unusable", () => r.unusable.length > 0, WAIT);
    assert.equal(r.scheduler.getTask("slow")?.running, false);
    assert.equal((await r.readyz()).status, 503);
    assert.deepEqual(await r.scheduler.history("slow"), []);
    // The result waits in memory (its claim held) and is tried again at each backoff step.
    const failures = r.scheduler.storeStatus.failures;
    await waitFor("another attempt", () => r.scheduler.storeStatus.failures > failures, WAIT);

    clearTheDisk(r.path);
    await waitFor("the store usable again", () => r.usable.length > 0, WAIT);
    const history = await r.scheduler.history("slow");
    assert.deepEqual(
      history.map((run) => [run.status, run.attempt, run.output]),
      [["succeeded", 1, { answer: 42 }]],
    );
    assert.equal(calls, 1);
    assert.equal((await r.readyz()).status, 200);
    assert.equal(r.lines("Store unusable"), 1);
    assert.equal(r.lines("Store usable again"), 1);
    // Its claim was released with the row: nothing left to reap.
    assert.deepEqual(
      withRawDb(r.path, (db) => db.prepare("SELECT count(*) AS n FROM claims").get()),
      { n: 0 },
    );
  });

  it("a damaged page under the claims: one line, /readyz 503, nothing claimed, nothing shown running", async () => {
    const r = await rig({ damage: "claims" });
    r.scheduler.defineHandler("tick", () => {});
    await r.scheduler.registerTask("tick", { every: 100 }, "tick");
    await r.scheduler.start();
    await waitFor("the store found unusable", () => r.unusable.length > 0, WAIT);
    await waitFor("due runs not started", () => r.scheduler.storeStatus.runsNotStarted >= 10, WAIT);
    const ready = await r.readyz();
    assert.equal(ready.status, 503);
    assert.equal(ready.body.store, "corrupt");
    assert.equal(r.scheduler.getTask("tick")?.running, false);
    assert.equal(r.scheduler.getTask("tick")?.runCount, 0);
    assert.equal(r.lines("Store unusable (the database is damaged)"), 1);
    assert.equal(r.lines("Store usable again"), 0);
    assert.equal(r.unusable.length, 1);
  });
});
