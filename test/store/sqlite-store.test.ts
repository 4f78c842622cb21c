import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { DuplicateTaskError, InvalidArgumentError, StoreError } from "../../src/errors.js";
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from "../../src/store/sqlite/migrations.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Claim } from "../../src/store/store.js";
import { ManualClock } from "../../src/time/clock.js";
import { runStoreContract } from "./contract.js";
import {
  NODE_A,
  NODE_B,
  plainCallback,
  runRecord,
  sealedCallback,
  settle,
  taskRecord,
} from "./contract-helpers.js";

const SNAPSHOT = fileURLToPath(new URL("./sqlite-schema.snapshot.sql", import.meta.url));

const tempDirs: string[] = [];
after(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh temp folder (removed when the file's tests end) and a database path in it. */
async function tempDbPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "orchestrator-sqlite-"));
  tempDirs.push(dir);
  return join(dir, "orchestrator.db");
}

runStoreContract("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "orchestrator-sqlite-contract-"));
  return {
    store: new SqliteStore({ path: join(dir, "store.db") }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

/** The schema as sqlite_master holds it, in a stable order, as SQL text. */
function schemaOf(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db
      .prepare(
        `SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL
         ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END, name`,
      )
      .all() as { type: string; name: string; sql: string }[];
    const header =
      `-- The SQLite store's schema at version ${LATEST_SCHEMA_VERSION}, as sqlite_master holds it.\n` +
      "-- Checked by test/store/sqlite-store.test.ts; rewrite with UPDATE_SNAPSHOTS=1 after adding a migration.\n";
    return header + rows.map((row) => `\n-- ${row.type} ${row.name}\n${row.sql};\n`).join("");
  } finally {
    db.close();
  }
}

describe("SqliteStore", () => {
  it("rejects options it cannot use", () => {
    assert.throws(() => new SqliteStore({ path: "" }), InvalidArgumentError);
    assert.throws(() => new SqliteStore({ path: "x.db", busyTimeoutMs: -1 }), InvalidArgumentError);
  });

  it("is durable and shared, in WAL mode with synchronous NORMAL", async () => {
    const path = await tempDbPath();
    const store = new SqliteStore({ path });
    assert.equal(store.kind, "sqlite");
    assert.equal(store.durable, true);
    assert.equal(store.shared, true);
    await store.open({ nodeId: NODE_A, clock: new ManualClock() });
    try {
      const db = new Database(path);
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      db.close();
    } finally {
      await store.close();
    }
  });

  it("refuses calls before open and after close with a StoreError", async () => {
    const store = new SqliteStore({ path: await tempDbPath() });
    await assert.rejects(store.getTask("x"), StoreError);
    await store.open({ nodeId: NODE_A, clock: new ManualClock() });
    await store.close();
    await assert.rejects(
      store.claimRun({ taskName: "t", scheduledAt: 1, nodeId: NODE_A, leaseMs: 1 }),
      {
        name: "StoreError",
        code: "ERR_STORE",
      },
    );
  });

  it("wraps driver errors in a StoreError that keeps the cause", async () => {
    const path = join(await tempDbPath(), "no-such-folder", "x.db");
    const error = await new SqliteStore({ path })
      .open({ nodeId: NODE_A, clock: new ManualClock() })
      .then(
        () => assert.fail("expected open to fail"),
        (reason: unknown) => reason,
      );
    assert.ok(error instanceof StoreError);
    assert.ok(error.cause instanceof Error);
    assert.match(error.message, /no-such-folder/);
  });

  it("uses the clock given to open for every timestamp", async () => {
    const clock = new ManualClock("2031-02-03T04:05:06Z");
    const store = new SqliteStore({ path: await tempDbPath() });
    await store.open({ nodeId: NODE_A, clock });
    try {
      assert.equal(await store.now(), clock.nowMs());
      const claim = await store.claimRun({
        taskName: "t",
        scheduledAt: 1,
        nodeId: NODE_A,
        leaseMs: 500,
      });
      assert.equal(claim?.claimedAt, clock.nowMs());
      assert.equal(claim?.leaseExpiresAt, clock.nowMs() + 500);
      clock.advance(400);
      assert.ok(claim !== null && (await store.renewLease(claim, 500)));
      clock.advance(499);
      assert.deepEqual(await store.reapExpiredClaims({ nodeId: NODE_B, atStart: false }), []);
      clock.advance(2);
      assert.equal(
        (await store.reapExpiredClaims({ nodeId: NODE_B, atStart: false }))[0]?.id,
        claim.id,
      );
    } finally {
      await store.close();
    }
  });

  it("finds everything again when the file is reopened by a new store", async () => {
    const path = await tempDbPath();
    const clock = new ManualClock("2030-06-01T12:00:00Z");
    const sealed = taskRecord("sealed", { callback: sealedCallback(2048, "k1") });
    const plain = taskRecord("plain", { callback: plainCallback({ secret: false }) });
    const first = new SqliteStore({ path });
    await first.open({ nodeId: NODE_A, clock });
    await first.putTask(sealed, { replace: false });
    await first.putTask(plain, { replace: false });
    const T = clock.nowMs();
    const held = await first.claimRun({
      taskName: "sealed",
      scheduledAt: T,
      nodeId: NODE_A,
      leaseMs: 60_000,
    });
    const done = await first.claimRun({
      taskName: "plain",
      scheduledAt: T,
      nodeId: NODE_A,
      leaseMs: 60_000,
    });
    assert.ok(held !== null && done !== null);
    await first.releaseClaim(done);
    const row = runRecord("plain", T, { claimId: done.id });
    await first.recordRun(row);
    await first.close();

    const second = new SqliteStore({ path });
    await second.open({ nodeId: NODE_A, clock });
    try {
      assert.deepEqual(await second.getTask("sealed"), sealed);
      assert.deepEqual(await second.getTask("plain"), plain);
      assert.deepEqual(await second.history(), [row]);
      assert.equal(await second.schemaVersion(), LATEST_SCHEMA_VERSION);
      const claimArgs = { scheduledAt: T, nodeId: NODE_B, leaseMs: 1 };
      assert.equal(await second.claimRun({ taskName: "sealed", ...claimArgs }), null, "still held");
      assert.equal(await second.claimRun({ taskName: "plain", ...claimArgs }), null, "still done");
      const reaped = await second.reapExpiredClaims({ nodeId: NODE_A, atStart: true });
      // As the previous process held it (the claim taken over aside).
      assert.deepEqual(
        reaped.map((claim) => ({ ...claim, takenOver: undefined })),
        [{ ...held, takenOver: undefined }],
      );
    } finally {
      await second.close();
    }
  });

  it("stores sealed bytes as a BLOB with their key id, and plain records as JSON marked plain", async () => {
    const path = await tempDbPath();
    const store = new SqliteStore({ path });
    await store.open({ nodeId: NODE_A, clock: new ManualClock() });
    const sealed = sealedCallback(300, "primary");
    await store.putTask(taskRecord("s", { callback: sealed }), { replace: false });
    await store.putTask(taskRecord("p", { callback: plainCallback({ n: 1 }) }), { replace: false });
    await store.close();
    const db = new Database(path, { readonly: true });
    try {
      const rows = db
        .prepare(
          `SELECT name, callback_encoding AS encoding, callback_key_id AS keyId,
             typeof(callback_bytes) AS bytesType, callback_bytes AS bytes, callback_json AS json
           FROM tasks ORDER BY name`,
        )
        .all();
      assert.ok(sealed.encoding === "sealed");
      assert.deepEqual(rows, [
        {
          name: "p",
          encoding: "plain",
          keyId: null,
          bytesType: "null",
          bytes: null,
          json: JSON.stringify({
            callback: { kind: "handler", name: "send-report" },
            payload: { n: 1 },
          }),
        },
        {
          name: "s",
          encoding: "sealed",
          keyId: "primary",
          bytesType: "blob",
          bytes: Buffer.from(sealed.bytes),
          json: null,
        },
      ]);
    } finally {
      db.close();
    }
  });

  it("matches the schema snapshot (drift test)", async () => {
    const path = await tempDbPath();
    const store = new SqliteStore({ path });
    await store.open({ nodeId: NODE_A, clock: new ManualClock() });
    await store.close();
    const actual = schemaOf(path);
    if (process.env.UPDATE_SNAPSHOTS === "1") await writeFile(SNAPSHOT, actual);
    const expected = await readFile(SNAPSHOT, "utf8");
    assert.equal(actual, expected, "the migrations no longer produce sqlite-schema.snapshot.sql");
  });

  it("migrates once, records each migration, and leaves a migrated file alone", async () => {
    const path = await tempDbPath();
    const clock = new ManualClock("2030-01-01T00:00:00Z");
    const a = new SqliteStore({ path });
    const b = new SqliteStore({ path });
    await Promise.all([a.open({ nodeId: NODE_A, clock }), b.open({ nodeId: NODE_B, clock })]);
    await Promise.all([a.close(), b.close()]);
    clock.advance("1d");
    const c = new SqliteStore({ path });
    await c.open({ nodeId: NODE_A, clock });
    await c.close();
    const db = new Database(path, { readonly: true });
    try {
      const rows = db.prepare("SELECT version, name, applied_at FROM schema_migrations").all();
      assert.deepEqual(
        rows,
        MIGRATIONS.map((m) => ({
          version: m.version,
          name: m.name,
          applied_at: Date.UTC(2030, 0, 1),
        })),
      );
    } finally {
      db.close();
    }
  });

  it("refuses a file migrated by a newer version of orchestrator", async () => {
    const path = await tempDbPath();
    const store = new SqliteStore({ path });
    await store.open({ nodeId: NODE_A, clock: new ManualClock() });
    await store.close();
    const db = new Database(path);
    db.prepare(
      "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)",
    ).run(LATEST_SCHEMA_VERSION + 1);
    db.close();
    await assert.rejects(
      store.open({ nodeId: NODE_A, clock: new ManualClock() }),
      (error: unknown) => {
        assert.ok(error instanceof StoreError);
        assert.match(error.message, /newer/);
        return true;
      },
    );
  });

  it("commits writes called in one tick together, in call order, failing only the bad one", async () => {
    const store = new SqliteStore({ path: await tempDbPath() });
    await store.open({ nodeId: NODE_A, clock: new ManualClock() });
    try {
      const claimArgs = { taskName: "g", nodeId: NODE_A, leaseMs: 1000 };
      // None of these is awaited before the next is called: one batch.
      const put = store.putTask(taskRecord("g"), { replace: false });
      const duplicate = store.putTask(taskRecord("g"), { replace: false });
      const progress = store.updateTaskProgress("g", {
        state: "paused",
        nextRunAt: null,
        lastRunAt: 5,
        lastStatus: "succeeded",
        runCount: 1,
      });
      const first = store.claimRun({ ...claimArgs, scheduledAt: 10 });
      const second = store.claimRun({ ...claimArgs, scheduledAt: 10 });
      const read = store.getTask("g"); // a read sees the writes queued before it
      const [putResult, duplicateResult, updated, won, lost, got] = await Promise.allSettled([
        put,
        duplicate,
        progress,
        first,
        second,
        read,
      ]);
      assert.equal(putResult.status, "fulfilled");
      assert.equal(duplicateResult.status, "rejected");
      assert.ok(duplicateResult.reason instanceof DuplicateTaskError);
      assert.deepEqual(updated, { status: "fulfilled", value: true });
      assert.ok(won.status === "fulfilled" && won.value !== null);
      assert.deepEqual(lost, { status: "fulfilled", value: null });
      assert.ok(got.status === "fulfilled" && got.value?.state === "paused");
      const release = store.releaseClaim(won.value);
      const again = store.claimRun({ ...claimArgs, scheduledAt: 10 });
      const earlier = store.claimRun({ ...claimArgs, scheduledAt: 5 });
      await release;
      assert.equal(await again, null, "released before, in call order");
      assert.ok((await earlier) !== null, "an earlier key nobody claimed or recorded is free");
    } finally {
      await store.close();
    }
  });

  it("runs writes queued just before close", async () => {
    const path = await tempDbPath();
    const store = new SqliteStore({ path });
    await store.open({ nodeId: NODE_A, clock: new ManualClock() });
    const put = store.putTask(taskRecord("late"), { replace: false });
    await store.close();
    await put;
    await store.open({ nodeId: NODE_A, clock: new ManualClock() });
    assert.equal((await store.getTask("late"))?.name, "late");
    await store.close();
  });

  it("exclusive claims: one unreleased exclusive claim per task across processes, then the next", async () => {
    const path = await tempDbPath();
    const clock = new ManualClock();
    const [a, b] = [new SqliteStore({ path }), new SqliteStore({ path })];
    await a.open({ nodeId: NODE_A, clock });
    await b.open({ nodeId: NODE_B, clock });
    try {
      const ask = (scheduledAt: number, nodeId: string, exclusive = true) => ({
        taskName: "x",
        scheduledAt,
        nodeId,
        leaseMs: 1000,
        exclusive,
      });
      const first = await a.claimRun(ask(1000, NODE_A));
      assert.ok(first !== null && first.overlapping !== true);
      const elsewhere = await b.claimRun(ask(2000, NODE_B));
      assert.equal(elsewhere?.overlapping, true, "the task is running elsewhere: slot only");
      assert.equal(await a.claimRun(ask(2000, NODE_A)), null, "and that slot is B's");
      const other = await b.claimRun({ ...ask(2000, NODE_B), taskName: "y" });
      assert.ok(other !== null && other.overlapping !== true, "another task is free");
      const shared = await b.claimRun(ask(3000, NODE_B, false));
      assert.ok(shared !== null, "a non-exclusive claim (overlap allow/queue) is not refused");
      clock.advance(5000); // expired but not reaped: the task is still held
      assert.equal((await b.claimRun(ask(4000, NODE_B)))?.overlapping, true);
      await a.releaseClaim(first);
      const next = await b.claimRun(ask(5000, NODE_B));
      assert.ok(next !== null && next.overlapping !== true, "after release, the task is taken");
      const [one, two] = await b.claimRuns([ask(6000, NODE_B), ask(7000, NODE_B)]);
      assert.equal(one?.overlapping, true);
      assert.equal(two?.overlapping, true);
      // Reaped: taken over (the task still held) until the interrupted rows release them.
      const reaped = await b.reapExpiredClaims({ nodeId: NODE_B, atStart: true });
      assert.equal((await a.claimRun(ask(8000, NODE_A)))?.overlapping, true);
      for (const claim of reaped) {
        const row = { ...runRecord("x", claim.scheduledAt), status: "interrupted" as const };
        assert.equal(await b.finishRun(row, claim.takenOver), true);
      }
      const after = await a.claimRun(ask(9000, NODE_A));
      assert.ok(after !== null && after.overlapping !== true, "after reaping as well");
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("gives each key once to two store instances claiming concurrently on one file", async () => {
    const path = await tempDbPath();
    const clock = new ManualClock();
    const stores = [new SqliteStore({ path }), new SqliteStore({ path })];
    await Promise.all(stores.map((store, i) => store.open({ nodeId: `n${i}`, clock })));
    try {
      const attempts: Promise<Claim | null>[] = [];
      for (let k = 0; k < 200; k++) {
        for (const [i, store] of stores.entries()) {
          attempts.push(
            store.claimRun({
              taskName: `t${k % 7}`,
              scheduledAt: k,
              nodeId: `n${i}`,
              leaseMs: 1000,
            }),
          );
        }
      }
      const { values, errors } = await settle(attempts);
      assert.deepEqual(errors, []);
      const won = values.filter((claim): claim is Claim => claim !== null);
      assert.equal(won.length, 200);
      assert.equal(new Set(won.map((claim) => `${claim.taskName}@${claim.scheduledAt}`)).size, 200);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});
