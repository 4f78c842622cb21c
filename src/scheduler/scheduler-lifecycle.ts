import type { ClockSkewMonitor } from "../cluster/clock-skew.js";
import type { ClusterSync } from "../cluster/cluster-sync.js";
import type { Membership } from "../cluster/membership.js";
import type { LeasedStore } from "../leasing/leased-store.js";
import type { Maintenance } from "../cluster/maintenance.js";
import type { AheadClaimer } from "../leasing/ahead-claimer.js";
import type { RunEngine } from "../engine/run-engine.js";
import type { StoreHealth } from "../cluster/store-health.js";
import { isManualClock, type Clock } from "../time/clock.js";
import type { TimerLoop } from "../time/timer-loop.js";

/** What a {@link SchedulerLifecycle} starts and stops. */
export interface LifecycleHost {
  readonly clock: Clock;
  readonly loop: TimerLoop;
  readonly engine: RunEngine;
  readonly leased: LeasedStore;
  readonly maintenance: Maintenance;
  readonly aheadClaimer: AheadClaimer;
  readonly health: StoreHealth;
  readonly sync: ClusterSync;
  readonly skew: ClockSkewMonitor;
  readonly membership: Membership;
  /** Opens the store (once); every start waits for it. */
  ready(): Promise<void>;
  /** Resolves when no `runPending()` call is still opening the store. */
  openingSettled(): Promise<void>;
}

/**
 * `Scheduler.start()` and `stop()`: starts and stops the timer and the
 * background work in order. Both are idempotent and may interleave.
 */
export class SchedulerLifecycle {
  readonly #host: LifecycleHost;
  #state: "stopped" | "starting" | "started" | "stopping" = "stopped";
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  #generation = 0;

  constructor(host: LifecycleHost) {
    this.#host = host;
  }

  /** True between `start()` and `stop()`. */
  get running(): boolean {
    return this.#state === "started" || this.#state === "starting";
  }

  /** Opens the store, then starts the timer and the background work (see `Scheduler.start`). */
  start(): Promise<void> {
    if (this.#state === "started") return Promise.resolve();
    if (this.#state === "starting") return this.#startPromise as Promise<void>;
    const host = this.#host;
    // Every start/stop gets a generation; a continuation of a superseded call changes nothing.
    const generation = ++this.#generation;
    this.#state = "starting";
    const previousStop = this.#stopPromise ?? Promise.resolve();
    this.#startPromise = previousStop
      .then(() => host.ready())
      // The first skew measurement before the timer: a node ahead is held back from its first run.
      .then(() => host.skew.measureFirst())
      // Registered, and the live nodes known, before the first instant: this node claims its share.
      .then(() => (generation === this.#generation ? host.membership.join() : undefined))
      .then(
        () => {
          if (generation !== this.#generation) return;
          this.#state = "started";
          host.engine.resumeStarting();
          host.loop.start();
          host.maintenance.start();
          // Claiming a burst ahead of its due time; a manual clock's time is not the timer's.
          if (!isManualClock(host.clock)) host.aheadClaimer.start();
          host.health.resume();
          host.sync.start();
          host.skew.start();
        },
        (error: unknown) => {
          if (generation === this.#generation) this.#state = "stopped";
          throw error;
        },
      );
    return this.#startPromise;
  }

  /** Stops the timer and the background work, and waits for running callbacks (see `Scheduler.stop`). */
  stop(): Promise<void> {
    if (this.#state === "stopping") return this.#stopPromise as Promise<void>;
    const host = this.#host;
    const caller = host.engine.calling;
    if (this.#state === "stopped") return this.#settleStopped(caller);
    const generation = ++this.#generation;
    this.#state = "stopping";
    host.loop.stop();
    host.engine.stopStarting();
    host.engine.cancelPlanned();
    const reaped = host.maintenance.stop();
    // Out of the membership at once: the others take this node's share from their next beat.
    const left = host.membership.leave();
    // Claims taken ahead go back at once, not after the callbacks in flight: held meanwhile,
    // their runs (due while this node drains) were found claimed by the nodes taking over this
    // node's share, and run by nobody. Those that come back during the drain go at its end.
    const givenBack = host.aheadClaimer.stop();
    host.sync.stop();
    host.skew.stop();
    host.health.stop();
    this.#stopPromise = (this.#startPromise ?? Promise.resolve())
      .catch(() => {})
      .then(() => {
        if (generation === this.#generation) host.loop.stop();
        // A round of reaping in progress records what it reaped (and queues retries) first.
        return Promise.all([host.openingSettled(), reaped, left, givenBack]);
      })
      // Every run of this process, from its claim on (a user's runPending() included):
      // those whose claims come back now are recorded missed instead of starting.
      .then(() => host.engine.drain(caller))
      .then(() => host.aheadClaimer.stop())
      .then(() => {
        // Pending retries stay claimed; their leases expire and a later start (or another process) recovers them.
        if (generation === this.#generation) host.leased.stopRenewing();
      })
      .finally(() => {
        if (generation === this.#generation) {
          this.#state = "stopped";
          // Calls of runPending() made after stop() resolved run as asked.
          host.engine.resumeStarting();
        }
      });
    return this.#stopPromise;
  }

  /**
   * `stop()` of a scheduler not started: the timer is not running, but a
   * user's own `runPending()` calls may be (the seed's usage pattern): waits
   * for them as a started scheduler's stop does, claims in flight included.
   */
  #settleStopped(caller: object | undefined): Promise<void> {
    const host = this.#host;
    const generation = this.#generation;
    host.engine.stopStarting();
    return (this.#stopPromise ?? Promise.resolve())
      .then(() => host.openingSettled())
      .then(() => host.engine.drain(caller))
      .finally(() => {
        // A start() meanwhile resumed starting runs itself.
        if (generation === this.#generation) host.engine.resumeStarting();
      });
  }
}
