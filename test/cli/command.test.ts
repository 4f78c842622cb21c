import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runCommand, runCommandAction } from "../../src/cli/handlers/command.js";
import type { ArgvCommandSpec, ShellCommandSpec } from "../../src/cli/schedule-spec.js";
import { ActionFailedError, MissingEnvVarError, TimeoutError } from "../../src/errors.js";

const argv = (...args: [string, ...string[]]): ArgvCommandSpec => ({
  kind: "command",
  shell: false,
  argv: args,
  env: {},
});
const shell = (script: string, extra: Partial<ShellCommandSpec> = {}): ShellCommandSpec => ({
  kind: "command",
  shell: true,
  script,
  env: {},
  ...extra,
});

/** Whether a process has exited: no /proc entry, or a zombie waiting to be reaped. */
function isGone(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return true;
  try {
    // The state follows the parenthesised command name: "123 (sleep) Z ...".
    const state = readFileSync(stat, "utf8").replace(/^.*\) /s, "")[0];
    return state === "Z" || state === "X";
  } catch {
    return true;
  }
}

/** A SIGKILLed process dies when the kernel gets to it: on a loaded machine, a moment later. */
async function goneSoon(pid: number | undefined): Promise<boolean> {
  if (pid === undefined) return false;
  for (let waited = 0; waited < 2_000; waited += 20) {
    if (isGone(pid)) return true;
    await sleep(20);
  }
  return isGone(pid);
}

void describe("command handler", () => {
  void it("runs an argv without a shell and captures output, exit code and duration", async () => {
    const result = await runCommand(argv("echo", "$HOME; `date`"));
    assert.equal(result.exitCode, 0);
    assert.equal(result.signal, null);
    assert.equal(result.stdout, "$HOME; `date`\n");
    assert.equal(result.stderr, "");
    assert.equal(result.timedOut, false);
    assert.ok(Number.isFinite(result.durationMs) && result.durationMs >= 0);
    assert.equal(typeof result.pid, "number");
  });

  void it("runs a shell line with env (with ${} resolved), cwd and stdin", async () => {
    const dir = await mkdtemp(join(tmpdir(), "orchestrator-cmd-"));
    try {
      const result = await runCommand(
        shell('printf "%s|%s|" "$GREETING" "$(pwd)"; cat; echo oops >&2', {
          env: { GREETING: "hello ${WHO}" },
          cwd: dir,
          stdin: "line 1\nline 2\n",
        }),
        { env: { PATH: process.env.PATH, WHO: "world" } },
      );
      assert.equal(result.exitCode, 0);
      assert.equal(result.stdout, `hello world|${await realpath(dir)}|line 1\nline 2\n`);
      assert.equal(result.stderr, "oops\n");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it("does not resolve ${} in the inherited environment, only in the spec's", async () => {
    const result = await runCommand(shell('printf %s "$RAW"'), {
      env: { PATH: process.env.PATH, RAW: "${NOT_A_REF}" },
    });
    assert.equal(result.stdout, "${NOT_A_REF}");
  });

  void it("keeps only the last 64 KiB of a large stdout and stderr", async () => {
    const script =
      'process.stdout.write("a".repeat(1 << 20) + "END-OUT"); process.stderr.write("b".repeat(300000) + "END-ERR");';
    const result = await runCommand(argv(process.execPath, "-e", script));
    assert.equal(result.exitCode, 0);
    assert.equal(result.stdoutBytes, (1 << 20) + 7);
    assert.equal(result.stderrBytes, 300000 + 7);
    assert.equal(result.stdout.length, 65536);
    assert.equal(result.stderr.length, 65536);
    assert.ok(result.stdout.endsWith("aaaEND-OUT"));
    assert.ok(result.stderr.endsWith("bbbEND-ERR"));
  });

  void it("kills the whole process tree on timeout", async () => {
    // sh starts `sleep 30` in the background, prints its pid, and waits for it.
    const result = await runCommand(shell("sleep 30 & echo $!; wait", { timeoutMs: 1000 }));
    assert.equal(result.timedOut, true);
    assert.equal(result.exitCode, null);
    assert.equal(result.signal, "SIGTERM");
    const sleepPid = Number(result.stdout.trim());
    assert.ok(
      Number.isInteger(sleepPid) && sleepPid > 0,
      `sleep pid in ${JSON.stringify(result.stdout)}`,
    );
    assert.ok(await goneSoon(result.pid), "the shell is gone");
    assert.ok(await goneSoon(sleepPid), "its child sleep 30 is gone");
  });

  void it("reports a timeout as an ActionFailedError caused by a TimeoutError", async () => {
    await assert.rejects(
      runCommandAction(shell("sleep 30", { timeoutMs: 200 })),
      (error: unknown) => {
        assert.ok(error instanceof ActionFailedError);
        assert.equal(error.reason, "timeout");
        assert.ok(error.cause instanceof TimeoutError);
        assert.equal((error.details as { timedOut: boolean }).timedOut, true);
        return true;
      },
    );
  });

  void it("kills a tree that ignores SIGTERM with SIGKILL after the grace period, on abort", async () => {
    const controller = new AbortController();
    let output = "";
    const result = await runCommand(shell("trap '' TERM; sleep 30 & echo $!; wait"), {
      signal: controller.signal,
      killGraceMs: 200,
      onStdout: (chunk) => {
        output += chunk.toString();
        // The trap is set before the pid is printed: abort only now.
        if (output.endsWith("\n")) controller.abort(new Error("stop"));
      },
    });
    assert.equal(result.aborted, true);
    assert.equal(result.timedOut, false);
    assert.equal(result.signal, "SIGKILL");
    assert.ok(await goneSoon(result.pid));
    assert.ok(await goneSoon(Number(output.trim())));
  });

  void it("does not start when the signal is already aborted", async () => {
    const result = await runCommand(argv("echo", "never"), { signal: AbortSignal.abort() });
    assert.deepEqual([result.aborted, result.pid, result.stdout], [true, undefined, ""]);
    await assert.rejects(runCommandAction(argv("echo", "never"), { signal: AbortSignal.abort() }), {
      reason: "aborted",
    });
  });

  void it("throws on a non-zero exit with the captured output attached", async () => {
    await assert.rejects(
      runCommandAction(shell("echo progress; echo 'disk full' >&2; exit 3"), { label: "backup" }),
      (error: unknown) => {
        assert.ok(error instanceof ActionFailedError);
        assert.equal(error.code, "ERR_ACTION_FAILED");
        assert.equal(error.reason, "exit");
        assert.equal(error.message, '"backup" exited with code 3: disk full');
        assert.deepEqual(
          (({ exitCode, stdout, stderr }) => ({ exitCode, stdout, stderr }))(
            error.details as { exitCode: number; stdout: string; stderr: string },
          ),
          { exitCode: 3, stdout: "progress\n", stderr: "disk full\n" },
        );
        return true;
      },
    );
    const ok = await runCommandAction(argv("true"));
    assert.equal(ok.exitCode, 0);
  });

  void it("reports a process killed by a signal", async () => {
    await assert.rejects(runCommandAction(shell("kill -KILL $$")), {
      reason: "signal",
      message: /killed by SIGKILL/,
    });
  });

  void it("rejects when the program cannot be started", async () => {
    await assert.rejects(runCommand(argv("/nonexistent/program")), (error: unknown) => {
      assert.ok(error instanceof ActionFailedError);
      assert.equal(error.reason, "spawn");
      assert.match(error.message, /ENOENT/);
      return true;
    });
  });

  void it("rejects before starting when a ${} reference is unset", async () => {
    await assert.rejects(
      runCommand(shell("true", { env: { X: "${ORCHESTRATOR_TEST_UNSET}" } }), { env: {} }),
      MissingEnvVarError,
    );
  });
});
