import type { Task } from "../core/task.js";
import { safeLog } from "../logger.js";
import type { RunReport } from "./run.js";
import type { Claim, RunRecord } from "../store/store.js";
import { progressOf } from "../durable/task-record.js";
import { finishThroughGate } from "./failed-finish.js";
import { FinishBatcher } from "./finish-batcher.js";
import { settleAroundClaimed } from "./missed-ranges.js";
import type { RunRecorderHost } from "./run-recorder-host.js";

export type { RunRecorderHost } from "./run-recorder-host.js";

/** Why a due run did not start. */
export type SkipReason = "overlap" | "claimed";

const SKIP_MESSAGES: Readonly<Record<SkipReason, string>> = Object.freeze({
  overlap: "the previous run was still running",
  claimed: "claimed by another scheduler",
});

/**
 * Occurrences the misfire policy dropped, `firstMs` to `lastMs` (`count` in
 * all; `listed`: the first of them, for the event).
 */
export interface MissedOccurrences {
  readonly listed: readonly number[];
  readonly firstMs: number;
  readonly lastMs: number;
  readonly count: number;
  /** Why, for the row (absent: the misfire policy dropped them, which the status says). */
  readonly reason?: string;
}

/**
 * Writes what happened to the store (history rows, released claims, task
 * progress) and reports runs that did not happen (skipped, missed). Rows of
 * runs that hold a claim are fenced by it; rows of runs that hold none
 * (skipped, missed) settle their occurrence, so that each is recorded once
 * across every node (Store.settleSlots). Store failures become
 * `scheduler:error` events; nothing here throws.
 */
export class RunRecorder {
  readonly #host: RunRecorderHost;
  /** Stores with `finishRuns`: the ends of runs are written in batches (see FinishBatcher). */
  readonly #batcher: FinishBatcher | undefined;
  /**
   * Per task, the settling writes in flight (rows of runs that hold no
   * claim), each with its first occurrence: a release waits for those at or
   * before its run (see {@link RunRecorder.finish}).
   */
  readonly #settling = new Map<string, Map<Promise<unknown>, number>>();

  /** Told when nothing of a task waits for the store any longer (see `Task.awaitingStore`). */
  readonly #storeAnswered: (task: Task) => void;

  /**
   * `finishWindowMs`: the least time between two batches of finishes
   * (FinishBatcher's `windowMs`); `storeAnswered`: see `RunLifecycleHooks`.
   */
  constructor(
    host: RunRecorderHost,
    options: {
      readonly finishWindowMs?: number;
      readonly storeAnswered?: (task: Task) => void;
    } = {},
  ) {
    this.#host = host;
    this.#storeAnswered = options.storeAnswered ?? (() => {});
    const { store } = host;
    if (store.finishRuns !== undefined) {
      const write = store.finishRuns.bind(store);
      const written = host.finishWritten?.bind(host);
      // Each batch that goes through tells the store's health that finishing writes work.
      const finishRuns: typeof write =
        written === undefined
          ? write
          : (finishes) =>
              write(finishes).then((answers) => {
                written();
                return answers;
              });
      this.#batcher = new FinishBatcher({
        finishRuns,
        ...(options.finishWindowMs === undefined ? {} : { windowMs: options.finishWindowMs }),
        progressOf: (task) => (this.#progressWanted(task) ? progressOf(task) : undefined),
      });
    }
  }

  /** The finish batcher, if the store batches finishes. */
  get batcher(): FinishBatcher | undefined {
    return this.#batcher;
  }

  /** Resolves once the skipped and missed rows on their way now are written (or failed). */
  async settled(): Promise<void> {
    const pending: Promise<unknown>[] = [];
    for (const settling of this.#settling.values()) pending.push(...settling.keys());
    await Promise.allSettled(pending);
  }

  /** Writes every finish waiting for a batch now; resolves once they are written (`stop()`). */
  flush(): Promise<void> {
    return this.#batcher?.flush() ?? Promise.resolve();
  }

  /**
   * A due run that did not start and holds no claim: counted, emitted, and
   * recorded once across nodes (a run another node claimed is recorded by it).
   */
  skip(task: Task, scheduledAtMs: number, report: RunReport, reason: SkipReason): void {
    report.skipped++;
    if (this.#host.hasListeners("run:skipped")) {
      this.#host.emit("run:skipped", {
        taskName: task.name,
        scheduledAt: new Date(scheduledAtMs),
        reason,
      });
    }
    if (reason === "claimed") return;
    this.#track(task, scheduledAtMs, this.#settle(this.skipRow(task, scheduledAtMs, reason)));
  }

  /** The history row of a run skipped for `reason`. */
  skipRow(task: Task, scheduledAtMs: number, reason: SkipReason): RunRecord {
    return {
      taskName: task.name,
      claimId: null,
      scheduledAt: scheduledAtMs,
      startedAt: null,
      finishedAt: null,
      status: "skipped",
      attempt: 1,
      nodeId: this.#host.nodeId,
      error: { message: SKIP_MESSAGES[reason] },
    };
  }

  /**
   * Occurrences the misfire policy dropped: logged, emitted, and recorded as
   * one row, once across nodes.
   */
  missed(task: Task, missed: MissedOccurrences): void {
    const host = this.#host;
    const { count } = missed;
    safeLog(
      host.logger,
      "warn",
      { taskName: task.name, count, policy: task.options.misfire },
      "Missed runs",
    );
    if (host.hasListeners("run:missed")) {
      host.emit("run:missed", {
        taskName: task.name,
        missed: missed.listed.map((ms) => new Date(ms)),
        count,
        policy: task.options.misfire,
      });
    }
    const { firstMs, lastMs } = missed;
    const reason = missed.reason ?? null;
    this.#track(task, firstMs, this.#settleMissed(task, firstMs, lastMs, count, reason));
  }

  /**
   * Records `count` missed occurrences as one row; when the store refuses it
   * because some of them were claimed, the others are recorded in ranges
   * around the claimed ones (see `missed-ranges.ts`), so that none is left
   * without a row.
   */
  async #settleMissed(
    task: Task,
    firstMs: number,
    lastMs: number,
    count: number,
    reason: string | null,
  ): Promise<void> {
    const row = (first: number, last: number, n: number): RunRecord =>
      this.missedRow(task, first, last, n, reason);
    const written = await this.#settle(row(firstMs, lastMs, count));
    if (written !== false || count <= 1) return;
    const { store } = this.#host;
    await settleAroundClaimed(
      {
        row,
        settle: (record) => this.#settle(record),
        ...(store.takenRuns === undefined ? {} : { takenRuns: store.takenRuns.bind(store) }),
      },
      task,
      firstMs,
      lastMs,
      count,
    );
  }

  /**
   * A due run that did not start because its claim could not be made (the
   * store failed): emitted, and recorded missed once the store takes writes
   * again, unless another node claimed it meanwhile. Not logged one by one:
   * the store's health says once how many due runs did not start.
   */
  notClaimed(task: Task, scheduledAtMs: number): void {
    const host = this.#host;
    if (host.hasListeners("run:missed")) {
      host.emit("run:missed", {
        taskName: task.name,
        missed: [new Date(scheduledAtMs)],
        count: 1,
        policy: task.options.misfire,
      });
    }
    const reason = "its claim could not be made: the store was unusable";
    const row = this.missedRow(task, scheduledAtMs, scheduledAtMs, 1, reason);
    this.#track(task, scheduledAtMs, this.#settle(row));
  }

  /** The history row of `count` consecutive occurrences missed, `firstMs` to `lastMs`. */
  missedRow(
    task: Task,
    firstMs: number,
    lastMs: number,
    count: number,
    reason: string | null,
  ): RunRecord {
    return {
      taskName: task.name,
      claimId: null,
      scheduledAt: firstMs,
      startedAt: null,
      finishedAt: null,
      status: "missed",
      attempt: 1,
      nodeId: this.#host.nodeId,
      error: reason === null ? null : { message: reason },
      ...(lastMs > firstMs ? { missedThrough: lastMs } : {}),
      ...(count > 1 ? { missedCount: count } : {}),
    };
  }

  /**
   * Appends a history row as it is (unfenced: lost, interrupted). With
   * `gated` (a run's `lost` row), on a shared store it goes through the
   * health gate until the store takes it: when the run's own finish gave up
   * (its claim lost), that write is what tells the gate the store is usable
   * again, so that reaping resumes.
   */
  async record(record: RunRecord, gated = false): Promise<void> {
    const { store, settleGate } = this.#host;
    const call = (): Promise<void> => store.recordRun(record);
    try {
      if (gated && settleGate !== undefined) await settleGate(call);
      else {
        await call();
        this.#host.finishWritten?.();
      }
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "history", taskName: record.taskName });
    }
  }

  /**
   * Appends an attempt's row fenced by its claim, releasing the claim unless
   * `release` is false, and then, with `progress`, writes that task's
   * progress (with the row, in its batch, when the store batches finishes).
   * Resolves true when written; false when the claim was no longer this
   * node's (or the write failed for good, and the claim was abandoned to the
   * reaper). A batch that fails is retried run by run, through the store's
   * health gate, exactly as a single finish (`failed-finish.ts`).
   *
   * A release raises the task's claim mark, and the store then refuses to
   * settle any occurrence at or before it (it can no longer tell whether one
   * was claimed): so a release first waits for this node's settling writes
   * of earlier occurrences. Else a missed row waiting for the store (a claim
   * that failed during an outage) lost the race to a later run's release once
   * the store came back, and its slot was left with no row.
   */
  async finish(
    record: RunRecord,
    claim: Claim,
    options: { readonly release: boolean; readonly progress?: Task },
  ): Promise<boolean> {
    const { store } = this.#host;
    const { release, progress } = options;
    if (release && this.#settling.has(claim.taskName))
      await this.#settledThrough(claim.taskName, claim.scheduledAt);
    let written: boolean;
    try {
      const batcher = this.#batcher;
      if (batcher !== undefined) {
        return await batcher.add({
          record,
          claim,
          release,
          ...(progress === undefined ? {} : { task: progress }),
        });
      }
      written = await store.finishRun(record, claim, { release });
      this.#host.finishWritten?.();
    } catch (error) {
      const again = await finishThroughGate(this.#host, record, claim, release, error);
      if (again === undefined) return false;
      written = again;
    }
    if (written && progress !== undefined) await this.persistProgress(progress);
    return written;
  }

  /** Releases a claim (after this node's settling writes of earlier occurrences, see `finish`). */
  async release(claim: Claim): Promise<void> {
    if (this.#settling.has(claim.taskName))
      await this.#settledThrough(claim.taskName, claim.scheduledAt);
    try {
      await this.#host.store.releaseClaim(claim);
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "release", taskName: claim.taskName });
    }
  }

  /** Writes the task's run-state columns (unless it was removed or replaced). */
  async persistProgress(task: Task): Promise<void> {
    if (!this.#progressWanted(task)) return;
    try {
      await this.#host.store.updateTaskProgress(task.name, progressOf(task), { afterRun: true });
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "progress", taskName: task.name });
    }
  }

  /** False when `task` was removed or replaced: its progress is no longer written. */
  #progressWanted(task: Task): boolean {
    return !task.removed;
  }

  /** Keeps `settling` (a write of the task's occurrences from `fromMs`) among those in flight until it ends. */
  #track(task: Task, fromMs: number, settling: Promise<unknown>): void {
    const taskName = task.name;
    // Counted until written: meanwhile the engine holds the task's next occurrences back.
    task.awaitingStore++;
    let pending = this.#settling.get(taskName);
    if (pending === undefined)
      this.#settling.set(taskName, (pending = new Map<Promise<unknown>, number>()));
    pending.set(settling, fromMs);
    const inFlight = pending;
    void settling.finally(() => {
      inFlight.delete(settling);
      if (inFlight.size === 0 && this.#settling.get(taskName) === inFlight)
        this.#settling.delete(taskName);
      if (--task.awaitingStore === 0) this.#storeAnswered(task);
    });
  }

  /** Waits for the settling writes in flight of the task's occurrences at or before `atMs`. */
  async #settledThrough(taskName: string, atMs: number): Promise<void> {
    const earlier: Promise<unknown>[] = [];
    for (const [settling, fromMs] of this.#settling.get(taskName) ?? []) {
      if (fromMs <= atMs) earlier.push(settling);
    }
    await Promise.all(earlier);
  }

  /**
   * Records a run that holds no claim, if no one claimed or recorded its
   * occurrences; while the store is unusable, as soon as it takes the write.
   * Resolves whether it was written, or undefined when the store failed.
   */
  async #settle(record: RunRecord): Promise<boolean | undefined> {
    const { store, settleGate } = this.#host;
    try {
      const [written] = await store.settleSlots([record]);
      this.#host.finishWritten?.();
      return written;
    } catch (error) {
      let failure = error;
      if (settleGate !== undefined) {
        try {
          return (await settleGate(() => store.settleSlots([record])))[0];
        } catch (again) {
          failure = again;
        }
      }
      this.#host.emit("scheduler:error", {
        error: failure,
        context: "history",
        taskName: record.taskName,
      });
      return undefined;
    }
  }
}

/** The `error` of a history row, from what a callback threw. */
export function errorFields(error: unknown): RunRecord["error"] {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      message: error.message,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(typeof code === "string" ? { code } : {}),
    };
  }
  return { message: String(error) };
}
