import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { StoreError } from "../../errors.js";
import * as sql from "./queries.js";

/**
 * The ids of the keys that the sealed task records of a SQLite database need,
 * each with its number of records, by id. Empty when the file does not exist
 * or holds no sealed record. Opens the file read-only and never creates it,
 * so it can be asked before deciding whether a new key may be made.
 *
 * @throws StoreError when the file exists but cannot be read as a database.
 */
export function readSealedKeyIds(path: string): Map<string, number> {
  const ids = new Map<string, number>();
  if (!existsSync(path)) return ids;
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    if (db.prepare(sql.TASKS_TABLE_EXISTS).get() === undefined) return ids;
    const rows = db.prepare(sql.SELECT_SEALED_KEY_IDS).all() as {
      keyId: string;
      records: number;
    }[];
    for (const row of rows) ids.set(row.keyId, row.records);
    return ids;
  } catch (error) {
    const reason = error instanceof Error ? `: ${error.message}` : "";
    throw new StoreError(`Could not read the sealed records of ${path} (SQLite${reason})`, {
      cause: error,
    });
  } finally {
    db?.close();
  }
}
