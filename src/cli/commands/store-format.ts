import type { ScheduleSpec } from "../../core/schedule.js";
import type { RunRecord, TaskRecord } from "../../store/store.js";

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** A schedule as people write it: the cron expression with its zone, `every 90s`, or the instant. */
export function describeStoredSchedule(schedule: ScheduleSpec): string {
  switch (schedule.kind) {
    case "cron":
      return `${schedule.expression} (${schedule.timezone})`;
    case "interval":
      return `every ${formatDuration(schedule.everyMs)}`;
    case "once":
      return `at ${iso(schedule.atMs) ?? ""}`;
  }
}

/** `850ms`, `2.5s`, `5m`, `1h30m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.join("");
}

function relative(ms: number, nowMs: number): string {
  const delta = ms - nowMs;
  const text = formatDuration(Math.abs(delta));
  return delta >= 0 ? `in ${text}` : `${text} ago`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/** The task list of `orchestrator list`. */
export function formatTaskTable(tasks: readonly TaskRecord[], nowMs: number): string {
  if (tasks.length === 0) return "No tasks in the store.\n";
  return table(
    ["NAME", "SCHEDULE", "NEXT RUN", "LAST STATUS", "STATE"],
    tasks.map((task) => [
      task.name,
      describeStoredSchedule(task.schedule),
      task.nextRunAt === null
        ? "-"
        : `${iso(task.nextRunAt) ?? ""} (${relative(task.nextRunAt, nowMs)})`,
      task.lastStatus ?? "-",
      task.state,
    ]),
  );
}

/** One task of `orchestrator list --json`. */
export function taskJson(task: TaskRecord): Record<string, unknown> {
  return {
    name: task.name,
    schedule: describeStoredSchedule(task.schedule),
    kind: task.schedule.kind,
    timezone: task.schedule.kind === "cron" ? task.schedule.timezone : null,
    state: task.state,
    nextRun: iso(task.nextRunAt),
    lastRun: iso(task.lastRunAt),
    lastStatus: task.lastStatus,
    runCount: task.runCount,
  };
}

function outcome(run: RunRecord): string {
  const output = run.output as { exitCode?: unknown; status?: unknown } | undefined;
  const parts: string[] = [];
  if (output !== undefined && output !== null && typeof output === "object") {
    if (typeof output.exitCode === "number") parts.push(`exit ${output.exitCode}`);
    if (typeof output.status === "number") parts.push(`HTTP ${output.status}`);
  }
  if (run.error !== null) parts.push(run.error.message.split("\n")[0] ?? "");
  const text = parts.join(": ");
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

/** The table of `orchestrator history`, newest first. */
export function formatHistory(runs: readonly RunRecord[]): string {
  if (runs.length === 0) return "No runs recorded.\n";
  return table(
    ["SCHEDULED", "TASK", "STATUS", "ATTEMPT", "DURATION", "NODE", "OUTCOME"],
    runs.map((run) => [
      iso(run.scheduledAt) ?? "",
      run.taskName,
      run.status,
      String(run.attempt),
      run.startedAt !== null && run.finishedAt !== null
        ? formatDuration(run.finishedAt - run.startedAt)
        : "-",
      run.nodeId,
      outcome(run),
    ]),
  );
}

/** One run of `orchestrator history --json`. */
export function historyJson(run: RunRecord): Record<string, unknown> {
  return {
    task: run.taskName,
    scheduledAt: iso(run.scheduledAt),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    durationMs:
      run.startedAt !== null && run.finishedAt !== null ? run.finishedAt - run.startedAt : null,
    status: run.status,
    attempt: run.attempt,
    node: run.nodeId,
    error: run.error,
    ...(run.output === undefined ? {} : { output: run.output }),
  };
}
