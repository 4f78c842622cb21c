import type { DispatchOutcome, Dispatcher } from "../core/dispatcher.js";
import { RunContext } from "../core/run-context.js";
import type { TaskCallback } from "../core/task.js";
import { safeLog } from "../logger.js";
import { isMaxRunsReached } from "../store/store.js";
import type { Claim, ClaimOutcome, ClaimRequest } from "../store/store.js";
import { dispatchTarget } from "./dispatch-target.js";
import { Run } from "./run.js";
import type { RunLifecycle, RunLifecycleHost } from "./run-lifecycle.js";
import { claimRequestOf, splitByShare, TakeoverWaits, type TakeoverShare } from "./run-takeover.js";
import { whyNotStart } from "./start-rules.js";

/** What phase 2 needs from the Scheduler. */
export interface RunStartHost extends RunLifecycleHost {
  readonly dispatcher: Dispatcher;
  readonly leaseMs: number;
  /**
   * Shared stores: sends the claims of `runs` due runs, waiting while the
   * store is unusable (and reporting the outage itself, once).
   */
  readonly claimGate?: <T>(call: () => Promise<T>, runs: number) => Promise<T>;
  /**
   * Nodes sharing the work: runs of tasks another live node owns are claimed
   * here only by taking them over, when nobody claimed them after the
   * takeover delay.
   */
  readonly share?: TakeoverShare;
  /** Shared stores: how long the lease of a claim has left by this node's clocks, in ms. */
  leaseLeftMs?(claim: Claim): number;
  handler(name: string): TaskCallback | undefined;
}

/**
 * Phase 2: claims a batch of planned runs in one store call, then starts each
 * claimed callback, one after another, within one turn of the event loop. A
 * claimed run that may no longer start (the scheduler is stopping, it was
 * claimed past its grace, its lease is nearly gone, another node's run holds
 * its task) is recorded under its claim instead. Counts the runs of every
 * batch from its claim to its record, for {@link drain}.
 */
export class RunStarter {
  readonly #host: RunStartHost;
  readonly #life: RunLifecycle;
  /**
   * Runs of batches not yet recorded, claims in flight included (a count,
   * not a collection: a burst pays nothing per run).
   */
  #inFlight = 0;
  /** Set by {@link stopStarting}: runs whose claims come back now are not started. */
  #stopping = false;
  /** `drain()` calls waiting for the count to fall. */
  #drainWaiters: (() => void)[] = [];
  /** Runs of other nodes' tasks waiting for their takeover delay. */
  readonly #takeoverWaits = new TakeoverWaits();
  /** The run whose inline callback is executing synchronously, if any. */
  readonly #current: { calling: object | undefined } = { calling: undefined };

  /** Undefined while the ends of runs can be queued; else resolves once they can (FinishBatcher.room). */
  readonly #finishRoom: () => Promise<void> | undefined;

  constructor(
    host: RunStartHost,
    life: RunLifecycle,
    finishRoom: () => Promise<void> | undefined = () => undefined,
  ) {
    this.#host = host;
    this.#life = life;
    this.#finishRoom = finishRoom;
  }

  /**
   * The token of the run whose inline callback is executing synchronously
   * right now, if any: `stop()` called from there must not wait for itself.
   */
  get calling(): object | undefined {
    return this.#current.calling;
  }

  /**
   * From now on, runs whose claims come back are not started (recorded
   * missed under their claim), until {@link resumeStarting}: `stop()`.
   */
  stopStarting(): void {
    this.#stopping = true;
    // Runs waiting to be taken over are left to their owners.
    this.#takeoverWaits.wakeAll();
  }

  resumeStarting(): void {
    this.#stopping = false;
  }

  /** Waits until no run is in flight, except the one holding `except` (the caller's own). */
  async drain(except: object | undefined): Promise<void> {
    for (;;) {
      const own = except instanceof Run && except.inFlight ? 1 : 0;
      if (this.#inFlight <= own) return;
      await new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
    }
  }

  /**
   * Claims every run of the batch in one store call, then starts the claimed
   * ones (inline callbacks are called before the loop moves on). Resolves
   * when all have been recorded.
   */
  async startBatch(runs: readonly Run[]): Promise<void> {
    // Counted from here: stop() waits for claims in flight too.
    this.#inFlight += runs.length;
    const { share } = this.#host;
    const split = share === undefined ? null : splitByShare(runs, share);
    if (share === undefined || split === null) return this.#claimAndStart(runs);
    for (const run of split.later) this.#life.deferred(run);
    // The tasks' backups take over first; the other nodes after twice the delay.
    const first = split.later.filter((run) => share.backs(run.taskName));
    const then =
      first.length === split.later.length
        ? []
        : split.later.filter((run) => !share.backs(run.taskName));
    await Promise.all([
      this.#claimAndStart(split.now),
      first.length > 0 ? this.#takeOver(first, share, share.takeoverDelayMs) : undefined,
      then.length > 0 ? this.#takeOver(then, share, 2 * share.takeoverDelayMs) : undefined,
    ]);
  }

  /**
   * Runs of tasks another live node owns: after the takeover delay, those
   * nobody claimed are claimed here and start (late by the delay); the
   * others end `refused`, as a claim lost to another node does. Left to
   * their owner when the scheduler stops meanwhile.
   */
  async #takeOver(runs: readonly Run[], share: TakeoverShare, delayMs: number): Promise<void> {
    await this.#takeoverWaits.wait(delayMs);
    if (this.#stopping) {
      for (const run of runs) {
        this.#life.takingOver(run);
        this.#life.refused(run);
        this.#done();
      }
      return;
    }
    const requests = runs.map((run) => claimRequestOf(run, this.#host));
    const send = (): Promise<ClaimOutcome[]> => share.takeOver(requests);
    const { claimGate } = this.#host;
    let claims: ClaimOutcome[];
    try {
      claims = claimGate !== undefined ? await claimGate(send, requests.length) : await send();
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "claim" });
      for (const run of runs) this.#life.takingOver(run);
      await Promise.all(this.#startClaimed(this.#dropUnclaimed(runs), true, []));
      return;
    }
    // Counted again only now: while the store answered, the next occurrence was not held up here.
    for (const run of runs) this.#life.takingOver(run);
    // Runs nobody had claimed: their owner may be dead, look at the membership now.
    if (claims.some((claim) => claim !== null)) share.suspect?.();
    await Promise.all(this.#startClaimed(runs, true, claims));
  }

  /** Claims the due runs of a batch in one store call, then starts the claimed ones. */
  async #claimAndStart(runs: readonly Run[]): Promise<void> {
    // Backpressure: while the store cannot take the ends of runs as fast as they come,
    // new runs wait here, before their claims; the misfire policy, applied when a
    // run really starts, then records late ones missed instead of queueing them.
    const room = this.#finishRoom();
    if (room !== undefined) await room;
    const host = this.#host;
    const store = host.store;
    // A store only this scheduler uses needs no claims: phase 1 already hands each run out once.
    const useClaims = store.claimsRequired?.() ?? true;
    let claims: readonly ClaimOutcome[] = [];
    if (useClaims) {
      const requests: ClaimRequest[] = [];
      for (const run of runs)
        if (run.state === "due") requests.push(claimRequestOf(run, this.#host));
      if (requests.length > 0) {
        const send = (): Promise<ClaimOutcome[]> =>
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
  #dropUnclaimed(runs: readonly Run[]): Run[] {
    const claimed: Run[] = [];
    for (const run of runs) {
      if (run.state === "due") {
        this.#life.claimFailed(run);
        this.#done();
      } else {
        claimed.push(run);
      }
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
    runs: readonly Run[],
    useClaims: boolean,
    claims: readonly ClaimOutcome[],
  ): Promise<void>[] {
    const host = this.#host;
    const finished: Promise<void>[] = [];
    const startable = this.#applyClaims(runs, useClaims, claims, finished);
    // Asked once per batch: a listener added by a callback hears from the next batch on.
    const announce = host.hasListeners("run:start");
    if (announce) {
      this.#startEach(startable, announce, finished);
      return finished;
    }
    this.#startBurst(startable, finished);
    return finished;
  }

  /**
   * Applies the claims to the batch and returns the runs that start. A run
   * whose claim was refused (the store gave it to another node) ends
   * `refused`; one that came back `overlapping` is recorded skipped; a run
   * claimed while the scheduler stops, past its grace (the misfire policy,
   * applied when the run really starts), or with too little lease left, is
   * recorded missed. Without claims (a store only this scheduler uses) every
   * run is claimed as it is, and only stopping holds it back.
   */
  #applyClaims(
    runs: readonly Run[],
    useClaims: boolean,
    claims: readonly ClaimOutcome[],
    finished: Promise<void>[],
  ): readonly Run[] {
    const life = this.#life;
    if (!useClaims && !this.#stopping) {
      for (let i = 0; i < runs.length; i++) {
        const run = runs[i] as Run;
        if (run.state === "due") life.claimed(run, null);
      }
      return runs;
    }
    const nowMs = this.#host.clock.nowMs();
    const startable: Run[] = [];
    let next = 0;
    for (const run of runs) {
      if (run.state === "due") {
        const claim = useClaims ? (claims[next++] ?? null) : null;
        if (isMaxRunsReached(claim)) {
          life.maxRunsReached(run);
          this.#done();
          continue;
        }
        if (useClaims && claim === null) {
          life.refused(run);
          this.#done();
          continue;
        }
        life.claimed(run, claim);
        if (claim?.overlapping === true) {
          finished.push(this.#notStarted(life.skippedOverlapping(run)));
          continue;
        }
      }
      const reason = whyNotStart(this.#host, run, nowMs, this.#stopping);
      if (reason !== null) {
        finished.push(this.#notStarted(life.missedAtStart(run, reason)));
        continue;
      }
      startable.push(run);
    }
    return startable;
  }

  /** A run that does not start: out of the in-flight count once it is recorded. */
  async #notStarted(recording: Promise<void>): Promise<void> {
    try {
      await recording;
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "run" });
    } finally {
      this.#done();
    }
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
  #startBurst(runs: readonly Run[], finished: Promise<void>[]): void {
    const { clock, dispatcher, leases } = this.#host;
    const wallOffset = clock.nowMs() - clock.monotonicMs();
    if (leases !== undefined) {
      for (let i = 0; i < runs.length; i++) {
        const run = runs[i] as Run;
        if (run.claim !== null && run.context !== undefined) leases.watch(run.claim, run.context);
      }
    }
    if (!dispatcher.callBurst(runs, clock, this.#current)) {
      this.#startEach(runs, false, finished);
      return;
    }
    const endMono = clock.monotonicMs();
    const left: Run[] = [];
    const settled: Run[] = [];
    let previousSync: Run | null = null;
    for (const run of runs) {
      const { startMono } = run;
      if (Number.isNaN(startMono)) {
        left.push(run);
        continue;
      }
      // A synchronous callback ended when the next one started.
      if (previousSync !== null) previousSync.endMono = startMono;
      previousSync = null;
      this.#life.started(run, startMono, wallOffset);
      if (this.#file(run, dispatcher.settleBurst(run), finished, settled)) previousSync = run;
    }
    if (previousSync !== null) previousSync.endMono = endMono;
    for (const run of settled) finished.push(this.#finish(run, run.outcome as DispatchOutcome));
    if (left.length > 0) this.#startEach(left, false, finished);
  }

  /**
   * Starts runs one after another: announcing each (`run:start`) when asked,
   * and giving each the abort signal of its lease when leases are watched.
   */
  #startEach(runs: readonly Run[], announce: boolean, finished: Promise<void>[]): void {
    const host = this.#host;
    const settled: Run[] = [];
    const { clock, dispatcher } = host;
    // One clock read per run: its wall-clock start is derived from the monotonic reading.
    const wallOffset = clock.nowMs() - clock.monotonicMs();
    let previousSync: Run | null = null;
    for (const run of runs) {
      const callback = run.task.callback;
      const { claim } = run;
      if (claim !== null && host.leases !== undefined) {
        // Inline callbacks without a timeout (the dispatcher's fast path): their context, which
        // makes an AbortSignal only if asked for; others: an AbortSignal the dispatcher honours.
        if (typeof callback === "function" && run.timeoutMs === 0)
          host.leases.watch(claim, (run.context ??= new RunContext(run)));
        else run.signal = host.leases.signal(claim);
      }
      // Its context made here, not by the dispatcher, so that the run can be cancelled.
      run.context ??= new RunContext(run);
      const startMono = clock.monotonicMs();
      // The reading that starts this run also ends the synchronous callback before it.
      if (previousSync !== null) previousSync.endMono = startMono;
      previousSync = null;
      this.#life.started(run, startMono, wallOffset);
      if (announce) {
        this.#announce(run);
        run.startMono = clock.monotonicMs();
      }
      let outcome: DispatchOutcome | Promise<DispatchOutcome>;
      this.#current.calling = run;
      try {
        outcome =
          typeof callback === "function"
            ? dispatcher.runInline(callback, run)
            : dispatcher.run(dispatchTarget(host, callback), run);
      } finally {
        this.#current.calling = undefined;
      }
      if (this.#file(run, outcome, finished, settled)) previousSync = run;
    }
    if (previousSync !== null) previousSync.endMono = clock.monotonicMs();
    // Callbacks that returned synchronously are recorded after every run of the batch has started.
    for (const run of settled) finished.push(this.#finish(run, run.outcome as DispatchOutcome));
  }

  /**
   * Files a started run's outcome: a promise is recorded once it settles; an
   * outcome already there joins `settled`, recorded once the whole batch has
   * started. Returns true for the latter (the callback returned synchronously).
   */
  #file(
    run: Run,
    outcome: DispatchOutcome | Promise<DispatchOutcome>,
    finished: Promise<void>[],
    settled: Run[],
  ): boolean {
    if (outcome instanceof Promise) {
      finished.push(outcome.then((result) => this.#finish(run, result)));
      return false;
    }
    run.outcome = outcome;
    settled.push(run);
    return true;
  }

  #announce(run: Run): void {
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
  async #finish(run: Run, outcome: DispatchOutcome): Promise<void> {
    const claim = run.claim;
    try {
      await this.#life.finish(run, outcome);
    } catch (error) {
      safeLog(
        this.#host.logger,
        "error",
        { err: error, taskName: run.task.name },
        "Internal error while running a task",
      );
      this.#host.emit("scheduler:error", { error, context: "run", taskName: run.task.name });
    } finally {
      this.#done();
      if (claim !== null) this.#host.leases?.done(claim);
    }
  }

  /** One run of a batch is over (recorded, or not started): wakes drains when few are left. */
  #done(): void {
    this.#inFlight--;
    // A drain waits for zero, or for one when that one is its caller's own run.
    if (this.#inFlight <= 1 && this.#drainWaiters.length > 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const wake of waiters) wake();
    }
  }
}
