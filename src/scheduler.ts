import { EventEmitter } from "node:events";
import { hostname } from "node:os";
import type { Dispatcher } from "./core/dispatcher.js";
import {
  CronCache,
  compileSchedule,
  describeScheduleInput,
  type ScheduleInput,
} from "./core/schedule.js";
import { checkCallback, checkTaskName, resolveTaskOptions } from "./core/task-options.js";
import {
  Task,
  type CallbackInput,
  type TaskCallback,
  type TaskInfo,
  type TaskOptions,
} from "./core/task.js";
import {
  DuplicateTaskError,
  InvalidArgumentError,
  StoreError,
  TaskNotFoundError,
  type LeaseLostError,
} from "./errors.js";
import { safeEmit, type SchedulerEvents } from "./events.js";
import { createStderrLogger, safeLog, type Logger } from "./logger.js";
import { DurableTasks, type RotationReport } from "./durable-tasks.js";
import { LeasedStore } from "./leased-store.js";
import { Maintenance } from "./maintenance.js";
import { Preclaimer } from "./preclaimer.js";
import { ClusterSync } from "./cluster-sync.js";
import { ClockSkewMonitor, type ClockSkewMeasurement } from "./clock-skew.js";
import { LeaseGuard } from "./lease-guard.js";
import { StoreHealth } from "./store-health.js";
import { RunEngine } from "./run-engine.js";
import type { RunReport } from "./run-plan.js";
import { MemoryStore } from "./store/memory-store.js";
import type { Claim, HistoryQuery, RunRecord, Store } from "./store/store.js";
import {
  buildTaskRecord,
  callbackRefOfInput,
  progressOf,
  storedOptionsOf,
} from "./store/task-record.js";
import {
  SCHEDULER_DEFAULTS,
  checkZone,
  processTimezone,
  resolveRetention,
  durationOption,
  type SchedulerOptions,
} from "./scheduler-options.js";
import { SystemClock, isManualClock, type Clock } from "./time/clock.js";
import { toMs } from "./time/duration.js";
import { TimerLoop } from "./time/timer-loop.js";

export type { RunReport } from "./run-plan.js";
export type { RotationReport } from "./durable-tasks.js";
export { SCHEDULER_DEFAULTS } from "./scheduler-options.js";
export type { SchedulerOptions } from "./scheduler-options.js";

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
  readonly #tasks = new Map<string, Task>();
  readonly #handlers = new Map<string, TaskCallback>();
  readonly #cronCache = new CronCache();
  readonly #validZones = new Set<string>();
  readonly #engine: RunEngine;
  readonly #loop: TimerLoop;
  readonly #leased: LeasedStore;
  readonly #durable: DurableTasks;
  readonly #maintenance: Maintenance;
  readonly #preclaimer: Preclaimer;
  readonly #sync: ClusterSync;
  readonly #skew: ClockSkewMonitor;
  readonly #health: StoreHealth;
  readonly #leases = new LeaseGuard();
  readonly #pendingCalls = new Set<Promise<RunReport>>();
  #testMode: boolean;
  #opened: Promise<void> | undefined;
  #isOpen = false;
  #state: "stopped" | "starting" | "started" | "stopping" = "stopped";
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  #generation = 0;

  constructor(dispatcher: Dispatcher, options: SchedulerOptions = {}) {
    super();
    if (
      dispatcher === null ||
      typeof dispatcher !== "object" ||
      typeof dispatcher.dispatch !== "function"
    ) {
      throw new InvalidArgumentError("dispatcher", "a Dispatcher", dispatcher);
    }
    if (options === null || typeof options !== "object")
      throw new InvalidArgumentError("options", "an object", options);
    this.#clock = options.clock ?? new SystemClock();
    this.#timezone =
      options.timezone === undefined
        ? processTimezone()
        : checkZone("options.timezone", options.timezone);
    this.#validZones.add(this.#timezone);
    this.#logger = options.logger ?? createStderrLogger();
    this.#store = options.store ?? new MemoryStore();
    this.#nodeId = options.nodeId ?? `${hostname()}:${process.pid}`;
    if (typeof this.#nodeId !== "string" || this.#nodeId === "") {
      throw new InvalidArgumentError("options.nodeId", "a non-empty string", options.nodeId);
    }
    if (options.testMode !== undefined && typeof options.testMode !== "boolean") {
      throw new InvalidArgumentError("options.testMode", "a boolean", options.testMode);
    }
    this.#testMode = options.testMode ?? SCHEDULER_DEFAULTS.testMode;
    const leaseMs =
      options.leaseMs === undefined ? SCHEDULER_DEFAULTS.leaseMs : toMs(options.leaseMs);
    if (leaseMs === undefined || leaseMs <= 0) {
      throw new InvalidArgumentError(
        "options.leaseMs",
        "a positive whole number of milliseconds",
        options.leaseMs,
      );
    }
    if (options.migratePlaintext !== undefined && typeof options.migratePlaintext !== "boolean") {
      throw new InvalidArgumentError(
        "options.migratePlaintext",
        "a boolean",
        options.migratePlaintext,
      );
    }
    const retention = resolveRetention(options.historyRetention);
    this.#leased = new LeasedStore(this.#store, {
      leaseMs,
      exclusive: (taskName) => this.#tasks.get(taskName)?.options.overlap === "skip",
      onLeaseLost: (claim, error) => this.#onLeaseLost(claim, error),
      onRenewError: (error, claim) =>
        safeEmit(this, this.#logger, "scheduler:error", {
          error,
          context: "renew",
          taskName: claim.taskName,
        }),
    });
    this.#engine = new RunEngine({
      clock: this.#clock,
      store: this.#leased,
      dispatcher,
      logger: this.#logger,
      nodeId: this.#nodeId,
      leaseMs,
      emit: (event, ...payload) => safeEmit(this, this.#logger, event, ...payload),
      hasListeners: (event) => this.listenerCount(event) > 0,
      isCurrent: (task) => this.#tasks.get(task.name) === task,
      handler: (name) => this.#handlers.get(name),
      poke: (dueMs) => this.#loop.poke(dueMs),
      ...(this.#store.shared
        ? {
            // Aborting runs whose lease is lost costs an AbortSignal per run: done where a
            // lease is routinely lost to another machine (a store that reports other nodes'
            // changes, PostgreSQL), and where a claim's round trip dwarfs that cost.
            ...(this.#store.watch !== undefined ? { leases: this.#leases } : {}),
            claimGate: (call) => this.#health.call(call),
            writeGate: (call) => this.#health.call(call),
          }
        : {}),
    });
    this.#loop = new TimerLoop({
      clock: this.#clock,
      nextDueMs: () => this.#engine.nextDueMs(),
      onDue: () => {
        this.runPending().catch((error: unknown) => this.#internalError(error, "timer"));
      },
      // A manual clock's instants are set by the test, not waited for: nothing to plan ahead.
      ...(isManualClock(this.#clock)
        ? {}
        : {
            leadMs: (dueMs: number) => this.#engine.leadMs(dueMs),
            onSoon: (dueMs: number) => {
              try {
                this.#engine.planAhead(dueMs);
              } catch (error) {
                this.#internalError(error, "timer");
              }
            },
          }),
      onJump: (jump) => {
        safeLog(
          this.#logger,
          "warn",
          { driftMs: jump.driftMs },
          "Wall-clock jump detected; applying misfire policies",
        );
        safeEmit(this, this.#logger, "clock:jump", jump);
      },
      unref: options.unref ?? SCHEDULER_DEFAULTS.unref,
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the hosts read live state
    const scheduler = this;
    this.#durable = new DurableTasks({
      store: this.#leased,
      clock: this.#clock,
      logger: this.#logger,
      nodeId: this.#nodeId,
      leaseMs,
      cronCache: this.#cronCache,
      engine: this.#engine,
      tasks: this.#tasks,
      encryptionKey: options.encryptionKey,
      migratePlaintext: options.migratePlaintext ?? SCHEDULER_DEFAULTS.migratePlaintext,
      get testMode() {
        return scheduler.#testMode;
      },
      hasHandler: (name) => this.#handlers.has(name),
      emit: (event, ...payload) => safeEmit(this, this.#logger, event, ...payload),
    });
    this.#preclaimer = new Preclaimer({
      store: this.#leased,
      clock: this.#clock,
      nodeId: this.#nodeId,
      leaseMs,
      nextDueMs: () => this.#engine.nextDueMs(),
      dueBy: (untilMs, limit) => this.#engine.dueBy(untilMs, limit),
      emit: (event, ...payload) => safeEmit(this, this.#logger, event, ...payload),
    });
    this.#maintenance = new Maintenance({
      store: this.#leased,
      clock: this.#clock,
      leaseMs,
      retention,
      reap: () => this.#durable.recover(false),
      emit: (event, ...payload) => safeEmit(this, this.#logger, event, ...payload),
    });
    const emit = <K extends keyof SchedulerEvents>(
      event: K,
      ...payload: SchedulerEvents[K]
    ): void => safeEmit(this, this.#logger, event, ...payload);
    this.#health = new StoreHealth({
      store: this.#store,
      clock: this.#clock,
      logger: this.#logger,
      giveUpMs: leaseMs,
      emit,
    });
    const durable = this.#durable;
    this.#sync = new ClusterSync({
      store: this.#leased,
      clock: this.#clock,
      logger: this.#logger,
      cronCache: this.#cronCache,
      engine: this.#engine,
      tasks: this.#tasks,
      resyncIntervalMs: durationOption(
        "clusterResyncIntervalMs",
        options.clusterResyncIntervalMs,
        SCHEDULER_DEFAULTS.clusterResyncIntervalMs,
      ),
      get sealing() {
        return durable.sealing;
      },
      hasHandler: (name) => this.#handlers.has(name),
      emit,
    });
    this.#skew = new ClockSkewMonitor({
      store: this.#store,
      logger: this.#logger,
      thresholdMs: durationOption(
        "maxClockSkewMs",
        options.maxClockSkewMs,
        SCHEDULER_DEFAULTS.maxClockSkewMs,
      ),
      intervalMs: durationOption(
        "clockSkewCheckIntervalMs",
        options.clockSkewCheckIntervalMs,
        SCHEDULER_DEFAULTS.clockSkewCheckIntervalMs,
      ),
      emit,
    });
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
    return this.#state === "started" || this.#state === "starting";
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
    checkTaskName(name);
    const checked = checkCallback(callback);
    const resolved = resolveTaskOptions(options);
    const existing = this.#tasks.get(name);
    if (existing !== undefined && !resolved.replace && existing.state === "quarantined")
      throw new DuplicateTaskError(name);
    if (typeof checked === "string" && !this.#handlers.has(checked)) {
      throw new InvalidArgumentError(
        "callback",
        "a function, { module, export }, or the name of a handler given to defineHandler()",
        checked,
        "no handler of that name is defined",
      );
    }
    if (typeof checked === "function" && this.#store.durable) {
      throw new InvalidArgumentError(
        "callback",
        `a handler name or { module, export } (the ${this.#store.kind} store cannot keep a function)`,
        checked,
      );
    }
    let zone = this.#timezone;
    if (resolved.timezone !== undefined) {
      zone = resolved.timezone;
      if (!this.#validZones.has(zone)) this.#validZones.add(checkZone("options.timezone", zone));
    }
    const nowMs = this.#clock.nowMs();
    const compiled = compileSchedule(schedule, {
      nowMs,
      timezone: zone,
      cache: this.#cronCache,
      startAtMs: Number.isFinite(resolved.startAtMs) ? resolved.startAtMs : undefined,
      dayMatch: resolved.dayMatch,
      dst: resolved.dst,
    });
    if (existing !== undefined && !resolved.replace) {
      // Registering on every start is normal: the same definition is a no-op that keeps the run state.
      const definition = {
        schedule: compiled.toSpec(),
        options: storedOptionsOf(resolved),
        callback: callbackRefOfInput(checked),
        payload: resolved.payload,
      };
      if (this.#durable.isSameAsExisting(existing, definition, checked))
        return Promise.resolve(existing.info());
      throw new DuplicateTaskError(name);
    }
    if (compiled.kind === "once" && schedule instanceof Date && schedule.getTime() < nowMs) {
      throw new InvalidArgumentError(
        "schedule",
        `a Date not in the past (now is ${new Date(nowMs).toISOString()})`,
        schedule,
      );
    }
    const firstRunMs = this.#engine.firstRun(compiled, resolved, nowMs);
    if (firstRunMs === null) {
      throw new InvalidArgumentError(
        "schedule",
        "a schedule that fires at least once" +
          (Number.isFinite(resolved.endAtMs) ? " before endAt" : ""),
        schedule,
        `${describeScheduleInput(schedule)} has no run after ${new Date(Math.max(nowMs, resolved.startAtMs)).toISOString()}`,
      );
    }
    // Validation is over: from here on nothing throws.
    const task = new Task(name, compiled, checked, resolved);
    if (existing !== undefined) this.#engine.detach(existing);
    this.#tasks.set(name, task);
    this.#engine.schedule(task, firstRunMs);
    if (this.listenerCount("task:registered") > 0)
      safeEmit(this, this.#logger, "task:registered", task.info());
    const replace = existing !== undefined;
    const store = this.#store;
    if (store.putTaskSync !== undefined) {
      try {
        store.putTaskSync(buildTaskRecord(task, this.#durable.storedCallback(task), nowMs), {
          replace,
        });
      } catch (error) {
        return Promise.reject(this.#undoRegistration(task, error));
      }
      return Promise.resolve(task.info());
    }
    // Sealed once the store is open (a missing key fails there, with its own message).
    const put = (): Promise<void> =>
      store.putTask(buildTaskRecord(task, this.#durable.storedCallback(task), nowMs), { replace });
    const stored = this.#sync.guard(
      name,
      (this.#isOpen ? Promise.resolve() : this.#ready()).then(put),
    );
    return stored.then(
      () => task.info(),
      (error: unknown) => {
        if (error instanceof DuplicateTaskError && !replace && store.durable) {
          // Stored by another process, or before start() loaded it: identical is a no-op.
          return this.#durable.adoptStored(task);
        }
        throw this.#undoRegistration(task, error);
      },
    );
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
      await this.#ready();
      await this.#sync.guard(name, store.deleteTask(name));
    }
    return true;
  }

  /** Pauses a task: no scheduled runs until `resumeTask` (a run in flight finishes). */
  async pauseTask(name: string): Promise<TaskInfo> {
    const task = this.#require(name);
    this.#engine.pause(task);
    await this.#persist(task);
    return task.info();
  }

  /** Resumes a paused task from now on (runs missed while paused are not caught up). */
  async resumeTask(name: string): Promise<TaskInfo> {
    const task = this.#require(name);
    this.#engine.resume(task);
    await this.#persist(task);
    return task.info();
  }

  /**
   * Runs a task now, respecting its overlap policy, and resolves when that run
   * has finished. When the task is running, a `skip` task resolves at once
   * with `skipped: 1`, and a `queue` task resolves at once with an empty
   * report while the run waits its turn (so a callback may trigger itself).
   */
  async triggerTask(name: string): Promise<RunReport> {
    const task = this.#require(name);
    await this.#ready();
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
   * Seals every stored callback record again with the primary key (the first
   * of the keyring), one record at a time: records sealed with another key of
   * the keyring, and plaintext records when `migratePlaintext` is set. Safe to
   * interrupt and to run again; no record is ever unreadable meanwhile (keep
   * the old key in the keyring until it reports nothing left to re-seal). A
   * record that does not open is quarantined and left as it is.
   */
  async rotateKeys(): Promise<RotationReport> {
    await this.#ready();
    return this.#durable.rotateKeys();
  }

  /** Run history from the store, newest first. */
  async history(
    taskName?: string,
    options: Omit<HistoryQuery, "taskName"> = {},
  ): Promise<RunRecord[]> {
    await this.#ready();
    return this.#store.history({ ...options, ...(taskName === undefined ? {} : { taskName }) });
  }

  /**
   * Runs every task that is due now and resolves when the runs it started
   * have finished (runs it queued behind a running one start when that one
   * ends, and are reported through events). Safe to call concurrently: a run
   * is collected by exactly one call. Never rejects because of a callback.
   */
  runPending(): Promise<RunReport> {
    const running = this.#runPendingNow();
    this.#pendingCalls.add(running);
    const done = (): void => void this.#pendingCalls.delete(running);
    running.then(done, done);
    return running;
  }

  async #runPendingNow(): Promise<RunReport> {
    const nowMs = this.#clock.nowMs();
    if (!this.#isOpen) await this.#ready();
    return this.#engine.runDue(nowMs);
  }

  /** Waits for `runPending()` calls in progress (the timer's), so that `advanceTo` moves time only between runs. */
  async #settlePendingCalls(): Promise<void> {
    while (this.#pendingCalls.size > 0) await Promise.allSettled([...this.#pendingCalls]);
  }

  /**
   * Moves a manual clock forward to `target`, stopping at every instant
   * something falls due and running it (`runPending()`), in order. Plays a
   * year of schedules in milliseconds. Resolves with the summed report.
   */
  async advanceTo(target: Date | number | string): Promise<RunReport> {
    const clock = this.#clock as Clock & { set?: (to: Date | number) => Date };
    if (typeof clock.set !== "function") {
      throw new InvalidArgumentError(
        "clock",
        "a ManualClock (advanceTo needs a clock it can set)",
        this.#clock,
      );
    }
    const targetMs =
      target instanceof Date
        ? target.getTime()
        : typeof target === "string"
          ? Date.parse(target)
          : target;
    if (!Number.isFinite(targetMs))
      throw new InvalidArgumentError("target", "a valid Date, epoch ms or ISO string", target);
    const total: RunReport = { ran: 0, succeeded: 0, failed: 0, skipped: 0 };
    const add = (report: RunReport): void => {
      total.ran += report.ran;
      total.succeeded += report.succeeded;
      total.failed += report.failed;
      total.skipped += report.skipped;
    };
    add(await this.runPending());
    for (;;) {
      const dueMs = this.#engine.nextDueMs();
      if (dueMs === null || dueMs > targetMs) break;
      await this.#settlePendingCalls();
      if (dueMs > clock.nowMs()) clock.set(dueMs);
      add(await this.runPending());
    }
    await this.#settlePendingCalls();
    if (targetMs > clock.nowMs()) clock.set(targetMs);
    add(await this.runPending());
    return total;
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
    if (this.#state === "started") return Promise.resolve();
    if (this.#state === "starting") return this.#startPromise as Promise<void>;
    // Every start/stop gets a generation; a continuation of a superseded call changes nothing.
    const generation = ++this.#generation;
    this.#state = "starting";
    const previousStop = this.#stopPromise ?? Promise.resolve();
    this.#startPromise = previousStop
      .then(() => this.#ready())
      .then(
        () => {
          if (generation !== this.#generation) return;
          this.#state = "started";
          this.#loop.start();
          this.#maintenance.start();
          // Claiming a burst ahead of its due time; a manual clock's time is not the timer's.
          if (!isManualClock(this.#clock)) this.#preclaimer.start();
          this.#health.resume();
          this.#sync.start();
          this.#skew.start();
        },
        (error: unknown) => {
          if (generation === this.#generation) this.#state = "stopped";
          throw error;
        },
      );
    return this.#startPromise;
  }

  /**
   * Stops the timer and waits for running callbacks to finish. Idempotent and
   * safe to call concurrently with `start()`. Called from inside a callback
   * before its first `await`, it does not wait for that callback itself; later
   * in a callback, do not await it (the callback would wait for itself).
   */
  stop(): Promise<void> {
    if (this.#state === "stopped") return this.#stopPromise ?? Promise.resolve();
    if (this.#state === "stopping") return this.#stopPromise as Promise<void>;
    const generation = ++this.#generation;
    const caller = this.#engine.calling;
    this.#state = "stopping";
    this.#loop.stop();
    this.#engine.cancelPlanned();
    this.#maintenance.stop();
    this.#sync.stop();
    this.#skew.stop();
    this.#health.stop();
    this.#stopPromise = (this.#startPromise ?? Promise.resolve())
      .catch(() => {})
      .then(() => {
        if (generation === this.#generation) this.#loop.stop();
        return this.#engine.drain(caller);
      })
      .then(() => this.#preclaimer.stop())
      .then(() => {
        // Pending retries stay claimed; their leases expire and a later start (or another process) recovers them.
        if (generation === this.#generation) this.#leased.stopRenewing();
      })
      .finally(() => {
        if (generation === this.#generation) this.#state = "stopped";
      });
    return this.#stopPromise;
  }

  /** `await using scheduler = new Scheduler(...)` stops it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** The store refused a registration: undo it, so memory and store agree. Returns the error to reject with. */
  #undoRegistration(task: Task, error: unknown): Error {
    if (this.#tasks.get(task.name) === task) {
      this.#tasks.delete(task.name);
      this.#engine.detach(task);
    }
    return error instanceof DuplicateTaskError
      ? error
      : new StoreError(`Could not store task ${JSON.stringify(task.name)}`, { cause: error });
  }

  #require(name: string): Task {
    const task = this.#tasks.get(name);
    if (task === undefined) throw new TaskNotFoundError(name);
    return task;
  }

  #ready(): Promise<void> {
    this.#opened ??= this.#store
      .open({ nodeId: this.#nodeId, clock: this.#clock })
      .then(() => this.#durable.prepare())
      .then(
        () => {
          this.#isOpen = true;
        },
        (error: unknown) => {
          this.#opened = undefined;
          throw error;
        },
      );
    return this.#opened;
  }

  async #persist(task: Task): Promise<void> {
    // A quarantined task's record is left exactly as it is.
    if (task.state === "quarantined") return;
    await this.#ready();
    await this.#sync.guard(task.name, this.#store.updateTaskProgress(task.name, progressOf(task)));
  }

  /** A held lease was lost: abort the attempt, leave its outcome to the node that reaps the claim. */
  #onLeaseLost(claim: Claim, error: LeaseLostError): void {
    const inFlight = this.#leases.lost(claim, error);
    safeLog(
      this.#logger,
      "warn",
      { err: error, taskName: claim.taskName, claimId: claim.id, inFlight },
      `Lost the lease of a run of ${JSON.stringify(claim.taskName)}` +
        (inFlight ? "; its callback was aborted and its outcome will not be recorded here" : ""),
    );
    safeEmit(this, this.#logger, "lease:lost", {
      taskName: claim.taskName,
      scheduledAt: new Date(claim.scheduledAt),
      claimId: claim.id,
      inFlight,
      error,
    });
  }

  #internalError(error: unknown, context: string): void {
    safeLog(this.#logger, "error", { err: error, context }, "Scheduler error");
    safeEmit(this, this.#logger, "scheduler:error", { error, context });
  }
}
