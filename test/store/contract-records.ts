/**
 * The daemon-records part of the store conformance suite (see contract.ts):
 * the audit log, schedule files and task origins every built-in store keeps.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AUDIT_FIELD_LIMITS,
  appendAudit,
  type AuditEntry,
  type DaemonRecords,
  type ScheduleFileRecord,
  type TaskOrigin,
} from "../../src/store/daemon-records.js";
import type { Store } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { NODE_A, NODE_B, withStore, type MakeStore } from "./contract-helpers.js";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

function recordsOf(store: Store): DaemonRecords {
  assert.ok(store.records !== undefined, `the ${store.kind} store keeps daemon records`);
  return store.records;
}

function audit(at: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    at,
    actor: "admin:1a2b3c4d",
    action: "pause",
    taskName: "backup",
    result: "ok",
    detail: null,
    ...overrides,
  };
}

function file(source: string, overrides: Partial<ScheduleFileRecord> = {}): ScheduleFileRecord {
  return {
    source,
    nodeId: NODE_A,
    path: "/etc/orchestrator/schedule.yaml",
    sha256: "a".repeat(64),
    appliedAt: Date.UTC(2030, 5, 1, 12),
    seenAt: Date.UTC(2030, 5, 1, 12, 0, 30),
    stoppedAt: null,
    ...overrides,
  };
}

function origin(taskName: string, overrides: Partial<TaskOrigin> = {}): TaskOrigin {
  return {
    taskName,
    source: "host-a:/etc/orchestrator/schedule.yaml",
    nodeId: NODE_A,
    path: "/etc/orchestrator/schedule.yaml",
    sha256: "b".repeat(64),
    taskCreatedAt: Date.UTC(2030, 5, 1, 12),
    recordedAt: Date.UTC(2030, 5, 1, 12, 0, 1),
    ...overrides,
  };
}

export function runRecordsContract(makeStore: MakeStore): void {
  describe("daemon records: audit log", () => {
    it("appends rows and returns them newest first, as given, all or one task's", async () => {
      await withStore(makeStore, async ({ store }) => {
        const records = recordsOf(store);
        const t0 = await store.now();
        const rows = [
          audit(t0 - 3 * MINUTE),
          audit(t0 - 2 * MINUTE, {
            actor: "read-only:9f8e7d6c",
            action: "trigger",
            result: "refused",
            detail: "read-only token ✗",
          }),
          audit(t0 - 2 * MINUTE, { action: "rotate-keys", taskName: null, actor: "cli:ops@db-1" }),
          audit(t0 - MINUTE, { taskName: "report", action: "resume", result: "failed" }),
        ];
        for (const row of rows) await records.appendAudit(row);
        assert.deepEqual(await records.auditLog(), [...rows].reverse());
        assert.deepEqual(await records.auditLog({ taskName: "backup" }), [rows[1], rows[0]]);
        assert.deepEqual(await records.auditLog({ limit: 1 }), [rows[3]]);
        assert.deepEqual(await records.auditLog({ taskName: "nothing" }), []);
      });
    });

    it("keeps rows across a reopen (durable stores)", async () => {
      const { store, cleanup } = await makeStore();
      const clock = new ManualClock("2030-06-01T12:00:00Z");
      try {
        await store.open({ nodeId: NODE_A, clock });
        if (!store.durable) return;
        const row = audit(await store.now());
        await recordsOf(store).appendAudit(row);
        await store.close();
        await store.open({ nodeId: NODE_B, clock });
        assert.deepEqual(await recordsOf(store).auditLog(), [row]);
      } finally {
        await store.close();
        await cleanup();
      }
    });

    it("prunes by age and by row count, keeping the newest rows", async () => {
      await withStore(makeStore, async ({ store }) => {
        const records = recordsOf(store);
        const now = await store.now();
        const rows = Array.from({ length: 6 }, (_, i) => audit(now - (6 - i) * DAY));
        for (const row of rows) await records.appendAudit(row);
        // Age drops the 3 rows older than 3.5 days; rows then keeps the newest 2 of the other 3.
        assert.equal(await records.pruneAudit({ maxAgeMs: 3.5 * DAY, maxRows: 2 }), 4);
        assert.deepEqual(await records.auditLog(), rows.slice(-2).reverse());
        assert.equal(await records.pruneAudit({ maxAgeMs: 365 * DAY, maxRows: 2 }), 0);
        assert.equal(
          await records.pruneAudit({ maxAgeMs: Infinity, maxRows: Infinity }),
          0,
          "no limit deletes nothing",
        );
        assert.equal(await records.pruneAudit({ maxAgeMs: 365 * DAY, maxRows: 0 }), 2);
        assert.deepEqual(await records.auditLog(), []);
      });
    });

    it("appendAudit cuts long fields and reports a store without records or a failed write", async () => {
      await withStore(makeStore, async ({ store }) => {
        const records = recordsOf(store);
        const at = await store.now();
        const long = "x".repeat(10_000);
        assert.equal(await appendAudit(records, audit(at, { taskName: long, detail: long })), true);
        const [row] = await records.auditLog();
        assert.equal(row?.taskName?.length, AUDIT_FIELD_LIMITS.taskName);
        assert.equal(row?.detail?.length, AUDIT_FIELD_LIMITS.detail);
        assert.ok(row?.detail?.endsWith("…"));
        assert.equal(await appendAudit(undefined, audit(at)), false);
        const errors: unknown[] = [];
        const broken: DaemonRecords = {
          ...records,
          appendAudit: () => Promise.reject(new Error("disk full")),
        };
        assert.equal(await appendAudit(broken, audit(at), (error) => errors.push(error)), false);
        assert.equal(errors.length, 1);
      });
    });
  });

  describe("daemon records: cancel requests", () => {
    it("files one request per task, lists them, and deletes one only while it is the one filed", async () => {
      await withStore(makeStore, async ({ store }) => {
        const records = recordsOf(store);
        assert.ok(typeof records.requestCancel === "function");
        assert.ok(typeof records.cancelRequests === "function");
        assert.ok(typeof records.deleteCancelRequest === "function");
        assert.deepEqual(await records.cancelRequests(), []);
        await records.requestCancel({ taskName: "b", requestedAt: 1_000, actor: "cli:ops@h" });
        await records.requestCancel({ taskName: "a", requestedAt: 2_000, actor: "cli:ops@h" });
        await records.requestCancel({ taskName: "b", requestedAt: 3_000, actor: "cli:dev@h" });
        assert.deepEqual(await records.cancelRequests(), [
          { taskName: "a", requestedAt: 2_000, actor: "cli:ops@h" },
          { taskName: "b", requestedAt: 3_000, actor: "cli:dev@h" },
        ]);
        assert.equal(await records.deleteCancelRequest("b", 1_000), false, "replaced since");
        assert.equal(await records.deleteCancelRequest("b", 3_000), true);
        assert.equal(await records.deleteCancelRequest("b", 3_000), false);
        assert.deepEqual(
          (await records.cancelRequests()).map((request) => request.taskName),
          ["a"],
        );
      });
    });
  });

  describe("daemon records: schedule files and task origins", () => {
    it("keeps one schedule file record per source, replaced on each put, listed by source", async () => {
      await withStore(makeStore, async ({ store }) => {
        const records = recordsOf(store);
        const b = file("host-b:/srv/b.yaml", { nodeId: NODE_B, path: "/srv/b.yaml" });
        const a = file("host-a:/srv/a.yaml");
        await records.putScheduleFile(b);
        await records.putScheduleFile(a);
        assert.deepEqual(await records.scheduleFiles(), [a, b]);
        const stopped = { ...a, sha256: "c".repeat(64), stoppedAt: a.seenAt + 1000 };
        await records.putScheduleFile(stopped);
        assert.deepEqual(await records.scheduleFiles(), [stopped, b]);
      });
    });

    it("puts, replaces and deletes task origins; lists them by task name", async () => {
      await withStore(makeStore, async ({ store }) => {
        const records = recordsOf(store);
        const x = origin("x");
        const y = origin("y", { source: "other", nodeId: NODE_B });
        await records.putTaskOrigins([y, x]);
        assert.deepEqual(await records.taskOrigins(), [x, y]);
        const x2 = origin("x", { sha256: "d".repeat(64), taskCreatedAt: x.taskCreatedAt + 5 });
        const z = origin("z");
        await records.putTaskOrigins([x2, z]);
        assert.deepEqual(await records.taskOrigins(), [x2, y, z]);
        await records.putTaskOrigins([]);
        await records.deleteTaskOrigins(["y", "missing"]);
        await records.deleteTaskOrigins([]);
        assert.deepEqual(await records.taskOrigins(), [x2, z]);
      });
    });
  });
}
