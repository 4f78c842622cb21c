import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import { ActionFailedError, TimeoutError } from "../../errors.js";
import { inheritedEnv } from "../child-env.js";
import { resolveEnvRecord } from "../env-refs.js";
import type { Redactor } from "../secret-redactor.js";
import type { CommandActionSpec } from "../schedule-spec.js";
import { groupAlive, signalGroup, stopGroups, type ProcessGroups } from "./process-groups.js";
import { DEFAULT_TAIL_BYTES, TailBuffer } from "./tail-buffer.js";
import { waitAtMost } from "../../time/wait-at-most.js";

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /**
   * Aborting kills the process tree, like a timeout; the result says
   * `aborted`, or `timedOut` when the reason is a TimeoutError (the
   * scheduler's timeout of the run).
   */
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
   * After the process exits, wait at most this long for its output to close
   * (a background child may hold it open) before going on without it.
   * @defaultValue 500
   */
  readonly drainMs?: number;
  /**
   * Where the command's process group is registered while anything of it
   * runs, so that the caller can stop it when exiting; once halted, commands
   * are not started (the result says `aborted`).
   */
  readonly groups?: ProcessGroups;
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
   * Variables that describe the run (`ORCHESTRATOR_TASK_NAME`…, see
   * `runVariables`): set last, over the inherited environment and the spec's `env`.
   */
  readonly runEnv?: Readonly<Record<string, string>>;
  /**
   * Called with the child's pid (also its process group id) as soon as it is
   * spawned, e.g. to record it where a restart after a crash can find it.
   */
  readonly onSpawn?: (pid: number) => void;
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
  /**
   * Processes the command left running in its process group when it exited
   * (e.g. started with `&`): `stopped` (SIGTERM, then SIGKILL after the kill
   * grace), `kept` (the action's `leftovers: "keep"`), or `none`.
   */
  readonly leftovers: "none" | "stopped" | "kept";
  /** Wall time from spawn to the exit of the process, in ms (monotonic clock). */
  readonly durationMs: number;
  /** The last `tailBytes` of stdout, as UTF-8. */
  readonly stdout: string;
  readonly stderr: string;
  /** Total bytes written to stdout, including those not kept. */
  readonly stdoutBytes: number;
  readonly stderrBytes: number;
}

const DEFAULT_KILL_GRACE_MS = 5_000;
const DEFAULT_DRAIN_MS = 500;

/**
 * The longest a command run takes, with the default options, from being told
 * to stop (timeout or abort) to its result: the kill grace and two output drains.
 */
export const COMMAND_STOP_MS = DEFAULT_KILL_GRACE_MS + 2 * DEFAULT_DRAIN_MS;

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
 * The run ends when the process exits: its output is read for `drainMs` more
 * at most (a background child may hold it open), then what it left running
 * in its process group is stopped the same way, unless the action says
 * `leftovers: "keep"`.
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
  if (options.runEnv !== undefined) Object.assign(childEnv, options.runEnv);

  const stdout = new TailBuffer(options.tailBytes ?? DEFAULT_TAIL_BYTES);
  const stderr = new TailBuffer(options.tailBytes ?? DEFAULT_TAIL_BYTES);
  const started = performance.now();
  const [file, args] = spec.shell
    ? ["/bin/sh", ["-c", spec.script]]
    : [spec.argv[0], spec.argv.slice(1)];

  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const drainMs = options.drainMs ?? DEFAULT_DRAIN_MS;
  const groups = options.groups;

  return await new Promise<CommandResult>((resolve, reject) => {
    let timedOut = false;
    let aborted = options.signal?.aborted === true || groups?.halted === true;
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
        leftovers: "none",
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
    const pid = child.pid;
    if (pid !== undefined) {
      groups?.add(pid);
      options.onSpawn?.(pid);
    }

    const terminate = (): void => {
      if (terminating || pid === undefined) return;
      terminating = true;
      signalGroup(pid, "SIGTERM");
      killTimer = setTimeout(() => signalGroup(pid, "SIGKILL"), killGraceMs);
    };
    const onAbort = (): void => {
      // The scheduler's timeout aborts the run with a TimeoutError: that is a timeout too.
      if (options.signal?.reason instanceof TimeoutError) timedOut = true;
      else aborted = true;
      terminate();
    };
    const stopWatching = (): void => {
      clearTimeout(timeoutTimer);
      options.signal?.removeEventListener("abort", onAbort);
    };

    child.once("error", (error) => {
      // Emitted when the process could not be spawned (or killed); only the
      // former matters here, as kills go through process.kill.
      if (pid !== undefined) return;
      stopWatching();
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
    const closed = new Promise<void>((done) => child.once("close", () => done()));

    // The run ends when the process exits, not when its output closes: a
    // background child it started may hold stdout open for ever.
    child.once("exit", (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (pid === undefined) return;
      const durationMs = performance.now() - started;
      stopWatching();
      void (async () => {
        await waitAtMost(closed, drainMs);
        const leftovers = await handleLeftovers(pid, closed, {
          terminating,
          keep: spec.leftovers === "keep",
          killGraceMs,
          drainMs,
        });
        clearTimeout(killTimer);
        groups?.delete(pid);
        letGo(child.stdout);
        letGo(child.stderr);
        resolve({
          pid,
          exitCode,
          signal,
          timedOut,
          aborted,
          leftovers,
          durationMs,
          stdout: redactTail(stdout, options.redactor),
          stderr: redactTail(stderr, options.redactor),
          stdoutBytes: stdout.totalBytes,
          stderrBytes: stderr.totalBytes,
        });
      })();
    });

    if (pid === undefined) return;
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (spec.timeoutMs !== undefined) {
      timeoutTimer = setTimeout(() => {
        timedOut = true;
        terminate();
      }, spec.timeoutMs);
    }
  });
}

/**
 * What is left of the group `pgid` once its leader exited: stopped (SIGKILL
 * when the run was being killed anyway, else SIGTERM then SIGKILL after the
 * grace), or kept when the task asks for it; then the output gets another
 * drain, since the pipes close once their last writer is gone.
 */
async function handleLeftovers(
  pgid: number,
  closed: Promise<void>,
  how: { terminating: boolean; keep: boolean; killGraceMs: number; drainMs: number },
): Promise<CommandResult["leftovers"]> {
  if (!groupAlive(pgid)) return "none";
  if (how.terminating) signalGroup(pgid, "SIGKILL");
  else if (how.keep) return "kept";
  else await stopGroups([pgid], how.killGraceMs);
  await waitAtMost(closed, how.drainMs);
  return "stopped";
}

/**
 * Stops reading a pipe the run no longer waits for (a process outside the
 * group, or a kept one, still holds it): its data is discarded from now on,
 * without closing it (the writer would get SIGPIPE), and it no longer keeps
 * this process alive.
 */
function letGo(stream: Readable | null): void {
  if (stream === null || stream.closed) return;
  stream.removeAllListeners("data");
  stream.resume();
  (stream as Readable & { unref?: () => void }).unref?.();
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
    // The scheduler's TimeoutError, when its timeout stopped the run: it then
    // recognises this error as the account of its timeout (and records the output).
    const reason: unknown = options.signal?.reason;
    const timeout = reason instanceof TimeoutError ? reason : new TimeoutError(spec.timeoutMs ?? 0);
    throw new ActionFailedError(
      "timeout",
      `${JSON.stringify(label)} timed out after ${timeout.timeoutMs} ms and was killed${suffix}`,
      result,
      { cause: timeout },
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
