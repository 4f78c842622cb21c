import { setTimeout as delay } from "node:timers/promises";
import { safeLog, type Logger } from "../logger.js";
import type { Claim, ClaimProcess, ClaimRef, Store } from "../store/store.js";
import { processStartTime, recordedGroupState } from "./handlers/proc-stat.js";
import { signalGroup } from "./handlers/process-groups.js";
import type { CommandActionSpec } from "./schedule-spec.js";

/**
 * What a restarted daemon does with a command its dead predecessor left
 * running (the `orphans` field of a command task): `stop` it (SIGTERM to its
 * process group, SIGKILL after the kill grace), or `wait` for it to exit.
 */
export type OrphanPolicy = "stop" | "wait";

/** Options of {@link settleOrphanedCommands}. */
export interface OrphanedCommandsOptions {
  readonly logger: Logger;
  /** The task's command action now; undefined when the task is gone or runs no command. */
  readonly commandOf: (taskName: string) => CommandActionSpec | undefined;
  /** The clock of `Claim.claimedAt` (a waited-for command is stopped at its timeout from there). */
  readonly nowMs: () => number;
  /**
   * Between SIGTERM and SIGKILL, in ms.
   * @defaultValue 5000
   */
  readonly killGraceMs?: number;
  /**
   * How often a group is looked at while it is stopped or waited for, in ms.
   * @defaultValue 50
   */
  readonly pollMs?: number;
}

const DEFAULT_KILL_GRACE_MS = 5_000;
const DEFAULT_POLL_MS = 50;

/** Waits until the recorded group no longer runs, or `untilMs` passed; resolves whether it is gone. */
async function waitForGroup(
  { pgid, startTime }: ClaimProcess,
  untilMs: number,
  pollMs: number,
  nowMs: () => number,
): Promise<boolean> {
  for (;;) {
    if (recordedGroupState(pgid, startTime) !== "running") return true;
    if (nowMs() >= untilMs) return false;
    await delay(pollMs);
  }
}

/**
 * Stops a recorded group: SIGTERM, then SIGKILL after `graceMs`, each sent
 * only while the group is still the one recorded. Resolves whether it is gone.
 */
async function stopGroup(
  recorded: ClaimProcess,
  graceMs: number,
  pollMs: number,
  nowMs: () => number,
): Promise<boolean> {
  const { pgid, startTime } = recorded;
  if (recordedGroupState(pgid, startTime) !== "running") return true;
  signalGroup(pgid, "SIGTERM");
  if (await waitForGroup(recorded, nowMs() + graceMs, pollMs, nowMs)) return true;
  if (recordedGroupState(pgid, startTime) === "running") signalGroup(pgid, "SIGKILL");
  return waitForGroup(recorded, nowMs() + graceMs, pollMs, nowMs);
}

/** Deals with the command one interrupted run left; resolves with the note for its history row. */
async function settleOne(
  claim: Claim,
  recorded: ClaimProcess,
  options: OrphanedCommandsOptions,
): Promise<string | undefined> {
  const { logger, nowMs } = options;
  const graceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const { pgid } = recorded;
  const fields = {
    task: claim.taskName,
    scheduledAt: new Date(claim.scheduledAt).toISOString(),
    pgid,
  };
  const group = `its command (process group ${pgid})`;
  switch (recordedGroupState(pgid, recorded.startTime)) {
    case "elsewhere":
      return undefined;
    case "gone":
      return `${group} had exited`;
    case "other":
      safeLog(
        logger,
        "info",
        fields,
        "the process group of an interrupted run's command is gone (its id names another group now)",
      );
      return `${group} had exited`;
    case "running":
      break;
  }
  const action = options.commandOf(claim.taskName);
  if (action?.orphans === "wait") {
    const timeoutMs = action.timeoutMs;
    const untilMs = timeoutMs === undefined ? Infinity : claim.claimedAt + timeoutMs;
    safeLog(
      logger,
      "warn",
      { ...fields, ...(timeoutMs === undefined ? {} : { timeoutMs }) },
      `waiting for the command of task ${JSON.stringify(claim.taskName)} left running by a daemon that died (orphans: wait)`,
    );
    if (await waitForGroup(recorded, untilMs, pollMs, nowMs))
      return `${group} was still running; the daemon waited for it to exit`;
    safeLog(logger, "warn", fields, "the command left running passed its timeout: stopping it");
    const gone = await stopGroup(recorded, graceMs, pollMs, nowMs);
    return `${group} was still running past its timeout and was ${gone ? "stopped" : "killed"}`;
  }
  safeLog(
    logger,
    "warn",
    fields,
    `stopping the command of task ${JSON.stringify(claim.taskName)} left running by a daemon that died`,
  );
  const gone = await stopGroup(recorded, graceMs, pollMs, nowMs);
  if (!gone)
    safeLog(logger, "error", fields, "the command left running did not exit after SIGKILL");
  return `${group} was still running and was ${gone ? "stopped" : "killed"}`;
}

/**
 * The daemon's `beforeRecovery`: for each interrupted run whose claim
 * recorded a command's process group (see {@link commandProcessRecorder}),
 * stops that group if it still runs — SIGTERM, SIGKILL after the kill grace
 * — or, for a task with `orphans: wait`, waits for it to exit (stopping it at
 * the task's timeout, counted from the attempt's claim). A group whose id now
 * names another process, or recorded on another boot or machine, is never
 * signalled. Groups are dealt with together; resolves once every one is, with
 * a note per claim for its `interrupted` row.
 */
export async function settleOrphanedCommands(
  claims: readonly Claim[],
  options: OrphanedCommandsOptions,
): Promise<Map<string, string>> {
  const notes = new Map<string, string>();
  await Promise.all(
    claims.map(async (claim) => {
      if (claim.process === undefined) return;
      const note = await settleOne(claim, claim.process, options);
      if (note !== undefined) notes.set(claim.id, note);
    }),
  );
  return notes;
}

/**
 * Records each command's process group and its leader's start on the run's
 * claim (`Store.recordProcess`), so that a daemon restarted after this one
 * died can tell it still runs. Never throws: a failed write is logged (the
 * command runs anyway; only a restart after a crash would not know it).
 */
export function commandProcessRecorder(
  store: Store,
  logger: Logger,
): (claim: ClaimRef, pgid: number) => void {
  return (claim, pgid) => {
    const startTime = processStartTime(pgid);
    if (store.recordProcess === undefined || startTime === undefined) return;
    store.recordProcess(claim, { pgid, startTime }).then(
      () => {},
      (error: unknown) =>
        safeLog(
          logger,
          "warn",
          { task: claim.taskName, pgid, err: error },
          "could not record the process group of a command: a restart after a crash would not stop it",
        ),
    );
  };
}
