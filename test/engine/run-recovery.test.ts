/**
 * `beforeRecovery`: the hook that deals with what a dead process's attempts
 * left running (the daemon's commands) is awaited before their runs are
 * recorded interrupted and retried, and its notes go into the history rows.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generateKey } from "../../src/crypto/key-material.js";
import type { Claim } from "../../src/store/store.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { ManualClock } from "../../src/time/clock.js";
import { shutdown, sqliteScheduler, tempDb } from "../helpers/durable.js";

const KEY = generateKey();
const AT = Date.parse("2026-01-01T01:00:00Z");

/** A store left as a process that died mid-run leaves it: task "job" (retries 1) claimed at 01:00, its attempt's process recorded. */
async function deadProcessLeftovers(path: string): Promise<void> {
  const first = sqliteScheduler(path, { encryptionKey: KEY });
  first.scheduler.defineHandler("h", () => {});
  await first.scheduler.runPending(); // opens the store
  await first.scheduler.registerTask("job", "0 * * * *", "h", { retries: 1 });
  await shutdown(first);
  const store = new SqliteStore({ path });
  await store.open({ nodeId: "node-a", clock: new ManualClock("2026-01-01T01:00:00Z") });
  const claim = await store.claimRun({
    taskName: "job",
    scheduledAt: AT,
    nodeId: "node-a",
    leaseMs: 60_000,
    exclusive: true,
  });
  assert.ok(claim !== null);
  const ref = { taskName: "job", nodeId: "node-a", fencingToken: claim.fencingToken };
  assert.equal(await store.recordProcess(ref, { pgid: 777, startTime: "b:1" }), true);
  await store.close();
}

describe("beforeRecovery", () => {
  it("is awaited before an interrupted run is recorded and retried; its note goes into the row", async () => {
    const db = await tempDb();
    try {
      await deadProcessLeftovers(db.path);
      const ran: string[] = [];
      const seen: { claims: Claim[]; ranBefore: number; rowsBefore: number }[] = [];
      const parts: ReturnType<typeof sqliteScheduler> = sqliteScheduler(db.path, {
        encryptionKey: KEY,
        clock: new ManualClock("2026-01-01T01:00:05Z"),
        beforeRecovery: async (claims) => {
          const rows = await parts.store.history({ taskName: "job" });
          seen.push({ claims: [...claims], ranBefore: ran.length, rowsBefore: rows.length });
          return new Map(
            claims.map((claim) => [claim.id, `process group ${claim.process?.pgid} stopped`]),
          );
        },
      });
      parts.scheduler.defineHandler("h", (ctx) => void ran.push(`${ctx.taskName}#${ctx.attempt}`));
      await parts.scheduler.runPending(); // opens the store: recovery
      await parts.scheduler.runPending();
      await parts.scheduler.stop();
      assert.equal(seen.length, 1);
      assert.deepEqual(
        seen[0]?.claims.map((claim) => [claim.taskName, claim.scheduledAt, claim.process]),
        [["job", AT, { pgid: 777, startTime: "b:1" }]],
      );
      assert.equal(seen[0]?.ranBefore, 0, "no retry before the hook");
      assert.equal(seen[0]?.rowsBefore, 0, "no row before the hook");
      assert.deepEqual(ran, ["job#2"]);
      const rows = await parts.scheduler.history("job");
      const interrupted = rows.find((row) => row.status === "interrupted");
      assert.match(interrupted?.error?.message ?? "", /stopped; process group 777 stopped$/);
      await shutdown(parts);
    } finally {
      await db.cleanup();
    }
  });

  it("that fails is reported, and the runs are still recorded and retried", async () => {
    const db = await tempDb();
    try {
      await deadProcessLeftovers(db.path);
      const ran: string[] = [];
      const parts = sqliteScheduler(db.path, {
        encryptionKey: KEY,
        clock: new ManualClock("2026-01-01T01:00:05Z"),
        beforeRecovery: () => Promise.reject(new Error("no /proc")),
      });
      const errors: string[] = [];
      parts.scheduler.on("scheduler:error", (event) =>
        errors.push(`${event.context}: ${(event.error as Error).message}`),
      );
      parts.scheduler.defineHandler("h", (ctx) => void ran.push(`${ctx.taskName}#${ctx.attempt}`));
      await parts.scheduler.runPending();
      await parts.scheduler.runPending();
      await parts.scheduler.stop();
      assert.deepEqual(errors, ["recover: no /proc"]);
      assert.deepEqual(ran, ["job#2"]);
      await shutdown(parts);
    } finally {
      await db.cleanup();
    }
  });

  it("a recovered run's retry keeps its task: another node's exclusive claim meanwhile overlaps, and the retry runs and is recorded", async () => {
    const db = await tempDb();
    const other = new SqliteStore({ path: db.path });
    try {
      await deadProcessLeftovers(db.path);
      // Node c shares the file; node b reaps node-a's claim, whose lease ran out at 01:01.
      await other.open({ nodeId: "node-c", clock: new ManualClock("2026-01-01T02:00:00Z") });
      const seen: (boolean | undefined)[] = [];
      const ran: string[] = [];
      const parts = sqliteScheduler(db.path, {
        encryptionKey: KEY,
        nodeId: "node-b",
        clock: new ManualClock("2026-01-01T01:02:00Z"),
        // Between the reap and the retry: node c's exclusive claim of the task's next run.
        beforeRecovery: async () => {
          const claim = await other.claimRun({
            taskName: "job",
            scheduledAt: AT + 3_600_000,
            nodeId: "node-c",
            leaseMs: 60_000,
            exclusive: true,
          });
          seen.push(claim?.overlapping);
          return new Map<string, string>();
        },
      });
      parts.scheduler.defineHandler("h", (ctx) => void ran.push(`${ctx.taskName}#${ctx.attempt}`));
      await parts.scheduler.runPending(); // opens the store: recovery
      await parts.scheduler.runPending();
      await parts.scheduler.stop();
      assert.deepEqual(seen, [true], "the task is still held, by the claim taken over");
      assert.deepEqual(ran, ["job#2"]);
      const rows = await parts.scheduler.history("job");
      assert.deepEqual(rows.map((row) => `${row.status}#${row.attempt}`).sort(), [
        "interrupted#1",
        "succeeded#2",
      ]);
      // Once the retry is recorded, its claim is released: the task is free.
      const next = await other.claimRun({
        taskName: "job",
        scheduledAt: AT + 7_200_000,
        nodeId: "node-c",
        leaseMs: 60_000,
        exclusive: true,
      });
      assert.ok(next !== null && next.overlapping !== true);
      await shutdown(parts);
    } finally {
      await other.close();
      await db.cleanup();
    }
  });

  it("must be a function", () => {
    assert.throws(
      () => sqliteScheduler("/nonexistent/x.db", { beforeRecovery: "stop" as never }),
      /options\.beforeRecovery.*a function/,
    );
  });
});
