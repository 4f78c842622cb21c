import { DuplicateTaskError } from "../errors.js";
import type { Scheduler } from "../scheduler.js";
import { isDaemonPayload } from "./daemon-handlers.js";
import type { TaskSpec } from "./schedule-spec.js";
import { toRegistration, type Registration } from "./to-registration.js";

/** What applying a schedule did, task names in file order. */
export interface ApplyResult {
  readonly added: string[];
  readonly changed: string[];
  readonly removed: string[];
  readonly unchanged: string[];
  readonly failed: { readonly name: string; readonly error: unknown }[];
}

/**
 * What the daemon applied so far: the fingerprint of each task it registered
 * (kept across reloads, so an unchanged task is not touched at all).
 */
export type AppliedState = Map<string, string>;

/** Options of {@link applySchedule}. */
export interface ApplyOptions {
  /**
   * Remove every task not in the file, not only those the daemon registered:
   * for a store the daemon has to itself (SQLite). With a shared store only
   * tasks whose payload carries the daemon's mark, or that this daemon
   * registered, are removed.
   */
  readonly removeUnmarked: boolean;
}

async function register(
  scheduler: Scheduler,
  registration: Registration,
  replace: boolean,
): Promise<void> {
  await scheduler.registerTask(registration.name, registration.schedule, registration.callback, {
    ...registration.options,
    replace,
  });
}

/**
 * Makes the scheduler's tasks what the file says: registers new tasks,
 * replaces changed ones (a run in flight finishes; the scheduler does not
 * start the old definition again), leaves identical ones and their state
 * alone, and removes tasks that are no longer in the file (see
 * {@link ApplyOptions.removeUnmarked}). A task that cannot be registered is
 * reported in `failed` and the others are applied.
 */
export async function applySchedule(
  scheduler: Scheduler,
  tasks: readonly TaskSpec[],
  state: AppliedState,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const result: ApplyResult = { added: [], changed: [], removed: [], unchanged: [], failed: [] };
  const names = new Set(tasks.map((task) => task.name));
  for (const spec of tasks) {
    const registration = toRegistration(spec);
    const existing = scheduler.getTask(spec.name);
    const knownPrint =
      state.get(spec.name) ??
      (isDaemonPayload(existing?.payload) ? existing.payload.fingerprint : undefined);
    try {
      if (existing?.state === "quarantined") {
        // Its record does not open with this key: replacing it would seal the
        // file's version with this (perhaps wrong) key, and other nodes of a
        // cluster could no longer open it.
        throw new Error(
          `task ${JSON.stringify(spec.name)} is quarantined (its stored record cannot be opened with this encryption key); it is left as it is: start with the right key, or remove the task from the store`,
        );
      }
      if (existing !== undefined && knownPrint === registration.fingerprint) {
        result.unchanged.push(spec.name);
      } else if (existing !== undefined && knownPrint !== undefined) {
        await register(scheduler, registration, true);
        result.changed.push(spec.name);
      } else {
        // Not known to be different (a new task, or a module task loaded from
        // the store): an identical re-registration keeps the stored task and
        // its state; a different one is refused as a duplicate, then replaced.
        try {
          await register(scheduler, registration, false);
          (existing === undefined ? result.added : result.unchanged).push(spec.name);
        } catch (error) {
          if (!(error instanceof DuplicateTaskError)) throw error;
          await register(scheduler, registration, true);
          result.changed.push(spec.name);
        }
      }
      state.set(spec.name, registration.fingerprint);
    } catch (error) {
      result.failed.push({ name: spec.name, error });
    }
  }
  for (const info of scheduler.listTasks()) {
    if (names.has(info.name) || info.state === "quarantined") continue;
    const owned = options.removeUnmarked || state.has(info.name) || isDaemonPayload(info.payload);
    if (!owned) continue;
    try {
      await scheduler.unregisterTask(info.name);
      state.delete(info.name);
      result.removed.push(info.name);
    } catch (error) {
      result.failed.push({ name: info.name, error });
    }
  }
  return result;
}

/** `3 added, 1 changed, 0 removed, 2 unchanged` (and `, 1 failed` when any did). */
export function summarizeApply(result: ApplyResult): string {
  const parts = [
    `${result.added.length} added`,
    `${result.changed.length} changed`,
    `${result.removed.length} removed`,
    `${result.unchanged.length} unchanged`,
  ];
  if (result.failed.length > 0) parts.push(`${result.failed.length} failed`);
  return parts.join(", ");
}
