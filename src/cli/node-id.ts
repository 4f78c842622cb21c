import { basename } from "node:path";
import type { StoreLocation } from "./store-url.js";

/**
 * The daemon's node id when `--node-id` is not given: the host and the
 * database, stable across restarts, so that a restarted daemon knows the runs
 * its predecessor left in flight for its own and recovers them at once. The
 * store refuses a second live daemon with the same id (run several on one
 * host with distinct `--node-id`s).
 */
export function defaultDaemonNodeId(host: string, location: StoreLocation): string {
  if (location.kind === "sqlite") return `${host}/${basename(location.path)}`;
  let database = "postgres";
  try {
    database = decodeURIComponent(new URL(location.connectionString).pathname.slice(1)) || database;
  } catch {
    // Not a URL (a key=value connection string): the host alone names it.
  }
  return `${host}/${database}${location.schema === undefined ? "" : `.${location.schema}`}`;
}
