import type { EventEmitter } from "node:events";
import type { Dispatcher } from "../core/dispatcher.js";
import { CronCache } from "../core/schedule.js";
import type { Task, TaskCallback } from "../core/task.js";
import { safeEmit, type SchedulerEvents } from "../events.js";
import { safeLog } from "../logger.js";
import { DurableTasks } from "../durable/durable-tasks.js";
import { LeasedStore } from "../leasing/leased-store.js";
import { Maintenance } from "../cluster/maintenance.js";
import { SchemaWatch } from "../cluster/schema-watch.js";
import { AheadClaimer } from "../leasing/ahead-claimer.js";
import { ClusterSync } from "../cluster/cluster-sync.js";
import { ClockSkewMonitor } from "../cluster/clock-skew.js";
import { MAX_BEAT_MS, Membership } from "../cluster/membership.js";
import { RendezvousShare } from "../cluster/work-share.js";
import { takeoverDelayMs } from "../leasing/work-share.js";
import { LeaseGuard } from "../leasing/lease-guard.js";
import { StoreHealth } from "../cluster/store-health.js";
import { RunEngine } from "../engine/run-engine.js";
import type { RunReport } from "../engine/run.js";
import type { SchedulerSettings } from "./scheduler-settings.js";
import type { Claim, ClaimRequest } from "../store/store.js";
import { RegistrationValidator } from "./task-registration.js";
import { HeldBackClock, isManualClock, type Clock } from "../time/clock.js";
import { TimerLoop } from "../time/timer-loop.js";

/** What the components need from the Scheduler they make up: its events, and two of its members. */
export interface ComponentsHost extends EventEmitter<SchedulerEvents> {
  /** Read on every use: it may change. */
  readonly testMode: boolean;
  runPending(): Promise<RunReport>;
}

/** The parts of a Scheduler, wired to one another. */
export interface SchedulerComponents {
  /** The clock runs go by: the scheduler's, held back when this node's is ahead of a shared store's. */
  readonly runClock: Clock;
  readonly tasks: Map<string, Task>;
  /** Handlers given to `defineHandler`, by name. */
  readonly handlers: Map<string, TaskCallback>;
  /** The store as the components see it (claims held and renewed). */
  readonly leased: LeasedStore;
  readonly engine: RunEngine;
  readonly loop: TimerLoop;
  readonly durable: DurableTasks;
  readonly aheadClaimer: AheadClaimer;
  readonly maintenance: Maintenance;
  readonly health: StoreHealth;
  readonly sync: ClusterSync;
  readonly skew: ClockSkewMonitor;
  /** This node's heartbeats in the store's membership, and the share of the work computed from it. */
  readonly membership: Membership;
  readonly registration: RegistrationValidator;
}

/**
 * Builds the parts of `scheduler` and wires them to one another: their
 * events are emitted on `scheduler`, and the timer runs `scheduler.runPending()`.
 */
export function createComponents(
  scheduler: ComponentsHost,
  dispatcher: Dispatcher,
  settings: SchedulerSettings,
): SchedulerComponents {
  const { logger, store, nodeId, leaseMs } = settings;
  // A shared store with a clock of its own: runs go by this node's clock held back by
  // however far it is ahead of the store's, so that none starts before its time there.
  const heldBack =
    store.measureClockSkew !== undefined && !isManualClock(settings.clock)
      ? new HeldBackClock(settings.clock)
      : undefined;
  const clock = heldBack ?? settings.clock;
  const tasks = new Map<string, Task>();
  const handlers = new Map<string, TaskCallback>();
  const cronCache = new CronCache();
  const leases = new LeaseGuard();
  const emit = <K extends keyof SchedulerEvents>(event: K, ...payload: SchedulerEvents[K]): void =>
    safeEmit(scheduler, logger, event, ...payload);
  const internalError = (error: unknown, context: string): void => {
    safeLog(logger, "error", { err: error, context }, "Scheduler error");
    emit("scheduler:error", { error, context });
  };
  const leased = new LeasedStore(store, {
    leaseMs,
    exclusive: (taskName) => tasks.get(taskName)?.options.overlap === "skip",
    // A held lease was lost: abort the attempt, leave its outcome to the node that reaps the claim.
    onLeaseLost: (claim, error) => {
      const inFlight = leases.lost(claim, error);
      safeLog(
        logger,
        "warn",
        { err: error, taskName: claim.taskName, claimId: claim.id, inFlight },
        `Lost the lease of a run of ${JSON.stringify(claim.taskName)}` +
          (inFlight ? "; its callback was aborted and its outcome will not be recorded here" : ""),
      );
      emit("lease:lost", {
        taskName: claim.taskName,
        scheduledAt: new Date(claim.scheduledAt),
        claimId: claim.id,
        inFlight,
        error,
      });
    },
    onRenewError: (error, claim) =>
      emit("scheduler:error", { error, context: "renew", taskName: claim.taskName }),
  });
  // The nodes of a shared store with a membership share the work (rendezvous hashing).
  const share = new RendezvousShare({
    nodeId,
    takeoverDelayMs: takeoverDelayMs(leaseMs),
    onSuspect: () => membership.beatSoon(),
  });
  const sharing = settings.shareWork && store.shared && store.heartbeatNode !== undefined;
  const membership = new Membership({
    store,
    enabled: sharing,
    nodeId,
    leaseMs,
    logger,
    share,
    emit,
    // Tasks whose first three nodes all left at once: nobody took their runs over since the
    // others could last have counted those nodes live; the new owner records that gap.
    nodesLeft: () => {
      const fromMs = clock.nowMs() - leaseMs - MAX_BEAT_MS;
      for (const [name, task] of tasks)
        if (share.owns(name) && share.lostItsThree(name)) engine.rewind(task, fromMs);
    },
  });
  const engine = new RunEngine({
    clock,
    store: leased,
    dispatcher,
    logger,
    nodeId,
    leaseMs,
    emit,
    hasListeners: (event) => scheduler.listenerCount(event) > 0,
    task: (name) => tasks.get(name),
    planAhead: settings.planAhead,
    ...(settings.beforeRecovery === undefined ? {} : { beforeRecovery: settings.beforeRecovery }),
    handler: (name) => handlers.get(name),
    poke: (dueMs) => loop.poke(dueMs),
    heldBack: () => health.notStarted(1),
    ...(leased.canClaimAhead
      ? {
          claimsAhead: {
            take: (taskName: string, scheduledAtMs: number) =>
              leased.takeClaimedAhead(taskName, scheduledAtMs, nodeId),
            hold: (claim: Claim) => leased.holdClaimedAhead(claim),
          },
        }
      : {}),
    ...(sharing
      ? {
          share: {
            owns: (taskName: string) => share.owns(taskName),
            backs: (taskName: string) => share.backs(taskName),
            takesOver: (taskName: string) => share.takesOver(taskName),
            takeoverDelayMs: share.takeoverDelayMs,
            suspect: () => share.suspect(),
            takeOver: (requests: readonly ClaimRequest[]) => leased.takeOver(requests),
            heldAhead: (taskName: string, scheduledAtMs: number) =>
              leased.heldAhead(taskName, scheduledAtMs),
          },
        }
      : {}),
    ...(store.shared
      ? {
          // A shared store's runs may lose their lease to another process: each attempt
          // gets an AbortSignal (one per run, small beside a claim's round trip).
          leases,
          leaseLeftMs: (claim: Claim) => leased.leaseLeftMs(claim),
          claimGate: (call, runs) => health.call("claim", call, { runs }),
          writeGate: (call, claim) =>
            health.call("finish", call, { holds: () => leased.holds(claim) }),
          abandon: (claim) => leased.abandon(claim),
          settleGate: (call) => health.call("finish", call, { holds: () => true }),
          finishWritten: () => health.succeeded("finish"),
        }
      : {}),
  });
  const loop = new TimerLoop({
    clock,
    nextDueMs: () => engine.nextDueMs(),
    onDue: () => {
      scheduler.runPending().catch((error: unknown) => internalError(error, "timer"));
    },
    // A manual clock's instants are set by the test, not waited for: nothing to plan ahead
    // (with planAhead "always", the engine plans each instant as it collects it).
    ...(isManualClock(clock)
      ? {}
      : {
          planLeadMs: (dueMs: number) => engine.planLeadMs(dueMs),
          onSoon: (dueMs: number) => {
            try {
              engine.planAhead(dueMs);
            } catch (error) {
              internalError(error, "timer");
            }
          },
        }),
    onJump: (jump) => {
      safeLog(
        logger,
        "warn",
        { driftMs: jump.driftMs },
        "Wall-clock jump detected; applying misfire policies",
      );
      emit("clock:jump", jump);
    },
    unref: settings.unref,
  });
  // Durable tasks and cluster sync both keep the task table and rebuild tasks from store records.
  const taskTableHost = {
    store: leased,
    clock,
    logger,
    cronCache,
    engine,
    tasks,
    hasHandler: (name: string) => handlers.has(name),
    emit,
  };
  const durable = new DurableTasks({
    ...taskTableHost,
    nodeId,
    leaseMs,
    encryptionKey: settings.encryptionKey,
    migratePlaintext: settings.migratePlaintext,
    recoverInterrupted: (atStart: boolean) => engine.recoverInterrupted(atStart),
    oneShot: settings.oneShot,
    get testMode() {
      return scheduler.testMode;
    },
  });
  const aheadClaimer = new AheadClaimer({
    store: leased,
    clock,
    nodeId,
    leaseMs,
    nextDueMs: () => engine.nextDueMs(),
    dueBy: (untilMs, limit, afterMs, busy) => engine.dueBy(untilMs, limit, afterMs, busy),
    ...(sharing ? { share } : {}),
    emit,
  });
  const maintenance = new Maintenance({
    store: leased,
    clock,
    leaseMs,
    retention: settings.retention,
    keepLast: () => {
      const limits = new Map<string, number>();
      for (const [name, task] of tasks) {
        if (Number.isFinite(task.options.keepLast)) limits.set(name, task.options.keepLast);
      }
      return limits;
    },
    reap: () => engine.recoverInterrupted(false),
    storeUsable: () => health.reachable,
    checkSchema: () => schemaWatch.check(),
    emit,
  });
  const schemaWatch = new SchemaWatch({
    store,
    logger,
    stopClaiming: (reason) => leased.stopClaiming(reason),
    emit,
  });
  const health = new StoreHealth({ store, clock, logger, giveUpMs: leaseMs, emit });
  const sync = new ClusterSync({
    ...taskTableHost,
    resyncIntervalMs: settings.clusterResyncIntervalMs,
    get sealing() {
      return durable.sealing;
    },
  });
  const skew = new ClockSkewMonitor({
    store,
    logger,
    thresholdMs: settings.maxClockSkewMs,
    intervalMs: settings.clockSkewCheckIntervalMs,
    ...(heldBack === undefined ? {} : { heldBack }),
    emit,
  });
  const registration = new RegistrationValidator({
    clock,
    store,
    timezone: settings.timezone,
    cronCache,
    engine,
    durable,
    tasks,
    handlers,
  });
  return {
    runClock: clock,
    tasks,
    handlers,
    leased,
    engine,
    loop,
    durable,
    aheadClaimer,
    maintenance,
    health,
    sync,
    skew,
    membership,
    registration,
  };
}
