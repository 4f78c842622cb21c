import { InvalidArgumentError } from "../../errors.js";
import type { ClaimRequest } from "../store.js";

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /** The database file; created (with its WAL files beside it) when missing. Its folder must exist. */
  path: string;
  /**
   * How long a write waits for another connection's write lock (a backup, the
   * CLI, a `sqlite3` session) before failing with a StoreError. The wait does
   * not block the event loop: the write is tried again every few ms until
   * then (opening and migrating the file wait inside SQLite).
   * @defaultValue 5000
   */
  busyTimeoutMs?: number;
  /**
   * Check the file with `PRAGMA quick_check` when opening it, and refuse a
   * damaged one with a StoreError (before migrating or writing anything).
   * Reads the whole file once: seconds for a file of gigabytes.
   * @defaultValue false
   */
  quickCheck?: boolean;
  /**
   * The most the database file may grow to, in bytes: a write that needs more
   * room fails with a StoreError (SQLITE_FULL), exactly as on a full disk, and
   * the scheduler treats the store as unusable until a write succeeds again
   * (after history pruning freed room). Rounded down to whole pages.
   * @defaultValue no limit (the disk's)
   */
  maxSizeBytes?: number;
}

/** A claim request (`exclusive` is now part of {@link ClaimRequest}; kept as an alias). */
/** @deprecated The Store contract's ClaimRequest. */
export type SqliteClaimRequest = ClaimRequest;

/** How long one attempt at a write waits inside SQLite for another connection's lock, in ms. */
export const LOCK_ATTEMPT_MS = 5;

/** The defaults of {@link SqliteStoreOptions}. */
export const SQLITE_STORE_DEFAULTS = Object.freeze({
  busyTimeoutMs: 5000,
  quickCheck: false,
} satisfies Required<Omit<SqliteStoreOptions, "path" | "maxSizeBytes">>);

/** The options of a {@link SqliteStore}, checked, with their defaults. */
export interface SqliteSettings {
  readonly path: string;
  readonly busyTimeoutMs: number;
  readonly quickCheck: boolean;
  readonly maxSizeBytes: number | undefined;
}

/** Checks the options (an InvalidArgumentError names the first wrong one) and fills in the defaults. */
export function sqliteSettings(options: SqliteStoreOptions): SqliteSettings {
  const path: unknown = (options as Partial<SqliteStoreOptions> | undefined)?.path;
  if (typeof path !== "string" || path === "") {
    throw new InvalidArgumentError("options.path", "a database file path", path);
  }
  const busy = options.busyTimeoutMs ?? SQLITE_STORE_DEFAULTS.busyTimeoutMs;
  if (!Number.isSafeInteger(busy) || busy < 0) {
    throw new InvalidArgumentError("options.busyTimeoutMs", "a whole number from 0 up", busy);
  }
  const maxSize = options.maxSizeBytes;
  if (maxSize !== undefined && (!Number.isSafeInteger(maxSize) || maxSize < 1)) {
    throw new InvalidArgumentError(
      "options.maxSizeBytes",
      "a whole number of bytes from 1 up",
      maxSize,
    );
  }
  return {
    path,
    busyTimeoutMs: busy,
    quickCheck: options.quickCheck ?? SQLITE_STORE_DEFAULTS.quickCheck,
    maxSizeBytes: maxSize,
  };
}
