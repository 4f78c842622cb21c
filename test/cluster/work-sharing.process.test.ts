/**
 * Issue 17, nodes that share the work: three scheduler processes
 * (test/fixtures/cluster-node.ts, real clock) on one PostgreSQL schema, 300
 * tasks every second. Each node claims at the instant only the runs of the
 * tasks it owns by rendezvous hashing over the live nodes, so each runs
 * about a third of every instant's runs. One node is SIGKILLed: its share is
 * run by the others, each run within leaseMs + 1 s of its instant, no slot
 * without a row. A new node joins: it gets a share of every instant. No
 * (task, instant) ever runs twice.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { ClusterNodeConfig } from "../fixtures/cluster-node.js";
import { startClusterNode, type ClusterNodeProcess } from "../helpers/cluster.js";
import { requirePg, waitFor, withTestSchema } from "../helpers/pg.js";

const TASKS = 300;
const LEASE_MS = 2_000;
const KEY = randomBytes(32).toString("base64");

interface RunRow {
  task: string;
  at: number;
  started: number | null;
  status: string;
  node: string;
}

/**
 * Slots recorded per node at each instant of [fromMs, toMs) (whole seconds),
 * whatever their outcome: on a loaded machine a node's run may be recorded
 * missed (claimed past its grace) or skipped (its previous run still in
 * flight) by the node that claimed it, which is the node counted.
 */
function perInstant(rows: readonly RunRow[], fromMs: number, toMs: number) {
  const counts = new Map<number, Map<string, number>>();
  for (const row of rows) {
    if (row.at < fromMs || row.at >= toMs) continue;
    const byNode = counts.get(row.at) ?? new Map<string, number>();
    byNode.set(row.node, (byNode.get(row.node) ?? 0) + 1);
    counts.set(row.at, byNode);
  }
  return counts;
}

function describeCounts(counts: Map<number, Map<string, number>>): string {
  return [...counts]
    .map(
      ([at, byNode]) =>
        `${new Date(at).toISOString().slice(17, 19)}s ${JSON.stringify(Object.fromEntries(byNode))}`,
    )
    .join("; ");
}

/** Three instants, each run whole, each node running between a sixth and a half of it. */
function assertThirds(counts: Map<number, Map<string, number>>, ids: readonly string[]): void {
  assert.equal(counts.size, 3);
  for (const [at, byNode] of counts) {
    assert.equal(
      [...byNode.values()].reduce((a, b) => a + b, 0),
      TASKS,
      `instant ${at}`,
    );
    for (const id of ids) {
      const n = byNode.get(id) ?? 0;
      assert.ok(n >= TASKS / 6 && n <= TASKS / 2, `${id} ran ${n} of ${TASKS} at ${at}`);
    }
  }
}

if (await requirePg("work-sharing cluster test")) {
  describe("cluster: nodes share the work", () => {
    const db = withTestSchema("orch_share");

    it("spreads each instant by run, takes over a killed node's share, rebalances on a join", async (t) => {
      const base: Omit<ClusterNodeConfig, "nodeId"> = {
        connectionString: db.connectionString,
        schema: db.name,
        leaseMs: LEASE_MS,
        key: KEY,
        shareWork: true,
      };
      const nodes: ClusterNodeProcess[] = [];
      const sees = (members: readonly ClusterNodeProcess[]) => () =>
        members.every(
          (n) => n.live.length === members.length && members.every((m) => n.live.includes(m.id)),
        );
      try {
        const n0 = startClusterNode({
          ...base,
          nodeId: "node-0",
          registerMany: {
            prefix: "share-",
            count: TASKS,
            schedule: "* * * * * *",
            handler: "noop",
          },
        });
        nodes.push(n0);
        await n0.ready;
        const n1 = startClusterNode({ ...base, nodeId: "node-1" });
        const n2 = startClusterNode({ ...base, nodeId: "node-2" });
        nodes.push(n1, n2);
        await Promise.all([n1.ready, n2.ready]);
        await waitFor(
          "every node to hold every task",
          () => nodes.every((n) => n.tasks === TASKS),
          {
            timeoutMs: 30_000,
          },
        );
        await waitFor("every node to see the three", sees([n0, n1, n2]), { timeoutMs: 30_000 });
        const sharedFrom = Math.ceil(Date.now() / 1000) * 1000 + 1000;
        const sharedTo = sharedFrom + 3000;
        await sleep(sharedTo + 1000 - Date.now());

        const killedAt = Date.now();
        assert.equal((await n2.kill()).signal, "SIGKILL");
        await waitFor("the survivors to see node-2 dead", sees([n0, n1]), { timeoutMs: 30_000 });
        const deadSeenAt = Date.now();
        await sleep(2000);

        const n3 = startClusterNode({ ...base, nodeId: "node-3" });
        nodes.push(n3);
        await n3.ready;
        await waitFor("every node to see node-3", sees([n0, n1, n3]), { timeoutMs: 30_000 });
        const joinedFrom = Math.ceil(Date.now() / 1000) * 1000 + 1000;
        const joinedTo = joinedFrom + 3000;
        await sleep(joinedTo + 1000 - Date.now());
        const stopAt = Date.now();
        for (const end of await Promise.all([n0.stop(), n1.stop(), n3.stop()]))
          assert.equal(end.code, 0);

        const rows = (
          await db.admin.query<RunRow>(
            `select task_name as task, (extract(epoch from scheduled_at) * 1000)::float8 as at,
               (extract(epoch from started_at) * 1000)::float8 as started, status, node_id as node
             from "${db.name}".runs`,
          )
        ).rows;

        // Every slot from the shared window to the stop: one row at least, never two successes.
        const bySlot = new Map<string, RunRow[]>();
        for (const row of rows) {
          const key = `${row.task}@${row.at}`;
          bySlot.set(key, [...(bySlot.get(key) ?? []), row]);
        }
        const lastChecked = Math.floor(stopAt / 1000) * 1000 - 2000;
        const gaps: string[] = [];
        const doubles: string[] = [];
        for (let at = sharedFrom; at <= lastChecked; at += 1000) {
          for (let i = 0; i < TASKS; i++) {
            const slot = bySlot.get(`share-${i}@${at}`) ?? [];
            if (slot.length === 0) gaps.push(`share-${i}@${new Date(at).toISOString()}`);
            if (slot.filter((row) => row.status === "succeeded").length > 1)
              doubles.push(`share-${i}@${new Date(at).toISOString()}`);
          }
        }
        assert.deepEqual(gaps.slice(0, 10), [], `${gaps.length} slots without a row`);
        assert.deepEqual(doubles.slice(0, 10), [], `${doubles.length} slots run twice`);

        // Three live nodes: each runs about a third of every instant (by run, not by instant).
        const shared = perInstant(rows, sharedFrom, sharedTo);
        t.diagnostic(`three nodes: ${describeCounts(shared)}`);
        assertThirds(shared, ["node-0", "node-1", "node-2"]);

        // node-2's share after its death: run by the others within leaseMs + 1 s of the instant.
        const takeovers = rows.filter(
          (row) => row.at > killedAt && row.at <= deadSeenAt + 1000 && row.started !== null,
        );
        const lateness = takeovers.map((row) => (row.started as number) - row.at);
        const worst = Math.max(0, ...lateness);
        t.diagnostic(
          `after the kill: ${takeovers.length} runs, lateness at most ${Math.round(worst)} ms`,
        );
        assert.ok(worst <= LEASE_MS + 1000, `a run started ${worst} ms after its instant`);
        assert.ok(takeovers.every((row) => row.node !== "node-2"));

        // node-3 joined: it runs its share of every instant.
        const joined = perInstant(rows, joinedFrom, joinedTo);
        t.diagnostic(`after the join: ${describeCounts(joined)}`);
        assertThirds(joined, ["node-0", "node-1", "node-3"]);
        const lost = nodes.reduce((sum, n) => sum + (n.counts["claims:lost"] ?? 0), 0);
        t.diagnostic(`claims lost by the nodes that stopped gracefully: ${lost}`);
      } finally {
        await Promise.all(nodes.map((n) => n.kill().catch(() => undefined)));
      }
    });
  });
}
