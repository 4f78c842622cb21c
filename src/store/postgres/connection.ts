import { createHash } from "node:crypto";
import pg from "pg";
import type { Pool, PoolConfig, QueryResult, QueryResultRow } from "pg";
import { InvalidArgumentError, StoreError } from "../../errors.js";
import {
  POSTGRES_STORE_DEFAULTS,
  positive,
  type PostgresStoreOptions,
} from "./postgres-options.js";
import { Notifier, type NotifierStatus } from "./notifier.js";
import { migrate } from "./migrations.js";
import type { QuotedSchema } from "./queries.js";
import { checkOut } from "./check-out.js";

/**
 * The PostgreSQL store's connection: its pool (given, or made on first use
 * from a connection string), the LISTEN notifier beside it, the named
 * prepared statements run through them, and the reports of their errors.
 * Closed with the store; made again on first use after a reopen.
 */
export class PostgresConnection {
  readonly #schema: string;
  readonly #channel: string;
  readonly #origin: string;
  readonly #givenPool: Pool | undefined;
  readonly #poolConfig: PoolConfig | undefined;
  readonly #onError: PostgresStoreOptions["onError"];
  readonly #onListening: PostgresStoreOptions["onListening"];
  readonly #statementPrefix: string;
  #pool: Pool | undefined;
  #notifier: Notifier | undefined;
  #closed = false;

  constructor(
    options: PostgresStoreOptions,
    names: { readonly schema: string; readonly channel: string; readonly origin: string },
  ) {
    this.#schema = names.schema;
    this.#channel = names.channel;
    this.#origin = names.origin;
    this.#onError = options.onError;
    this.#onListening = options.onListening;
    if (options.pool !== undefined) {
      this.#givenPool = options.pool;
    } else if (typeof options.connectionString === "string" && options.connectionString !== "") {
      this.#poolConfig = {
        connectionString: options.connectionString,
        max: positive(
          "options.maxConnections",
          options.maxConnections,
          POSTGRES_STORE_DEFAULTS.maxConnections,
        ),
        application_name: "orchestrator",
        keepAlive: true,
      };
    } else {
      throw new InvalidArgumentError(
        "options.connectionString",
        "a PostgreSQL connection string (or give options.pool)",
        options.connectionString,
      );
    }
    // Statement names are per connection and at most 63 bytes: a digest of the schema keeps them short and distinct.
    this.#statementPrefix = `orch_${createHash("sha256").update(names.schema).digest("hex").slice(0, 12)}_`;
  }

  /** How many times the LISTEN subscription was made (1 + reconnections); 0 before the first `watch`. */
  get subscriptions(): number {
    return this.#notifier?.subscriptions ?? 0;
  }

  /** True while the `watch` subscription's connection is up. */
  get listening(): boolean {
    return this.#notifier?.listening ?? false;
  }

  /** Lets the next use make the pool and notifier again (the store is being opened). */
  reopen(): void {
    this.#closed = false;
  }

  /** The pool and notifier, made on first use (and again after a close and reopen). */
  get(): { pool: Pool; notifier: Notifier } {
    if (this.#closed) throw new StoreError(`PostgreSQL store (schema ${this.#schema}) is closed`);
    if (this.#pool === undefined || this.#notifier === undefined) {
      const pool = this.#givenPool ?? new pg.Pool(this.#poolConfig);
      // An idle connection that dies (server restart, pg_terminate_backend) must not crash the
      // process; the pool drops it and opens a new one on the next query.
      pool.on("error", this.#onPoolError);
      this.#pool = pool;
      const notifier = new Notifier({
        pool,
        channel: this.#channel,
        origin: this.#origin,
        onStatus: (status: NotifierStatus, error?: unknown) => {
          if (status === "lost") this.#report(error, "notifier");
          else this.#listening(notifier.subscriptions > 1);
        },
      });
      this.#notifier = notifier;
    }
    return { pool: this.#pool, notifier: this.#notifier };
  }

  /** Closes the notifier and ends the pool unless it was given. */
  async close(): Promise<void> {
    this.#closed = true;
    const pool = this.#pool;
    this.#notifier?.close();
    this.#notifier = undefined;
    this.#pool = undefined;
    if (pool === undefined) return;
    pool.off("error", this.#onPoolError);
    if (pool !== this.#givenPool) await pool.end();
  }

  /** Migrates the schema on one connection of the pool; resolves to the versions applied here. */
  async migrate(quoted: QuotedSchema, nodeId: string): Promise<readonly number[]> {
    let client;
    try {
      client = await checkOut(this.get().pool);
    } catch (error) {
      throw new StoreError(`PostgreSQL store: could not connect to open schema ${this.#schema}`, {
        cause: error,
      });
    }
    try {
      const result = await migrate(client, this.#schema, quoted, nodeId);
      client.release();
      return result.applied;
    } catch (error) {
      client.release(error instanceof Error ? error : true);
      throw new StoreError(`PostgreSQL store: could not migrate schema ${this.#schema}`, {
        cause: error,
      });
    }
  }

  /** Runs a named prepared statement; errors become StoreErrors naming `key`. */
  async query<R extends QueryResultRow = QueryResultRow>(
    key: string,
    text: string,
    values: unknown[],
  ): Promise<R[]> {
    try {
      const result = await this.get().pool.query<R>({
        name: this.#statementPrefix + key,
        text,
        values,
      });
      return result.rows;
    } catch (error) {
      throw this.#failed(key, error);
    }
  }

  /**
   * Runs `text`, statements without parameters, as one simple query: one
   * round trip and one transaction, each statement with a snapshot of its
   * own. Resolves the rows of each statement; errors become StoreErrors
   * naming `key`.
   */
  async queryEach<R extends QueryResultRow = QueryResultRow>(
    key: string,
    text: string,
  ): Promise<R[][]> {
    try {
      const results = (await this.get().pool.query<R>(text)) as unknown as QueryResult<R>[];
      return results.map((result) => result.rows);
    } catch (error) {
      throw this.#failed(key, error);
    }
  }

  #failed(key: string, error: unknown): StoreError {
    const reason = error instanceof Error ? error.message : String(error);
    return new StoreError(`PostgreSQL store (schema ${this.#schema}): ${key} failed: ${reason}`, {
      cause: error,
    });
  }

  readonly #onPoolError = (error: Error): void => {
    this.#report(error, "pool");
  };

  #listening(resubscribed: boolean): void {
    try {
      this.#onListening?.(resubscribed);
    } catch {
      // Contained, as for onError.
    }
  }

  #report(error: unknown, context: "notifier" | "pool"): void {
    try {
      this.#onError?.(error, context);
    } catch {
      // Contained: a throwing observer must not break the store.
    }
  }
}
