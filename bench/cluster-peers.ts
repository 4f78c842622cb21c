/**
 * Context for the cluster benchmark: job queues on the same PostgreSQL.
 * pg-boss and graphile-worker, through their public APIs: a fresh schema,
 * `jobs` trivial jobs enqueued in batches of 1,000 (pg-boss `insert`,
 * graphile-worker `addJobs`: the enqueue rate), then 1 or 2 worker processes
 * (bench/cluster-peer-worker.ts) drain the queue: jobs handled per second
 * from the first job handled to the last, and PostgreSQL's work per job
 * while they drain. Their cron fires at most once a minute (a cron entry
 * enqueues a job), so a due rate of thousands a second means thousands of
 * jobs, not of cron entries.
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { makeWorkerUtils } from "graphile-worker";
import PgBoss from "pg-boss";
import type { PeerWorkerConfig } from "./cluster-peer-worker.js";
import { until } from "./cluster-workload.js";
import { delta, type PgDelta, type PgTarget } from "./pg-meter.js";

const WORKER_SCRIPT = fileURLToPath(new URL("./cluster-peer-worker.ts", import.meta.url));
const QUEUE = "noop";
const ENQUEUE_BATCH = 1_000;

export type PeerLibrary = PeerWorkerConfig["library"];

/** How the peers are run (for the output). */
export interface PeerPlan {
  readonly jobs: number;
  /** pg-boss `work()` loops, graphile-worker `concurrency`, per process. */
  readonly concurrency: number;
  /** pg-boss `batchSize`. */
  readonly batchSize: number;
}

export interface PeerResult {
  readonly library: PeerLibrary;
  readonly processes: number;
  readonly enqueuedPerSecond: number;
  readonly handledPerSecond: number;
  readonly handled: number;
  readonly pg: PgDelta;
}

interface WorkerHandle {
  readonly child: ChildProcess;
  done: number;
  firstMs: number;
  lastMs: number;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
}

function startWorker(config: PeerWorkerConfig): WorkerHandle {
  const child = fork(WORKER_SCRIPT, [JSON.stringify(config)], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let markReady: () => void = () => undefined;
  let failReady: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code) => {
      failReady(new Error(`${config.library} worker exited (${code}) before it was ready`));
      resolve();
    }),
  );
  const handle: WorkerHandle = { child, done: 0, firstMs: 0, lastMs: 0, ready, exited };
  child.on(
    "message",
    (message: { ready?: boolean; done?: number; firstMs?: number; lastMs?: number }) => {
      if (message.ready === true) markReady();
      if (typeof message.done === "number") {
        handle.done = message.done;
        handle.firstMs = message.firstMs ?? 0;
        handle.lastMs = message.lastMs ?? 0;
      }
    },
  );
  return handle;
}

/** Creates the library's schema and queue, enqueues `jobs`; returns the enqueue rate and a cleanup. */
async function fill(
  library: PeerLibrary,
  url: string,
  schema: string,
  jobs: number,
): Promise<{ perSecond: number; close: () => Promise<void> }> {
  const batches = Math.ceil(jobs / ENQUEUE_BATCH);
  const size = (i: number) => Math.min(ENQUEUE_BATCH, jobs - i * ENQUEUE_BATCH);
  if (library === "pg-boss") {
    const boss = new PgBoss({
      connectionString: url,
      schema,
      max: 4,
      supervise: false,
      schedule: false,
    });
    boss.on("error", (error) => console.error(`pg-boss: ${error.message}`));
    await boss.start();
    await boss.createQueue(QUEUE);
    const started = performance.now();
    for (let i = 0; i < batches; i++)
      await boss.insert(Array.from({ length: size(i) }, (_, n) => ({ name: QUEUE, data: { n } })));
    const perSecond = jobs / ((performance.now() - started) / 1000);
    return { perSecond, close: () => boss.stop({ graceful: false, wait: true }) };
  }
  const utils = await makeWorkerUtils({ connectionString: url, schema });
  await utils.migrate();
  const started = performance.now();
  for (let i = 0; i < batches; i++)
    await utils.addJobs(
      Array.from({ length: size(i) }, (_, n) => ({ identifier: QUEUE, payload: { n } })),
    );
  const perSecond = jobs / ((performance.now() - started) / 1000);
  return { perSecond, close: async () => await utils.release() };
}

/** One library with `processes` worker processes on a fresh schema. */
export async function measurePeer(
  target: PgTarget,
  library: PeerLibrary,
  processes: number,
  plan: PeerPlan,
): Promise<PeerResult> {
  const schema = `orch_bench_peer_${randomBytes(4).toString("hex")}`;
  const filled = await fill(library, target.url, schema, plan.jobs);
  const workers: WorkerHandle[] = [];
  try {
    const pgFrom = await target.snapshot();
    for (let i = 0; i < processes; i++) {
      workers.push(
        startWorker({
          library,
          connectionString: target.url,
          schema,
          queue: QUEUE,
          concurrency: plan.concurrency,
          batchSize: plan.batchSize,
        }),
      );
    }
    await Promise.all(workers.map((w) => w.ready));
    const total = () => workers.reduce((sum, w) => sum + w.done, 0);
    await until(`${library} to handle ${plan.jobs} jobs`, () => total() >= plan.jobs, 300_000);
    const pgTo = await target.snapshot();
    const first = Math.min(...workers.filter((w) => w.done > 0).map((w) => w.firstMs));
    const last = Math.max(...workers.map((w) => w.lastMs));
    return {
      library,
      processes,
      enqueuedPerSecond: filled.perSecond,
      handled: total(),
      handledPerSecond: total() / (Math.max(1, last - first) / 1000),
      pg: delta(pgFrom, pgTo),
    };
  } finally {
    for (const worker of workers) if (worker.child.connected) worker.child.send("stop");
    await Promise.all(workers.map((w) => w.exited));
    await filled.close().catch(() => undefined);
    await target.admin.query(`drop schema if exists "${schema}" cascade`);
  }
}
