/**
 * Nothing starts before its instant by the store's clock: a node whose clock
 * is ahead of the store's (3 s here, through the `clock` option) is held back
 * by as much, on SQLite (the machine's clock) and on PostgreSQL (the database
 * clock); one behind only runs late. Real clocks, real stores.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { Dispatcher } from "../../src/core/dispatcher.js";
import type { ClockSkewEvent } from "../../src/events.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { SystemClock, type Clock } from "../../src/time/clock.js";
import { tempDb } from "../helpers/durable.js";
import { requirePg, withTestSchema } from "../helpers/pg.js";
import { recordingLogger } from "../helpers/scheduler.js";

const KEY = randomBytes(32);
const AHEAD_MS = 3_000;

/** The system clock moved by `offsetMs`: a node whose clock is wrong. */
class OffsetClock implements Clock {
  readonly #system = new SystemClock();
  readonly #offsetMs: number;
  constructor(offsetMs: number) {
    this.#offsetMs = offsetMs;
  }
  now(): Date {
    return new Date(this.nowMs());
  }
  nowMs(): number {
    return this.#system.nowMs() + this.#offsetMs;
  }
  monotonicMs(): number {
    return this.#system.monotonicMs();
  }
}

/**
 * Runs a task due 1 s from now by the node's clock (2 s before now by the
 * store's, when the node is 3 s ahead) on `store`, and returns by how much
 * its start preceded its instant by the store's clock (negative: early).
 */
async function startLead(
  store: Store,
  storeNowMs: () => number,
): Promise<{
  leadMs: number;
  warnings: ClockSkewEvent[];
}> {
  const dispatcher = new Dispatcher();
  const clock = new OffsetClock(AHEAD_MS);
  const scheduler = new Scheduler(dispatcher, {
    store,
    clock,
    nodeId: "ahead",
    encryptionKey: KEY,
    logger: recordingLogger(),
    timezone: "UTC",
  });
  const warnings: ClockSkewEvent[] = [];
  scheduler.on("clock:skew", (event) => warnings.push(event));
  try {
    let started: (at: number) => void = () => {};
    const ran = new Promise<number>((resolve) => (started = resolve));
    scheduler.defineHandler("probe", (ctx) => started(storeNowMs() - ctx.scheduledAt.getTime()));
    await scheduler.start();
    await scheduler.registerTask("probe", new Date(clock.nowMs() + 1_000), "probe");
    return { leadMs: await ran, warnings };
  } finally {
    await scheduler.stop();
    await store.close();
    await dispatcher.close();
  }
}

describe("a node whose clock is ahead is held back", () => {
  it("on SQLite: no run starts before its instant by the machine's clock", async () => {
    const db = await tempDb();
    try {
      const { leadMs, warnings } = await startLead(new SqliteStore({ path: db.path }), () =>
        Date.now(),
      );
      assert.ok(leadMs >= 0, `started ${-leadMs} ms before its instant`);
      assert.equal(warnings.length, 1, "and it says so");
      assert.ok((warnings[0]?.skewMs ?? 0) < -AHEAD_MS + 100);
    } finally {
      await db.cleanup();
    }
  });
});

/**
 * A task every second from 1.5 s from now by the store's clock, registered
 * before start (as a restarted node has its tasks): the timer wakes at each
 * instant by the held-back clock, and what is due then must be judged by that
 * clock too, not by the node's own (3 s ahead: three more slots "due" and the
 * first ones "missed"). Resolves with the first `count` starts.
 */
async function firstStarts(
  store: Store,
  count: number,
): Promise<{ starts: { scheduledAt: number; startedAt: number }[]; missed: number }> {
  const dispatcher = new Dispatcher();
  const scheduler = new Scheduler(dispatcher, {
    store,
    clock: new OffsetClock(AHEAD_MS),
    nodeId: "ahead",
    encryptionKey: KEY,
    logger: recordingLogger(),
    timezone: "UTC",
  });
  const starts: { scheduledAt: number; startedAt: number }[] = [];
  let missed = 0;
  try {
    let enough: () => void = () => {};
    const done = new Promise<void>((resolve) => (enough = resolve));
    // Ends after `count` occurrences, run or missed.
    scheduler.on("run:missed", (event) => {
      missed += event.count;
      if (starts.length + missed >= count) enough();
    });
    scheduler.defineHandler("tick", (ctx) => {
      starts.push({ scheduledAt: ctx.scheduledAt.getTime(), startedAt: Date.now() });
      if (starts.length + missed >= count) enough();
    });
    const startAt = Math.ceil(Date.now() / 1000) * 1000 + 1_500;
    await scheduler.registerTask("tick", "* * * * * *", "tick", { startAt });
    await scheduler.start();
    await done;
    return { starts: starts.slice(0, count), missed };
  } finally {
    await scheduler.stop();
    await store.close();
    await dispatcher.close();
  }
}

describe("a node whose clock is ahead judges what is due by the held-back clock", () => {
  it("on SQLite: every run starts at or after its instant, and none is missed", async () => {
    const db = await tempDb();
    try {
      const { starts, missed } = await firstStarts(new SqliteStore({ path: db.path }), 3);
      for (const { scheduledAt, startedAt } of starts) {
        assert.ok(
          startedAt >= scheduledAt,
          `the run of ${new Date(scheduledAt).toISOString()} started ${scheduledAt - startedAt} ms early`,
        );
      }
      assert.equal(missed, 0, "no occurrence counted missed");
    } finally {
      await db.cleanup();
    }
  });
});

if (await requirePg("clock hold-back on PostgreSQL")) {
  describe("a node whose clock is ahead is held back (PostgreSQL)", () => {
    const db = withTestSchema("orch_holdback");

    it("no run starts before its instant by the database clock", async () => {
      const store = new PostgresStore({ connectionString: db.connectionString, schema: db.name });
      // The database clock, read once: its offset to this machine's (the same host) is ~0.
      const { leadMs, warnings } = await startLead(store, () => Date.now());
      assert.ok(leadMs >= 0, `started ${-leadMs} ms before its instant`);
      assert.equal(warnings.length, 1);
    });
  });
}
