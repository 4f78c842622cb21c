import { isAbsolute, resolve } from "node:path";
import { InvalidArgumentError } from "../errors.js";
// Types only from pg: loading this does not load the optional driver.
import {
  isHistoryPartitionHours,
  MAX_HISTORY_PARTITION_HOURS,
} from "../store/postgres/history-partitions.js";

/** Where the daemon keeps its data, from `--store`. */
export type StoreLocation =
  | { readonly kind: "sqlite"; readonly path: string }
  | {
      readonly kind: "postgres";
      readonly connectionString: string;
      readonly schema?: string;
      /** PostgresOptions.historyPartitionHours. */
      readonly historyPartitionHours?: number;
    };

/** The store used when `--store` is not given. */
export const DEFAULT_STORE = "sqlite:./orchestrator.db";

/**
 * Reads `--store`: `sqlite:./file.db`, `sqlite:/abs/file.db`, a bare path ending
 * in .db/.sqlite, or `postgres://user@host:5432/db?schema=name&historyPartitionHours=6`
 * (also `postgresql://`; both parameters optional, taken out of the URL given to the driver).
 * Relative SQLite paths resolve against `cwd`.
 */
export function parseStoreUrl(value: string, cwd: string = process.cwd()): StoreLocation {
  const text = value.trim();
  if (/^postgres(?:ql)?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new InvalidArgumentError(
        "--store",
        "a PostgreSQL URL such as postgres://user@127.0.0.1:5432/db",
        value,
      );
    }
    const schema = url.searchParams.get("schema") ?? undefined;
    url.searchParams.delete("schema");
    const hoursText = url.searchParams.get("historyPartitionHours");
    url.searchParams.delete("historyPartitionHours");
    const hours = hoursText === null ? undefined : Number(hoursText);
    if (hours !== undefined && !isHistoryPartitionHours(hours)) {
      throw new InvalidArgumentError(
        "--store",
        `a PostgreSQL URL whose historyPartitionHours is a whole number of hours from 1 to ${MAX_HISTORY_PARTITION_HOURS}`,
        value,
      );
    }
    return {
      kind: "postgres",
      connectionString: url.toString(),
      ...(schema ? { schema } : {}),
      ...(hours === undefined ? {} : { historyPartitionHours: hours }),
    };
  }
  let path: string | undefined;
  if (/^sqlite:/i.test(text)) path = text.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "");
  else if (/\.(db|sqlite3?)$/i.test(text)) path = text;
  if (path === undefined || path === "") {
    throw new InvalidArgumentError(
      "--store",
      "sqlite:<path> (e.g. sqlite:./orchestrator.db) or a postgres:// URL",
      value,
    );
  }
  return { kind: "sqlite", path: isAbsolute(path) ? path : resolve(cwd, path) };
}

/** The store location with any password hidden, for logs. */
export function describeStoreLocation(location: StoreLocation): string {
  if (location.kind === "sqlite") return `SQLite ${location.path}`;
  const url = new URL(location.connectionString);
  if (url.password) url.password = "***";
  return `PostgreSQL ${url.toString()}${location.schema ? ` (schema ${location.schema})` : ""}`;
}
