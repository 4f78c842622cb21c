import type { Task } from "../core/task.js";
import type { SchedulerEvents } from "../events.js";
import type { LeasedStore } from "./leased-store.js";
import type { WorkShare } from "./work-share.js";
import type { Clock } from "../time/clock.js";
import { NODE_TIMERS, type TimerFunctions } from "../time/timer-loop.js";

/** What a {@link AheadClaimer} needs from its Scheduler. */
export interface AheadClaimerHost {
  readonly store: LeasedStore;
  readonly clock: Clock;
  readonly nodeId: string;
  readonly leaseMs: number;
  /** The nodes share the work: only the runs of tasks this node owns are claimed ahead. */
  readonly share?: WorkShare;
  /** When the next heap entry falls due, or null. */
  nextDueMs(): number | null;
  /**
   * Tasks falling due after `afterMs` and by `untilMs` that would start at
   * once; `busy.earliestMs` lowered to the next run of any left out as busy.
   */
  dueBy(untilMs: number, limit: number, afterMs: number, busy?: { earliestMs: number }): Task[];
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
  /**
   * The timer functions it uses (tests pass fakes to drive its rounds).
   * @defaultValue Node's `setTimeout` and `clearTimeout` ({@link NODE_TIMERS})
   */
  readonly timers?: AheadClaimerTimers;
}

/** The timer functions a {@link AheadClaimer} uses. */
export type AheadClaimerTimers = Pick<TimerFunctions, "setTimeout" | "clearTimeout">;

/**
 * Lead before the first measurement, in ms: the most, since a first claim of
 * ten thousand runs, on cold code, takes SQLite 150 ms or more.
 */
export const INITIAL_CLAIM_LEAD_MS = 1_000;
/** Bounds of the lead, in ms. */
export const MIN_CLAIM_LEAD_MS = 50;
export const MAX_CLAIM_LEAD_MS = 1_000;
/** The longest the aheadClaimer sleeps, so that newly registered tasks are seen in time. */
export const POLL_MS = 250;
/** The most runs claimed ahead in one batch. */
export const MAX_BATCH = 50_000;
/**
 * Rounds that look again at instants already looked at, because some of
 * their tasks were busy then (a run in flight, or its row on its way to the
 * store), before those tasks are left to be claimed when due.
 */
export const MAX_RELOOKS = 4;

/**
 * Claims runs of a shared store a little before they fall due, so that a
 * burst of due runs starts without waiting for the store: when the timer loop
 * collects them, `claimRuns` answers from memory. Nothing runs early (runs
 * still start at their time, from the timer loop); a run claimed ahead and not
 * started (task removed, paused, replaced, or not started by phase 1) is given
 * back with `giveBack`, its key unspent. The lead adapts to how long claiming
 * took (twice that, plus 20 ms, within 50–1000 ms). Each round looks only at
 * instants the rounds before it had not reached, so that polling while a big
 * instant approaches does not walk its tasks again and again; a run that
 * comes to fall due at an instant already looked at (its task registered,
 * resumed or rescheduled since) is claimed when due. One unref'd timer; off
 * for stores without `giveBack` and for manual clocks.
 */
export class AheadClaimer {
  readonly #host: AheadClaimerHost;
  readonly #timers: AheadClaimerTimers;
  /** The pending timer's handle, or undefined. */
  #timer: unknown;
  #running = false;
  #busy = false;
  #claimLeadMs = INITIAL_CLAIM_LEAD_MS;
  /** Everything due by this instant was looked at by the last round. */
  #coveredUntilMs = Number.NEGATIVE_INFINITY;
  /** Rounds in a row that looked again at a range because tasks in it were busy. */
  #relooks = 0;

  constructor(host: AheadClaimerHost) {
    this.#host = host;
    this.#timers = host.timers ?? NODE_TIMERS;
  }

  /** The current lead, in ms. */
  get claimLeadMs(): number {
    return this.#claimLeadMs;
  }

  start(): void {
    if (this.#running || !this.#host.store.canClaimAhead) return;
    this.#running = true;
    this.#arm();
  }

  /** Stops, and gives back every claim taken ahead that was not used. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      await this.#host.store.giveBackUnused(Number.POSITIVE_INFINITY);
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "give-back" });
    }
  }

  #arm(): void {
    if (!this.#running || this.#timer !== undefined) return;
    const host = this.#host;
    const nextMs = host.nextDueMs();
    const nowMs = host.clock.nowMs();
    let delayMs: number;
    if (nextMs === null) delayMs = POLL_MS;
    else if (nextMs <= this.#coveredUntilMs || this.#relooks > 0)
      delayMs = Math.max(10, this.#claimLeadMs / 4);
    else delayMs = Math.max(0, nextMs - this.#claimLeadMs - nowMs);
    delayMs = Math.min(POLL_MS, delayMs);
    const timer = this.#timers.setTimeout(this.#tick, delayMs);
    (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    if (!this.#running || this.#busy) return;
    this.#busy = true;
    this.#round()
      .catch((error: unknown) =>
        this.#host.emit("scheduler:error", { error, context: "claim-ahead" }),
      )
      .finally(() => {
        this.#busy = false;
        // A round that found work may have more right behind it.
        this.#arm();
      });
  };

  async #round(): Promise<void> {
    const host = this.#host;
    const nowMs = host.clock.nowMs();
    // Unused ones: their due time passed a lease ago and nobody asked.
    await host.store.giveBackUnused(nowMs - Math.max(host.leaseMs, 5_000));
    const requests = [];
    const afterMs = this.#coveredUntilMs;
    const untilMs = Math.max(afterMs, nowMs + this.#claimLeadMs);
    const busy = { earliestMs: Number.POSITIVE_INFINITY };
    const due = host.dueBy(untilMs, MAX_BATCH, afterMs, busy);
    // A full batch may have left some out: the next round looks from the same point.
    this.#coveredUntilMs = due.length < MAX_BATCH ? untilMs : afterMs;
    // Tasks busy now (their previous run's row on its way, most often: every-second tasks
    // under load) are idle soon: a few rounds look at their instant again, else each was
    // claimed at its instant, a store round trip late. Those claimed already are skipped.
    if (
      busy.earliestMs > nowMs &&
      busy.earliestMs <= this.#coveredUntilMs &&
      this.#relooks < MAX_RELOOKS
    ) {
      this.#coveredUntilMs = Math.min(this.#coveredUntilMs, busy.earliestMs - 1);
      this.#relooks++;
    } else {
      this.#relooks = 0;
    }
    for (const task of due) {
      // Runs already due are the timer loop's to claim; so are runs counted toward a
      // finite maxRuns (their claim counts them, and a refusal completes the task).
      if (!(task.nextRunMs > nowMs) || Number.isFinite(task.options.maxRuns)) continue;
      // Another node's share: its owner claims it (this node takes it over only if the owner does not).
      if (host.share !== undefined && !host.share.owns(task.name)) continue;
      requests.push({
        taskName: task.name,
        scheduledAt: task.nextRunMs,
        nodeId: host.nodeId,
        leaseMs: host.leaseMs,
      });
    }
    if (requests.length === 0) return;
    const started = host.clock.monotonicMs();
    const claimed = await host.store.claimAhead(requests);
    const tookMs = host.clock.monotonicMs() - started;
    // A round that claimed nothing (all claimed already, or refused) says little of what claiming costs.
    if (claimed > 0)
      this.#claimLeadMs = Math.min(MAX_CLAIM_LEAD_MS, Math.max(MIN_CLAIM_LEAD_MS, 2 * tookMs + 20));
  }
}
