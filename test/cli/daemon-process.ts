import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { fileURLToPath } from "node:url";

/** The CLI entry, run from source with tsx (resolved absolutely, so any cwd works). */
const bin = fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url));
const tsx = import.meta.resolve("tsx");

/** How long a wait for a log line may take before the test fails (generous: CI machines stall). */
export const WAIT_MS = 30_000;

function environment(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.ORCHESTRATOR_ENCRYPTION_KEY;
  delete env.ORCHESTRATOR_ENCRYPTION_KEYS;
  delete env.ORCHESTRATOR_TOKEN;
  delete env.ORCHESTRATOR_READ_TOKEN;
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Runs a CLI command to completion. */
export function cli(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string | undefined> },
): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ["--import", tsx, bin, ...args], {
    cwd: options.cwd,
    encoding: "utf8",
    env: environment(options.env ?? {}),
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * `orchestrator run …` (or, with `command`, another command such as
 * `trigger`) as a child process, with its stdout and stderr lines collected
 * in order, and a bounded wait for a line.
 */
export class DaemonProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly #waiters = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** `descriptorLimit` runs it under `ulimit -n` (a POSIX shell execs node). */
  constructor(
    args: readonly string[],
    options: {
      cwd: string;
      env?: Record<string, string>;
      command?: string;
      descriptorLimit?: number;
    },
  ) {
    const argv = [process.execPath, "--import", tsx, bin, options.command ?? "run", ...args];
    const limit = options.descriptorLimit;
    const [command = "", ...rest] =
      limit === undefined ? argv : ["sh", "-c", `ulimit -n ${limit} && exec "$0" "$@"`, ...argv];
    this.child = spawn(command, rest, {
      cwd: options.cwd,
      env: environment(options.env ?? {}),
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let partial = "";
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => {
        const parts = (partial + chunk).split("\n");
        partial = parts.pop() ?? "";
        this.lines.push(...parts);
        for (const wake of this.#waiters) wake();
      });
    }
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        for (const wake of this.#waiters) wake();
        resolve({ code, signal });
      });
    });
  }

  /** Everything written so far, for failure messages. */
  get output(): string {
    return this.lines.join("\n");
  }

  /**
   * Resolves with the first line at index `from` or later that matches, and
   * its index; rejects after {@link WAIT_MS} or when the process exits first.
   */
  waitFor(
    match: RegExp | ((line: string) => boolean),
    from = 0,
  ): Promise<{ line: string; index: number }> {
    const test = typeof match === "function" ? match : (line: string) => match.test(line);
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (let i = from; i < this.lines.length; i++) {
          const line = this.lines[i] ?? "";
          if (test(line)) {
            done();
            resolve({ line, index: i });
            return true;
          }
        }
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done();
          reject(new Error(`the daemon exited before printing ${String(match)}:\n${this.output}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${String(match)}:\n${this.output}`));
      }, WAIT_MS);
      const wake = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
      };
      if (!check()) this.#waiters.add(wake);
    });
  }

  /** Sends a signal. */
  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Stops the daemon if it still runs (test clean-up). */
  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }
}

/**
 * Call at a test file's top level: a function that makes a fresh temporary
 * directory named after `prefix`; all of them are removed after the file.
 */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    dirs.push(dir);
    return dir;
  };
}
