import type { Keyring } from "../../crypto/keyring.js";
import { silentLogger } from "../../logger.js";
import { Scheduler, type SchedulerOptions } from "../../scheduler/index.js";
import type { RunRecord, Store, StoreChange, TaskRecord } from "../../store/store.js";
import type { SignalSource } from "../daemon.js";
import { defineDaemonHandlers } from "../daemon-handlers.js";
import { ProcessGroups } from "../handlers/process-groups.js";
import { CancelRequestWatcher } from "../cancel-requests.js";
import { interruptRuns } from "../interrupt-runs.js";
import { commandProcessRecorder } from "../orphaned-commands.js";
import { createCliDispatcher, createStore, findCliKey, resolveCliKey } from "../open-store.js";
import { createDaemonRedactor } from "../secret-redactor.js";
import { describeTriggerReport } from "../../http/audit-trail.js";
import { parseStatuses } from "../../http/history-query.js";
import { runView, type RunView } from "../../http/run-view.js";
import {
  readRecentDurations,
  storedTaskView,
  type StoredTask,
  type TaskView,
} from "../../http/task-view.js";
import { recordAudit } from "./audit.js";
import { EXIT } from "./io.js";
import {
  CLI_NODE_ID,
  guarded,
  locate,
  requireTask,
  UsageError,
  withStore,
  type StoreCommandContext,
  type StoreFlags,
} from "./store-access.js";
import { formatHistory, formatTaskTable, taskListNotes } from "./store-format.js";
import { inspectTasks } from "./task-inspection.js";
import { TaskNotFoundError } from "../../errors.js";

/**
 * `orchestrator list`: the tasks in the store, as a table or JSON (the API's
 * task view, with `running` null), each in its real state: a task whose
 * record does not open with the key the daemon would use is shown
 * quarantined (stores keep no such state). Without any key, the stored states
 * are shown and a note says they are unchecked.
 */
export function runListCommand(
  flags: StoreFlags & { json?: boolean },
  context: StoreCommandContext,
): Promise<number> {
  return guarded(context.io, () =>
    withStore(flags, context, async (store, location) => {
      const key = await findCliKey(location, context.env);
      const tasks = inspectTasks(await store.listTasks(), key);
      context.io.stdout(
        flags.json === true
          ? `${JSON.stringify(await taskViews(store, tasks), null, 2)}\n`
          : formatTaskTable(tasks, context.clock.nowMs()),
      );
      const notes = taskListNotes(tasks);
      if (notes !== "") context.io.stderr(notes);
      return EXIT.ok;
    }),
  );
}

/** The tasks' views, each with the durations of its latest runs (from the store's summaries where it keeps them). */
async function taskViews(store: Store, tasks: readonly StoredTask[]): Promise<TaskView[]> {
  const durations = await readRecentDurations(
    store,
    tasks.map((task) => task.record.name),
  );
  return tasks.map((task) => storedTaskView(task, durations.get(task.record.name) ?? []));
}

/** The runs' views, outputs included (as the API's history gives them by default). */
function runViews(runs: readonly RunRecord[]): RunView[] {
  return runs.map((run) => runView(run));
}

/**
 * `orchestrator history [task]`: run history, newest first, a page at a time
 * (`--limit`, `--offset`), of some statuses (`--status failed,cancelled`);
 * as JSON, the API's run view, whole (`truncated` false).
 */
export function runHistoryCommand(
  task: string | undefined,
  flags: StoreFlags & { json?: boolean; limit?: string; offset?: string; status?: string },
  context: StoreCommandContext,
): Promise<number> {
  return guarded(context.io, () =>
    withStore(flags, context, async (store) => {
      const limit = Number(flags.limit ?? "20");
      if (!Number.isInteger(limit) || limit < 1)
        throw new UsageError(`--limit: expected a whole number from 1, got ${flags.limit ?? ""}`);
      const offset = Number(flags.offset ?? "0");
      if (!Number.isInteger(offset) || offset < 0)
        throw new UsageError(`--offset: expected a whole number from 0, got ${flags.offset ?? ""}`);
      const statuses =
        flags.status === undefined ? undefined : parseStatuses(flags.status, "--status");
      if (typeof statuses === "string") throw new UsageError(statuses);
      const runs = await store.history({
        limit,
        offset,
        ...(statuses === undefined ? {} : { statuses }),
        ...(task === undefined ? {} : { taskName: task }),
      });
      if (task !== undefined && runs.length === 0) await requireTask(store, task);
      context.io.stdout(
        flags.json === true ? `${JSON.stringify(runViews(runs), null, 2)}\n` : formatHistory(runs),
      );
      return EXIT.ok;
    }),
  );
}

/**
 * `orchestrator pause|resume <task>`: writes the task's state in the store. A
 * daemon on the same SQLite file applies it within a second (it reads task
 * states from the store); on PostgreSQL the change is announced to every node.
 */
export function runPauseResumeCommand(
  action: "pause" | "resume",
  task: string,
  flags: StoreFlags,
  context: StoreCommandContext,
): Promise<number> {
  return guarded(context.io, () =>
    withStore(flags, context, async (store) => {
      const record = await requireTask(store, task);
      const target = action === "pause" ? "paused" : "active";
      if (record.state === "quarantined" || record.state === "completed") {
        const reason = `Task ${JSON.stringify(task)} is ${record.state}: it cannot be ${action}d`;
        await recordAudit(store, context, {
          action,
          taskName: task,
          result: "failed",
          detail: reason,
        });
        throw new UsageError(reason);
      }
      if (record.state !== target) await writeState(store, record, target);
      await recordAudit(store, context, {
        action,
        taskName: task,
        result: "ok",
        detail: record.state === target ? `it was ${target} already` : null,
      });
      context.io.stdout(
        `${JSON.stringify(task)} is ${target}${record.state === target ? " (it already was)" : ""}\n`,
      );
      return EXIT.ok;
    }),
  );
}

/** How long `pause`/`resume` watch a SQLite store for a daemon's run overwriting the new state. */
const STATE_SETTLE_MS = 1_500;

function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/**
 * Writes a task's state. On PostgreSQL the change is announced (NOTIFY) to
 * every node. On SQLite a running daemon picks it up by reading states every
 * 250 ms; until it has, a run finishing there may write the old state back,
 * so the state is watched for a while and written again if that happened.
 */
async function writeState(
  store: Store,
  record: TaskRecord,
  target: "paused" | "active",
): Promise<void> {
  const write = async (from: TaskRecord): Promise<void> => {
    await store.updateTaskProgress(from.name, {
      state: target,
      // A paused task has no next run; the scheduler that resumes it computes one.
      nextRunAt: target === "paused" ? null : from.nextRunAt,
      lastRunAt: from.lastRunAt,
      lastStatus: from.lastStatus,
      runCount: from.runCount,
    });
  };
  await write(record);
  const notify = (store as { notify?: (change: StoreChange) => Promise<void> }).notify;
  if (notify !== undefined) {
    await notify.call(store, { kind: "upsert", taskName: record.name });
    return;
  }
  for (let rewrites = 0, waited = 0; waited < STATE_SETTLE_MS && rewrites < 10;) {
    await delay(100);
    waited += 100;
    const now = await store.getTask(record.name);
    if (now === undefined || now.state === target) continue;
    if (now.state !== record.state) return;
    await write(now);
    rewrites++;
    waited = 0;
  }
}

type CliScheduler = Scheduler & {
  rotateKeys?: () => Promise<unknown>;
};

/**
 * A scheduler on the store with the daemon's key and handlers, opened but not
 * started; `close` stops it, or with `abandon` (its runs were interrupted and
 * recorded) closes the dispatcher and the store without waiting for them.
 */
async function openScheduler(
  flags: StoreFlags,
  context: StoreCommandContext,
  groups?: ProcessGroups,
): Promise<{
  scheduler: CliScheduler;
  store: Store;
  close: (abandon?: boolean) => Promise<void>;
}> {
  const location = locate(flags, context);
  const { encryptionKey } = await resolveCliKey(location, context.env, false);
  const store = await createStore(location);
  const dispatcher = createCliDispatcher();
  const options: SchedulerOptions & { encryptionKey?: Keyring } = {
    store,
    clock: context.clock,
    logger: silentLogger,
    encryptionKey,
    nodeId: `${CLI_NODE_ID}:${process.pid}`,
    oneShot: true,
  };
  const scheduler: CliScheduler = new Scheduler(dispatcher, options);
  defineDaemonHandlers(scheduler, {
    env: context.env,
    stopSignal: new AbortController().signal,
    redactor: createDaemonRedactor({ env: context.env, keyring: encryptionKey, store: location }),
    ...(groups === undefined ? {} : { groups }),
    // A daemon that reaps this run after a crash of this process stops what it left running.
    onCommandSpawn: commandProcessRecorder(store, silentLogger),
  });
  // Opens the store; a Scheduler that keeps tasks in a durable store loads them here.
  await scheduler.history(undefined, { limit: 1 });
  return {
    scheduler,
    store,
    close: async (abandon = false) => {
      if (!abandon) await scheduler.stop();
      await dispatcher.close().catch(() => {});
      await store.close().catch(() => {});
    },
  };
}

/** The exit code of a command stopped by a signal (128 + SIGINT's 2, as shells report Ctrl-C). */
const EXIT_INTERRUPTED = 130;

/**
 * `orchestrator trigger <task>`: runs the task now, in this process, with the
 * daemon's handlers (a running daemon is not involved; the run is recorded in
 * the store's history like any other). Exit 0 when it succeeded, 1 when not.
 * SIGINT (Ctrl-C), SIGTERM or SIGHUP stops the command's process group,
 * records the run `interrupted` and exits 130 (a second one SIGKILLs at once).
 */
export function runTriggerCommand(
  task: string,
  flags: StoreFlags,
  context: StoreCommandContext,
): Promise<number> {
  return guarded(context.io, async () => {
    await withStore(flags, context, (store) => requireTask(store, task));
    const groups = new ProcessGroups();
    const unhookExit = groups.killOnExit();
    const { scheduler, store, close } = await openScheduler(flags, context, groups);
    let interrupted = false;
    let stopListening = (): void => {};
    const interruption = new Promise<"interrupted">((resolve) => {
      stopListening = listen(context.signals, (signal) => {
        if (groups.halted) {
          groups.killAll();
          return;
        }
        context.io.stderr(`${signal}: stopping ${JSON.stringify(task)}\n`);
        void interruptRuns({
          groups,
          store,
          nodeId: scheduler.nodeId,
          clock: context.clock,
          logger: silentLogger,
          reason: `orchestrator trigger was interrupted (${signal})`,
        }).then(() => resolve("interrupted"));
      });
    });
    // `orchestrator cancel` reaches this run as it reaches a daemon's.
    const cancels = CancelRequestWatcher.of(scheduler, silentLogger);
    cancels?.start();
    try {
      if (scheduler.getTask(task) === undefined) {
        throw new TaskNotFoundError(task);
      }
      const report = await Promise.race([scheduler.triggerTask(task), interruption]);
      if (report === "interrupted") {
        interrupted = true;
        context.io.stderr(`${JSON.stringify(task)} was stopped; its run is recorded interrupted\n`);
        await recordAudit(scheduler.store, context, {
          action: "trigger",
          taskName: task,
          result: "failed",
          detail: "interrupted",
        });
        return EXIT_INTERRUPTED;
      }
      await recordAudit(scheduler.store, context, {
        action: "trigger",
        taskName: task,
        result: "ok",
        detail: describeTriggerReport(report),
      });
      const [last] = await scheduler.history(task, { limit: 1 });
      if (report.skipped > 0) {
        context.io.stdout(`${JSON.stringify(task)} is running already: skipped (overlap skip)\n`);
        return EXIT.ok;
      }
      context.io.stdout(
        last === undefined ? `${JSON.stringify(task)} ran\n` : formatHistory([last]),
      );
      if (last?.output !== undefined)
        context.io.stdout(`${JSON.stringify(last.output, null, 2)}\n`);
      return report.failed > 0 ? 1 : EXIT.ok;
    } finally {
      cancels?.stop();
      stopListening();
      unhookExit();
      await close(interrupted);
    }
  });
}

const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Calls `listener` on each stop signal from `signals`; returns the function that stops listening. */
function listen(
  signals: SignalSource | undefined,
  listener: (signal: NodeJS.Signals) => void,
): () => void {
  if (signals === undefined) return () => {};
  const listeners = STOP_SIGNALS.map((signal) => [signal, () => listener(signal)] as const);
  for (const [signal, on] of listeners) signals.on(signal, on);
  return () => {
    for (const [signal, on] of listeners) signals.off(signal, on);
  };
}

/** `orchestrator keys rotate`: re-seals every stored record with the primary key. */
export function runRotateKeysCommand(
  flags: StoreFlags,
  context: StoreCommandContext,
): Promise<number> {
  return guarded(context.io, async () => {
    const { scheduler, close } = await openScheduler(flags, context);
    try {
      const result = await scheduler.rotateKeys();
      const failed = result.failed.length;
      await recordAudit(scheduler.store, context, {
        action: "rotate-keys",
        taskName: null,
        result: failed > 0 ? "failed" : "ok",
        detail: `${result.resealed} re-sealed, ${result.unchanged} unchanged, ${failed} failed`,
      });
      context.io.stdout(
        `Key rotation done: ${result.resealed} re-sealed with the primary key, ` +
          `${result.unchanged} already sealed with it, ${failed} failed\n`,
      );
      if (failed > 0) context.io.stderr(`${JSON.stringify(result?.failed, null, 2)}\n`);
      return failed > 0 ? 1 : EXIT.ok;
    } finally {
      await close();
    }
  });
}
