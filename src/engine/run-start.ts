import { safeLog } from "../logger.js";
import { isMaxRunsReached } from "../store/store.js";
import type { ClaimOutcome, ClaimRequest } from "../store/store.js";
import type { Run } from "./run.js";
import { RunCaller } from "./run-caller.js";
import type { RunLifecycle } from "./run-lifecycle.js";
import type { RunStartHost } from "./run-start-host.js";
import { claimRequestOf, splitByShare, TakeoverWaits, type TakeoverShare } from "./run-takeover.js";
import { whyNotStart } from "./start-rules.js";
import { UnrecordedRuns } from "./unrecorded-runs.js";

export type { RunStartHost } from "./run-start-host.js";

/**
 * Phase 2: claims a batch of planned runs in one store call, then starts each
 * claimed callback, one after another, within one turn of the event loop
 * (its {@link RunCaller}). A claimed run that may no longer start (the
 * scheduler is stopping, it was claimed past its grace, its lease is nearly
 * gone, another node's run holds its task) is recorded under its claim
 * instead. Counts the runs of every batch from its claim to its record, for
 * {@link drain} ({@link UnrecordedRuns}).
 */
export class RunStarter {
  readonly #host: RunStartHost;
  readonly #life: RunLifecycle;
  /** Runs of batches not yet recorded, claims in flight included. */
  readonly #unrecorded = new UnrecordedRuns();
  /** Set by {@link stopStarting}: runs whose claims come back now are not started. */
  #stopping = false;
  /** Runs of other nodes' tasks waiting for their takeover delay. */
  readonly #takeoverWaits = new TakeoverWaits();
  /** Calls the callbacks of the runs that start. */
  readonly #caller: RunCaller;

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
    this.#caller = new RunCaller(host, life, this.#unrecorded);
  }

  /**
   * The token of the run whose inline callback is executing synchronously
   * right now, if any: `stop()` called from there must not wait for itself.
   */
  get calling(): object | undefined {
    return this.#caller.calling;
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
  drain(except: object | undefined): Promise<void> {
    return this.#unrecorded.drain(except);
  }

  /**
   * Claims every run of the batch in one store call, then starts the claimed
   * ones (inline callbacks are called before the loop moves on). Resolves
   * when all have been recorded.
   */
  async startBatch(runs: readonly Run[]): Promise<void> {
    // Counted from here: stop() waits for claims in flight too.
    this.#unrecorded.add(runs.length);
    const { share } = this.#host;
    const split = share === undefined ? null : splitByShare(runs, share);
    if (share === undefined || split === null) return this.#claimAndStart(runs);
    for (const run of split.later) this.#life.deferred(run);
    // The tasks' backups take over first; their third nodes after twice the delay (#takeOver).
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
   * others end `refused`, as a claim lost to another node does. A node past
   * a task's first three (owner, backup, third) leaves its runs to them
   * without asking the store, unless one of them left its view meanwhile.
   * Left to their owner when the scheduler stops meanwhile.
   */
  async #takeOver(looked: readonly Run[], share: TakeoverShare, delayMs: number): Promise<void> {
    await this.#takeoverWaits.wait(delayMs);
    if (this.#stopping) return this.#leaveToOthers(looked);
    // Past the task's first three nodes, only if one of them left this node's view meanwhile.
    // A run claimed ahead here (a round still on its way at the split) is this node's to run.
    const looks = (run: Run): boolean =>
      (share.takesOver?.(run.taskName) ?? true) ||
      share.heldAhead?.(run.taskName, run.scheduledAtMs) === true;
    const runs: Run[] = [];
    const left: Run[] = [];
    for (const run of looked) (looks(run) ? runs : left).push(run);
    if (left.length > 0) this.#leaveToOthers(left);
    if (runs.length === 0) return;
    // Waiting for a claim again: while it is in flight, phase 1 holds the task's next occurrences back.
    for (const run of runs) this.#life.claimingOver(run);
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

  /** Deferred runs this node does not take over: they end `refused`, left to the nodes that claim them. */
  #leaveToOthers(runs: readonly Run[]): void {
    for (const run of runs) {
      this.#life.claimingOver(run);
      this.#life.takingOver(run);
      this.#life.refused(run);
      this.#unrecorded.done();
    }
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
        this.#unrecorded.done();
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
    this.#caller.startBurst(
      startable,
      host.hasListeners("run:start"),
      host.hasListeners("runs:started"),
      finished,
    );
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
          this.#unrecorded.done();
          continue;
        }
        if (useClaims && claim === null) {
          life.refused(run);
          this.#unrecorded.done();
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
      this.#unrecorded.done();
    }
  }
}
