import { hostname } from "node:os";
import { resolve } from "node:path";
import type { Keyring } from "../crypto/keyring.js";
import type { HttpServer } from "../http/server.js";
import { safeLog } from "../logger.js";
import { Scheduler, type SchedulerOptions } from "../scheduler/index.js";
import type { Clock } from "../time/clock.js";
import { EXIT, type CommandIO } from "./commands/io.js";
import { createConsoleLogger } from "./console-logger.js";
import { containFloatingRejections, type RejectionSource } from "./floating-rejections.js";
import { announceDashboard, startDaemonDashboard } from "./daemon-dashboard.js";
import { commandActionOf, defineDaemonHandlers } from "./daemon-handlers.js";
import { commandProcessRecorder, settleOrphanedCommands } from "./orphaned-commands.js";
import { READ_TOKEN_ENV, TOKEN_ENV } from "./child-env.js";
import { checkDashboardTokens } from "./dashboard-token.js";
import { ProcessGroups } from "./handlers/process-groups.js";
import { interruptRuns } from "./interrupt-runs.js";
import { createCliDispatcher, createStore, resolveCliKey } from "./open-store.js";
import { securePrivateDatabase } from "./private-files.js";
import { logRuns, schedulerLogger } from "./run-logging.js";
import { parseRunFlags, type RunFlags, type RunSettings } from "./run-options.js";
import { ScheduleReloader, readSchedule } from "./schedule-reloader.js";
import { createDaemonRedactor } from "./secret-redactor.js";
import { ScheduleOwnership, scheduleSource } from "./schedule-ownership.js";
import { startAuditRetention } from "./audit-retention.js";
import type { ScheduleSpec } from "./schedule-spec.js";
import { effectiveHistoryMaxAge } from "./history-retention.js";
import { describeStoreLocation } from "./store-url.js";
import { defaultDaemonNodeId } from "./node-id.js";
import { StoreStateSync } from "./store-state-sync.js";
import { CancelRequestWatcher } from "./cancel-requests.js";
import { VERSION } from "./version.js";
import { OrchestratorError } from "../errors.js";
import { Heartbeat, reloadFileHeartbeat } from "./heartbeat.js";
import { daemonHeartbeatTarget, type HeartbeatTarget } from "./heartbeat-spec.js";
import { startNotifications, type Notifications } from "./notify/notifications.js";
import { waitAtMost } from "../time/wait-at-most.js";

/** Signals the daemon listens to; `process` in production, an EventEmitter in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

/** What the daemon needs from its surroundings. */
export interface DaemonContext {
  readonly io: CommandIO;
  readonly clock: Clock;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly signals: SignalSource;
  /** Unhandled rejections are logged here while the daemon runs, not fatal (`process`); absent in tests. */
  readonly rejections?: RejectionSource;
  /** Ends the process (a second SIGINT/SIGTERM: code 130, once its runs are stopped and recorded). */
  readonly exitNow: (code: number) => void;
}

/** The Scheduler options the daemon passes. */
type DaemonSchedulerOptions = SchedulerOptions & { encryptionKey?: Keyring };

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function runningCount(scheduler: Scheduler): number {
  return scheduler.listTasks().filter((task) => task.running).length;
}

/**
 * `orchestrator run`: runs a schedule file in the foreground until SIGINT or
 * SIGTERM, then stops claiming, waits up to `--grace-ms` for running runs
 * (then kills what is left, recorded as failed), closes the store and
 * resolves 0. A second signal stops the commands' process groups, records the
 * runs in flight `interrupted` and exits with 130 (a third exits at once).
 * Commands still running when the process exits are killed. SIGHUP (and `--watch`)
 * reload the file. Resolves 2 for bad flags, an invalid schedule, a missing
 * key, or a dashboard that may not start; 1 when the store cannot be opened.
 */
export async function runDaemon(
  file: string | undefined,
  flags: RunFlags,
  context: DaemonContext,
): Promise<number> {
  const { io, clock, env } = context;
  let settings: RunSettings;
  try {
    settings = parseRunFlags(flags, context.cwd);
  } catch (error) {
    io.stderr(`error: ${message(error)}\n`);
    return EXIT.usage;
  }
  const logger = createConsoleLogger({
    format: settings.logFormat,
    color: io.color && settings.logFormat === "pretty",
    write: io.stdout,
    now: () => clock.nowMs(),
    deferred: true,
  });
  // The lines still held are written when the process ends, however it ends (exitNow, a crash).
  process.once("exit", () => logger.flush());
  const schedulePath = file === undefined ? undefined : resolve(context.cwd, file);

  let reloader: ScheduleReloader | undefined;
  let ownership: ScheduleOwnership | undefined;
  let stopAuditRetention = (): void => {};
  let notifications: Notifications | undefined = undefined;
  let initial: ScheduleSpec | undefined;
  if (schedulePath !== undefined) {
    initial = await readSchedule(schedulePath, logger, () => clock.nowMs(), env);
    if (initial === undefined) {
      io.stderr(`error: ${schedulePath} is invalid (see above); nothing was started\n`);
      return EXIT.usage;
    }
  }

  let key: Awaited<ReturnType<typeof resolveCliKey>>;
  let beat: HeartbeatTarget | undefined;
  try {
    beat = daemonHeartbeatTarget(settings.heartbeat, initial?.heartbeat, env);
    if (settings.http !== undefined) {
      await checkDashboardTokens(
        {
          admin: env[TOKEN_ENV]?.trim() || undefined,
          readOnly: env[READ_TOKEN_ENV]?.trim() || undefined,
        },
        settings.http.host,
      );
    }
    key = await resolveCliKey(settings.store, env, true);
    if (settings.store.kind === "sqlite") await securePrivateDatabase(settings.store.path, logger);
  } catch (error) {
    io.stderr(`error: ${message(error)}\n`);
    return EXIT.usage;
  }
  if (key.keySource.kind === "key-file" && key.keySource.created) {
    safeLog(
      logger,
      "info",
      { keyFile: key.keySource.path },
      "created an encryption key file (mode 0600) for the task records; back it up with the database, or set ORCHESTRATOR_ENCRYPTION_KEY",
    );
  }

  // A damaged SQLite file is refused before anything is scheduled (exit 1).
  const store = await createStore(settings.store, { quickCheck: true });
  const dispatcher = createCliDispatcher();
  const schedulerOptions: DaemonSchedulerOptions = {
    store,
    clock,
    logger: schedulerLogger(logger),
    encryptionKey: key.encryptionKey,
    nodeId: settings.nodeId ?? defaultDaemonNodeId(hostname(), settings.store),
    // Commands a dead daemon left running are stopped (or waited for) before their runs are retried.
    beforeRecovery: (claims) =>
      settleOrphanedCommands(claims, {
        logger,
        nowMs: () => clock.nowMs(),
        commandOf: (name) => commandActionOf(scheduler.getTask(name)?.payload),
      }),
  };
  const historyMaxAgeMs = effectiveHistoryMaxAge(
    settings.historyMaxAgeMs,
    initial?.historyMaxAgeMs,
  );
  if (historyMaxAgeMs > 0) schedulerOptions.historyRetention = { maxAgeMs: historyMaxAgeMs };
  const scheduler = new Scheduler(dispatcher, schedulerOptions);
  const stopController = new AbortController();
  const redactor = createDaemonRedactor({ env, keyring: key.encryptionKey, store: settings.store });
  for (const secret of beat?.secrets ?? []) redactor.add(secret);
  const heartbeat = new Heartbeat({ scheduler, logger, redactor });
  const groups = new ProcessGroups();
  // For the process's lifetime: commands a stop could not end are killed whenever it exits.
  groups.killOnExit();
  defineDaemonHandlers(scheduler, {
    env,
    stopSignal: stopController.signal,
    onOutput: logRuns(scheduler, logger),
    redactor,
    groups,
    onCommandSpawn: commandProcessRecorder(store, logger),
  });

  let http: HttpServer | undefined;
  const closeAll = async (): Promise<void> => {
    stopAuditRetention();
    await reloader?.close();
    await ownership?.stop();
    await notifications?.stop();
    await http?.close().catch(() => {});
    await dispatcher.close().catch(() => {});
    await store.close().catch(() => {});
  };

  if (settings.http !== undefined) {
    try {
      http = await startDaemonDashboard(scheduler, settings.http, env, logger);
      redactor.add(http.token);
      if (http.metrics !== null) heartbeat.registerMetrics(http.metrics.registry);
    } catch (error) {
      io.stderr(`error: --http ${flags.http ?? ""}: ${message(error)}\n`);
      await closeAll();
      return EXIT.usage;
    }
  }

  // Signals are handled from here on, so a stop during start-up is orderly too.
  let stopping: Promise<void> | undefined;
  let resolveStopped: () => void = () => {};
  const stopped = new Promise<void>((done) => {
    resolveStopped = done;
  });
  const onStopSignal = (signal: NodeJS.Signals) => (): void => {
    if (groups.halted) {
      groups.killAll();
      context.exitNow(130);
      return;
    }
    if (stopping !== undefined) {
      io.stderr(`${signal} again: stopping the running commands and exiting\n`);
      const reason = `the daemon was stopped at once (${signal} twice)`;
      void interruptRuns({ groups, store, nodeId: scheduler.nodeId, clock, logger, reason }).then(
        () => context.exitNow(130),
      );
      return;
    }
    stopping = shutdown(signal).then(resolveStopped);
  };
  const onInt = onStopSignal("SIGINT");
  const onTerm = onStopSignal("SIGTERM");
  const onHup = (): void => {
    if (reloader === undefined) {
      safeLog(logger, "warn", {}, "SIGHUP: no schedule file to reload");
      return;
    }
    safeLog(logger, "info", { file: schedulePath }, "SIGHUP: reloading the schedule file");
    void reloader.reload();
  };
  context.signals.on("SIGINT", onInt);
  context.signals.on("SIGTERM", onTerm);
  context.signals.on("SIGHUP", onHup);
  // Another live process took this node id (after this one lost its store
  // connection): two nodes with one id take each other's runs, so this one goes.
  let exitCode: number = EXIT.ok;
  scheduler.on("scheduler:error", (event) => {
    if (event.context !== "node-id" || stopping !== undefined) return;
    exitCode = EXIT.invalid;
    stopping = shutdown("SIGTERM").then(resolveStopped);
  });
  const sync = settings.store.kind === "sqlite" ? new StoreStateSync(scheduler, logger) : undefined;
  const cancels = CancelRequestWatcher.of(scheduler, logger);

  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    const running = runningCount(scheduler);
    safeLog(
      logger,
      "info",
      { signal, running, graceMs: settings.graceMs },
      running > 0 ? "stopping: waiting for running runs" : "stopping",
    );
    sync?.stop();
    heartbeat.stop();
    cancels?.stop();
    await reloader?.close();
    const stop = scheduler.stop();
    if (!(await waitAtMost(stop, settings.graceMs))) {
      safeLog(
        logger,
        "warn",
        { running: runningCount(scheduler) },
        "grace period over: killing running runs (they are recorded as failed)",
      );
      stopController.abort(new OrchestratorError("ERR_ABORTED", `the daemon stopped (${signal})`));
      await waitAtMost(stop, 10_000);
    }
    await closeAll();
    safeLog(logger, "info", {}, "stopped");
  };

  const fail = async (error: unknown, code: number = EXIT.invalid): Promise<number> => {
    safeLog(logger, "error", { err: error }, "cannot start the scheduler");
    io.stderr(`error: ${message(error)}\n`);
    context.signals.off("SIGINT", onInt);
    context.signals.off("SIGTERM", onTerm);
    context.signals.off("SIGHUP", onHup);
    await closeAll();
    return code;
  };
  try {
    // Opens the store, which loads the stored tasks, without starting the
    // timer: the file is applied first, so that a task removed from it while
    // the daemon was down never runs again, not even once at start.
    await scheduler.history(undefined, { limit: 1 });
  } catch (error) {
    return fail(error);
  }
  stopAuditRetention = startAuditRetention(store, logger);
  notifications = startNotifications({ scheduler, store, clock, logger, env, redactor });
  if (initial !== undefined) notifications.configure(initial);
  if (schedulePath !== undefined && initial !== undefined) {
    ownership = new ScheduleOwnership({
      store,
      logger,
      source: scheduleSource(settings.nodeId, hostname(), schedulePath),
      nodeId: scheduler.nodeId,
      path: schedulePath,
    });
    reloader = new ScheduleReloader({
      scheduler,
      file: schedulePath,
      logger,
      now: () => clock.nowMs(),
      env,
      ownership,
      onLoaded: (schedule) => {
        if (settings.heartbeat === undefined)
          reloadFileHeartbeat(heartbeat, schedule.heartbeat, { env, redactor, logger });
        notifications?.configure(schedule);
        if (settings.historyMaxAgeMs !== undefined) return;
        const wanted = effectiveHistoryMaxAge(undefined, schedule.historyMaxAgeMs);
        if (wanted !== historyMaxAgeMs) {
          safeLog(
            logger,
            "warn",
            { historyMaxAgeMs: wanted, inForceMs: historyMaxAgeMs },
            "historyMaxAge changed in the file: it applies when the daemon restarts",
          );
        }
      },
    });
    if (stopping === undefined && (await reloader.apply(initial, "applied")) === "refused")
      return fail(
        `${schedulePath} could not be applied (see above); nothing was started`,
        EXIT.usage,
      );
    ownership.start();
  }
  try {
    if (stopping === undefined) await scheduler.start();
  } catch (error) {
    return fail(error);
  }
  if (settings.watch && stopping === undefined) {
    if (reloader === undefined) safeLog(logger, "warn", {}, "--watch: no schedule file to watch");
    else reloader.watch();
  }
  sync?.start();
  if (stopping === undefined) heartbeat.configure(beat);
  cancels?.start();
  if (stopping === undefined) {
    safeLog(
      logger,
      "info",
      {
        version: VERSION,
        store: describeStoreLocation(settings.store),
        node: scheduler.nodeId,
        tasks: scheduler.size,
        pid: process.pid,
      },
      "orchestrator running; stop with Ctrl-C (SIGINT) or SIGTERM, reload with SIGHUP",
    );
  }
  if (http !== undefined) announceDashboard(http, env, settings.logFormat, logger, io);

  // The daemon runs until a signal, even when no task has a next run (all
  // paused, or none yet): without this, an empty event loop would end it.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const releaseRejections =
    context.rejections === undefined
      ? () => {}
      : containFloatingRejections(context.rejections, logger);
  await stopped;
  releaseRejections();
  clearInterval(keepAlive);
  context.signals.off("SIGINT", onInt);
  context.signals.off("SIGTERM", onTerm);
  context.signals.off("SIGHUP", onHup);
  return exitCode;
}
