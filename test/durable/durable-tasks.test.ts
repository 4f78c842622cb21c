/**
 * Durable tasks on a real SQLite file: sealed callback records,
 * loading at start, quarantine, missing handlers, restart misfire, recovery of
 * interrupted runs, idempotent re-registration, key rotation, retention.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { generateKey } from "../../src/crypto/key-material.js";
import { DuplicateTaskError } from "../../src/errors.js";
import type { TaskHandlerMissingEvent, TaskQuarantinedEvent } from "../../src/events.js";
import type { RunRecord } from "../../src/store/store.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { ManualClock } from "../../src/time/clock.js";
import { shutdown, sqliteScheduler, tempDb, withRawDb } from "../helpers/durable.js";
import { turns } from "../helpers/scheduler.js";

const K1 = generateKey();
const K2 = generateKey();
const K3 = generateKey();
const T0 = "2026-01-01T00:00:00Z";
const noop = (): void => {};

let savedEnv: Record<string, string | undefined> = {};
before(() => {
  savedEnv = {
    ORCHESTRATOR_ENCRYPTION_KEY: process.env.ORCHESTRATOR_ENCRYPTION_KEY,
    ORCHESTRATOR_ENCRYPTION_KEYS: process.env.ORCHESTRATOR_ENCRYPTION_KEYS,
  };
  delete process.env.ORCHESTRATOR_ENCRYPTION_KEY;
  delete process.env.ORCHESTRATOR_ENCRYPTION_KEYS;
});
after(() => {
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value !== undefined) process.env[name] = value;
  }
});

function byTime(rows: RunRecord[]): string[] {
  return rows
    .slice()
    .sort((a, b) => a.scheduledAt - b.scheduledAt || a.attempt - b.attempt)
    .map((row) => {
      const at = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
      const range =
        row.missedThrough === undefined
          ? ""
          : ` through ${at(row.missedThrough)} (${row.missedCount ?? "?"})`;
      return `${at(row.scheduledAt)} ${row.status}#${row.attempt}${range}`;
    });
}

/** Registers tasks a, b, c (handler "h", a secret payload each) with `encryptionKey`, runs nothing, closes. */
async function seed(path: string, encryptionKey: unknown, names = ["a", "b", "c"]): Promise<void> {
  const parts = sqliteScheduler(path, { encryptionKey: encryptionKey as never });
  parts.scheduler.defineHandler("h", noop);
  await parts.scheduler.runPending(); // opens the store and loads its tasks;
  for (const name of names) {
    await parts.scheduler.registerTask(name, "* * * * *", "h", {
      payload: { secret: `s-${name}` },
    });
  }
  await shutdown(parts);
}

/** Starts a scheduler on `path` with `encryptionKey`, runs what is due at 00:01, and returns what happened. */
async function restart(
  path: string,
  encryptionKey: unknown,
  options: { migratePlaintext?: boolean; minute?: number } = {},
): Promise<{
  quarantined: TaskQuarantinedEvent[];
  states: Record<string, string>;
  ran: string[];
  errors: string[];
}> {
  const minute = options.minute ?? 1;
  const parts = sqliteScheduler(path, {
    encryptionKey: encryptionKey as never,
    clock: new ManualClock(Date.parse(T0) + (minute - 1) * 60_000 + 30_000),
    ...(options.migratePlaintext === undefined
      ? {}
      : { migratePlaintext: options.migratePlaintext }),
  });
  const ran: string[] = [];
  parts.scheduler.defineHandler("h", (ctx) => {
    ran.push(`${ctx.taskName}:${(ctx.payload as { secret: string }).secret}`);
  });
  const quarantined: TaskQuarantinedEvent[] = [];
  parts.scheduler.on("task:quarantined", (event) => quarantined.push(event));
  await parts.scheduler.runPending(); // loads the store
  await parts.scheduler.advanceTo(Date.parse(T0) + minute * 60_000);
  const states = Object.fromEntries(
    parts.scheduler.listTasks().map((task) => [task.name, task.state]),
  );
  const errors = parts.logger.entries
    .filter((entry) => entry.level === "error")
    .map((entry) => String(entry.obj.taskName));
  await shutdown(parts);
  return { quarantined, states, ran: [...new Set(ran)].sort(), errors };
}

function callbackColumn(path: string, name: string): Buffer {
  return withRawDb(path, (db) => {
    const row = db.prepare("SELECT callback_bytes FROM tasks WHERE name = ?").get(name) as {
      callback_bytes: Buffer;
    };
    return row.callback_bytes;
  });
}

describe("encrypted callback storage", () => {
  it("a secret in a payload never reaches the SQLite file or its WAL in production mode, and does in test mode", async () => {
    for (const testMode of [false, true]) {
      const db = await tempDb();
      try {
        const secret = `hunter2-${testMode ? "test" : "prod"}-4f1c9a`;
        const parts = sqliteScheduler(db.path, { encryptionKey: K1, testMode });
        parts.scheduler.defineHandler("h", noop);
        await parts.scheduler.runPending(); // opens the store and loads its tasks;
        await parts.scheduler.registerTask("t", "* * * * *", "h", {
          payload: { password: secret },
        });
        await parts.scheduler.advanceTo("2026-01-01T00:03:00Z");
        const raw = async (): Promise<Buffer> =>
          Buffer.concat(
            await Promise.all(
              [db.path, `${db.path}-wal`].filter((f) => existsSync(f)).map((f) => readFile(f)),
            ),
          );
        assert.equal((await raw()).includes(secret), testMode, "while open");
        await shutdown(parts);
        assert.equal((await raw()).includes(secret), testMode, "after close");
        const encoding = withRawDb(db.path, (raw) =>
          raw.prepare("SELECT callback_encoding AS e FROM tasks").get(),
        ) as { e: string };
        assert.equal(encoding.e, testMode ? "plain" : "sealed");
      } finally {
        await db.cleanup();
      }
    }
  });

  it("a durable store in production mode without a key fails at start, saying how to make one", async () => {
    const db = await tempDb();
    try {
      const parts = sqliteScheduler(db.path);
      await assert.rejects(parts.scheduler.start(), (error: Error) => {
        assert.match(error.message, /ORCHESTRATOR_ENCRYPTION_KEY/);
        assert.match(error.message, /generate|openssl|keys generate/i);
        return true;
      });
      assert.equal(parts.scheduler.running, false);
      await shutdown(parts);
    } finally {
      await db.cleanup();
    }
  });

  const quarantineCases: [string, (path: string) => Promise<unknown>, string[], string][] = [
    [
      "one byte of a record tampered with",
      async (path) => {
        await seed(path, K1);
        const bytes = Buffer.from(callbackColumn(path, "a"));
        bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0x01;
        withRawDb(path, (db) =>
          db.prepare("UPDATE tasks SET callback_bytes = ? WHERE name = 'a'").run(bytes),
        );
        return K1;
      },
      ["a"],
      "authentication-failed",
    ],
    [
      "records swapped between two tasks",
      async (path) => {
        await seed(path, K1);
        const a = callbackColumn(path, "a");
        const b = callbackColumn(path, "b");
        withRawDb(path, (db) => {
          db.prepare("UPDATE tasks SET callback_bytes = ? WHERE name = 'a'").run(b);
          db.prepare("UPDATE tasks SET callback_bytes = ? WHERE name = 'b'").run(a);
        });
        return K1;
      },
      ["a", "b"],
      "authentication-failed",
    ],
    [
      "the key of one record removed from the keyring",
      async (path) => {
        await seed(path, [{ id: "old", key: K1 }], ["a"]);
        await seed(
          path,
          [
            { id: "new", key: K2 },
            { id: "old", key: K1 },
          ],
          ["b", "c"],
        );
        return [{ id: "new", key: K2 }];
      },
      ["a"],
      "unknown-key",
    ],
    [
      "a wrong key under the right key id",
      async (path) => {
        await seed(path, [{ id: "k1", key: K1 }], ["a"]);
        await seed(
          path,
          [
            { id: "k2", key: K2 },
            { id: "k1", key: K1 },
          ],
          ["b", "c"],
        );
        return [
          { id: "k2", key: K2 },
          { id: "k1", key: K3 },
        ];
      },
      ["a"],
      "authentication-failed",
    ],
  ];
  for (const [label, damage, expected, reason] of quarantineCases) {
    it(`quarantines only the affected tasks: ${label}`, async () => {
      const db = await tempDb();
      try {
        const key = await damage(db.path);
        const before = withRawDb(db.path, (raw) =>
          raw.prepare("SELECT * FROM tasks ORDER BY name").all(),
        );
        const { quarantined, states, ran, errors } = await restart(db.path, key);
        assert.deepEqual(quarantined.map((event) => event.taskName).sort(), expected);
        for (const event of quarantined) assert.equal(event.reason, reason);
        for (const name of ["a", "b", "c"]) {
          assert.equal(states[name], expected.includes(name) ? "quarantined" : "active", name);
        }
        assert.deepEqual(
          ran,
          ["a", "b", "c"].filter((name) => !expected.includes(name)).map((n) => `${n}:s-${n}`),
        );
        for (const name of expected) assert.ok(errors.includes(name), `an error log names ${name}`);
        const afterRows = withRawDb(db.path, (raw) =>
          raw.prepare("SELECT name, callback_bytes FROM tasks ORDER BY name").all(),
        ) as { name: string; callback_bytes: Buffer }[];
        assert.deepEqual(
          afterRows.map((row) => row.name),
          ["a", "b", "c"],
          "nothing deleted",
        );
        for (const row of afterRows) {
          if (!expected.includes(row.name)) continue;
          const old = (before as { name: string; callback_bytes: Buffer }[]).find(
            (r) => r.name === row.name,
          );
          assert.deepEqual(
            row.callback_bytes,
            old?.callback_bytes,
            "a quarantined record is left as it was",
          );
        }
      } finally {
        await db.cleanup();
      }
    });
  }

  it("refuses plaintext (test-mode) records in production mode unless told to migrate, then seals them", async () => {
    const db = await tempDb();
    try {
      const parts = sqliteScheduler(db.path, { testMode: true });
      parts.scheduler.defineHandler("h", noop);
      await parts.scheduler.runPending(); // opens the store and loads its tasks;
      await parts.scheduler.registerTask("p", "* * * * *", "h", { payload: { secret: "s-p" } });
      await shutdown(parts);

      const refused = await restart(db.path, K1);
      assert.deepEqual(
        refused.quarantined.map((e) => [e.taskName, e.reason]),
        [["p", "plaintext-refused"]],
      );
      assert.deepEqual(refused.ran, []);

      const migrated = await restart(db.path, K1, { migratePlaintext: true, minute: 2 });
      assert.deepEqual(migrated.quarantined, []);
      assert.deepEqual(migrated.ran, ["p:s-p"]);
      const row = withRawDb(db.path, (raw) =>
        raw.prepare("SELECT callback_encoding AS e, callback_json AS j FROM tasks").get(),
      ) as { e: string; j: string | null };
      assert.equal(row.e, "sealed");
      assert.equal(row.j, null);
      // Sealed now: a production scheduler without migratePlaintext opens it.
      assert.deepEqual((await restart(db.path, K1, { minute: 3 })).ran, ["p:s-p"]);
    } finally {
      await db.cleanup();
    }
  });

  it("rotateKeys re-seals every record with the primary key; it can stop half way and run again", async () => {
    const db = await tempDb();
    try {
      await seed(db.path, [{ id: "old", key: K1 }], ["a", "b", "c"]);
      const keyring = [
        { id: "new", key: K2 },
        { id: "old", key: K1 },
      ];
      // Half a rotation: one record re-sealed by hand (what a rotation killed after one write leaves).
      {
        const parts = sqliteScheduler(db.path, { encryptionKey: keyring });
        parts.scheduler.defineHandler("h", noop);
        await parts.scheduler.runPending(); // opens the store and loads its tasks;
        const stored = await parts.store.getTask("a");
        assert.ok(stored !== undefined);
        const report = await parts.scheduler.rotateKeys();
        assert.deepEqual(report, { resealed: 3, unchanged: 0, failed: [] });
        assert.deepEqual(await parts.scheduler.rotateKeys(), {
          resealed: 0,
          unchanged: 3,
          failed: [],
        });
        // Put the old record of "a" back: a mixed file, as after an interrupted rotation.
        await parts.store.updateTaskCallback("a", stored.callback);
        await shutdown(parts);
      }
      const mixed = await restart(db.path, keyring);
      assert.deepEqual(mixed.quarantined, []);
      assert.deepEqual(mixed.ran, ["a:s-a", "b:s-b", "c:s-c"]);
      {
        const parts = sqliteScheduler(db.path, { encryptionKey: keyring });
        parts.scheduler.defineHandler("h", noop);
        await parts.scheduler.runPending(); // opens the store and loads its tasks;
        assert.deepEqual(await parts.scheduler.rotateKeys(), {
          resealed: 1,
          unchanged: 2,
          failed: [],
        });
        await shutdown(parts);
      }
      const ids = withRawDb(db.path, (raw) =>
        raw.prepare("SELECT DISTINCT callback_key_id AS id FROM tasks").all(),
      );
      assert.deepEqual(ids, [{ id: "new" }]);
      const onlyNew = await restart(db.path, [{ id: "new", key: K2 }], { minute: 2 });
      assert.deepEqual(onlyNew.quarantined, []);
      assert.deepEqual(onlyNew.ran, ["a:s-a", "b:s-b", "c:s-c"]);
    } finally {
      await db.cleanup();
    }
  });

  it("rotateKeys opens every record: one sealed with the primary key and tampered with is failed, and quarantined", async () => {
    const db = await tempDb();
    try {
      await seed(db.path, K1, ["a", "b", "c"]);
      const parts = sqliteScheduler(db.path, { encryptionKey: K1 });
      parts.scheduler.defineHandler("h", noop);
      const quarantined: TaskQuarantinedEvent[] = [];
      parts.scheduler.on("task:quarantined", (event) => quarantined.push(event));
      await parts.scheduler.runPending(); // opens the store and loads its tasks;
      assert.equal(quarantined.length, 0);
      // Tampered with after the tasks were loaded: one byte of b's record flipped in the store.
      const stored = await parts.store.getTask("b");
      assert.ok(stored !== undefined && stored.callback.encoding === "sealed");
      const bytes = Buffer.from(stored.callback.bytes);
      bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0x01;
      await parts.store.updateTaskCallback("b", { ...stored.callback, bytes });
      assert.deepEqual(await parts.scheduler.rotateKeys(), {
        resealed: 0,
        unchanged: 2,
        failed: ["b"],
      });
      assert.deepEqual(
        quarantined.map((e) => [e.taskName, e.reason]),
        [["b", "authentication-failed"]],
      );
      assert.equal(parts.scheduler.getTask("b")?.state, "quarantined");
      assert.equal(parts.scheduler.getTask("a")?.state, "active");
      // Left as it was, and reported again by the next rotation.
      const kept = (await parts.store.getTask("b"))?.callback;
      assert.ok(kept?.encoding === "sealed");
      assert.deepEqual(Buffer.from(kept.bytes), bytes);
      assert.deepEqual((await parts.scheduler.rotateKeys()).failed, ["b"]);
      assert.equal(quarantined.length, 1);
      await shutdown(parts);
    } finally {
      await db.cleanup();
    }
  });
});

describe("restart", () => {
  it("loads persisted tasks and applies each misfire policy to the runs missed while down", async () => {
    const db = await tempDb();
    try {
      const first = sqliteScheduler(db.path, { encryptionKey: K1 });
      first.scheduler.defineHandler("h", noop);
      await first.scheduler.runPending(); // opens the store and loads its tasks;
      await first.scheduler.registerTask("once", "* * * * *", "h", { misfire: "run-once" });
      await first.scheduler.registerTask("skip", "* * * * *", "h", { misfire: "skip" });
      await first.scheduler.registerTask("all", "* * * * *", "h", {
        misfire: "run-all",
        maxCatchUpRuns: 3,
        overlap: "queue",
      });
      await first.scheduler.advanceTo("2026-01-01T00:02:00Z");
      await shutdown(first);

      // Down from 00:02 to 00:10:30.
      const second = sqliteScheduler(db.path, {
        encryptionKey: K1,
        clock: new ManualClock("2026-01-01T00:10:30Z"),
      });
      second.scheduler.defineHandler("h", noop);
      await second.scheduler.runPending(); // opens the store and loads its tasks;
      await second.scheduler.runPending();
      await second.scheduler.stop();
      const rows = async (name: string): Promise<string[]> =>
        byTime(await second.scheduler.history(name, { limit: 100 }));
      // Consecutive missed occurrences are one row, with the last of them and the count.
      const missed = (from: number, to: number): string[] => [
        `00:${String(from).padStart(2, "0")}:00 missed#1 through 00:${String(to).padStart(2, "0")}:00 (${to - from + 1})`,
      ];
      const ok = (m: number): string => `00:${String(m).padStart(2, "0")}:00 succeeded#1`;
      assert.deepEqual(await rows("once"), [ok(1), ok(2), ...missed(3, 9), ok(10)]);
      assert.deepEqual(await rows("skip"), [ok(1), ok(2), ...missed(3, 10)]);
      assert.deepEqual(await rows("all"), [ok(1), ok(2), ...missed(3, 7), ok(8), ok(9), ok(10)]);
      for (const name of ["once", "skip", "all"]) {
        assert.equal(
          second.scheduler.getTask(name)?.nextRun?.toISOString(),
          "2026-01-01T00:11:00.000Z",
        );
      }
      await shutdown(second);
    } finally {
      await db.cleanup();
    }
  });

  it("re-registering an identical task is a no-op that keeps its run state, in this process and in another", async () => {
    const db = await tempDb();
    try {
      const first = sqliteScheduler(db.path, { encryptionKey: K1 });
      first.scheduler.defineHandler("h", noop);
      await first.scheduler.runPending(); // opens the store and loads its tasks;
      const payload = { to: "ops@example.com", n: 1 };
      await first.scheduler.registerTask("t", "*/5 * * * *", "h", { payload, retries: 2 });
      await first.scheduler.advanceTo("2026-01-01T00:12:00Z");
      const info = first.scheduler.getTask("t");
      assert.equal(info?.runCount, 2);
      // Same process: identical resolves with the existing task; different throws.
      const again = await first.scheduler.registerTask("t", "*/5 * * * *", "h", {
        payload: { n: 1, to: "ops@example.com" },
        retries: 2,
      });
      assert.equal(again.runCount, 2);
      assert.equal(again.nextRun?.toISOString(), "2026-01-01T00:15:00.000Z");
      assert.throws(
        () =>
          first.scheduler.registerTask("t", "*/5 * * * *", "h", { payload: { n: 2 }, retries: 2 }),
        DuplicateTaskError,
      );

      // Another process on the same file, registering before start (as code does on every start).
      const second = sqliteScheduler(db.path, {
        encryptionKey: K1,
        nodeId: "node-b",
        clock: new ManualClock("2026-01-01T00:12:00Z"),
      });
      second.scheduler.defineHandler("h", noop);
      const adopted = await second.scheduler.registerTask("t", "*/5 * * * *", "h", {
        payload,
        retries: 2,
      });
      assert.equal(adopted.runCount, 2);
      assert.equal(adopted.nextRun?.toISOString(), "2026-01-01T00:15:00.000Z");
      await second.scheduler.start();
      assert.equal(second.scheduler.getTask("t")?.runCount, 2);
      await shutdown(second);

      // A third, with a different payload: DuplicateTaskError, and the stored task stays as it was.
      const third = sqliteScheduler(db.path, {
        encryptionKey: K1,
        nodeId: "node-c",
        clock: new ManualClock("2026-01-01T00:12:00Z"),
      });
      third.scheduler.defineHandler("h", noop);
      await assert.rejects(
        third.scheduler.registerTask("t", "*/5 * * * *", "h", { payload: { n: 3 }, retries: 2 }),
        DuplicateTaskError,
      );
      assert.deepEqual(third.scheduler.getTask("t")?.payload, payload);
      assert.equal(third.scheduler.getTask("t")?.runCount, 2);
      // replace: true overwrites it.
      const replaced = await third.scheduler.registerTask("t", "*/5 * * * *", "h", {
        payload: { n: 3 },
        retries: 2,
        replace: true,
      });
      assert.deepEqual(replaced.payload, { n: 3 });
      await shutdown(third);
      await shutdown(first);
    } finally {
      await db.cleanup();
    }
  });

  it("keeps a task whose handler is not defined, reports it, and records its runs as failed", async () => {
    const db = await tempDb();
    try {
      await seed(db.path, K1, ["orphan"]);
      const parts = sqliteScheduler(db.path, { encryptionKey: K1 });
      const missing: TaskHandlerMissingEvent[] = [];
      parts.scheduler.on("task:handler-missing", (event) => missing.push(event));
      await parts.scheduler.runPending(); // opens the store and loads its tasks;
      assert.deepEqual(missing, [{ taskName: "orphan", handler: "h" }]);
      assert.ok(
        parts.logger.entries.some((e) => e.level === "warn" && e.obj.taskName === "orphan"),
      );
      assert.equal(parts.scheduler.getTask("orphan")?.state, "active");
      await parts.scheduler.advanceTo("2026-01-01T00:01:00Z");
      const [row] = await parts.scheduler.history("orphan", { limit: 1 });
      assert.equal(row?.status, "failed");
      assert.match(row?.error?.message ?? "", /No handler named "h"/);
      assert.ok((await parts.store.getTask("orphan")) !== undefined, "kept in the store");
      await shutdown(parts);
    } finally {
      await db.cleanup();
    }
  });

  it("marks a run in flight when the process died as interrupted and retries it when its policy allows", async () => {
    const db = await tempDb();
    try {
      const first = sqliteScheduler(db.path, { encryptionKey: K1 });
      first.scheduler.defineHandler("h", noop);
      await first.scheduler.runPending(); // opens the store and loads its tasks;
      await first.scheduler.registerTask("retried", "0 * * * *", "h", { retries: 1 });
      await first.scheduler.registerTask("not-retried", "0 * * * *", "h");
      await shutdown(first);
      // What a process that died mid-run leaves: unreleased claims of its node.
      const store = new SqliteStore({ path: db.path });
      await store.open({ nodeId: "node-a", clock: new ManualClock("2026-01-01T01:00:00Z") });
      const at = Date.parse("2026-01-01T01:00:00Z");
      for (const taskName of ["retried", "not-retried"]) {
        const claim = await store.claimRun({
          taskName,
          scheduledAt: at,
          nodeId: "node-a",
          leaseMs: 60_000,
          exclusive: true,
        });
        assert.ok(claim !== null);
      }
      await store.close();

      const second = sqliteScheduler(db.path, {
        encryptionKey: K1,
        clock: new ManualClock("2026-01-01T01:00:05Z"),
      });
      const ran: string[] = [];
      second.scheduler.defineHandler("h", (ctx) => void ran.push(`${ctx.taskName}#${ctx.attempt}`));
      await second.scheduler.runPending(); // opens the store and loads its tasks;
      await second.scheduler.runPending();
      await second.scheduler.stop();
      assert.deepEqual(ran, ["retried#2"]);
      assert.deepEqual(byTime(await second.scheduler.history("retried")), [
        "01:00:00 interrupted#1",
        "01:00:00 succeeded#2",
      ]);
      assert.deepEqual(byTime(await second.scheduler.history("not-retried")), [
        "01:00:00 interrupted#1",
      ]);
      // Both keys are spent: nothing runs them again, and the tasks go on at 02:00.
      assert.equal(
        second.scheduler.getTask("retried")?.nextRun?.toISOString(),
        "2026-01-01T02:00:00.000Z",
      );
      await shutdown(second);
    } finally {
      await db.cleanup();
    }
  });

  it("retries a recovered run of a task registered before the store opened (the stored task adopted)", async () => {
    // The registered object is replaced by the stored one (identical definition, stored
    // run state wins): the retry queued for the run recovered at start must not go with it.
    const db = await tempDb();
    try {
      const first = sqliteScheduler(db.path, { encryptionKey: K1 });
      first.scheduler.defineHandler("h", noop);
      await first.scheduler.runPending();
      await first.scheduler.registerTask("job", "0 * * * *", "h", { retries: 1 });
      await shutdown(first);
      const store = new SqliteStore({ path: db.path });
      await store.open({ nodeId: "node-a", clock: new ManualClock("2026-01-01T01:00:00Z") });
      const claim = await store.claimRun({
        taskName: "job",
        scheduledAt: Date.parse("2026-01-01T01:00:00Z"),
        nodeId: "node-a",
        leaseMs: 60_000,
        exclusive: true,
      });
      assert.ok(claim !== null);
      await store.close();

      const second = sqliteScheduler(db.path, {
        encryptionKey: K1,
        clock: new ManualClock("2026-01-01T01:00:05Z"),
      });
      const ran: string[] = [];
      second.scheduler.defineHandler("h", (ctx) => void ran.push(`${ctx.taskName}#${ctx.attempt}`));
      // Registered before the store is open (as the README shows): opening the store
      // recovers the run and queues its retry, then the stored task is adopted.
      const registered = second.scheduler.registerTask("job", "0 * * * *", "h", { retries: 1 });
      await second.scheduler.history(undefined, { limit: 1 });
      await registered;
      await second.scheduler.runPending();
      await second.scheduler.stop();
      assert.deepEqual(ran, ["job#2"]);
      assert.deepEqual(byTime(await second.scheduler.history("job")), [
        "01:00:00 interrupted#1",
        "01:00:00 succeeded#2",
      ]);
      await shutdown(second);
    } finally {
      await db.cleanup();
    }
  });

  it("keeps a run's output in history: a plain-object return value, or the thrown error's details", async () => {
    const db = await tempDb();
    try {
      const parts = sqliteScheduler(db.path, { encryptionKey: K1 });
      parts.scheduler.defineHandler("ok", () => ({ exitCode: 0, stdout: "done\n", stderr: "" }));
      parts.scheduler.defineHandler("fails", async () => {
        await Promise.resolve();
        throw Object.assign(new Error("exit 3"), {
          details: { exitCode: 3, stdout: "x".repeat(400_000), stderr: "boom" },
        });
      });
      parts.scheduler.defineHandler("plain", () => "not an object");
      await parts.scheduler.runPending();
      await parts.scheduler.registerTask("ok", "* * * * *", "ok");
      await parts.scheduler.registerTask("fails", "* * * * *", "fails");
      await parts.scheduler.registerTask("plain", "* * * * *", "plain");
      await parts.scheduler.advanceTo("2026-01-01T00:01:00Z");
      const [ok] = await parts.scheduler.history("ok");
      assert.deepEqual(ok?.output, { exitCode: 0, stdout: "done\n", stderr: "" });
      const [failed] = await parts.scheduler.history("fails");
      assert.equal(failed?.status, "failed");
      const output = failed?.output as {
        exitCode: number;
        stdout: string;
        stderr: string;
        truncated: boolean;
      };
      assert.equal(output.exitCode, 3);
      assert.equal(output.stderr, "boom");
      assert.equal(output.truncated, true);
      assert.ok(JSON.stringify(output).length <= 150 * 1024);
      assert.ok(output.stdout.endsWith("xxxx"));
      const [plain] = await parts.scheduler.history("plain");
      assert.equal(plain !== undefined && "output" in plain, false);
      await shutdown(parts);
    } finally {
      await db.cleanup();
    }
  });

  it("prunes history per historyRetention", async () => {
    const db = await tempDb();
    try {
      const first = sqliteScheduler(db.path, { encryptionKey: K1 });
      first.scheduler.defineHandler("h", noop);
      await first.scheduler.runPending(); // opens the store and loads its tasks;
      await first.scheduler.registerTask("t", "* * * * *", "h");
      await first.scheduler.advanceTo("2026-01-01T00:10:00Z");
      await shutdown(first);
      const second = sqliteScheduler(db.path, {
        encryptionKey: K1,
        clock: new ManualClock("2026-01-01T00:10:00Z"),
        historyRetention: { maxRows: 3 },
      });
      await second.scheduler.start();
      while ((await second.scheduler.history(undefined, { limit: 100 })).length > 3) await turns(1);
      assert.equal((await second.scheduler.history(undefined, { limit: 100 })).length, 3);
      await shutdown(second);
    } finally {
      await db.cleanup();
    }
  });
});
