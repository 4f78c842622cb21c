/**
 * The Store conformance suite: one set of node:test blocks that every store
 * (memory, SQLite, PostgreSQL) must pass, so that they keep one contract
 * (src/store/store.ts). Each test gets a fresh store from `makeStore`, opens it
 * as "node-a" on a ManualClock, and closes and cleans it up afterwards.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DuplicateTaskError } from "../../src/errors.js";
import { ManualClock } from "../../src/time/clock.js";
import { runClaimsContract } from "./contract-claims.js";
import { runFencingContract } from "./contract-fencing.js";
import { runFinishRunsContract } from "./contract-finish-runs.js";
import { runHistoryContract } from "./contract-history.js";
import { runMaxRunsContract } from "./contract-max-runs.js";
import { runProcessesContract } from "./contract-processes.js";
import { runMembershipContract } from "./contract-membership.js";
import { runReapingContract } from "./contract-reaping.js";
import { runRecordsContract } from "./contract-records.js";
import { runOutboxContract } from "./contract-outbox.js";
import { runSummariesContract } from "./contract-summaries.js";
import {
  NODE_A,
  plainCallback,
  sealedCallback,
  settle,
  taskRecord,
  withStore,
  type MakeStore,
} from "./contract-helpers.js";

export type { MakeStore } from "./contract-helpers.js";

/**
 * Registers the conformance suite for one store implementation.
 * `makeStore` returns a fresh, empty store that has not been opened, and a
 * `cleanup` that removes whatever it created (files, schemas). Every test has
 * a store of its own, so they may run side by side: `concurrency` groups at a
 * time, each `concurrency` tests at a time (node:test's option, inherited),
 * for stores whose tests mostly wait on a server.
 */
export function runStoreContract(
  name: string,
  makeStore: MakeStore,
  { concurrency = 1 }: { readonly concurrency?: number } = {},
): void {
  describe(`Store contract: ${name}`, { concurrency }, () => {
    runLifecycleContract(makeStore);
    runTasksContract(makeStore);
    runCallbackContract(makeStore);
    runClaimsContract(makeStore);
    runFencingContract(makeStore);
    runFinishRunsContract(makeStore);
    runReapingContract(makeStore);
    runMaxRunsContract(makeStore);
    runHistoryContract(makeStore);
    runSummariesContract(makeStore);
    runProcessesContract(makeStore);
    runMembershipContract(makeStore);
    runRecordsContract(makeStore);
    runOutboxContract(makeStore);
  });
}

function runLifecycleContract(makeStore: MakeStore): void {
  describe("lifecycle", () => {
    it("describes itself: a kind, durable and shared flags", async () => {
      await withStore(makeStore, async ({ store }) => {
        assert.equal(typeof store.kind, "string");
        assert.notEqual(store.kind, "");
        assert.equal(typeof store.durable, "boolean");
        assert.equal(typeof store.shared, "boolean");
        assert.ok(Number.isFinite(await store.now()));
      });
    });

    it("open and close are idempotent, and a reopened store still has its tasks", async () => {
      const { store, cleanup } = await makeStore();
      const clock = new ManualClock("2030-06-01T12:00:00Z");
      try {
        await store.close(); // never opened: a no-op
        await store.open({ nodeId: NODE_A, clock });
        await store.open({ nodeId: NODE_A, clock });
        await store.putTask(taskRecord("kept"), { replace: false });
        await store.close();
        await store.close();
        await store.open({ nodeId: NODE_A, clock });
        assert.equal((await store.getTask("kept"))?.name, "kept");
      } finally {
        await store.close();
        await cleanup();
      }
    });

    it("reports a stable whole schema version (above 0 for durable stores)", async () => {
      await withStore(makeStore, async ({ store }) => {
        const version = await store.schemaVersion();
        assert.ok(Number.isSafeInteger(version) && version >= 0, `schema version ${version}`);
        if (store.durable) assert.ok(version > 0, "a durable store has migrations");
        assert.equal(await store.schemaVersion(), version);
      });
    });
  });
}

function runTasksContract(makeStore: MakeStore): void {
  describe("tasks", () => {
    it("puts a task and gets back the same record", async () => {
      await withStore(makeStore, async ({ store }) => {
        const record = taskRecord("daily-report");
        await store.putTask(record, { replace: false });
        assert.deepEqual(await store.getTask("daily-report"), record);
        assert.deepEqual(await store.listTasks(), [record]);
      });
    });

    it("keeps every schedule kind and every option as given", async () => {
      await withStore(makeStore, async ({ store }) => {
        const base = taskRecord("x");
        const records = [
          taskRecord("once", { schedule: { kind: "once", atMs: Date.UTC(2031, 0, 1) } }),
          taskRecord("interval", {
            schedule: { kind: "interval", everyMs: 90_000, anchorMs: Date.UTC(2030, 0, 1) },
          }),
          taskRecord("cron-options", {
            schedule: {
              kind: "cron",
              expression: "30 2 * * 0",
              timezone: "America/New_York",
              dayMatch: "and",
              dst: { gap: "skip", overlap: "both" },
            },
            options: {
              ...base.options,
              timezone: null,
              overlap: "queue",
              startAtMs: Date.UTC(2030, 0, 1),
              endAtMs: Date.UTC(2032, 0, 1),
              maxRuns: 7,
              jitterMs: 250,
              dayMatch: "and",
              dst: { gap: "skip", overlap: "both" },
            },
            state: "paused",
            lastRunAt: Date.UTC(2030, 4, 1),
            lastStatus: "failed",
            runCount: 12,
            nextRunAt: null,
            version: 9,
          }),
        ];
        for (const record of records) await store.putTask(record, { replace: false });
        for (const record of records) assert.deepEqual(await store.getTask(record.name), record);
      });
    });

    it("returns undefined for an unknown task and [] when there are none", async () => {
      await withStore(makeStore, async ({ store }) => {
        assert.equal(await store.getTask("nope"), undefined);
        assert.deepEqual(await store.listTasks(), []);
      });
    });

    it("lists every task once", async () => {
      await withStore(makeStore, async ({ store }) => {
        const names = ["b", "a", "c", "a-long-name", "ünïcødé ✓"];
        for (const name of names) await store.putTask(taskRecord(name), { replace: false });
        const listed = (await store.listTasks()).map((record) => record.name).sort();
        assert.deepEqual(listed, [...names].sort());
      });
    });

    it("refuses a duplicate name with the same DuplicateTaskError in every store", async () => {
      await withStore(makeStore, async ({ store }) => {
        const first = taskRecord("dup");
        await store.putTask(first, { replace: false });
        const error = await store
          .putTask(taskRecord("dup", { runCount: 5 }), { replace: false })
          .then(
            () => assert.fail("expected a DuplicateTaskError"),
            (reason: unknown) => reason,
          );
        assert.ok(error instanceof DuplicateTaskError);
        assert.equal(error.code, "ERR_DUPLICATE_TASK");
        assert.equal(error.taskName, "dup");
        assert.equal(error.message, new DuplicateTaskError("dup").message);
        assert.deepEqual(await store.getTask("dup"), first, "the first record is kept");
      });
    });

    it("lets exactly one of many concurrent puts of one name succeed", async () => {
      await withStore(makeStore, async ({ store }) => {
        const puts = Array.from({ length: 20 }, (_, i) =>
          store.putTask(taskRecord("race", { runCount: i }), { replace: false }),
        );
        const { values, errors } = await settle(puts);
        assert.equal(values.length, 1);
        assert.equal(errors.length, 19);
        for (const error of errors) assert.ok(error instanceof DuplicateTaskError);
        assert.equal((await store.listTasks()).length, 1);
      });
    });

    it("replaces a task with replace: true, and inserts one that is missing", async () => {
      await withStore(makeStore, async ({ store }) => {
        await store.putTask(taskRecord("r"), { replace: false });
        const replacement = taskRecord("r", {
          schedule: { kind: "once", atMs: Date.UTC(2031, 0, 1) },
          callback: sealedCallback(64),
          state: "paused",
          version: 2,
        });
        await store.putTask(replacement, { replace: true });
        assert.deepEqual(await store.getTask("r"), replacement);
        const fresh = taskRecord("fresh");
        await store.putTask(fresh, { replace: true });
        assert.deepEqual(await store.getTask("fresh"), fresh);
        assert.equal((await store.listTasks()).length, 2);
      });
    });

    it("returns copies: changing a returned record does not change the store", async () => {
      await withStore(makeStore, async ({ store }) => {
        await store.putTask(taskRecord("copy"), { replace: false });
        const got = (await store.getTask("copy")) as { state: string; runCount: number };
        got.state = "paused";
        got.runCount = 99;
        const listed = (await store.listTasks())[0] as { state: string };
        listed.state = "completed";
        assert.equal((await store.getTask("copy"))?.state, "active");
        assert.equal((await store.getTask("copy"))?.runCount, 0);
      });
    });

    it("never changes a record it was given or gave out when it updates a task", async () => {
      await withStore(makeStore, async ({ store }) => {
        const given = taskRecord("snap");
        const before = structuredClone(given);
        await store.putTask(given, { replace: false });
        const read = await store.getTask("snap");
        const progress = {
          state: "completed",
          nextRunAt: null,
          lastRunAt: Date.UTC(2030, 5, 2, 6, 0, 1),
          lastStatus: "succeeded",
          runCount: 7,
        } as const;
        assert.equal(await store.updateTaskProgress("snap", progress), true);
        assert.equal(await store.updateTaskCallback("snap", sealedCallback()), true);
        assert.deepEqual(given, before);
        assert.deepEqual(read, before);
        assert.equal((await store.getTask("snap"))?.runCount, 7);
      });
    });

    it("updates progress, bumps the version, and leaves the rest alone", async () => {
      await withStore(makeStore, async ({ store }) => {
        const record = taskRecord("p");
        await store.putTask(record, { replace: false });
        const progress = {
          state: "completed",
          nextRunAt: null,
          lastRunAt: Date.UTC(2030, 5, 2, 6, 0, 1),
          lastStatus: "timed-out",
          runCount: 4,
        } as const;
        assert.equal(await store.updateTaskProgress("p", progress), true);
        assert.deepEqual(await store.getTask("p"), {
          ...record,
          ...progress,
          version: record.version + 1,
        });
        assert.equal(await store.updateTaskProgress("p", { ...progress, runCount: 5 }), true);
        assert.equal((await store.getTask("p"))?.version, record.version + 2);
      });
    });

    it("returns false when updating a task that does not exist, and creates nothing", async () => {
      await withStore(makeStore, async ({ store }) => {
        const progress = {
          state: "active",
          nextRunAt: 1,
          lastRunAt: null,
          lastStatus: null,
          runCount: 0,
        } as const;
        assert.equal(await store.updateTaskProgress("ghost", progress), false);
        assert.equal(await store.updateTaskCallback("ghost", sealedCallback()), false);
        assert.deepEqual(await store.listTasks(), []);
      });
    });

    it("deletes a task and says whether it existed", async () => {
      await withStore(makeStore, async ({ store }) => {
        await store.putTask(taskRecord("d"), { replace: false });
        await store.putTask(taskRecord("other"), { replace: false });
        assert.equal(await store.deleteTask("d"), true);
        assert.equal(await store.deleteTask("d"), false);
        assert.equal(await store.getTask("d"), undefined);
        assert.deepEqual(
          (await store.listTasks()).map((r) => r.name),
          ["other"],
        );
        await store.putTask(taskRecord("d"), { replace: false }); // the name is free again
      });
    });
  });
}

function runCallbackContract(makeStore: MakeStore): void {
  describe("stored callbacks", () => {
    it("keeps sealed callbacks as opaque bytes, byte for byte, with their key id", async () => {
      await withStore(makeStore, async ({ store }) => {
        const sizes = [0, 1, 28, 256, 4096, 70_000];
        for (const size of sizes) {
          const callback = sealedCallback(size, `key-${size}`);
          await store.putTask(taskRecord(`sealed-${size}`, { callback }), { replace: false });
        }
        for (const size of sizes) {
          const got = (await store.getTask(`sealed-${size}`))?.callback;
          assert.ok(got?.encoding === "sealed", `sealed-${size} stays sealed`);
          assert.equal(got.keyId, `key-${size}`);
          assert.ok(got.bytes instanceof Uint8Array);
          assert.equal(got.bytes.byteLength, size);
        }
        const callback = sealedCallback(1024);
        await store.putTask(taskRecord("exact", { callback }), { replace: false });
        const got = (await store.getTask("exact"))?.callback;
        assert.ok(got?.encoding === "sealed" && callback.encoding === "sealed");
        assert.deepEqual(Buffer.from(got.bytes), Buffer.from(callback.bytes));
      });
    });

    it("keeps a sealed callback given as a view into a larger buffer to its own bytes", async () => {
      await withStore(makeStore, async ({ store }) => {
        const backing = new Uint8Array(64).map((_, i) => i);
        const bytes = backing.subarray(10, 20);
        await store.putTask(
          taskRecord("view", { callback: { encoding: "sealed", keyId: "k", bytes } }),
          { replace: false },
        );
        const got = (await store.getTask("view"))?.callback;
        assert.ok(got?.encoding === "sealed");
        assert.deepEqual([...got.bytes], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
      });
    });

    it("keeps plain (test-mode) records marked plain, with handler, module and JSON payloads", async () => {
      await withStore(makeStore, async ({ store }) => {
        const callbacks = {
          handler: plainCallback({ nested: { list: [1, "two", null, true] }, unicode: "é✓" }),
          module: {
            encoding: "plain",
            record: {
              callback: { kind: "module", module: "file:///app/jobs.mjs", export: "cleanup" },
              payload: [1, 2, 3],
            },
          },
          "no-payload": {
            encoding: "plain",
            record: { callback: { kind: "handler", name: "ping" }, payload: undefined },
          },
        } as const;
        for (const [name, callback] of Object.entries(callbacks)) {
          await store.putTask(taskRecord(name, { callback }), { replace: false });
        }
        for (const [name, callback] of Object.entries(callbacks)) {
          assert.deepEqual((await store.getTask(name))?.callback, callback, name);
        }
      });
    });

    it("replaces the callback (key rotation), bumping the version and keeping the rest", async () => {
      await withStore(makeStore, async ({ store }) => {
        const record = taskRecord("rotate", { callback: sealedCallback(100, "old") });
        await store.putTask({ ...record }, { replace: false });
        const next = sealedCallback(120, "new");
        assert.equal(await store.updateTaskCallback("rotate", next), true);
        assert.deepEqual(await store.getTask("rotate"), {
          ...record,
          callback: next,
          version: record.version + 1,
        });
        const plain = plainCallback({ migrated: false });
        assert.equal(await store.updateTaskCallback("rotate", plain), true);
        assert.deepEqual((await store.getTask("rotate"))?.callback, plain);
      });
    });
  });
}
