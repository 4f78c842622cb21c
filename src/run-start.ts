import type { DispatchOutcome, DispatchTarget, Dispatcher } from "./core/dispatcher.js";
import type { CallbackInput, Task, TaskCallback } from "./core/task.js";
import { OrchestratorError } from "./errors.js";
import type { LeaseGuard } from "./lease-guard.js";
import { safeLog } from "./logger.js";
import { PlannedRun } from "./run-plan.js";
import type { RunRecorder, RunRecorderHost } from "./run-recorder.js";
import type { Claim, ClaimRequest } from "./store/store.js";
import type { Clock } from "./time/clock.js";

/** What phase 2 needs from the Scheduler. */
export interface RunStartHost extends RunRecorderHost {
  readonly clock: Clock;
  readonly dispatcher: Dispatcher;
  readonly leaseMs: number;
  /** Shared stores: aborts attempts whose lease was lost, and keeps their outcome unrecorded. */
  readonly leases?: LeaseGuard;
  /**
   * Shared stores: sends the claims of `runs` due runs, waiting while the
   * store is unusable (and reporting the outage itself, once).
   */
  readonly claimGate?: <T>(call: () => Promise<T>, runs: number) => Promise<T>;
  handler(name: string): TaskCallback | undefined;
}

/** What phase 2 hands back to the engine. */
export interface RunStartHooks {
  /** Phase 3 of one attempt; must not reject. */
  record(run: PlannedRun, outcome: DispatchOutcome): Promise<void>;
  /** A planned run did not start (its claim was refused): the task's queue moves on. */
  afterRun(task: Task): void;
}

/**
 * Phase 2: claims a batch of planned runs in one store call, then starts each
 * claimed callback, one after another, within one turn of the event loop.
 * Counts the runs in flight, for {@link drain}.
 */
export class RunStarter {
  readonly #host: RunStartHost;
  readonly #recorder: RunRecorder;
  readonly #hooks: RunStartHooks;
  /** Runs started and not yet recorded (a count, not a collection: a burst pays nothing per run). */
  #inFlight = 0;
  /** `drain()` calls waiting for the count to fall. */
  #drainWaiters: (() => void)[] = [];
  /** The run whose inline callback is executing synchronously, if any. */
  readonly #current: { calling: object | undefined } = { calling: undefined };

  constructor(host: RunStartHost, recorder: RunRecorder, hooks: RunStartHooks) {
    this.#host = host;
    this.#recorder = recorder;
    this.#hooks = hooks;
  }

  /**
   * The token of the run whose inline callback is executing synchronously
   * right now, if any: `stop()` called from there must not wait for itself.
   */
  get calling(): object | undefined {
    return this.#current.calling;
  }

  /** Waits until no run is in flight, except the one holding `except` (the caller's own). */
  async drain(except: object | undefined): Promise<void> {
    for (;;) {
      const own = except instanceof PlannedRun && except.inFlight ? 1 : 0;
      if (this.#inFlight <= own) return;
      await new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
    }
  }

  /**
   * Claims every run of the batch in one store call, then starts the claimed
   * ones (inline callbacks are called before the loop moves on). Resolves
   * when all have been recorded.
   */
  async startBatch(runs: readonly PlannedRun[]): Promise<void> {
    const host = this.#host;
    const store = host.store;
    // A store only this scheduler uses needs no claims: phase 1 already hands each run out once.
    const useClaims = store.claimsRequired?.() ?? true;
    let claims: readonly (Claim | null)[] = [];
    if (useClaims) {
      const requests: ClaimRequest[] = [];
      for (const run of runs) {
        if (run.claimed) continue;
        requests.push({
          taskName: run.taskName,
          scheduledAt: run.scheduledAtMs,
          nodeId: host.nodeId,
          leaseMs: host.leaseMs,
          manual: run.trigger === "manual",
        });
      }
      if (requests.length > 0) {
        const send = (): Promise<(Claim | null)[]> =>
          store.claimRuns !== undefined
            ? store.claimRuns(requests)
            : Promise.all(requests.map((request) => store.claimRun(request)));
        try {
          claims =
            host.claimGate !== undefined
              ? await host.claimGate(send, requests.length)
              : await send();
        } catch (error) {
          host.emit("scheduler:error", { error, context: "claim" });
          // The gate logs an outage once, with counts; a line per due instant would flood the log.
          if (host.claimGate === undefined)
            safeLog(host.logger, "error", { err: error }, "Could not claim due runs");
          await Promise.all(this.#startClaimed(this.#dropUnclaimed(runs), useClaims, []));
          return;
        }
      }
    }
    await Promise.all(this.#startClaimed(runs, useClaims, claims));
  }

  /**
   * The claims could not be made (the store failed): the runs not claimed yet
   * do not start, and are not reported as skipped (no one else claimed them).
   * Returns the runs that hold a claim already (retries), which still start.
   */
  #dropUnclaimed(runs: readonly PlannedRun[]): PlannedRun[] {
    const claimed: PlannedRun[] = [];
    for (const run of runs) {
      if (run.claimed) {
        claimed.push(run);
        continue;
      }
      const { task } = run;
      task.running--;
      task.started--;
      this.#hooks.afterRun(task);
    }
    return claimed;
  }

  /**
   * Starts the runs of a batch whose claims are in. Synchronous on purpose:
   * V8 cannot optimize a hot loop inside an async function while it runs
   * (no on-stack replacement there), and a cold burst spends its time here.
   * Returns one promise per started run, settled once it is recorded.
   */
  #startClaimed(
    runs: readonly PlannedRun[],
    useClaims: boolean,
    claims: readonly (Claim | null)[],
  ): Promise<void>[] {
    const host = this.#host;
    const startable = useClaims ? this.#applyClaims(runs, claims) : runs;
    const finished: Promise<void>[] = [];
    // Asked once per batch: a listener added by a callback hears from the next batch on.
    const announce = host.hasListeners("run:start");
    if (announce || host.leases !== undefined) {
      this.#startEach(startable, announce, finished);
      return finished;
    }
    this.#startBurst(startable, finished);
    return finished;
  }

  /** Drops the runs whose claim was refused (the store gave them to another node); marks the rest claimed. */
  #applyClaims(runs: readonly PlannedRun[], claims: readonly (Claim | null)[]): PlannedRun[] {
    const startable: PlannedRun[] = [];
    let next = 0;
    for (const run of runs) {
      if (!run.claimed) {
        const claim = claims[next++] ?? null;
        if (claim === null) {
          const { task } = run;
          task.running--;
          task.started--;
          this.#recorder.skip(task, run.scheduledAtMs, run.report, "claimed");
          this.#hooks.afterRun(task);
          continue;
        }
        run.claim = claim;
        run.claimed = true;
      }
      startable.push(run);
    }
    return startable;
  }

  /**
   * The fast path of a batch, with nobody listening to `run:start` and no
   * leases to watch: the dispatcher calls every inline callback back to back,
   * and what starting a run records (counts, start times, outcomes) is done
   * afterwards, so that the last callback of a burst is not delayed by the
   * bookkeeping of all those before it. Runs not prepared for a burst (not
   * planned ahead, module handlers, timeouts), or all of them when the
   * dispatcher is closed or limits concurrency, then start one by one.
   */
  #startBurst(runs: readonly PlannedRun[], finished: Promise<void>[]): void {
    const { clock, dispatcher } = this.#host;
    const wallOffset = clock.nowMs() - clock.monotonicMs();
    // Counted before the calls: a callback that stops the scheduler waits for the whole batch.
    this.#inFlight += runs.length;
    if (!dispatcher.callBurst(runs, clock, this.#current)) {
      this.#inFlight -= runs.length;
      this.#startEach(runs, false, finished);
      return;
    }
    const endMono = clock.monotonicMs();
    const left: PlannedRun[] = [];
    const settled: PlannedRun[] = [];
    let previousSync: PlannedRun | null = null;
    for (const run of runs) {
      const { startMono } = run;
      if (Number.isNaN(startMono)) {
        left.push(run);
        continue;
      }
      // A synchronous callback ended when the next one started.
      if (previousSync !== null) previousSync.endMono = startMono;
      previousSync = null;
      this.#markStarted(run, startMono, wallOffset);
      if (this.#file(run, dispatcher.settleBurst(run), finished, settled)) previousSync = run;
    }
    if (previousSync !== null) previousSync.endMono = endMono;
    this.#inFlight -= left.length;
    for (const run of settled) finished.push(this.#finish(run, run.outcome as DispatchOutcome));
    if (left.length > 0) this.#startEach(left, false, finished);
  }

  /**
   * Starts runs one after another: announcing each (`run:start`) when asked,
   * and giving each the abort signal of its lease when leases are watched.
   */
  #startEach(runs: readonly PlannedRun[], announce: boolean, finished: Promise<void>[]): void {
    const host = this.#host;
    const settled: PlannedRun[] = [];
    const { clock, dispatcher } = host;
    // One clock read per run: its wall-clock start is derived from the monotonic reading.
    const wallOffset = clock.nowMs() - clock.monotonicMs();
    let previousSync: PlannedRun | null = null;
    for (const run of runs) {
      if (run.claim !== null && host.leases !== undefined)
        run.signal = host.leases.signal(run.claim);
      this.#inFlight++;
      const startMono = clock.monotonicMs();
      // The reading that starts this run also ends the synchronous callback before it.
      if (previousSync !== null) previousSync.endMono = startMono;
      previousSync = null;
      this.#markStarted(run, startMono, wallOffset);
      if (announce) {
        this.#announce(run);
        run.startMono = clock.monotonicMs();
      }
      const callback = run.task.callback;
      let outcome: DispatchOutcome | Promise<DispatchOutcome>;
      this.#current.calling = run;
      try {
        outcome =
          typeof callback === "function"
            ? dispatcher.runInline(callback, run)
            : dispatcher.run(this.#target(callback), run);
      } finally {
        this.#current.calling = undefined;
      }
      if (this.#file(run, outcome, finished, settled)) previousSync = run;
    }
    if (previousSync !== null) previousSync.endMono = clock.monotonicMs();
    // Callbacks that returned synchronously are recorded after every run of the batch has started.
    for (const run of settled) finished.push(this.#finish(run, run.outcome as DispatchOutcome));
  }

  /** What starting a run records on it and its task: started at `startMono` (monotonic ms). */
  #markStarted(run: PlannedRun, startMono: number, wallOffset: number): void {
    run.claimed = true;
    run.inFlight = true;
    run.report.ran++;
    run.startMono = startMono;
    run.startedAtMs = Math.round(wallOffset + startMono);
    run.task.lastRunMs = run.startedAtMs;
  }

  /**
   * Files a started run's outcome: a promise is recorded once it settles; an
   * outcome already there joins `settled`, recorded once the whole batch has
   * started. Returns true for the latter (the callback returned synchronously).
   */
  #file(
    run: PlannedRun,
    outcome: DispatchOutcome | Promise<DispatchOutcome>,
    finished: Promise<void>[],
    settled: PlannedRun[],
  ): boolean {
    if (outcome instanceof Promise) {
      finished.push(outcome.then((result) => this.#finish(run, result)));
      return false;
    }
    run.outcome = outcome;
    settled.push(run);
    return true;
  }

  #announce(run: PlannedRun): void {
    this.#host.emit("run:start", {
      taskName: run.taskName,
      scheduledAt: new Date(run.scheduledAtMs),
      attempt: run.attempt,
      trigger: run.trigger,
      runId: run.runId,
      startedAt: new Date(run.startedAtMs),
    });
  }

  /** Phase 3 of one attempt, then the in-flight count; never rejects. */
  async #finish(run: PlannedRun, outcome: DispatchOutcome): Promise<void> {
    try {
      await this.#hooks.record(run, outcome);
    } catch (error) {
      safeLog(
        this.#host.logger,
        "error",
        { err: error, taskName: run.task.name },
        "Internal error while running a task",
      );
      this.#host.emit("scheduler:error", { error, context: "run", taskName: run.task.name });
    } finally {
      run.inFlight = false;
      this.#inFlight--;
      // A drain waits for zero, or for one when that one is its caller's own run.
      if (this.#inFlight <= 1 && this.#drainWaiters.length > 0) {
        const waiters = this.#drainWaiters;
        this.#drainWaiters = [];
        for (const wake of waiters) wake();
      }
      if (run.claim !== null) this.#host.leases?.done(run.claim);
    }
  }

  #target(callback: Exclude<CallbackInput, TaskCallback>): DispatchTarget {
    if (typeof callback === "string") {
      const handler = this.#host.handler(callback);
      if (handler === undefined) {
        const error = new OrchestratorError(
          "ERR_INVALID_ARGUMENT",
          `No handler named ${JSON.stringify(callback)} is defined; call scheduler.defineHandler(${JSON.stringify(callback)}, fn)`,
        );
        return { kind: "inline", fn: () => Promise.reject(error) };
      }
      return { kind: "inline", fn: handler };
    }
    return { kind: "module", module: callback.module, exportName: callback.export ?? "default" };
  }
}
