import Database from "better-sqlite3";
import { OrchestratorError, StoreError } from "../../errors.js";
import { SystemClock } from "../../time/clock.js";
import { connect, type Connection } from "./connection.js";
import { capSize, quickCheck } from "./file-checks.js";
import { migrate } from "./migrations.js";
import { SqliteNodeLock } from "./node-lock.js";
import * as sql from "./queries.js";
import { LOCK_ATTEMPT_MS, type SqliteSettings } from "./sqlite-options.js";

/**
 * Opens the file (creating it), takes the node id's lock file when `nodeId`
 * is given, sets WAL and the busy timeout, checks it (`quickCheck`),
 * migrates. On failure everything taken is let go and the error rethrown as is.
 */
export function openFile(
  settings: SqliteSettings,
  nowMs: number,
  nodeId: string | undefined,
): { connection: Connection; nodeLock: SqliteNodeLock | undefined } {
  let db: Database.Database | undefined;
  let nodeLock: SqliteNodeLock | undefined;
  try {
    if (nodeId !== undefined && settings.path !== ":memory:")
      nodeLock = new SqliteNodeLock(settings.path, nodeId);
    db = new Database(settings.path, { timeout: settings.busyTimeoutMs });
    // Before anything writes to it (even the journal mode).
    if (settings.quickCheck) quickCheck(db, settings.path);
    db.pragma(sql.PRAGMA_WAL);
    db.pragma(sql.PRAGMA_SYNCHRONOUS_NORMAL);
    db.pragma(sql.PRAGMA_FOREIGN_KEYS);
    if (settings.maxSizeBytes !== undefined) capSize(db, settings.maxSizeBytes);
    const schemaVersion = migrate(db, nowMs);
    // From here on the lock is waited for between attempts, not inside SQLite (see WriteQueue).
    db.pragma(`busy_timeout = ${LOCK_ATTEMPT_MS}`);
    const clock = new SystemClock();
    const connection = connect(db, schemaVersion, {
      budgetMs: settings.busyTimeoutMs,
      monotonicMs: () => clock.monotonicMs(),
    });
    return { connection, nodeLock };
  } catch (error) {
    db?.close();
    nodeLock?.release();
    throw error;
  }
}

/** The error of a call made while the store is not open. */
export function notOpen(operation: string): StoreError {
  return new StoreError(`Cannot ${operation}: the SQLite store is not open (call open() first)`);
}

/** A driver error as a StoreError naming the operation (coded errors pass through). */
export function wrap(error: unknown, operation: string): OrchestratorError {
  if (error instanceof OrchestratorError) return error;
  const reason = error instanceof Error ? `: ${error.message}` : "";
  return new StoreError(`Could not ${operation} (SQLite${reason})`, { cause: error });
}
