/**
 * What {@link PostgresStore} does with the history's layout (migration 11):
 * partitions created ahead, partitions dropped by retention, per-task
 * summaries read; and the history's reads and retention. Kept apart from
 * the store's hot paths.
 */
import type { Pool, PoolClient, QueryResultRow } from "pg";
import { StoreError } from "../../errors.js";
import type { TaskSummary } from "../task-summary.js";
import { createPartitionsAhead, dropExpiredPartitions } from "./history-partitions.js";
import {
  retentionBound,
  type HistoryQuery,
  type HistoryRetention,
  type RunRecord,
} from "../store.js";
import type { Queries, QuotedSchema } from "./queries.js";
import { runOf, type RunRow } from "./rows.js";
import { selectTaskSummaries, summaryOf, type TaskSummaryRow } from "./summary-queries.js";
import { checkOut } from "./check-out.js";

/** What {@link PostgresHistory} needs from its store. */
export interface PostgresHistoryHost {
  readonly pool: () => Pool;
  readonly schema: string;
  readonly quoted: QuotedSchema;
  /** Partition length, ms. */
  readonly partitionMs: number;
  /** How long a released claim is kept, ms. */
  readonly claimRetentionMs: () => number;
  /** Runs one of the store's named statements. */
  readonly run: <R extends QueryResultRow>(
    key: Exclude<keyof Queries, "schema">,
    values: unknown[],
  ) => Promise<R[]>;
}

/** The history's partitions and summaries of one schema. */
export class PostgresHistory {
  readonly #host: PostgresHistoryHost;
  readonly #summaries: string;

  constructor(host: PostgresHistoryHost) {
    this.#host = host;
    this.#summaries = selectTaskSummaries(host.quoted);
  }

  /** Creates the partitions of the next day (at least two partitions) that are missing. Returns their names. */
  createAhead(): Promise<string[]> {
    return this.#with("create history partitions", (client) =>
      createPartitionsAhead(client, this.#host.quoted, this.#host.partitionMs),
    );
  }

  /** Drops the partitions wholly older than `maxAgeMs`; resolves with the planner's estimate of their rows. */
  async dropExpired(maxAgeMs: number): Promise<number> {
    const { rows } = await this.#with("drop expired history partitions", (client) =>
      dropExpiredPartitions(client, this.#host.quoted, maxAgeMs),
    );
    return rows;
  }

  /** History rows, newest first (see Store.history). */
  async read(query: HistoryQuery): Promise<RunRecord[]> {
    const params = [query.limit ?? 100, query.offset ?? 0, query.statuses ?? null];
    const rows =
      query.taskName === undefined
        ? await this.#host.run<RunRow>("history", params)
        : await this.#host.run<RunRow>("taskHistory", [...params, query.taskName]);
    return rows.map(runOf);
  }

  /** Applies history retention (DB clock), and forgets claims released longer ago than `claimRetentionMs`. */
  async prune(retention: HistoryRetention): Promise<number> {
    const keepLast = [...(retention.keepLast ?? [])].flatMap(([name, limit]) => {
      const keep = retentionBound(limit);
      return keep === null ? [] : [[name, keep] as const];
    });
    const dropped =
      retentionBound(retention.maxAgeMs) === null ? 0 : await this.dropExpired(retention.maxAgeMs);
    const rows = await this.#host.run<{ n: number }>("pruneHistory", [
      retentionBound(retention.maxAgeMs),
      retentionBound(retention.maxRows),
      keepLast.map(([name]) => name),
      keepLast.map(([, keep]) => keep),
    ]);
    await this.#host.run("pruneClaims", [this.#host.claimRetentionMs()]);
    return dropped + (rows[0]?.n ?? 0);
  }

  /** The summaries of `names` (tasks without one are absent). */
  async summaries(names: readonly string[]): Promise<Map<string, TaskSummary>> {
    const found = new Map<string, TaskSummary>();
    if (names.length === 0) return found;
    const rows = await this.#with("read task summaries", async (client) => {
      const result = await client.query<TaskSummaryRow>(this.#summaries, [names]);
      return result.rows;
    });
    for (const row of rows) found.set(row.task_name, summaryOf(row));
    return found;
  }

  async #with<T>(what: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient | undefined;
    try {
      client = await checkOut(this.#host.pool());
      const result = await work(client);
      client.release();
      return result;
    } catch (error) {
      client?.release(error instanceof Error ? error : true);
      const reason = error instanceof Error ? error.message : String(error);
      throw new StoreError(
        `PostgreSQL store (schema ${this.#host.schema}): could not ${what}: ${reason}`,
        { cause: error },
      );
    }
  }
}
