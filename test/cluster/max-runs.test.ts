/**
 * Issue 15: `maxRuns` counts across the cluster, not per node. Three
 * Schedulers share one PostgreSQL schema and a task every second with
 * `maxRuns: 5`: exactly five runs start in all (each node counting only its
 * own runs started up to fifteen), and every node then holds the task
 * `completed`; a restarted node registering it again does not start afresh.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { Scheduler } from "../../src/scheduler/index.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { ManualClock } from "../../src/time/clock.js";
import { requirePg, withTestSchema } from "../helpers/pg.js";
import { silentLogger } from "../../src/logger.js";

const KEY = randomBytes(32);
const START = "2030-01-01T00:00:00.500Z";

if (await requirePg("cluster maxRuns test")) {
  describe("cluster: maxRuns", () => {
    const db = withTestSchema("orch_maxruns");
    const closers: (() => Promise<void>)[] = [];
    after(async () => {
      for (const close of closers.reverse()) await close();
    });

    function node(index: number) {
      const clock = new ManualClock(START);
      const store = new PostgresStore({ connectionString: db.connectionString, schema: db.name });
      const dispatcher = new Dispatcher();
      const scheduler = new Scheduler(dispatcher, {
        store,
        clock,
        nodeId: `node-${index}`,
        encryptionKey: KEY,
        logger: silentLogger,
        timezone: "UTC",
      });
      closers.push(async () => {
        await scheduler.stop();
        await store.close();
        await dispatcher.close();
      });
      return { scheduler, clock };
    }

    it("starts exactly maxRuns runs across three nodes, then every node completes the task", async () => {
      const nodes = [node(0), node(1), node(2)];
      const ran: string[] = [];
      for (const [index, { scheduler }] of nodes.entries()) {
        scheduler.defineHandler("count", (ctx) => {
          ran.push(`node-${index}@${ctx.scheduledAt.toISOString()}`);
        });
      }
      const [first, ...others] = nodes;
      await first!.scheduler.runPending(); // opens the store
      await first!.scheduler.registerTask("five", "* * * * * *", "count", { maxRuns: 5 });
      // The others load it from the store as they open it.
      for (const { scheduler } of others) await scheduler.runPending();
      for (const { scheduler } of nodes) assert.equal(scheduler.getTask("five")?.state, "active");
      // Twelve seconds, every node asking for every second's run at once.
      for (let second = 1; second <= 12; second++) {
        const at = Date.parse(START) + second * 1000;
        await Promise.all(nodes.map(({ scheduler }) => scheduler.advanceTo(at)));
      }
      const history = await nodes[0]!.scheduler.history("five", { limit: 100 });
      const succeeded = history.filter((run) => run.status === "succeeded");
      assert.equal(succeeded.length, 5, `runs: ${ran.join(", ")}`);
      assert.equal(ran.length, 5, `runs: ${ran.join(", ")}`);
      for (const { scheduler } of nodes)
        assert.equal(scheduler.getTask("five")?.state, "completed");

      // A restarted node registers the task again (as a daemon does from its schedule
      // file): the count is the store's, so it does not start maxRuns afresh.
      const restarted = node(3);
      restarted.clock.set(Date.parse(START) + 20_000);
      restarted.scheduler.defineHandler("count", (ctx) => {
        ran.push(`node-3@${ctx.scheduledAt.toISOString()}`);
      });
      await restarted.scheduler.runPending();
      await restarted.scheduler.registerTask("five", "* * * * * *", "count", {
        maxRuns: 5,
        replace: true,
      });
      // Its registration starts the task afresh here (active, nothing started by this node).
      assert.equal(restarted.scheduler.getTask("five")?.state, "active");
      for (let second = 21; second <= 23; second++)
        await restarted.scheduler.advanceTo(Date.parse(START) + second * 1000);
      assert.equal(ran.length, 5, `runs: ${ran.join(", ")}`);
      assert.equal(restarted.scheduler.getTask("five")?.state, "completed");
    });
  });
}
