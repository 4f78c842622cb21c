import { DuplicateTaskError, StoreError } from "../errors.js";
import type { Scheduler } from "../scheduler/index.js";
import { isDaemonPayload } from "./daemon-handlers.js";
import type { SourcePosition, TaskSpec } from "./schedule-spec.js";
import { toRegistration, type Registration } from "./to-registration.js";

/** A task the apply did not change as the file says, and why. */
export interface ApplyFailure {
  readonly name: string;
  readonly error: unknown;
  /** Where the task starts in the file (absent for a task removed from it). */
  readonly position?: SourcePosition;
}

/** What applying a schedule did, task names in file order. */
export interface ApplyResult {
  readonly added: string[];
  readonly changed: string[];
  readonly removed: string[];
  readonly unchanged: string[];
  readonly failed: ApplyFailure[];
  /**
   * True when the checks made before changing anything refused a task: then
   * nothing at all was changed, and `failed` says why.
   */
  readonly refused: boolean;
}

/**
 * What the daemon applied so far: the fingerprint of each task it registered
 * (kept across reloads, so an unchanged task is not touched at all).
 */
export type AppliedState = Map<string, string>;

/** Options of {@link applySchedule}. */
export interface ApplyOptions {
  /**
   * Whether a task that is not in the file may be removed: only tasks this
   * daemon's file added (see `ScheduleOwnership.prepare`), never those of
   * another daemon's file or of a program sharing the store.
   */
  readonly mayRemove: (taskName: string) => boolean;
}

/** What to do with one task of the file. */
interface Step {
  readonly spec: TaskSpec;
  readonly registration: Registration;
  /**
   * `unchanged`: nothing; `replace`: a changed task; `register`: a new task,
   * or one not known to be different (an identical re-registration keeps it
   * and its state; a different one is refused as a duplicate, then replaced).
   */
  readonly kind: "unchanged" | "replace" | "register";
  readonly exists: boolean;
}

function registerWith(
  scheduler: Scheduler,
  registration: Registration,
  replace: boolean,
): Promise<unknown> {
  return scheduler.registerTask(registration.name, registration.schedule, registration.callback, {
    ...registration.options,
    replace,
  });
}

function quarantined(spec: TaskSpec): ApplyFailure {
  // Its record does not open with this key: replacing it would seal the
  // file's version with this (perhaps wrong) key, and other nodes of a
  // cluster could no longer open it.
  return {
    name: spec.name,
    position: spec.position,
    error: new StoreError(
      `task ${JSON.stringify(spec.name)} is quarantined (its stored record cannot be opened with this encryption key); it is left as it is: start with the right key, or remove the task from the store`,
    ),
  };
}

/**
 * Sorts the file's tasks into steps, and runs every check of `registerTask`
 * on each task to register (`checkTask`), so that a schedule with any task
 * the scheduler would refuse changes nothing: those are `refusals`.
 */
function plan(
  scheduler: Scheduler,
  tasks: readonly TaskSpec[],
  state: AppliedState,
): { steps: Step[]; skipped: ApplyFailure[]; refusals: ApplyFailure[] } {
  const steps: Step[] = [];
  const skipped: ApplyFailure[] = [];
  const refusals: ApplyFailure[] = [];
  for (const spec of tasks) {
    const registration = toRegistration(spec);
    const existing = scheduler.getTask(spec.name);
    if (existing?.state === "quarantined") {
      skipped.push(quarantined(spec));
      continue;
    }
    const knownPrint =
      state.get(spec.name) ??
      (isDaemonPayload(existing?.payload) ? existing.payload.fingerprint : undefined);
    const exists = existing !== undefined;
    if (exists && knownPrint === registration.fingerprint) {
      steps.push({ spec, registration, kind: "unchanged", exists });
      continue;
    }
    try {
      scheduler.checkTask(registration.name, registration.schedule, registration.callback, {
        ...registration.options,
        replace: exists,
      });
    } catch (error) {
      refusals.push({ name: spec.name, position: spec.position, error });
    }
    steps.push({
      spec,
      registration,
      kind: exists && knownPrint !== undefined ? "replace" : "register",
      exists,
    });
  }
  return { steps, skipped, refusals };
}

async function applyStep(scheduler: Scheduler, step: Step, result: ApplyResult): Promise<void> {
  const { registration, spec } = step;
  if (step.kind === "unchanged") {
    result.unchanged.push(spec.name);
    return;
  }
  if (step.kind === "replace") {
    await registerWith(scheduler, registration, true);
    result.changed.push(spec.name);
    return;
  }
  try {
    await registerWith(scheduler, registration, false);
    (step.exists ? result.unchanged : result.added).push(spec.name);
  } catch (error) {
    if (!(error instanceof DuplicateTaskError)) throw error;
    await registerWith(scheduler, registration, true);
    result.changed.push(spec.name);
  }
}

/**
 * Makes the scheduler's tasks what the file says: registers new tasks,
 * replaces changed ones (a run in flight finishes; the scheduler does not
 * start the old definition again), leaves identical ones and their state
 * alone, and removes tasks that are no longer in the file (see
 * {@link ApplyOptions.mayRemove}).
 *
 * All or nothing as far as the scheduler allows: every task is checked
 * first, and if the scheduler would refuse any, nothing changes
 * (`refused`). A store that fails while the tasks are then registered fails
 * that task alone (in `failed`) and the others are applied; the next apply
 * tries it again. A quarantined task is left as it is (in `failed`).
 */
export async function applySchedule(
  scheduler: Scheduler,
  tasks: readonly TaskSpec[],
  state: AppliedState,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const { steps, skipped, refusals } = plan(scheduler, tasks, state);
  const result: ApplyResult = {
    added: [],
    changed: [],
    removed: [],
    unchanged: [],
    failed: refusals.length > 0 ? refusals : skipped,
    refused: refusals.length > 0,
  };
  if (result.refused) return result;
  for (const step of steps) {
    try {
      await applyStep(scheduler, step, result);
      state.set(step.spec.name, step.registration.fingerprint);
    } catch (error) {
      result.failed.push({ name: step.spec.name, position: step.spec.position, error });
    }
  }
  const names = new Set(tasks.map((task) => task.name));
  for (const info of scheduler.listTasks()) {
    if (names.has(info.name) || info.state === "quarantined") continue;
    if (!options.mayRemove(info.name)) continue;
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
