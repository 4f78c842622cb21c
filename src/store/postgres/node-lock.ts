import type { Pool, PoolClient } from "pg";
import { NodeIdInUseError, StoreError } from "../../errors.js";
import { waitAtMost } from "../../time/wait-at-most.js";

/** How often a lost hold is taken again, in ms. */
const RETAKE_MS = 1_000;
/** How long a close waits for the server to unlock the node id, in ms. */
const UNLOCK_MS = 1_000;

/**
 * Holds a node id for this process: a session advisory lock on a connection
 * of its own, keyed on the schema and the node id. PostgreSQL releases it when
 * the session ends, so it dies with the process (or its connection). A lost
 * connection is replaced and the lock taken again; if another process took
 * the node id meanwhile, `onTaken` is told.
 */
export class PostgresNodeLock {
  readonly #pool: Pool;
  readonly #key: string;
  readonly #nodeId: string;
  readonly #where: string;
  readonly #onTaken: () => void;
  #client: PoolClient | undefined;
  #retake: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: { pool: Pool; schema: string; nodeId: string; onTaken: () => void }) {
    this.#pool = options.pool;
    this.#key = `orchestrator.node.${options.schema}.${options.nodeId}`;
    this.#nodeId = options.nodeId;
    this.#where = `PostgreSQL schema ${options.schema}`;
    this.#onTaken = options.onTaken;
  }

  /** Takes the node id. @throws NodeIdInUseError when another session holds it. */
  async acquire(): Promise<void> {
    if (!(await this.#take())) throw new NodeIdInUseError(this.#nodeId, this.#where);
  }

  /**
   * Lets the node id go: unlocked on its session, then the session closed.
   * Closing alone frees the id only once the server has seen the connection
   * end, after this resolves: a process opening the id right after a close
   * was refused now and then.
   */
  async release(): Promise<void> {
    this.#closed = true;
    if (this.#retake !== undefined) clearTimeout(this.#retake);
    this.#retake = undefined;
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    // A dead connection must not hold the close up: the lock goes with its session anyway.
    await waitAtMost(
      client.query("select pg_advisory_unlock(hashtextextended($1, 0))", [this.#key]),
      UNLOCK_MS,
    );
    client.release(true);
  }

  /** True when the lock was taken on a fresh session; false when another one holds it. */
  async #take(): Promise<boolean> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw new StoreError(`Could not take node id ${JSON.stringify(this.#nodeId)}`, {
        cause: error,
      });
    }
    // Listen at once: an error on a checked-out client with no listener would crash the process.
    client.on("error", () => {
      if (this.#client === client) this.#onLost();
    });
    try {
      const result = await client.query<{ taken: boolean }>(
        "select pg_try_advisory_lock(hashtextextended($1, 0)) as taken",
        [this.#key],
      );
      if (result.rows[0]?.taken !== true) {
        client.release();
        return false;
      }
    } catch (error) {
      client.release(true);
      throw new StoreError(`Could not take node id ${JSON.stringify(this.#nodeId)}`, {
        cause: error,
      });
    }
    this.#client = client;
    return true;
  }

  /** The session ended: the lock went with it. Take it again as soon as a connection works. */
  #onLost(): void {
    const client = this.#client;
    this.#client = undefined;
    client?.release(true);
    if (!this.#closed) this.#scheduleRetake();
  }

  #scheduleRetake(): void {
    this.#retake = setTimeout(() => {
      this.#retake = undefined;
      if (this.#closed) return;
      this.#take().then(
        (taken) => {
          if (this.#closed) {
            void this.release();
            return;
          }
          if (!taken) this.#onTaken();
        },
        () => this.#scheduleRetake(),
      );
    }, RETAKE_MS);
    this.#retake.unref();
  }
}
