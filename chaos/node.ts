/**
 * One scheduler node of the fault-injection suite, run by the suite with
 * `fork(..., { execArgv: ["--import", "tsx"] })`: a real Scheduler (real
 * Dispatcher, real timers) on a PostgresStore or a SqliteStore, with a clock
 * that may be skewed, and one handler that works for a while (honouring
 * `ctx.signal`) and writes its side effects to the suite's sink over IPC.
 * The protocol is in chaos/protocol.ts; the configuration is one JSON argument.
 */
import pg from "pg";
import { Dispatcher } from "../src/core/dispatcher.js";
import type { TaskContext } from "../src/core/task.js";
import { NodeIdInUseError } from "../src/errors.js";
import type { Logger } from "../src/logger.js";
import { Scheduler } from "../src/scheduler/index.js";
import { PostgresStore } from "../src/store/postgres/postgres-store.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { Store } from "../src/store/store.js";
import type { Clock } from "../src/time/clock.js";
import type { NodeConfig, NodeMessage, SuiteMessage } from "./protocol.js";
import {
  WORK_HANDLER,
  plannedFailure,
  taskOptions,
  type ActiveWindow,
  type WorkPayload,
  type WorkTask,
} from "./workload.js";

const config = JSON.parse(process.argv[2] ?? "{}") as NodeConfig;

/** The real clock moved by a fixed offset: a node whose clock is wrong. */
class SkewedClock implements Clock {
  readonly #offsetMs: number;
  constructor(offsetMs: number) {
    this.#offsetMs = offsetMs;
  }
  now(): Date {
    return new Date(this.nowMs());
  }
  nowMs(): number {
    return Date.now() + this.#offsetMs;
  }
  monotonicMs(): number {
    return performance.now();
  }
}

function send(message: NodeMessage): void {
  if (process.connected) process.send?.(message);
}

/** Warnings and errors go to stderr (the suite keeps it in a file per node). */
function line(level: string, obj: Record<string, unknown>, msg: string | undefined): void {
  const err = obj.err instanceof Error ? ` ${obj.err.message}` : "";
  // The workload's own failures are the plan, not news.
  if (err.startsWith(" planned failure")) return;
  const rest = { ...obj };
  delete rest.err;
  process.stderr.write(
    `${new Date().toISOString()} [${config.tag}] ${level} ${msg ?? ""}${err} ${JSON.stringify(rest)}\n`,
  );
}
const logger: Logger = {
  info: () => undefined,
  warn: (obj, msg) => line("warn", obj, msg),
  error: (obj, msg) => line("error", obj, msg),
};

let pool: pg.Pool | undefined;
let store: Store;
if (config.store.kind === "postgres") {
  // A pool of its own, named after the process, so that the suite can cut exactly its connections.
  pool = new pg.Pool({
    connectionString: config.store.url,
    max: 6,
    application_name: `chaos-${config.tag}`,
    connectionTimeoutMillis: 5000,
  });
  pool.on("error", () => undefined);
  store = new PostgresStore({ pool, schema: config.store.schema });
} else {
  store = new SqliteStore({ path: config.store.path });
}

const dispatcher = new Dispatcher();
const scheduler = new Scheduler(dispatcher, {
  store,
  nodeId: config.nodeId,
  leaseMs: config.leaseMs,
  clock: new SkewedClock(config.clockOffsetMs),
  timezone: "UTC",
  testMode: true,
  logger,
  // `npm run chaos -- --race` (chaos/run.ts).
  ...(process.env.CHAOS_RACE === "1" ? { shareWork: false } : {}),
});

const counts: Record<string, number> = {};
for (const event of [
  "lease:lost",
  "scheduler:error",
  "store:unreachable",
  "store:reconnected",
  "clock:skew",
  "run:missed",
] as const) {
  scheduler.on(event, () => void (counts[event] = (counts[event] ?? 0) + 1));
}

let inFlight = 0;
let callbacks = 0;
let requests = 0;
const acks = new Map<number, (accepted: boolean) => void>();

/** Sends the last side effect and waits for the sink's answer (10 s at most). */
function writeDone(id: string): Promise<boolean> {
  const request = ++requests;
  return new Promise<boolean>((resolve, reject) => {
    const timer = setTimeout(() => {
      acks.delete(request);
      reject(new Error("the sink did not answer within 10 s"));
    }, 10_000);
    acks.set(request, (accepted) => {
      clearTimeout(timer);
      resolve(accepted);
    });
    send({ type: "done", request, id, at: Date.now() });
  });
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
function work(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

async function handler(ctx: TaskContext): Promise<void> {
  const at = Date.now();
  const payload = ctx.payload as WorkPayload;
  const slot = ctx.scheduledAt.getTime();
  const id = `${config.tag}:${++callbacks}`;
  send({
    type: "begin",
    id,
    task: ctx.taskName,
    slot,
    attempt: ctx.attempt,
    nodeId: config.nodeId,
    tag: config.tag,
    at,
    token: ctx.fencingToken,
    resource: payload.fence === "task" ? ctx.taskName : `${ctx.taskName}@${slot}`,
  });
  inFlight++;
  try {
    try {
      await work(payload.ms, ctx.signal);
    } catch (error) {
      send({ type: "end", id, at: Date.now(), outcome: "aborted", detail: String(error) });
      throw error;
    }
    if (plannedFailure(payload, ctx.taskName, slot, ctx.attempt)) {
      send({ type: "end", id, at: Date.now(), outcome: "failed" });
      throw new Error(`planned failure of attempt ${ctx.attempt}`);
    }
    const accepted = await writeDone(id);
    if (!accepted) {
      throw new Error("the sink refused the side effect: a newer fencing token was seen");
    }
  } finally {
    inFlight--;
  }
}
scheduler.defineHandler(WORK_HANDLER, handler);

/** Registrations in flight at once: more would wait for the pool past its connection timeout (`--tasks 5000`). */
const REGISTER_AT_ONCE = 64;

async function register(tasks: readonly WorkTask[], window: ActiveWindow): Promise<number> {
  for (let i = 0; i < tasks.length; i += REGISTER_AT_ONCE) {
    await Promise.all(
      tasks
        .slice(i, i + REGISTER_AT_ONCE)
        .map((task) =>
          scheduler.registerTask(task.name, task.schedule, WORK_HANDLER, taskOptions(task, window)),
        ),
    );
  }
  return tasks.length;
}

const status = setInterval(() => {
  send({ type: "status", inFlight, counts: { ...counts }, rss: process.memoryUsage.rss() });
}, 100);

let stopping = false;
process.on("message", (message: SuiteMessage) => {
  if (message.type === "done-ack") {
    acks.get(message.request)?.(message.accepted);
    acks.delete(message.request);
  } else if (message.type === "register") {
    void register(message.tasks, message.window).then(
      (count) => send({ type: "registered", count }),
      (error: unknown) => {
        line("error", { err: error }, "registration failed");
        process.exit(3);
      },
    );
  } else if (message.type === "stop" && !stopping) {
    stopping = true;
    void (async () => {
      await scheduler.stop();
      send({ type: "stopped", at: Date.now() });
      // Whatever starts now started after stop() resolved: the suite counts it.
      await new Promise((resolve) => setTimeout(resolve, message.lingerMs));
      clearInterval(status);
      await store.close().catch(() => undefined);
      await pool?.end().catch(() => undefined);
      await dispatcher.close();
      process.exit(0);
    })();
  }
});
// The suite went away: nothing to report to any more.
process.on("disconnect", () => process.exit(0));

try {
  await scheduler.start();
  send({ type: "ready", pid: process.pid });
} catch (error) {
  // Another live process holds this node id: the scheduler refuses to start (the same-node-id
  // scenario). A registration names it as the cause of its own error.
  let cause: unknown = error;
  while (
    !(cause instanceof NodeIdInUseError) &&
    cause instanceof Error &&
    cause.cause !== undefined
  )
    cause = cause.cause;
  if (!(cause instanceof NodeIdInUseError)) throw error;
  const refused: NodeMessage = { type: "refused", code: cause.code, message: cause.message };
  await new Promise<void>((resolve) => {
    if (process.connected && process.send !== undefined) process.send(refused, () => resolve());
    else resolve();
  });
  process.exit(4);
}
