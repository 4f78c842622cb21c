/**
 * Counts the statements a PostgresStore sends through a pool it was given
 * (`new PostgresStore({ pool })`), by statement: the store names each one
 * (`orch_<schema digest>_<key>`), so `byKey` reads `writeRuns`,
 * `updateTaskProgress`, `finishRuns`… Statements sent on a checked-out client
 * (migrations, the node lock, counted claims) are not counted.
 */
import type pg from "pg";

export interface StatementCounts {
  /** Statements per store key (`text` for unnamed ones). */
  readonly byKey: Map<string, number>;
  /** Every statement counted. */
  total(): number;
  /** Forgets what was counted. */
  reset(): void;
}

/** Wraps `pool.query` to count what goes through it. */
export function countStatements(pool: pg.Pool): StatementCounts {
  const byKey = new Map<string, number>();
  const query: (...args: unknown[]) => unknown = pool.query.bind(pool);
  (pool as { query: unknown }).query = (...args: unknown[]): unknown => {
    const config = args[0];
    const name =
      typeof config === "object" && config !== null && "name" in config
        ? String(config.name).replace(/^orch_[0-9a-f]{12}_/, "")
        : "text";
    byKey.set(name, (byKey.get(name) ?? 0) + 1);
    return query(...args);
  };
  return {
    byKey,
    total: () => [...byKey.values()].reduce((a, b) => a + b, 0),
    reset: () => byKey.clear(),
  };
}
