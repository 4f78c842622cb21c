/** The deliverer on a ManualClock: the rate limit, retries with backoff, and what is recorded. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NotificationDeliverer } from "../../../src/cli/notify/deliverer.js";
import type { TaskTargets } from "../../../src/cli/notify/notify-targets.js";
import type { Outgoing, Senders } from "../../../src/cli/notify/senders.js";
import { SecretRedactor } from "../../../src/cli/secret-redactor.js";
import { MemoryNotificationOutbox } from "../../../src/store/memory-notification-outbox.js";
import type { OutboxMessage } from "../../../src/store/notification-outbox.js";
import { ManualClock } from "../../../src/time/clock.js";

const HOUR = 3_600_000;

const TARGETS: ReadonlyMap<string, TaskTargets> = new Map([
  [
    "tick",
    {
      on: new Set(["failure", "recovery"] as const),
      webhook: {
        url: "http://127.0.0.1:9/secret-path",
        headers: {},
        recipient: "http://127.0.0.1:9/…",
      },
    },
  ],
]);

/** Senders that record each webhook and fail while `failures` is above 0. */
function recordingSenders(failures = 0): Senders & { sent: Outgoing[] } {
  const sent: Outgoing[] = [];
  let left = failures;
  return {
    sent,
    email: () => Promise.reject(new Error("no email in this test")),
    webhook: (_target, message) => {
      if (left-- > 0) return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:9"));
      sent.push(message);
      return Promise.resolve();
    },
    close: () => undefined,
  };
}

function setup(senders: Senders, maxAttempts = 5) {
  const clock = new ManualClock("2030-06-01T12:00:00Z");
  const outbox = new MemoryNotificationOutbox();
  const deliverer = new NotificationDeliverer({
    outbox,
    senders,
    clock,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    redactor: new SecretRedactor(),
    nodeId: "node-a",
    targets: () => TARGETS,
    maxAttempts,
  });
  let change = 0;
  const enqueue = (taskName = "tick"): Promise<number> => {
    const message: OutboxMessage = {
      taskName,
      kind: change % 2 === 0 ? "failure" : "recovery",
      changeId: String(change++),
      channel: "webhook",
      recipient: "http://127.0.0.1:9/…",
      subject: `[orchestrator] ${taskName}`,
      text: `change ${change}`,
      payload: JSON.stringify({ task: taskName }),
      createdAt: clock.nowMs(),
    };
    return outbox.enqueue([message]);
  };
  return { clock, outbox, deliverer, enqueue };
}

describe("NotificationDeliverer", () => {
  it("sends at most 5 per task and channel an hour, says so in the 5th, and reports the held-back count later", async () => {
    const senders = recordingSenders();
    const { clock, outbox, deliverer, enqueue } = setup(senders);
    for (let i = 0; i < 8; i++) await enqueue();
    await deliverer.deliverDue();
    assert.equal(senders.sent.length, 5);
    assert.match(
      senders.sent[4]?.text ?? "",
      /rate limit reached: 5 notifications for this task in 3600000 ms \(1 hour\)/,
    );
    assert.doesNotMatch(senders.sent[3]?.text ?? "", /rate limit/);
    const statuses = (await outbox.list()).map((r) => r.status).reverse();
    assert.deepEqual(statuses, [
      "sent",
      "sent",
      "sent",
      "sent",
      "sent",
      "suppressed",
      "suppressed",
      "suppressed",
    ]);

    clock.advance(HOUR - 1);
    await enqueue();
    await deliverer.deliverDue();
    assert.equal(senders.sent.length, 5, "still within the hour");
    clock.advance(1);
    await enqueue();
    await deliverer.deliverDue();
    assert.equal(senders.sent.length, 6);
    assert.match(senders.sent[5]?.text ?? "", /4 notifications were held back by the rate limit/);
    assert.equal(senders.sent[5]?.payload.text, senders.sent[5]?.text);
  });

  it("retries a failed delivery with a doubling backoff, keeping the error, until it is sent", async () => {
    const senders = recordingSenders(2);
    const { clock, outbox, deliverer, enqueue } = setup(senders);
    await enqueue();
    await deliverer.deliverDue();
    let [row] = await outbox.list();
    assert.deepEqual(
      [row?.status, row?.attempts, row?.lastError],
      ["pending", 1, "connect ECONNREFUSED 127.0.0.1:9"],
    );
    assert.equal(row?.nextAttemptAt, clock.nowMs() + 2000);
    clock.advance(1999);
    await deliverer.deliverDue();
    assert.equal((await outbox.list())[0]?.attempts, 1, "not before its backoff");
    clock.advance(1);
    await deliverer.deliverDue();
    [row] = await outbox.list();
    assert.equal(row?.nextAttemptAt, clock.nowMs() + 4000);
    clock.advance(4000);
    await deliverer.deliverDue();
    [row] = await outbox.list();
    assert.deepEqual([row?.status, row?.attempts, row?.finishedAt], ["sent", 3, clock.nowMs()]);
    assert.equal(senders.sent.length, 1);
  });

  it("gives up after the last attempt and records why; a task it has no settings for is left to other nodes", async () => {
    const { clock, outbox, deliverer, enqueue } = setup(recordingSenders(10), 2);
    await enqueue();
    await enqueue("unknown-here");
    await deliverer.deliverDue();
    clock.advance(2000);
    await deliverer.deliverDue();
    const rows = await outbox.list();
    assert.deepEqual(
      rows.map((r) => [r.taskName, r.status, r.attempts]),
      [
        ["unknown-here", "pending", 0],
        ["tick", "failed", 2],
      ],
    );
    assert.equal(rows[1]?.lastError, "connect ECONNREFUSED 127.0.0.1:9");
  });
});
