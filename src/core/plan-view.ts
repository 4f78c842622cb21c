import { formatLocalIso, formatOffset } from "../time/instant-text.js";
import type { Zone } from "../time/zone.js";
import type { DstMark, PlannedDstChange, RunPlan, TaskPlan } from "./run-plan.js";

function hhmm(naiveMs: number): string {
  return new Date(naiveMs).toISOString().slice(11, 16);
}

function runs(count: number): string {
  return count === 1 ? "the run in it" : `the ${count} runs in it`;
}

/**
 * A daylight-saving change and its effect on a task, in one sentence:
 * "2024-03-10 02:00–03:00 does not exist in America/New_York (clocks go forward): the run in it runs at 03:00".
 */
export function describeDstChange(change: PlannedDstChange): string {
  const day = new Date(change.localFromMs).toISOString().slice(0, 10);
  const span = `${day} ${hhmm(change.localFromMs)}–${hhmm(change.localToMs)}`;
  if (change.kind === "gap") {
    const head = `${span} does not exist in ${change.timezone} (clocks go forward)`;
    if (change.effect === "shifted") {
      return `${head}: ${runs(change.matching)} ${change.matching === 1 ? "runs" : "run once"} at ${hhmm(change.localToMs)} instead`;
    }
    return `${head}: ${runs(change.matching)} ${change.matching === 1 ? "does" : "do"} not happen`;
  }
  const head = `${span} happens twice in ${change.timezone} (clocks go back)`;
  if (change.effect === "once") {
    return `${head}: ${runs(change.matching)} ${change.matching === 1 ? "runs" : "run"} once, on the first pass`;
  }
  return `${head}: ${runs(change.matching)} ${change.matching === 1 ? "runs" : "run"} on both passes`;
}

/** A planned run as JSON: UTC and local (in the plan's zone) ISO 8601. */
export interface PlannedRunView {
  readonly taskName: string;
  /** UTC, ISO 8601. */
  readonly at: string;
  /** The same instant in the plan's zone, with its offset: "2024-03-10T03:00:00-04:00". */
  readonly local: string;
  readonly dst: DstMark | null;
}

/** A daylight-saving change as JSON. */
export interface DstChangeView {
  readonly taskName: string;
  /** The task's zone (the change's). */
  readonly timezone: string;
  /** The instant of the change, UTC ISO 8601. */
  readonly at: string;
  readonly kind: PlannedDstChange["kind"];
  readonly effect: PlannedDstChange["effect"];
  /** How many of the task's local times fall in the skipped or repeated interval. */
  readonly matching: number;
  /** The interval in the task's zone, local date-times without offset: [localFrom, localTo). */
  readonly localFrom: string;
  readonly localTo: string;
  readonly offsetBefore: string;
  readonly offsetAfter: string;
  readonly description: string;
}

/** A plan as the JSON API (`GET /api/plan`) and `orchestrator plan --json` both show it. */
export interface PlanView {
  readonly from: string;
  readonly to: string;
  /** The zone of every `local` time. */
  readonly timezone: string;
  readonly truncated: boolean;
  readonly runs: readonly PlannedRunView[];
  readonly tasks: readonly TaskPlan[];
  readonly dstChanges: readonly DstChangeView[];
}

function naiveIso(naiveMs: number): string {
  return new Date(naiveMs).toISOString().slice(0, 19);
}

/** The JSON view of a plan, local times in `zone`. */
export function planView(plan: RunPlan, zone: Zone): PlanView {
  return {
    from: new Date(plan.fromMs).toISOString(),
    to: new Date(plan.toMs).toISOString(),
    timezone: zone.name,
    truncated: plan.truncated,
    runs: plan.runs.map((run) => ({
      taskName: run.taskName,
      at: new Date(run.atMs).toISOString(),
      local: formatLocalIso(run.atMs, zone),
      dst: run.dst,
    })),
    tasks: plan.tasks,
    dstChanges: plan.dstChanges.map((change) => ({
      taskName: change.taskName,
      timezone: change.timezone,
      at: new Date(change.atMs).toISOString(),
      kind: change.kind,
      effect: change.effect,
      matching: change.matching,
      localFrom: naiveIso(change.localFromMs),
      localTo: naiveIso(change.localToMs),
      offsetBefore: formatOffset(change.offsetBeforeMs),
      offsetAfter: formatOffset(change.offsetAfterMs),
      description: describeDstChange(change),
    })),
  };
}
