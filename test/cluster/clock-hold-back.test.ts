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
