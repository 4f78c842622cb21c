/**
 * PostgresStore.finishRuns beyond the shared contract: the progress it
 * writes follows `updateTaskProgress(…, { afterRun: true })` (a task paused
 * by another node stays paused; a change of state is announced to the other
 * nodes, a mere run is not), and batches of two nodes over the same tasks,
 * sent at once in opposite orders, never deadlock; and its plan never
 * rescans one of its CTEs per row of another (n² rows for a batch of n).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { finishRuns, finishRunsParams } from "../../src/store/postgres/finish-queries.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { quoteSchema } from "../../src/store/postgres/queries.js";
import type { Claim, FinishRequest, StoreChange, TaskProgress } from "../../src/store/store.js";
import { SystemClock } from "../../src/time/clock.js";
import { requirePg, waitFor, withTestSchema } from "../helpers/pg.js";
import { runRecord, taskRecord } from "./contract-helpers.js";

if (await requirePg("PostgresStore finishRuns tests")) {
  describe("PostgresStore finishRuns", () => {
    const db = withTestSchema("orch_finishruns");
    const opened: PostgresStore[] = [];
    after(async () => {
      await Promise.all(opened.map((store) => store.close()));
    });

    async function open(nodeId: string): Promise<PostgresStore> {
      const store = new PostgresStore({
        connectionString: db.connectionString,
        schema: db.name,
        maxConnections: 4,
      });
      opened.push(store);
      await store.open({ nodeId, clock: new SystemClock() });
      return store;
    }

    async function claim(store: PostgresStore, taskName: string, at: number, nodeId: string) {
      const got = await store.claimRun({ taskName, scheduledAt: at, nodeId, leaseMs: 60_000 });
      assert.ok(got !== null);
      return got;
    }

    function finish(c: Claim, progress?: TaskProgress): FinishRequest {
      return {
        record: runRecord(c.taskName, c.scheduledAt, { claimId: c.id, nodeId: c.nodeId }),
        claim: c,
        release: true,
        ...(progress === undefined ? {} : { progress }),
      };
    }

    const active = (runCount: number, at: number): TaskProgress => ({
      state: "active",
      nextRunAt: at + 1000,
      lastRunAt: at,
      lastStatus: "succeeded",
      runCount,
    });

    it("keeps a task another node paused meanwhile paused, with no next run", async () => {
      const a = await open("node-a");
      const t0 = await a.now();
      await a.putTask(taskRecord("paused-meanwhile"), { replace: false });
      const c = await claim(a, "paused-meanwhile", t0, "node-a");
      const stored = await a.getTask("paused-meanwhile");
      assert.ok(stored !== undefined);
      await a.updateTaskProgress("paused-meanwhile", {
        ...stored,
        state: "paused",
        nextRunAt: null,
      });
      assert.deepEqual(await a.finishRuns([finish(c, active(1, t0))]), [true]);
      const after = await a.getTask("paused-meanwhile");
      assert.equal(after?.state, "paused");
      assert.equal(after?.nextRunAt, null);
      assert.equal(after?.runCount, 1, "the run itself still counts");
    });

    it("announces a change of state to the other nodes, and not a mere run", async () => {
      const a = await open("node-a2");
      const b = await open("node-b2");
      const seen: StoreChange[] = [];
      b.watch((change) => seen.push(change));
      await b.whenListening();
      const t0 = await a.now();
      await a.putTask(taskRecord("ran"), { replace: false });
      await a.putTask(taskRecord("completed"), { replace: false });
      await waitFor("the puts to be announced", () => seen.length >= 2);
      seen.length = 0;
      const ran = await claim(a, "ran", t0, "node-a2");
      const done = await claim(a, "completed", t0, "node-a2");
      await a.finishRuns([
        finish(ran, active(1, t0)),
        finish(done, { ...active(1, t0), state: "completed", nextRunAt: null }),
      ]);
      await waitFor("the completion to be announced", () =>
        seen.some((change) => change.taskName === "completed"),
      );
      // A marker after the batch: once it arrives, anything the batch sent has too.
      await a.notify({ kind: "trigger", taskName: "marker" });
      await waitFor("the marker", () => seen.some((change) => change.taskName === "marker"));
      assert.deepEqual(
        seen.map((change) => change.taskName),
        ["completed", "marker"],
      );
    });

    it("batches of two nodes over the same tasks, in opposite orders, all complete", async () => {
      const a = await open("node-a3");
      const b = await open("node-b3");
      const t0 = await a.now();
      const names = Array.from({ length: 40 }, (_, i) => `shared-${i}`);
      for (const name of names) await a.putTask(taskRecord(name), { replace: false });
      for (let round = 0; round < 10; round++) {
        const at = t0 + round * 2000;
        const mine = await Promise.all(names.map((name) => claim(a, name, at, "node-a3")));
        const theirs = await Promise.all(names.map((name) => claim(b, name, at + 1000, "node-b3")));
        const [fromA, fromB] = await Promise.all([
          a.finishRuns(mine.map((c, i) => finish(c, active(round * 2 + 1, at + i)))),
          b.finishRuns(
            theirs.reverse().map((c, i) => finish(c, active(round * 2 + 2, at + 1000 + i))),
          ),
        ]);
        assert.ok(fromA.every(Boolean) && fromB.every(Boolean), `round ${round}`);
      }
      const rows = await a.history({ limit: 10_000 });
      assert.equal(rows.filter((row) => row.taskName.startsWith("shared-")).length, 800);
    });

    it("plans a batch without rescanning a CTE per row of anything (no n² join)", async () => {
      // The planner guesses 1 row for a CTE, so what it picks for a join with one depends
      // on statistics it cannot foresee: once, on a busy cluster, the statement joined its
      // progress CTE again as the inner side of a nested loop, and 3,000 finishes compared
      // 9 million rows (3.7 s). With nested loops forced here, every join must go through
      // an index: none may rescan a CTE (or a table) per row.
      const a = await open("node-plan");
      const count = 300;
      const t0 = Math.ceil((await a.now()) / 1000) * 1000;
      for (let i = 0; i < count; i++) await a.putTask(taskRecord(`plan-${i}`), { replace: false });
      const batch = async (at: number): Promise<FinishRequest[]> => {
        const claims = await a.claimRuns(
          Array.from({ length: count }, (_, i) => ({
            taskName: `plan-${i}`,
            scheduledAt: at,
            nodeId: "node-plan",
            leaseMs: 60_000,
            exclusive: true,
          })),
        );
        return claims.map((c, i) => finish(c!, active(i + 1, at)));
      };
      for (let k = 0; k < 3; k++) await a.finishRuns(await batch(t0 + k * 1000));
      const params = finishRunsParams(await batch(t0 + 3000), "orch_changes", (name) => name);
      const client = await db.admin.connect();
      let plan: PlanNode;
      try {
        await client.query(
          `analyze "${db.name}".tasks, "${db.name}".claims, "${db.name}".task_runners`,
        );
        await client.query("set enable_hashjoin = off; set enable_mergejoin = off");
        const { rows } = await client.query(
          `explain (format json) ${finishRuns(quoteSchema(db.name))}`,
          params,
        );
        plan = (rows[0] as { "QUERY PLAN": { Plan: PlanNode }[] })["QUERY PLAN"][0]!.Plan;
      } finally {
        await client.query("reset all").catch(() => undefined);
        client.release();
      }
      const rescans: string[] = [];
      const walk = (node: PlanNode): void => {
        const inner = node.Plans?.find((child) => child["Parent Relationship"] === "Inner");
        const scanned = inner?.["Node Type"] === "CTE Scan" || inner?.["Node Type"] === "Seq Scan";
        if (node["Node Type"] === "Nested Loop" && scanned) {
          const what = inner["CTE Name"] ?? inner["Relation Name"];
          rescans.push(`${what} rescanned per row of ${node.Plans?.[0]?.["Node Type"]}`);
        }
        node.Plans?.forEach(walk);
      };
      walk(plan);
      assert.deepEqual(rescans, []);
    });
  });
}

interface PlanNode {
  readonly "Node Type": string;
  readonly "Parent Relationship"?: string;
  readonly "CTE Name"?: string;
  readonly "Relation Name"?: string;
  readonly Plans?: readonly PlanNode[];
}
