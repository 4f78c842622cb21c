import type { AsyncLocalStorage } from "node:async_hooks";
import type { DispatchTarget, Dispatcher } from "./core/dispatcher.js";
import { planDueRuns } from "./core/misfire.js";
import { decideOverlap } from "./core/overlap.js";
import { retryDelayMs, shouldRetry } from "./core/retry.js";
import { RunHeap, type HeapItem } from "./core/run-heap.js";
import type { Schedule } from "./core/schedule.js";
import type { QueuedRun, ResolvedTaskOptions, RunStatus, Task, TaskCallback } from "./core/task.js";
import { OrchestratorError } from "./errors.js";
import type { RunTrigger, SchedulerEvents } from "./events.js";
import { safeLog, type Logger } from "./logger.js";
import type { Claim, RunRecord, Store } from "./store/store.js";
import { progressOf } from "./store/task-record.js";
import type { Clock } from "./time/clock.js";

/** What one `runPending()` or `triggerTask()` call did. `ran` = `succeeded` + `failed` (attempts started). */
export interface RunReport {
  ran: number;
  succeeded: number;
  failed: number;
  skipped: number;
}

/** What the engine needs from its Scheduler. */
export interface RunEngineHost {
  readonly clock: Clock;
  readonly store: Store;
  readonly dispatcher: Dispatcher;
  readonly logger: Logger;
  readonly nodeId: string;
  readonly leaseMs: number;
  /** Holds the token of the run whose callback is executing (to avoid waiting for oneself). */
  readonly scope: AsyncLocalStorage<object>;
  emit<K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void;
  hasListeners(event: keyof SchedulerEvents): boolean;
  /** True while `task` is the registered task of its name. */
  isCurrent(task: Task): boolean;
  handler(name: string): TaskCallback | undefined;
  poke(dueMs: number): void;
}

/** A failed attempt waiting in the heap for its retry; the task counts as running meanwhile. */
class PendingRetry implements HeapItem {
  heapIndex = -1;
  readonly task: Task;
  readonly scheduledAtMs: number;
  readonly attempt: number;
  readonly claim: Claim;
  constructor(task: Task, scheduledAtMs: number, attempt: number, claim: Claim) {
    this.task = task;
    this.scheduledAtMs = scheduledAtMs;
    this.attempt = attempt;
    this.claim = claim;
  }
}

interface PlannedRun {
  readonly task: Task;
  readonly scheduledAtMs: number;
  readonly attempt: number;
  readonly trigger: RunTrigger;
  readonly claim: Claim | null;
  readonly report: RunReport;
}

function emptyReport(): RunReport {
  return { ran: 0, succeeded: 0, failed: 0, skipped: 0 };
}

function jitter(options: ResolvedTaskOptions): number {
  return options.jitterMs > 0 ? Math.floor(Math.random() * (options.jitterMs + 1)) : 0;
}

function errorFields(error: unknown): RunRecord["error"] {
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

/**
 * The three phases of running tasks. Phase 1 ({@link runDue}, synchronous, so
 * atomic in this process): pop due entries from the min-heap, apply misfire
 * and overlap policies, mark runs running and reschedule the task. Phase 2:
 * claim each run in the store and dispatch it, no lock held. Phase 3: record
 * the outcome, retry or release, start queued runs, persist progress.
 */
export class RunEngine {
  readonly #host: RunEngineHost;
  readonly #heap = new RunHeap<Task | PendingRetry>();
  readonly #inFlight = new Map<object, Promise<void>>();

  constructor(host: RunEngineHost) {
    this.#host = host;
  }

  /** Entries in the heap (scheduled tasks plus pending retries). */
  get scheduledCount(): number {
    return this.#heap.size;
  }

  /** When the next entry falls due (epoch ms), or null. */
  nextDueMs(): number | null {
    return this.#heap.peekKey();
  }

  /** The first run of a new task, honouring startAt/endAt; null when it never runs. */
  firstRun(schedule: Schedule, options: ResolvedTaskOptions, nowMs: number): number | null {
    const from = Math.max(nowMs - 1, options.startAtMs - 1);
    const first = schedule.next(
      schedule.kind === "once" ? from : Math.max(nowMs, options.startAtMs - 1),
    );
    return first !== null && first <= options.endAtMs ? first : null;
  }

  /** Puts a new task in the heap. */
  schedule(task: Task, firstRunMs: number): void {
    task.nextRunMs = firstRunMs;
    const dueMs = firstRunMs + jitter(task.options);
    this.#heap.push(task, dueMs);
    this.#host.poke(dueMs);
  }

  /** Takes a removed or replaced task out: it is never rescheduled, its queue is dropped. */
  detach(task: Task): void {
    task.removed = true;
    this.#heap.remove(task);
    task.nextRunMs = Number.NaN;
    this.#dropQueue(task);
  }

  /** Pauses a task: out of the heap, queued runs dropped; a run in flight finishes. */
  pause(task: Task): void {
    if (task.state !== "active") return;
    task.state = "paused";
    this.#heap.remove(task);
    task.nextRunMs = Number.NaN;
    this.#dropQueue(task);
  }

  /** Resumes a paused task from now on. */
  resume(task: Task): void {
    if (task.state !== "paused") return;
    task.state = "active";
    const nowMs = this.#host.clock.nowMs();
    const next =
      task.started < task.options.maxRuns
        ? this.firstRun(task.schedule, task.options, nowMs)
        : null;
    if (next === null) this.#complete(task);
    else this.schedule(task, next);
  }

  /** Phase 1 for everything due at `nowMs`, then phases 2 and 3; resolves when all finished. */
  async runDue(nowMs: number): Promise<RunReport> {
    const report = emptyReport();
    const waits: Promise<void>[] = [];
    const planned = this.#collect(nowMs, report, waits);
    for (const run of planned) waits.push(this.#launch(run));
    if (waits.length > 0) await Promise.all(waits);
    return report;
  }

  /** Runs a task now (respecting overlap) and resolves when that run finished. */
  async trigger(task: Task): Promise<RunReport> {
    const report = emptyReport();
    const nowMs = this.#host.clock.nowMs();
    const waits: Promise<void>[] = [];
    this.#admit(task, [nowMs], "manual", report, waits);
    if (waits.length > 0) await Promise.all(waits);
    return report;
  }

  /** Waits until no run is in flight, except the one holding `except` (the caller's own). */
  async drain(except: object | undefined): Promise<void> {
    for (;;) {
      const others = [...this.#inFlight]
        .filter(([token]) => token !== except)
        .map(([, promise]) => promise);
      if (others.length === 0) return;
      await Promise.all(others);
    }
  }

  /** Phase 1: synchronous, so no other call can collect the same entry. */
  #collect(nowMs: number, report: RunReport, waits: Promise<void>[]): PlannedRun[] {
    const planned: PlannedRun[] = [];
    for (let item = this.#heap.popDue(nowMs); item !== undefined; item = this.#heap.popDue(nowMs)) {
      if (item instanceof PendingRetry) {
        const { task } = item;
        if (task.removed) {
          task.running--;
          void this.#release(item.claim);
          continue;
        }
        waits.push(
          this.#launch({
            task,
            scheduledAtMs: item.scheduledAtMs,
            attempt: item.attempt,
            trigger: "retry",
            claim: item.claim,
            report,
          }),
        );
        continue;
      }
      const task = item;
      const { options } = task;
      const plan = planDueRuns({
        firstDueMs: task.nextRunMs,
        nowMs,
        policy: options.misfire,
        graceMs: options.misfireGraceMs,
        maxCatchUpRuns: options.maxCatchUpRuns,
        endMs: options.endAtMs,
        next: (ms) => task.schedule.next(ms),
        prev: (ms) => task.schedule.prev(ms),
      });
      if (plan.missedCount > 0) this.#reportMissed(task, plan.missed, plan.missedCount);
      const remaining = options.maxRuns - task.started;
      const runs =
        plan.run.length > remaining ? plan.run.slice(0, Math.max(0, remaining)) : plan.run;
      const trigger: RunTrigger =
        plan.missedCount > 0 || runs.some((ms) => nowMs - ms > options.misfireGraceMs)
          ? "catch-up"
          : "schedule";
      planned.push(...this.#admit(task, runs, trigger, report, waits, false));
      task.nextRunMs = plan.nextMs ?? Number.NaN;
      if (plan.nextMs !== null && task.started < options.maxRuns) {
        this.#heap.push(task, plan.nextMs + jitter(options));
      } else {
        task.nextRunMs = Number.NaN;
        this.#completeIfIdle(task);
      }
    }
    return planned;
  }

  /**
   * Applies the overlap policy to due occurrences of one task (oldest first;
   * all but the first always queue behind it). Returns the runs to start now
   * when `launch` is false, otherwise launches them into `waits`.
   */
  #admit(
    task: Task,
    runs: readonly number[],
    trigger: RunTrigger & QueuedRun["trigger"],
    report: RunReport,
    waits: Promise<void>[],
    launch = true,
  ): PlannedRun[] {
    const planned: PlannedRun[] = [];
    if (runs.length === 0) return planned;
    const insideCallback = this.#host.scope.getStore() !== undefined;
    const decision = decideOverlap(task.options.overlap, task.running, task.queue?.length ?? 0);
    runs.forEach((scheduledAtMs, index) => {
      if (decision === "skip") {
        this.#skip(task, scheduledAtMs, report, "overlap");
        return;
      }
      task.started++;
      if (decision === "run" && index === 0) {
        task.running++;
        const run: PlannedRun = { task, scheduledAtMs, attempt: 1, trigger, claim: null, report };
        if (launch) waits.push(this.#launch(run));
        else planned.push(run);
        return;
      }
      let done!: () => void;
      const finished = new Promise<void>((resolve) => (done = resolve));
      (task.queue ??= []).push({ scheduledAtMs, trigger, done, report });
      // From inside a callback, waiting for a queued run could mean waiting for oneself.
      if (!insideCallback) waits.push(finished);
    });
    return planned;
  }

  #launch(run: PlannedRun): Promise<void> {
    const token = { task: run.task };
    const promise = this.#execute(token, run).catch((error: unknown) => {
      safeLog(
        this.#host.logger,
        "error",
        { err: error, taskName: run.task.name },
        "Internal error while running a task",
      );
      this.#host.emit("scheduler:error", { error, context: "run", taskName: run.task.name });
    });
    this.#inFlight.set(token, promise);
    void promise.finally(() => this.#inFlight.delete(token));
    return promise;
  }

  /** Phases 2 and 3 of one attempt. Never rejects for a callback's sake. */
  async #execute(token: object, run: PlannedRun): Promise<void> {
    const host = this.#host;
    const { task, scheduledAtMs, attempt, report } = run;
    let claim = run.claim;
    if (claim === null) {
      try {
        claim = await host.store.claimRun({
          taskName: task.name,
          scheduledAt: scheduledAtMs,
          nodeId: host.nodeId,
          leaseMs: host.leaseMs,
          manual: run.trigger === "manual",
        });
      } catch (error) {
        host.emit("scheduler:error", { error, context: "claim", taskName: task.name });
        safeLog(host.logger, "error", { err: error, taskName: task.name }, "Could not claim a run");
        claim = null;
      }
      if (claim === null) {
        task.running--;
        task.started--;
        this.#skip(task, scheduledAtMs, report, "claimed");
        this.#afterRun(task);
        await this.#persistProgress(task);
        return;
      }
    }
    report.ran++;
    const scheduledAt = new Date(scheduledAtMs);
    const startedAtMs = host.clock.nowMs();
    task.lastRunMs = startedAtMs;
    const base = {
      taskName: task.name,
      scheduledAt,
      attempt,
      trigger: run.trigger,
      runId: claim.id,
    };
    if (host.hasListeners("run:start"))
      host.emit("run:start", { ...base, startedAt: new Date(startedAtMs) });
    const startMono = host.clock.monotonicMs();
    const outcome = await host.dispatcher.dispatch(this.#target(task, token), {
      taskName: task.name,
      scheduledAt,
      attempt,
      payload: task.options.payload,
      timeoutMs: task.options.timeoutMs,
    });
    // Phase 3: update the task synchronously, then tell listeners, then persist.
    const durationMs = host.clock.monotonicMs() - startMono;
    const finishedAtMs = host.clock.nowMs();
    const status: RunStatus = outcome.ok ? "succeeded" : outcome.timedOut ? "timed-out" : "failed";
    const error = outcome.ok ? undefined : outcome.error;
    const willRetry =
      !outcome.ok && !task.removed && shouldRetry(task.options.retries, attempt, error);
    const retryAtMs = willRetry ? finishedAtMs + retryDelayMs(task.options.retries, attempt) : null;
    task.lastStatus = status;
    if (retryAtMs !== null) {
      // The run goes on (the task still counts as running) until its retries end.
      this.#heap.push(new PendingRetry(task, scheduledAtMs, attempt + 1, claim), retryAtMs);
      host.poke(retryAtMs);
    } else {
      task.running--;
      task.runCount++;
      this.#afterRun(task);
    }
    if (outcome.ok) {
      report.succeeded++;
      if (host.hasListeners("run:success")) host.emit("run:success", { ...base, durationMs });
    } else {
      report.failed++;
      safeLog(
        host.logger,
        "error",
        {
          err: error,
          taskName: task.name,
          scheduledAt: scheduledAt.toISOString(),
          attempt,
          status,
          willRetry,
        },
        `Task ${JSON.stringify(task.name)} ${status === "timed-out" ? "timed out" : "failed"}`,
      );
      host.emit("run:error", {
        ...base,
        error,
        status: status as "failed" | "timed-out",
        durationMs,
        willRetry,
        retryAt: retryAtMs === null ? null : new Date(retryAtMs),
      });
    }
    await this.#record({
      taskName: task.name,
      claimId: claim.id,
      scheduledAt: scheduledAtMs,
      startedAt: startedAtMs,
      finishedAt: finishedAtMs,
      status,
      attempt,
      nodeId: host.nodeId,
      error: outcome.ok ? null : errorFields(error),
    });
    if (willRetry) return;
    await this.#release(claim);
    await this.#persistProgress(task);
  }

  /** After a run ended (synchronously): start the next queued run, or complete the task. */
  #afterRun(task: Task): void {
    if (task.removed || !this.#host.isCurrent(task)) {
      this.#dropQueue(task);
      return;
    }
    const queue = task.queue;
    if (
      queue !== null &&
      queue.length > 0 &&
      (task.running === 0 || task.options.overlap === "allow")
    ) {
      const next = queue.shift() as QueuedRun;
      task.running++;
      void this.#launch({
        task,
        scheduledAtMs: next.scheduledAtMs,
        attempt: 1,
        trigger: next.trigger,
        claim: null,
        report: next.report,
      }).then(next.done);
    } else {
      this.#completeIfIdle(task);
    }
  }

  async #persistProgress(task: Task): Promise<void> {
    if (task.removed || !this.#host.isCurrent(task)) return;
    try {
      await this.#host.store.updateTaskProgress(task.name, progressOf(task));
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "progress", taskName: task.name });
    }
  }

  #target(task: Task, token: object): DispatchTarget {
    const callback = task.callback;
    const scope = this.#host.scope;
    if (typeof callback === "function") {
      return { kind: "inline", fn: (ctx) => scope.run(token, callback, ctx) };
    }
    if (typeof callback === "string") {
      const handler = this.#host.handler(callback);
      if (handler === undefined) {
        const error = new OrchestratorError(
          "ERR_INVALID_ARGUMENT",
          `No handler named ${JSON.stringify(callback)} is defined; call scheduler.defineHandler(${JSON.stringify(callback)}, fn)`,
        );
        return { kind: "inline", fn: () => Promise.reject(error) };
      }
      return { kind: "inline", fn: (ctx) => scope.run(token, handler, ctx) };
    }
    return { kind: "module", module: callback.module, exportName: callback.export ?? "default" };
  }

  #skip(task: Task, scheduledAtMs: number, report: RunReport, reason: "overlap" | "claimed"): void {
    report.skipped++;
    if (this.#host.hasListeners("run:skipped")) {
      this.#host.emit("run:skipped", {
        taskName: task.name,
        scheduledAt: new Date(scheduledAtMs),
        reason,
      });
    }
    void this.#record({
      taskName: task.name,
      claimId: null,
      scheduledAt: scheduledAtMs,
      startedAt: null,
      finishedAt: null,
      status: "skipped",
      attempt: 1,
      nodeId: this.#host.nodeId,
      error: {
        message:
          reason === "overlap"
            ? "the previous run was still running"
            : "claimed by another scheduler",
      },
    });
  }

  #reportMissed(task: Task, missed: readonly number[], count: number): void {
    const host = this.#host;
    safeLog(
      host.logger,
      "warn",
      { taskName: task.name, count, policy: task.options.misfire },
      "Missed runs",
    );
    host.emit("run:missed", {
      taskName: task.name,
      missed: missed.map((ms) => new Date(ms)),
      count,
      policy: task.options.misfire,
    });
    for (const scheduledAt of missed) {
      void this.#record({
        taskName: task.name,
        claimId: null,
        scheduledAt,
        startedAt: null,
        finishedAt: null,
        status: "missed",
        attempt: 1,
        nodeId: host.nodeId,
        error: null,
      });
    }
  }

  async #record(record: RunRecord): Promise<void> {
    try {
      await this.#host.store.recordRun(record);
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "history", taskName: record.taskName });
    }
  }

  async #release(claim: Claim): Promise<void> {
    try {
      await this.#host.store.releaseClaim(claim);
    } catch (error) {
      this.#host.emit("scheduler:error", { error, context: "release", taskName: claim.taskName });
    }
  }

  #dropQueue(task: Task): void {
    const queue = task.queue;
    task.queue = null;
    if (queue === null) return;
    for (const entry of queue) {
      task.started--;
      entry.done();
    }
  }

  #completeIfIdle(task: Task): void {
    if (task.state !== "active" || task.removed || task.heapIndex !== -1) return;
    if (task.running > 0 || (task.queue?.length ?? 0) > 0) return;
    task.state = "completed";
    task.nextRunMs = Number.NaN;
    this.#host.emit("task:completed", task.info());
  }

  #complete(task: Task): void {
    task.state = "completed";
    task.nextRunMs = Number.NaN;
    this.#host.emit("task:completed", task.info());
  }
}
