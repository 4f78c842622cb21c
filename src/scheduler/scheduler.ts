import { EventEmitter } from "node:events";
import type { Dispatcher } from "../core/dispatcher.js";
import { planRuns, planTaskOf, type PlanOptions, type RunPlan } from "../core/run-plan.js";
import type { ScheduleInput } from "../core/schedule.js";
import type { CallbackInput, Task, TaskCallback, TaskInfo, TaskOptions } from "../core/task.js";
import { CancelledError, InvalidArgumentError, TaskNotFoundError } from "../errors.js";
import { safeEmit, type SchedulerEvents } from "../events.js";
import type { Logger } from "../logger.js";
import type { DurableTasks, RotationReport } from "../durable/durable-tasks.js";
import type { ClusterSync } from "../cluster/cluster-sync.js";
import type { ClockSkewMonitor, ClockSkewMeasurement } from "../cluster/clock-skew.js";
import type { RunEngine } from "../engine/run-engine.js";
import type { RunReport } from "../engine/run.js";
import { advanceClockTo } from "./advance-to.js";
import { createComponents } from "./scheduler-components.js";
import type { SchedulerOptions } from "./scheduler-options.js";
import { createSchedulerParts } from "./scheduler-parts.js";
import { resolveSettings } from "./scheduler-settings.js";
import type { SchedulerLifecycle } from "./scheduler-lifecycle.js";
import type { StoreHealth, StoreStatus } from "../cluster/store-health.js";
import type { PendingCalls } from "./pending-calls.js";
import type { StoreOpener } from "./store-opener.js";
import type { RegistrationValidator } from "./task-registration.js";
import type { TaskWrites } from "./task-writes.js";
import type { HistoryQuery, RunRecord, Store } from "../store/store.js";
import type { Clock } from "../time/clock.js";

/**
 * Runs tasks on cron, one-time and interval schedules. `runPending()` runs
 * what is due (three phases: collect and mark running atomically, run with no
 * lock held, record atomically); `start()` lets one timer drive it. Errors in
 * callbacks are logged, emitted as `run:error`, retried per policy, and never
 * escape. Emits the typed {@link SchedulerEvents}; a listener that throws is
 * logged and never breaks the scheduler.
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  readonly #clock: Clock;
  readonly #timezone: string;
  readonly #logger: Logger;
  readonly #store: Store;
  readonly #nodeId: string;
  readonly #tasks: Map<string, Task>;
  readonly #handlers: Map<string, TaskCallback>;
  readonly #registration: RegistrationValidator;
  readonly #engine: RunEngine;
  readonly #durable: DurableTasks;
  readonly #sync: ClusterSync;
  readonly #skew: ClockSkewMonitor;
  readonly #health: StoreHealth;
  readonly #lifecycle: SchedulerLifecycle;
  readonly #opener: StoreOpener;
  readonly #writes: TaskWrites;
  readonly #pending: PendingCalls;
  #testMode: boolean;

  constructor(dispatcher: Dispatcher, options: SchedulerOptions = {}) {
    super();
    if (
      dispatcher === null ||
      typeof dispatcher !== "object" ||
      typeof dispatcher.dispatch !== "function"
    ) {
      throw new InvalidArgumentError("dispatcher", "a Dispatcher", dispatcher);
    }
    const settings = resolveSettings(options);
    this.#clock = settings.clock;
    this.#timezone = settings.timezone;
    this.#logger = settings.logger;
    this.#store = settings.store;
    this.#nodeId = settings.nodeId;
    this.#testMode = settings.testMode;
    const components = createComponents(this, dispatcher, settings);
    this.#tasks = components.tasks;
    this.#handlers = components.handlers;
    this.#registration = components.registration;
    this.#engine = components.engine;
    this.#durable = components.durable;
    this.#sync = components.sync;
    this.#skew = components.skew;
    this.#health = components.health;
    const parts = createSchedulerParts(this, components, settings);
    this.#opener = parts.opener;
    this.#pending = parts.pending;
    this.#writes = parts.writes;
    this.#lifecycle = parts.lifecycle;
  }

  /**
   * Shared stores: this node's clock against the store's (database) clock, as
   * last measured (at start, then every `clockSkewCheckIntervalMs`); undefined before.
   */
  get clockSkew(): ClockSkewMeasurement | undefined {
    return this.#skew.last;
  }

  /**
   * Shared stores: measures the clock skew now (warning as usual when it is
   * beyond `maxClockSkewMs`); undefined when the store did not answer.
   */
  measureClockSkew(): Promise<ClockSkewMeasurement | undefined> {
    return this.#skew.measure();
  }

  /**
   * Shared stores with change notification: reads every task from the store
   * again and applies what other nodes changed; resolves when done. The
   * scheduler does this by itself after a lost notification connection and
   * every `clusterResyncIntervalMs`.
   */
  async resyncTasks(): Promise<void> {
    this.#sync.resync();
    await this.#sync.settled();
  }

  /** True: callback records are stored unencrypted. Never changes schedule semantics. */
  get testMode(): boolean {
    return this.#testMode;
  }
  set testMode(value: boolean) {
    if (typeof value !== "boolean") throw new InvalidArgumentError("testMode", "a boolean", value);
    this.#testMode = value;
  }

  /** The clock this scheduler reads. */
  get clock(): Clock {
    return this.#clock;
  }
  /** The default zone of cron tasks. */
  get timezone(): string {
    return this.#timezone;
  }
  /** The id in claims and history. */
  get nodeId(): string {
    return this.#nodeId;
  }
  /** The store in use. */
  get store(): Store {
    return this.#store;
  }
  /** True between `start()` and `stop()`. */
  get running(): boolean {
    return this.#lifecycle.running;
  }
  /**
   * Shared stores: whether claims and the writes that finish runs succeed
   * (unusable from a failed one until one succeeds again); see `store:unreachable`.
   */
  get storeStatus(): StoreStatus {
    return this.#health.status;
  }
  /** Number of registered tasks (completed ones included). */
  get size(): number {
    return this.#tasks.size;
  }

  /**
   * Defines a named handler that durable tasks refer to
   * (`registerTask(name, schedule, "send-report")`). Define it on every start.
   */
  defineHandler(name: string, handler: TaskCallback): this {
    if (typeof name !== "string" || name === "")
      throw new InvalidArgumentError("name", "a non-empty string", name);
    if (typeof handler !== "function")
      throw new InvalidArgumentError("handler", "a function", handler);
    // Runs planned ahead looked handlers up when planned: a redefined one is not theirs any more.
    if (this.#handlers.has(name)) this.#engine.cancelPlanned();
    this.#handlers.set(name, handler);
    return this;
  }

  /**
   * Registers a task. Validates everything synchronously and throws at once
   * (CronSyntaxError, InvalidArgumentError, DuplicateTaskError), leaving the
   * scheduler unchanged; otherwise the task is visible to `runPending()`
   * immediately and the promise resolves once the store has it.
   */
  registerTask<Payload = unknown>(
    name: string,
    schedule: ScheduleInput,
    callback: CallbackInput<Payload>,
    options?: TaskOptions<Payload>,
  ): Promise<TaskInfo> {
    const valid = this.#registration.validate(name, schedule, callback, options);
    if (valid.kind === "unchanged") return Promise.resolve(valid.task.info());
    // Validation is over: from here on nothing throws.
    const { task, existing, firstRunMs, nowMs } = valid;
    if (existing !== undefined) this.#engine.detach(existing);
    this.#tasks.set(name, task);
    if (firstRunMs !== null) this.#engine.schedule(task, firstRunMs);
    if (this.listenerCount("task:registered") > 0)
      safeEmit(this, this.#logger, "task:registered", task.info());
    return this.#writes.registered(task, existing !== undefined, nowMs);
  }

  /**
   * Runs every check of {@link registerTask} with these arguments and throws
   * what it would throw, changing nothing: for callers that must know that a
   * set of tasks is valid before registering any of them.
   */
  checkTask<Payload = unknown>(
    name: string,
    schedule: ScheduleInput,
    callback: CallbackInput<Payload>,
    options?: TaskOptions<Payload>,
  ): void {
    this.#registration.validate(name, schedule, callback, options);
  }

  /** Removes a task. A run in flight finishes but is not rescheduled. Resolves false when there was no such task. */
  async unregisterTask(name: string): Promise<boolean> {
    const task = this.#tasks.get(name);
    if (task === undefined) return false;
    this.#tasks.delete(name);
    this.#engine.detach(task);
    // A synchronous store is updated before anything else can run, so that
    // registering the name again right away cannot meet the old record.
    const store = this.#store;
    const syncDeleted = store.deleteTaskSync !== undefined;
    if (syncDeleted) store.deleteTaskSync?.(name);
    safeEmit(this, this.#logger, "task:removed", { taskName: name });
    if (!syncDeleted) {
      await this.#opener.ready();
      await this.#sync.guard(name, store.deleteTask(name));
    }
    return true;
  }

  /** Pauses a task: no scheduled runs until `resumeTask` (a run in flight finishes). */
  async pauseTask(name: string): Promise<TaskInfo> {
    const task = this.#require(name);
    this.#engine.pause(task);
    await this.#writes.progress(task);
    return task.info();
  }

  /** Resumes a paused task from now on (runs missed while paused are not caught up). */
  async resumeTask(name: string): Promise<TaskInfo> {
    const task = this.#require(name);
    this.#engine.resume(task);
    await this.#writes.progress(task);
    return task.info();
  }

  /**
   * Cancels the task's runs in flight in this scheduler: each one's
   * `ctx.signal` aborts with a {@link CancelledError} (`by` says who asked),
   * and its attempt is recorded `cancelled`, without retry, when the callback
   * ends (a callback that ignores its signal runs on, and is recorded
   * `succeeded` if it succeeds). Returns how many runs were cancelled: 0 when
   * none was running here. Unknown task: TaskNotFoundError.
   */
  cancelTask(name: string, by?: string): number {
    this.#require(name);
    return this.#engine.cancel(name, new CancelledError(by));
  }

  /**
   * Runs a task now, respecting its overlap policy, and resolves when that run
   * has finished. When the task is running, a `skip` task resolves at once
   * with `skipped: 1`, and a `queue` task resolves at once with an empty
   * report while the run waits its turn (so a callback may trigger itself).
   */
  async triggerTask(name: string): Promise<RunReport> {
    const task = this.#require(name);
    await this.#opener.ready();
    return this.#engine.trigger(task);
  }

  /** A snapshot of one task, or undefined. */
  getTask(name: string): TaskInfo | undefined {
    return this.#tasks.get(name)?.info();
  }

  /** Snapshots of all tasks, in registration order. */
  listTasks(): TaskInfo[] {
    return Array.from(this.#tasks.values(), (task) => task.info());
  }

  /**
   * The runs the registered tasks would make in [fromMs, toMs), in order, each
   * marked where daylight saving moves or repeats it, with the changes that
   * move, drop or repeat runs; bounded by `limit` (see {@link planRuns}).
   * Changes nothing.
   */
  plan(options: PlanOptions): RunPlan {
    return planRuns(Array.from(this.#tasks.values(), planTaskOf), options);
  }

  /**
   * Seals every stored callback record again with the primary key (the first
   * of the keyring), one record at a time: records sealed with another key of
   * the keyring, and plaintext records when `migratePlaintext` is set. Safe to
   * interrupt and to run again; no record is ever unreadable meanwhile (keep
   * the old key in the keyring until it reports nothing left to re-seal). A
   * record that does not open is quarantined and left as it is.
   */
  async rotateKeys(): Promise<RotationReport> {
    await this.#opener.ready();
    return this.#durable.rotateKeys();
  }

  /** Run history from the store, newest first. */
  async history(
    taskName?: string,
    options: Omit<HistoryQuery, "taskName"> = {},
  ): Promise<RunRecord[]> {
    await this.#opener.ready();
    return this.#store.history({ ...options, ...(taskName === undefined ? {} : { taskName }) });
  }

  /**
   * Runs every task that is due now and resolves when the runs it started
   * have finished (runs it queued behind a running one start when that one
   * ends, and are reported through events). Safe to call concurrently: a run
   * is collected by exactly one call. Never rejects because of a callback.
   */
  runPending(): Promise<RunReport> {
    return this.#pending.run();
  }

  /**
   * Moves a manual clock forward to `target`, stopping at every instant
   * something falls due and running it (`runPending()`), in order. Plays a
   * year of schedules in milliseconds. Resolves with the summed report.
   */
  advanceTo(target: Date | number | string): Promise<RunReport> {
    return advanceClockTo(
      {
        clock: this.#clock,
        engine: this.#engine,
        pendingCalls: this.#pending.calls,
        runPending: () => this.runPending(),
      },
      target,
    );
  }

  /**
   * Opens the store and starts the timer. Idempotent and safe to call
   * concurrently with `stop()`. With a durable store it first checks the key
   * (production mode without one rejects, saying how to make one), loads the
   * persisted tasks (a record that does not open is quarantined; a handler not
   * defined here is reported), records the runs that were in flight when a
   * previous process of this node id died as `interrupted` and retries them
   * per policy; runs missed while down then follow each task's misfire policy.
   * While started, expired leases of any node are reaped every `leaseMs / 2`
   * and history is pruned per `historyRetention`.
   */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  /**
   * Stops the timer and waits for running callbacks to finish, those of a
   * user's own `runPending()` calls included (with or without `start()`), and
   * for claims in flight (a run whose claim comes back meanwhile is recorded
   * missed, not started). Idempotent and
   * safe to call concurrently with `start()`. Called from inside a callback
   * before its first `await`, it does not wait for that callback itself; later
   * in a callback, do not await it (the callback would wait for itself).
   */
  stop(): Promise<void> {
    return this.#lifecycle.stop();
  }

  /** `await using scheduler = new Scheduler(...)` stops it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  #require(name: string): Task {
    const task = this.#tasks.get(name);
    if (task === undefined) throw new TaskNotFoundError(name);
    return task;
  }
}
