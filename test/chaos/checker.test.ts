import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { check, judgeSlot, missedRange } from "../../chaos/checker.js";
import type { SinkCall } from "../../chaos/sink.js";
import type { RunStatus } from "../../src/core/task.js";
import type { RunRecord } from "../../src/store/store.js";

// The fault-injection suite's checker (chaos/checker.ts): how it reads one slot's history.

const S = Date.UTC(2026, 0, 1, 12);

function row(status: string, attempt = 1, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    taskName: "t",
    claimId: null,
    scheduledAt: S,
    startedAt: null,
    finishedAt: null,
    status: status as RunStatus,
    attempt,
    nodeId: "n1",
    error: null,
    ...extra,
  };
}

function call(attempt: number, at: number, done: SinkCall["done"], tag = "n1"): SinkCall {
  return {
    id: `${tag}:${attempt}:${at}`,
    task: "t",
    slot: S,
    attempt,
    nodeId: tag,
    tag,
    at,
    resource: "t",
    token: attempt,
    beginAccepted: true,
    done,
    endedAt: at + 10,
    outcome: done === "accepted" ? "done" : "failed",
  };
}

describe("judgeSlot", () => {
  it("accepts each single story: an outcome, a skip, a miss, retries ending in success", () => {
    for (const status of ["succeeded", "failed", "timed-out", "skipped", "missed"]) {
      assert.equal(judgeSlot([row(status)], 0, 0), "ok", status);
    }
    assert.equal(
      judgeSlot([row("failed", 1), row("interrupted", 2), row("succeeded", 3)], 0, 2),
      "ok",
    );
    assert.equal(judgeSlot([], 1, 0), "ok", "covered by a summarised missed row");
  });

  it("finds a slot with no row", () => {
    assert.equal(judgeSlot([], 0, 0), "noRow");
  });

  it("finds two successes, contradicting rows, and one story told twice", () => {
    assert.equal(judgeSlot([row("succeeded", 1), row("succeeded", 2)], 0, 2), "doubleSuccess");
    assert.equal(judgeSlot([row("missed"), row("succeeded")], 0, 0), "stories");
    assert.equal(judgeSlot([row("failed", 1), row("failed", 3)], 0, 2), "stories", "a gap");
    assert.equal(judgeSlot([row("succeeded", 1), row("failed", 2)], 0, 2), "stories");
    assert.equal(judgeSlot([row("interrupted", 1), row("succeeded", 1)], 0, 2), "stories");
    assert.equal(judgeSlot([row("skipped"), row("skipped")], 0, 0), "duplicates");
    assert.equal(judgeSlot([row("missed")], 1, 0), "duplicates");
  });

  it("finds an interrupted or failed run with retries left and no retry, unless policy ended it", () => {
    assert.equal(judgeSlot([row("interrupted", 1)], 0, 2), "notRetried");
    assert.equal(judgeSlot([row("failed", 1), row("interrupted", 2)], 0, 2), "notRetried");
    assert.equal(judgeSlot([row("failed", 1), row("failed", 2), row("failed", 3)], 0, 2), "ok");
    assert.equal(judgeSlot([row("interrupted", 1)], 0, 0), "ok");
    const byPolicy = row("interrupted", 1, { error: { message: "not retried: policy" } });
    assert.equal(judgeSlot([byPolicy], 0, 2), "ok");
  });
});

describe("missedRange", () => {
  it("reads a summarised missed row: scheduledAt through missedThrough", () => {
    assert.deepEqual(missedRange(row("missed", 1, { missedThrough: S + 2000, missedCount: 3 })), {
      first: S,
      last: S + 2000,
    });
    assert.deepEqual(missedRange(row("missed")), { first: S, last: S });
    assert.equal(missedRange(row("succeeded")), null);
  });
});

describe("check", () => {
  it("counts lost rows apart, summarised missed rows as covering, and sink completions and early starts", () => {
    const slots = [S, S + 1000, S + 2000];
    const result = check({
      tasks: [{ name: "t", retries: 1 }],
      slots,
      history: [
        row("succeeded", 1),
        row("lost", 1),
        row("missed", 1, { scheduledAt: S + 1000, missedThrough: S + 2000, missedCount: 2 }),
      ],
      calls: [call(1, S + 5, "accepted"), call(2, S - 50, "accepted", "n2")],
      refused: 0,
      dbOffsetMs: 0,
      dbUncertaintyMs: 1,
    });
    assert.equal(result.slots, 3);
    assert.equal(result.lost, 1);
    assert.equal(result.noRow, 0);
    assert.equal(result.stories, 0);
    assert.equal(result.executions, 2);
    assert.equal(result.twice, 1);
    assert.equal(result.redone, 0, "attempt 1's success was recorded: not a redo");
    assert.equal(result.early, 1);
    assert.equal(result.lateness?.n, 1);
  });

  it("never counts a lost row as an outcome or a success: a zombie's late result beside the retry's", () => {
    const result = check({
      tasks: [{ name: "t", retries: 2 }],
      slots: [S],
      history: [
        row("interrupted", 1, { nodeId: "n2" }),
        row("succeeded", 2, { nodeId: "n2" }),
        row("lost", 1, { nodeId: "n1", status: "lost" }),
      ],
      dbOffsetMs: 0,
    });
    assert.equal(result.lost, 1);
    assert.equal(result.doubleSuccess, 0);
    assert.equal(result.stories, 0);
    assert.equal(result.duplicates, 0);
  });

  it("finds a slot whose only row is lost: no outcome", () => {
    const result = check({
      tasks: [{ name: "t", retries: 0 }],
      slots: [S],
      history: [row("lost", 1)],
      dbOffsetMs: 0,
    });
    assert.equal(result.noRow, 1);
  });

  it("counts work done again by the retry of an attempt recorded interrupted as redone, not twice", () => {
    const input = {
      tasks: [{ name: "t", retries: 2 }],
      slots: [S],
      history: [row("interrupted", 1), row("succeeded", 2, { nodeId: "n2" })],
      dbOffsetMs: 0,
    };
    const sequential = check({
      ...input,
      calls: [call(1, S + 5, "accepted"), call(2, S + 3_000, "accepted", "n2")],
    });
    assert.equal(sequential.redone, 1);
    assert.equal(sequential.twice, 0);
    const atOnce = check({
      ...input,
      calls: [
        { ...call(1, S + 5, "accepted"), endedAt: S + 4_000 },
        call(2, S + 3_000, "accepted", "n2"),
      ],
    });
    assert.equal(atOnce.twice, 1, "two completions running at once are never a redo");
  });

  it("tells a redo by start time when a lost attempt's number is used again by the retry", () => {
    const result = check({
      tasks: [{ name: "t", retries: 2 }],
      slots: [S],
      history: [
        row("failed", 1, { nodeId: "n2" }),
        row("lost", 2, { nodeId: "n2", startedAt: S + 100 }),
        row("interrupted", 2, { nodeId: "n2" }),
        row("succeeded", 3, { nodeId: "n2", startedAt: S + 6_000 }),
        row("lost", 3, { nodeId: "n2", startedAt: S + 1_000 }),
      ],
      calls: [
        { ...call(3, S + 1_000, "accepted", "n2"), endedAt: S + 1_400 },
        call(3, S + 6_000, "accepted", "n2"),
      ],
      dbOffsetMs: 0,
    });
    assert.equal(result.redone, 1);
    assert.equal(result.twice, 0);
  });
});
