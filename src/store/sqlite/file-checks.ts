import type { Database } from "better-sqlite3";
import { StoreError } from "../../errors.js";
import { PRAGMA_PAGE_SIZE, PRAGMA_QUICK_CHECK, pragmaMaxPageCount } from "./queries.js";

/** How many of the problems `PRAGMA quick_check` reports go into the error message. */
const SHOWN_PROBLEMS = 3;

/**
 * Runs `PRAGMA quick_check` (every page read once, O(size of the file); no
 * index-against-table comparison, which `integrity_check` adds) and throws a
 * StoreError naming the file and the first problems when the database is
 * damaged. A file too damaged to be checked fails the same way.
 */
export function quickCheck(db: Database, path: string): void {
  let problems: string[];
  try {
    const rows = db.pragma(PRAGMA_QUICK_CHECK) as { quick_check: string }[];
    problems = rows.map((row) => row.quick_check).filter((text) => text !== "ok");
  } catch (error) {
    problems = [error instanceof Error ? error.message : String(error)];
  }
  if (problems.length === 0) return;
  const shown = problems.slice(0, SHOWN_PROBLEMS).join("; ");
  const more =
    problems.length > SHOWN_PROBLEMS ? ` (and ${problems.length - SHOWN_PROBLEMS} more)` : "";
  throw new StoreError(
    `The SQLite database ${JSON.stringify(path)} is damaged (PRAGMA quick_check: ${shown}${more}); ` +
      "it was left as it is. Restore it from a backup, or salvage what it holds with " +
      `\`sqlite3 ${JSON.stringify(path)} .recover\` into a new file`,
  );
}

/**
 * Caps the database at `maxSizeBytes` (`PRAGMA max_page_count`, for this
 * connection): a write that needs more pages fails with SQLITE_FULL, as on a
 * full disk. SQLite never sets the cap below the pages already in use.
 */
export function capSize(db: Database, maxSizeBytes: number): void {
  const pageSize = db.pragma(PRAGMA_PAGE_SIZE, { simple: true }) as number;
  db.pragma(pragmaMaxPageCount(Math.max(1, Math.floor(maxSizeBytes / pageSize))));
}
