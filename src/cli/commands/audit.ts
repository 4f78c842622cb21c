import { hostname, userInfo } from "node:os";
import { appendAudit, type AuditResult } from "../../store/daemon-records.js";
import type { Store } from "../../store/store.js";
import type { Clock } from "../../time/clock.js";
import type { CommandIO } from "./io.js";

/** What {@link recordAudit} needs from a store command's context. */
export interface AuditContext {
  readonly io: CommandIO;
  readonly clock: Clock;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** One state-changing action of a CLI command. */
export interface CliAction {
  /** `pause`, `resume`, `trigger`, `remove`, `rotate-keys`, … */
  readonly action: string;
  /** The task acted on; null for none (key rotation). */
  readonly taskName: string | null;
  readonly result: AuditResult;
  readonly detail?: string | null;
}

/** Who runs the command, as the audit log names it: `cli:<user>@<host>`. */
export function cliActor(env: Readonly<Record<string, string | undefined>>): string {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): fall back on the environment.
    user = undefined;
  }
  return `cli:${user || env.USER || env.LOGNAME || "unknown"}@${hostname()}`;
}

/**
 * Appends what a CLI command did to the store's audit log, as
 * `cli:<user>@<host>`. Every command that changes state calls it once
 * the outcome is known. Never throws: a lost row is a warning on stderr, and
 * the command's exit code stays that of its action.
 */
export async function recordAudit(
  store: Store,
  context: AuditContext,
  entry: CliAction,
): Promise<void> {
  await appendAudit(
    store.records,
    {
      at: context.clock.nowMs(),
      actor: cliActor(context.env),
      action: entry.action,
      taskName: entry.taskName,
      result: entry.result,
      detail: entry.detail ?? null,
    },
    (error) => {
      const reason = error instanceof Error ? error.message : String(error);
      context.io.stderr(`warning: the action was not written to the audit log: ${reason}\n`);
    },
  );
}
