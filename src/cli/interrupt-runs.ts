import { safeLog, type Logger } from "../logger.js";
import { recordInterrupted } from "../engine/run-recovery.js";
import type { Store } from "../store/store.js";
import type { Clock } from "../time/clock.js";
import type { ProcessGroups } from "./handlers/process-groups.js";

/** Options of {@link interruptRuns}. */
export interface InterruptRunsOptions {
  /** The process groups of the commands running in this process. */
  readonly groups: ProcessGroups;
  /** The store the scheduler claims its runs in. */
  readonly store: Store;
  /** The scheduler's node id: the claims it still holds are its runs in flight. */
  readonly nodeId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Why the runs stopped, the error message of their history rows. */
  readonly reason: string;
  /**
   * Between SIGTERM and SIGKILL to the commands' process groups, in ms.
   * @defaultValue 1000
   */
  readonly killGraceMs?: number;
  /**
   * The longest releasing and recording may take (a PostgreSQL server may not answer), in ms.
   * @defaultValue 5000
   */
  readonly recordTimeoutMs?: number;
}

/** The defaults of {@link InterruptRunsOptions}. */
export const INTERRUPT_RUNS_DEFAULTS = Object.freeze({
  killGraceMs: 1_000,
  recordTimeoutMs: 5_000,
} satisfies Required<Pick<InterruptRunsOptions, "killGraceMs" | "recordTimeoutMs">>);

/**
 * Takes over the claims the node still holds and records their runs
 * interrupted, which releases them; resolves with how many.
 */
async function recordAll(options: InterruptRunsOptions): Promise<number> {
  const { store, clock, logger } = options;
  const claims = await store.reapExpiredClaims({ nodeId: options.nodeId, atStart: true });
  const nowMs = clock.nowMs();
  let recorded = 0;
  for (const claim of claims) {
    // Claimed ahead of its time, never started: given back without a row (its key unspent).
    if (claim.scheduledAt > nowMs) {
      if (store.giveBack !== undefined) await store.giveBack(claim.takenOver);
      else await store.releaseClaim(claim.takenOver);
      continue;
    }
    const attempt = await recordInterrupted(store, claim, nowMs, options.reason);
    if (attempt === null) continue;
    recorded++;
    safeLog(
      logger,
      "warn",
      {
        task: claim.taskName,
        scheduledAt: new Date(claim.scheduledAt).toISOString(),
        ...(attempt > 1 ? { attempt } : {}),
      },
      "run interrupted",
    );
  }
  return recorded;
}

/**
 * Ends this process's runs at once, before it exits (a second SIGINT, Ctrl-C
 * on `orchestrator trigger`), rather than leaving their commands running and
 * their claims to expire: halts `groups` (no command starts any more, and
 * handlers stop reporting), stops every command's process group (SIGTERM,
 * then SIGKILL after `killGraceMs`), then releases every claim the node still
 * holds and records its run `interrupted`, without a retry (it was asked to
 * stop). Resolves with the number of runs recorded; never rejects (a store
 * error is logged, and the claims then expire as after a crash).
 */
export async function interruptRuns(options: InterruptRunsOptions): Promise<number> {
  const { groups, logger } = options;
  groups.halt();
  await groups.stopAll(options.killGraceMs ?? INTERRUPT_RUNS_DEFAULTS.killGraceMs);
  const timeoutMs = options.recordTimeoutMs ?? INTERRUPT_RUNS_DEFAULTS.recordTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<number>((resolve) => {
    timer = setTimeout(() => {
      safeLog(logger, "error", { timeoutMs }, "gave up recording the interrupted runs");
      resolve(0);
    }, timeoutMs);
  });
  try {
    return await Promise.race([recordAll(options), gaveUp]);
  } catch (error) {
    safeLog(logger, "error", { err: error }, "could not record the interrupted runs");
    return 0;
  } finally {
    clearTimeout(timer);
  }
}
