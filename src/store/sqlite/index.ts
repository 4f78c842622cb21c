/** `orchestrator/store/sqlite`: the embedded SQLite store (better-sqlite3). */
export { SqliteStore } from "./sqlite-store.js";
export type { SqliteStoreOptions } from "./sqlite-store.js";
