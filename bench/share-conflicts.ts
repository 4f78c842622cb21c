/**
 * Conflicting claims per run, with the nodes sharing the work and without
 * (issue 17): 2, 3 and 4 node processes (test/fixtures/cluster-node.ts, real
 * clock) on one fresh PostgreSQL schema each, TASKS tasks every second, for
 * WINDOW_MS after every node sees the others. A conflict is a row the claim
 * statement answered as taken by someone else (counted in each node around
 * `claimRuns`, claims ahead included). Also printed: runs recorded, the
 * spread of one instant's runs over the nodes, and the slots run twice
 * (must be 0).
 *
 * `node --import tsx bench/share-conflicts.ts` (BENCH_PG_URL,
 * BENCH_SHARE_TASKS, BENCH_SHARE_WINDOW_MS, BENCH_SHARE_NODES=2,3,4).
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { startClusterNode, type ClusterNodeProcess } from "../test/helpers/cluster.js";
import { printTable } from "./report.js";

const PG_URL =
  process.env.BENCH_PG_URL ??
  process.env.ORCHESTRATOR_TEST_PG_URL ??
  "postgres://postgres@127.0.0.1:5432/test";
const TASKS = Number(process.env.BENCH_SHARE_TASKS ?? 300);
const WINDOW_MS = Number(process.env.BENCH_SHARE_WINDOW_MS ?? 6000);
const NODES = (process.env.BENCH_SHARE_NODES ?? "2,3,4").split(",").map(Number);
const KEY = randomBytes(32).toString("base64");

async function until(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function measure(admin: pg.Pool, count: number, shareWork: boolean) {
  const schema = `orch_share_bench_${randomBytes(4).toString("hex")}`;
  const base = { connectionString: PG_URL, schema, leaseMs: 10_000, key: KEY, shareWork };
  const nodes: ClusterNodeProcess[] = [];
  try {
    const first = startClusterNode({
      ...base,
      nodeId: "node-0",
      registerMany: { prefix: "t-", count: TASKS, schedule: "* * * * * *", handler: "noop" },
    });
    nodes.push(first);
    await first.ready;
    for (let i = 1; i < count; i++) nodes.push(startClusterNode({ ...base, nodeId: `node-${i}` }));
    await Promise.all(nodes.map((node) => node.ready));
    await until("every node to hold every task", () => nodes.every((n) => n.tasks === TASKS));
    if (shareWork) await until("the membership", () => nodes.every((n) => n.live.length === count));
    const from = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    const to = from + WINDOW_MS;
    await new Promise((resolve) => setTimeout(resolve, to + 1000 - Date.now()));
    await Promise.all(nodes.map((node) => node.stop()));
    const asked = nodes.reduce((sum, n) => sum + (n.counts["claims:asked"] ?? 0), 0);
    const lost = nodes.reduce((sum, n) => sum + (n.counts["claims:lost"] ?? 0), 0);
    const all = await admin.query<{ n: number }>(`select count(*)::int as n from "${schema}".runs`);
    const runs = all.rows[0]?.n ?? 0;
    const twice = await admin.query<{ n: number }>(
      `select count(*)::int as n from (select 1 from "${schema}".runs where status = 'succeeded'
         group by task_name, scheduled_at having count(*) > 1) d`,
    );
    const spread = await admin.query<{ node: string; n: number }>(
      `select node_id as node, count(*)::int as n from "${schema}".runs
       where scheduled_at = $1 group by node_id order by node_id`,
      [new Date(from + 2000)],
    );
    return {
      asked,
      lost,
      runs,
      twice: twice.rows[0]?.n ?? 0,
      spread: spread.rows.map((row) => row.n).join(" / "),
    };
  } finally {
    await Promise.all(nodes.map((node) => node.kill().catch(() => undefined)));
    await admin.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
  }
}

const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
const rows: string[][] = [];
for (const count of NODES) {
  for (const shareWork of [false, true]) {
    const r = await measure(admin, count, shareWork);
    rows.push([
      String(count),
      shareWork ? "shared" : "racing",
      String(r.runs),
      String(r.asked),
      String(r.lost),
      (r.lost / Math.max(1, r.runs)).toFixed(3),
      r.spread,
      String(r.twice),
    ]);
  }
}
await admin.end();
console.log(`Conflicting claims per run, ${TASKS} tasks every second (whole node lifetimes)`);
printTable(
  [
    "nodes",
    "mode",
    "runs",
    "claims asked",
    "claims lost",
    "lost per run",
    "one instant by node",
    "run twice",
  ],
  rows,
);
