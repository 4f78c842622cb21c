/**
 * One worker process of a job-queue peer (bench/cluster-peers.ts), run with
 * `node --import tsx`: pg-boss or graphile-worker, through their public APIs,
 * working a trivial job (count it, return) from a queue filled beforehand.
 * Reports `{ ready }` once working, then every 100 ms `{ done, firstMs,
 * lastMs }` (jobs handled here, wall-clock ms of the first and last); on
 * `"stop"` it stops its worker, reports once more and exits.
 */
import { Logger, run, type Runner } from "graphile-worker";
import PgBoss from "pg-boss";

/** What a peer worker is told (one JSON argument). */
export interface PeerWorkerConfig {
  readonly library: "pg-boss" | "graphile-worker";
  readonly connectionString: string;
  readonly schema: string;
  /** pg-boss: the queue name; graphile-worker: the task identifier. */
  readonly queue: string;
  /** pg-boss: `work()` loops in this process; graphile-worker: `concurrency`. */
  readonly concurrency: number;
  /** pg-boss: jobs fetched per poll (`batchSize`). */
  readonly batchSize: number;
}

const config = JSON.parse(process.argv[2] ?? "{}") as PeerWorkerConfig;
let done = 0;
let firstMs = 0;
let lastMs = 0;
const handled = (jobs: number): void => {
  const now = Date.now();
  if (done === 0) firstMs = now;
  done += jobs;
  lastMs = now;
};
const report = (): void => void process.send?.({ done, firstMs, lastMs });

let stopWorker: () => Promise<void>;
if (config.library === "pg-boss") {
  const boss = new PgBoss({
    connectionString: config.connectionString,
    schema: config.schema,
    max: config.concurrency + 2,
    supervise: false,
    schedule: false,
    migrate: false,
  });
  boss.on("error", (error) => console.error(`pg-boss worker: ${error.message}`));
  await boss.start();
  for (let i = 0; i < config.concurrency; i++) {
    await boss.work(
      config.queue,
      { batchSize: config.batchSize, pollingIntervalSeconds: 0.5 },
      (jobs) => Promise.resolve(handled(jobs.length)),
    );
  }
  stopWorker = () => boss.stop({ graceful: true, wait: true });
} else {
  const runner: Runner = await run({
    connectionString: config.connectionString,
    schema: config.schema,
    concurrency: config.concurrency,
    maxPoolSize: config.concurrency + 2,
    noHandleSignals: true,
    pollInterval: 500,
    logger: new Logger(() => () => undefined),
    taskList: { [config.queue]: () => handled(1) },
  });
  stopWorker = () => runner.stop();
}

const reporter = setInterval(report, 100);
process.send?.({ ready: true });
process.on("message", (message) => {
  if (message !== "stop") return;
  clearInterval(reporter);
  void stopWorker()
    .catch((error: unknown) => console.error(`peer worker stop: ${String(error)}`))
    .finally(() => {
      report();
      process.send?.({ stopped: true }, () => process.exit(0));
    });
});
