import { parentPort, workerData } from "node:worker_threads";
import { checkScheduleFile, type LoadScheduleOptions } from "./schedule-file.js";
import type { ScheduleLoadResult } from "./schedule-spec.js";

/**
 * The entry of the thread that checks a schedule file (see
 * `loadScheduleOffThread`): it runs {@link checkScheduleFile} on the job in
 * its `workerData` and posts one {@link ScheduleCheckMessage}. The thread is
 * thrown away afterwards, with whatever the modules it imported left behind.
 */

/** What the main thread passes as `workerData`. */
export interface ScheduleCheckJob {
  readonly file: string;
  /** {@link LoadScheduleOptions} with `now` as a number (a function cannot be posted). */
  readonly options: Omit<LoadScheduleOptions, "now"> & { readonly nowMs: number };
}

/** The kinds of message the thread posts. */
export const SCHEDULE_CHECK_MESSAGES = { result: "result", failed: "failed" } as const;

/** The one message the thread posts. */
export type ScheduleCheckMessage =
  | { readonly kind: typeof SCHEDULE_CHECK_MESSAGES.result; readonly result: ScheduleLoadResult }
  | { readonly kind: typeof SCHEDULE_CHECK_MESSAGES.failed; readonly message: string };

if (parentPort !== null) {
  const port = parentPort;
  const { file, options } = workerData as ScheduleCheckJob;
  const { nowMs, ...rest } = options;
  checkScheduleFile(file, { ...rest, now: () => nowMs }).then(
    (result) => port.postMessage({ kind: SCHEDULE_CHECK_MESSAGES.result, result }),
    (error: unknown) =>
      port.postMessage({
        kind: SCHEDULE_CHECK_MESSAGES.failed,
        message: error instanceof Error ? error.message : String(error),
      }),
  );
}
