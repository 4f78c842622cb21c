import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, open, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { keyFileFor } from "../key-file.js";
import { PRIVATE_MODE } from "../private-files.js";
import { EXIT } from "./io.js";
import {
  guarded,
  locate,
  UsageError,
  type StoreCommandContext,
  type StoreFlags,
} from "./store-access.js";

/** The flags of `orchestrator backup`. */
export interface BackupFlags extends StoreFlags {
  /** Replace an existing file at the destination. */
  readonly force?: boolean;
}

/** What a finished backup copied. */
export interface BackupReport {
  readonly path: string;
  readonly pages: number;
  readonly pageSize: number;
  readonly bytes: number;
}

/**
 * Pages copied per step after the first: the whole database at once. A
 * source changed by another connection between two steps makes SQLite start
 * the copy again, so fewer steps finish sooner under a busy daemon; one step
 * holds only a read transaction, which in WAL mode never blocks a writer.
 */
const PAGES_PER_STEP = 1 << 30;

/**
 * `orchestrator backup <file>`: copies a live SQLite store with SQLite's
 * online backup API into a temporary file beside `file` (mode 0600), checks
 * the copy (`PRAGMA quick_check`), then renames it into place, so that `file`
 * is never half written. Refuses an existing `file` unless `--force`, and a
 * PostgreSQL store (pg_dump is the tool there). The daemon keeps running and
 * writing meanwhile: the copy reads a snapshot, it takes no write lock.
 */
export function runBackupCommand(
  file: string,
  flags: BackupFlags,
  context: StoreCommandContext,
): Promise<number> {
  const { io } = context;
  return guarded(io, async () => {
    const location = locate(flags, context);
    if (location.kind !== "sqlite") {
      throw new UsageError(
        "backup copies a SQLite store; for a PostgreSQL store use pg_dump " +
          "(e.g. pg_dump --format=custom --schema=<schema> <url> > orchestrator.dump)",
      );
    }
    if (file.trim() === "")
      throw new UsageError("backup: <file> must be a path, got an empty string");
    const target = resolve(context.cwd, file);
    if (target === location.path) {
      throw new UsageError(`backup: ${target} is the store itself; name another file`);
    }
    if (!existsSync(dirname(target))) {
      throw new UsageError(`backup: the folder ${dirname(target)} does not exist; create it first`);
    }
    if (existsSync(target) && flags.force !== true) {
      throw new UsageError(`backup: ${target} exists; pass --force to replace it`);
    }
    const report = await backupSqlite(location.path, target);
    io.stdout(
      `backed up ${location.path} to ${report.path}: ${report.pages} pages of ${report.pageSize} bytes ` +
        `(${report.bytes} bytes), quick_check ok\n` +
        `The task records in it are sealed: keep the key too (${keyFileFor(location.path)}, ` +
        "or ORCHESTRATOR_ENCRYPTION_KEY(S)), stored apart from the copy\n",
    );
    return EXIT.ok;
  });
}

/** Copies the database at `source` to `target` (see {@link runBackupCommand}). */
export async function backupSqlite(source: string, target: string): Promise<BackupReport> {
  const { default: Database } = await import("better-sqlite3");
  const temporary = join(
    dirname(target),
    `.${basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  // Created private before SQLite writes a page into it: the copy holds every task record.
  await (await open(temporary, "wx", PRIVATE_MODE)).close();
  await chmod(temporary, PRIVATE_MODE);
  try {
    const db = new Database(source, { fileMustExist: true });
    try {
      db.pragma("busy_timeout = 5000");
      await db.backup(temporary, { progress: () => PAGES_PER_STEP });
    } finally {
      db.close();
    }
    const copy = new Database(temporary, { fileMustExist: true });
    let pages: number;
    let pageSize: number;
    try {
      const check = copy.pragma("quick_check", { simple: true }) as string;
      if (check !== "ok") throw new Error(`the copy failed PRAGMA quick_check: ${check}`);
      pages = copy.pragma("page_count", { simple: true }) as number;
      pageSize = copy.pragma("page_size", { simple: true }) as number;
      // One file, not three: the copy's log is folded in and the copy no longer in WAL mode.
      copy.pragma("journal_mode = DELETE");
    } finally {
      copy.close();
    }
    const handle = await open(temporary, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
    return { path: target, pages, pageSize, bytes: (await stat(target)).size };
  } catch (error) {
    await Promise.all(
      ["", "-journal", "-wal", "-shm"].map((suffix) =>
        rm(`${temporary}${suffix}`, { force: true }),
      ),
    );
    throw error;
  }
}
