import type { RunStatus } from "../core/task.js";
import type { RunRecord } from "../store/store.js";

/**
 * One history row (one attempt of one run) as the JSON API
 * (`GET /api/tasks/:name/history`, `GET /api/tasks/:name/runs/:id`) and
 * `orchestrator history --json` all show it: the same keys, always present,
 * null when there is no value. Instants are ISO 8601 strings in UTC.
 */
export interface RunView {
  /** `<scheduledAt ms>-<attempt>`: the run's address under `/api/tasks/:name/runs/`. */
  readonly id: string;
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
  /** A command's exit code; null for other tasks, or a command ended by a signal. */
  readonly exitCode: number | null;
  /** An HTTP action's response status; null for other tasks. */
  readonly httpStatus: number | null;
  /** A command's standard output (its tail, as kept), null for other tasks. */
  readonly stdout: string | null;
  /** A command's standard error, null for other tasks. */
  readonly stderr: string | null;
  /**
   * What the attempt produced, as JSON: the callback's return value, or the
   * `details` of the error it threw (a command's `{ exitCode, stdout, stderr, … }`,
   * an HTTP action's `{ status, body, … }`), at most 150 KiB of JSON text.
   * Null when it produced none.
   */
  readonly output: unknown;
  /**
   * True when this view is cut short (lists): `stdout`, `stderr` and the
   * strings in `output` keep only their last {@link LIST_TAIL_CHARS}
   * characters, and an `output` still over {@link LIST_OUTPUT_CHARS} of JSON
   * is null. The run's own view (`GET /api/tasks/:name/runs/:id`) is whole.
   */
  readonly truncated: boolean;
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
   * Cut the view short, for lists (see {@link RunView.truncated}).
   * @defaultValue false
   */
  readonly tails?: boolean;
}

/** How many trailing characters of each output string a list keeps. */
export const LIST_TAIL_CHARS = 4096;
/** The most JSON text of `output` a list keeps (after cutting its strings). */
export const LIST_OUTPUT_CHARS = 16 * 1024;

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** The id of a run in its view and URL. */
export function runId(run: Pick<RunRecord, "scheduledAt" | "attempt">): string {
  return `${run.scheduledAt}-${run.attempt}`;
}

/** Parses a run id; undefined when malformed. */
export function parseRunId(id: string): { scheduledAt: number; attempt: number } | undefined {
  const match = /^(-?\d{1,16})-(\d{1,9})$/.exec(id);
  if (match === null) return undefined;
  const scheduledAt = Number(match[1]);
  const attempt = Number(match[2]);
  return Number.isSafeInteger(scheduledAt) && attempt >= 1 ? { scheduledAt, attempt } : undefined;
}

function field(output: unknown, key: string): unknown {
  return output !== null && typeof output === "object" && !Array.isArray(output)
    ? (output as Record<string, unknown>)[key]
    : undefined;
}

/** A string's last `max` characters (not splitting a surrogate pair). */
function tail(text: string, max: number): string {
  if (text.length <= max) return text;
  let start = text.length - max;
  const code = text.charCodeAt(start);
  if (code >= 0xdc00 && code <= 0xdfff) start++;
  return text.slice(start);
}

/** `output` with its long strings (one level deep) cut to their tails; `cut` says whether any was. */
function cutOutput(output: unknown): { value: unknown; cut: boolean } {
  if (output === null || output === undefined) return { value: null, cut: false };
  let cut = false;
  let value = output;
  if (typeof output === "string") {
    value = tail(output, LIST_TAIL_CHARS);
    cut = value !== output;
  } else if (typeof output === "object" && !Array.isArray(output)) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(output)) {
      copy[key] = typeof item === "string" ? tail(item, LIST_TAIL_CHARS) : item;
      if (copy[key] !== item) cut = true;
    }
    value = copy;
  }
  if (JSON.stringify(value).length > LIST_OUTPUT_CHARS) return { value: null, cut: true };
  return { value, cut };
}

function text(value: unknown, tails: boolean): { text: string | null; cut: boolean } {
  if (typeof value !== "string") return { text: null, cut: false };
  const kept = tails ? tail(value, LIST_TAIL_CHARS) : value;
  return { text: kept, cut: kept !== value };
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Converts a stored history row into its public view (whole, or cut short for a list). */
export function runView(run: RunRecord, options: RunViewOptions = {}): RunView {
  const tails = options.tails === true;
  const raw = run.output ?? null;
  const isCommand = typeof field(raw, "stdout") === "string" || "exitCode" in Object(raw);
  const stdout = text(field(raw, "stdout"), tails);
  const stderr = text(field(raw, "stderr"), tails);
  const output = tails ? cutOutput(raw) : { value: raw, cut: false };
  return {
    id: runId(run),
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
    exitCode: numberOrNull(field(raw, "exitCode")),
    httpStatus: isCommand ? null : numberOrNull(field(raw, "status")),
    stdout: stdout.text,
    stderr: stderr.text,
    output: output.value,
    truncated: stdout.cut || stderr.cut || output.cut,
  };
}
