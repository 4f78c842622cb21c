import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DuplicateTaskError, InvalidArgumentError } from "../../src/errors.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { RunRecord, Store, TaskRecord } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";

/** A task record for contract tests. */
function sampleRecord(name: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return {
    name,
    schedule: { kind: "cron", expression: "0 * * * *", timezone: "UTC" },
    options: {
      timezone: null,
      overlap: "skip",
      misfire: "run-once",
      misfireGraceMs: 1000,
      maxCatchUpRuns: 100,
      timeoutMs: 0,
      retries: { attempts: 0, backoffMs: 1000, factor: 2, maxBackoffMs: 300_000 },
      startAtMs: null,
      endAtMs: null,
      maxRuns: null,
      jitterMs: 0,
      dayMatch: null,
      dst: null,
    },
    callback: {
      encoding: "plain",
      record: { callback: { kind: "handler", name: "h" }, payload: { n: 1 } },
    },
    state: "active",
    nextRunAt: Date.parse("2026-01-01T01:00:00Z"),
    lastRunAt: null,
    lastStatus: null,
    runCount: 0,
    createdAt: Date.parse("2026-01-01T00:00:00Z"),
    version: 1,
    ...overrides,
  };
}

function run(
  taskName: string,
  scheduledAt: number,
  status: RunRecord["status"],
  finishedAt: number,
): RunRecord {
  return {
    taskName,
    claimId: null,
    scheduledAt,
    startedAt: finishedAt,
    finishedAt,
    status,
    attempt: 1,
    nodeId: "n",
    error: null,
  };
}

/** Basic Store behaviour the Scheduler relies on (the full conformance suite lives in contract*.ts). */
function storeContract(name: string, create: () => Promise<Store> | Store): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    const clock = new ManualClock("2026-01-01T00:00:00Z");
    before(async () => {
      store = await create();
      await store.open({ nodeId: "node-a", clock });
      await store.open({ nodeId: "node-a", clock });
    });
    after(() => store.close());

    it("stores, reads, lists and deletes tasks; duplicates throw unless replaced", async () => {
      await store.putTask(sampleRecord("a"), { replace: false });
      await store.putTask(sampleRecord("b"), { replace: false });
      await assert.rejects(
        store.putTask(sampleRecord("a"), { replace: false }),
        DuplicateTaskError,
      );
      await store.putTask(sampleRecord("a", { runCount: 7 }), { replace: true });
      const a = await store.getTask("a");
      assert.equal(a?.runCount, 7);
      assert.deepEqual(a?.callback, sampleRecord("a").callback);
      assert.deepEqual((await store.listTasks()).map((t) => t.name).sort(), ["a", "b"]);
      assert.equal(await store.deleteTask("b"), true);
      assert.equal(await store.deleteTask("b"), false);
      assert.equal(await store.getTask("b"), undefined);
    });

    it("updates progress and callbacks, bumping the version", async () => {
      await store.putTask(sampleRecord("p"), { replace: false });
      const ok = await store.updateTaskProgress("p", {
        state: "paused",
        nextRunAt: null,
        lastRunAt: 5,
        lastStatus: "failed",
        runCount: 3,
      });
      assert.equal(ok, true);
      const sealed = { encoding: "sealed" as const, keyId: "k1", bytes: new Uint8Array([1, 2, 3]) };
      assert.equal(await store.updateTaskCallback("p", sealed), true);
      const p = await store.getTask("p");
      assert.equal(p?.state, "paused");
      assert.equal(p?.nextRunAt, null);
      assert.equal(p?.lastStatus, "failed");
      assert.equal(p?.runCount, 3);
      assert.deepEqual(p?.callback, sealed);
      assert.ok((p?.version ?? 0) > 1);
      assert.equal(
        await store.updateTaskProgress("missing", {
          state: "active",
          nextRunAt: null,
          lastRunAt: null,
          lastStatus: null,
          runCount: 0,
        }),
        false,
      );
    });

    it("gives each (task, scheduledAt) to exactly one of many concurrent claimers", async () => {
      const at = Date.parse("2026-01-01T02:00:00Z");
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.claimRun({ taskName: "c", scheduledAt: at, nodeId: `n${i % 3}`, leaseMs: 30_000 }),
        ),
      );
      const won = claims.filter((claim) => claim !== null);
      assert.equal(won.length, 1);
      assert.equal(won[0]?.scheduledAt, at);
      assert.equal(won[0]?.taskName, "c");
      // Still unique while running, and after release.
      assert.equal(
        await store.claimRun({ taskName: "c", scheduledAt: at, nodeId: "x", leaseMs: 1 }),
        null,
      );
      assert.equal(await store.renewLease(won[0], 30_000), true);
      await store.releaseClaim(won[0]);
      assert.equal(
        await store.claimRun({ taskName: "c", scheduledAt: at, nodeId: "x", leaseMs: 1 }),
        null,
      );
      // A different time or task is a different run.
      assert.notEqual(
        await store.claimRun({ taskName: "c", scheduledAt: at + 60_000, nodeId: "x", leaseMs: 1 }),
        null,
      );
      assert.notEqual(
        await store.claimRun({ taskName: "d", scheduledAt: at, nodeId: "x", leaseMs: 1 }),
        null,
      );
    });

    it("never hands out an occurrence at or before one already released", async () => {
      const at = Date.parse("2026-01-01T03:00:00Z");
      const claim = await store.claimRun({
        taskName: "w",
        scheduledAt: at,
        nodeId: "a",
        leaseMs: 1,
      });
      assert.ok(claim);
      await store.releaseClaim(claim);
      assert.equal(
        await store.claimRun({ taskName: "w", scheduledAt: at - 60_000, nodeId: "b", leaseMs: 1 }),
        null,
      );
    });

    it("lets manual runs (triggerTask) claim the same instant more than once", async () => {
      const at = Date.parse("2026-01-01T04:00:00Z");
      const first = await store.claimRun({
        taskName: "m",
        scheduledAt: at,
        nodeId: "a",
        leaseMs: 1,
        manual: true,
      });
      const second = await store.claimRun({
        taskName: "m",
        scheduledAt: at,
        nodeId: "a",
        leaseMs: 1,
        manual: true,
      });
      assert.ok(first && second && first.id !== second.id);
    });

    it("keeps run history newest first, filtered and limited, and prunes it", async () => {
      const t0 = Date.parse("2026-01-01T00:00:00Z");
      for (let i = 0; i < 5; i++)
        await store.recordRun(run(i % 2 === 0 ? "h1" : "h2", t0 + i, "succeeded", t0 + i));
      const all = await store.history({ limit: 3 });
      assert.deepEqual(
        all.map((r) => r.scheduledAt),
        [t0 + 4, t0 + 3, t0 + 2],
      );
      const h2 = await store.history({ taskName: "h2" });
      assert.deepEqual(
        h2.map((r) => r.scheduledAt),
        [t0 + 3, t0 + 1],
      );
      const removed = await store.pruneHistory({ maxAgeMs: Number.MAX_SAFE_INTEGER, maxRows: 2 });
      assert.ok(removed >= 3);
      assert.equal((await store.history()).length, 2);
    });

    it("reports its clock, schema version and that no claim is expired at start", async () => {
      assert.equal(typeof (await store.now()), "number");
      assert.equal(typeof (await store.schemaVersion()), "number");
      assert.deepEqual(await store.reapExpiredClaims({ nodeId: "node-a", atStart: false }), []);
    });
  });
}

storeContract("memory", () => new MemoryStore());

describe("MemoryStore", () => {
  it("is neither durable nor shared", () => {
    const store = new MemoryStore();
    assert.equal(store.kind, "memory");
    assert.equal(store.durable, false);
    assert.equal(store.shared, false);
  });

  it("caps history at maxHistoryRows", async () => {
    const store = new MemoryStore({ maxHistoryRows: 10 });
    await store.open({ nodeId: "n", clock: new ManualClock() });
    for (let i = 0; i < 100; i++) {
      await store.recordRun({
        taskName: "t",
        claimId: null,
        scheduledAt: i,
        startedAt: null,
        finishedAt: null,
        status: "missed",
        attempt: 1,
        nodeId: "n",
        error: null,
      });
    }
    const rows = await store.history({ limit: 1000 });
    assert.equal(rows.length, 10);
    assert.equal(rows[0]?.scheduledAt, 99);
    assert.throws(() => new MemoryStore({ maxHistoryRows: -1 }), InvalidArgumentError);
  });

  it("returns copies, so callers cannot change stored records by accident", async () => {
    const store = new MemoryStore();
    await store.putTask(sampleRecord("a"), { replace: false });
    const copy = (await store.getTask("a")) as { runCount: number };
    copy.runCount = 99;
    assert.equal((await store.getTask("a"))?.runCount, 0);
  });
});
