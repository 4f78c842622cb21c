import { createHash } from "node:crypto";
import Database from "better-sqlite3";
import { NodeIdInUseError, StoreError } from "../../errors.js";

/** The lock file of `nodeId` beside the database at `path`. */
export function nodeLockPath(path: string, nodeId: string): string {
  const digest = createHash("sha256").update(nodeId).digest("hex").slice(0, 16);
  return `${path}.node-${digest}.lock`;
}

/**
 * Holds a node id for this process beside a SQLite file: a small database of
 * its own, written once in exclusive locking mode, so that its connection
 * keeps an exclusive file lock until closed. The operating system releases
 * the lock when the process dies, so it never outlives its holder.
 */
export class SqliteNodeLock {
  readonly #db: Database.Database;

  /** @throws NodeIdInUseError when another live process holds `nodeId` on this file. */
  constructor(path: string, nodeId: string) {
    const lockPath = nodeLockPath(path, nodeId);
    let db: Database.Database | undefined;
    try {
      db = new Database(lockPath, { timeout: 0 });
      db.pragma("locking_mode = EXCLUSIVE");
      db.exec("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (node_id TEXT NOT NULL); COMMIT");
    } catch (error) {
      db?.close();
      const code = (error as { code?: unknown } | null)?.code;
      if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED")
        throw new NodeIdInUseError(nodeId, `the SQLite file ${path}`);
      throw new StoreError(`Could not take node id ${JSON.stringify(nodeId)} beside ${path}`, {
        cause: error,
      });
    }
    this.#db = db;
  }

  /** Lets the node id go. */
  release(): void {
    if (this.#db.open) this.#db.close();
  }
}
