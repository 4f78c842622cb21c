/**
 * What went wrong with a store, in words an operator acts on, read from the
 * driver's error (better-sqlite3's `SQLITE_*` codes, PostgreSQL's SQLSTATE,
 * Node's socket errors) anywhere in the `cause` chain of a StoreError:
 *
 * - `unreachable`: the connection was refused, cut or timed out (the server
 *   may come back by itself: a restart);
 * - `full`: no room to write (a full disk, a size cap);
 * - `corrupt`: the database is damaged;
 * - `read-only`: writes are refused (a read-only file, mount or replica);
 * - `locked`: another process held a lock too long;
 * - `io`: the disk or file system failed a read or write;
 * - `other`: anything else.
 */
export type StoreFailureKind =
  "unreachable" | "full" | "corrupt" | "read-only" | "locked" | "io" | "other";

/** The kinds in words, for log lines: "Store unusable (the disk is full)". */
export const STORE_FAILURE_WORDS: Readonly<Record<StoreFailureKind, string>> = Object.freeze({
  unreachable: "unreachable",
  full: "the disk is full",
  corrupt: "the database is damaged",
  "read-only": "writes are refused: read-only",
  locked: "locked by another process",
  io: "disk I/O error",
  other: "its calls fail",
});

/** Node socket errors: the server is not there, or the connection broke. */
const UNREACHABLE_SYSTEM_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** PostgreSQL SQLSTATEs (class 08 and shutdown states are matched by prefix below). */
const POSTGRES_CODES: Readonly<Record<string, StoreFailureKind>> = {
  "53100": "full", // disk_full
  XX001: "corrupt", // data_corrupted
  XX002: "corrupt", // index_corrupted
  "25006": "read-only", // read_only_sql_transaction
  "55P03": "locked", // lock_not_available
  "58030": "io", // io_error
  "57P01": "unreachable", // admin_shutdown
  "57P02": "unreachable", // crash_shutdown
  "57P03": "unreachable", // cannot_connect_now
  "53300": "unreachable", // too_many_connections
};

/** node-postgres reports a lost connection with a message and no code. */
const PG_CONNECTION_MESSAGE =
  /connection terminated|connection error|not queryable|timeout exceeded when trying to connect|client was closed|client has already been connected/i;

function kindOfCode(code: string): StoreFailureKind | undefined {
  if (code.startsWith("SQLITE_")) {
    const base = code.slice("SQLITE_".length).split("_")[0];
    switch (base) {
      case "FULL":
        return "full";
      case "CORRUPT":
      case "NOTADB":
        return "corrupt";
      case "READONLY":
        return "read-only";
      case "BUSY":
      case "LOCKED":
        return "locked";
      case "IOERR":
      case "CANTOPEN":
        return "io";
      default:
        return "other";
    }
  }
  if (UNREACHABLE_SYSTEM_CODES.has(code)) return "unreachable";
  if (code === "ENOSPC" || code === "EDQUOT") return "full";
  if (code === "EROFS") return "read-only";
  if (code === "EIO") return "io";
  const known = POSTGRES_CODES[code];
  if (known !== undefined) return known;
  if (/^08[0-9A-Z]{3}$/.test(code)) return "unreachable";
  return undefined;
}

/** The kind of a store failure, from the first error in its `cause` chain that tells. */
export function storeFailureKind(error: unknown): StoreFailureKind {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== null && typeof current === "object"; depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === "string") {
      const kind = kindOfCode(code);
      if (kind !== undefined) return kind;
    }
    if (typeof message === "string" && PG_CONNECTION_MESSAGE.test(message)) return "unreachable";
    current = (current as { cause?: unknown }).cause;
  }
  return "other";
}
