import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { DAEMON_AUDIT_RETENTION, startAuditRetention } from "../../src/cli/audit-retention.js";
import { silentLogger } from "../../src/logger.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import { ManualClock } from "../../src/time/clock.js";

describe("startAuditRetention", () => {
  it("prunes audit rows older than the retention as soon as it starts", async () => {
    const clock = new ManualClock("2030-06-01T12:00:00Z");
    const store = new MemoryStore();
    await store.open({ nodeId: "n", clock });
    const now = clock.nowMs();
    const row = {
      actor: "cli:ops@h",
      action: "pause",
      taskName: "t",
      result: "ok",
      detail: null,
    } as const;
    await store.records.appendAudit({ ...row, at: now - DAEMON_AUDIT_RETENTION.maxAgeMs - 1 });
    await store.records.appendAudit({ ...row, at: now });
    const stop = startAuditRetention(store, silentLogger);
    try {
      for (let i = 0; i < 100 && (await store.records.auditLog()).length > 1; i++) await nextTurn();
      assert.deepEqual(
        (await store.records.auditLog()).map((e) => e.at),
        [now],
      );
    } finally {
      stop();
    }
  });
});
