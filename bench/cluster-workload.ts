/**
 * The cluster benchmarks' workload: node processes (test/fixtures/cluster-node.ts,
 * a real Scheduler on a PostgresStore, real clock) on one fresh schema, node 0
 * registering the tasks and the others learning them from the store; and one
 * measured step: `rate` tasks on `* * * * * *` (so `rate` due runs a second),
 * a warm-up, then a window aligned on whole seconds in which it measures
 * recorded runs (succeeded history rows scheduled in the window), lateness of
 * the runs scheduled in it, claims refused, the nodes' CPU and RSS, and
 * PostgreSQL's work (bench/pg-meter.ts).
 */
import { randomBytes } from "node:crypto";
import type pg from "pg";
import type { TaskOptions } from "../src/core/task.js";
import type { ClusterNodeConfig } from "../test/fixtures/cluster-node.js";
import { startClusterNode, type ClusterNodeProcess } from "../test/helpers/cluster.js";
import {
  cpuSeconds,
  delta,
  rssBytes,
  type PgDelta,
  type PgTarget,
  type TopStatement,
} from "./pg-meter.js";

const KEY = randomBytes(32).toString("base64");

export async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 180_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Starts `count` nodes on `schema`; node-0 registers the tasks, the others learn them. */
export async function startCluster(
  connectionString: string,
  schema: string,
  count: number,
  leaseMs: number,
  register: NonNullable<ClusterNodeConfig["registerMany"]>,
  options: Partial<ClusterNodeConfig> = {},
): Promise<ClusterNodeProcess[]> {
  const base = { connectionString, schema, leaseMs, key: KEY, ...options };
  const first = startClusterNode({ ...base, nodeId: "node-0", registerMany: register });
  await first.ready;
  const others = Array.from({ length: count - 1 }, (_, i) =>
    startClusterNode({ ...base, nodeId: `node-${i + 1}` }),
  );
  const nodes = [first, ...others];
  await Promise.all(others.map((node) => node.ready));
  await until("every node to hold every task", () =>
    nodes.every((node) => node.tasks === register.count),
  );
  return nodes;
}

export async function stopCluster(nodes: readonly ClusterNodeProcess[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.stop()));
}

/** Succeeded history rows of `schema` scheduled in [fromMs, toMs). */
export async function recordedRuns(
  admin: pg.Pool,
  schema: string,
  fromMs: number,
  toMs: number,
): Promise<number> {
  const counted = await admin.query<{ n: number }>(
    `select count(*)::int as n from "${schema}".runs
     where status = 'succeeded' and scheduled_at >= to_timestamp($1 / 1000.0) and scheduled_at < to_timestamp($2 / 1000.0)`,
    [fromMs, toMs],
  );
  return counted.rows[0]?.n ?? 0;
}

/** What one step is asked to do. */
export interface StepPlan {
  readonly nodes: number;
  /** Tasks due every second. */
  readonly rate: number;
  readonly warmupMs: number;
  readonly windowMs: number;
  /** Connections per node. */
  readonly poolSize: number;
  readonly taskOptions?: TaskOptions;
  /** False: every node races for every run (the scheduler's internal `shareWork`, on by default). */
  readonly shareWork?: boolean;
  /** Reset `pg_stat_statements` as the window opens and list this many of the costliest statements as it closes. */
  readonly topStatements?: number;
}

/** What one step measured. */
export interface StepResult {
  readonly plan: StepPlan;
  /** Slots in the window (tasks × whole seconds) and the succeeded rows among them. */
  readonly slots: number;
  readonly recorded: number;
  readonly recordedPerSecond: number;
  readonly slotsRunPct: number;
  readonly latency: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Due runs whose claim another node won, summed over nodes, per recorded run. */
  readonly refusedPerRun: number;
  /** CPU of each node over the window, % of one core. */
  readonly nodeCpuPct: readonly number[];
  readonly nodeRssMaxBytes: number;
  /** The highest RSS of any node in each tenth of the window, in order (memory over time). */
  readonly nodeRssByTenthBytes: readonly number[];
  readonly pg: PgDelta;
  /** The costliest statements of the window (when `topStatements`). */
  readonly top: readonly TopStatement[];
}

/** Stop stepping up: slots run below 99 % or lateness p99 above 1 s. */
export function saturated(step: StepResult): boolean {
  return step.slotsRunPct < 99 || !(step.latency.p99 <= 1000);
}

/** Starts a cluster on a fresh schema, measures one window, stops it and drops the schema. */
export async function measureStep(target: PgTarget, plan: StepPlan): Promise<StepResult> {
  const schema = `orch_bench_scale_${randomBytes(4).toString("hex")}`;
  const register = {
    prefix: "t",
    count: plan.rate,
    schedule: "* * * * * *",
    handler: "noop" as const,
    ...(plan.taskOptions === undefined ? {} : { options: plan.taskOptions }),
  };
  const cluster = await startCluster(target.url, schema, plan.nodes, 30_000, register, {
    reportLateness: true,
    reportStarted: false,
    maxConnections: plan.poolSize,
    ...(plan.shareWork === undefined ? {} : { shareWork: plan.shareWork }),
  });
  try {
    const warm = Date.now() + plan.warmupMs;
    await until("warm-up", () => Date.now() >= warm);
    const fromMs = Math.ceil(Date.now() / 1000) * 1000;
    const toMs = fromMs + Math.ceil(plan.windowMs / 1000) * 1000;
    await until("the window to open", () => Date.now() >= fromMs);
    const pids = cluster.map((node) => node.child.pid ?? 0);
    const cpuFrom = pids.map((pid) => cpuSeconds(pid));
    const refusedFrom = cluster.reduce((sum, node) => sum + node.refused, 0);
    for (const node of cluster) {
      node.lateness.splice(0);
      node.latenessAt.splice(0);
    }
    if (plan.topStatements !== undefined) await target.resetStatements();
    const pgFrom = await target.snapshot();
    let rssMax = 0;
    const byTenth = Array.from({ length: 10 }, () => 0);
    const sampler = setInterval(() => {
      const tenth = Math.min(9, Math.floor(((Date.now() - fromMs) / (toMs - fromMs)) * 10));
      for (const pid of pids) {
        const rss = rssBytes(pid);
        rssMax = Math.max(rssMax, rss);
        byTenth[tenth] = Math.max(byTenth[tenth] as number, rss);
      }
    }, 250);
    await until("the window to pass", () => Date.now() >= toMs);
    const pgTo = await target.snapshot();
    const top =
      plan.topStatements === undefined ? [] : await target.topStatements(plan.topStatements);
    const cpuTo = pids.map((pid) => cpuSeconds(pid));
    const refusedTo = cluster.reduce((sum, node) => sum + node.refused, 0);
    clearInterval(sampler);
    // Late runs of the window's last second are still reported and recorded.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const lateness: number[] = [];
    for (const node of cluster) {
      node.latenessAt.forEach((at, i) => {
        if (at >= fromMs && at < toMs) lateness.push(node.lateness[i] as number);
      });
    }
    const recorded = await recordedRuns(target.admin, schema, fromMs, toMs);
    const seconds = (toMs - fromMs) / 1000;
    const slots = plan.rate * seconds;
    const pgDelta = delta(pgFrom, pgTo);
    return {
      plan,
      slots,
      recorded,
      recordedPerSecond: recorded / seconds,
      slotsRunPct: (recorded / slots) * 100,
      latency: {
        p50: percentile(lateness, 50),
        p99: percentile(lateness, 99),
        max: lateness.reduce((m, v) => Math.max(m, v), Number.NEGATIVE_INFINITY),
      },
      refusedPerRun: recorded > 0 ? (refusedTo - refusedFrom) / recorded : NaN,
      nodeCpuPct: cpuTo.map((cpu, i) => ((cpu - (cpuFrom[i] as number)) / pgDelta.seconds) * 100),
      nodeRssMaxBytes: rssMax,
      nodeRssByTenthBytes: byTenth,
      pg: pgDelta,
      top,
    };
  } finally {
    await stopCluster(cluster);
    await target.admin.query(`drop schema if exists "${schema}" cascade`);
  }
}
