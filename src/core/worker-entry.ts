/**
 * The module each worker thread of the Dispatcher's pool loads. It imports the
 * handler module (cached per thread by the module loader) and calls the named
 * export with a context like the inline one. The return value is dropped, so
 * handlers may return anything without hitting structured-clone errors.
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
}

/** Runs one job in this worker thread; rejects with the handler's error. */
export default async function runWorkerJob(job: WorkerJob): Promise<void> {
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
  await (handler as (ctx: unknown) => unknown)({
    taskName: job.taskName,
    scheduledAt: new Date(job.scheduledAtMs),
    attempt: job.attempt,
    payload: job.payload,
    signal: controller.signal,
  });
}
