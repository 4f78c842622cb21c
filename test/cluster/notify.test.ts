/**
 * Two Schedulers in one process, each on its own PostgresStore (own pool, own
 * LISTEN connection) on one schema: what node A does (register, replace,
 * pause, resume, trigger, unregister) takes effect on node B through
 * LISTEN/NOTIFY, and after B loses every connection (pg_terminate_backend) it
 * resyncs what it missed.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import pg from "pg";
import { Dispatcher } from "../../src/core/dispatcher.js";
import type { TaskSyncedEvent } from "../../src/events.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { recordingLogger } from "../helpers/scheduler.js";
import { requirePg, waitFor, withTestSchema } from "../helpers/pg.js";

const KEY = randomBytes(32);
const FAR = "0 0 1 1 *"; // once a year: nothing fires during the test unless triggered

interface Node {
  readonly scheduler: Scheduler;
  readonly store: PostgresStore;
  readonly pool: pg.Pool;
  readonly synced: TaskSyncedEvent[];
  readonly ran: string[];
  readonly dispatcher: Dispatcher;
}

function node(connectionString: string, schema: string, id: string): Node {
  const pool = new pg.Pool({ connectionString, application_name: `orch-test-${id}`, max: 4 });
  pool.on("error", () => undefined);
  const store = new PostgresStore({ pool, schema });
  const dispatcher = new Dispatcher();
  const scheduler = new Scheduler(dispatcher, {
    store,
    nodeId: id,
    encryptionKey: KEY,
    logger: recordingLogger(),
    timezone: "UTC",
    leaseMs: 5_000,
  });
  const ran: string[] = [];
  scheduler.defineHandler("work", (ctx) => {
    ran.push(`${ctx.taskName}@${ctx.scheduledAt.getTime()}`);
  });
  const synced: TaskSyncedEvent[] = [];
  scheduler.on("task:synced", (event) => synced.push(event));
  return { scheduler, store, pool, synced, ran, dispatcher };
}

async function close(n: Node): Promise<void> {
  await n.scheduler.stop();
  await n.store.close();
  await n.dispatcher.close();
  await n.pool.end();
}

if (await requirePg("cluster NOTIFY tests")) {
  describe("cluster: changes on node A take effect on node B (LISTEN/NOTIFY)", () => {
    const db = withTestSchema("orch_notify");
    const a = node(db.connectionString, db.name, "node-a");
    const b = node(db.connectionString, db.name, "node-b");
    after(async () => {
      await close(a);
      await close(b);
    });

    it("starts both nodes, B listening", async () => {
      await a.scheduler.start();
      await b.scheduler.start();
      await waitFor("B to listen", () => b.store.listening);
    });

    it("a task registered on A appears on B, with its schedule, payload and next run", async () => {
      await a.scheduler.registerTask("report", FAR, "work", { payload: { to: "ops" } });
      const seen = await waitFor("B to have the task", () => b.scheduler.getTask("report"));
      const onA = a.scheduler.getTask("report");
      assert.equal(seen.schedule, FAR);
      assert.deepEqual(seen.payload, { to: "ops" });
      assert.equal(seen.state, "active");
      assert.deepEqual(seen.nextRun, onA?.nextRun);
      assert.ok(b.synced.some((e) => e.taskName === "report" && e.change === "added"));
    });

    it("pausing on A pauses on B; resuming on A resumes on B", async () => {
      await a.scheduler.pauseTask("report");
      await waitFor("B to pause it", () => b.scheduler.getTask("report")?.state === "paused");
      assert.equal(b.scheduler.getTask("report")?.nextRun, null);
      await a.scheduler.resumeTask("report");
      await waitFor("B to resume it", () => b.scheduler.getTask("report")?.state === "active");
      assert.notEqual(b.scheduler.getTask("report")?.nextRun, null);
      const changes = b.synced.filter((e) => e.taskName === "report").map((e) => e.change);
      assert.deepEqual(changes, ["added", "paused", "resumed"]);
    });

    it("replacing the task on A replaces it on B", async () => {
      await a.scheduler.registerTask("report", "0 0 2 1 *", "work", {
        payload: { to: "dev" },
        replace: true,
      });
      await waitFor(
        "B to have the new definition",
        () => b.scheduler.getTask("report")?.schedule === "0 0 2 1 *",
      );
      assert.deepEqual(b.scheduler.getTask("report")?.payload, { to: "dev" });
    });

    it("a task triggered on A runs exactly once in the cluster, and B sees its history", async () => {
      const report = await a.scheduler.triggerTask("report");
      assert.equal(report.succeeded, 1);
      const rows = await waitFor("B to read the run", async () => {
        const history = await b.scheduler.history("report");
        return history.length > 0 ? history : undefined;
      });
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.status, "succeeded");
      assert.equal(rows[0]?.nodeId, "node-a");
      assert.equal(a.ran.length + b.ran.length, 1);
    });

    it("a task runs where it is due, once, whichever node claims it", async () => {
      await a.scheduler.registerTask("tick", "* * * * * *", "work");
      await waitFor("B to have tick", () => b.scheduler.getTask("tick"));
      await waitFor("three runs of tick", async () => {
        const history = await a.scheduler.history("tick");
        return history.filter((row) => row.status === "succeeded").length >= 3;
      });
      await a.scheduler.pauseTask("tick");
      await waitFor("B to pause tick", () => b.scheduler.getTask("tick")?.state === "paused");
      const history = await a.scheduler.history("tick", { limit: 1000 });
      const keys = history.map((row) => row.scheduledAt);
      assert.equal(new Set(keys).size, keys.length, "no occurrence ran twice");
      const ran = [...a.ran, ...b.ran].filter((key) => key.startsWith("tick@"));
      assert.equal(new Set(ran).size, ran.length, "no occurrence was executed by both nodes");
    });

    it("unregistering on A removes the task on B", async () => {
      await a.scheduler.unregisterTask("report");
      await waitFor("B to drop it", () => b.scheduler.getTask("report") === undefined);
      assert.ok(b.synced.some((e) => e.taskName === "report" && e.change === "removed"));
    });

    it("after B loses its connections (pg_terminate_backend), it reconnects and catches up on what it missed", async () => {
      const subscriptions = b.store.subscriptions;
      await db.admin.query(
        `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'orch-test-node-b'`,
      );
      // Changes made while B may be disconnected: delivered, or found by the resync after reconnection.
      await a.scheduler.registerTask("late", FAR, "work");
      await a.scheduler.resumeTask("tick");
      await waitFor("B to subscribe again", () => b.store.subscriptions > subscriptions, {
        timeoutMs: 30_000,
      });
      await waitFor("B to have late", () => b.scheduler.getTask("late"), { timeoutMs: 30_000 });
      await waitFor("B to resume tick", () => b.scheduler.getTask("tick")?.state === "active", {
        timeoutMs: 30_000,
      });
    });

    it("a run finishing on B after A paused the task does not undo the pause", async () => {
      await a.scheduler.registerTask("raced", FAR, "work");
      await waitFor("B to have raced", () => b.scheduler.getTask("raced"));
      const stale = await b.store.getTask("raced");
      assert.ok(stale !== undefined);
      await a.scheduler.pauseTask("raced");
      // B's progress write after a run it started before it heard of the pause (state still active).
      await b.store.updateTaskProgress(
        "raced",
        { ...stale, state: "active", lastStatus: "succeeded", runCount: 1 },
        { afterRun: true },
      );
      const stored = await a.store.getTask("raced");
      assert.equal(stored?.state, "paused");
      assert.equal(stored?.nextRunAt, null);
      assert.equal(stored?.runCount, 1);
      await waitFor("B to pause it", () => b.scheduler.getTask("raced")?.state === "paused");
      assert.equal(a.scheduler.getTask("raced")?.state, "paused");
      // An explicit resume still resumes.
      await b.scheduler.resumeTask("raced");
      await waitFor("A to resume it", () => a.scheduler.getTask("raced")?.state === "active");
    });

    it("resyncTasks() reads everything again and changes nothing when nothing changed", async () => {
      const before = b.synced.length;
      await b.scheduler.resyncTasks();
      assert.equal(b.synced.length, before);
      assert.deepEqual(
        b.scheduler
          .listTasks()
          .map((t) => t.name)
          .sort(),
        a.scheduler
          .listTasks()
          .map((t) => t.name)
          .sort(),
      );
    });
  });
}
