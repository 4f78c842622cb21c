/** Stable machine-readable codes carried by every error orchestrator throws. */
export type OrchestratorErrorCode =
  | "ERR_INVALID_ARGUMENT"
  | "ERR_CRON_SYNTAX"
  | "ERR_DUPLICATE_TASK"
  | "ERR_TASK_NOT_FOUND"
  | "ERR_HANDLER_MISSING"
  | "ERR_NODE_ID_IN_USE"
  | "ERR_DECRYPTION"
  | "ERR_LEASE_LOST"
  | "ERR_NON_RETRYABLE"
  | "ERR_STORE"
  | "ERR_TIMEOUT"
  | "ERR_CANCELLED"
  | "ERR_ABORTED"
  | "ERR_MISSING_ENV"
  | "ERR_ACTION_FAILED"
  | "ERR_MISSING_KEY"
  | "ERR_INSECURE_FILE";

/** Base class of every error orchestrator throws; branch on `code`, not on the message. */
export class OrchestratorError extends Error {
  readonly code: OrchestratorErrorCode;

  constructor(code: OrchestratorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Stands in for a secret (a key, a token) wherever an error would otherwise
 * hold or print it: as `received` of an InvalidArgumentError and in its
 * message, which shows only `description` (its shape, never its content).
 */
export class Redacted {
  /** What the secret looked like, e.g. "a string of 40 characters". */
  readonly description: string;
  constructor(description: string) {
    this.description = description;
  }
  toString(): string {
    return `${this.description} (redacted)`;
  }
  toJSON(): string {
    return this.toString();
  }
}

/** Describes a received value for messages: `0 (number)`, `"x" (string)`, `null`. */
export function describeValue(value: unknown): string {
  if (value instanceof Redacted) return value.toString();
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "string") return `${JSON.stringify(value)} (string)`;
  if (typeof value === "function") return "a function";
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? "an invalid Date" : `${value.toISOString()} (Date)`;
  }
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `${(value as number | boolean | bigint | symbol).toString()} (${typeof value})`;
}

/**
 * A public entry point received an argument it cannot use. The message follows
 * "Expected `name` to be …, got … (type)".
 */
export class InvalidArgumentError extends OrchestratorError {
  readonly argument: string;
  readonly expected: string;
  readonly received: unknown;

  constructor(argument: string, expected: string, received: unknown, detail?: string) {
    super(
      "ERR_INVALID_ARGUMENT",
      `Expected \`${argument}\` to be ${expected}, got ${describeValue(received)}` +
        (detail ? `: ${detail}` : ""),
    );
    this.argument = argument;
    this.expected = expected;
    this.received = received;
  }
}

/** A cron field name as used in CronSyntaxError. */
export type CronFieldName =
  "second" | "minute" | "hour" | "day-of-month" | "month" | "day-of-week" | "year" | "expression";

/** A cron expression could not be parsed; `field` and `column` point at the culprit. */
export class CronSyntaxError extends OrchestratorError {
  readonly expression: string;
  readonly field: CronFieldName;
  /** 0-based index into `expression` of the offending token. */
  readonly column: number;
  /** The offending text. */
  readonly token: string;

  constructor(
    expression: string,
    field: CronFieldName,
    column: number,
    token: string,
    reason: string,
  ) {
    super(
      "ERR_CRON_SYNTAX",
      `Invalid cron expression ${JSON.stringify(expression)}: ${reason} (column ${column})`,
    );
    this.expression = expression;
    this.field = field;
    this.column = column;
    this.token = token;
  }
}

/** A task with that name exists already (pass `replace: true` to overwrite it). */
export class DuplicateTaskError extends OrchestratorError {
  readonly taskName: string;
  constructor(taskName: string) {
    super(
      "ERR_DUPLICATE_TASK",
      `A task named ${JSON.stringify(taskName)} is already registered; pass { replace: true } to replace it`,
    );
    this.taskName = taskName;
  }
}

/** No task with that name is registered. */
export class TaskNotFoundError extends OrchestratorError {
  readonly taskName: string;
  constructor(taskName: string) {
    super("ERR_TASK_NOT_FOUND", `No task named ${JSON.stringify(taskName)} is registered`);
    this.taskName = taskName;
  }
}

/**
 * Why a sealed record could not be opened:
 * - `malformed`: not an envelope, empty, truncated, or a corrupted header;
 * - `unsupported-version`: an envelope format this version does not know (written by a newer one?);
 * - `unknown-key`: sealed with a key id that is not in the keyring (key removed, or wrong keyring);
 * - `authentication-failed`: wrong key, tampered bytes, or a record that belongs to another task;
 * - `plaintext-refused`: an intact plaintext (test-mode) record met a production sealer that
 *   was not told to migrate plaintext records.
 */
export type DecryptionFailureReason =
  | "malformed"
  | "unsupported-version"
  | "unknown-key"
  | "authentication-failed"
  | "plaintext-refused";

/**
 * Another live process (or scheduler) holds this node id on the store: two
 * live nodes with one id would take each other's runs for a dead
 * predecessor's. Pass a distinct `nodeId` (`--node-id`).
 */
export class NodeIdInUseError extends OrchestratorError {
  readonly nodeId: string;

  constructor(nodeId: string, where: string) {
    super(
      "ERR_NODE_ID_IN_USE",
      `Node id ${JSON.stringify(nodeId)} is in use by another live process on ${where}: ` +
        "two live nodes with one id would take each other's runs; give this one another id " +
        "(the nodeId option, or --node-id)",
    );
    this.nodeId = nodeId;
  }
}

/**
 * A durable task's callback names a handler that no `defineHandler` call in
 * this process provides: its runs fail with this error until one does.
 */
export class HandlerMissingError extends OrchestratorError {
  readonly handler: string;

  constructor(handler: string) {
    super(
      "ERR_HANDLER_MISSING",
      `No handler named ${JSON.stringify(handler)} is defined; call scheduler.defineHandler(${JSON.stringify(handler)}, fn)`,
    );
    this.handler = handler;
  }
}

/** A sealed record could not be opened: wrong or missing key, tampering, truncation. */
export class DecryptionError extends OrchestratorError {
  /** Why, when known (always set by `src/crypto`); branch on this rather than on the message. */
  readonly reason: DecryptionFailureReason | undefined;
  /** The key id named by the envelope, when it could be read. Never key material. */
  readonly keyId: string | undefined;

  constructor(
    message: string,
    options?: { cause?: unknown; reason?: DecryptionFailureReason; keyId?: string },
  ) {
    super("ERR_DECRYPTION", message, options);
    this.reason = options?.reason;
    this.keyId = options?.keyId;
  }
}

/** The lease on a running run was lost (expired or taken over by another node). */
export class LeaseLostError extends OrchestratorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_LEASE_LOST", message, options);
  }
}

/** Thrown by a task callback to say: do not retry this run. */
export class NonRetryableError extends OrchestratorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_NON_RETRYABLE", message, options);
  }
}

/** A store operation failed; the cause holds the driver's error. */
export class StoreError extends OrchestratorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_STORE", message, options);
  }
}

/** A run exceeded its `timeoutMs`. */
export class TimeoutError extends OrchestratorError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super("ERR_TIMEOUT", `The run exceeded its timeout of ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** The reason a run's `ctx.signal` aborts when the run is cancelled (`Scheduler.cancelTask`). */
export class CancelledError extends OrchestratorError {
  /** Who asked, when known (a dashboard user, `cli`). */
  readonly by: string | undefined;
  constructor(by?: string) {
    super("ERR_CANCELLED", `The run was cancelled${by === undefined ? "" : ` by ${by}`}`);
    this.by = by;
  }
}

/** A `${NAME}` reference (in a schedule file's `env` or `headers`) names an unset environment variable. */
export class MissingEnvVarError extends OrchestratorError {
  readonly variable: string;
  constructor(variable: string, where?: string) {
    super(
      "ERR_MISSING_ENV",
      `The environment variable ${variable} is not set` +
        (where
          ? ` (referenced as \${${variable}} by ${where})`
          : ` (referenced as \${${variable}})`),
    );
    this.variable = variable;
  }
}

/**
 * The store holds records sealed with keys of which none was found (no key
 * variable set, no key file). Starting anyway would seal new records with a
 * new key and leave the old ones unreadable, so nothing is created.
 */
export class MissingKeyError extends OrchestratorError {
  /** The ids of the keys the sealed records need (ids are not secret). */
  readonly keyIds: readonly string[];
  constructor(message: string, keyIds: readonly string[]) {
    super("ERR_MISSING_KEY", message);
    this.keyIds = keyIds;
  }
}

/** A file holding a secret can be read or written by other users than its owner. */
export class InsecureFileError extends OrchestratorError {
  readonly path: string;
  /** The file's permission bits, e.g. 0o644. */
  readonly mode: number;
  /**
   * @param what - names the file in the message, e.g. "the key file".
   */
  constructor(what: string, path: string, mode: number) {
    super(
      "ERR_INSECURE_FILE",
      `${what} ${path} is readable or writable by other users (mode ${formatMode(mode)}); ` +
        `run \`chmod 600 ${shellWord(path)}\` and start again`,
    );
    this.path = path;
    this.mode = mode;
  }
}

/** A path as one shell word, quoted only when it needs to be. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

/** Permission bits as 4 octal digits: 0o644 → "0644". */
export function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
}

/**
 * A daemon action (a command, an HTTP call) ran but failed: non-zero exit,
 * killed by a signal, timed out, aborted, or an unexpected HTTP status.
 * `details` holds what was captured (exit code and output tails, or status
 * and the start of the body) so that the run history can show it.
 */
export class ActionFailedError<TDetails = unknown> extends OrchestratorError {
  readonly reason: "exit" | "signal" | "timeout" | "aborted" | "spawn" | "status" | "network";
  readonly details: TDetails;
  constructor(
    reason: ActionFailedError["reason"],
    message: string,
    details: TDetails,
    options?: { cause?: unknown },
  ) {
    super("ERR_ACTION_FAILED", message, options);
    this.reason = reason;
    this.details = details;
  }
}
