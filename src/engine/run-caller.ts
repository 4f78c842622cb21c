import { setImmediate as nextTurn } from "node:timers/promises";
import type { DispatchOutcome } from "../core/dispatcher.js";
import { RunContext } from "../core/run-context.js";
import type { RunStartEvent } from "../events.js";
import { safeLog } from "../logger.js";
import { dispatchTarget } from "./dispatch-target.js";
import { eventBase } from "./run-attempt.js";
import type { Run } from "./run.js";
import type { RunLifecycle } from "./run-lifecycle.js";
import type { RunStartHost } from "./run-start-host.js";
import type { UnrecordedRuns } from "./unrecorded-runs.js";

/** Finishes of one batch suspended at once, at most (see RunCaller.#finishSettled). */
const FINISH_WINDOW = 4096;
/**
 * Starts told on `runs:started` in one array, at most: a million events held
 * in one array until its listeners returned outlived the young generation,
 * and copying them out of it kept the collector busy for seconds.
 */
const TOLD_AT_ONCE = 1024;

/**
 * The end of phase 2: calls the callbacks of claimed runs that may start,
 * one after another within one turn of the event loop (in a burst when it
 * can), and hands each outcome to phase 3 (`RunLifecycle.finish`), counting
 * the run out of the batch once it is recorded. Only `RunStarter`
 * (engine/run-start.ts) calls it, with the runs its claims let start.
 */
export class RunCaller {
  readonly #host: RunStartHost;
  readonly #life: RunLifecycle;
  readonly #unrecorded: UnrecordedRuns;
  /** The run whose inline callback is executing synchronously, if any. */
  readonly #current: { calling: object | undefined } = { calling: undefined };

  constructor(host: RunStartHost, life: RunLifecycle, unrecorded: UnrecordedRuns) {
    this.#host = host;
    this.#life = life;
    this.#unrecorded = unrecorded;
  }

  /**
   * The token of the run whose inline callback is executing synchronously
   * right now, if any: `stop()` called from there must not wait for itself.
   */
  get calling(): object | undefined {
    return this.#current.calling;
  }

  /**
   * The fast path of a batch: the dispatcher calls every inline callback back
   * to back, and what else starting a run records (outcomes; with nobody
   * listening to `run:start`, counts and start times too) is done afterwards,
   * so that the last callback of a burst is not delayed by the bookkeeping of
   * all those before it. With `announce`, each run is marked started and
   * announced just before its callback, as {@link startEach} does. Runs not
   * prepared for a burst (not planned ahead, module handlers, timeouts), or
   * all of them when the dispatcher is closed or limits concurrency, then
   * start one by one, before anything of the batch is told or recorded. With
   * `collect`, the starts are told once more, all together, on
   * `runs:started` once every callback has been called.
   */
  startBurst(
    runs: readonly Run[],
    announce: boolean,
    collect: boolean,
    finished: Promise<void>[],
  ): void {
    const { clock, dispatcher, leases } = this.#host;
    const wallOffset = clock.nowMs() - clock.monotonicMs();
    if (leases !== undefined) {
      for (let i = 0; i < runs.length; i++) {
        const run = runs[i] as Run;
        if (run.claim !== null && run.context !== undefined) leases.watch(run.claim, run.context);
      }
    }
    const current = this.#current;
    const announced = announce
      ? (run: Run): void => {
          this.#life.started(run, run.startMono, wallOffset);
          // Its listeners are not its callback: a stop() from one waits for this run too.
          current.calling = undefined;
          this.#announce(run);
          current.calling = run;
        }
      : undefined;
    if (!dispatcher.callBurst(runs, clock, this.#current, announced)) {
      this.startEach(runs, announce, collect, finished);
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
      if (!announce) this.#life.started(run, startMono, wallOffset);
      if (this.#file(run, dispatcher.settleBurst(run), finished, settled)) previousSync = run;
    }
    if (previousSync !== null) previousSync.endMono = endMono;
    // The runs a burst does not call start now, before any of the batch is told or recorded.
    if (left.length > 0) this.#callEach(left, announce, finished, settled);
    // Told before any of them is recorded: a synchronous finish emits its end at once.
    if (collect) this.#tellStarted(runs);
    if (settled.length > 0) finished.push(this.#finishSettled(settled));
  }

  /**
   * Starts runs one after another: announcing each (`run:start`) when asked,
   * and giving each the abort signal of its lease when leases are watched;
   * with `collect`, telling them all on `runs:started` once all are called.
   */
  startEach(
    runs: readonly Run[],
    announce: boolean,
    collect: boolean,
    finished: Promise<void>[],
  ): void {
    const settled: Run[] = [];
    this.#callEach(runs, announce, finished, settled);
    if (collect) this.#tellStarted(runs);
    // Callbacks that returned synchronously are recorded after every run of the batch has started.
    if (settled.length > 0) finished.push(this.#finishSettled(settled));
  }

  /** {@link startEach}'s calls: each run started, announced if asked, and called; outcomes filed. */
  #callEach(
    runs: readonly Run[],
    announce: boolean,
    finished: Promise<void>[],
    settled: Run[],
  ): void {
    const host = this.#host;
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
  }

  /**
   * Phase 3 of runs whose callbacks returned synchronously, in order, at most
   * {@link FINISH_WINDOW} at a time: each finish suspended on its store write
   * holds its run, record and promises, and a burst of a million suspended
   * all at once kept them alive through the collections: 20 s to finish, 70%
   * of it collecting (8 s and 30% in windows), long enough to miss the next
   * burst. A batch within the window finishes as it always did. Between
   * windows the event loop takes its turn: finishing a million runs is a
   * chain of microtasks (a memory store's writes never wait), and without a
   * turn between windows the timers of the next due instant waited for the
   * whole chain (seconds in the daemon, which logs every end).
   */
  async #finishSettled(runs: readonly Run[]): Promise<void> {
    for (let from = 0; from < runs.length; from += FINISH_WINDOW) {
      if (from > 0) await nextTurn();
      const to = Math.min(runs.length, from + FINISH_WINDOW);
      const window: Promise<void>[] = [];
      for (let i = from; i < to; i++) {
        const run = runs[i] as Run;
        window.push(this.#finish(run, run.outcome as DispatchOutcome));
      }
      await Promise.all(window);
    }
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
    this.#host.emit("run:start", startEventOf(run));
  }

  /**
   * `runs:started`: the starts of a batch whose callbacks have all been
   * called, {@link TOLD_AT_ONCE} at a time, in the batch's order.
   */
  #tellStarted(runs: readonly Run[]): void {
    let told: RunStartEvent[] = [];
    for (let i = 0; i < runs.length; i++) {
      told.push(startEventOf(runs[i] as Run));
      if (told.length === TOLD_AT_ONCE) {
        this.#host.emit("runs:started", told);
        told = [];
      }
    }
    if (told.length > 0) this.#host.emit("runs:started", told);
  }

  /** Phase 3 of one attempt, then the count of runs not yet recorded; never rejects. */
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
      this.#unrecorded.done();
      if (claim !== null) this.#host.leases?.done(claim);
    }
  }
}

function startEventOf(run: Run): RunStartEvent {
  const event = eventBase(run) as { -readonly [K in keyof RunStartEvent]?: RunStartEvent[K] };
  event.startedAt = new Date(run.startedAtMs);
  return event as RunStartEvent;
}
