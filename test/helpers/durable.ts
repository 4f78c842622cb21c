import { closeSync, openSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Dispatcher } from "../../src/core/dispatcher.js";
import { Scheduler, type SchedulerOptions } from "../../src/scheduler/index.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { generateKey } from "../../src/crypto/key-material.js";
import { ManualClock, SystemClock } from "../../src/time/clock.js";
import { recordingLogger } from "./scheduler.js";
import { PLAN_AHEAD } from "./plan-ahead.js";

/** A temp folder with a database path in it; `cleanup` removes it. */
export async function tempDb(): Promise<{
  path: string;
  dir: string;
  cleanup: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), "orchestrator-durable-"));
  return {
    dir,
    path: join(dir, "orchestrator.db"),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * A scheduler on a SQLite file and a ManualClock (UTC), with a recording
 * logger; `open` makes the store (a SqliteStore subclass, say).
 */
export function sqliteScheduler<S extends SqliteStore = SqliteStore>(
  path: string,
  options: SchedulerOptions & { clock?: ManualClock } = {},
  open: (path: string) => S = (file) => new SqliteStore({ path: file }) as S,
): {
  scheduler: Scheduler;
  store: S;
  clock: ManualClock;
  logger: ReturnType<typeof recordingLogger>;
  dispatcher: Dispatcher;
} {
  const clock = options.clock ?? new ManualClock("2026-01-01T00:00:00Z");
  const logger = recordingLogger();
  const store = open(path);
  const dispatcher = new Dispatcher();
  const scheduler = new Scheduler(dispatcher, {
    planAhead: PLAN_AHEAD,
    clock,
    timezone: "UTC",
    logger,
    nodeId: "node-a",
    ...options,
    store,
  });
  return { scheduler, store, clock, logger, dispatcher };
}

/** Stops the scheduler, closes its store and dispatcher. */
export async function shutdown(parts: {
  scheduler: Scheduler;
  store: SqliteStore;
  dispatcher: Dispatcher;
}): Promise<void> {
  await parts.scheduler.stop();
  await parts.store.close();
  await parts.dispatcher.close();
}

/** Runs `fn` on the raw database file (outside any store), then closes it. */
export function withRawDb<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/**
 * Damages a closed database file the way a bad disk sector does: the root
 * page of `table` (found in sqlite_master, after folding the WAL into the
 * file) is overwritten with garbage. Opening the file still works (the schema
 * page is intact); reading or writing `table` fails with SQLITE_CORRUPT, and
 * `PRAGMA quick_check` reports it.
 */
export function damageTable(path: string, table: string): void {
  const { page, pageSize } = withRawDb(path, (db) => {
    db.pragma("wal_checkpoint(TRUNCATE)");
    const row = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = ?").get(table) as
      { rootpage: number } | undefined;
    if (row === undefined) throw new Error(`no table ${table} in ${path}`);
    return { page: row.rootpage, pageSize: db.pragma("page_size", { simple: true }) as number };
  });
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, (page - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}

/** A scheduler on `store` with the system clock (real time), a recording logger and a new key. */
export function realTimeScheduler(
  store: SqliteStore,
  options: SchedulerOptions = {},
): { scheduler: Scheduler; logger: ReturnType<typeof recordingLogger>; dispatcher: Dispatcher } {
  const logger = recordingLogger();
  const dispatcher = new Dispatcher();
  const scheduler = new Scheduler(dispatcher, {
    logger,
    encryptionKey: generateKey(),
    clock: new SystemClock(),
    ...options,
    store,
  });
  return { scheduler, logger, dispatcher };
}
