import type { RunStatus } from "../core/task.js";
import type { RunRecord } from "../store/store.js";

/**
 * One history row (one attempt of one run) as the JSON API
 * (`GET /api/tasks/:name/history`) and `orchestrator history --json` both
 * show it: the same keys, always present, null when there is no value.
 * Instants are ISO 8601 strings in UTC.
 */
export interface RunView {
  readonly taskName: string;
  /** The instant the run was scheduled for (a manual trigger's: when it was triggered). */
  readonly scheduledAt: string;
  /** When the attempt started; null for a run that never started (skipped, missed). */
  readonly startedAt: string | null;
  /** When the attempt ended; null for a run that never started. */
  readonly finishedAt: string | null;
  /** `finishedAt - startedAt` in ms; null unless both are known. */
  readonly durationMs: number | null;
  readonly status: RunStatus;
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number;
  /** The scheduler (node) that ran or recorded it. */
  readonly nodeId: string;
  /** Why the attempt failed (or, for a skipped run, why it was skipped); null otherwise. */
  readonly error: RunErrorView | null;
  /**
   * What the attempt produced, as JSON: the callback's return value, or the
   * `details` of the error it threw (a command's `{ exitCode, stdout, stderr, … }`,
   * an HTTP action's `{ status, body, … }`), at most 150 KiB of JSON text.
   * Null when it produced none, or when the view was built with `output: false`.
   */
  readonly output: unknown;
}

/** The error of a failed attempt (or the reason a run was skipped). */
export interface RunErrorView {
  /** The error's message (may span lines). */
  readonly message: string;
  /** The error's `code` (for example `ERR_TIMEOUT`), null when it had none. */
  readonly code: string | null;
  /** Its stack trace, null when none was recorded. */
  readonly stack: string | null;
}

/** Options of {@link runView}. */
export interface RunViewOptions {
  /**
   * Include the attempt's output. False gives `output: null` for every run:
   * lists that do not show outputs leave them out (each may be up to 150 KiB).
   * @defaultValue true
   */
  readonly output?: boolean;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** Converts a stored history row into its public view. */
export function runView(run: RunRecord, options: RunViewOptions = {}): RunView {
  return {
    taskName: run.taskName,
    scheduledAt: new Date(run.scheduledAt).toISOString(),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    durationMs:
      run.startedAt !== null && run.finishedAt !== null ? run.finishedAt - run.startedAt : null,
    status: run.status,
    attempt: run.attempt,
    nodeId: run.nodeId,
    error:
      run.error === null
        ? null
        : {
            message: run.error.message,
            code: run.error.code ?? null,
            stack: run.error.stack ?? null,
          },
    output: options.output === false ? null : (run.output ?? null),
  };
}
