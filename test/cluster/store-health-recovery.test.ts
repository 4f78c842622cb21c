/**
 * The store health gate after a lost connection (issue 17, admission by
 * task). While the store is unusable, a task whose missed row waits in the
 * gate is held back, so no claim is made until the row is written. The
 * outage used to end only once every kind of call that had failed (claims
 * too) succeeded again: after a PostgreSQL crash the rows trickled through
 * one per backoff step and no claim came, and the fault suite's
 * `pg-restart` at 5,000 tasks left 8,407 slots without a row. A lost
 * connection now ends with the first call the database answers, as the
 * gate's own ping of the database already did when nobody waited.
 *
 * Real connections: a pool to a port nobody listens on (refused), and the
 * test server.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import pg from "pg";
import { StoreHealth } from "../../src/cluster/store-health.js";
import type { SchedulerEvents } from "../../src/events.js";
import { silentLogger } from "../../src/logger.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { RunRecord } from "../../src/store/store.js";
import { SystemClock } from "../../src/time/clock.js";
import { tempDb } from "../helpers/durable.js";
import { PG_URL, requirePg } from "../helpers/pg.js";

if (await requirePg("store health recovery test")) {
  describe("store health after a lost connection", () => {
    it("is usable again once a write goes through, though no claim has been tried since", async () => {
      const refused = new pg.Pool({
        connectionString: "postgres://postgres@127.0.0.1:1/test",
        connectionTimeoutMillis: 1_000,
      });
      const live = new pg.Pool({ connectionString: PG_URL, max: 1 });
      const events: (keyof SchedulerEvents)[] = [];
      const health = new StoreHealth({
        store: new MemoryStore(),
        clock: new SystemClock(),
        logger: silentLogger,
        giveUpMs: 300,
        emit: (event, ..._payload) => void events.push(event),
      });
      // The gate's timers are unref'd (a scheduler keeps the process alive, not the gate).
      const alive = setInterval(() => undefined, 1_000);
      try {
        // A claim fails on a refused connection, and gives up (past giveUpMs).
        await assert.rejects(
          health.call("claim", () => refused.query("select 1"), { runs: 1 }),
          /ECONNREFUSED|connect/,
        );
        assert.equal(health.reachable, false);
        assert.equal(health.status.reason, "unreachable");
        // A row waiting for the store is then written: the database answers again.
        await health.call("finish", () => live.query("select 1"), { holds: () => true });
        assert.equal(health.reachable, true, "the outage ended with the write");
        assert.deepEqual(events, ["store:unreachable", "store:reconnected"]);
      } finally {
        clearInterval(alive);
        health.stop();
        await refused.end();
        await live.end();
      }
    });
  });
}

describe("store health after a write lock", () => {
  it("is usable again once the kind of write that failed goes through outside the gate", async () => {
    // A run's end was given up (its lease lost) while another process held SQLite's write
    // lock; later ends were written at once, not through the gate. The outage waited for a
    // finishing write through the gate that never came, so reaping (which waits for a
    // usable store) never resumed, and the run given up was left with no row.
    const db = await tempDb();
    const store = new SqliteStore({ path: db.path, busyTimeoutMs: 50 });
    await store.open({ nodeId: "n1", clock: new SystemClock() });
    const lock = new Database(db.path);
    const events: (keyof SchedulerEvents)[] = [];
    const health = new StoreHealth({
      store,
      clock: new SystemClock(),
      logger: silentLogger,
      giveUpMs: 300,
      emit: (event, ..._payload) => void events.push(event),
    });
    const row = (scheduledAt: number): RunRecord => ({
      taskName: "t",
      claimId: null,
      scheduledAt,
      startedAt: null,
      finishedAt: null,
      status: "missed",
      attempt: 1,
      nodeId: "n1",
      error: null,
    });
    const alive = setInterval(() => undefined, 1_000);
    try {
      lock.exec("BEGIN IMMEDIATE");
      await assert.rejects(
        health.call("finish", () => store.recordRun(row(1_000)), { holds: () => false }),
        /locked/,
      );
      lock.exec("COMMIT");
      // A claim goes through the gate: claims work, finishing writes have not been seen to.
      await health.call("claim", () => store.recordRun(row(2_000)));
      assert.equal(health.reachable, false);
      // A finishing write goes through at once, outside the gate, and says so.
      await store.recordRun(row(3_000));
      health.succeeded("finish");
      assert.equal(health.reachable, true, "the outage ended with the write");
      assert.deepEqual(events, ["store:unreachable", "store:reconnected"]);
      health.succeeded("finish");
      assert.deepEqual(
        events,
        ["store:unreachable", "store:reconnected"],
        "nothing more when usable",
      );
    } finally {
      clearInterval(alive);
      health.stop();
      if (lock.inTransaction) lock.exec("ROLLBACK");
      lock.close();
      await store.close();
      await db.cleanup();
    }
  });
});
