import { SystemClock, type Clock } from "../../time/clock.js";
import type { StoreOpenContext } from "../store.js";
import type { PostgresConnection } from "./connection.js";
import type { PostgresHistory } from "./history-store.js";
import { PostgresNodeLock } from "./node-lock.js";
import type { QuotedSchema } from "./queries.js";

/** What {@link PostgresLifecycle} needs of its store. */
export interface LifecycleHost {
  readonly schema: string;
  readonly quoted: QuotedSchema;
  readonly connection: PostgresConnection;
  readonly history: PostgresHistory;
}

/**
 * Opening and closing a PostgresStore, one at a time (a close waits for an
 * open under way): migrations, the history partitions ahead, the node id's
 * lock when asked for; and what the open was given.
 */
export class PostgresLifecycle {
  /** Migration versions applied on open (empty when another node had). */
  migrationsApplied: readonly number[] = [];
  /** The clock of the scheduler that opened the store. */
  clock: Clock = new SystemClock();
  /** The node id given to `open` (empty before). */
  nodeId = "";
  readonly #host: LifecycleHost;
  /** Held while open when the scheduler asked for its node id to itself. */
  #nodeLock: PostgresNodeLock | undefined;
  #opening: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(host: LifecycleHost) {
    this.#host = host;
  }

  /** True while this process holds its node id's lock. */
  get locked(): boolean {
    return this.#nodeLock !== undefined;
  }

  open(context: StoreOpenContext): Promise<void> {
    this.#host.connection.reopen();
    this.#opening ??= this.#open(context).catch((error: unknown) => {
      this.#opening = undefined;
      throw error;
    });
    return this.#opening;
  }

  async #open(context: StoreOpenContext): Promise<void> {
    this.clock = context.clock;
    this.nodeId = context.nodeId;
    const { connection } = this.#host;
    this.migrationsApplied = await connection.migrate(this.#host.quoted, context.nodeId);
    await this.#host.history.createAhead();
    if (context.exclusiveNode === true && this.#nodeLock === undefined) {
      const lock = new PostgresNodeLock({
        pool: connection.get().pool,
        schema: this.#host.schema,
        nodeId: context.nodeId,
        onTaken: () => context.onNodeTaken?.(),
      });
      await lock.acquire();
      this.#nodeLock = lock;
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close().finally(() => {
      this.#closing = undefined;
    });
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#opening !== undefined) await this.#opening.catch(() => undefined);
    this.#opening = undefined;
    const lock = this.#nodeLock;
    this.#nodeLock = undefined;
    await lock?.release();
    await this.#host.connection.close();
  }
}
