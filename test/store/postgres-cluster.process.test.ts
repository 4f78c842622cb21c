/**
 * Three node processes claim the same runs on one schema; one is SIGKILLed
 * mid-way. From the history: every (task, time) has exactly one row, either
 * succeeded (run by exactly one node) or interrupted (in flight on the killed
 * node, found by another node through its expired lease). Store level: the
 * scheduler-level cluster test builds on this.
 */
import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { SystemClock } from "../../src/time/clock.js";
import { requirePg, waitFor, withTestSchema } from "../helpers/pg.js";

const NODE_SCRIPT = fileURLToPath(new URL("./postgres-cluster-node.ts", import.meta.url));
const TASKS = 10;
const OCCURRENCES = 40;
const LEASE_MS = 1000;

interface Node {
  readonly id: string;
  readonly child: ChildProcess;
  readonly won: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; done: boolean }>;
}

function startNode(schema: string, id: string): Node {
  const child = fork(
    NODE_SCRIPT,
    [schema, id, String(TASKS), String(OCCURRENCES), String(LEASE_MS)],
    {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  const won: string[] = [];
  let done = false;
  child.on("message", (message: { won?: string; done?: boolean }) => {
    if (message.won !== undefined) won.push(message.won);
    if (message.done === true) done = true;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; done: boolean }>(
    (resolve) => child.once("exit", (code, signal) => resolve({ code, signal, done })),
  );
  return { id, child, won, exited };
}

if (await requirePg("PostgreSQL cluster tests")) {
  describe("PostgresStore cluster (child processes)", () => {
    const db = withTestSchema("orch_cluster");

    it("gives every (task, time) exactly one history row when a node is SIGKILLed mid-way", async (t) => {
      const reaper = new PostgresStore({ connectionString: db.connectionString, schema: db.name });
      await reaper.open({ nodeId: "reaper", clock: new SystemClock() }); // migrates before the nodes start
      const nodes = ["node-0", "node-1", "node-2"].map((id) => startNode(db.name, id));
      try {
        const victim = nodes[0] as Node;
        await waitFor("node-0 to win some claims", () => victim.won.length >= 15, {
          timeoutMs: 60_000,
        });
        victim.child.kill("SIGKILL");
        const outcomes = await Promise.all(nodes.map((node) => node.exited));
        assert.equal(outcomes[0]?.signal, "SIGKILL");
        for (const outcome of outcomes.slice(1))
          assert.deepEqual(outcome, { code: 0, signal: null, done: true });

        // Another node finds the killed node's claims once their leases expire, and records them interrupted.
        const interrupted: string[] = [];
        await waitFor(
          "every claim to be released or reaped",
          async () => {
            for (const claim of await reaper.reapExpiredClaims({
              nodeId: "reaper",
              atStart: false,
            })) {
              interrupted.push(`${claim.taskName}@${claim.scheduledAt}`);
              assert.equal(claim.nodeId, "node-0", "only the killed node leaves claims behind");
              // Under the claim taken over: the row and the release go together.
              const row = {
                taskName: claim.taskName,
                claimId: claim.id,
                scheduledAt: claim.scheduledAt,
                startedAt: null,
                finishedAt: null,
                status: "interrupted",
                attempt: 1,
                nodeId: claim.nodeId,
                error: { message: "the node holding the lease stopped renewing it" },
              } as const;
              assert.equal(await reaper.finishRun(row, claim.takenOver), true);
            }
            const held = await db.admin.query<{ n: number }>(
              `select count(*)::int as n from "${db.name}".claims where released_at is null`,
            );
            return held.rows[0]?.n === 0;
          },
          { timeoutMs: 30_000, intervalMs: 50 },
        );

        const rows = await db.admin.query<{
          key: string;
          n: number;
          statuses: string;
          nodes: string;
        }>(
          `select task_name || '@' || (extract(epoch from scheduled_at) * 1000)::bigint as key,
             count(*)::int as n, string_agg(status, ',') as statuses, string_agg(node_id, ',') as nodes
           from "${db.name}".runs group by 1`,
        );
        assert.equal(
          rows.rows.length,
          TASKS * OCCURRENCES,
          "every (task, time) ran or was interrupted",
        );
        for (const row of rows.rows)
          assert.equal(row.n, 1, `${row.key}: ${row.statuses} on ${row.nodes}`);
        const byStatus = new Map<string, string[]>();
        for (const row of rows.rows)
          byStatus.set(row.statuses, [...(byStatus.get(row.statuses) ?? []), row.key]);
        assert.deepEqual(
          [...byStatus.keys()].sort(),
          interrupted.length > 0 ? ["interrupted", "succeeded"] : ["succeeded"],
        );
        assert.deepEqual((byStatus.get("interrupted") ?? []).sort(), [...interrupted].sort());
        // What each node was told it won is exactly what it ran (or, for the killed one, ran or left in flight).
        t.diagnostic(
          `won per node: ${nodes.map((node) => node.won.length).join(", ")}; interrupted: ${interrupted.length}`,
        );
        const won = nodes.flatMap((node) => node.won);
        assert.equal(new Set(won).size, won.length, "no (task, time) was won twice");
        // An interrupted run was the killed node's (its claim committed, perhaps after its last message out).
        const survivorsWon = new Set(nodes.slice(1).flatMap((node) => node.won));
        for (const key of interrupted)
          assert.ok(!survivorsWon.has(key), `${key} was not run by a survivor`);
      } finally {
        for (const node of nodes) node.child.kill("SIGKILL");
        await reaper.close();
      }
    });
  });
}
