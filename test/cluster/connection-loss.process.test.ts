/**
 * Two scheduler processes on one schema, 100 tasks every second; node-a's
 * backend connections (its pool and its LISTEN connection) are terminated
 * with pg_terminate_backend again and again while runs are in flight. From
 * the history: every (task, time) in the window succeeded exactly once, and
 * the only other rows are interrupted attempts that another attempt then
 * completed; no attempt was started twice.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { ClusterNodeConfig } from "../fixtures/cluster-node.js";
import { startClusterNode, type ClusterNodeProcess } from "../helpers/cluster.js";
import { requirePg, waitFor, withTestSchema } from "../helpers/pg.js";

const TASKS = 100;
const TERMINATIONS = 5;
const KEY = randomBytes(32).toString("base64");

if (await requirePg("cluster connection-loss test")) {
  describe("cluster: a node's connections terminated during runs", () => {
    const db = withTestSchema("orch_connloss");

    it("duplicates nothing and loses nothing", async (t) => {
      const base: Omit<ClusterNodeConfig, "nodeId"> = {
        connectionString: db.connectionString,
        schema: db.name,
        leaseMs: 3_000,
        key: KEY,
        workMs: 200,
      };
      const register = Array.from({ length: TASKS }, (_, i) => ({
        name: `task-${i}`,
        schedule: "* * * * * *",
        handler: "work" as const,
        options: { overlap: "allow" as const, retries: { attempts: 2, backoffMs: 100 } },
      }));
      const nodes: ClusterNodeProcess[] = [];
      try {
        const a = startClusterNode({ ...base, nodeId: "node-a", register });
        nodes.push(a);
        await a.ready;
        const b = startClusterNode({ ...base, nodeId: "node-b" });
        nodes.push(b);
        await b.ready;
        await waitFor(
          "both nodes to hold every task",
          () => a.tasks === TASKS && b.tasks === TASKS,
        );
        const readyAt = Date.now();
        let terminated = 0;
        for (let i = 0; i < TERMINATIONS; i++) {
          const target = a.started.length + 150;
          await waitFor("node-a to run on", () => a.started.length >= target, {
            timeoutMs: 60_000,
            intervalMs: 20,
          });
          const result = await db.admin.query<{ ok: boolean }>(
            `select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = 'orch-node-node-a'`,
          );
          terminated += result.rows.filter((row) => row.ok).length;
        }
        const target = a.started.length + 150;
        await waitFor(
          "node-a to run after the last termination",
          () => a.started.length >= target,
          {
            timeoutMs: 60_000,
            intervalMs: 20,
          },
        );
        const stopAt = Date.now();
        const ends = await Promise.all(nodes.map((node) => node.stop()));
        for (const end of ends) assert.equal(end.code, 0);
        // Claims left by failed writes are found once their leases expire: reap them as a node would.
        await waitFor(
          "every claim to be released",
          async () => {
            const held = await db.admin.query<{ n: number }>(
              `select count(*)::int as n from "${db.name}".claims where released_at is null`,
            );
            return held.rows[0]?.n === 0;
          },
          { timeoutMs: 5_000, intervalMs: 100 },
        ).catch(() => undefined);

        const rows = (
          await db.admin.query<{
            task: string;
            at: number;
            status: string;
            attempt: number;
            node: string;
          }>(
            `select task_name as task, (extract(epoch from scheduled_at) * 1000)::float8 as at,
               status, attempt, node_id as node from "${db.name}".runs`,
          )
        ).rows;
        const byKey = new Map<string, typeof rows>();
        for (const row of rows) {
          const key = `${row.task}@${row.at}`;
          byKey.set(key, [...(byKey.get(key) ?? []), row]);
        }
        const windowStart = Math.ceil(readyAt / 1000) * 1000 + 1000;
        const windowEnd = Math.floor(stopAt / 1000) * 1000 - 2000;
        let interrupted = 0;
        for (let at = windowStart; at <= windowEnd; at += 1000) {
          for (let i = 0; i < TASKS; i++) {
            const key = `task-${i}@${at}`;
            const found = byKey.get(key) ?? [];
            const label = `${key}: ${found.map((r) => `${r.status}#${r.attempt}@${r.node}`).join(", ")}`;
            assert.equal(found.filter((r) => r.status === "succeeded").length, 1, label);
            for (const row of found.filter((r) => r.status !== "succeeded")) {
              assert.equal(row.status, "interrupted", label);
              interrupted++;
            }
          }
        }
        const starts = new Map<string, number>();
        for (const node of nodes)
          for (const key of node.started) starts.set(key, (starts.get(key) ?? 0) + 1);
        for (const [key, count] of starts) assert.equal(count, 1, `${key} started ${count} times`);
        t.diagnostic(
          `terminated ${terminated} backends in ${TERMINATIONS} rounds; checked ${(windowEnd - windowStart) / 1000 + 1} s × ${TASKS} tasks; ` +
            `interrupted ${interrupted}; node-a events ${JSON.stringify(a.counts)}; node-b events ${JSON.stringify(b.counts)}`,
        );
        assert.ok(terminated >= TERMINATIONS, "connections were terminated");
      } finally {
        for (const node of nodes) node.child.kill("SIGKILL");
      }
    });
  });
}
