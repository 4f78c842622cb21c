/**
 * Issue 17, fewer commits per run: on PostgreSQL the ends of runs (fenced
 * history row, claim release, the task's progress) are written in batches,
 * one statement each, and no progress statement of its own follows a run.
 * What `list`, the dashboard and a restarted node read stays right: the
 * progress the last run left. `stop()` returns only once every batched
 * finish is written.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import pg from "pg";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { silentLogger } from "../../src/logger.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { ManualClock, type Clock } from "../../src/time/clock.js";
import { requirePg, waitFor, withTestSchema } from "../helpers/pg.js";
import { countStatements } from "../helpers/pg-statements.js";

const KEY = randomBytes(32);
const START = Date.parse("2030-01-01T00:00:00.500Z");
const SECOND = 1000;

if (await requirePg("batched finish test")) {
  describe("cluster: batched finishes", () => {
    const db = withTestSchema("orch_finish");
    const closers: (() => Promise<void>)[] = [];
    after(async () => {
      for (const close of closers.reverse()) await close();
    });

    function node(nodeId: string, schema: string, clock?: Clock) {
      const pool = new pg.Pool({ connectionString: db.connectionString, max: 4 });
      pool.on("error", () => undefined);
      const statements = countStatements(pool);
      const store = new PostgresStore({ pool, schema });
      const dispatcher = new Dispatcher();
      const scheduler = new Scheduler(dispatcher, {
        store,
        ...(clock === undefined ? {} : { clock }),
        nodeId,
        encryptionKey: KEY,
        logger: silentLogger,
        timezone: "UTC",
      });
      scheduler.defineHandler("ok", () => {});
      scheduler.defineHandler("fails", () => {
        throw new Error("no");
      });
      let closed = false;
      const close = async (): Promise<void> => {
        if (closed) return;
        closed = true;
        await scheduler.stop();
        await store.close();
        await pool.end();
        await dispatcher.close();
      };
      closers.push(close);
      return { scheduler, store, statements, close };
    }

    it("writes progress with the rows, one statement per batch; a restarted node reads it", async () => {
      const clock = new ManualClock(START);
      const a = node("node-a", db.name, clock);
      await a.scheduler.runPending(); // opens the store
      await a.scheduler.registerTask("ok-1", "* * * * * *", "ok");
      await a.scheduler.registerTask("ok-2", "* * * * * *", "ok");
      await a.scheduler.registerTask("fails", "* * * * * *", "fails", { retries: 0 });
      a.statements.reset();
      for (let second = 1; second <= 5; second++)
        await a.scheduler.advanceTo(START + second * SECOND);
      await a.scheduler.stop();
      const counted = Object.fromEntries(a.statements.byKey);
      assert.equal(counted.updateTaskProgress ?? 0, 0, JSON.stringify(counted));
      assert.ok((counted.finishRuns ?? 0) >= 1, JSON.stringify(counted));
      assert.ok(
        (counted.finishRuns ?? 0) <= 5,
        `one batch per instant at most: ${JSON.stringify(counted)}`,
      );
      const lastAt = Date.parse("2030-01-01T00:00:05.000Z");
      for (const name of ["ok-1", "ok-2", "fails"]) {
        const stored = await a.store.getTask(name);
        const memory = a.scheduler.getTask(name);
        assert.equal(stored?.runCount, 5, name);
        assert.equal(stored?.runCount, memory?.runCount, name);
        assert.equal(stored?.lastStatus, name === "fails" ? "failed" : "succeeded", name);
        assert.equal(stored?.lastRunAt, memory?.lastRun?.getTime(), name);
        assert.ok((stored?.lastRunAt ?? 0) >= lastAt, name);
        assert.equal(stored?.nextRunAt, lastAt + SECOND, name);
        assert.equal((await a.store.history({ taskName: name })).length, 5, name);
      }
      await a.close();

      // A restarted node (same id, the first one gone) reads what the last runs left.
      const again = node("node-a", db.name, new ManualClock(START + 5 * SECOND + 100));
      await again.scheduler.runPending();
      for (const name of ["ok-1", "ok-2", "fails"]) {
        const info = again.scheduler.getTask(name);
        assert.equal(info?.runCount, 5, name);
        assert.equal(info?.lastStatus, name === "fails" ? "failed" : "succeeded", name);
        assert.ok((info?.lastRun?.getTime() ?? 0) >= lastAt, name);
      }
      await again.close();
    });

    it("stop() returns once every run started is written, with its task's progress", async () => {
      const schema = db.freshName();
      const a = node("node-real", schema);
      const started: string[] = [];
      a.scheduler.defineHandler("tick", (ctx) => {
        started.push(`${ctx.taskName}@${ctx.scheduledAt.getTime()}`);
      });
      for (let i = 0; i < 20; i++) await a.scheduler.registerTask(`t${i}`, "* * * * * *", "tick");
      await a.scheduler.start();
      await waitFor("three instants of runs", () => started.length >= 60, { timeoutMs: 30_000 });
      await a.scheduler.stop();
      const rows = await a.store.history({ limit: 10_000 });
      const written = new Set(rows.map((row) => `${row.taskName}@${row.scheduledAt}`));
      assert.deepEqual(
        started.filter((key) => !written.has(key)),
        [],
        "every run started has its row",
      );
      for (let i = 0; i < 20; i++) {
        const name = `t${i}`;
        assert.equal((await a.store.getTask(name))?.runCount, a.scheduler.getTask(name)?.runCount);
      }
      assert.equal(a.statements.byKey.get("updateTaskProgress") ?? 0, 0);
    });
  });
}
