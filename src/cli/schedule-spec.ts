import type { HeartbeatSpec } from "./heartbeat-spec.js";
import type { NotifySpec } from "./notify/notify-schema.js";

/** A JSON value, as carried by `payload` and an HTTP `body`. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** When a task runs: a cron expression, a fixed interval, or once at an instant. */
export type TriggerSpec =
  | { readonly kind: "cron"; readonly expression: string }
  | { readonly kind: "every"; readonly intervalMs: number }
  | { readonly kind: "at"; readonly at: Date };

interface CommandActionBase {
  readonly kind: "command";
  /** Absolute working directory (a relative `cwd` is resolved against the schedule file's folder). */
  readonly cwd?: string;
  /**
   * Variables added to the daemon's environment. Values may hold `${NAME}`
   * references, kept as written: resolve them at run time with `resolveEnvRefs`.
   */
  readonly env: Readonly<Record<string, string>>;
  /** Text written to the command's standard input (then closed); none when absent. */
  readonly stdin?: string;
  /** Kill the process tree after this many ms (the task's `timeoutMs`). */
  readonly timeoutMs?: number;
  /**
   * What happens to processes the command leaves running in its process
   * group when it exits (e.g. started with `&`): `stop` them (SIGTERM, then
   * SIGKILL), or `keep` them (a task that starts a service).
   * @defaultValue "stop"
   */
  readonly leftovers?: "stop" | "keep";
  /**
   * What a daemon restarted after a crash does with this command when the
   * dead daemon's run of it still runs (its process group outlived it):
   * `stop` it (SIGTERM, then SIGKILL) or `wait` for it to exit (stopping it
   * at `timeoutMs` from that run's claim), before recording the run
   * interrupted and retrying it.
   * @defaultValue "stop"
   */
  readonly orphans?: "stop" | "wait";
}

/** Runs a program directly, without a shell. */
export interface ArgvCommandSpec extends CommandActionBase {
  readonly shell: false;
  /** Program and arguments; `argv[0]` is looked up in `PATH`. */
  readonly argv: readonly [string, ...string[]];
}

/** Runs a shell line with `/bin/sh -c` (only with `shell: true` in the file). */
export interface ShellCommandSpec extends CommandActionBase {
  readonly shell: true;
  readonly script: string;
}

/** The `command` action. */
export type CommandActionSpec = ArgvCommandSpec | ShellCommandSpec;

/** The `http` action. */
export interface HttpActionSpec {
  readonly kind: "http";
  /** Upper-case HTTP method. @defaultValue "GET" */
  readonly method: string;
  readonly url: string;
  /** Header values may hold `${NAME}` references, resolved at run time. */
  readonly headers: Readonly<Record<string, string>>;
  /** A string is sent as is; any other JSON value is sent as JSON. */
  readonly body?: JsonValue;
  /** Accepted statuses; any 2xx when absent. */
  readonly expectStatus?: readonly number[];
  readonly timeoutMs?: number;
  /**
   * Most redirects to follow (`followRedirects` in the file); absent: none, a
   * 3xx is the response.
   */
  readonly maxRedirects?: number;
}

/** The `module` action: an export of a JS/TS module, run in a worker thread. */
export interface ModuleActionSpec {
  readonly kind: "module";
  /** Absolute path (a relative one is resolved against the schedule file's folder). */
  readonly path: string;
  /** @defaultValue "default" */
  readonly export: string;
}

/** What a task does. */
export type ActionSpec = CommandActionSpec | HttpActionSpec | ModuleActionSpec;

/** Retry policy of a task, passed to the Scheduler as written. */
export interface RetrySpec {
  readonly attempts: number;
  readonly backoffMs?: number;
  readonly factor?: number;
  readonly maxBackoffMs?: number;
}

/** The Scheduler task options a schedule file may set; absent means the Scheduler's default. */
export interface TaskOptionsSpec {
  readonly overlap?: "skip" | "queue" | "allow";
  readonly misfire?: "run-once" | "skip" | "run-all";
  readonly misfireGraceMs?: number;
  readonly maxCatchUpRuns?: number;
  /** `retries: 3` in the file becomes `{ attempts: 3 }`. */
  readonly retries?: RetrySpec;
  /** How day-of-month and day-of-week combine (cron tasks). */
  readonly dayMatch?: "vixie" | "or" | "and";
  /** Daylight-saving behaviour (cron tasks). */
  readonly dst?: { readonly gap?: "shift" | "skip"; readonly overlap?: "first" | "both" };
  readonly jitterMs?: number;
  readonly startAt?: Date;
  readonly endAt?: Date;
  readonly maxRuns?: number;
  /** At most this many of the task's newest history rows are kept. */
  readonly keepLast?: number;
  readonly timeoutMs?: number;
}

/** A 1-based line and column in a schedule file. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** One validated task of a schedule file. */
export interface TaskSpec {
  readonly name: string;
  readonly description?: string;
  readonly trigger: TriggerSpec;
  /** IANA zone: the task's, else the file's top-level `timezone`, else absent (process zone). */
  readonly timezone?: string;
  readonly action: ActionSpec;
  readonly options: TaskOptionsSpec;
  readonly payload?: JsonValue;
  /** Who is told of its failures and recoveries (the file's `notify` merged in); none when absent. */
  readonly notify?: NotifySpec;
  /** A run longer than this (ms) is reported `stuck` by `notify`. */
  readonly stuckAfterMs?: number;
  /** Where the task starts in the file, for messages. */
  readonly position: SourcePosition;
}

/** A validated schedule file. */
export interface ScheduleSpec {
  readonly file: string;
  readonly tasks: readonly TaskSpec[];
  /** Hex SHA-256 of the file's text: the file's identity in the store (which file added a task). */
  readonly sha256: string;
  /** The file's `historyMaxAge` in ms (0: keep all history); absent when the file does not say. */
  readonly historyMaxAgeMs?: number;
  /** The file's `heartbeat`, its URL's `${NAME}` references unresolved; absent when the file has none. */
  readonly heartbeat?: HeartbeatSpec;
}

/** A problem found in a schedule file (an error, or a warning). */
export interface ScheduleFileError {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  readonly message: string;
  /** Path of the offending value in the document, e.g. `["tasks", 0, "http", "method"]`. */
  readonly path: readonly (string | number)[];
}

/**
 * What loading a schedule file gives: the tasks, or every error found; and in
 * both cases the warnings (what will not work as it stands, such as a
 * `${NAME}` that is not set, without making the file wrong).
 */
export type ScheduleLoadResult =
  | {
      readonly ok: true;
      readonly schedule: ScheduleSpec;
      readonly warnings: readonly ScheduleFileError[];
    }
  | {
      readonly ok: false;
      readonly errors: readonly ScheduleFileError[];
      readonly warnings: readonly ScheduleFileError[];
    };
