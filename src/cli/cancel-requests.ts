import type { CancelRequest, DaemonRecords } from "../store/daemon-records.js";
import { safeLog, type Logger } from "../logger.js";
import type { Scheduler } from "../scheduler/index.js";

/** How often {@link CancelRequestWatcher} reads the store. */
export const CANCEL_POLL_MS = 250;
/** A request older than this is stale (its `orchestrator cancel` gave up): ignored. */
export const CANCEL_REQUEST_TTL_MS = 30_000;

/**
 * Makes `orchestrator cancel <task>` reach a running daemon: reads the
 * store's cancel requests four times a second and cancels the task's runs in
 * flight in this scheduler. A request is deleted by the node that cancelled
 * something (so the command knows it was done); one that no node takes is
 * deleted by the command when it gives up.
 */
export class CancelRequestWatcher {
  readonly #scheduler: Scheduler;
  readonly #records: Required<Pick<DaemonRecords, "cancelRequests" | "deleteCancelRequest">>;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #failing = false;

  constructor(
    scheduler: Scheduler,
    records: Required<Pick<DaemonRecords, "cancelRequests" | "deleteCancelRequest">>,
    logger: Logger,
  ) {
    this.#scheduler = scheduler;
    this.#records = records;
    this.#logger = logger;
  }

  /** A watcher when the store keeps cancel requests, else undefined. */
  static of(scheduler: Scheduler, logger: Logger): CancelRequestWatcher | undefined {
    const records = scheduler.store.records;
    if (records?.cancelRequests === undefined || records.deleteCancelRequest === undefined) {
      return undefined;
    }
    return new CancelRequestWatcher(
      scheduler,
      {
        cancelRequests: records.cancelRequests.bind(records),
        deleteCancelRequest: records.deleteCancelRequest.bind(records),
      },
      logger,
    );
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.#poll(), CANCEL_POLL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #poll(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const requests = await this.#records.cancelRequests();
      for (const request of requests) await this.#apply(request);
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) {
        safeLog(this.#logger, "warn", { err: error }, "could not read cancel requests");
      }
      this.#failing = true;
    } finally {
      this.#busy = false;
    }
  }

  async #apply(request: CancelRequest): Promise<void> {
    const nowMs = this.#scheduler.clock.nowMs();
    if (nowMs - request.requestedAt > CANCEL_REQUEST_TTL_MS) return;
    if (this.#scheduler.getTask(request.taskName) === undefined) return;
    const cancelled = this.#scheduler.cancelTask(request.taskName, request.actor);
    if (cancelled === 0) return;
    await this.#records.deleteCancelRequest(request.taskName, request.requestedAt);
    safeLog(
      this.#logger,
      "info",
      { task: request.taskName, by: request.actor, cancelled },
      "runs cancelled (orchestrator cancel)",
    );
  }
}
