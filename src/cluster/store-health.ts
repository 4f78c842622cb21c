import { StoreError } from "../errors.js";
import type { SchedulerEvents } from "../events.js";
import { safeLog, type Logger } from "../logger.js";
import {
  STORE_FAILURE_WORDS,
  storeFailureKind,
  type StoreFailureKind,
} from "../store/store-failure.js";
import type { Store } from "../store/store.js";
import type { Clock } from "../time/clock.js";

/** What {@link StoreHealth} needs from its Scheduler. */
export interface StoreHealthHost {
  readonly store: Pick<Store, "now">;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * How long calls wait for the store to come back, in ms, counted from the
   * start of an outage: past it, calls fail at once (but for one attempt per
   * backoff step), so that a store that stays broken holds nothing up.
   */
  readonly giveUpMs: number;
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
}

/**
 * Backoff between attempts on an unusable store, in ms: doubling from
 * `initialMs`, capped at `maxMs`, each step drawn between half and all of it.
 */
export const STORE_PROBE_BACKOFF = Object.freeze({ initialMs: 100, maxMs: 30_000 });

/** The store as the scheduler last found it (see {@link StoreHealth}). */
export interface StoreStatus {
  /** False from a failed call until a later call succeeds. */
  readonly usable: boolean;
  /** What failed, while unusable; null when usable. */
  readonly reason: StoreFailureKind | null;
  /** When it became unusable (epoch ms, scheduler clock); null when usable. */
  readonly sinceMs: number | null;
  /** Failed attempts since then (0 when usable). */
  readonly failures: number;
  /** Due runs that did not start because their claim could not be made (0 when usable). */
  readonly runsNotStarted: number;
  /**
   * When a claim, a finishing write or a probe last got an answer from the
   * store, success or failure (epoch ms, scheduler clock); null before the first.
   */
  readonly checkedAtMs: number | null;
}

/**
 * Failures that may pass within seconds (a database restart, a lock held a
 * while): claims wait for them. A full disk or a damaged file does not fix
 * itself that fast: a claim then fails at once rather than hold its task
 * "running" for nothing.
 */
const PASSING: ReadonlySet<StoreFailureKind> = new Set(["unreachable", "locked", "other"]);

const USABLE = Object.freeze({
  usable: true,
  reason: null,
  sinceMs: null,
  failures: 0,
  runsNotStarted: 0,
} as const);

/** What a gated call does: claim due runs, or write the end of a run (history row, release). */
export type StoreCallKind = "claim" | "finish";

interface Outage {
  /** The kinds of call that failed and have not succeeded since: the outage ends when none is left. */
  readonly failing: Set<StoreCallKind>;
  readonly sinceMono: number;
  readonly sinceMs: number;
  readonly reason: StoreFailureKind;
  lastError: unknown;
  failures: number;
  runsNotStarted: number;
  /** Backoff steps taken. */
  attempt: number;
  /** The backoff step is over: the next call is sent (as the probe). */
  slotOpen: boolean;
  probing: boolean;
  /** The outage is older than `giveUpMs`: calls no longer wait. */
  long: boolean;
  probeTimer: NodeJS.Timeout | undefined;
  longTimer: NodeJS.Timeout | undefined;
}

/**
 * The store's health as the run pipeline sees it, for claims and the writes
 * that finish runs on a shared store. A failed call makes the store
 * *unusable*: one warning with the reason (disk full, damaged, unreachable…)
 * and a `store:unreachable` event. From then on at most one call is sent per
 * backoff step (100 ms doubling to 30 s), and the store is *usable* again
 * only when every kind of call that failed (claims, finishing writes) has
 * succeeded since: a real write of that kind, not a read, nor a claim while
 * the history writes fail (on a full disk a small claim may fit where a
 * history row does not). Then one line says how long it lasted,
 * how many attempts failed and how many due runs did not start, and
 * `store:reconnected` is emitted. A lost connection (`unreachable`) ends
 * with the first call of any kind the database answers, and is also probed
 * with `now()` when no call is waiting: the database answering is what was
 * missing (waiting for a claim as well could wait for ever, since tasks
 * whose rows wait here are held back and make none).
 *
 * Calls made during the first `giveUpMs` of an outage wait for it to end
 * (a database restart is ridden out); later ones fail at once, so a store
 * that stays broken leaves no run waiting, or shown as running, for it.
 * Claims do not wait for a full disk, a damaged file or an I/O error at all.
 * The write that ends a run waits as long as the run's claim is held (its
 * lease renewed), and is sent again at each step: the result is recorded as
 * soon as the store takes it. If the lease is lost first, the run is reaped
 * once the store is usable (recorded `interrupted`, retried per policy), as
 * if this process had died (see `RunRecorderHost.abandon`).
 */
export class StoreHealth {
  readonly #host: StoreHealthHost;
  #outage: Outage | undefined;
  #stopped = false;
  #waiting = 0;
  #checkedAtMs: number | null = null;
  #changed: { promise: Promise<void>; fire: () => void } = signal();

  constructor(host: StoreHealthHost) {
    this.#host = host;
  }

  /** False while the store is unusable. */
  get reachable(): boolean {
    return this.#outage === undefined;
  }

  /** The store as last found (see {@link StoreStatus}). */
  get status(): StoreStatus {
    const outage = this.#outage;
    const checkedAtMs = this.#checkedAtMs;
    if (outage === undefined) return { ...USABLE, checkedAtMs };
    return {
      usable: false,
      reason: outage.reason,
      sinceMs: outage.sinceMs,
      failures: outage.failures,
      runsNotStarted: outage.runsNotStarted,
      checkedAtMs,
    };
  }

  /**
   * Runs `call`. When it fails, or the store is unusable, it is sent again
   * when the backoff allows, until it succeeds or it may wait no longer; then
   * it rejects with its last error, or with a StoreError saying it was not sent.
   *
   * @param options.runs - the due runs a claim is for: counted as not started if it fails.
   * @param options.holds - a finishing write waits as long as this says its claim is
   *   held (its lease renewed), whatever the kind of outage: the run's result is
   *   written as soon as the store takes it. Without it, a call waits `giveUpMs`
   *   at most (from the call, or from the start of the outage if earlier), and a
   *   claim does not wait for a full disk, a damaged file or an I/O error at all.
   */
  async call<T>(
    kind: StoreCallKind,
    call: () => Promise<T>,
    options: { readonly runs?: number; readonly holds?: () => boolean } = {},
  ): Promise<T> {
    const { runs = 0, holds } = options;
    let expired = false;
    let deadline: NodeJS.Timeout | undefined;
    /** This call's own last failure, if it was sent: what it rejects with then. */
    let failure: unknown;
    let sent = false;
    try {
      for (;;) {
        const outage = this.#outage;
        if (outage === undefined || this.#stopped) {
          try {
            return await this.#checked(call);
          } catch (error) {
            if (this.#stopped) throw error;
            [sent, failure] = [true, error];
            this.#fail(kind, error, false);
            continue;
          }
        }
        if (outage.slotOpen && !outage.probing) {
          outage.slotOpen = false;
          outage.probing = true;
          try {
            const result = await this.#checked(call);
            outage.failing.delete(kind);
            // A lost connection: the database answering is what was missing, as with a ping.
            // Waiting for every kind again would wait for calls that may never come: tasks
            // are held back while their rows wait here, so no claim is made until this ends.
            if (outage.failing.size === 0 || storeFailureKind(outage.lastError) === "unreachable")
              this.#recover(outage);
            // Another kind still fails: the next call goes at once, since this one went through
            // (rows waiting here would otherwise trickle through one per backoff step).
            else if (this.#outage === outage) this.#probeLater(outage, "now");
            return result;
          } catch (error) {
            [sent, failure] = [true, error];
            this.#fail(kind, error, true);
            continue;
          } finally {
            outage.probing = false;
          }
        }
        const waits =
          holds !== undefined
            ? holds()
            : !outage.long && !expired && (kind === "finish" || PASSING.has(outage.reason));
        if (!waits) throw sent ? failure : notSent(outage);
        if (holds === undefined) {
          deadline ??= unrefTimer(() => {
            expired = true;
            this.#fire();
          }, this.#host.giveUpMs);
        }
        this.#waiting++;
        try {
          await this.#changed.promise;
        } finally {
          this.#waiting--;
        }
      }
    } catch (error) {
      if (runs > 0 && this.#outage !== undefined) this.#outage.runsNotStarted += runs;
      throw error;
    } finally {
      clearTimeout(deadline);
    }
  }

  /**
   * A call of `kind` went through outside the gate (a run's end written at
   * once, not retried here): that kind works again. Without this an outage
   * whose last failed kind was a finishing write given up (its lease lost)
   * never ended once later finishes no longer needed the gate, and reaping,
   * which waits for a usable store, never came back.
   */
  succeeded(kind: StoreCallKind): void {
    const outage = this.#outage;
    if (outage === undefined || !outage.failing.delete(kind)) return;
    if (outage.failing.size === 0) this.#recover(outage);
    else this.#probeLater(outage, "now");
  }

  /** Due runs that did not start, without a call (held back while the store had not answered): counted in an outage. */
  notStarted(runs: number): void {
    if (this.#outage !== undefined) this.#outage.runsNotStarted += runs;
  }

  /** Stops probing and forgets the outage (silently); waiting calls make one last attempt. */
  stop(): void {
    this.#stopped = true;
    const outage = this.#outage;
    this.#outage = undefined;
    if (outage !== undefined) clearTimers(outage);
    this.#fire();
  }

  /** Probing may start again (the scheduler started again). */
  resume(): void {
    this.#stopped = false;
  }

  /** Runs a store call and notes when it was answered, whatever the answer. */
  async #checked<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } finally {
      this.#checkedAtMs = this.#host.clock.nowMs();
    }
  }

  #fail(kind: StoreCallKind, error: unknown, probe: boolean): void {
    const outage = this.#outage;
    if (outage !== undefined) {
      outage.failing.add(kind);
      outage.failures++;
      outage.lastError = error;
      if (probe) this.#probeLater(outage, "grow");
      return;
    }
    const reason = storeFailureKind(error);
    const started: Outage = {
      failing: new Set([kind]),
      sinceMono: this.#host.clock.monotonicMs(),
      sinceMs: this.#host.clock.nowMs(),
      reason,
      lastError: error,
      failures: 1,
      runsNotStarted: 0,
      attempt: 0,
      slotOpen: false,
      probing: false,
      long: false,
      probeTimer: undefined,
      longTimer: undefined,
    };
    this.#outage = started;
    started.longTimer = unrefTimer(() => {
      started.long = true;
      this.#fire();
    }, this.#host.giveUpMs);
    this.#probeLater(started, "grow");
    safeLog(
      this.#host.logger,
      "warn",
      { err: error, reason },
      `${reason === "unreachable" ? "Store unreachable" : `Store unusable (${STORE_FAILURE_WORDS[reason]})`}: ` +
        `retrying with backoff (up to ${STORE_PROBE_BACKOFF.maxMs / 1000} s apart) until ` +
        `${reason === "unreachable" ? "it answers" : "a write succeeds"}; due runs that cannot be claimed meanwhile do not start`,
    );
    this.#host.emit("store:unreachable", { error, reason });
  }

  /** Opens the next slot: at once (`now`), or after a backoff step that grows (`grow`, after a failure). */
  #probeLater(outage: Outage, step: "now" | "grow"): void {
    clearTimeout(outage.probeTimer);
    if (step === "now") {
      outage.probeTimer = undefined;
      outage.slotOpen = true;
      this.#fire();
      return;
    }
    if (step === "grow") outage.attempt++;
    const base = Math.min(
      STORE_PROBE_BACKOFF.maxMs,
      STORE_PROBE_BACKOFF.initialMs * 2 ** (outage.attempt - 1),
    );
    outage.probeTimer = unrefTimer(
      () => {
        outage.probeTimer = undefined;
        outage.slotOpen = true;
        this.#fire();
        // Nobody waiting: a lost connection is checked by asking the database the time.
        if (this.#waiting === 0 && storeFailureKind(outage.lastError) === "unreachable")
          void this.#ping(outage);
      },
      base / 2 + Math.random() * (base / 2),
    );
  }

  async #ping(outage: Outage): Promise<void> {
    if (this.#outage !== outage || !outage.slotOpen || outage.probing) return;
    outage.slotOpen = false;
    outage.probing = true;
    try {
      await this.#checked(() => this.#host.store.now());
      this.#recover(outage);
    } catch (error) {
      if (this.#outage === outage) {
        outage.failures++;
        outage.lastError = error;
        this.#probeLater(outage, "grow");
      }
    } finally {
      outage.probing = false;
    }
  }

  #recover(outage: Outage): void {
    if (this.#outage !== outage) return;
    this.#outage = undefined;
    clearTimers(outage);
    const downMs = this.#host.clock.monotonicMs() - outage.sinceMono;
    const { failures, runsNotStarted } = outage;
    safeLog(
      this.#host.logger,
      "info",
      { downMs, failures, runsNotStarted },
      `Store ${outage.reason === "unreachable" ? "reachable" : "usable"} again after ` +
        `${Math.round(downMs)} ms: ${failures} failed attempt${failures === 1 ? "" : "s"}, ` +
        `${runsNotStarted} due run${runsNotStarted === 1 ? "" : "s"} not started`,
    );
    this.#host.emit("store:reconnected", { downMs, failures, runsNotStarted });
    this.#fire();
  }

  /** Wakes every waiting call (the state changed, a step ended, or a deadline passed). */
  #fire(): void {
    const { fire } = this.#changed;
    this.#changed = signal();
    fire();
  }
}

function signal(): { promise: Promise<void>; fire: () => void } {
  let fire = (): void => {};
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

function unrefTimer(fn: () => void, ms: number): NodeJS.Timeout {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return timer;
}

function clearTimers(outage: Outage): void {
  clearTimeout(outage.probeTimer);
  clearTimeout(outage.longTimer);
  outage.probeTimer = undefined;
  outage.longTimer = undefined;
}

function notSent(outage: Outage): StoreError {
  return new StoreError(
    `Not sent: the store has been unusable (${STORE_FAILURE_WORDS[outage.reason]}) since ` +
      `${new Date(outage.sinceMs).toISOString()}; it is tried again with backoff`,
    { cause: outage.lastError },
  );
}
