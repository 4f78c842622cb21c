import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { ActionFailedError, TimeoutError } from "../../errors.js";
import { inheritedEnv } from "../child-env.js";
import { resolveEnvRecord } from "../env-refs.js";
import type { Redactor } from "../secret-redactor.js";
import type { CommandActionSpec } from "../schedule-spec.js";
import { DEFAULT_TAIL_BYTES, TailBuffer } from "./tail-buffer.js";

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** Aborting kills the process tree, like a timeout; the result says `aborted`. */
  readonly signal?: AbortSignal;
  /**
   * The environment the child inherits (the spec's `env` is added on top) and
   * that `${NAME}` references are resolved from. The daemon's own secrets
   * (`ORCHESTRATOR_TOKEN`, the key variables…) are not inherited: a task that
   * needs one names it in its `env`.
   * @defaultValue process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * After SIGTERM to the process group, wait this long before SIGKILL.
   * @defaultValue 5000
   */
  readonly killGraceMs?: number;
  /**
   * How many trailing bytes of stdout and of stderr to keep.
   * @defaultValue 65536
   */
  readonly tailBytes?: number;
  /** Called with each stdout chunk as it arrives (live logs). */
  readonly onStdout?: (chunk: Buffer) => void;
  /** Called with each stderr chunk as it arrives. */
  readonly onStderr?: (chunk: Buffer) => void;
  /** Names the command in errors, e.g. the task name. */
  readonly label?: string;
  /**
   * Hides secrets in the kept stdout and stderr (and so in error messages
   * built from them). Applied to the final tails, not to the chunks given to
   * `onStdout`/`onStderr`.
   */
  readonly redactor?: Redactor;
}

/** Everything known about a finished command run. */
export interface CommandResult {
  /** Process id of the child (also its process group id); absent when it never started. */
  readonly pid: number | undefined;
  /** Exit code, or null when ended by a signal. */
  readonly exitCode: number | null;
  /** The signal that ended it, if any. */
  readonly signal: NodeJS.Signals | null;
  /** It ran past `timeoutMs` and its process tree was killed. */
  readonly timedOut: boolean;
  /** The run's AbortSignal fired and its process tree was killed. */
  readonly aborted: boolean;
  /** Wall time from spawn to the close of its output, in ms (monotonic clock). */
  readonly durationMs: number;
  /** The last `tailBytes` of stdout, as UTF-8. */
  readonly stdout: string;
  readonly stderr: string;
  /** Total bytes written to stdout, including those not kept. */
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
}

const DEFAULT_KILL_GRACE_MS = 5_000;

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    // A negative pid addresses the whole process group: the child was spawned
    // detached, so it leads a group that holds everything it started.
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

function redactTail(tail: TailBuffer, redactor: Redactor | undefined): string {
  const text = tail.text();
  return redactor === undefined ? text : redactor.redact(text, { start: tail.truncated });
}

function describeCommand(spec: CommandActionSpec): string {
  const text = spec.shell ? spec.script : spec.argv.join(" ");
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Runs a command action: an argv without a shell, or a script with
 * `/bin/sh -c` when `shell` is true, in its own process group. Captures the
 * exit status, duration and the last 64 KiB of stdout and of stderr. On
 * timeout or abort, sends SIGTERM to the whole process tree and SIGKILL after
 * `killGraceMs`.
 *
 * Resolves with the result whatever the exit status (see
 * {@link runCommandAction} for a version that throws on failure); rejects only
 * when the process cannot be started or a `${NAME}` reference is unset.
 */
export async function runCommand(
  spec: CommandActionSpec,
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const baseEnv = options.env ?? process.env;
  const label = options.label ?? describeCommand(spec);
  const childEnv = inheritedEnv(baseEnv);
  Object.assign(childEnv, resolveEnvRecord(spec.env, baseEnv, "env", JSON.stringify(label)));

  const stdout = new TailBuffer(options.tailBytes ?? DEFAULT_TAIL_BYTES);
  const stderr = new TailBuffer(options.tailBytes ?? DEFAULT_TAIL_BYTES);
  const started = performance.now();
  const [file, args] = spec.shell
    ? ["/bin/sh", ["-c", spec.script]]
    : [spec.argv[0], spec.argv.slice(1)];

  return await new Promise<CommandResult>((resolve, reject) => {
    let timedOut = false;
    let aborted = options.signal?.aborted ?? false;
    let terminating = false;
    let killTimer: NodeJS.Timeout | undefined;
    let timeoutTimer: NodeJS.Timeout | undefined;

    if (aborted) {
      resolve({
        pid: undefined,
        exitCode: null,
        signal: null,
        timedOut,
        aborted,
        durationMs: 0,
        stdout: "",
        stderr: "",
        stdoutBytes: 0,
        stderrBytes: 0,
      });
      return;
    }

    const child = spawn(file, args, {
      cwd: spec.cwd,
      env: childEnv,
      detached: true,
      stdio: [spec.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });

    const terminate = (): void => {
      if (terminating) return;
      terminating = true;
      killGroup(child.pid, "SIGTERM");
      killTimer = setTimeout(
        () => killGroup(child.pid, "SIGKILL"),
        options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
      );
    };
    const onAbort = (): void => {
      aborted = true;
      terminate();
    };
    const cleanup = (): void => {
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      options.signal?.removeEventListener("abort", onAbort);
    };

    child.once("error", (error) => {
      // Emitted when the process could not be spawned (or killed); only the
      // former matters here, as kills go through process.kill.
      if (child.pid !== undefined) return;
      cleanup();
      reject(
        new ActionFailedError(
          "spawn",
          `Cannot start ${JSON.stringify(label)}: ${error.message}`,
          undefined,
          { cause: error },
        ),
      );
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout.write(chunk);
      options.onStdout?.(chunk);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr.write(chunk);
      options.onStderr?.(chunk);
    });
    if (child.stdin) {
      // The child may exit without reading its input: EPIPE is not an error of the run.
      child.stdin.on("error", () => {});
      child.stdin.end(spec.stdin);
    }
    child.once("close", (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (child.pid === undefined) return;
      // Whatever of the group outlived its leader (e.g. ignoring SIGTERM) goes too.
      if (terminating) killGroup(child.pid, "SIGKILL");
      cleanup();
      resolve({
        pid: child.pid,
        exitCode,
        signal,
        timedOut,
        aborted,
        durationMs: performance.now() - started,
        stdout: redactTail(stdout, options.redactor),
        stderr: redactTail(stderr, options.redactor),
        stdoutBytes: stdout.totalBytes,
        stderrBytes: stderr.totalBytes,
      });
    });

    if (child.pid === undefined) return;
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (spec.timeoutMs !== undefined) {
      timeoutTimer = setTimeout(() => {
        timedOut = true;
        terminate();
      }, spec.timeoutMs);
    }
  });
}

function lastLine(text: string): string {
  const line = text.trimEnd().split("\n").at(-1) ?? "";
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/**
 * Runs a command action as a task callback: resolves with the result when it
 * exits with code 0, and otherwise throws an {@link ActionFailedError} whose
 * `details` is the {@link CommandResult} (exit code, output tails), with
 * `reason` `exit`, `signal`, `timeout` or `aborted`, so that the scheduler
 * records the failure with its output.
 */
export async function runCommandAction(
  spec: CommandActionSpec,
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const result = await runCommand(spec, options);
  if (result.exitCode === 0 && !result.timedOut && !result.aborted) return result;
  const label = options.label ?? describeCommand(spec);
  const tail = lastLine(result.stderr) || lastLine(result.stdout);
  const suffix = tail ? `: ${tail}` : "";
  if (result.timedOut) {
    throw new ActionFailedError(
      "timeout",
      `${JSON.stringify(label)} timed out after ${spec.timeoutMs ?? 0} ms and was killed${suffix}`,
      result,
      {
        cause: new TimeoutError(spec.timeoutMs ?? 0),
      },
    );
  }
  if (result.aborted) {
    throw new ActionFailedError(
      "aborted",
      `${JSON.stringify(label)} was aborted and killed${suffix}`,
      result,
      {
        cause: options.signal?.reason,
      },
    );
  }
  if (result.exitCode === null) {
    throw new ActionFailedError(
      "signal",
      `${JSON.stringify(label)} was killed by ${result.signal ?? "a signal"}${suffix}`,
      result,
    );
  }
  throw new ActionFailedError(
    "exit",
    `${JSON.stringify(label)} exited with code ${result.exitCode}${suffix}`,
    result,
  );
}
