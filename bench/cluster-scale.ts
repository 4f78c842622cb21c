/**
 * Cluster scale-out (issue 17): for 1, 2 and 4 node processes, due rates
 * from 1,000 a second stepping up until the cluster saturates (slots run
 * below 99 % or lateness p99 above 1 s); then a sustained run of 2 nodes at
 * the highest rate they held; then PostgreSQL's work per run at a fixed rate
 * for 2, 4 and 8 nodes (it should stay flat); then pg-boss and
 * graphile-worker on the same server, for context. Each step is a fresh
 * cluster on a fresh schema (bench/cluster-workload.ts); PostgreSQL's work
 * comes from bench/pg-meter.ts (a private server by default).
 *
 * Alone: `node --import tsx bench/cluster-scale.ts`; knobs in docs/benchmarks.md
 * (BENCH_CLUSTER_WINDOW_MS, BENCH_CLUSTER_RATES, BENCH_CLUSTER_SUSTAIN_MS, …).
 */
import { cpus, loadavg } from "node:os";
import { pathToFileURL } from "node:url";
import type { OverlapPolicy } from "../src/core/overlap.js";
import { measurePeer, type PeerLibrary, type PeerPlan, type PeerResult } from "./cluster-peers.js";
import { measureStep, saturated, type StepPlan, type StepResult } from "./cluster-workload.js";
import { PgTarget, type PgDelta } from "./pg-meter.js";
import { formatRate, printTable } from "./report.js";

const env = process.env;
const list = (value: string | undefined, fallback: string) =>
  (value ?? fallback)
    .split(",")
    .map(Number)
    .filter((n) => n > 0);

const SETTINGS = {
  url: env.ORCHESTRATOR_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  nodes: list(env.BENCH_CLUSTER_NODES, "1,2,4"),
  rates: list(env.BENCH_CLUSTER_RATES, "1000,2000,3000,5000,7500,10000,15000,20000"),
  windowMs: Number(env.BENCH_CLUSTER_WINDOW_MS ?? 5_000),
  warmupMs: Number(env.BENCH_CLUSTER_WARMUP_MS ?? 3_000),
  sustainMs: Number(env.BENCH_CLUSTER_SUSTAIN_MS ?? 10_000),
  overloadRate: Number(env.BENCH_CLUSTER_OVERLOAD_RATE ?? 15_000),
  overloadMs: Number(env.BENCH_CLUSTER_OVERLOAD_MS ?? 30_000),
  overloadNodes: Number(env.BENCH_CLUSTER_OVERLOAD_NODES ?? 2),
  flatRate: Number(env.BENCH_CLUSTER_FLAT_RATE ?? 2_000),
  flatNodes: list(env.BENCH_CLUSTER_FLAT_NODES, "2,4,8"),
  poolSize: Number(env.BENCH_CLUSTER_POOL ?? 8),
  overlap: env.BENCH_CLUSTER_OVERLAP as OverlapPolicy | undefined,
  shareWork: env.BENCH_CLUSTER_SHARE !== "0",
  peers: {
    jobs: Number(env.BENCH_PEER_JOBS ?? 10_000),
    concurrency: Number(env.BENCH_PEER_CONCURRENCY ?? 4),
    batchSize: Number(env.BENCH_PEER_BATCH ?? 100),
  } satisfies PeerPlan,
  peerProcesses: list(env.BENCH_PEER_PROCESSES, "1,2"),
};

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(0) : "—");
const per = (value: number, runs: number, digits = 2) =>
  runs > 0 && Number.isFinite(value) ? (value / runs).toFixed(digits) : "—";
const pct = (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)}%` : "—");

/** PostgreSQL's work per run (or job): statements, commits, write transactions, CPU µs, WAL bytes. */
function pgPerRun(pg: PgDelta, runs: number): string[] {
  return [
    per(pg.statements, runs),
    per(pg.commits, runs),
    per(pg.xids, runs),
    per(pg.cpuSeconds * 1e6, runs, 0),
    per(pg.walBytes, runs, 0),
  ];
}

function stepRow(step: StepResult, note = ""): string[] {
  const { plan, latency, pg } = step;
  return [
    `${plan.nodes}${note}`,
    formatRate(plan.rate),
    formatRate(step.recordedPerSecond),
    `${step.slotsRunPct.toFixed(1)}%`,
    `${ms(latency.p50)} / ${ms(latency.p99)} / ${ms(latency.max)}`,
    ...pgPerRun(pg, step.recorded),
    Number.isFinite(step.refusedPerRun) ? step.refusedPerRun.toFixed(2) : "—",
    step.nodeCpuPct.map((cpu) => cpu.toFixed(0)).join("/"),
    pct((pg.cpuSeconds / pg.seconds) * 100),
    (step.nodeRssMaxBytes / 2 ** 20).toFixed(0),
  ];
}

const STEP_HEADER = [
  "nodes",
  "due/s",
  "recorded/s",
  "slots run",
  "lateness p50/p99/max ms",
  "stmts/run",
  "commits/run",
  "write xacts/run",
  "PG CPU µs/run",
  "WAL B/run",
  "refused/run",
  "CPU nodes %",
  "CPU PG",
  "RSS max MB",
];

function plan(nodes: number, rate: number, windowMs = SETTINGS.windowMs): StepPlan {
  return {
    nodes,
    rate,
    windowMs,
    warmupMs: SETTINGS.warmupMs,
    poolSize: SETTINGS.poolSize,
    shareWork: SETTINGS.shareWork,
    // Listed for the sustained window, and for any step that saturates or collapses.
    topStatements: 8,
    ...(SETTINGS.overlap === undefined ? {} : { taskOptions: { overlap: SETTINGS.overlap } }),
  };
}

/** One node count stepped up until saturation; the highest rate held, if any. */
async function stepUp(target: PgTarget, nodes: number, rows: string[][]): Promise<number> {
  let held = 0;
  for (const rate of SETTINGS.rates) {
    console.error(`bench: cluster scale, ${nodes} node(s), ${rate} due/s`);
    const step = await measureStep(target, plan(nodes, rate));
    const full = saturated(step);
    rows.push(stepRow(step, full ? " (saturated)" : ""));
    if (full) {
      explained.push({ title: `${nodes} node(s) at ${formatRate(rate)} due/s (saturated)`, step });
      break;
    }
    held = rate;
  }
  return held;
}

async function sustained(target: PgTarget, rate: number): Promise<void> {
  if (SETTINGS.sustainMs <= 0 || rate === 0) return;
  console.log(`\nSustained: 2 nodes at ${formatRate(rate)} due/s for ${SETTINGS.sustainMs} ms\n`);
  const step = await measureStep(target, plan(2, rate, SETTINGS.sustainMs));
  printTable(STEP_HEADER, [stepRow(step, saturated(step) ? " (saturated)" : "")]);
  printCostliest("the sustained window", step);
}

/**
 * Memory under overload (issue 17: "memory of a node stays flat"): 2 nodes (or `BENCH_CLUSTER_OVERLOAD_NODES`) far
 * past saturation, overlap `allow` (nothing is skipped, so the most runs are
 * in flight), the highest RSS of any node in each tenth of a long window.
 */
async function overload(target: PgTarget): Promise<void> {
  if (SETTINGS.overloadMs <= 0 || SETTINGS.overloadRate <= 0) return;
  const { overloadRate: rate, overloadMs, overloadNodes: nodes } = SETTINGS;
  console.log(
    `\nMemory under overload: ${nodes} node${nodes === 1 ? "" : "s"} at ${formatRate(rate)} due/s, overlap allow, for ${overloadMs} ms; ` +
      `the highest RSS of a node in each tenth of the window (MB)\n`,
  );
  console.error(`bench: cluster scale, overload, ${rate} due/s`);
  const step = await measureStep(target, {
    ...plan(nodes, rate, overloadMs),
    taskOptions: { overlap: "allow" },
  });
  printTable(
    [
      "recorded/s",
      "slots run",
      "lateness p50/p99/max ms",
      ...step.nodeRssByTenthBytes.map((_, i) => `${i + 1}/10`),
    ],
    [
      [
        formatRate(step.recordedPerSecond),
        `${step.slotsRunPct.toFixed(1)}%`,
        `${ms(step.latency.p50)} / ${ms(step.latency.p99)} / ${ms(step.latency.max)}`,
        ...step.nodeRssByTenthBytes.map((bytes) => (bytes / 2 ** 20).toFixed(0)),
      ],
    ],
  );
}

/** Steps whose costliest statements are printed after their table. */
const explained: { readonly title: string; readonly step: StepResult }[] = [];

function printCostliest(title: string, step: StepResult): void {
  if (step.top.length === 0) return;
  console.log(`\nCostliest statements of ${title} (pg_stat_statements, by total time):\n`);
  printTable(
    ["statement (what it writes)", "calls/run", "mean ms", "ms per s"],
    step.top.map((s) => [
      s.query,
      per(s.calls, step.recorded, 3),
      s.meanMs.toFixed(3),
      (s.totalMs / step.pg.seconds).toFixed(0),
    ]),
  );
}

/** Prints, then forgets, the costliest statements of the steps that saturated. */
function explainSaturated(): void {
  for (const { title, step } of explained.splice(0)) printCostliest(title, step);
}

async function flat(target: PgTarget): Promise<void> {
  console.log(
    `\nPostgreSQL's work per run at ${formatRate(SETTINGS.flatRate)} due/s (should stay flat as nodes are added)\n`,
  );
  const rows: string[][] = [];
  for (const nodes of SETTINGS.flatNodes) {
    console.error(`bench: cluster scale, flat, ${nodes} nodes`);
    const step = await measureStep(target, plan(nodes, SETTINGS.flatRate));
    const full = saturated(step);
    rows.push(stepRow(step, full ? " (saturated)" : ""));
    if (full)
      explained.push({
        title: `${nodes} nodes at ${formatRate(SETTINGS.flatRate)} due/s (saturated)`,
        step,
      });
  }
  printTable(STEP_HEADER, rows);
  explainSaturated();
}

async function peers(target: PgTarget, held: Map<number, number>): Promise<void> {
  const p = SETTINGS.peers;
  console.log(
    `\nJob queues on the same PostgreSQL, for context: ${formatRate(p.jobs)} trivial jobs enqueued ` +
      `in batches of 1,000, then drained by worker processes (pg-boss: ${p.concurrency} work() loops ` +
      `per process, batchSize ${p.batchSize}, polling 0.5 s; graphile-worker: concurrency ${p.concurrency}). ` +
      `Their cron fires at most once a minute (each cron entry enqueues a job), so this compares ` +
      `job throughput, not cron.\n`,
  );
  const rows: string[][] = [];
  for (const library of ["pg-boss", "graphile-worker"] as PeerLibrary[]) {
    for (const processes of SETTINGS.peerProcesses) {
      console.error(`bench: ${library}, ${processes} worker process(es)`);
      try {
        const r: PeerResult = await measurePeer(target, library, processes, p);
        rows.push([
          `${library}, ${processes} process${processes === 1 ? "" : "es"}`,
          formatRate(r.enqueuedPerSecond),
          formatRate(r.handledPerSecond),
          ...pgPerRun(r.pg, r.handled),
        ]);
      } catch (error) {
        rows.push([`${library}, ${processes} processes`, "failed", String(error).slice(0, 60)]);
      }
    }
  }
  for (const [nodes, rate] of held)
    rows.push([
      `orchestrator, ${nodes} node${nodes === 1 ? "" : "s"} (cron runs)`,
      "—",
      formatRate(rate),
      "",
      "",
      "",
      "",
      "",
    ]);
  printTable(
    [
      "library",
      "enqueued/s",
      "handled/s",
      "stmts/job",
      "commits/job",
      "write xacts/job",
      "PG CPU µs/job",
      "WAL B/job",
    ],
    rows,
  );
  console.log(
    "\norchestrator's row is the highest due rate held above (every slot run, p99 ≤ 1 s), " +
      "claimed, run and recorded; nothing is enqueued.",
  );
}

/** Runs the section and prints its tables. */
export async function runClusterScaleBench(): Promise<void> {
  const [one, five, fifteen] = loadavg();
  console.log(
    `\n## Cluster scale-out on PostgreSQL: due rates stepped up per node count, ` +
      `windows of ${SETTINGS.windowMs} ms after ${SETTINGS.warmupMs} ms of warm-up\n`,
  );
  let target: PgTarget;
  try {
    target = await PgTarget.open(SETTINGS.url);
  } catch (error) {
    console.log(`PostgreSQL not reachable: skipped (${String(error)})`);
    return;
  }
  try {
    console.log(
      `Load average ${one?.toFixed(2)} / ${five?.toFixed(2)} / ${fifteen?.toFixed(2)} on ${cpus().length} cores at the start. ` +
        `PostgreSQL: ${target.description}; ${await target.settings()}. ` +
        `Statements counted ${target.statementSource}; commits from pg_stat_database.xact_commit ` +
        `(reported by backends at most once a second); write transactions from transaction ids assigned; ` +
        `WAL from pg_current_wal_lsn(); CPU from /proc (utime+stime; % of one core). ` +
        `Tasks on \`* * * * * *\`, a no-op handler, overlap ${SETTINGS.overlap ?? "skip (the default)"}, ` +
        `${SETTINGS.poolSize} connections per node, ${SETTINGS.shareWork ? "work shared" : "every node racing for every run (BENCH_CLUSTER_SHARE=0)"}. "refused/run": due runs whose claim another node won, per recorded run.\n`,
    );
    const rows: string[][] = [];
    const held = new Map<number, number>();
    for (const nodes of SETTINGS.nodes) held.set(nodes, await stepUp(target, nodes, rows));
    printTable(STEP_HEADER, rows);
    explainSaturated();
    await sustained(target, held.get(2) ?? 0);
    await overload(target);
    if (SETTINGS.flatNodes.length > 0) await flat(target);
    if (env.BENCH_PEERS !== "0") await peers(target, held);
    const [end] = loadavg();
    console.log(`\nLoad average at the end: ${end?.toFixed(2)}.`);
  } finally {
    await target.close();
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) await runClusterScaleBench();
