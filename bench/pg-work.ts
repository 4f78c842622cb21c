/**
 * PostgreSQL's work per run (issue 17, "far fewer commits per run"): two
 * Schedulers in this process (node-a, node-b, real clock, a pool each) on
 * one schema of a database of their own, `rate` tasks every second with a
 * trivial handler. Over a measured window it reports recorded runs/s (rows
 * inserted), slots run, lateness p50/p99, the statements the stores sent per
 * run (counted at their pools, by statement), commits per run (the
 * database's `xact_commit` delta: every session of it, the listeners and
 * lease renewals included), this process's CPU and the load average.
 *
 * `finish`: `batched` (Store.finishRuns, the default) or `per-run` (the
 * store's finishRuns hidden: a finishRun and an updateTaskProgress per run,
 * as before issue 17), for before/after figures on the same code.
 *
 * Alone: `node --import tsx bench/pg-work.ts` (BENCH_PG_URL, BENCH_PG_WORK_RATES
 * e.g. 2000,5000, BENCH_PG_WORK_WINDOW_MS, BENCH_PG_WORK_FINISH=batched|per-run|both).
 */
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { Dispatcher } from "../src/core/dispatcher.js";
import { silentLogger } from "../src/logger.js";
import { Scheduler } from "../src/scheduler/index.js";
import { PostgresStore } from "../src/store/postgres/postgres-store.js";
import { countStatements, type StatementCounts } from "../test/helpers/pg-statements.js";
import { printTable } from "./report.js";

/** What one measurement is asked. */
export interface PgWorkOptions {
  /** A connection string whose database the bench may create a database beside. */
  readonly url: string;
  /** Tasks every second (= due runs per second). */
  readonly rate: number;
  readonly windowMs: number;
  readonly finish: "batched" | "per-run";
  /** Time to settle before the window (registration done, nodes running), ms. */
  readonly warmUpMs?: number;
}

/** What one measurement found. */
export interface PgWork {
  readonly options: PgWorkOptions;
  readonly recordedPerSecond: number;
  /** Slots of the window with a succeeded row, over slots due. */
  readonly slotsRun: number;
  readonly latenessP50: number;
  readonly latenessP99: number;
  readonly statementsPerRun: number;
  readonly commitsPerRun: number;
  /** Statements per run by store statement, largest first. */
  readonly byStatement: readonly (readonly [string, number])[];
  /** This process's CPU (both nodes) over the window, % of one core. */
  readonly nodeCpu: number;
  readonly loadAverage: number;
}

const DATABASE = "orch_pgwork";
const KEY = randomBytes(32);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** The bench's own database (made when missing), so that xact_commit counts only its sessions. */
async function benchDatabase(url: string): Promise<string> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const found = await admin.query("select 1 from pg_database where datname = $1", [DATABASE]);
    if (found.rowCount === 0) await admin.query(`create database ${DATABASE}`);
  } finally {
    await admin.end();
  }
  const own = new URL(url);
  own.pathname = `/${DATABASE}`;
  return own.toString();
}

interface BenchNode {
  readonly scheduler: Scheduler;
  readonly statements: StatementCounts;
  close(): Promise<void>;
}

function startNode(
  url: string,
  schema: string,
  nodeId: string,
  options: PgWorkOptions,
  late: number[],
): BenchNode {
  const pool = new pg.Pool({ connectionString: url, max: 6, application_name: `pgwork-${nodeId}` });
  pool.on("error", () => undefined);
  const statements = countStatements(pool);
  const store = new PostgresStore({ pool, schema });
  // Before issue 17's batched finish: the scheduler finds no finishRuns and writes run by run.
  if (options.finish === "per-run")
    Object.defineProperty(store, "finishRuns", { value: undefined });
  const dispatcher = new Dispatcher();
  const scheduler = new Scheduler(dispatcher, {
    store,
    nodeId,
    encryptionKey: KEY,
    logger: silentLogger,
    timezone: "UTC",
  });
  scheduler.defineHandler("noop", (ctx) => {
    late.push(Date.now() - ctx.scheduledAt.getTime());
  });
  return {
    scheduler,
    statements,
    close: async () => {
      await scheduler.stop();
      await store.close();
      await pool.end();
      await dispatcher.close();
    },
  };
}

/** One measurement: two nodes, `rate` runs due per second, one window. */
export async function measurePgWork(options: PgWorkOptions): Promise<PgWork> {
  const url = await benchDatabase(options.url);
  const schema = `pgwork_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  const late: number[] = [];
  const nodes = [
    startNode(url, schema, "node-a", options, late),
    startNode(url, schema, "node-b", options, late),
  ];
  try {
    const [a, b] = nodes as [BenchNode, BenchNode];
    await a.scheduler.runPending();
    for (let i = 0; i < options.rate; i += 200) {
      const names = Array.from({ length: Math.min(200, options.rate - i) }, (_, j) => `t${i + j}`);
      await Promise.all(names.map((name) => a.scheduler.registerTask(name, "* * * * * *", "noop")));
    }
    await b.scheduler.runPending();
    await Promise.all(nodes.map((node) => node.scheduler.start()));
    await new Promise((resolve) => setTimeout(resolve, options.warmUpMs ?? 5000));

    const scalar = async (text: string, values: unknown[] = []): Promise<number> =>
      Number((await admin.query<{ v: string }>(text, values)).rows[0]?.v);
    const commits = (): Promise<number> =>
      scalar("select xact_commit as v from pg_stat_database where datname = $1", [DATABASE]);
    const lastId = (): Promise<number> =>
      scalar(`select coalesce(max(id), 0) as v from "${schema}".runs`);
    for (const node of nodes) node.statements.reset();
    late.length = 0;
    const [commits0, id0, cpu0, t0] = [
      await commits(),
      await lastId(),
      process.cpuUsage(),
      Date.now(),
    ];
    await new Promise((resolve) => setTimeout(resolve, options.windowMs));
    const [commits1, id1, cpu1, t1] = [
      await commits(),
      await lastId(),
      process.cpuUsage(cpu0),
      Date.now(),
    ];
    const loadAverage = loadavg()[0] ?? Number.NaN;
    const lateness = [...late].sort((x, y) => x - y);
    const byKey = new Map<string, number>();
    for (const node of nodes)
      for (const [key, n] of node.statements.byKey) byKey.set(key, (byKey.get(key) ?? 0) + n);
    const statements = [...byKey.values()].reduce((s, n) => s + n, 0);
    const seconds = (t1 - t0) / 1000;
    const rows = id1 - id0;
    // Slots due in the window's whole seconds, once their runs had time to be written.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const from = Math.ceil(t0 / 1000) * 1000;
    const to = Math.floor(t1 / 1000) * 1000;
    const ran = await scalar(
      `select count(*) as v from "${schema}".runs where status = 'succeeded'
       and scheduled_at >= $1 and scheduled_at < $2`,
      [new Date(from), new Date(to)],
    );
    return {
      options,
      recordedPerSecond: rows / seconds,
      slotsRun: to > from ? ran / (((to - from) / 1000) * options.rate) : Number.NaN,
      latenessP50: percentile(lateness, 50),
      latenessP99: percentile(lateness, 99),
      statementsPerRun: statements / rows,
      commitsPerRun: (commits1 - commits0) / rows,
      byStatement: [...byKey]
        .map(([key, n]) => [key, n / rows] as const)
        .sort((x, y) => y[1] - x[1]),
      nodeCpu: ((cpu1.user + cpu1.system) / 1000 / (t1 - t0)) * 100,
      loadAverage,
    };
  } finally {
    for (const node of nodes) await node.close().catch(() => undefined);
    await admin.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
    await admin.end();
  }
}

/** Prints one table row per measurement. */
export function printPgWork(results: readonly PgWork[]): void {
  printTable(
    [
      "finish",
      "due/s",
      "recorded/s",
      "slots run",
      "late p50/p99 ms",
      "stmts/run",
      "commits/run",
      "top statements per run",
      "node CPU",
      "load",
    ],
    results.map((r) => [
      r.options.finish,
      String(r.options.rate),
      r.recordedPerSecond.toFixed(0),
      `${(r.slotsRun * 100).toFixed(1)}%`,
      `${r.latenessP50.toFixed(0)} / ${r.latenessP99.toFixed(0)}`,
      r.statementsPerRun.toFixed(3),
      r.commitsPerRun.toFixed(3),
      r.byStatement
        .slice(0, 4)
        .map(([key, n]) => `${key} ${n.toFixed(3)}`)
        .join(", "),
      `${r.nodeCpu.toFixed(0)}%`,
      r.loadAverage.toFixed(1),
    ]),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const url =
    process.env.BENCH_PG_URL ??
    process.env.ORCHESTRATOR_TEST_PG_URL ??
    "postgres://postgres@127.0.0.1:5432/test";
  const rates = (process.env.BENCH_PG_WORK_RATES ?? "2000,3000,5000").split(",").map(Number);
  const windowMs = Number(process.env.BENCH_PG_WORK_WINDOW_MS ?? 10_000);
  const which = process.env.BENCH_PG_WORK_FINISH ?? "both";
  const modes = (which === "both" ? ["per-run", "batched"] : [which]) as PgWorkOptions["finish"][];
  const results: PgWork[] = [];
  for (const rate of rates)
    for (const finish of modes) results.push(await measurePgWork({ url, rate, windowMs, finish }));
  printPgWork(results);
}
