import { planView, type PlanView } from "../../core/plan-view.js";
import { planRuns, type PlanTask } from "../../core/run-plan.js";
import { compileSchedule, CronCache } from "../../core/schedule.js";
import type { Clock } from "../../time/clock.js";
import { formatLocalIso, INSTANT_TEXT_FORMS, parseInstantText } from "../../time/instant-text.js";
import { isValidTimeZone, processTimeZone, resolveZone, type Zone } from "../../time/zone.js";
import { loadScheduleOffThread } from "../load-schedule-off-thread.js";
import { formatScheduleError, formatScheduleWarning } from "../schedule-file.js";
import type { TaskSpec } from "../schedule-spec.js";
import { toRegistration } from "../to-registration.js";
import { EXIT, type CommandIO } from "./io.js";

/** Options of `orchestrator plan`. */
export interface PlanCommandOptions {
  readonly from?: string;
  readonly to?: string;
  readonly tz?: string;
  readonly limit: string;
  readonly json?: boolean;
}

const HOUR_MS = 3_600_000;
/** The default window (24 h), the longest (366 days) and the most runs listed. */
export const PLAN_COMMAND_LIMITS = Object.freeze({
  defaultWindowMs: 24 * HOUR_MS,
  maxWindowMs: 366 * 24 * HOUR_MS,
  defaultRuns: 1000,
  maxRuns: 100_000,
});

const MARKS: Record<string, string> = {
  shifted: "moved by daylight saving (spring forward)",
  "first-pass": "repeated hour (fall back): first pass",
  "second-pass": "repeated hour (fall back): second pass",
};

class UsageError extends Error {}

interface Window {
  readonly zone: Zone;
  readonly fromMs: number;
  readonly toMs: number;
  readonly limit: number;
}

function windowOf(options: PlanCommandOptions, nowMs: number): Window {
  if (options.tz !== undefined && !isValidTimeZone(options.tz)) {
    throw new UsageError(
      `--tz must be an IANA time zone name such as Europe/Berlin or UTC, got ${JSON.stringify(options.tz)}`,
    );
  }
  const zone = resolveZone(options.tz ?? processTimeZone());
  const instant = (flag: "--from" | "--to", text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const ms = parseInstantText(text, zone);
    if (Number.isNaN(ms)) {
      throw new UsageError(`${flag} must be ${INSTANT_TEXT_FORMS}, got ${JSON.stringify(text)}`);
    }
    return ms;
  };
  const fromMs = instant("--from", options.from) ?? nowMs;
  const toMs = instant("--to", options.to) ?? fromMs + PLAN_COMMAND_LIMITS.defaultWindowMs;
  if (toMs <= fromMs) throw new UsageError("--to must be after --from");
  if (toMs - fromMs > PLAN_COMMAND_LIMITS.maxWindowMs) {
    throw new UsageError("--from..--to must span at most 366 days");
  }
  const limit = Number(options.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > PLAN_COMMAND_LIMITS.maxRuns) {
    throw new UsageError(
      `--limit must be a whole number from 1 to ${PLAN_COMMAND_LIMITS.maxRuns}, got ${JSON.stringify(options.limit)}`,
    );
  }
  return { zone, fromMs, toMs, limit };
}

/**
 * A file's task as the planner sees it, compiled as `run` registers it: its
 * zone (else this machine's), `dayMatch`, `dst`, `startAt`, `endAt` and
 * `maxRuns`. An interval with no `startAt` is anchored at the window's start,
 * as `run` anchors it when it registers the task.
 */
function planTaskOf(spec: TaskSpec, cache: CronCache, fromMs: number): PlanTask {
  const registration = toRegistration(spec);
  const options = registration.options;
  const startAtMs = options.startAt === undefined ? undefined : new Date(options.startAt).getTime();
  const endAtMs = options.endAt === undefined ? undefined : new Date(options.endAt).getTime();
  const schedule = compileSchedule(registration.schedule, {
    nowMs: fromMs,
    timezone: options.timezone ?? processTimeZone(),
    cache,
    startAtMs,
    dayMatch: options.dayMatch,
    dst: options.dst,
  });
  // Registered at --from, an interval first runs one interval later, not at --from itself.
  const firstMs = startAtMs ?? (schedule.kind === "interval" ? fromMs + 1 : undefined);
  return {
    name: spec.name,
    schedule,
    ...(firstMs === undefined ? {} : { startAtMs: firstMs }),
    ...(endAtMs === undefined ? {} : { endAtMs }),
    ...(options.maxRuns === undefined ? {} : { runsLeft: options.maxRuns }),
  };
}

/** "Sun 2024-03-10 03:00:00 -04:00". */
function localText(ms: number, zone: Zone): string {
  const weekday = new Intl.DateTimeFormat("en-US", { timeZone: zone.name, weekday: "short" });
  const iso = formatLocalIso(ms, zone);
  return `${weekday.format(ms)} ${iso.slice(0, 10)} ${iso.slice(11, 19)} ${iso.slice(19)}`;
}

function printText(
  view: PlanView,
  plan: { fromMs: number; toMs: number },
  file: string,
  io: CommandIO,
): void {
  const zone = resolveZone(view.timezone);
  const total = view.tasks.reduce((sum, task) => sum + task.count, 0);
  io.stdout(
    `${file}: ${total} run${total === 1 ? "" : "s"} of ${view.tasks.length} task${view.tasks.length === 1 ? "" : "s"} ` +
      `from ${localText(plan.fromMs, zone)} to ${localText(plan.toMs, zone)} (${view.timezone})\n`,
  );
  const width = Math.max(4, ...view.runs.map((run) => run.taskName.length));
  for (const run of view.runs) {
    const at = Date.parse(run.at);
    const mark = run.dst === null ? "" : `  ${MARKS[run.dst] ?? run.dst}`;
    io.stdout(
      `  ${localText(at, zone)}  ${run.at.replace(".000Z", "Z")}  ${run.taskName.padEnd(width)}${mark}`.trimEnd() +
        "\n",
    );
  }
  if (view.truncated) {
    io.stdout(
      `  … ${total - view.runs.length} more not listed (the first ${view.runs.length}; raise --limit or narrow --from/--to)\n`,
    );
    for (const task of view.tasks) {
      if (task.listed < task.count)
        io.stdout(`    ${task.name}: ${task.listed} of ${task.count} listed\n`);
    }
  }
  if (view.dstChanges.length > 0) {
    io.stdout("Daylight saving:\n");
    for (const change of view.dstChanges)
      io.stdout(`  ${change.taskName}: ${change.description}\n`);
  }
}

/**
 * `orchestrator plan <file> [--from] [--to] [--tz] [--limit] [--json]`: the
 * file checked exactly as `run` checks it, then every run its tasks would make
 * in [from, to) (default now → 24 h later), in order, in local time (`--tz`,
 * default this machine's zone) and UTC, with daylight-saving notes. Exit 1
 * when the file is invalid, 2 for a bad flag.
 */
export async function runPlanCommand(
  file: string,
  options: PlanCommandOptions,
  io: CommandIO,
  clock: Clock,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  let window: Window;
  try {
    window = windowOf(options, clock.nowMs());
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`error: ${error.message}\n`);
    return EXIT.usage;
  }
  const result = await loadScheduleOffThread(file, {
    nowMs: clock.nowMs(),
    envNames: Object.keys(env).filter((name) => env[name] !== undefined),
  });
  for (const warning of result.warnings) io.stderr(`${formatScheduleWarning(warning)}\n`);
  if (!result.ok) {
    for (const error of result.errors) io.stderr(`${formatScheduleError(error)}\n`);
    io.stderr(`${file}: invalid, nothing planned\n`);
    return EXIT.invalid;
  }
  const cache = new CronCache();
  const tasks = result.schedule.tasks.map((spec) => planTaskOf(spec, cache, window.fromMs));
  const plan = planRuns(tasks, window);
  const view = planView(plan, window.zone);
  if (options.json) io.stdout(`${JSON.stringify({ file, ...view }, null, 2)}\n`);
  else printText(view, plan, file, io);
  return EXIT.ok;
}
