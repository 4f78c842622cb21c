import { Worker } from "node:worker_threads";
import type { ScheduleCheckJob, ScheduleCheckMessage } from "./schedule-check-worker.js";
import type { LoadScheduleOptions } from "./schedule-file.js";
import type { ScheduleLoadResult } from "./schedule-spec.js";

/** The default heap limit of the checking thread, in MB. */
export const DEFAULT_CHECK_HEAP_MB = 2048;

/** Options of {@link loadScheduleOffThread}. */
export interface OffThreadOptions extends Omit<LoadScheduleOptions, "now"> {
  /** The instant of the check, epoch ms (what has passed, what still fires). */
  readonly nowMs: number;
  /** Aborting terminates the thread; the result is then an error at 1:1. */
  readonly signal?: AbortSignal;
  /**
   * The most heap the thread may use, in MB: past it the thread is stopped and
   * the file refused, while the daemon goes on.
   * @defaultValue 2048
   */
  readonly maxHeapMb?: number;
}

/** Bootstrap of the thread when running from sources (a variable, so bundlers leave it alone). */
const DEV_BOOT = "./dev-schedule-check-boot.mjs";

/** The thread's entry beside this module, with this module's extension (`.mjs`, `.cjs`, …). */
function workerEntry(): URL {
  const here = import.meta.url;
  const extension = /\.([cm]?[jt]s)$/.exec(here)?.[1] ?? "js";
  if (extension.endsWith("ts")) return new URL(DEV_BOOT, here);
  return new URL(`./schedule-check-worker.${extension}`, here);
}

function failure(file: string, message: string): ScheduleLoadResult {
  return { ok: false, errors: [{ file, line: 1, column: 1, message, path: [] }], warnings: [] };
}

/**
 * Runs everything `validate` checks (`checkScheduleFile`) in a worker thread
 * made for it and thrown away after: parsing a large file never blocks the
 * event loop (the scheduler keeps running during a reload), the modules
 * imported to check their exports run their top-level code there, not in the
 * daemon, and a file that needs too much memory fails alone. Never rejects:
 * a thread that fails gives an error at 1:1.
 */
export function loadScheduleOffThread(
  file: string,
  options: OffThreadOptions,
): Promise<ScheduleLoadResult> {
  const { signal, maxHeapMb = DEFAULT_CHECK_HEAP_MB, ...rest } = options;
  if (signal?.aborted === true) return Promise.resolve(failure(file, "the check was cancelled"));
  const job: ScheduleCheckJob = { file, options: rest };
  const worker = new Worker(workerEntry(), {
    workerData: job,
    resourceLimits: { maxOldGenerationSizeMb: maxHeapMb },
    // What modules print when imported is not the daemon's output.
    stdout: true,
    stderr: true,
  });
  worker.stdout.resume();
  worker.stderr.resume();
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: ScheduleLoadResult): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      void worker.terminate().then(() => resolve(result));
    };
    const onAbort = (): void => done(failure(file, "the check was cancelled"));
    signal?.addEventListener("abort", onAbort, { once: true });
    worker.once("message", (message: ScheduleCheckMessage) => {
      done(
        message.kind === "result"
          ? message.result
          : failure(file, `cannot check the schedule file: ${message.message}`),
      );
    });
    worker.once("error", (error: Error & { code?: string }) => {
      done(
        failure(
          file,
          error.code === "ERR_WORKER_OUT_OF_MEMORY"
            ? `checking the schedule file needs more than ${maxHeapMb} MB of memory: make it smaller`
            : `cannot check the schedule file: ${error.message}`,
        ),
      );
    });
    worker.once("exit", (code) => {
      done(
        failure(
          file,
          `the check of the schedule file ended before it was done (exit code ${code}): does a module's top-level code call process.exit()?`,
        ),
      );
    });
  });
}
