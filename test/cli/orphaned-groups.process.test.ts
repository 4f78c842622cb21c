import assert from "node:assert/strict";
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { describe, it, type TestContext } from "node:test";
import { processStartTime, recordedGroupState } from "../../src/cli/handlers/proc-stat.js";
import { settleOrphanedCommands } from "../../src/cli/orphaned-commands.js";
import type { CommandActionSpec } from "../../src/cli/schedule-spec.js";
import type { Claim } from "../../src/store/store.js";
import { recordingLogger } from "../helpers/scheduler.js";
import { goneSoon, isGone, killAll } from "./processes.js";

// settleOrphanedCommands on real process groups started here, detached as
// the daemon starts its commands: which groups it stops, waits for, or
// leaves alone.

/**
 * Starts `script` with /bin/sh in a process group of its own and resolves
 * with the pids it prints (one per line, `count` of them) and its own.
 */
async function startGroup(
  t: TestContext,
  script: string,
  count: number,
): Promise<{ pgid: number; pids: number[]; child: ChildProcessByStdio<Writable, Readable, null> }> {
  const child = spawn("/bin/sh", ["-c", script], {
    detached: true,
    stdio: ["pipe", "pipe", "ignore"],
  });
  const pgid = child.pid ?? 0;
  const pids: number[] = [];
  t.after(() => killAll([pgid, ...pids]));
  let text = "";
  child.stdout.setEncoding("utf8");
  for await (const chunk of child.stdout) {
    text += String(chunk);
    if (text.split("\n").filter(Boolean).length >= count) break;
  }
  pids.push(...text.split("\n").filter(Boolean).map(Number));
  child.unref();
  return { pgid, pids, child };
}

function claimOf(pgid: number, startTime: string, claimedAt = Date.now()): Claim {
  return {
    id: `claim-${pgid}`,
    taskName: "job",
    scheduledAt: claimedAt,
    nodeId: "node-a",
    claimedAt,
    leaseExpiresAt: null,
    fencingToken: 1,
    process: { pgid, startTime },
  };
}

function command(extra: Partial<CommandActionSpec> = {}): CommandActionSpec {
  return { kind: "command", shell: true, script: "true", env: {}, ...extra } as CommandActionSpec;
}

describe("settleOrphanedCommands", () => {
  it("stops a group still running under the recorded start: its leader and the rest", async (t) => {
    const { pgid, pids } = await startGroup(t, "sleep 1000 & echo $!; wait", 1);
    const startTime = processStartTime(pgid);
    assert.ok(startTime !== undefined);
    const logger = recordingLogger();
    const notes = await settleOrphanedCommands([claimOf(pgid, startTime)], {
      logger,
      nowMs: () => Date.now(),
      commandOf: () => command(),
      killGraceMs: 10_000,
    });
    assert.equal(
      notes.get(`claim-${pgid}`),
      `its command (process group ${pgid}) was still running and was stopped`,
    );
    assert.ok(await goneSoon(pgid));
    for (const pid of pids) assert.ok(isGone(pid), `${pid} is gone`);
    assert.ok(logger.entries.some((entry) => (entry.obj as { pgid?: number }).pgid === pgid));
  });

  it("stops a group whose leader exited while the rest lives on", async (t) => {
    // The shell prints its background sleep's pid, then exits once its input closes:
    // the group lives on, leaderless.
    const { pgid, pids, child } = await startGroup(t, "sleep 1000 & echo $!; read line", 1);
    const startTime = processStartTime(pgid);
    assert.ok(startTime !== undefined);
    child.stdin.end();
    assert.ok(await goneSoon(pgid), "the leader exited");
    assert.equal(recordedGroupState(pgid, startTime), "running");
    await settleOrphanedCommands([claimOf(pgid, startTime)], {
      logger: recordingLogger(),
      nowMs: () => Date.now(),
      commandOf: () => undefined, // the task is gone: stopped all the same
    });
    for (const pid of pids) assert.ok(await goneSoon(pid), `${pid} is gone`);
  });

  it("never signals a group whose leader started at another time (a pid used again)", async (t) => {
    const { pgid } = await startGroup(t, "echo $$; exec sleep 1000", 1);
    const startTime = processStartTime(pgid);
    assert.ok(startTime !== undefined);
    const [boot, ticks] = startTime.split("/");
    const notes = await settleOrphanedCommands([claimOf(pgid, `${boot}/${Number(ticks) - 1}`)], {
      logger: recordingLogger(),
      nowMs: () => Date.now(),
      commandOf: () => command(),
    });
    assert.equal(isGone(pgid), false, "left alone");
    assert.equal(notes.get(`claim-${pgid}`), `its command (process group ${pgid}) had exited`);
    const elsewhere = await settleOrphanedCommands([claimOf(pgid, `another-boot/${ticks}`)], {
      logger: recordingLogger(),
      nowMs: () => Date.now(),
      commandOf: () => command(),
    });
    assert.equal(isGone(pgid), false, "recorded on another boot: left alone");
    assert.equal(elsewhere.size, 0, "nothing is known of it");
  });

  it("waits with orphans: wait, and stops the command once its timeout from the claim passed", async (t) => {
    const { pgid } = await startGroup(t, "echo $$; exec sleep 1000", 1);
    const startTime = processStartTime(pgid);
    assert.ok(startTime !== undefined);
    // Claimed long ago: its 1 s timeout passed already.
    const logger = recordingLogger();
    const notes = await settleOrphanedCommands([claimOf(pgid, startTime, 0)], {
      logger,
      nowMs: () => Date.now(),
      commandOf: () => command({ orphans: "wait", timeoutMs: 1000 }),
    });
    assert.ok(await goneSoon(pgid));
    assert.equal(
      notes.get(`claim-${pgid}`),
      `its command (process group ${pgid}) was still running past its timeout and was stopped`,
    );
    assert.ok(logger.entries.some((entry) => /waiting for the command/.test(entry.msg ?? "")));
  });

  it("waits with orphans: wait until the command exits by itself", async (t) => {
    const { pgid } = await startGroup(t, "echo $$; exec sleep 1000", 1);
    const startTime = processStartTime(pgid);
    assert.ok(startTime !== undefined);
    let looked = 0;
    const settled = settleOrphanedCommands([claimOf(pgid, startTime)], {
      logger: recordingLogger(),
      // Ends the command by itself once the group was looked at a few times.
      nowMs: () => {
        if (++looked === 3) killAll([pgid]);
        return Date.now();
      },
      commandOf: () => command({ orphans: "wait" }),
      pollMs: 5,
    });
    const notes = await settled;
    assert.ok(looked >= 3);
    assert.equal(
      notes.get(`claim-${pgid}`),
      `its command (process group ${pgid}) was still running; the daemon waited for it to exit`,
    );
  });
});
