import type { SchedulerEvents } from "../events.js";
import type { HistoryRetention, Store } from "../store/store.js";
import type { Clock } from "../time/clock.js";

/** What {@link Maintenance} needs from its Scheduler. */
export interface MaintenanceHost {
  readonly store: Store;
  readonly clock: Clock;
  /** Lease length in ms: expired claims are looked for every half of it. */
  readonly leaseMs: number;
  /** History retention, when configured. */
  readonly retention: HistoryRetention | undefined;
  /** The `keepLast` of every task that has one, by task name (read at each prune). */
  keepLast(): ReadonlyMap<string, number>;
  /** Reaps expired claims, records them interrupted and retries them. */
  reap(): Promise<unknown>;
  /**
   * False while claims or finishing writes fail: reaping then waits, since a
   * claim taken over while its `interrupted` row cannot be written would only
   * expire and be reaped again. Pruning goes on (on a full disk, it makes room).
   */
  storeUsable(): boolean;
  /** Re-reads the store's schema version (see `schema-watch.ts`); each round, before reaping. */
  checkSchema?(): Promise<void>;
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
}

/** History is pruned at most this often, in ms. */
export const PRUNE_INTERVAL_MS = 60_000;

/**
 * The scheduler's housekeeping while it runs, on one unref'd timer: on a
 * shared store, every `leaseMs / 2`, claims whose holder died are reaped (and
 * their runs recorded `interrupted` and retried per policy), after the
 * schema's version was checked; at start and every minute the store's history
 * layout is kept (PostgreSQL: partitions created ahead) and, with
 * `historyRetention` or tasks with `keepLast`, history is pruned.
 */
export class Maintenance {
  readonly #host: MaintenanceHost;
  #timer: NodeJS.Timeout | undefined;
  /** The round in progress, if any. */
  #round: Promise<void> | undefined;
  #lastPruneMs = Number.NEGATIVE_INFINITY;

  constructor(host: MaintenanceHost) {
    this.#host = host;
  }

  /** Starts the timer (idempotent) and prunes once. */
  start(): void {
    if (this.#timer !== undefined) return;
    const { store, leaseMs } = this.#host;
    // Started even without retention: a task registered later may have `keepLast`.
    const periodMs = Math.max(
      50,
      Math.min(store.shared ? leaseMs / 2 : PRUNE_INTERVAL_MS, PRUNE_INTERVAL_MS),
    );
    this.#timer = setInterval(() => void this.tick(), periodMs);
    this.#timer.unref();
    void this.#prune(true);
  }

  /**
   * Stops the timer; resolves once the round in progress, if any, is over,
   * so that the runs it took over are recorded (and their retries queued)
   * before the scheduler stops, rather than left to expire and be reaped again.
   */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#round;
  }

  /** One round: reap (shared stores), then prune when a minute has passed. Never rejects. */
  tick(): Promise<void> {
    this.#round ??= this.#tick().finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  async #tick(): Promise<void> {
    await this.#host.checkSchema?.();
    if (this.#host.store.shared && this.#host.storeUsable()) await this.#host.reap();
    await this.#prune(false);
  }

  async #prune(force: boolean): Promise<void> {
    const { retention, store } = this.#host;
    const now = this.#host.clock.monotonicMs();
    if (!force && now - this.#lastPruneMs < PRUNE_INTERVAL_MS) return;
    this.#lastPruneMs = now;
    try {
      await store.maintainHistory?.();
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "history partitions" });
    }
    const keepLast = this.#host.keepLast();
    if (retention === undefined && keepLast.size === 0) return;
    try {
      await store.pruneHistory({
        maxAgeMs: retention?.maxAgeMs ?? Number.MAX_SAFE_INTEGER,
        maxRows: retention?.maxRows ?? Number.MAX_SAFE_INTEGER,
        keepLast,
      });
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "prune" });
    }
  }
}
