/**
 * The module each worker thread of the Dispatcher's pool loads. It imports the
 * handler module (cached per thread by the module loader) and calls the named
 * export with a context like the inline one. Its return value comes back only
 * when it is a plain JSON object (as JSON), so handlers may return anything
 * without hitting structured-clone errors.
 */

/** What the main thread posts for one run. */
export interface WorkerJob {
  /** A `file:` (or other importable) URL. */
  readonly moduleUrl: string;
  readonly exportName: string;
  readonly taskName: string;
  readonly scheduledAtMs: number;
  readonly attempt: number;
  readonly payload: unknown;
  readonly fencingToken: number;
}

/** A plain object's JSON copy, or undefined for anything else (or what JSON cannot encode). */
function plainJson(value: unknown): unknown {
  if (value === null || typeof value !== "object") return undefined;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return undefined;
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch {
    return undefined;
  }
}

/** The task of the job this thread runs, or ran last (one job at a time per thread). */
let lastTaskName: string | undefined;

/**
 * A handler's promise that rejects with nobody awaiting it (a "floating"
 * rejection) would end this thread, and piscina would report it as the
 * failure of whatever job the thread runs next, perhaps another task's. It is
 * written to stderr instead, naming the task the thread was running (or ran
 * last), and the thread goes on.
 */
function onFloatingRejection(reason: unknown): void {
  const err =
    reason instanceof Error
      ? { type: reason.name, message: reason.message, stack: reason.stack }
      : { message: String(reason) };
  const task = lastTaskName === undefined ? "" : ` of task ${JSON.stringify(lastTaskName)}`;
  console.error(
    `[orchestrator] ERROR A promise rejected and nothing awaited it, in the worker thread of a module handler${task}; the thread goes on ${JSON.stringify({ err, taskName: lastTaskName })}`,
  );
}
process.on("unhandledRejection", onFloatingRejection);

/** Runs one job in this worker thread; resolves with its plain-JSON result, rejects with the handler's error. */
export default async function runWorkerJob(job: WorkerJob): Promise<unknown> {
  lastTaskName = job.taskName;
  const namespace = (await import(job.moduleUrl)) as Record<string, unknown>;
  const handler = namespace[job.exportName];
  if (typeof handler !== "function") {
    throw new TypeError(
      `The module ${job.moduleUrl} has no exported function ${JSON.stringify(job.exportName)} (found ${typeof handler})`,
    );
  }
  // The main thread stops a timed-out run by terminating this thread; the
  // signal exists so that handlers written for inline use keep working.
  const controller = new AbortController();
  const result = await (handler as (ctx: unknown) => unknown)({
    taskName: job.taskName,
    scheduledAt: new Date(job.scheduledAtMs),
    attempt: job.attempt,
    payload: job.payload,
    fencingToken: job.fencingToken,
    signal: controller.signal,
  });
  return plainJson(result);
}
