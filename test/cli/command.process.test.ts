import assert from "node:assert/strict";
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runCommand, runCommandAction } from "../../src/cli/handlers/command.js";
import { ProcessGroups } from "../../src/cli/handlers/process-groups.js";
import type { ArgvCommandSpec, ShellCommandSpec } from "../../src/cli/schedule-spec.js";
import { ActionFailedError, MissingEnvVarError, TimeoutError } from "../../src/errors.js";
import { goneSoon, isGone, killAll } from "./processes.js";

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

  void it("sets the run's variables over the inherited and the spec's env, and tells the pid at spawn", async () => {
    const spawned: number[] = [];
    const result = await runCommand(
      shell('printf "%s|%s|%s|%s" "$$" "$ORCHESTRATOR_ATTEMPT" "$ORCHESTRATOR_TASK_NAME" "$KEPT"', {
        env: { ORCHESTRATOR_ATTEMPT: "9", KEPT: "yes" },
      }),
      {
        env: { PATH: process.env.PATH, ORCHESTRATOR_TASK_NAME: "outer" },
        runEnv: { ORCHESTRATOR_ATTEMPT: "2", ORCHESTRATOR_TASK_NAME: "job" },
        onSpawn: (pid) => spawned.push(pid),
      },
    );
    assert.deepEqual(spawned, [result.pid]);
    assert.equal(result.stdout, `${result.pid}|2|job|yes`);
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

  void it(
    "ends the run when the process exits, although a background child holds its output, and stops that child",
    {
      timeout: 60_000,
    },
    async () => {
      // Issue 13, item 14: `sleep` keeps stdout open; the run used to wait for it for ever.
      const result = await runCommand(shell("sleep 1008 & echo started $!"));
      assert.equal(result.exitCode, 0);
      assert.equal(result.timedOut, false);
      assert.equal(result.leftovers, "stopped");
      const match = /^started (\d+)\n$/.exec(result.stdout);
      assert.ok(match, JSON.stringify(result.stdout));
      assert.ok(await goneSoon(Number(match[1])), "the background sleep is gone");
    },
  );

  void it("stops what a command leaves running even when it does not hold the output", async () => {
    const result = await runCommand(shell("sleep 1008 >/dev/null 2>&1 & echo $!"));
    assert.equal(result.exitCode, 0);
    assert.equal(result.leftovers, "stopped");
    assert.ok(await goneSoon(Number(result.stdout.trim())), "the background sleep is gone");
  });

  void it(
    "keeps what a command leaves running with leftovers: keep",
    { timeout: 60_000 },
    async (t) => {
      const groups = new ProcessGroups();
      const result = await runCommand(shell("sleep 1008 & echo $!", { leftovers: "keep" }), {
        groups,
        drainMs: 100,
      });
      const sleepPid = Number(result.stdout.trim());
      t.after(() => killAll([sleepPid]));
      assert.equal(result.exitCode, 0);
      assert.equal(result.leftovers, "kept");
      assert.equal(isGone(sleepPid), false, "the background sleep still runs");
      assert.deepEqual(groups.ids, [], "a kept group is not stopped when the process exits");
    },
  );

  void it("says a command left nothing running when it did not", async () => {
    const result = await runCommand(argv("true"));
    assert.equal(result.leftovers, "none");
  });

  void it("registers the process group while it runs; stopAll stops it; once halted nothing starts", async () => {
    const groups = new ProcessGroups();
    let started: () => void = () => {};
    const printed = new Promise<void>((resolve) => (started = resolve));
    const running = runCommand(shell("echo up; sleep 1008"), { groups, onStdout: () => started() });
    await printed;
    assert.equal(groups.ids.length, 1);
    await groups.stopAll(5_000);
    const result = await running;
    assert.equal(result.signal, "SIGTERM");
    assert.deepEqual(groups.ids, []);

    groups.halt();
    const refused = await runCommand(argv("echo", "never"), { groups });
    assert.deepEqual([refused.aborted, refused.pid], [true, undefined]);
  });

  void it("on the scheduler's timeout (an abort with a TimeoutError) reports a timeout caused by it, with the output", async () => {
    // Issue 13, item 15: the error must keep what the command wrote.
    const controller = new AbortController();
    const timeout = new TimeoutError(50);
    await assert.rejects(
      runCommandAction(shell("echo begin; sleep 30"), {
        signal: controller.signal,
        label: "slow",
        onStdout: () => controller.abort(timeout),
      }),
      (error: unknown) => {
        assert.ok(error instanceof ActionFailedError);
        assert.equal(error.reason, "timeout");
        assert.equal(error.cause, timeout);
        assert.match(error.message, /^"slow" timed out after 50 ms and was killed/);
        const details = error.details as { timedOut: boolean; stdout: string; signal: string };
        assert.equal(details.timedOut, true);
        assert.equal(details.stdout, "begin\n");
        assert.equal(details.signal, "SIGTERM");
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
