/**
 * The notification-outbox part of the store conformance suite (see
 * contract.ts): enqueued once per key, claimed once, finished by its holder,
 * counted for the rate limit.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NotificationOutbox, OutboxMessage } from "../../src/store/notification-outbox.js";
import type { Store } from "../../src/store/store.js";
import { NODE_A, NODE_B, withStore, type MakeStore } from "./contract-helpers.js";

const T0 = Date.UTC(2030, 5, 1, 12);

function outboxOf(store: Store): NotificationOutbox {
  assert.ok(store.notifications !== undefined, `the ${store.kind} store keeps an outbox`);
  return store.notifications;
}

function message(overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  return {
    taskName: "backup",
    kind: "failure",
    changeId: String(T0),
    channel: "email",
    recipient: "ops@example.com",
    subject: "backup failed",
    text: "backup failed: exit code 1",
    payload: JSON.stringify({ task: "backup" }),
    createdAt: T0,
    ...overrides,
  };
}

const claim = (nodeId: string, nowMs: number, taskNames = ["backup"]) => ({
  nodeId,
  nowMs,
  leaseMs: 60_000,
  limit: 10,
  taskNames,
});

export function runOutboxContract(makeStore: MakeStore): void {
  describe("notification outbox", () => {
    it("enqueues a (task, kind, change, channel) once, however often it is offered", async () => {
      await withStore(makeStore, async ({ store }) => {
        const outbox = outboxOf(store);
        assert.equal(await outbox.enqueue([message(), message({ channel: "webhook" })]), 2);
        assert.equal(await outbox.enqueue([message(), message({ subject: "again" })]), 0);
        assert.equal(await outbox.enqueue([message({ kind: "recovery" })]), 1);
        const rows = await outbox.list();
        assert.deepEqual(
          rows.map((r) => [r.kind, r.channel, r.status, r.attempts]),
          [
            ["recovery", "email", "pending", 0],
            ["failure", "webhook", "pending", 0],
            ["failure", "email", "pending", 0],
          ],
        );
        assert.equal(rows[2]?.subject, "backup failed");
        assert.equal(rows[2]?.createdAt, T0);
      });
    });

    it("gives a due row to one claimer, its own tasks only, and again once the claim expires", async () => {
      await withStore(makeStore, async ({ store }) => {
        const outbox = outboxOf(store);
        await outbox.enqueue([message(), message({ taskName: "other" })]);
        const first = await outbox.claim(claim(NODE_A, T0));
        assert.deepEqual(
          first.map((r) => [r.taskName, r.status, r.claimedBy, r.attempts]),
          [["backup", "sending", NODE_A, 1]],
        );
        assert.deepEqual(await outbox.claim(claim(NODE_B, T0 + 1000)), []);
        const again = await outbox.claim(claim(NODE_B, T0 + 61_000));
        assert.deepEqual(
          again.map((r) => [r.claimedBy, r.attempts]),
          [[NODE_B, 2]],
        );
        const id = again[0]?.id ?? 0;
        assert.equal(await outbox.finish(id, NODE_A, { status: "sent", atMs: T0 }), false);
        assert.equal(await outbox.finish(id, NODE_B, { status: "sent", atMs: T0 + 62_000 }), true);
        const [row] = await outbox.list({ taskName: "backup" });
        assert.equal(row?.status, "sent");
        assert.equal(row?.finishedAt, T0 + 62_000);
        assert.deepEqual(await outbox.claim(claim(NODE_A, T0 + 999_000)), []);
      });
    });

    it("keeps a retry pending until its next attempt, with the error, then records giving up", async () => {
      await withStore(makeStore, async ({ store }) => {
        const outbox = outboxOf(store);
        await outbox.enqueue([message()]);
        const [row] = await outbox.claim(claim(NODE_A, T0));
        const id = row?.id ?? 0;
        const retry = {
          status: "pending",
          nextAttemptAt: T0 + 5000,
          error: "ECONNREFUSED",
        } as const;
        assert.equal(await outbox.finish(id, NODE_A, retry), true);
        assert.deepEqual(await outbox.claim(claim(NODE_A, T0 + 4999)), []);
        const [second] = await outbox.claim(claim(NODE_A, T0 + 5000));
        assert.equal(second?.lastError, "ECONNREFUSED");
        const failed = { status: "failed", atMs: T0 + 6000, error: "550 no such user" } as const;
        assert.equal(await outbox.finish(id, NODE_A, failed), true);
        const [last] = await outbox.list();
        assert.deepEqual(
          [last?.status, last?.attempts, last?.lastError, last?.finishedAt],
          ["failed", 2, "550 no such user", T0 + 6000],
        );
      });
    });

    it("counts what was sent in a window and what was held back since the last send", async () => {
      await withStore(makeStore, async ({ store }) => {
        const outbox = outboxOf(store);
        const changes = [1, 2, 3, 4].map((n) => message({ changeId: String(T0 + n) }));
        await outbox.enqueue([...changes, message({ channel: "webhook" })]);
        const rows = await outbox.claim(claim(NODE_A, T0, ["backup"]));
        const [a, b, c, d] = rows.filter((r) => r.channel === "email").map((r) => r.id);
        await outbox.finish(a ?? 0, NODE_A, { status: "sent", atMs: T0 + 10 });
        await outbox.finish(b ?? 0, NODE_A, { status: "suppressed", atMs: T0 + 5 });
        await outbox.finish(c ?? 0, NODE_A, { status: "suppressed", atMs: T0 + 20 });
        await outbox.finish(d ?? 0, NODE_A, { status: "sent", atMs: T0 + 30 });
        assert.deepEqual(await outbox.window("backup", "email", T0), { sent: 2, held: 0 });
        assert.deepEqual(await outbox.window("backup", "email", T0 + 11), { sent: 1, held: 0 });
        assert.deepEqual(await outbox.window("backup", "webhook", T0), { sent: 0, held: 0 });
        await outbox.enqueue([message({ changeId: "late" })]);
        const [late] = await outbox.claim(claim(NODE_A, T0 + 40));
        await outbox.finish(late?.id ?? 0, NODE_A, { status: "suppressed", atMs: T0 + 40 });
        assert.deepEqual(await outbox.window("backup", "email", T0 + 11), { sent: 1, held: 1 });
      });
    });

    it("prunes finished rows by age, suppressed ones sooner, never pending ones", async () => {
      await withStore(makeStore, async ({ store }) => {
        const outbox = outboxOf(store);
        await outbox.enqueue([1, 2, 3, 4].map((n) => message({ changeId: String(n) })));
        const [sent, suppressed, failed] = await outbox.claim(claim(NODE_A, T0));
        await outbox.finish(sent?.id ?? 0, NODE_A, { status: "sent", atMs: T0 });
        await outbox.finish(suppressed?.id ?? 0, NODE_A, { status: "suppressed", atMs: T0 });
        await outbox.finish(failed?.id ?? 0, NODE_A, {
          status: "failed",
          atMs: T0 + 10,
          error: "x",
        });
        assert.equal(await outbox.prune(T0, T0 + 1), 1);
        assert.deepEqual(
          (await outbox.list()).map((r) => [r.changeId, r.status]),
          [
            ["4", "sending"],
            ["3", "failed"],
            ["1", "sent"],
          ],
        );
        assert.equal(await outbox.prune(T0 + 11, T0 + 11), 2);
        assert.deepEqual(
          (await outbox.list()).map((r) => r.changeId),
          ["4"],
        );
      });
    });
  });
}
