/**
 * Recording runs that did not complete here. A reaped run: the interrupted
 * attempt follows the attempts history has for its occurrence; a `lost` row
 * (the late result of the same attempt, written by the node that lost the
 * claim before the claim was reaped) is not an attempt of its own. Missed
 * occurrences: a summarised row refused because one of them was claimed
 * leaves the others rows of their own, in ranges split around the claimed ones.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CronCache, compileSchedule } from "../../src/core/schedule.js";
import { resolveTaskOptions } from "../../src/core/task-options.js";
import { Task } from "../../src/core/task.js";
import { RunRecorder } from "../../src/engine/run-recorder.js";
import {
  interruptedRow,
  RECOVERY_CONCURRENCY,
  recoverInterruptedRuns,
} from "../../src/engine/run-recovery.js";
import { silentLogger } from "../../src/logger.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { RunRecord } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { tempDb } from "../helpers/durable.js";
import { waitFor } from "../helpers/pg.js";

const T = Date.parse("2026-01-01T12:00:00Z");

async function claimed() {
  const clock = new ManualClock(T);
  const store = new MemoryStore();
  await store.open({ nodeId: "n2", clock });
  const claim = await store.claimRun({
    taskName: "t",
    scheduledAt: T,
    nodeId: "n1",
    leaseMs: 3_000,
  });
  assert.ok(claim !== null);
  return { store, claim };
}

function row(status: RunRecord["status"], attempt: number, claimId: string | null): RunRecord {
  return {
    taskName: "t",
    claimId,
    scheduledAt: T,
    startedAt: T,
    finishedAt: T + 100,
    status,
    attempt,
    nodeId: "n1",
    error: null,
  };
}

/** A recorder of node n1 on `store`, and task "t" on every second. */
function recorderOf(store: MemoryStore | SqliteStore): { recorder: RunRecorder; task: Task } {
  const recorder = new RunRecorder({
    store,
    logger: silentLogger,
    nodeId: "n1",
    emit: () => {},
    hasListeners: () => false,
  });
  const schedule = compileSchedule("* * * * * *", {
    nowMs: T,
    timezone: "UTC",
    cache: new CronCache(),
  });
  return { recorder, task: new Task("t", schedule, () => {}, resolveTaskOptions({})) };
}

describe("interruptedRow", () => {
  it("records attempt 1 when the only row of the occurrence is attempt 1's lost result", async () => {
    const { store, claim } = await claimed();
    await store.recordRun(row("lost", 1, claim.id));
    const interrupted = await interruptedRow(store, claim, T + 5_000, "reaped");
    assert.equal(`${interrupted.status}#${interrupted.attempt}`, "interrupted#1");
    assert.equal(interrupted.error?.message, "reaped");
  });

  it("follows the attempts that counted: a failed attempt 1, then attempt 2 interrupted", async () => {
    const { store, claim } = await claimed();
    await store.recordRun(row("failed", 1, claim.id));
    await store.recordRun(row("lost", 2, claim.id));
    assert.equal((await interruptedRow(store, claim, T + 5_000, "reaped")).attempt, 2);
  });
});

describe("RunRecorder.missed", () => {
  it("records each missed occurrence on its own when one of the range was claimed by another node", async () => {
    const clock = new ManualClock(T + 10_000);
    const store = new MemoryStore();
    await store.open({ nodeId: "n1", clock });
    // Another node claimed (and still holds) the middle occurrence.
    const held = await store.claimRun({
      taskName: "t",
      scheduledAt: T + 1_000,
      nodeId: "n2",
      leaseMs: 60_000,
    });
    assert.ok(held !== null);
    const { recorder, task } = recorderOf(store);
    recorder.missed(task, { listed: [T], firstMs: T, lastMs: T + 2_000, count: 3 });
    const rows = await waitFor("the missed rows", async () => {
      const all = await store.history({ taskName: "t" });
      return all.length >= 2 ? all : null;
    });
    assert.deepEqual(rows.map((r) => `${r.status}@${r.scheduledAt - T}`).sort(), [
      "missed@0",
      "missed@2000",
    ]);
  });

  it("records the others of a long range in ranges split around the claimed ones, not one row each", async () => {
    const clock = new ManualClock(T + 60_000);
    const store = new MemoryStore();
    await store.open({ nodeId: "n1", clock });
    // Another node claimed the 4th and the 8th of ten occurrences.
    for (const second of [3, 7]) {
      const claim = await store.claimRun({
        taskName: "t",
        scheduledAt: T + second * 1_000,
        nodeId: "n2",
        leaseMs: 60_000,
      });
      assert.ok(claim !== null);
    }
    const { recorder, task } = recorderOf(store);
    recorder.missed(task, { listed: [T], firstMs: T, lastMs: T + 9_000, count: 10 });
    const covered = (rows: readonly RunRecord[]): number[] =>
      rows.flatMap((r) => {
        const seconds: number[] = [];
        for (let at = r.scheduledAt; at <= (r.missedThrough ?? r.scheduledAt); at += 1_000)
          seconds.push((at - T) / 1_000);
        return seconds;
      });
    const rows = await waitFor("the missed rows", async () => {
      const all = await store.history({ taskName: "t" });
      return covered(all).length >= 8 ? all : null;
    });
    assert.deepEqual(
      covered(rows).sort((a, b) => a - b),
      [0, 1, 2, 4, 5, 6, 8, 9],
      "every occurrence nobody claimed has one row, the claimed ones none",
    );
    for (const row of rows) {
      const count = covered([row]).length;
      assert.equal(row.missedCount ?? 1, count, "each row counts what it covers");
    }
    assert.ok(rows.length < 8, `fewer rows than occurrences: ${rows.length}`);
  });
  it("on a store that tells which runs are taken, records each free stretch as one row, in one read", async () => {
    // Under overload another node takes over most of what a held-back task did not claim:
    // here all but two stretches of a hundred occurrences. Halving wrote a row for nearly
    // every claimed occurrence's neighbours; the free stretches are read from the store.
    const db = await tempDb();
    const clock = new ManualClock(T + 200_000);
    const store = new SqliteStore({ path: db.path });
    await store.open({ nodeId: "n1", clock });
    try {
      const free = (second: number) =>
        (second >= 10 && second < 20) || (second >= 50 && second < 55);
      for (let second = 0; second < 100; second++) {
        if (free(second)) continue;
        const claim = await store.claimRun({
          taskName: "t",
          scheduledAt: T + second * 1_000,
          nodeId: "n2",
          leaseMs: 600_000,
        });
        assert.ok(claim !== null);
      }
      let settles = 0;
      const settleSlots = store.settleSlots.bind(store);
      store.settleSlots = (records) => {
        settles++;
        return settleSlots(records);
      };
      const { recorder, task } = recorderOf(store);
      recorder.missed(task, { listed: [T], firstMs: T, lastMs: T + 99_000, count: 100 });
      await recorder.settled();
      const rows = await store.history({ taskName: "t" });
      assert.deepEqual(
        rows
          .map((r) => [
            (r.scheduledAt - T) / 1_000,
            ((r.missedThrough ?? r.scheduledAt) - T) / 1_000,
            r.missedCount ?? 1,
          ])
          .sort((a, b) => (a[0] as number) - (b[0] as number)),
        [
          [10, 19, 10],
          [50, 54, 5],
        ],
      );
      assert.equal(settles, 3, "the refused range, then one write per free stretch");
    } finally {
      await store.close();
      await db.cleanup();
    }
  });
});

describe("recoverInterruptedRuns", () => {
  it("recovers a large reap a bounded number of occurrences at a time, recording every one", async () => {
    // Past saturation a reap takes thousands of claims over; each recovery reads its task's
    // history. All at once, those reads were held in memory together.
    const db = await tempDb();
    const clock = new ManualClock(T);
    const store = new SqliteStore({ path: db.path });
    await store.open({ nodeId: "n2", clock });
    try {
      const count = 3 * RECOVERY_CONCURRENCY;
      for (let i = 0; i < count; i++) {
        const claim = await store.claimRun({
          taskName: `t${i}`,
          scheduledAt: T,
          nodeId: "n1",
          leaseMs: 1_000,
        });
        assert.ok(claim !== null);
      }
      clock.advance(5_000);
      let reading = 0;
      let most = 0;
      const history = store.history.bind(store);
      store.history = async (query) => {
        most = Math.max(most, ++reading);
        try {
          return await history(query);
        } finally {
          reading--;
        }
      };
      const found = await recoverInterruptedRuns(
        {
          store,
          clock,
          logger: silentLogger,
          nodeId: "n2",
          leaseMs: 30_000,
          task: () => undefined,
          retryInterrupted: () => assert.fail("no task, no retry"),
          emit: () => {},
          finish: (record, claim, options) => store.finishRun(record, claim, options),
        },
        false,
      );
      assert.equal(found, count);
      assert.ok(most <= RECOVERY_CONCURRENCY, `${most} history reads at once`);
      const rows = await store.history({ statuses: ["interrupted"], limit: 10_000 });
      assert.equal(rows.length, count, "every run recorded interrupted");
    } finally {
      await store.close();
      await db.cleanup();
    }
  });
});
