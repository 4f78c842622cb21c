/**
 * Scheduler cluster on PostgreSQL: 1, 2 and 4 node processes
 * (test/fixtures/cluster-node.ts: a real Scheduler on a PostgresStore, real
 * clock) on one schema with many tasks due every second. Reported per node
 * count: fire lateness (scheduled time → callback start, p50/p99/max) and
 * claimed-and-recorded runs per second (history rows written). Then failover:
 * two nodes with a short lease, one SIGKILLed while it holds runs; the time
 * from the kill to the first run, by the other node, of a run the dead node
 * held (target: lease + 1 s).
 *
 * Alone: `node --import tsx bench/cluster.ts` (BENCH_ROUNDS, BENCH_PG_URL,
 * BENCH_CLUSTER_TASKS, BENCH_CLUSTER_WINDOW_MS, BENCH_CLUSTER_LEASE_MS).
 */
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import pg from "pg";
import type { ClusterNodeProcess } from "../test/helpers/cluster.js";
import { percentile, recordedRuns, startCluster, stopCluster, until } from "./cluster-workload.js";
import { formatRate, median, printTable } from "./report.js";

const PG_URL =
  process.env.BENCH_PG_URL ??
  process.env.ORCHESTRATOR_TEST_PG_URL ??
  "postgres://postgres@127.0.0.1:5432/test";
const NODE_COUNTS = [1, 2, 4] as const;
/** Tasks firing every second. */
const TASKS = Number(process.env.BENCH_CLUSTER_TASKS ?? 2000);
/** One measured window, ms; `rounds` windows per node count. */
const WINDOW_MS = Number(process.env.BENCH_CLUSTER_WINDOW_MS ?? 3000);
/** Lease of the failover measurement, ms. */
const FAILOVER_LEASE_MS = Number(process.env.BENCH_CLUSTER_LEASE_MS ?? 2000);

interface ThroughputResult {
  readonly lateness: number[];
  readonly rates: number[];
}

async function measureThroughput(
  admin: pg.Pool,
  nodes: number,
  rounds: number,
): Promise<ThroughputResult> {
  const schema = `orch_bench_cluster_${randomBytes(4).toString("hex")}`;
  const register = {
    prefix: "t",
    count: TASKS,
    schedule: "* * * * * *",
    handler: "noop" as const,
    options: { overlap: "allow" as const },
  };
  const cluster = await startCluster(PG_URL, schema, nodes, 30_000, register, {
    reportLateness: true,
    maxConnections: 8,
  });
  try {
    // Warm-up: two seconds of firing.
    const warm = Date.now() + 2_000;
    await until("warm-up", () => Date.now() >= warm);
    const lateness: number[] = [];
    const rates: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const marks = cluster.map((node) => node.lateness.length);
      const from = Math.ceil(Date.now() / 1000) * 1000;
      const to = from + WINDOW_MS;
      await until("the window to pass", () => Date.now() >= to + 1_500);
      cluster.forEach((node, i) => lateness.push(...node.lateness.slice(marks[i])));
      rates.push(((await recordedRuns(admin, schema, from, to)) / WINDOW_MS) * 1000);
    }
    return { lateness, rates };
  } finally {
    await stopCluster(cluster);
    await admin.query(`drop schema if exists "${schema}" cascade`);
  }
}

/** Kill → first run by the surviving node of a run the dead node held, in ms. */
async function measureFailover(admin: pg.Pool): Promise<number> {
  const schema = `orch_bench_failover_${randomBytes(4).toString("hex")}`;
  const register = {
    prefix: "f",
    count: 100,
    schedule: "* * * * * *",
    handler: "work" as const,
    options: {
      overlap: "allow" as const,
      payload: { ms: 800 },
      retries: { attempts: 1, backoffMs: 0 },
    },
  };
  const cluster = await startCluster(PG_URL, schema, 2, FAILOVER_LEASE_MS, register);
  const [victim, survivor] = cluster as [ClusterNodeProcess, ClusterNodeProcess];
  try {
    await until("the victim to run", () => victim.started.length >= 150);
    const killedAt = Date.now();
    await victim.kill();
    let takeover = NaN;
    await until(
      "the survivor to take over a run the victim held",
      async () => {
        const result = await admin.query<{ at: number | null }>(
          `select (extract(epoch from min(started_at)) * 1000)::float8 as at from "${schema}".runs
           where node_id <> 'node-0' and attempt > 1`,
        );
        const at = result.rows[0]?.at;
        if (at === null || at === undefined) return false;
        takeover = at - killedAt;
        return true;
      },
      60_000,
    );
    return takeover;
  } finally {
    await survivor.stop();
    await admin.query(`drop schema if exists "${schema}" cascade`);
  }
}

/** Runs the benchmark and prints its tables. */
export async function runClusterBench(rounds: number): Promise<void> {
  console.log(
    `\n## Scheduler cluster on PostgreSQL: ${TASKS} tasks due every second, ` +
      `node processes running real Schedulers on one schema, ${rounds} windows of ${WINDOW_MS} ms\n`,
  );
  const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
  admin.on("error", () => undefined);
  try {
    try {
      await admin.query("select 1");
    } catch (error) {
      console.log(`PostgreSQL not reachable at ${PG_URL}: skipped (${String(error)})`);
      return;
    }
    const rows: string[][] = [];
    for (const nodes of NODE_COUNTS) {
      const { lateness, rates } = await measureThroughput(admin, nodes, rounds);
      rows.push([
        `${nodes} node${nodes === 1 ? "" : "s"}`,
        formatRate(median(rates)),
        `${percentile(lateness, 50).toFixed(1)} ms`,
        `${percentile(lateness, 99).toFixed(1)} ms`,
        `${Math.max(...lateness).toFixed(1)} ms`,
      ]);
    }
    printTable(
      ["cluster", "claimed+recorded runs/s", "lateness p50", "lateness p99", "lateness max"],
      rows,
    );
    const failovers: number[] = [];
    for (let round = 0; round < Math.min(rounds, 3); round++)
      failovers.push(await measureFailover(admin));
    console.log();
    printTable(
      ["failover after SIGKILL (2 nodes)", "lease", "median", "max", "target"],
      [
        [
          "kill → first retry by the survivor",
          `${FAILOVER_LEASE_MS} ms`,
          `${median(failovers).toFixed(0)} ms`,
          `${Math.max(...failovers).toFixed(0)} ms`,
          `≤ ${FAILOVER_LEASE_MS + 1000} ms`,
        ],
      ],
    );
  } finally {
    await admin.end();
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) await runClusterBench(Number(process.env.BENCH_ROUNDS ?? 3));
